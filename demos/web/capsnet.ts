// The CapsNet view: the small CapsNet (Sabour, Frosst & Hinton 2017) trained live on MNIST digits shifted up to 2 px
// (margin + 0.0005 x reconstruction loss, as demos/capsnet.ts), then the CNN of matched parameter count
// (cnnMatched) on the same batches for the same number of steps; both evaluated on 500 test digits. Then the
// trained pair is explored on one test digit at a time:
//  - 16 sliders move the winning capsule's pose dimensions and the decoder redraws the digit (the paper's figure 4);
//  - the couplings c_ij of the last routing iteration, per primary capsule (its channel, its grid position) and class;
//  - shift, rotate or mirror the input and compare, before and after, the class-capsule lengths, the winning
//    capsule's pose and the CNN's logits. The lecture's picture (a mirrored beak: the same length, another pose
//    direction) is what to look for; the CNN has only its logits. (On digits, results/capsnet-3000 finds it for
//    shifts and small rotations; a mirrored digit is mostly another digit, and its length changes too.)
// Rules: exploration runs without gradients and frees what it makes (noGrad, tidy); every exploration forward pass
// goes through one queue, so at most one GPU read is in flight; a control that fires on every input event
// (sliders while dragged) asks for a redraw at most once per animation frame, and requests made while a redraw
// runs fold into one more after it, so dragging never queues GPU work faster than it completes.
import * as wt from '../../src/index.js';
import {CapsNet, CAPSNET_SMALL, capsNetClassifierParameters} from '../../src/capsnet/model.js';
import {cnnMatched} from '../../src/capsnet/baseline.js';
import {capsuleLoss, marginEvalLoss} from '../../src/capsnet/train.js';
import {fetchDataset} from '../../src/data/fetch.js';
import type {ImageSet} from '../../src/data/image-set.js';
import type {RowLoss} from '../../src/train/evaluate.js';
import {Supervised, type SupervisedLoss} from '../../src/train/supervised.js';
import {LiveChart, lineSpec} from './charts.js';
import {el, labelled, readNumber} from './dom.js';
import {device, failed, page, type RunState} from './state.js';

const SIDE = 28, PX = SIDE * SIDE, J = CAPSNET_SMALL.classes, D = CAPSNET_SMALL.digitDim;
/** The two models, as the charts name them. */
const MODELS = ['CapsNet', 'CNN (matched size)'];
/** Test digits of the live evaluations (a CapsNet forward pass is slow on a CPU adapter). */
const TEST_IMAGES = 500;

/** One input's readings: class-capsule lengths, the pose of capsule `winner` (the original's), the CNN's logits. */
interface Probe { lengths: number[]; winner: number; pose: number[]; logits: number[] | null }

/** What the view publishes as wgtPage.views.capsnet (scripts and the page test read it). */
const view = {
  state: 'idle' as RunState, error: '', records: 0,
  evaluations: [] as {model: string; step: number; accuracy: number}[],
  stepsTrained: {capsnet: 0, cnn: 0},
  /** The test digit explored, its label and the transform applied to it. */
  index: 0, label: -1, transform: {dx: 0, dy: 0, rotate: 0, mirror: false},
  original: null as Probe | null, transformed: null as Probe | null,
  /** Cosine of the winning capsule's pose before and after the transform; relative change of its length. */
  poseCosine: NaN, lengthChange: NaN,
  /** Slider offsets of the winning capsule's 16 pose dimensions. */
  offsets: new Array<number>(D).fill(0),
  /** Counters of finished exploration passes; `pending` counts those asked for and not yet finished. */
  analyses: 0, reconDraws: 0, pending: 0,
};
page.views.capsnet = view;

let models: {caps: CapsNet; cnn: wt.Module | null} | null = null;
let testSet: ImageSet | null = null;
/** Host copy of the current (transformed) input's class capsules [J * D] and its longest capsule. */
let current: {v: Float32Array; winner: number} | null = null;
let stopRequested = false;
let ui: {steps: HTMLInputElement; lr: HTMLInputElement; batch: HTMLInputElement; train: HTMLButtonElement;
  stop: HTMLButtonElement; status: HTMLElement; compare: HTMLElement; recon: HTMLCanvasElement;
  input: HTMLCanvasElement; moved: HTMLCanvasElement; couplings: HTMLCanvasElement; couplingsRange: HTMLElement};
let charts: Record<'loss' | 'accuracy' | 'lengths' | 'pose' | 'logits', LiveChart>;
const sliders: HTMLInputElement[] = [];
const status = (msg: string) => { ui.status.textContent = msg; };

// ---------------- the exploration queue ----------------
let gpuTail: Promise<void> = Promise.resolve();
/** Runs job after every exploration job before it (one GPU read at a time); a failure shows in the status line. */
function onGpu(job: () => Promise<void>): Promise<void> {
  gpuTail = gpuTail.then(job).catch((e) => { status(`error: ${(e as Error).message}`); console.error(e); });
  return gpuTail;
}
/** A redraw asked for at most once per animation frame, never overlapping itself (see the rules above). */
function coalesced(job: () => Promise<void>): () => void {
  let frame = false, running = false, again = false;
  const request = () => {
    if (running) { again = true; return; }
    if (frame) return;
    frame = true;
    view.pending++;
    requestAnimationFrame(() => {
      frame = false;
      running = true;
      void onGpu(job).finally(() => {
        running = false;
        view.pending--;
        if (again) { again = false; request(); }
      });
    });
  };
  return request;
}
const requestRecon = coalesced(drawRecon);
const requestAnalysis = coalesced(analyse);

// ---------------- pictures ----------------
/** Paints a [28 x 28] image in 0..1 on a 28 x 28 canvas (CSS scales it up). */
function paint(c: HTMLCanvasElement, px: ArrayLike<number>): void {
  const ctx = c.getContext('2d')!, img = ctx.createImageData(SIDE, SIDE);
  for (let p = 0; p < PX; p++) {
    const g = Math.round(255 * Math.min(1, Math.max(0, px[p])));
    img.data.set([g, g, g, 255], 4 * p);
  }
  ctx.putImageData(img, 0, 0);
}
const VIRIDIS = [[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]];
function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, t)) * (VIRIDIS.length - 1), i = Math.min(VIRIDIS.length - 2, Math.floor(x));
  return `rgb(${VIRIDIS[i].map((a, k) => Math.round(a + (x - i) * (VIRIDIS[i + 1][k] - a))).join(',')})`;
}
/**
 * The couplings c_ij [N, J] of one input as the model groups its primary capsules: a row per class, a tile per
 * capsule channel, a cell per grid position (i = (channel * grid + y) * grid + x, PrimaryCaps' order). Colours
 * span the input's own range of c_ij: early in training every c_ij is near 1 / J, and a fixed 0..1 scale would
 * show one flat colour.
 */
function drawCouplings(c: ArrayLike<number>, channels: number): void {
  const canvas = ui.couplings, grid = Math.round(Math.sqrt(c.length / J / channels)), cell = 4, tile = grid * cell + 2;
  canvas.width = 16 + channels * tile; canvas.height = J * tile;
  const ctx = canvas.getContext('2d')!;
  ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, canvas.width, canvas.height);
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < c.length; i++) { lo = Math.min(lo, c[i]); hi = Math.max(hi, c[i]); }
  ctx.font = '10px sans-serif';
  for (let j = 0; j < J; j++) {
    ctx.fillStyle = '#222';
    ctx.fillText(String(j), 2, j * tile + tile / 2 + 3);
    for (let k = 0; k < channels; k++) for (let y = 0; y < grid; y++) for (let x = 0; x < grid; x++) {
      ctx.fillStyle = viridis((c[((k * grid + y) * grid + x) * J + j] - lo) / (hi - lo || 1));
      ctx.fillRect(16 + k * tile + x * cell, j * tile + y * cell, cell, cell);
    }
  }
  ui.couplingsRange.textContent = `c_ij from ${lo.toFixed(3)} (dark) to ${hi.toFixed(3)} (bright)`;
}
/** Grouped bars of {k, value, version} rows: the original input beside the transformed one (a fixed legend: see
 *  lineSpec). */
const barSpec = (title: string, x: string) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: 320, height: 150, autosize: {type: 'none'},
  padding: {left: 50, top: 30, right: 110, bottom: 40}, data: {name: 'rows'}, mark: 'bar',
  encoding: {x: {field: 'k', type: 'ordinal', title: x}, xOffset: {field: 'version'},
    y: {field: 'value', type: 'quantitative', title: null},
    color: {field: 'version', type: 'nominal', title: null, scale: {domain: ['original', 'transformed']}}},
});

// ---------------- the input and its transform ----------------
/**
 * The image moved as the controls say: mirrored left to right, then rotated counter-clockwise about the centre, then
 * shifted; sampled bilinearly, zero outside (as the data transforms in src/data/domains.ts).
 */
function transformed(src: Float32Array, t: typeof view.transform): Float32Array {
  const out = new Float32Array(PX), c = (SIDE - 1) / 2, r = (t.rotate * Math.PI) / 180;
  const cos = Math.cos(r), sin = Math.sin(r), flip = t.mirror ? -1 : 1;
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= SIDE || y >= SIDE ? 0 : src[y * SIDE + x]);
  for (let y = 0; y < SIDE; y++) for (let x = 0; x < SIDE; x++) {
    const px = x - c - t.dx, py = y - c - t.dy;
    const u = flip * (cos * px - sin * py) + c, v = sin * px + cos * py + c;
    const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
    out[y * SIDE + x] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) +
      fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
  }
  return out;
}
const lengthsOf = (v: Float32Array, b: number) =>
  Array.from({length: J}, (_, j) => Math.hypot(...v.subarray((b * J + j) * D, (b * J + j + 1) * D)));
const argmax = (a: number[]) => a.reduce((k, x, i) => (x > a[k] ? i : k), 0);
const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i], 0);
const cosine = (a: number[], b: number[]) => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));

/** One forward pass of both models on the original digit and its transformed copy; redraws every reading. */
async function analyse(): Promise<void> {
  if (!models || !testSet) return;
  const {caps, cnn} = models;
  const original = testSet.images.slice(view.index * PX, (view.index + 1) * PX);
  const moved = transformed(original, view.transform);
  paint(ui.input, original); paint(ui.moved, moved);
  const both = new Float32Array(2 * PX);
  both.set(original); both.set(moved, PX);
  const x = wt.tensor(both, [2, 1, SIDE, SIDE]);
  caps.eval(); cnn?.eval();
  const out = wt.noGrad(() => wt.tidy((): Record<string, wt.Tensor> => {
    const r = caps.capsules(x);
    return cnn ? {v: r.v, couplings: r.couplings, z: cnn.forward(x)} : {v: r.v, couplings: r.couplings};
  }));
  x.dispose();
  let v: Float32Array, c: Float32Array, z: Float32Array | null;
  try {
    v = await out.v.data() as Float32Array;
    c = await out.couplings.data() as Float32Array;
    z = out.z ? await out.z.data() as Float32Array : null;
  } finally { for (const t of Object.values(out)) t.dispose(); }
  const probe = (b: number, winner: number): Probe => ({lengths: lengthsOf(v, b), winner,
    pose: Array.from(v.subarray((b * J + winner) * D, (b * J + winner + 1) * D)),
    logits: z ? Array.from(z.subarray(b * J, (b + 1) * J)) : null});
  const k = argmax(lengthsOf(v, 0));
  const o = view.original = probe(0, k), m = view.transformed = probe(1, k);
  view.poseCosine = cosine(o.pose, m.pose);
  view.lengthChange = (m.lengths[k] - o.lengths[k]) / o.lengths[k];
  current = {v: v.slice(J * D), winner: argmax(m.lengths)};
  drawCouplings(c.subarray(c.length / 2), caps.config.primaryChannels);
  const rows = (key: 'lengths' | 'pose' | 'logits') => [o, m].flatMap((p, i) =>
    (p[key] ?? []).map((value, kk) => ({k: kk, value, version: i ? 'transformed' : 'original'})));
  await Promise.all([charts.lengths.replace(rows('lengths')), charts.pose.replace(rows('pose')),
    charts.logits.replace(rows('logits'))]);
  const zk = o.logits && m.logits ? `; CNN: logit ${k} ${o.logits[k].toFixed(2)} -> ${m.logits[k].toFixed(2)}, ` +
    `logit vectors' cosine ${cosine(o.logits, m.logits).toFixed(3)}, predicts ${argmax(m.logits)}` : '';
  ui.compare.textContent = `label ${view.label}; capsule ${k}: length ${o.lengths[k].toFixed(3)} -> ` +
    `${m.lengths[k].toFixed(3)} (${(100 * view.lengthChange).toFixed(1)}%), ` +
    `pose cosine ${view.poseCosine.toFixed(3)}, ` +
    `predicts ${current.winner}${zk}`;
  view.analyses++;
  requestRecon();
}

/** Decodes the current input's winning capsule with the sliders' offsets added to its pose. */
async function drawRecon(): Promise<void> {
  if (!models || !current) return;
  const {v, winner} = current, moved = v.slice();
  for (let d = 0; d < D; d++) moved[winner * D + d] += view.offsets[d];
  const vt = wt.tensor(moved, [1, J, D]), label = wt.tensor(Int32Array.of(winner), [1], {dtype: 'i32'});
  const img = wt.noGrad(() => wt.tidy(() => models!.caps.reconstruct(vt, label)));
  vt.dispose(); label.dispose();
  try { paint(ui.recon, await img.data()); } finally { img.dispose(); }
  view.reconDraws++;
}

/** Another test digit (the next in the test split), with the transform and the pose offsets kept. */
function nextImage(): void {
  if (!testSet) return;
  view.index = (view.index + 1) % testSet.n;
  view.label = testSet.labels[view.index];
  requestAnalysis();
}

// ---------------- training ----------------
const setTraining = (on: boolean) => {
  ui.train.disabled = on; ui.stop.disabled = !on;
  const explore = document.querySelectorAll<HTMLInputElement>(
    '#view-capsnet .explore input, #view-capsnet .explore button');
  for (const e of Array.from(explore)) e.disabled = on || !models;
};

async function fit(name: string, model: wt.Module, steps: number, s: {lr: number; batch: number}, train: ImageSet,
  test: ImageSet, loss?: SupervisedLoss, evalLoss?: RowLoss): Promise<number> {
  const optimizer = new wt.Adam(model.parameters(), {lr: s.lr});
  // Same loader seed for both models: the same batches and the same random shifts, step for step.
  const loader = new wt.DataLoader(train, {batch: s.batch, shift: 2, seed: 0});
  const strategy = new Supervised({model, optimizer, loader, loss, evalLoss, test, name,
    schedule: new wt.CosineLR(optimizer, steps, 0.05)});
  const loop = new wt.TrainingLoop(strategy, {steps, logEvery: Math.max(1, Math.min(10, Math.floor(steps / 30))),
    evalEvery: Math.max(10, Math.round(steps / 6)), yieldEvery: 1, shouldStop: () => stopRequested, name, sinks: [{
      record: (r) => { view.records++; charts.loss.add([{step: r.step, value: r.loss, series: name}]); },
      evaluation: ({step, metrics}) => {
        view.evaluations.push({model: name, step, accuracy: metrics.test_accuracy});
        charts.accuracy.add([{step, value: metrics.test_accuracy, series: name}]);
      },
    }]});
  try { return (await loop.fit()).step; } finally { loop.dispose(); optimizer.dispose(); }
}

async function train(): Promise<void> {
  let s: {steps: number; lr: number; batch: number};
  try {
    s = {steps: readNumber(ui.steps, 'steps', 1, 100000), lr: readNumber(ui.lr, 'learning rate', 1e-6, 1, false),
      batch: readNumber(ui.batch, 'batch', 1, 512)};
  } catch (e) { status(`error: ${(e as Error).message}`); return; }
  // One training at a time on the page's device: another view's run must end (or be stopped) first.
  if (!device.take('capsnet')) { status(`the ${device.owner} view is training: stop it there first`); return; }
  stopRequested = false;
  setTraining(true);
  try {
    await gpuTail; // the last exploration pass still reads the old models
    if (models) { models.caps.dispose(); models.cnn?.dispose(); models = null; current = null; }
    Object.assign(view, {state: 'loading', error: '', records: 0, evaluations: [], stepsTrained: {capsnet: 0, cnn: 0}});
    charts.loss.clear(); charts.accuracy.clear();
    status('loading MNIST...');
    const {train: trainSet, test} = await fetchDataset('mnist', {seed: 0});
    testSet = test;
    const evalSet = {...test, n: TEST_IMAGES, images: test.images.subarray(0, TEST_IMAGES * PX),
      labels: test.labels.subarray(0, TEST_IMAGES)};
    view.state = 'training';
    wt.manualSeed(0);
    const caps = new CapsNet({...CAPSNET_SMALL});
    status(`training the CapsNet (${s.steps} steps)...`);
    const capsSteps = await fit(MODELS[0], caps, s.steps, s, trainSet, evalSet, capsuleLoss(), marginEvalLoss());
    view.stepsTrained.capsnet = capsSteps;
    // The CNN matches the CapsNet classifier's parameter count (decoder excluded) and trains on the same batches
    // for as many steps as the CapsNet did (a Stop during the CapsNet still leaves the pair comparable).
    stopRequested = false;
    wt.manualSeed(0);
    const cnn = cnnMatched(capsNetClassifierParameters(CAPSNET_SMALL)).model;
    status(`training the matched CNN (${capsSteps} steps, the same batches)...`);
    const cnnSteps = await fit(MODELS[1], cnn, capsSteps, s, trainSet, evalSet);
    view.stepsTrained.cnn = cnnSteps;
    models = {caps, cnn};
    view.state = capsSteps < s.steps || cnnSteps < capsSteps ? 'stopped' : 'done';
    const acc = (m: string) => view.evaluations.filter((e) => e.model === m).pop()?.accuracy;
    const pct = (a?: number) => (a === undefined ? '-' : `${(100 * a).toFixed(1)}%`);
    status(`trained: CapsNet ${capsSteps} steps, test ${pct(acc(MODELS[0]))}; CNN ${cnnSteps} steps, test ` +
      `${pct(acc(MODELS[1]))} (${TEST_IMAGES} test digits). Explore below.`);
    view.label = test.labels[view.index];
    requestAnalysis();
  } catch (e) {
    failed(view, status, e);
  } finally {
    device.release('capsnet');
    setTraining(false);
  }
}

// ---------------- the view ----------------
/** Builds the view's controls, charts and exploration panel into its container. */
export function mountCapsnet(root: HTMLElement): void {
  root.classList.add('view');
  const input = (testid: string, attrs: Record<string, string | number | boolean>) => el('input', {testid, ...attrs});
  const canvas = (testid: string, scale: number) => {
    const c = el('canvas', {testid, width: SIDE, height: SIDE, class: 'pixelated'});
    c.style.width = c.style.height = `${SIDE * scale}px`;
    return c;
  };
  ui = {
    steps: input('caps-steps', {type: 'number', value: 200, min: 1}),
    lr: input('caps-lr', {type: 'number', value: 0.001, min: 0, step: 0.0005}),
    batch: input('caps-batch', {type: 'number', value: 32, min: 1, max: 512}),
    train: el('button', {testid: 'caps-train', text: 'Train'}),
    stop: el('button', {testid: 'caps-stop', text: 'Stop', disabled: true}),
    status: el('div', {class: 'status', testid: 'caps-status'}),
    compare: el('div', {class: 'stats', testid: 'capsnet-compare'}),
    recon: canvas('capsnet-recon', 5), input: canvas('capsnet-input', 3), moved: canvas('capsnet-transformed', 3),
    couplings: el('canvas', {testid: 'capsnet-couplings', width: 16, height: 16}),
    couplingsRange: el('div', {testid: 'capsnet-couplings-range'}),
  };
  const transform = {
    dx: input('capsnet-shift-x', {type: 'range', min: -6, max: 6, step: 1, value: 0}),
    dy: input('capsnet-shift-y', {type: 'range', min: -6, max: 6, step: 1, value: 0}),
    rotate: input('capsnet-rotate', {type: 'range', min: -90, max: 90, step: 5, value: 0}),
    mirror: input('capsnet-mirror', {type: 'checkbox'}),
  };
  const readTransform = () => {
    view.transform = {dx: Number(transform.dx.value), dy: Number(transform.dy.value),
      rotate: Number(transform.rotate.value), mirror: transform.mirror.checked};
    requestAnalysis();
  };
  for (const c of Object.values(transform)) c.addEventListener('input', readTransform);
  transform.mirror.addEventListener('change', readTransform);
  for (let d = 0; d < D; d++) {
    const s = input(`capsnet-slider-${d}`, {type: 'range', min: -0.25, max: 0.25, step: 0.01, value: 0});
    s.addEventListener('input', () => { view.offsets[d] = Number(s.value); requestRecon(); });
    sliders.push(s);
  }
  const reset = el('button', {testid: 'capsnet-reset', text: 'reset'});
  reset.addEventListener('click', () => {
    for (const s of sliders) s.value = '0';
    view.offsets.fill(0);
    requestRecon();
  });
  const next = el('button', {testid: 'capsnet-next', text: 'next image'});
  next.addEventListener('click', nextImage);
  const panels = ['caps-loss', 'caps-accuracy', 'capsnet-lengths', 'capsnet-pose', 'capsnet-logits']
    .map((id) => el('div', {class: 'panel', testid: id}));
  root.append(
    el('section', {},
      el('fieldset', {}, el('legend', {text: 'CapsNet (small) and a CNN of its size, on MNIST'}),
        labelled('steps', ui.steps), labelled('learning rate', ui.lr), labelled('batch', ui.batch)),
      ui.train, ui.stop, ui.status,
      el('fieldset', {class: 'explore'}, el('legend', {text: 'Input'}), next,
        el('div', {}, ui.input, ' ', ui.moved, el('br'), 'original, transformed'),
        labelled('shift x', transform.dx), labelled('shift y', transform.dy), labelled('rotate', transform.rotate),
        labelled('mirror', transform.mirror)),
      el('fieldset', {class: 'explore'}, el('legend', {text: 'Pose of the winning capsule'}),
        ...sliders.map((s, d) => labelled(`dim ${d}`, s)), reset)),
    el('section', {},
      el('div', {class: 'charts'}, panels[0], panels[1]),
      el('div', {class: 'panel'}, ui.compare),
      el('div', {class: 'charts explore'},
        el('div', {class: 'panel'}, el('div', {text: 'Reconstruction'}), ui.recon),
        el('div', {class: 'panel'}, el('div', {text: 'Couplings (rows: classes; tiles: capsule channels; ' +
          'cells: positions)'}), ui.couplings, ui.couplingsRange),
        panels[2], panels[3], panels[4])),
  );
  // Narrower than the page's default line charts, so that the two training charts share a row.
  const line = (title: string, y: string, format?: string) =>
    ({...lineSpec(title, y, format, MODELS), width: 300, height: 180});
  charts = {
    loss: new LiveChart(panels[0], line('Training loss', 'loss')),
    accuracy: new LiveChart(panels[1], line(`Test accuracy (${TEST_IMAGES} digits)`, 'accuracy', '.0%')),
    lengths: new LiveChart(panels[2], barSpec('Class-capsule lengths', 'class')),
    pose: new LiveChart(panels[3], barSpec('Pose of the winning capsule', 'dimension')),
    logits: new LiveChart(panels[4], barSpec('CNN logits', 'class')),
  };
  ui.train.addEventListener('click', () => void train());
  ui.stop.addEventListener('click', () => { stopRequested = true; status('stopping after this step...'); });
  setTraining(false);
  status('ready: press Train (the CapsNet, then the CNN of its size), then explore');
}
