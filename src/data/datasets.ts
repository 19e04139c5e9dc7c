// Named datasets with their deterministic splits: what the CLI and demos accept for --dataset.
import {loadFashionMnist, loadMnist, type ImageSet} from './mnist.js';
import {trainTestSplit, subset} from './split.js';
import {affineJitter, inverted, mnistM, mnistMPhoto, noisy, rotated} from './domains.js';
import {loadCifar10Photos} from './photos.js';
import {perClass} from './loader.js';

export interface Split { train: ImageSet; test: ImageSet }

export const DATASETS = ['mnist', 'fashion-mnist', 'mnist-m', 'mnist-m2', 'mnist-m-photo', 'mnist-inverted', 'mnist-rotated', 'mnist-jitter', 'mnist-noisy'] as const;
export type DatasetName = typeof DATASETS[number];

export interface DatasetOptions {
  seed?: number;
  /** Rotation for mnist-rotated, degrees (default 45). */
  angle?: number;
  /** Keep only this many training images per class (scarce-target setups). */
  perClass?: number;
}

/** MNIST: 8,000 train / 2,000 test; Fashion-MNIST: 60,000 / 10,000; domains transform the MNIST split. */
export function loadDataset(name: string, opts: DatasetOptions = {}): Split {
  const seed = opts.seed ?? 0;
  let s: Split;
  if (name === 'fashion-mnist') s = trainTestSplit(loadFashionMnist(), 60000, seed);
  else {
    const base = trainTestSplit(loadMnist(), 8000, seed);
    switch (name) {
      case 'mnist': s = base; break;
      case 'mnist-m': s = {train: mnistM(base.train, {seed, split: 'train'}), test: mnistM(base.test, {seed, split: 'test'})}; break;
      // Photo-like textures (1/f noise, edges, mid-grey means): closer to real MNIST-M; the DANN experiment's target.
      case 'mnist-m2': s = {train: mnistM(base.train, {seed, split: 'train', style: 'v2'}), test: mnistM(base.test, {seed, split: 'test', style: 'v2'})}; break;
      // Crops of real photos (the CIFAR-10 test photos, fetched once): train and test from disjoint halves.
      case 'mnist-m-photo': {
        const photos = loadCifar10Photos();
        s = {train: mnistMPhoto(base.train, photos, {seed, split: 'train'}), test: mnistMPhoto(base.test, photos, {seed, split: 'test'})};
        break;
      }
      case 'mnist-inverted': s = {train: inverted(base.train), test: inverted(base.test)}; break;
      case 'mnist-rotated': s = {train: rotated(base.train, opts.angle ?? 45), test: rotated(base.test, opts.angle ?? 45)}; break;
      case 'mnist-jitter': s = {train: affineJitter(base.train, {seed}), test: affineJitter(base.test, {seed: seed + 1})}; break;
      case 'mnist-noisy': s = {train: noisy(base.train, 0.3, seed), test: noisy(base.test, 0.3, seed + 1)}; break;
      default: throw new Error(`webgpu-transfer: unknown dataset '${name}': use one of ${DATASETS.join(', ')}`);
    }
  }
  if (opts.perClass) s = {train: subset(s.train, perClass(s.train, opts.perClass, seed)), test: s.test};
  return s;
}
