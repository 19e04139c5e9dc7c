// Domain-adversarial training (the notes' fifth setup; Ganin et al. 2016, "Domain-Adversarial Training of
// Neural Networks"): same task, different data. Labelled source images train a label predictor; unlabelled
// target images only enter through a domain classifier that tries to tell the two domains apart from the
// features. Between features and domain classifier sits gradient reversal: the classifier learns to separate
// the domains while the feature extractor receives -lambda times that gradient and learns features the
// classifier cannot separate, so the label predictor, trained on source features, also reads target features.
// Each step: half source (labelled), half target (unlabelled) through one feature extractor.
//   lambda_p = 2 / (1 + exp(-gamma p)) - 1 (gamma = 10): reversal off at first, while features are noise;
//   lr_p = lr0 / (1 + alpha p)^beta (alpha = 10, beta = 0.75), SGD with momentum 0.9, p = progress 0..1.
import * as ops from '../graph/ops.js';
import {keep, noGrad} from '../graph/engine.js';
import type {InputSpec} from '../graph/capture.js';
import type {Tensor} from '../graph/tensor.js';
import {RuntimeValue} from '../graph/value.js';
import {Module} from '../nn/module.js';
import {Conv2d, Flatten, fuse, Linear, MaxPool2d, ReLU, Sequential} from '../nn/layers.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import {resolveOptimizer, type OptimizerChoice} from '../optim/factory.js';
import {DannLR, dannLambda, dannProgress} from '../optim/schedules.js';
import {checkChoice, checkInteger, checkNumber} from '../optim/validate.js';
import {DataLoader, type LoaderState} from '../data/loader.js';
import type {ImageSet} from '../data/image-set.js';
import {evaluate} from '../train/evaluate.js';
import {applySchedule} from '../train/supervised.js';
import type {Metrics, StepOutputs, Strategy} from '../train/strategy.js';

// The schedules are the optimizer layer's (src/optim/schedules.ts), kept importable from here.
export {dannLambda, dannLr, dannProgress} from '../optim/schedules.js';

/** The three parts of a DANN model. */
export interface DannParts { features: Module; classifier: Module; domain: Module }

/**
 * The paper's MNIST -> MNIST-M architecture: features conv 5x5x32, ReLU, max-pool 2, conv 5x5x48, ReLU,
 * max-pool 2 (768 features on 28x28 inputs); label predictor FC 100, ReLU, FC 100, ReLU, FC classes;
 * domain classifier FC 100, ReLU, FC 1 (a logit: source 0, target 1). `width` scales the two conv layers'
 * channels (0.5: 16 and 24, a quarter of the convolution work, for CPU adapters).
 */
export function dannMnistModel(channels = 3, classes = 10, width = 1): DannParts {
  checkNumber('dannMnistModel', 'width', width, 0, true);
  const c1 = Math.max(1, Math.round(32 * width)), c2 = Math.max(1, Math.round(48 * width)), f = c2 * 16;
  return {
    features: fuse(new Sequential(new Conv2d(channels, c1, 5), new ReLU(), new MaxPool2d(2), new Conv2d(c1, c2, 5),
      new ReLU(), new MaxPool2d(2), new Flatten())),
    classifier: fuse(new Sequential(new Linear(f, 100), new ReLU(), new Linear(100, 100), new ReLU(), new Linear(100, classes))),
    domain: fuse(new Sequential(new Linear(f, 100), new ReLU(), new Linear(100, 1))),
  };
}

/** Everything a DANN run trains and checkpoints: features, label predictor, domain classifier. */
export class DannNet extends Module {
  readonly features: Module;
  readonly classifier: Module;
  readonly domain: Module;
  constructor(parts: DannParts) {
    super();
    this.features = this.child('features', parts.features);
    this.classifier = this.child('classifier', parts.classifier);
    this.domain = this.child('domain', parts.domain);
  }
  /** Class logits (features then label predictor): what evaluation and deployment use. */
  forward(x: Tensor): Tensor { return this.classifier.forward(this.features.forward(x)); }
}

/**
 * Binary cross-entropy of logits z against 0/1 targets, mean over elements, in the stable form
 * max(z, 0) - z y + log(1 + exp(-|z|)) (no overflow for large |z|).
 */
export function bceWithLogits(z: Tensor, y: Tensor): Tensor {
  return ops.mean(ops.add(ops.sub(ops.relu(z), ops.mul(z, y)), ops.log(ops.add(ops.exp(ops.neg(ops.abs(z))), 1))));
}

/** Per-channel mean of the pixels of some image sets (all images of all sets together). */
export function channelMeans(sets: ImageSet[]): number[] {
  const C = sets[0].channels;
  const sums = new Float64Array(C);
  let count = 0;
  for (const s of sets) {
    if (s.channels !== C) throw new Error(`webgpu-transfer: channelMeans: sets differ in channels (${C} vs ${s.channels})`);
    const px = s.height * s.width;
    for (let i = 0; i < s.n; i++) for (let c = 0; c < C; c++) {
      const off = (i * C + c) * px;
      let a = 0;
      for (let k = 0; k < px; k++) a += s.images[off + k];
      sums[c] += a;
    }
    count += s.n * px;
  }
  return Array.from(sums, (v) => v / count);
}

/** A copy of `set` with `means[c]` subtracted from channel c. */
export function subtractMeans(set: ImageSet, means: number[]): ImageSet {
  if (means.length !== set.channels) throw new Error(`webgpu-transfer: subtractMeans: ${means.length} means for ${set.channels} channels`);
  const px = set.height * set.width, C = set.channels;
  const images = new Float32Array(set.images.length);
  for (let i = 0; i < set.n; i++) for (let c = 0; c < C; c++) {
    const off = (i * C + c) * px;
    for (let k = 0; k < px; k++) images[off + k] = set.images[off + k] - means[c];
  }
  return {...set, images};
}

/**
 * Options of Dann: labelled source and unlabelled target images, the model, mode, batch, optimizer and schedules,
 * normalisation, evaluation sets.
 */
export interface DannOptions {
  /** Labelled source training images. */
  source: ImageSet;
  /** Target training images; their labels are never read. Same image shape as the source. */
  target: ImageSet;
  /** The model (default: the paper's MNIST architecture for the source's channels and classes). */
  model?: DannParts;
  /**
   * 'dann' (default): source + target batches, domain classifier behind gradient reversal.
   * 'source-only': the same network trained on the source batches alone (the lower baseline);
   * train on target by passing the labelled target set as `source` in this mode.
   */
  mode?: 'dann' | 'source-only';
  /** Images per domain per step (default 64: each DANN step sees 64 source and 64 target images). */
  batch?: number;
  /** Initial learning rate lr0 (default: the optimizer's, 0.01 with SGD, 1e-3 with Adam). */
  lr?: number;
  /** A kind (default 'sgd'), built with lr and momentum, or a factory given one group of every trained parameter. */
  optimizer?: OptimizerChoice;
  /** SGD momentum (default 0.9, the paper's). */
  momentum?: number;
  /** 'dann' (default): lr_p = lr0 / (1 + 10 p)^0.75 (DannLR); 'constant': lr0 throughout. */
  lrSchedule?: 'dann' | 'constant';
  /** lambda_p = max * (2 / (1 + exp(-gamma p)) - 1); schedule 'constant' holds max from the first step. */
  lambda?: {max?: number; gamma?: number; schedule?: 'dann' | 'constant'};
  /**
   * Subtract the per-channel pixel mean of source and target training images together from every input (as
   * the paper's code does; evaluation sets get the same means). Default true.
   */
  normalize?: boolean;
  /** Target (and source) evaluation sets, raw (normalised here): a validation split while choosing settings. */
  test?: ImageSet;
  sourceTest?: ImageSet;
  /** Data order of the two loaders. */
  seed?: number;
  name?: string;
}

/** Decay of the domain-accuracy average logged as the term `domain_acc` (about the last 20 steps). */
const ACC_DECAY = 0.95;

/**
 * Domain-adversarial training (Ganin et al. 2016) as a TrainingLoop strategy: labelled source images train the
 * label predictor, and a domain classifier behind gradient reversal makes the features of source and unlabelled
 * target images indistinguishable. lambda and the learning rate follow the paper's schedules.
 *
 * @example
 * ```ts
 * const mnist = wt.loadDataset('mnist'), mnistM = wt.loadDataset('mnist-m');
 * const dann = new wt.transfer.Dann({source: wt.data.toRgb(mnist.train), target: mnistM.train, test: mnistM.test});
 * const result = await new wt.TrainingLoop(dann, {steps: 2000, logEvery: 100}).fit();
 * console.log(result.evals.at(-1)?.metrics);   // target accuracy, among others
 * ```
 */
export class Dann implements Strategy {
  readonly name: string;
  readonly model: DannNet;
  readonly optimizer: Optimizer<GroupOptions>;
  readonly mode: 'dann' | 'source-only';
  /** Reversal strength: a runtime value, so the compiled step reads lambda_p on every replay. */
  readonly lambda: RuntimeValue;
  /** Per-channel means subtracted from inputs (zeros without normalisation). */
  readonly means: number[];
  /** Initial learning rate lr0: the option, or the optimizer's default (0.01 with SGD, 1e-3 with Adam). */
  readonly lr0: number;
  /** lr_p, made at the first step, when the loop gives the run's length; null with lrSchedule 'constant'. */
  private lrSchedule: DannLR | null = null;
  private readonly sourceLoader: DataLoader;
  private readonly targetLoader: DataLoader | null;
  private readonly batch: number;
  private readonly lam: {max: number; gamma: number; schedule: 'dann' | 'constant'};
  /** 0 for the source half, 1 for the target half of a step's domain logits. */
  private readonly domainLabels: Tensor | null;
  /** Running average of the domain classifier's accuracy on the step's batches (on the GPU). */
  private readonly domainAcc: Tensor;
  private readonly evalSets = new Map<ImageSet, ImageSet>();
  private readonly where: string;

  constructor(readonly o: DannOptions) {
    this.where = o.name ?? 'DANN';
    const w = this.where;
    const {source, target} = o;
    if (!source || !target) throw new Error(`webgpu-transfer: ${w}: give source and target image sets`);
    const shape = (s: ImageSet) => `[${s.channels}, ${s.height}, ${s.width}]`;
    if (source.channels !== target.channels || source.height !== target.height || source.width !== target.width) {
      throw new Error(`webgpu-transfer: ${w}: target images are ${shape(target)} but source images are ${shape(source)}` +
        ' (the feature extractor reads both: convert one, e.g. toRgb for a grey source)');
    }
    for (const [what, s] of [['test', o.test], ['sourceTest', o.sourceTest]] as const) {
      if (s && shape(s) !== shape(source)) throw new Error(`webgpu-transfer: ${w}: ${what} images are ${shape(s)}, the training images ${shape(source)}`);
    }
    this.mode = o.mode ?? 'dann';
    checkChoice(w, 'mode', this.mode, ['dann', 'source-only']);
    checkNumber(w, 'lr', o.lr, 0, true);
    checkNumber(w, 'momentum', o.momentum);
    checkNumber(w, 'lambda.max', o.lambda?.max);
    checkNumber(w, 'lambda.gamma', o.lambda?.gamma);
    const sched = o.lambda?.schedule ?? 'dann';
    checkChoice(w, 'lambda.schedule', sched, ['dann', 'constant']);
    this.lam = {max: o.lambda?.max ?? 1, gamma: o.lambda?.gamma ?? 10, schedule: sched};
    checkChoice(w, 'lrSchedule', o.lrSchedule, ['dann', 'constant']);
    checkInteger(w, 'batch', o.batch);
    this.batch = o.batch ?? 64;
    this.name = o.name ?? (this.mode === 'dann' ? 'dann' : 'source-only');

    const parts = o.model ?? dannMnistModel(source.channels, source.classes);
    this.model = new DannNet(parts);
    this.means = o.normalize === false ? new Array(source.channels).fill(0) : channelMeans([source, target]);
    const norm = (s: ImageSet) => (o.normalize === false ? s : subtractMeans(s, this.means));
    const seed = o.seed ?? 0;
    this.sourceLoader = new DataLoader(norm(source), {batch: this.batch, seed});
    this.targetLoader = this.mode === 'dann' ? new DataLoader(norm(target), {batch: this.batch, seed: seed + 7777}) : null;

    // Only what this mode trains: source-only leaves the domain classifier out of the optimizer.
    const params = this.mode === 'dann' ? this.model.parameters()
      : [...this.model.features.parameters(), ...this.model.classifier.parameters()];
    this.optimizer = resolveOptimizer(o.optimizer ?? 'sgd', [{params, lr: o.lr}], {lr: o.lr, momentum: o.momentum}, w);
    this.lr0 = this.optimizer.lr;
    this.lambda = new RuntimeValue(this.lam.schedule === 'constant' ? this.lam.max : 0, 'dann.lambda');
    this.domainLabels = this.mode === 'dann'
      ? keep(ops.tensor(Float32Array.from({length: 2 * this.batch}, (_, i) => (i < this.batch ? 0 : 1)), [2 * this.batch, 1]))
      : null;
    this.domainAcc = keep(ops.tensor([0.5], [1]));
  }

  get examplesPerStep(): number { return this.mode === 'dann' ? 2 * this.batch : this.batch; }
  get stepsPerEpoch(): number { return this.sourceLoader.batchesPerEpoch; }
  epoch(): number { return this.sourceLoader.epoch; }

  inputs(): InputSpec[] {
    const s = this.sourceLoader.set;
    const img = {shape: [this.batch, s.channels, s.height, s.width]};
    return this.mode === 'dann' ? [img, {shape: [this.batch], dtype: 'i32'}, img] : [img, {shape: [this.batch], dtype: 'i32'}];
  }

  nextBatch(): ArrayLike<number>[] {
    const [xs, ys] = this.sourceLoader.next();
    if (!this.targetLoader) return [xs, ys];
    const [xt] = this.targetLoader.next(); // target labels are drawn by the loader but never used
    return [xs, ys, xt];
  }

  /** lambda_p and lr_p of step `step` of `total` (progress p: dannProgress, as DannLR's). */
  beforeStep(step: number, total: number): void {
    const p = dannProgress(step, total);
    if (this.lam.schedule === 'dann') this.lambda.set(dannLambda(p, this.lam.gamma, this.lam.max));
    if ((this.o.lrSchedule ?? 'dann') !== 'dann') return;
    this.lrSchedule ??= new DannLR(this.optimizer, total);
    this.lrSchedule.totalSteps = total; // a later run of the same strategy may be longer
    applySchedule(this.lrSchedule, step);
  }

  loss([xs, ys, xt]: Tensor[]): StepOutputs {
    const {features, classifier, domain} = this.model;
    if (this.mode === 'source-only') {
      const logits = classifier.forward(features.forward(xs));
      return {loss: ops.crossEntropy(logits, ys), logits, labels: ys};
    }
    const B = this.batch;
    const f = features.forward(ops.concat([xs, xt], 0));
    const fs = ops.slice(f, [0, 0], [B, f.shape[1]]);
    const logits = classifier.forward(fs);
    const ce = ops.crossEntropy(logits, ys);
    const d = domain.forward(ops.gradReverse(f, this.lambda.tensor));
    if (d.rank !== 2 || d.shape[1] !== 1) throw new Error(`webgpu-transfer: ${this.where}: the domain classifier must output one logit per image ([N, 1]), got ${d.describe()}`);
    const dl = this.domainLabels!;
    const bce = bceWithLogits(d, dl);
    noGrad(() => {
      // A logit > 0 says "target"; accuracy of this batch folded into a running average.
      const acc = ops.mean(ops.eq(ops.gt(d, ops.zeros([1])), dl));
      ops.assign(this.domainAcc, ops.add(ops.mul(this.domainAcc, ACC_DECAY), ops.mul(acc, 1 - ACC_DECAY)));
    });
    return {loss: ops.add(ce, bce), terms: {ce, domain: bce, domain_acc: this.domainAcc, lambda: this.lambda.tensor}, logits, labels: ys};
  }

  /** An evaluation set with this run's normalisation applied (cached per set). */
  normalized(set: ImageSet): ImageSet {
    if (this.o.normalize === false) return set;
    let s = this.evalSets.get(set);
    if (!s) this.evalSets.set(set, (s = subtractMeans(set, this.means)));
    return s;
  }

  async evaluate(): Promise<Metrics> {
    const out: Metrics = {};
    if (this.o.test) Object.assign(out, {test_accuracy: (await evaluate(this.model, this.normalized(this.o.test))).accuracy});
    if (this.o.sourceTest) out.source_accuracy = (await evaluate(this.model, this.normalized(this.o.sourceTest))).accuracy;
    return out;
  }

  state(): Record<string, unknown> {
    return {source: this.sourceLoader.state(), target: this.targetLoader?.state() ?? null};
  }
  setState(s: Record<string, unknown>): void {
    if (s.source) this.sourceLoader.setState(s.source as LoaderState);
    if (s.target && this.targetLoader) this.targetLoader.setState(s.target as LoaderState);
  }

  /** Frees the optimizer state and the strategy's own tensors (not the model). */
  dispose(): void {
    this.optimizer.dispose();
    this.lambda.dispose();
    this.domainLabels?.dispose();
    this.domainAcc.dispose();
  }
}
