// The pretrained sources the package ships: small networks trained on CIFAR-10 with the project itself (no weights
// can be downloaded), so predict, finetune and the photos experiment have a real source model out of the box. One
// is trained on classes 0-4 only, so classes 5-9 stay an honest target task; another on all ten.
// Inputs are normalised with the ImageNet mean and std, as the evaluation transform of predict and finetune does.
// MobileNetV2 keeps torchvision's strides (so its weights mean the same in torchvision), so it sees the photos
// resized to 64 px: at 32 px its last stage would be 1x1.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import * as models from '../../src/nn/models.js';
import {Adam} from '../../src/optim/adam.js';
import {CosineLR} from '../../src/optim/schedules.js';
import {DataLoader, perClass} from '../../src/data/loader.js';
import {loadCifar10, CIFAR10_CLASSES} from '../../src/data/cifar10.js';
import {subset} from '../../src/data/split.js';
import {IMAGENET_MEAN, IMAGENET_STD, resize, transformSet} from '../../src/data/transforms.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {evaluate} from '../../src/train/evaluate.js';
import {TrainingLoop} from '../../src/train/loop.js';
import {Supervised} from '../../src/train/supervised.js';
import {saveModel} from '../../src/train/checkpoint.js';

export interface PretrainOptions {
  arch: 'cifar_resnet' | 'mobilenet_v2';
  /** MobileNetV2's width multiplier. */
  widthMult: number;
  /** Side the photos are resized to (CIFAR's 32 for the ResNet). */
  imageSize: number;
  /** CIFAR-10 classes trained on. */
  classes: number[];
  /** Training images per class (of 5,000). */
  perClass: number;
  epochs: number;
  width: number;
  layers: number[];
  batch: number;
  lr: number;
  seed: number;
  out: string;
  log: (line: string) => void;
}

/** ImageNet normalisation of a 0..1 RGB set, in place: what evalTransform's Normalize step does to a photo. */
export function normalizeImagenet(set: ImageSet): ImageSet {
  const px = set.height * set.width;
  for (let i = 0; i < set.n; i++) {
    for (let c = 0; c < 3; c++) {
      const o = (i * 3 + c) * px, m = IMAGENET_MEAN[c], s = IMAGENET_STD[c];
      for (let p = 0; p < px; p++) set.images[o + p] = (set.images[o + p] - m) / s;
    }
  }
  return set;
}

/** The file name of a source: architecture and its size (width and blocks, or width multiplier and input side),
 * then its classes (c0-4, or all). */
export function sourceName(o: Pick<PretrainOptions, 'arch' | 'width' | 'layers' | 'classes' | 'widthMult' | 'imageSize'>) {
  const classes = o.classes.length === 10 ? 'all' : `c${o.classes[0]}-${o.classes[o.classes.length - 1]}`;
  if (o.arch === 'mobilenet_v2') return `mobilenet_v2-x${o.widthMult}-s${o.imageSize}-${classes}`;
  return `cifar_resnet-w${o.width}-l${o.layers.join('')}-${classes}`;
}

/** The architecture a source's options describe. */
function specOf(o: PretrainOptions): models.ArchitectureSpec {
  const classes = o.classes.length, inputSize = o.imageSize;
  if (o.arch === 'mobilenet_v2') return {arch: 'mobilenet_v2', classes, widthMult: o.widthMult, inputSize};
  return {arch: 'cifar_resnet', classes, width: o.width, layers: o.layers, inputSize};
}

/** CIFAR-10 photos of the chosen classes, resized to the source's input side and ImageNet-normalised. */
function photosFor(o: PretrainOptions, set: ImageSet): ImageSet {
  const sized = o.imageSize === set.height ? set : transformSet(set, resize(o.imageSize));
  return normalizeImagenet(sized);
}

/** Trains one source (Adam, cosine, random shifts of 1/16 of the side, batch norm on batch statistics) and saves it. */
export async function pretrain(o: PretrainOptions): Promise<string> {
  const t0 = performance.now();
  const all = loadCifar10('train', {classes: o.classes});
  const train = photosFor(o, subset(all, perClass(all, o.perClass, o.seed)));
  const test = photosFor(o, loadCifar10('test', {classes: o.classes}));
  o.log(`CIFAR-10 classes ${o.classes.join(',')}: ${train.n} training images (${o.perClass} per class), ${test.n} test, ` +
    `${o.imageSize} px`);
  const spec = specOf(o);
  const model = models.build(spec, o.seed);
  const optimizer = new Adam(model.parameters(), {lr: o.lr});
  const shift = Math.round(2 * o.imageSize / 32);
  const loader = new DataLoader(train, {batch: o.batch, seed: o.seed, shift});
  const steps = o.epochs * loader.batchesPerEpoch;
  const strategy = new Supervised({model, optimizer, loader, schedule: new CosineLR(optimizer, steps), test});
  const loop = new TrainingLoop(strategy, {steps, logEvery: 50, evalEvery: loader.batchesPerEpoch,
    sinks: [{record: (r) => o.log(`step ${r.step}/${steps} epoch ${r.epoch} loss ${r.loss.toFixed(4)} ` +
      `train acc ${(100 * (r.trainAccuracy ?? 0)).toFixed(1)}% ${r.examplesPerSecond.toFixed(0)} img/s`),
    evaluation: (r) => o.log(`step ${r.step}: test accuracy ${(100 * r.metrics.test_accuracy).toFixed(2)}%`)}]});
  await loop.fit();
  loop.dispose();
  optimizer.dispose();
  const acc = (await evaluate(model, test)).accuracy;
  mkdirSync(o.out, {recursive: true});
  const path = join(o.out, `${sourceName(o)}.safetensors`);
  const seconds = (performance.now() - t0) / 1000;
  await saveModel(path, model, {
    arch: spec.arch, arch_spec: JSON.stringify(spec), image_size: String(o.imageSize),
    class_names: JSON.stringify(o.classes.map((c) => CIFAR10_CLASSES[c])),
    recipe: `CIFAR-10 train, classes ${o.classes.join(',')}, ${o.perClass} per class (seed ${o.seed}), ` +
      `${o.imageSize === 32 ? '' : `resized to ${o.imageSize} px, `}ImageNet normalisation, shifts of ${shift} px; ` +
      `Adam ${o.lr}, cosine, batch ${o.batch}, ${o.epochs} epochs; seed ${o.seed}`,
    command: `webgpu-transfer experiment pretrain --arch ${o.arch} --classes ${o.classes.join(',')} --per-class ` +
      `${o.perClass} --epochs ${o.epochs} ` + (o.arch === 'mobilenet_v2' ? `--width-mult ${o.widthMult} --image-size ` +
      `${o.imageSize}` : `--width ${o.width} --layers ${o.layers.join(',')}`) + ` --batch ${o.batch} --lr ${o.lr} --seed ${o.seed}`,
    test_accuracy: String(acc), train_seconds: seconds.toFixed(0),
  });
  o.log(`${path}: test accuracy ${(100 * acc).toFixed(2)}% on ${test.n} images (${(seconds / 60).toFixed(1)} min)`);
  model.dispose();
  return path;
}
