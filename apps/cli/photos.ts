// `predict` and `finetune`: a pretrained ImageNet-style network (torchvision's weights, or ours) on the user's own
// photos. predict prints each image's top classes; finetune adapts the network to an image folder (one folder per
// class) with one of the transfer strategies and writes weights torchvision loads strictly. Every input is checked
// (weights against the architecture, the folder, each image's size) before the run folder is written.
import {existsSync, readFileSync, unlinkSync, writeFileSync, renameSync} from 'node:fs';
import {dirname, join, resolve} from 'node:path';
import * as wt from '../../src/index.js';
import * as models from '../../src/nn/models.js';
import {imageFolder, pool, readImage, type ImageFolder} from '../../src/data/image-folder.js';
import {
  compose, evalTransform, resize, toTensor, type Image, type RawImage, type Transform,
} from '../../src/data/transforms.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {evaluate} from '../../src/train/evaluate.js';
import {Trainer} from '../../src/train/trainer.js';
import {loadModel, readCheckpointInfo, saveModel} from '../../src/train/checkpoint.js';
import {loadSafetensors} from '../../src/io/files.js';
import {checkWritableDir, lockFolder} from '../../src/io/files.js';
import {featureStoreFor} from '../../src/io/feature-file.js';
import {pretrainedWeights} from '../../src/io/pretrained.js';
import {buildModel, MODELS} from './models.js';
import {BACKENDS, bool, choice, fail, flag, int, real, text, type CommandSpec, type FlagValues} from './flags.js';
import {fitInterruptibly, onExit, stopRequested} from './run-control.js';

const ARCHS = models.ARCHITECTURES;
const PREDICT_MODELS = [...ARCHS, ...MODELS] as const;
export const STRATEGIES = ['feature-extractor', 'fine-tune', 'l2sp', 'kl', 'layer-transfer'] as const;
type StrategyName = typeof STRATEGIES[number];
const backend = flag('NAME', choice(BACKENDS), 'adapter (default from WGT_BACKEND, else auto)');

export const PREDICT: CommandSpec = {
  about: 'classify images with a pretrained or fine-tuned model: top classes with probabilities',
  usage: 'predict --model NAME (--weights FILE | --checkpoint FILE) [flags] IMAGE...',
  operands: 'IMAGE',
  flags: {
    model: flag('NAME', choice(PREDICT_MODELS), `${PREDICT_MODELS.join(' | ')} (default: the checkpoint's)`),
    weights: flag('FILE', text, 'a state dict as safetensors (torchvision\'s names), e.g. from torchvision or finetune'),
    checkpoint: flag('FILE', text, 'the model.safetensors of a finetune or train run (its classes and image size)'),
    'image-size': flag('N', int(8, 1024), 'side of the center crop the model reads (default: the model\'s, 224)'),
    top: flag('K', int(1, 1000), 'classes shown per image (default 5)'),
    json: bool('one JSON line per image: {"file", "logits", "top": [[class, prob], ...]}'),
    batch: flag('N', int(1, 256), 'images per forward pass (default 8)'),
    backend,
  },
  more: `Images are decoded with sharp (PNG, JPEG, WebP, ...), grey and RGBA converted to RGB, then resized
(shorter side to size * 256 / 224), center-cropped to --image-size and normalised with the ImageNet mean and
std, as torchvision's evaluation transform. Class names come from the checkpoint (finetune records them, or a
classes.json beside the weights); otherwise classes are shown by index.`,
};

export const FINETUNE: CommandSpec = {
  about: 'adapt a pretrained model to a folder of photos (one sub-folder per class)',
  usage: 'finetune --model NAME --weights FILE --data DIR --strategy NAME --out RUN [flags]',
  flags: {
    model: flag('NAME', choice(ARCHS), ARCHS.join(' | ')),
    weights: flag('FILE', text, 'the pretrained state dict (safetensors; torchvision\'s names), or the name of\n' +
      '                      weights the package ships (pretrained/: cifar_resnet-w16-l1111-c0-4, ...)'),
    data: flag('DIR', text, 'the image folder: one sub-folder of images per class (torchvision\'s ImageFolder)'),
    strategy: flag('NAME', choice(STRATEGIES), `${STRATEGIES.join(' | ')} (default feature-extractor)`),
    freeze: flag('K', int(0), 'layer-transfer: copy and freeze the first K layers with parameters (default: all\n' +
      '                      but the last stage)'),
    epochs: flag('N', int(1), 'epochs over the training images (default 5)'),
    'image-size': flag('N', int(8, 1024), 'side of the crops the model reads (default: the model\'s, 224 or 32)'),
    lr: flag('X', real({above: 0}), 'learning rate of the new head (default 0.001, Adam); copied layers train at\n' +
      '                      a tenth of it'),
    batch: flag('N', int(1, 1024), 'batch size (default 16)'),
    val: flag('X', real({above: 0, below: 1}), 'share of each class held out for validation (default 0.2)'),
    seed: flag('N', int(0), 'seed of the split, the head, batches and augmentation (default 0)'),
    bn: flag('MODE', choice(['frozen', 'adapt', 'train']), 'batch norm: frozen (the source\'s running statistics, as usual\n' +
      '                      with small batches; the default), adapt (re-estimated on up to 1,000 training images\n' +
      '                      first, then frozen: AdaBN, for photos unlike the source\'s), or train (batch statistics)'),
    alpha: flag('X', real({min: 0}), 'l2sp: strength of the pull towards the pretrained weights (default 0.01)'),
    'kl-weight': flag('X', real({min: 0}), 'kl: weight of the distillation term (default 1)'),
    upscale: bool('accept images smaller than the crop (they are enlarged; by default refused)'),
    out: flag('DIR', text, 'the run folder: model.safetensors, classes.json, metrics (required)'),
    overwrite: bool('replace the run already in --out'),
    resume: flag('PATH', text, 'continue the run of this checkpoint (RUN/checkpoint.safetensors)'),
    'checkpoint-every': flag('N', int(1), 'steps between checkpoints (default: end only)'),
    progress: flag('MODE', choice(['auto', 'bar', 'lines', 'none']), 'auto | bar | lines | none (default auto)'),
    tune: bool('measure the kernels of the step\'s shapes after its first step, on any adapter (default: GPUs only)'),
    backend,
  },
  more: `Strategies: feature-extractor trains only a new head on features computed once per image (the body frozen,
inputs deterministic: resize and center crop); fine-tune trains everything, the copied layers at a tenth of
--lr, with random resized crops and flips; l2sp adds a pull towards the pretrained weights; kl keeps the source
head's answers (distillation); layer-transfer freezes the first --freeze layers. The head is replaced by one with
as many outputs as DIR has class folders (fc for ResNets, classifier.1 for MobileNetV2). Writes RUN/model.safetensors
(torchvision's names and shapes: load_state_dict(strict=True) reads it), RUN/classes.json, RUN/metrics.jsonl and
RUN/checkpoint.safetensors (+ .train) to resume from. The run folder is locked while a run is in it; the first
Ctrl-C stops after the current step and saves a checkpoint (--resume it), as train does.`,
};

async function startDevice(name: string | undefined): Promise<void> {
  await wt.init({backend: (name ?? process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
  console.log(wt.debug.formatReport(wt.adapter()));
}

function shapesOf(path: string): {shapes: Map<string, number[]>; meta: Record<string, string>} {
  const f = loadSafetensors(path);
  return {shapes: new Map([...f.tensors].map(([k, t]) => [k, t.shape])), meta: f.metadata};
}

/** Class names from the file's header, or a classes.json beside it; null when neither says. */
function classNamesFor(path: string, meta: Record<string, string>, classes: number): string[] | null {
  const fromJson = (s: string, where: string) => {
    const v = JSON.parse(s) as unknown;
    if (!Array.isArray(v) || v.length !== classes || !v.every((c) => typeof c === 'string')) {
      fail(`${where} lists ${Array.isArray(v) ? v.length : 'no'} class names; the model has ${classes} classes`);
    }
    return v as string[];
  };
  if (meta.class_names) return fromJson(meta.class_names, `${path} (header class_names)`);
  const beside = join(dirname(path), 'classes.json');
  if (existsSync(beside)) return fromJson(readFileSync(beside, 'utf8'), beside);
  return null;
}

/** The model a weights file holds, for an architecture: built, loaded strictly, with its class names. */
async function loadArchitecture(arch: string, path: string): Promise<{model: models.HeadedModel; info: wt.transfer.WeightsInfo}> {
  const file = loadSafetensors(path);
  try {
    const {model, info} = await wt.transfer.modelFromWeights(file, path, arch);
    return {model, info: {...info, classNames: classNamesFor(path, file.metadata, info.spec.classes)}};
  } catch (e) { return fail((e as Error).message.replace(/^webgpu-transfer: /, '')); }
}

/** Resize(size * 256 / 224) + CenterCrop(size), refusing (unless upscale) an image whose shorter side is below size. */
function checkSize(path: string, im: RawImage, size: number, upscale: boolean): void {
  if (!upscale && Math.min(im.height, im.width) < size) {
    fail(`${path} is ${im.width}x${im.height} pixels, smaller than the ${size}x${size} crop: give a smaller ` +
      '--image-size, or --upscale to enlarge such images');
  }
}

/** A project model's input: the image resized to exactly HxW, grey when it has one channel, values 0..1. */
function projectTransform(channels: number, h: number, w: number): Transform<RawImage | Image> {
  const grey: Transform = Object.assign((im: Image): Image => {
    if (channels !== 1) return im;
    const px = im.height * im.width, data = new Float32Array(px);
    for (let p = 0; p < px; p++) data[p] = 0.299 * im.data[p] + 0.587 * im.data[px + p] + 0.114 * im.data[2 * px + p];
    return {data, channels: 1, height: im.height, width: im.width};
  }, {isDeterministic: true, description: channels === 1 ? 'Grayscale()' : 'Identity()'});
  return compose(toTensor(), resize([h, w]), grey);
}

export async function cmdPredict(v: FlagValues, images: string[]): Promise<void> {
  if (!images.length) fail('predict needs at least one IMAGE (see predict --help)');
  if ((v.weights === undefined) === (v.checkpoint === undefined)) fail('predict needs one of --weights FILE or --checkpoint FILE');
  const path = v.weights !== undefined ? pretrainedWeights(v.weights as string) : v.checkpoint as string;
  for (const f of [path, ...images]) if (!existsSync(f)) fail(`no such file: ${f}`);
  const {meta} = shapesOf(path);
  const arch = (v.model as string | undefined) ?? meta.arch ?? meta.model;
  if (!arch) fail(`${path} does not say which model it holds: give --model (${PREDICT_MODELS.join(', ')})`);
  if (!(PREDICT_MODELS as readonly string[]).includes(arch)) fail(`${path} holds a '${arch}'; predict builds ${PREDICT_MODELS.join(', ')}`);
  await startDevice(v.backend as string | undefined);
  let model: wt.Module, names: string[] | null, transform: Transform<RawImage | Image>, size: number;
  if ((ARCHS as readonly string[]).includes(arch)) {
    const got = await loadArchitecture(arch, path);
    model = got.model;
    names = got.info.classNames;
    size = (v['image-size'] as number | undefined) ?? got.info.imageSize;
    transform = evalTransform(size);
  } else {
    // A `train` run's checkpoint: its recorded image shape and classes build the model.
    const run = readCheckpointInfo(path).run;
    const shape = (run.image_shape ?? '').split('x').map(Number);
    if (shape.length !== 3 || !run.classes) fail(`${path} records no image shape and classes (not saved by train)`);
    const [c, h, w] = shape;
    const set: ImageSet = {images: new Float32Array(0), labels: new Int32Array(0), n: 0, channels: c, height: h, width: w,
      classes: Number(run.classes)};
    model = buildModel(arch, set);
    await loadModel(path, model);
    names = classNamesFor(path, meta, set.classes);
    size = h;
    transform = projectTransform(c, h, w);
  }
  model.eval();
  const top = (v.top as number | undefined) ?? 5, batch = (v.batch as number | undefined) ?? 8;
  for (let start = 0; start < images.length; start += batch) {
    const files = images.slice(start, start + batch);
    const xs = await Promise.all(files.map(async (f) => transform(await readImage(f))));
    const [c, h, w] = [xs[0].channels, xs[0].height, xs[0].width];
    const host = new Float32Array(files.length * c * h * w);
    xs.forEach((x, i) => host.set(x.data, i * c * h * w));
    const logits = wt.tidy(() => model.forward(wt.tensor(host, [files.length, c, h, w])));
    const data = await logits.data() as Float32Array;
    logits.dispose();
    const k = data.length / files.length;
    files.forEach((file, i) => {
      const row = Array.from(data.subarray(i * k, (i + 1) * k));
      const m = Math.max(...row), e = row.map((z) => Math.exp(z - m)), s = e.reduce((a, b) => a + b, 0);
      const order = row.map((_, j) => j).sort((a, b) => row[b] - row[a]).slice(0, Math.min(top, k));
      const name = (j: number) => names?.[j] ?? String(j);
      const best = order.map((j) => [name(j), e[j] / s] as [string, number]);
      if (v.json) console.log(JSON.stringify({file, logits: row, top: best}));
      else console.log(`${file}: ${best.map(([n, p]) => `${n} ${(100 * p).toFixed(1)}%`).join(', ')}`);
    });
  }
}

/** Decoded photos, shrunk so the shorter side is at most `side` (memory), kept as uint8 RGB. */
function shrink(im: RawImage, side: number): RawImage {
  if (Math.min(im.height, im.width) <= side) return im;
  const out = resize(side)(toTensor()(im));
  const data = new Uint8Array(out.height * out.width * 3);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < out.height * out.width; p++) data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, out.data[c * out.height * out.width + p])) * 255);
  }
  return {data, height: out.height, width: out.width, channels: 3};
}

/** A folder's samples at `idx`, decoded, each checked against the crop size. */
async function decodeAll(folder: ImageFolder, idx: number[], size: number, upscale: boolean, keepSide: number): Promise<RawImage[]> {
  return pool(idx.length, async (i) => {
    const im = await folder.load(idx[i]);
    checkSize(folder.samples[idx[i]].path, im, size, upscale);
    return shrink(im, keepSide);
  });
}

const runFiles = (out: string) => ['model.safetensors', 'classes.json', 'metrics.jsonl', 'checkpoint.safetensors',
  'checkpoint.train.safetensors', 'checkpoint.train.pending.safetensors', 'summary.json'].map((f) => join(out, f));

function atomicWrite(path: string, content: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, content);
  renameSync(tmp, path);
}

export async function cmdFinetune(v: FlagValues): Promise<void> {
  let rec: Record<string, string> = {}, fromStep = 0;
  if (v.resume !== undefined) {
    const ck = readCheckpointInfo(v.resume as string);
    if (ck.step === undefined) fail(`--resume ${v.resume} is not a finetune checkpoint (RUN/checkpoint.safetensors)`);
    rec = ck.run;
    fromStep = ck.step;
  }
  // On resume each setting comes from the checkpoint; a flag that contradicts it is an error (as train).
  const setting = <T extends string | number>(name: string, def: T | undefined): T | undefined => {
    const given = v[name] as T | undefined, stored = rec[name];
    if (given !== undefined && stored !== undefined && String(given) !== stored) {
      fail(`flag --${name} ${given} contradicts the checkpoint's ${name} ${stored} (${v.resume}): a resumed run keeps its settings`);
    }
    if (given !== undefined) return given;
    if (stored !== undefined) return (typeof def === 'number' ? Number(stored) : stored) as T;
    return def;
  };
  const arch = setting<string>('model', undefined) ?? fail('finetune needs --model (see finetune --help)');
  const weights = pretrainedWeights(setting<string>('weights', undefined) ?? fail('finetune needs --weights FILE (the pretrained model)'));
  const data = setting<string>('data', undefined) ?? fail('finetune needs --data DIR (one sub-folder per class)');
  const out = (v.out as string | undefined) ?? (v.resume ? dirname(v.resume as string) : fail('finetune needs --out RUN'));
  const strategyName = setting<string>('strategy', 'feature-extractor') as StrategyName;
  // --epochs sets the total on resume too (as train's): a finished run continues to more epochs.
  const epochs = (v.epochs as number | undefined) ?? (rec.epochs !== undefined ? Number(rec.epochs) : 5);
  const batchSize = setting<number>('batch', 16)!;
  const lr = setting<number>('lr', 1e-3)!;
  const share = setting<number>('val', 0.2)!;
  const seed = setting<number>('seed', 0)!;
  const bn = setting<string>('bn', 'frozen')!;
  const upscale = !!v.upscale || rec.upscale === 'true';
  if (v.freeze !== undefined && strategyName !== 'layer-transfer') fail(`flag --freeze applies to --strategy layer-transfer, not ${strategyName}`);
  if (v.alpha !== undefined && strategyName !== 'l2sp') fail(`flag --alpha applies to --strategy l2sp, not ${strategyName}`);
  if (v['kl-weight'] !== undefined && strategyName !== 'kl') fail(`flag --kl-weight applies to --strategy kl, not ${strategyName}`);
  const ckptPath = join(out, 'checkpoint.safetensors');
  const continuing = v.resume !== undefined && resolve(v.resume as string) === resolve(ckptPath);
  const earlier = continuing ? [] : runFiles(out).filter((f) => existsSync(f));
  if (earlier.length && !v.overwrite) {
    fail(`${out} holds an earlier run (${earlier.map((f) => f.slice(out.length + 1)).join(', ')}): continue it with ` +
      `--resume ${ckptPath}, replace it with --overwrite, or choose another --out`);
  }

  // Everything that can be refused is checked before the run folder is touched: folder, weights, every image.
  const folder = await imageFolder(data, {minClasses: 2});
  const labels = Int32Array.from(folder.samples, (s) => s.label);
  let split: {train: number[]; val: number[]};
  try { split = wt.transfer.stratifiedSplit(labels, folder.classes, share, seed); } catch (e) {
    return fail((e as Error).message.replace(/^webgpu-transfer: class /, 'class folder '));
  }
  await startDevice(v.backend as string | undefined);
  const {model: source, info} = await loadArchitecture(arch, weights);
  const size = setting<number>('image-size', info.imageSize)!;
  const classes = folder.classes.length;
  console.log(`${data}: ${folder.samples.length} images in ${classes} classes (${folder.classes.slice(0, 8).join(', ')}` +
    `${classes > 8 ? ', ...' : ''}); ${split.train.length} train / ${split.val.length} validation (seed ${seed}); ` +
    `${arch} from ${weights}; ${strategyName}, ${size} px`);
  const evalT = evalTransform(size);
  const t0 = performance.now();
  const valSet = wt.transfer.photoSet(await decodeAll(folder, split.val, size, upscale, Infinity), Int32Array.from(split.val, (i) => labels[i]),
    classes, evalT);
  const trainLabels = Int32Array.from(split.train, (i) => labels[i]);
  // Photos are kept with their shorter side at most size * 256 / 224: what the transforms read.
  // The feature extractor reads each photo once, as it goes; the others keep them all decoded.
  const photos = strategyName === 'feature-extractor' ? {length: split.train.length, load: async (i: number) => {
    const im = await folder.load(split.train[i]);
    checkSize(folder.samples[split.train[i]].path, im, size, upscale);
    return im;
  }} : await decodeAll(folder, split.train, size, upscale, Math.round(size * 256 / 224));
  if (Array.isArray(photos)) console.log(`decoded ${photos.length} training images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  let last = 0;
  const recipe = {strategy: strategyName, source, spec: info.spec, photos, labels: trainLabels, classes, val: valSet, size,
    batch: batchSize, lr, seed, bn: bn as 'frozen' | 'train' | 'adapt', store: featureStoreFor(),
    freeze: strategyName === 'layer-transfer' ? setting<number>('freeze', undefined) : undefined,
    alpha: (v.alpha as number | undefined) ?? (rec.alpha !== undefined ? Number(rec.alpha) : undefined),
    klWeight: (v['kl-weight'] as number | undefined) ?? (rec['kl-weight'] !== undefined ? Number(rec['kl-weight']) : undefined),
    onFeatures: (done: number, n: number) => {
      if (done - last >= 200 || done === n) { last = done; console.log(`features: ${done}/${n} images (${((performance.now() - t0) / 1000).toFixed(1)} s)`); }
    }};
  let made: Awaited<ReturnType<typeof wt.transfer.photoStrategy>>;
  try { made = await wt.transfer.photoStrategy(recipe); } catch (e) { return fail((e as Error).message.replace(/^webgpu-transfer: /, '')); }
  const {strategy, model: target} = made;
  if (made.frozen !== undefined) {
    const body = wt.transfer.parameterLayers(target).filter((l) => l.module !== target.head);
    console.log(`layer transfer: frozen ${made.frozen} of ${body.length} body layers (through ${body[made.frozen - 1]?.name ?? 'none'})`);
  }
  const stepsPerEpoch = strategy.stepsPerEpoch;
  const steps = epochs * stepsPerEpoch;

  // The run folder: writable, locked, and emptied of an earlier run only now that every check has passed.
  checkWritableDir(out);
  const lock = lockFolder(out);
  onExit(() => lock.release());
  for (const f of earlier) unlinkSync(f);
  const runInfo: Record<string, string> = {
    model: arch, weights, data, strategy: strategyName, epochs: String(epochs), batch: String(batchSize), lr: String(lr),
    val: String(share), seed: String(seed), bn, 'image-size': String(size), upscale: String(upscale),
    ...(v.freeze !== undefined ? {freeze: String(v.freeze)} : {}), ...(v.alpha !== undefined ? {alpha: String(v.alpha)} : {}),
    ...(v['kl-weight'] !== undefined ? {'kl-weight': String(v['kl-weight'])} : {}),
  };
  const trainer = new Trainer({
    strategy, steps, name: `${arch}/${strategyName}`, runInfo, metricsPath: join(out, 'metrics.jsonl'),
    checkpointPath: ckptPath, checkpointEvery: v['checkpoint-every'] as number | undefined,
    resume: v.resume as string | undefined, evalEvery: stepsPerEpoch,
    progress: (v.progress as 'auto' | 'bar' | 'lines' | 'none') ?? 'auto', shouldStop: stopRequested,
    tune: v.tune ? true : 'auto',
  });
  if (fromStep >= steps) fail(`${v.resume} is already at step ${fromStep} of ${steps}: ask for more --epochs`);
  const res = await fitInterruptibly(trainer, {out, checkpointPath: ckptPath, fromStep});
  // The evaluation at the final step scored this model on these photos already (the feature extractor: on their
  // cached features); running the whole model over them again takes as long as extracting their features did.
  const atEnd = res.evals.at(-1);
  const final = atEnd && atEnd.step === res.step && atEnd.n === valSet.n ? atEnd : await evaluate(target, valSet);
  const meta = {arch, arch_spec: JSON.stringify({...info.spec, classes}), class_names: JSON.stringify(folder.classes),
    image_size: String(size), strategy: strategyName};
  await saveModel(join(out, 'model.safetensors'), target, meta);
  atomicWrite(join(out, 'classes.json'), `${JSON.stringify(folder.classes, null, 1)}\n`);
  const perEpoch = res.evals.map((e) => ({step: e.step, epoch: e.step / stepsPerEpoch, val_accuracy: e.accuracy}));
  atomicWrite(join(out, 'summary.json'), `${JSON.stringify({...runInfo, classes: folder.classes, train_images: split.train.length,
    val_images: split.val.length, steps: res.step, seconds: res.seconds, val_accuracy: final.accuracy, val_loss: final.loss,
    per_epoch: perEpoch}, null, 1)}\n`);
  console.log(`done: ${res.step} steps in ${res.seconds.toFixed(1)} s; validation accuracy ${(100 * final.accuracy).toFixed(2)}% ` +
    `on ${final.n} images; wrote ${join(out, 'model.safetensors')} (torchvision's names) and classes.json`);
}
