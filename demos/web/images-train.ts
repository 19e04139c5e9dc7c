// The "your images" view's model side: the source network (a shipped one, or a safetensors file the user
// picked), training it on the session's samples with one of the five photo strategies, predictions for the
// preview, and the weights as a torchvision-named safetensors file. No DOM here beyond what the caller passes.
import * as wt from '../../src/index.js';
import {decodeSafetensors} from '../../src/io/safetensors.js';
import {evalTransform, type RawImage} from '../../src/data/transforms.js';
import type {ImageSet} from '../../src/data/image-set.js';
import type {HeadedModel} from '../../src/nn/models.js';
import {TrainingLoop} from '../../src/train/loop.js';
import type {Sink} from '../../src/train/strategy.js';
import {modelSafetensors} from '../../src/train/weights.js';
import {evaluate} from '../../src/train/evaluate.js';
import {pca} from '../../src/analysis/pca.js';
import {modelFromWeights, photoDann, photoSet, photoStrategy, stratifiedSplit, type PhotoStrategyName, type WeightsInfo}
  from '../../src/transfer/photos.js';

/** The page's strategies: the five of finetune, and DANN when unlabelled photos of a target domain are given. */
export type PageStrategy = PhotoStrategyName | 'dann';

/** A shipped source as the server lists it (/pretrained/index.json). */
export interface ShippedSource { name: string; file: string; arch: string; class_names: string[] | null; image_size: number | null;
  test_accuracy: number | null; recipe: string }

/** The shipped sources; an empty list when the server has none. */
export async function shippedSources(): Promise<ShippedSource[]> {
  const r = await fetch('pretrained/index.json');
  if (!r.ok) return [];
  return await r.json() as ShippedSource[];
}

/** A loaded source: the model, what its file says, and the file's name. */
export interface Source { model: HeadedModel; info: WeightsInfo; name: string }

/** Builds and loads the model a safetensors file holds; errors name the file and its first bad key. */
export async function loadSource(bytes: Uint8Array, name: string, arch?: string): Promise<Source> {
  const file = decodeSafetensors(bytes, name);
  const {model, info} = await modelFromWeights(file, name, arch);
  return {model, info, name};
}

/** The bytes of a shipped source. */
export async function fetchShipped(s: ShippedSource): Promise<Uint8Array> {
  const r = await fetch(s.file);
  if (!r.ok) throw new Error(`${s.file}: the server answered ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

/** What a training run needs besides the samples. */
export interface TrainSettings {
  strategy: PageStrategy; epochs: number; lr: number; batch: number; valShare: number; freeze?: number; seed: number;
  /** Batch norm under the transfer strategies (photoStrategy's bn): frozen, adapted to the photos first, or trained. */
  bn?: 'frozen' | 'adapt' | 'train';
}

/** A finished or stopped run: the trained model and its last validation accuracy. */
export interface Trained { model: HeadedModel; classNames: string[]; size: number; spec: WeightsInfo['spec']; valAccuracy: number;
  strategy: PageStrategy; stopped: boolean }

/** Callbacks the view draws with. */
export interface RunHooks {
  status(line: string): void;
  sink: Sink;
  /** Feature vectors of the validation photos (and some training ones) projected on 2 principal components. */
  pca(rows: {x: number; y: number; class: string; split: string}[]): void;
  shouldStop(): boolean;
  /** Photos per second through the frozen body (the feature extractor's one pass). */
  featureRate?(perSecond: number): void;
}

/** Features of a set through the model's body, projected to 2-D with their class names. */
async function projected(model: HeadedModel, sets: {set: ImageSet; split: string; name?: string}[], names: string[]) {
  const parts: {data: Float32Array; n: number; labels: Int32Array; split: string; name?: string}[] = [];
  const wasTraining = model.training;
  model.eval();
  try {
    for (const {set, split, name} of sets) {
      const x = wt.tensor(set.images, [set.n, set.channels, set.height, set.width]);
      const f = wt.tidy(() => wt.noGrad(() => model.features(x)));
      parts.push({data: await f.data() as Float32Array, n: set.n, labels: set.labels, split, name});
      x.dispose(); f.dispose();
    }
  } finally { model.train(wasTraining); }
  const d = model.featureSize, n = parts.reduce((a, p) => a + p.n, 0);
  if (n < 3) return [];
  const all = new Float32Array(n * d);
  let at = 0;
  for (const p of parts) { all.set(p.data, at * d); at += p.n; }
  const proj = pca(all, n, d, 2).projected;
  const rows: {x: number; y: number; class: string; split: string}[] = [];
  at = 0;
  for (const p of parts) for (let i = 0; i < p.n; i++, at++) rows.push({x: proj[at][0], y: proj[at][1],
    class: p.name ?? names[p.labels[i]], split: p.split});
  return rows;
}

/**
 * Trains on the samples (pixels and labels): a stratified validation split, the strategy's model (a new head for
 * the classes), the shared TrainingLoop with the page's charts, validation accuracy each epoch.
 */
export async function trainOnSamples(source: Source, photos: RawImage[], labels: Int32Array, classNames: string[],
  unlabelled: RawImage[], s: TrainSettings, hooks: RunHooks): Promise<Trained> {
  const classes = classNames.length;
  const split = stratifiedSplit(labels, classNames, s.valShare, s.seed);
  const size = source.info.imageSize;
  const pick = (idx: number[]) => idx.map((i) => photos[i]);
  const valLabels = Int32Array.from(split.val, (i) => labels[i]), trainLabels = Int32Array.from(split.train, (i) => labels[i]);
  const ev = evalTransform(size);
  const val = photoSet(pick(split.val), valLabels, classes, ev);
  hooks.status(s.strategy === 'feature-extractor' ? `computing features of ${split.train.length} photos...` : 'building the model...');
  const t0 = performance.now();
  // DANN: labelled photos are the source domain, the unlabelled ones the target (both through the eval transform).
  const target = s.strategy === 'dann' ? photoSet(unlabelled, new Int32Array(unlabelled.length), classes, ev) : null;
  const made = target ? photoDann({source: source.model, labelled: photoSet(pick(split.train), trainLabels, classes, ev),
    unlabelled: target, val, batch: s.batch, lr: s.lr, seed: s.seed})
    : await photoStrategy({strategy: s.strategy as PhotoStrategyName, source: source.model, spec: source.info.spec,
      photos: pick(split.train), labels: trainLabels, classes, val, size, batch: s.batch, lr: s.lr, seed: s.seed, freeze: s.freeze, bn: s.bn,
      onFeatures: (done, n) => {
        hooks.status(`features: ${done}/${n} photos`);
        if (done === n) hooks.featureRate?.(n / ((performance.now() - t0) / 1000));
      }});
  const {strategy, model} = made;
  const steps = s.epochs * strategy.stepsPerEpoch;
  // PCA of the body's features: a sample of training photos and every validation photo, by class.
  const trainShown = photoSet(pick(split.train).slice(0, 200), trainLabels.slice(0, 200), classes, ev);
  const shown = [{set: trainShown, split: 'train'}, {set: val, split: 'validation'},
    ...(target ? [{set: target, split: 'unlabelled (target domain)', name: 'unlabelled'}] : [])];
  const drawPca = async () => hooks.pca(await projected(model, shown, classNames));
  const sink: Sink = {...hooks.sink, evaluation: (r) => { hooks.sink.evaluation?.(r); void drawPca(); }};
  const loop = new TrainingLoop(strategy, {steps, logEvery: 1, evalEvery: strategy.stepsPerEpoch, yieldEvery: 1,
    shouldStop: hooks.shouldStop, sinks: [sink], name: s.strategy});
  hooks.status(`training: ${split.train.length} photos, ${split.val.length} held out for validation, ${steps} steps`);
  await drawPca();
  const res = await loop.fit();
  loop.dispose();
  const valAccuracy = (await evaluate(model, val)).accuracy;
  return {model, classNames, size, spec: {...source.info.spec, classes}, valAccuracy, strategy: s.strategy, stopped: res.stopped};
}

/** Logits and class probabilities of one photo (evaluation transform, eval mode). */
export async function predict(model: HeadedModel, size: number, photo: RawImage): Promise<{logits: number[]; probs: number[]}> {
  const im = evalTransform(size)(photo);
  const wasTraining = model.training;
  model.eval();
  try {
    const x = wt.tensor(im.data, [1, 3, size, size]);
    const out = wt.tidy(() => wt.noGrad(() => model.forward(x)));
    const logits = Array.from(await out.data() as Float32Array);
    x.dispose(); out.dispose();
    const m = Math.max(...logits), e = logits.map((v) => Math.exp(v - m)), z = e.reduce((a, b) => a + b, 0);
    return {logits, probs: e.map((v) => v / z)};
  } finally { model.train(wasTraining); }
}

/** The trained model as a safetensors file: torchvision's names, with what rebuilds it in the header. */
export function trainedBytes(t: Trained): Promise<Uint8Array> {
  return modelSafetensors(t.model, {arch: t.spec.arch, arch_spec: JSON.stringify(t.spec), class_names: JSON.stringify(t.classNames),
    image_size: String(t.size), strategy: t.strategy});
}

/** A trained model back from its safetensors bytes (a reload restores it). */
export async function trainedFrom(bytes: Uint8Array, name: string): Promise<Trained> {
  const file = decodeSafetensors(bytes, name);
  const {model, info} = await modelFromWeights(file, name);
  return {model, classNames: info.classNames ?? Array.from({length: info.spec.classes}, (_, i) => `class ${i}`), size: info.imageSize,
    spec: info.spec, valAccuracy: NaN, strategy: (file.metadata.strategy ?? 'fine-tune') as PageStrategy, stopped: false};
}
