// Experiment `capsnet` (Sabour, Frosst & Hinton 2017): the small CapsNet against a CNN of matched parameter count
// on 10k MNIST digits (8k train with random shifts up to 2 px, 2k test) and on 10k Fashion-MNIST images split the
// same way; both evaluated on the clean test split and on shifted, affine-jittered and rotated versions of it.
// Then, on the MNIST models: invariant length and equivariant pose (the lecture notes' mirrored beaks) against the
// CNN's logits, reconstructions, the perturbation grid of the paper's figure 4 and the couplings of one input.
// Settings: Adam with cosine decay, batch 64, the paper's loss constants; each model's learning rate is a flag,
// chosen with `--validation` (train on 7k of the 8k training images, score the other 1k), never on the test split.
import {existsSync, mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {noGrad, tidy} from '../../src/graph/engine.js';
import * as ops from '../../src/graph/ops.js';
import type {Tensor} from '../../src/graph/tensor.js';
import {manualSeed} from '../../src/nn/layers.js';
import type {Module} from '../../src/nn/module.js';
import {Adam} from '../../src/optim/adam.js';
import {CosineLR} from '../../src/optim/schedules.js';
import {DataLoader} from '../../src/data/loader.js';
import {loadFashionMnist, loadMnist, type ImageSet} from '../../src/data/mnist.js';
import {splitPerClass, subset, trainTestSplit, shuffled} from '../../src/data/split.js';
import {affineJitter, mirrored, rotated, shifted} from '../../src/data/domains.js';
import {gridPng} from '../../src/data/png.js';
import {evaluate} from '../../src/train/evaluate.js';
import {Supervised} from '../../src/train/supervised.js';
import {TrainingLoop} from '../../src/train/loop.js';
import {loadModel, saveModel} from '../../src/train/checkpoint.js';
import {CapsNet, CAPSNET_SMALL, capsNetClassifierParameters, parameterCount} from '../../src/capsnet/model.js';
import {capsuleLoss, marginEvalLoss} from '../../src/capsnet/train.js';
import {cnnMatched} from '../../src/capsnet/baseline.js';
import {capsuleLengths} from '../../src/capsnet/routing.js';
import {meanStd, type Row} from '../../src/analysis/charts.js';
import {derived, fileHash, keyedName, markdownTable, pct, pm, RunLog, writeChart, writeTextAtomic} from './output.js';
import {writeFileAtomic} from '../../src/io/files.js';
import type {TopLevelSpec} from 'vega-lite';

export const CAPS_DATASETS = ['mnist', 'fashion-mnist'] as const;
export type CapsDataset = typeof CAPS_DATASETS[number];
export const CAPS_MODELS = ['capsnet-small', 'cnn-matched'] as const;
export type CapsModel = typeof CAPS_MODELS[number];
/** The CLI flag that sets each model's initial learning rate. */
export const LR_FLAGS: Record<CapsModel, string> = {'capsnet-small': 'caps-lr', 'cnn-matched': 'cnn-lr'};
const MODEL_TITLES: Record<CapsModel, string> = {'capsnet-small': 'CapsNet (small)', 'cnn-matched': 'CNN (matched parameters)'};
const SHORT_NAMES: Record<CapsModel, string> = {'capsnet-small': 'CapsNet', 'cnn-matched': 'CNN'};
const DS_TITLES: Record<CapsDataset, string> = {'mnist': 'MNIST 8k/2k', 'fashion-mnist': 'Fashion-MNIST 8k/2k'};

/** Test domains: each transforms the 2k test split (seeded). */
export const TEST_DOMAINS = ['clean', 'shift-2', 'shift-3-4', 'affine', 'rotated-25'] as const;
type TestDomain = typeof TEST_DOMAINS[number];
const DOMAIN_TITLES: Record<TestDomain, string> = {
  'clean': 'test', 'shift-2': 'shifted ≤2 px (as trained)', 'shift-3-4': 'shifted 3-4 px', 'affine': 'affine jitter (±15°, 0.9-1.1, shear 0.15, ±2 px)',
  'rotated-25': 'rotated 25°',
};
function testDomain(test: ImageSet, d: TestDomain): ImageSet {
  switch (d) {
    case 'clean': return test;
    case 'shift-2': return shifted(test, {min: 1, max: 2, seed: 11});
    case 'shift-3-4': return shifted(test, {min: 3, max: 4, seed: 12});
    case 'affine': return affineJitter(test, {seed: 13});
    case 'rotated-25': return rotated(test, 25);
  }
}

export interface CapsNetExperimentOptions {
  datasets: CapsDataset[];
  /** The models to train (default both; the pose study and pictures need both). */
  models?: CapsModel[];
  seeds: number[];
  steps: number;
  batch: number;
  /** Training shifts in pixels (the paper: 2). */
  shift: number;
  /** Adam's initial learning rates per model, each a run of its own (default [1e-3] each). */
  lr?: Partial<Record<CapsModel, number[]>>;
  /**
   * Choose settings, not report them: train on 7k of the 8k training images and score the held-out 1k (100 per
   * class) and its transformed copies in place of the test split, which is then never read. No pose study or
   * pictures (they read the test split).
   */
  validation?: boolean;
  out: string;
  fresh?: boolean;
  log: (line: string) => void;
  /** The images of a dataset (default capsData; tests pass a few). */
  data?: (ds: CapsDataset, validation: boolean) => {train: ImageSet; test: ImageSet};
}

/** 10k images of a dataset, split 8k/2k by seed 0 (MNIST: the project's standard split). */
function trainAndTest(ds: CapsDataset): {train: ImageSet; test: ImageSet} {
  if (ds === 'mnist') return trainTestSplit(loadMnist(), 8000, 0);
  const all = loadFashionMnist();
  return trainTestSplit(subset(all, shuffled(all.n, 5).subarray(0, 10000)), 8000, 0);
}

/** The images to train on and to score: the 8k/2k split, or with `validation` the 8k split again 7k/1k. */
export function capsData(ds: CapsDataset, validation = false): {train: ImageSet; test: ImageSet} {
  const {train, test} = trainAndTest(ds);
  if (!validation) return {train, test};
  const {first: heldOut, rest} = splitPerClass(train, 100, 0);
  return {train: rest, test: heldOut};
}

function buildModel(m: CapsModel, seed: number): Module {
  manualSeed(100 + seed);
  if (m === 'capsnet-small') return new CapsNet({...CAPSNET_SMALL, seed: 100 + seed});
  return cnnMatched(capsNetClassifierParameters(CAPSNET_SMALL)).model;
}

const DEFAULT_LR = 1e-3;
const learningRates = (o: CapsNetExperimentOptions, m: CapsModel): number[] => o.lr?.[m] ?? [DEFAULT_LR];

export interface CapsRunResult {
  accuracy: Record<TestDomain, number>; parameters: number; seconds: number; steps: number;
  /** Training loss (margin + reconstruction, or cross-entropy) averaged over the batches logged in the last 10% of steps. */
  train_loss_end?: number;
}
interface CapsRun { ds: CapsDataset; model: CapsModel; seed: number; lr: number }
const runName = (x: CapsRun) => `${x.ds} ${x.model} lr ${x.lr} seed ${x.seed}`;

async function train(x: CapsRun, o: CapsNetExperimentOptions, path: string): Promise<CapsRunResult> {
  const t0 = performance.now();
  const {ds, model: m, seed} = x;
  const {train: trainSet, test} = (o.data ?? capsData)(ds, !!o.validation);
  const model = buildModel(m, seed);
  const caps = model instanceof CapsNet;
  const opt = new Adam(model.parameters(), {lr: x.lr});
  const strategy = new Supervised({model, optimizer: opt, loader: new DataLoader(trainSet, {batch: o.batch, seed, shift: o.shift}),
    schedule: new CosineLR(opt, o.steps, 0.05), loss: caps ? capsuleLoss() : undefined, name: `${ds}/${m}/lr ${x.lr}/seed ${seed}`});
  let last = 0;
  const endLosses: number[] = [];
  const loop = new TrainingLoop(strategy, {steps: o.steps, logEvery: 50, evalEvery: o.steps + 1, sinks: [{
    record: (r) => {
      if (r.step > 0.9 * o.steps) endLosses.push(r.loss);
      if (r.step - last < 250 && r.step < o.steps) return;
      last = r.step;
      const terms = Object.entries(r.terms).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
      o.log(`  ${runName(x)}: step ${r.step}/${o.steps}, loss ${r.loss.toFixed(4)}${terms ? ` (${terms})` : ''}, ${r.examplesPerSecond.toFixed(0)} img/s`);
    },
  }]});
  try {
    await loop.fit();
    const accuracy = {} as Record<TestDomain, number>;
    for (const d of TEST_DOMAINS) accuracy[d] = (await evaluate(model, testDomain(test, d), 250, caps ? marginEvalLoss() : undefined)).accuracy;
    await saveModel(path, model, {experiment: 'capsnet', dataset: ds, model: m, seed: String(seed), steps: String(o.steps),
      lr: String(x.lr), split: o.validation ? 'validation (trained on 7k of 8k)' : 'test (trained on 8k)'});
    return {accuracy, parameters: parameterCount(model, true), seconds: (performance.now() - t0) / 1000, steps: o.steps,
      train_loss_end: endLosses.reduce((a, b) => a + b, 0) / endLosses.length};
  } finally {
    loop.dispose();
    opt.dispose?.();
    model.dispose();
  }
}

// ---- invariance and equivariance ----
const TRANSFORMS = ['shift 2 px', 'rotate 15°', 'mirror'] as const;
type Transform = typeof TRANSFORMS[number];
function transform(set: ImageSet, t: Transform): ImageSet {
  if (t === 'mirror') return mirrored(set);
  if (t === 'rotate 15°') return rotated(set, 15);
  // 2 px along one axis in a random direction, up to 2 px along the other (seeded).
  return shifted(set, {min: 2, max: 2, seed: 3});
}

interface PoseStats {
  transform: Transform;
  /** CapsNet: median |len' - len| / len of the winning capsule; mean cosine of its pose vectors; same prediction. */
  caps_length_change: number; caps_pose_cosine: number; caps_same_prediction: number;
  /** CNN: median |z' - z| / |z| of the winning logit; mean cosine of the logit vectors; same prediction. */
  cnn_logit_change: number; cnn_logit_cosine: number; cnn_same_prediction: number;
}

/** Host values of a function of a batch of images (one forward, no gradient). */
async function hostForward(set: ImageSet, f: (x: Tensor) => Tensor): Promise<Float32Array> {
  const x = ops.tensor(set.images, [set.n, set.channels, set.height, set.width]);
  const y = noGrad(() => tidy(() => f(x)));
  const data = await y.data() as Float32Array;
  x.dispose();
  y.dispose();
  return data;
}

const cosine = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
};
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const argmaxOf = (a: ArrayLike<number>) => { let k = 0; for (let i = 1; i < a.length; i++) if (a[i] > a[k]) k = i; return k; };

async function poseStudy(caps: CapsNet, cnn: Module, test: ImageSet, n: number): Promise<{stats: PoseStats[]; pairs: Row[]; images: ImageSet}> {
  caps.eval(); cnn.eval();
  const sample = subset(test, Array.from({length: n}, (_, i) => i));
  const J = caps.config.classes, D = caps.config.digitDim;
  const capsOf = (set: ImageSet) => hostForward(set, (x) => caps.capsules(x).v);
  const logitsOf = (set: ImageSet) => hostForward(set, (x) => cnn.forward(x));
  const v0 = await capsOf(sample), z0 = await logitsOf(sample);
  const stats: PoseStats[] = [];
  const pairs: Row[] = [];
  const shown: ImageSet[] = [];
  for (const t of TRANSFORMS) {
    const moved = transform(sample, t);
    const v1 = await capsOf(moved), z1 = await logitsOf(moved);
    const dl: number[] = [], dz: number[] = [];
    let cos = 0, same = 0, zcos = 0, zsame = 0;
    for (let i = 0; i < n; i++) {
      const lens = (v: Float32Array) => Array.from({length: J}, (_, j) => Math.hypot(...v.subarray((i * J + j) * D, (i * J + j + 1) * D)));
      const l0 = lens(v0), l1 = lens(v1);
      const k = argmaxOf(l0);
      const p0 = v0.subarray((i * J + k) * D, (i * J + k + 1) * D), p1 = v1.subarray((i * J + k) * D, (i * J + k + 1) * D);
      dl.push(Math.abs(l1[k] - l0[k]) / l0[k]);
      cos += cosine(p0, p1);
      same += argmaxOf(l1) === k ? 1 : 0;
      const a = z0.subarray(i * J, (i + 1) * J), b = z1.subarray(i * J, (i + 1) * J);
      const kz = argmaxOf(a);
      dz.push(Math.abs(b[kz] - a[kz]) / Math.abs(a[kz]));
      zcos += cosine(a, b);
      zsame += argmaxOf(b) === kz ? 1 : 0;
      if (i < 3) {
        for (let d = 0; d < D; d++) {
          const order = TRANSFORMS.indexOf(t) * 3 + i; // rows: transforms, columns: digits (as the image grid)
          pairs.push({pair: `digit ${i + 1}, ${t}`, order, dim: d, version: 'original', value: p0[d]});
          pairs.push({pair: `digit ${i + 1}, ${t}`, order, dim: d, version: 'transformed', value: p1[d]});
        }
      }
    }
    stats.push({transform: t, caps_length_change: median(dl), caps_pose_cosine: cos / n, caps_same_prediction: same / n,
      cnn_logit_change: median(dz), cnn_logit_cosine: zcos / n, cnn_same_prediction: zsame / n});
    shown.push(subset(moved, [0, 1, 2]));
  }
  // Originals then each transform's versions, three digits per row.
  const all = [subset(sample, [0, 1, 2]), ...shown];
  const images = {...sample, n: 3 * all.length, images: Float32Array.from(all.flatMap((s) => Array.from(s.images))), labels: new Int32Array(3 * all.length)};
  return {stats, pairs, images};
}

// ---- pictures of the MNIST CapsNet ----
async function capsPictures(caps: CapsNet, test: ImageSet, dir: string): Promise<{reconError: number}> {
  caps.eval();
  const n = 16;
  const sample = subset(test, Array.from({length: n}, (_, i) => i));
  const px = 28 * 28;
  const x = ops.tensor(sample.images, [n, 1, 28, 28]);
  // One forward: its class capsules feed the reconstructions and the perturbation grids below.
  const classCaps = noGrad(() => tidy(() => caps.capsules(x).v));
  // Reconstructions from the longest capsule (test-time masking), interleaved with the inputs row by row.
  const recon = await noGrad(() => tidy(() => caps.reconstruct(classCaps))).data();
  const inter = new Float32Array(2 * n * px);
  for (let r = 0; r < 2; r++) for (let c = 0; c < 8; c++) {
    const i = r * 8 + c;
    inter.set(sample.images.subarray(i * px, (i + 1) * px), (r * 16 + c) * px);
    inter.set(recon.subarray(i * px, (i + 1) * px), (r * 16 + 8 + c) * px);
  }
  writeFileAtomic(join(dir, 'reconstructions.png'), gridPng({...sample, n: 2 * n, images: inter}, {count: 2 * n, cols: 8, scale: 3}));
  let err = 0;
  for (let i = 0; i < n * px; i++) err += (recon[i] - sample.images[i]) ** 2;

  // Figure 4: each of the 16 dimensions of the winning capsule moved by -0.25..0.25 in steps of 0.05, decoded.
  const J = caps.config.classes, D = caps.config.digitDim;
  const steps = Array.from({length: 11}, (_, i) => -0.25 + 0.05 * i);
  const digits = [0, 1, 2];
  const grids: Float32Array[] = [];
  const v = await classCaps.data();
  classCaps.dispose();
  for (const i of digits) {
    const vi = v.subarray(i * J * D, (i + 1) * J * D);
    const lens = Array.from({length: J}, (_, j) => Math.hypot(...vi.subarray(j * D, (j + 1) * D)));
    const k = argmaxOf(lens);
    const batch = new Float32Array(D * steps.length * J * D);
    for (let d = 0; d < D; d++) for (let s = 0; s < steps.length; s++) {
      const row = (d * steps.length + s) * J * D;
      batch.set(vi, row);
      batch[row + k * D + d] += steps[s];
    }
    const labels = ops.tensor(new Int32Array(D * steps.length).fill(k), [D * steps.length], {dtype: 'i32'});
    const vt = ops.tensor(batch, [D * steps.length, J, D]);
    grids.push(await noGrad(() => tidy(() => caps.reconstruct(vt, labels))).data() as Float32Array);
    vt.dispose(); labels.dispose();
  }
  for (const [gi, g] of grids.entries()) {
    writeFileAtomic(join(dir, `perturbation-${gi + 1}.png`), gridPng({...sample, n: D * steps.length, images: g}, {count: D * steps.length, cols: steps.length, scale: 2}));
  }

  // Couplings of one input: for each class, the mean coupling over the capsule channels at each grid position.
  const one = ops.tensor(sample.images.subarray(0, px), [1, 1, 28, 28]);
  const couplings = noGrad(() => tidy(() => caps.capsules(one).couplings));
  const c = await couplings.data();
  one.dispose();
  couplings.dispose();
  const ch = caps.config.primaryChannels, grid = Math.round(Math.sqrt(c.length / J / ch));
  const rows: Row[] = [];
  for (let j = 0; j < J; j++) for (let y = 0; y < grid; y++) for (let xx = 0; xx < grid; xx++) {
    let s = 0;
    for (let k = 0; k < ch; k++) s += c[((k * grid + y) * grid + xx) * J + j];
    rows.push({class: j, row: y, col: xx, coupling: s / ch});
  }
  await writeChart(dir, 'routing', {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: `Couplings c_ij of one test digit (label ${sample.labels[0]}) after ${caps.iterations} routing iterations, mean over the ${ch} capsule channels per ${grid}x${grid} position`,
    data: {values: rows}, facet: {column: {field: 'class', type: 'ordinal', title: 'output capsule (class)'}},
    spec: {width: 60, height: 60, mark: 'rect', encoding: {x: {field: 'col', type: 'ordinal', axis: null}, y: {field: 'row', type: 'ordinal', axis: null},
      color: {field: 'coupling', type: 'quantitative', scale: {scheme: 'viridis'}}}},
    config: {font: 'DejaVu Sans, sans-serif'},
  } as unknown as TopLevelSpec);
  x.dispose();
  return {reconError: err / n};
}

export async function capsnetExperiment(o: CapsNetExperimentOptions): Promise<void> {
  mkdirSync(join(o.out, 'models'), {recursive: true});
  const log = new RunLog<CapsRunResult>(join(o.out, 'runs.jsonl'), o.fresh);
  const results: (CapsRun & {r: CapsRunResult})[] = [];
  const split = o.validation ? 'validation' : 'test';
  // The learning rate and the split enter the key only where they are not the defaults, so runs logged before
  // those flags still match.
  const spec = (x: CapsRun) => ({ds: x.ds, model: x.model, seed: x.seed, steps: o.steps, batch: o.batch, shift: o.shift,
    ...(x.lr !== DEFAULT_LR ? {lr: x.lr} : {}), ...(o.validation ? {validation: true} : {})});
  // A run's model is named by its full key: runs of other settings in the same folder keep their own files.
  const modelPath = (x: CapsRun) => join(o.out, 'models', `${keyedName(`${x.ds}-${x.model}-s${x.seed}`, spec(x))}.safetensors`);
  const models = o.models ?? [...CAPS_MODELS];
  for (const ds of o.datasets) for (const seed of o.seeds) for (const model of models) for (const lr of learningRates(o, model)) {
    const x: CapsRun = {ds, model, seed, lr};
    const path = modelPath(x);
    const cachedModel = existsSync(path);
    const {result, cached} = await log.get(spec(x), () => train(x, o, path));
    if (cached && !cachedModel) o.log(`note: ${path} is missing; the table reuses the logged run, the pictures need the model file`);
    o.log(`${runName(x)} (${split}): ${TEST_DOMAINS.map((d) => `${d} ${pct(result.accuracy[d])}%`).join(', ')} (${result.seconds.toFixed(0)} s${cached ? ', logged earlier' : ''})`);
    results.push({...x, r: result});
  }
  // One row per model and learning rate; the rate is named where a model has more than one.
  const groups = models.flatMap((m) => learningRates(o, m).map((lr) => ({model: m, lr,
    title: MODEL_TITLES[m] + (learningRates(o, m).length > 1 ? `, lr ${lr}` : '')})));

  // Runs logged before the training loss was kept have none: the column is left out when no run has it.
  const hasLoss = results.some((x) => x.r.train_loss_end !== undefined);
  const rates = models.map((m) => `${SHORT_NAMES[m]} ${learningRates(o, m).join(' / ')}`).join(', ');
  const md: string[] = [o.validation ? '# CapsNet vs a CNN of matched size: settings scored on the validation split' : '# CapsNet vs a CNN of matched size', '',
    `Small CapsNet (Conv1 ${CAPSNET_SMALL.conv1Channels}@9x9, PrimaryCaps ${CAPSNET_SMALL.primaryChannels} channels of 8-D @9x9 stride 2, ` +
    `DigitCaps 10x16-D, ${CAPSNET_SMALL.routingIterations} routing iterations, decoder 512-1024-784 with loss weight 0.0005) against a CNN ` +
    '(conv 32@5x5, pool, conv 64@5x5, pool, FC, FC) whose hidden width gives the same parameter count as the CapsNet without its decoder. ' +
    `${models.length > 1 ? 'Both' : `Trained here, the ${SHORT_NAMES[models[0]]} only`}: ` +
    `Adam with cosine decay to 5% (initial learning rate: ${rates}), ` +
    `batch ${o.batch}, ${o.steps} steps, training images shifted by up to ${o.shift} px; seeds ${o.seeds.join(', ')}. ` +
    (o.validation ? 'Trained on 7k of the 8k training images; accuracy in % on the other 1k (100 per class) and on transformed ' +
      'copies of it, to choose settings by. The test split was not read. One standard error on 1k images is about 0.3 points; '
      : (o.lr ? 'Learning rates from --caps-lr / --cnn-lr (the committed runs use the ones chosen with --validation on 1k ' +
        'of the training images, results/capsnet-tuning/, never on the test split). ' : 'Fixed settings (nothing tuned). ') +
        'Accuracy in % on the 2k test split and on transformed copies of it; ') +
    `mean ± std over seeds${hasLoss ? '; the last column is the training loss over the last 10% of steps' : ''}.`, ''];
  for (const ds of o.datasets) {
    md.push(`## ${o.validation ? DS_TITLES[ds].replace('8k/2k', '7k/1k, both from the 8k training images') : DS_TITLES[ds]}`, '');
    const rows = groups.map((g) => {
      const rs = results.filter((x) => x.ds === ds && x.model === g.model && x.lr === g.lr).map((x) => x.r);
      const loss = rs.map((r) => r.train_loss_end).filter((v): v is number => v !== undefined);
      return [`${g.title} (${rs[0]?.parameters.toLocaleString('en')} parameters)`,
        ...TEST_DOMAINS.map((d) => pm(meanStd(rs.map((r) => r.accuracy[d])))), `${meanStd(rs.map((r) => r.seconds)).mean.toFixed(0)} s`,
        ...(hasLoss ? [loss.length ? meanStd(loss).mean.toFixed(4) : ''] : [])];
    });
    const domainTitle = (d: TestDomain) => (o.validation ? DOMAIN_TITLES[d].replace(/^test$/, 'validation') : DOMAIN_TITLES[d]);
    md.push(markdownTable(['model', ...TEST_DOMAINS.map(domainTitle), 'training time', ...(hasLoss ? ['training loss at the end'] : [])], rows), '');
  }
  const titleOf = (x: CapsRun) => groups.find((g) => g.model === x.model && g.lr === x.lr)!.title;
  const chartRows: Row[] = results.flatMap((x) => TEST_DOMAINS.map((d) => ({dataset: DS_TITLES[x.ds], model: titleOf(x), domain: DOMAIN_TITLES[d], seed: x.seed, accuracy: x.r.accuracy[d]})));
  await writeChart(o.out, 'accuracy', {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json', data: {values: chartRows},
    title: o.validation ? 'Validation accuracy (1k held out of the training images) on clean and transformed copies'
      : 'Test accuracy on clean and transformed test splits',
    facet: {column: {field: 'dataset', type: 'nominal', title: null}},
    spec: {width: 320, height: 220, mark: {type: 'bar'}, encoding: {
      y: {field: 'domain', type: 'nominal', title: null, sort: TEST_DOMAINS.map((d) => DOMAIN_TITLES[d])}, yOffset: {field: 'model'},
      x: {aggregate: 'mean', field: 'accuracy', type: 'quantitative', title: 'accuracy (mean over seeds)', axis: {format: '.0%'}},
      color: {field: 'model', type: 'nominal', title: null}}},
    config: {font: 'DejaVu Sans, sans-serif', legend: {orient: 'bottom', labelLimit: 300}},
  } as unknown as TopLevelSpec);

  // Pose study and pictures from the MNIST models of the first seed and each model's first learning rate.
  const seed = o.seeds[0];
  const first = (model: CapsModel): CapsRun => ({ds: 'mnist', model, seed, lr: learningRates(o, model)[0]});
  const capsPath = modelPath(first('capsnet-small')), cnnPath = modelPath(first('cnn-matched'));
  let pose: PoseStats[] = [];
  if (!o.validation && o.datasets.includes('mnist') && models.length === CAPS_MODELS.length && existsSync(capsPath) && existsSync(cnnPath)) {
    const {test} = (o.data ?? capsData)('mnist', false);
    const n = Math.min(500, test.n);
    // Drawn once per pair of model files into a folder named by their contents; a later report links the same one.
    const pictures = `pictures/${keyedName(`mnist-s${seed}`, {caps: fileHash(capsPath), cnn: fileHash(cnnPath), n})}`;
    const dir = join(o.out, pictures);
    const drawn = await derived(join(dir, 'summary.json'), async () => {
      const caps = buildModel('capsnet-small', seed) as CapsNet, cnn = buildModel('cnn-matched', seed);
      await loadModel(capsPath, caps);
      await loadModel(cnnPath, cnn);
      const study = await poseStudy(caps, cnn, test, n);
      writeFileAtomic(join(dir, 'pose-pairs-images.png'), gridPng(study.images, {count: study.images.n, cols: 3, scale: 3}));
      await writeChart(dir, 'pose-pairs', {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: 'Pose vector (winning capsule, 16 dims) of test digits and their transformed versions (images: pose-pairs-images.png)',
        data: {values: study.pairs}, columns: 3, facet: {field: 'pair', type: 'nominal', title: null, sort: {field: 'order'}},
        spec: {width: 200, height: 90, mark: 'bar', encoding: {x: {field: 'dim', type: 'ordinal', title: 'dimension'}, xOffset: {field: 'version'},
          y: {field: 'value', type: 'quantitative', title: null}, color: {field: 'version', type: 'nominal', title: null}}},
        config: {font: 'DejaVu Sans, sans-serif'},
      } as unknown as TopLevelSpec);
      const pics = await capsPictures(caps, test, dir);
      caps.dispose(); cnn.dispose();
      return {pose: study.stats, reconError: pics.reconError};
    });
    pose = drawn.pose;
    const at = (f: string) => `${pictures}/${f}`;
    md.push(`## Invariant length, equivariant pose (MNIST models, seed ${seed}, first ${n} test digits)`, '',
      'For each test digit and its transformed version: the winning capsule\'s relative length change and the cosine between its two ' +
      'pose vectors, next to the CNN\'s relative change of its winning logit and the cosine between its two logit vectors. ' +
      'An invariant length with a turning pose is what the lecture notes\' mirrored beaks show.', '',
      markdownTable(['transform', 'CapsNet: relative length change (median)', 'CapsNet: cosine of poses', 'CapsNet: same class', 'CNN: relative change of the winning logit (median)', 'CNN: cosine of logit vectors', 'CNN: same class'],
        pose.map((p) => [p.transform, p.caps_length_change.toFixed(3), p.caps_pose_cosine.toFixed(3), pct(p.caps_same_prediction) + '%',
          p.cnn_logit_change.toFixed(3), p.cnn_logit_cosine.toFixed(3), pct(p.cnn_same_prediction) + '%'])), '',
      `![pose pairs](${at('pose-pairs.png')}) ` +
      `![digits: originals, shifted, rotated, mirrored](${at('pose-pairs-images.png')})`, '',
      `Pictures (in \`${pictures}/\`, named by the two models): [reconstructions](${at('reconstructions.png')}) ` +
      '(rows: 8 inputs, then their reconstructions from the longest capsule; mean summed squared error ' +
      `${drawn.reconError.toFixed(1)} per image), the perturbation grids of the paper's figure 4 ` +
      `([1](${at('perturbation-1.png')}), [2](${at('perturbation-2.png')}), [3](${at('perturbation-3.png')}): ` +
      'rows are the 16 dimensions, columns -0.25..0.25 in steps of 0.05), ' +
      `and the [couplings of one input](${at('routing.png')}).`, '');
  }
  const lrFlags = CAPS_MODELS.filter((m) => o.lr?.[m] !== undefined).map((m) => ` --${LR_FLAGS[m]} ${o.lr![m]!.join(',')}`).join('');
  const modelsFlag = o.models ? ` --models ${o.models.join(',')}` : '';
  md.push(`Command: \`npx webgpu-transfer experiment capsnet${o.validation ? ' --validation' : ''}${modelsFlag} --datasets ${o.datasets.join(',')} ` +
    `--seeds ${o.seeds.join(',')} --steps ${o.steps} --batch ${o.batch} --shift ${o.shift}${lrFlags} --out ${o.out}\`.`, '');
  writeTextAtomic(join(o.out, 'README.md'), md.join('\n'));
  const options = {...o, log: undefined, data: undefined};
  writeTextAtomic(join(o.out, 'results.json'), JSON.stringify({options, runs: results, pose}, null, 1));
  o.log(`wrote ${join(o.out, 'README.md')}`);
}
