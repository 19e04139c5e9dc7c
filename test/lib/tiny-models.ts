// Small models and data sets shared by test files (a test file imported by another would queue its suites twice).
import * as wt from '../../src/index.js';
import type {ImageSet} from '../../src/data/image-set.js';

/** A tiny image set: n images of 1x1x3 values, labels 0..classes-1. */
export function tinySet(n: number, classes: number, seed: number): ImageSet {
  const r = wt.internals.rng(seed);
  const images = Float32Array.from({length: n * 3}, () => r() * 2 - 1);
  const labels = Int32Array.from({length: n}, (_, i) => i % classes);
  return {images, labels, n, channels: 1, height: 1, width: 3, classes};
}

/** A 3 -> 4 -> classes tanh MLP, seeded. */
export const mlp = (classes: number, seed: number) => {
  wt.manualSeed(seed);
  return new wt.Sequential(new wt.Flatten(), new wt.Linear(3, 4), new wt.Tanh(), new wt.Linear(4, classes));
};
