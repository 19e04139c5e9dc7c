// The fixed feature extractor (the PyTorch tutorial's first recipe, Teachable Machine's only one): a pretrained
// network's body stays frozen and only a new head learns. With a frozen body and deterministic inputs, each image's
// features are the same every epoch, so they are computed once (extractFeatures), kept in a FeatureStore (memory,
// or a file in Node for large folders), and the head trains on them: one body forward per image in the whole run.
import * as ops from '../graph/ops.js';
import {noGrad, tidy} from '../graph/engine.js';
import type {InputSpec} from '../graph/capture.js';
import type {Tensor} from '../graph/tensor.js';
import {Module} from '../nn/module.js';
import type {HeadedModel} from '../nn/models.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import {resolveOptimizer, type OptimizerChoice} from '../optim/factory.js';
import {checkNumber} from '../optim/validate.js';
import {DataLoader, type LoaderState} from '../data/loader.js';
import type {ImageSet} from '../data/image-set.js';
import {evaluate, type EvalResult} from '../train/evaluate.js';
import {loaderInputs} from '../train/supervised.js';
import type {Metrics, StepOutputs, Strategy} from '../train/strategy.js';

/** Labelled images read one at a time, already transformed to what the model reads (CHW floats). */
export interface ImageSource {
  readonly n: number;
  readonly labels: Int32Array;
  readonly classes: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Image i as CHW floats ([channels * height * width]). */
  load(i: number): Float32Array | Promise<Float32Array>;
}

/** An in-memory ImageSet as an ImageSource. */
export function imageSetSource(set: ImageSet): ImageSource {
  const px = set.channels * set.height * set.width;
  return {
    n: set.n, labels: set.labels, classes: set.classes, channels: set.channels, height: set.height, width: set.width,
    load: (i) => set.images.subarray(i * px, (i + 1) * px),
  };
}

/** Where extracted features live: n vectors of `dim` floats, written once, read in any order. */
export interface FeatureStore {
  readonly n: number;
  readonly dim: number;
  /** Writes `count` vectors starting at vector i. */
  write(i: number, data: Float32Array, count: number): void;
  /** Copies vector i into out at `at`. */
  read(i: number, out: Float32Array, at: number): void;
  /** The vectors as one array, when they are held in memory (null when they live elsewhere). */
  readonly array: Float32Array | null;
  /** Frees the store (removes a scratch file). */
  dispose(): void;
}

/** A FeatureStore in memory (one Float32Array). */
export class MemoryFeatureStore implements FeatureStore {
  readonly array: Float32Array;
  constructor(readonly n: number, readonly dim: number) { this.array = new Float32Array(n * dim); }
  write(i: number, data: Float32Array, count: number): void { this.array.set(data.subarray(0, count * this.dim), i * this.dim); }
  read(i: number, out: Float32Array, at: number): void {
    out.set(this.array.subarray(i * this.dim, (i + 1) * this.dim), at);
  }
  /** Nothing to free: the array is garbage-collected. */
  dispose(): void { /* garbage-collected */ }
}

/** Features of a labelled set: an ImageSet of [n, dim, 1, 1] whose vectors a FeatureStore holds. */
export interface FeatureSet { set: ImageSet; store: FeatureStore }

/** Options of extractFeatures. */
export interface ExtractOptions {
  /** Images per forward pass (default: up to 32, at most 16 MiB of input: 26 photos of 224 px). */
  batch?: number;
  /** Makes the store for n vectors of dim floats (default: memory). Node's io.fileFeatureStore spills to disk. */
  store?: (n: number, dim: number) => FeatureStore;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Runs the model's body (features(), eval mode, no gradients) once over every image of `source` and keeps the
 * feature vectors: what a frozen-body head trains on, epoch after epoch, without another body forward.
 */
export async function extractFeatures(model: HeadedModel, source: ImageSource, o: ExtractOptions = {}): Promise<FeatureSet> {
  // At most 16 MiB of input per pass (26 photos of 224 px): a ResNet-18's pass took 8% less per photo than at 13 on
  // llvmpipe, where the stem's lowering runs in chunks of images (docs/photos.md#the-feature-extractor-at-imagenet-size).
  const px = source.channels * source.height * source.width;
  const batch = o.batch ?? Math.max(1, Math.min(32, Math.floor(16 * 2 ** 20 / (4 * px))));
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`webgpu-transfer: extractFeatures: batch must be a positive integer, got ${batch}`);
  const dim = model.featureSize;
  const store = (o.store ?? ((n, d) => new MemoryFeatureStore(n, d)))(source.n, dim);
  const wasTraining = model.training;
  model.eval();
  try {
    for (let start = 0; start < source.n; start += batch) {
      const b = Math.min(batch, source.n - start);
      const images = await Promise.all(Array.from({length: b}, (_, j) => source.load(start + j)));
      const host = new Float32Array(b * px);
      images.forEach((im, j) => {
        if (im.length !== px) {
          throw new Error(`webgpu-transfer: extractFeatures: image ${start + j} has ${im.length} values, want ` +
            `${source.channels}x${source.height}x${source.width} = ${px}`);
        }
        host.set(im, j * px);
      });
      const f = tidy(() => noGrad(() => model.features(ops.tensor(host, [b, source.channels, source.height, source.width]))));
      const data = await f.data() as Float32Array;
      f.dispose();
      store.write(start, data, b);
      o.onProgress?.(start + b, source.n);
    }
  } finally {
    model.train(wasTraining);
  }
  const set: ImageSet = {images: store.array ?? new Float32Array(0), labels: Int32Array.from(source.labels), n: source.n,
    channels: dim, height: 1, width: 1, classes: source.classes};
  return {set, store};
}

/** Batches of a FeatureSet, read from its store (which may live on disk): a DataLoader of feature vectors. */
export class FeatureLoader extends DataLoader {
  constructor(readonly features: FeatureSet, opts: {batch: number; seed?: number; shuffle?: boolean}) {
    super(features.set, {batch: opts.batch, seed: opts.seed, shuffle: opts.shuffle});
  }
  protected override fill(k: number, x: Float32Array, at: number): void { this.features.store.read(k, x, at); }
}

/** The head alone, reading feature vectors [N, dim, 1, 1]: what evaluation on features runs. */
class HeadOnFeatures extends Module {
  constructor(readonly model: HeadedModel) { super(); }
  forward(x: Tensor): Tensor { return this.model.head.forward(ops.flatten(x, 1)); }
}

/** Options of FeatureExtractor. */
export interface FeatureExtractorOptions {
  /** The model: its body is frozen, its head (already sized for the target classes) trains. */
  model: HeadedModel;
  /** Training features (extractFeatures). */
  train: FeatureSet;
  /** Validation or test features, held in memory: test_loss and test_accuracy. */
  test?: FeatureSet;
  batch: number;
  /** Learning rate (default: the optimizer's, 1e-3 for Adam). */
  lr?: number;
  /** 'adam' (default), another kind, or a factory given the head's parameter group. */
  optimizer?: OptimizerChoice;
  weightDecay?: number;
  /** Seed of the batch order. */
  seed?: number;
  name?: string;
}

/**
 * Trains only the head of a frozen pretrained model, on features computed once (extractFeatures). The strategy's
 * model is the whole network, so a checkpoint holds every layer with its usual names.
 *
 * @example
 * ```ts
 * const model = wt.models.resnet18();             // then wt.loadModel(weightsFile, model)
 * model.replaceHead(classes);
 * const train = await wt.transfer.extractFeatures(model, photos);   // an ImageSource of transformed photos
 * const strategy = new wt.transfer.FeatureExtractor({model, train, batch: 32, lr: 1e-3});
 * await new wt.TrainingLoop(strategy, {steps: 300}).fit();
 * ```
 */
export class FeatureExtractor implements Strategy {
  readonly name: string;
  readonly model: HeadedModel;
  readonly optimizer: Optimizer<GroupOptions>;
  readonly loader: FeatureLoader;
  private readonly headNet: HeadOnFeatures;

  constructor(readonly o: FeatureExtractorOptions) {
    const where = o.name ?? 'FeatureExtractor';
    this.name = o.name ?? 'feature-extractor';
    checkNumber(where, 'lr', o.lr, 0, true);
    checkNumber(where, 'weightDecay', o.weightDecay);
    this.model = o.model;
    if (o.train.set.channels !== o.model.featureSize) {
      throw new Error(`webgpu-transfer: ${where}: the features have ${o.train.set.channels} values, the head reads ` +
        `${o.model.featureSize}`);
    }
    if (o.test && !o.test.store.array) {
      throw new Error(`webgpu-transfer: ${where}: the test features must be held in memory (a MemoryFeatureStore)`);
    }
    const headParams = new Set(o.model.head.parameters());
    for (const p of o.model.parameters()) p.requiresGrad = headParams.has(p);
    this.loader = new FeatureLoader(o.train, {batch: o.batch, seed: o.seed});
    this.headNet = new HeadOnFeatures(o.model);
    this.optimizer = resolveOptimizer(o.optimizer ?? 'adam', [{params: [...headParams], lr: o.lr}],
      {lr: o.lr, weightDecay: o.weightDecay}, where);
  }

  get examplesPerStep(): number { return this.loader.opts.batch; }
  get stepsPerEpoch(): number { return this.loader.batchesPerEpoch; }
  epoch(): number { return this.loader.epoch; }
  inputs(): InputSpec[] { return loaderInputs(this.loader); }
  nextBatch(): ArrayLike<number>[] { return this.loader.next(); }

  loss([x, y]: Tensor[]): StepOutputs {
    const logits = this.headNet.forward(x);
    return {loss: ops.crossEntropy(logits, y), logits, labels: y};
  }

  /** The full result of the latest evaluation on the test features (per-class accuracy included). */
  lastEval: EvalResult | null = null;

  async evaluate(): Promise<Metrics> {
    if (!this.o.test) return {};
    const r = this.lastEval = await evaluate(this.headNet, this.o.test.set);
    return {test_loss: r.loss, test_accuracy: r.accuracy};
  }

  state(): Record<string, unknown> { return {loader: this.loader.state()}; }
  setState(s: Record<string, unknown>): void { if (s.loader) this.loader.setState(s.loader as LoaderState); }
  dispose(): void { this.optimizer.dispose(); }
}
