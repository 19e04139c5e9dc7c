// Transfer to your own photos, platform-free: what `finetune` in Node and the page's "your images" view share.
//  - modelFromWeights: a safetensors file's model (architecture from its header, else from its keys and shapes),
//    loaded strictly, with its class names and input size;
//  - stratifiedSplit: a seeded validation share of each class;
//  - photoStrategy: one of the five ways to train on decoded photos (feature extractor on cached features,
//    fine-tune, L2-SP, KL, layer transfer), with the new head sized for the photos' classes.
import * as models from '../nn/models.js';
import {evalTransform, trainTransform, type Image, type RawImage, type Transform} from '../data/transforms.js';
import type {ImageSet} from '../data/image-set.js';
import {PhotoLoader} from '../data/photo-loader.js';
import {shuffled} from '../data/split.js';
import type {Strategy} from '../train/strategy.js';
import {loadEntries} from '../train/weights.js';
import {extractFeatures, FeatureExtractor, imageSetSource, type FeatureStore} from './feature-extractor.js';
import {FineTune} from './finetune.js';
import {Conservative} from './conservative.js';
import {LayerTransfer} from './layer-transfer.js';
import {parameterLayers} from './layers.js';
import {Dann} from './dann.js';
import {adaptBatchNorm} from './adabn.js';
import {Module} from '../nn/module.js';
import {fuse, Linear, ReLU, Sequential} from '../nn/layers.js';
import type {Tensor} from '../graph/tensor.js';

/** The ways to train on photos, as `finetune --strategy` and the page name them. */
export const PHOTO_STRATEGIES = ['feature-extractor', 'fine-tune', 'l2sp', 'kl', 'layer-transfer'] as const;
/** One of PHOTO_STRATEGIES. */
export type PhotoStrategyName = typeof PHOTO_STRATEGIES[number];

/** A decoded weights file, as io.decodeSafetensors gives it: tensors by name and the header's metadata. */
export interface WeightsFile {
  tensors: Map<string, {dtype: string; shape: number[]; data: Float32Array | Int32Array | Float64Array | Uint8Array}>;
  metadata: Record<string, string>;
}

/** What a weights file says about its model: how to build it, its class names and its input size. */
export interface WeightsInfo { spec: models.ArchitectureSpec; classNames: string[] | null; imageSize: number }

/**
 * The architecture a state dict is: its header's `arch` when it has one, else told by its keys (MobileNetV2's
 * `features.18.0.weight`, ResNet-50's `layer1.0.conv3.weight`, a 3x3 `conv1` for the CIFAR stem, ResNet-34's
 * `layer3.5`). Throws naming the first keys when none fits.
 */
export function detectArchitecture(shapes: Map<string, number[]>, meta: Record<string, string> = {}): models.Architecture {
  if (meta.arch && (models.ARCHITECTURES as readonly string[]).includes(meta.arch)) return meta.arch as models.Architecture;
  if (shapes.has('features.18.0.weight') && shapes.has('classifier.1.weight')) return 'mobilenet_v2';
  const conv1 = shapes.get('conv1.weight');
  if (conv1 && shapes.has('fc.weight')) {
    if (shapes.has('layer1.0.conv3.weight')) return 'resnet50';
    if (conv1[2] === 3) return 'cifar_resnet';
    return shapes.has('layer3.5.conv1.weight') ? 'resnet34' : 'resnet18';
  }
  const first = [...shapes.keys()].slice(0, 3).join(', ');
  throw new Error(`webgpu-transfer: the weights are none of ${models.ARCHITECTURES.join(', ')}: no 'conv1.weight' + ` +
    `'fc.weight' (ResNet) or 'features.18.0.weight' + 'classifier.1.weight' (MobileNetV2); the first keys: ${first || 'none'}`);
}

/**
 * The model a decoded weights file holds, built and loaded strictly. `arch` (optional) must agree with the file;
 * `source` names the file in errors. Refusals name the first key that does not fit, with both shapes.
 */
export async function modelFromWeights(file: WeightsFile, source: string, arch?: string):
  Promise<{model: models.HeadedModel; info: WeightsInfo}> {
  const shapes = new Map([...file.tensors].map(([k, t]) => [k, t.shape]));
  const meta = file.metadata;
  if (arch && meta.arch && meta.arch !== arch) {
    throw new Error(`webgpu-transfer: ${source} holds a ${meta.arch}, not a ${arch}`);
  }
  const spec = meta.arch_spec ? JSON.parse(meta.arch_spec) as models.ArchitectureSpec
    : models.inferArchitecture(arch ?? detectArchitecture(shapes, meta), shapes);
  const model = models.build(spec);
  try {
    await loadEntries(model, file.tensors, source);
  } catch (e) {
    model.dispose();
    const why = (e as Error).message.replace(/^webgpu-transfer: (loadStateDict: )?/, '');
    throw new Error(`webgpu-transfer: ${source} does not fit a ${spec.arch}: ${why}`);
  }
  const imageSize = Number(meta.image_size) || spec.inputSize || model.inputSize;
  let classNames: string[] | null = null;
  if (meta.class_names) {
    const v = JSON.parse(meta.class_names) as unknown;
    if (Array.isArray(v) && v.length === spec.classes && v.every((c) => typeof c === 'string')) classNames = v as string[];
  }
  return {model, info: {spec, classNames, imageSize}};
}

/**
 * A seeded split of each class: `share` of its samples (at least one where it has two) for validation. Throws,
 * naming the class, when one would keep no training sample.
 */
export function stratifiedSplit(labels: Int32Array, classes: readonly string[], share: number, seed: number):
  {train: number[]; val: number[]} {
  const train: number[] = [], val: number[] = [];
  classes.forEach((name, c) => {
    const idx = labels.reduce<number[]>((a, l, i) => (l === c ? (a.push(i), a) : a), []);
    const order = shuffled(idx.length, seed * 7919 + c);
    const nVal = idx.length >= 2 ? Math.max(1, Math.round(share * idx.length)) : 0;
    if (idx.length - nVal < 1) {
      throw new Error(`webgpu-transfer: class '${name}' has ${idx.length} image(s): training needs at least one ` +
        'besides validation');
    }
    order.forEach((o, j) => (j < nVal ? val : train).push(idx[o]));
  });
  return {train: train.sort((a, b) => a - b), val: val.sort((a, b) => a - b)};
}

/** Photos through a deterministic transform, as one labelled ImageSet. */
export function photoSet(photos: readonly RawImage[], labels: Int32Array, classes: number,
  transform: Transform<RawImage | Image>): ImageSet {
  if (!photos.length) throw new Error('webgpu-transfer: photoSet: no photos');
  const first = transform(photos[0]), px = first.data.length;
  const images = new Float32Array(photos.length * px);
  photos.forEach((p, i) => images.set(i ? transform(p).data : first.data, i * px));
  return {images, labels, n: photos.length, channels: first.channels, height: first.height, width: first.width, classes};
}

/** Layer transfer's default: every body layer but those of the last stage (which adapts to the new task). */
export function defaultFreeze(model: models.HeadedModel): number {
  const names = parameterLayers(model).filter((l) => l.module !== model.head).map((l) => l.name);
  const lastStage = model instanceof models.ResNet ? `layer${model.stages.length}.` : 'features.17';
  const at = names.findIndex((n) => n.startsWith(lastStage));
  return at > 0 ? at : Math.max(0, names.length - 1);
}

/** Photos decoded on demand: the feature extractor reads each once. */
export interface LazyPhotos {
  readonly length: number;
  /** Photo i, decoded. */
  load(i: number): RawImage | Promise<RawImage>;
}

/** What photoStrategy trains, and on what. */
export interface PhotoRecipe {
  strategy: PhotoStrategyName;
  /** The pretrained model; the feature extractor trains a new head on it in place, the others train a copy. */
  source: models.HeadedModel;
  spec: models.ArchitectureSpec;
  /**
   * Decoded training photos and their labels (0..classes-1). The feature extractor also takes them one at a time
   * ({length, load}), so a large folder is never held decoded at once.
   */
  photos: readonly RawImage[] | LazyPhotos;
  labels: Int32Array;
  classes: number;
  /** Validation photos through the evaluation transform (photoSet(..., evalTransform(size))). */
  val: ImageSet;
  size: number;
  batch: number;
  lr: number;
  seed: number;
  /**
   * 'frozen' (default): batch norm keeps the source's running statistics, as is usual with few photos; 'adapt': it
   * re-estimates them on the training photos first (AdaBN: up to ADAPT_PHOTOS of them, evaluation transform), then
   * keeps them frozen, for photos whose colours or contrast differ from the source's; 'train': batch statistics.
   */
  bn?: 'frozen' | 'train' | 'adapt';
  /** layer-transfer: body layers frozen (default: all but the last stage's). */
  freeze?: number;
  /** l2sp: the pull towards the source weights (default 0.01). */
  alpha?: number;
  /** kl: the weight of the distillation term (default 1). */
  klWeight?: number;
  /** Feature extractor: where features go (default: memory; Node's io.featureStoreFor spills to disk). */
  store?: (n: number, dim: number) => FeatureStore;
  /** Feature extractor: called after each forward pass with the photos done so far. */
  onFeatures?: (done: number, total: number) => void;
}

/** Training photos batch norm re-estimates its statistics on under bn 'adapt' (evenly spaced over the set). */
export const ADAPT_PHOTOS = 1000;

/** Under bn 'adapt', the model's batch-norm statistics from the recipe's training photos (AdaBN). */
async function adaptToPhotos(r: PhotoRecipe, model: models.HeadedModel): Promise<void> {
  if (r.bn !== 'adapt') return;
  const n = Math.min(r.photos.length, ADAPT_PHOTOS);
  const picks = Array.from({length: n}, (_, i) => Math.floor(i * r.photos.length / n));
  const photos = await Promise.all(picks.map((i) => (Array.isArray(r.photos) ? r.photos[i] : (r.photos as LazyPhotos).load(i))));
  await adaptBatchNorm(model, photoSet(photos, new Int32Array(n), r.classes, evalTransform(r.size)));
}

/** The strategy a recipe describes and the model it trains (torchvision's names; head sized for the classes). */
export async function photoStrategy(r: PhotoRecipe): Promise<{strategy: Strategy; model: models.HeadedModel; frozen?: number}> {
  const batch = Math.min(r.batch, r.photos.length);
  if (r.strategy === 'feature-extractor') {
    const model = r.source;
    model.replaceHead(r.classes);
    if (r.bn !== 'train') models.freezeBatchNorm(model);
    await adaptToPhotos(r, model);
    const evalT = evalTransform(r.size);
    const train = await extractFeatures(model, {
      n: r.photos.length, labels: r.labels, classes: r.classes, channels: 3, height: r.size, width: r.size,
      load: async (i) => evalT(Array.isArray(r.photos) ? r.photos[i] : await (r.photos as LazyPhotos).load(i)).data,
    }, {store: r.store, onProgress: r.onFeatures});
    const test = await extractFeatures(model, imageSetSource(r.val));
    return {strategy: new FeatureExtractor({model, train, test, batch, lr: r.lr, seed: r.seed}), model};
  }
  if (!Array.isArray(r.photos)) throw new Error(`webgpu-transfer: photoStrategy: ${r.strategy} needs the photos decoded (an array)`);
  const model = models.build({...r.spec, classes: r.classes}, r.seed);
  if (r.bn !== 'train') models.freezeBatchNorm(model);
  const loader = new PhotoLoader(r.photos, r.labels, r.classes, {batch, seed: r.seed, size: r.size,
    transform: (s) => trainTransform(r.size, s)});
  const common = {source: r.source, model, loader, test: r.val, task: 'new' as const, lr: r.lr, transferredLr: r.lr / 10};
  // The strategies copy the source into the model as they are built: statistics adapt after that.
  const adapted = async <S extends Strategy>(strategy: S) => { await adaptToPhotos(r, model); return strategy; };
  if (r.strategy === 'fine-tune') return {strategy: await adapted(new FineTune(common)), model};
  if (r.strategy === 'l2sp') return {strategy: await adapted(new Conservative({...common, l2sp: {alpha: r.alpha ?? 0.01}})), model};
  if (r.strategy === 'kl') return {strategy: await adapted(new Conservative({...common, distill: {weight: r.klWeight ?? 1}})), model};
  const body = parameterLayers(model).filter((l) => l.module !== model.head).length;
  const k = r.freeze ?? defaultFreeze(model);
  if (!Number.isInteger(k) || k < 0 || k > body) {
    throw new Error(`webgpu-transfer: layer transfer: freeze ${k}: a ${r.spec.arch} has ${body} layers with parameters ` +
      'below its head');
  }
  return {strategy: await adapted(new LayerTransfer({...common, layers: {first: k}})), model, frozen: k};
}

/**
 * A headed model's body as a module of its own: every top-level child but the head's, under the same names (so its
 * parameters are the body's and train with it), run through features().
 */
class BodyOf extends Module {
  constructor(readonly model: models.HeadedModel) {
    super();
    const headTop = model.headName.split('.')[0];
    for (const [name, m] of model.namedModules()) if (name && !name.includes('.') && name !== headTop) this.child(name, m);
  }
  forward(x: Tensor): Tensor { return this.model.features(x); }
}

/** What photoDann trains on: labelled photos, unlabelled ones of the target domain, and validation photos. */
export interface PhotoDannRecipe {
  source: models.HeadedModel;
  /** Labelled photos (evaluation transform: photoSet(..., evalTransform(size))). */
  labelled: ImageSet;
  /** Unlabelled photos of the domain to adapt to, the same size (their labels are never read). */
  unlabelled: ImageSet;
  val: ImageSet;
  batch: number;
  lr: number;
  seed: number;
}

/**
 * Domain-adversarial training of a pretrained network on photos: its body is the feature extractor, a new head of
 * the photos' classes the label predictor, and a small MLP behind gradient reversal the domain classifier
 * (labelled photos: domain 0, unlabelled: 1). Batch norm keeps the source's statistics; Adam at a constant lr,
 * lambda on the paper's schedule. The returned model is the source with its new head (torchvision's names).
 */
export function photoDann(r: PhotoDannRecipe): {strategy: Strategy; model: models.HeadedModel} {
  const model = r.source;
  model.replaceHead(r.labelled.classes);
  models.freezeBatchNorm(model);
  const f = model.featureSize;
  const domain = fuse(new Sequential(new Linear(f, 100), new ReLU(), new Linear(100, 1)));
  const batch = Math.max(1, Math.min(r.batch, r.labelled.n, r.unlabelled.n));
  const strategy = new Dann({source: r.labelled, target: r.unlabelled, test: r.val, normalize: false, batch, lr: r.lr,
    optimizer: 'adam', lrSchedule: 'constant', seed: r.seed,
    model: {features: new BodyOf(model), classifier: model.head, domain}});
  return {strategy, model};
}
