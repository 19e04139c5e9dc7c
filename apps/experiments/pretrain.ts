// The pretrained sources the package ships: small networks trained on CIFAR-10 with the project itself (no weights
// can be downloaded), so predict, finetune and the photos experiment have a real source model out of the box. One
// is trained on classes 0-4 only, so classes 5-9 stay an honest target task; another on all ten.
// Inputs are normalised with the ImageNet mean and std, as the evaluation transform of predict and finetune does.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import * as models from '../../src/nn/models.js';
import {Adam} from '../../src/optim/adam.js';
import {CosineLR} from '../../src/optim/schedules.js';
import {DataLoader, perClass} from '../../src/data/loader.js';
import {loadCifar10, CIFAR10_CLASSES} from '../../src/data/cifar10.js';
import {subset} from '../../src/data/split.js';
import {IMAGENET_MEAN, IMAGENET_STD} from '../../src/data/transforms.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {evaluate} from '../../src/train/evaluate.js';
import {TrainingLoop} from '../../src/train/loop.js';
import {Supervised} from '../../src/train/supervised.js';
import {saveModel} from '../../src/train/checkpoint.js';

export interface PretrainOptions {
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

/** The file name of a source: architecture, width, blocks and classes (c0-4, or all). */
export const sourceName = (o: Pick<PretrainOptions, 'width' | 'layers' | 'classes'>) =>
  `cifar_resnet-w${o.width}-l${o.layers.join('')}-${o.classes.length === 10 ? 'all' : `c${o.classes[0]}-${o.classes[o.classes.length - 1]}`}`;

/** Trains one source (Adam, cosine, random shifts of 2 px, batch norm on batch statistics) and saves it. */
export async function pretrain(o: PretrainOptions): Promise<string> {
  const t0 = performance.now();
  const all = loadCifar10('train', {classes: o.classes});
  const train = normalizeImagenet(subset(all, perClass(all, o.perClass, o.seed)));
  const test = normalizeImagenet(loadCifar10('test', {classes: o.classes}));
  o.log(`CIFAR-10 classes ${o.classes.join(',')}: ${train.n} training images (${o.perClass} per class), ${test.n} test`);
  const model = models.cifarResNet({width: o.width, layers: o.layers, classes: o.classes.length, seed: o.seed});
  const optimizer = new Adam(model.parameters(), {lr: o.lr});
  const loader = new DataLoader(train, {batch: o.batch, seed: o.seed, shift: 2});
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
  const spec: models.ArchitectureSpec = {arch: 'cifar_resnet', classes: o.classes.length, width: o.width, layers: o.layers,
    inputSize: 32};
  const seconds = (performance.now() - t0) / 1000;
  await saveModel(path, model, {
    arch: 'cifar_resnet', arch_spec: JSON.stringify(spec), image_size: '32',
    class_names: JSON.stringify(o.classes.map((c) => CIFAR10_CLASSES[c])),
    recipe: `CIFAR-10 train, classes ${o.classes.join(',')}, ${o.perClass} per class (seed ${o.seed}), ImageNet ` +
      `normalisation, shifts of 2 px; Adam ${o.lr}, cosine, batch ${o.batch}, ${o.epochs} epochs; seed ${o.seed}`,
    command: `webgpu-transfer experiment pretrain --classes ${o.classes.join(',')} --per-class ${o.perClass} ` +
      `--epochs ${o.epochs} --width ${o.width} --layers ${o.layers.join(',')} --batch ${o.batch} --lr ${o.lr} --seed ${o.seed}`,
    test_accuracy: String(acc), train_seconds: seconds.toFixed(0),
  });
  o.log(`${path}: test accuracy ${(100 * acc).toFixed(2)}% on ${test.n} images (${(seconds / 60).toFixed(1)} min)`);
  model.dispose();
  return path;
}
