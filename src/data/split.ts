// Deterministic seeded splits, subsets and batches of an ImageSet.
import type {ImageSet} from './mnist.js';
import {mulberry32} from './rng.js';

export function shuffled(n: number, seed: number): Int32Array {
  const idx = Int32Array.from({length: n}, (_, i) => i);
  const r = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) { const j = Math.floor(r() * (i + 1)); const t = idx[i]; idx[i] = idx[j]; idx[j] = t; }
  return idx;
}

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
