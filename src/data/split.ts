// Deterministic seeded splits, subsets and batches of an ImageSet.
import type {ImageSet} from './image-set.js';
import {mulberry32} from '../rng.js';

/** A seeded permutation of 0..n-1 (Fisher-Yates). */
export function shuffled(n: number, seed: number): Int32Array {
  const idx = Int32Array.from({length: n}, (_, i) => i);
  const r = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); const t = idx[i]; idx[i] = idx[j]; idx[j] = t; }
  return idx;
}

/** The images at `indices`, in that order, as a new set. */
export function subset(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const px = set.channels * set.height * set.width;
  const images = new Float32Array(indices.length * px);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const k = indices[i];
    images.set(set.images.subarray(k * px, (k + 1) * px), i * px);
    labels[i] = set.labels[k];
  }
  return {...set, images, labels, n: indices.length};
}

/** A seeded split into `train` images and the rest. */
export function trainTestSplit(set: ImageSet, train: number, seed: number): {train: ImageSet; test: ImageSet} {
  if (train > set.n) throw new Error(`webgpu-transfer: split: ${train} training images requested from ${set.n}`);
  const idx = shuffled(set.n, seed);
  return {train: subset(set, idx.subarray(0, train)), test: subset(set, idx.subarray(train))};
}

/** The images of the given classes, relabelled 0..k-1 in the order given (digits 5-9 become classes 0-4). */
export function selectClasses(set: ImageSet, classes: number[]): ImageSet {
  const map = new Map(classes.map((c, i) => [c, i]));
  if (map.size !== classes.length || classes.some((c) => !Number.isInteger(c) || c < 0 || c >= set.classes)) {
    throw new Error(`webgpu-transfer: selectClasses: classes ${JSON.stringify(classes)} must be distinct labels in 0..${set.classes - 1}`);
  }
  const idx: number[] = [];
  for (let i = 0; i < set.n; i++) if (map.has(set.labels[i])) idx.push(i);
  const s = subset(set, idx);
  return {...s, labels: s.labels.map((l) => map.get(l)!), classes: classes.length};
}

/** A grey set repeated over three channels (a grey source for a colour target, as DANN's MNIST -> MNIST-M). */
export function toRgb(set: ImageSet): ImageSet {
  if (set.channels !== 1) throw new Error(`webgpu-transfer: toRgb: needs a 1-channel set, got ${set.channels} channels`);
  const px = set.height * set.width;
  const images = new Float32Array(set.n * 3 * px);
  for (let i = 0; i < set.n; i++) {
    const src = set.images.subarray(i * px, (i + 1) * px);
    for (let c = 0; c < 3; c++) images.set(src, (i * 3 + c) * px);
  }
  return {...set, images, channels: 3};
}

/** Splits a set into `perClassFirst` images of each class (seeded) and the rest. */
export function splitPerClass(set: ImageSet, perClassFirst: number, seed: number): {first: ImageSet; rest: ImageSet} {
  const order = shuffled(set.n, seed * 31 + 5);
  const taken = new Array(set.classes).fill(0);
  const first: number[] = [], rest: number[] = [];
  for (const k of order) (taken[set.labels[k]]++ < perClassFirst ? first : rest).push(k);
  return {first: subset(set, first.sort((a, b) => a - b)), rest: subset(set, rest.sort((a, b) => a - b))};
}
