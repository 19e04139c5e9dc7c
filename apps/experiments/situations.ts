// The two situations of the lecture notes, on the offline data of the training stack, each with a source task
// (plentiful labels) and a target task (a few labels per class, a validation split for choosing
// hyper-parameters, a test split used only for the reported figures).
//   different task, similar domain: MNIST digits 0-4 -> digits 5-9; Fashion-MNIST -> MNIST digits
//   different domain, same task:    MNIST (grey, repeated to RGB) -> the MNIST-M-style colour domain
import type {ImageSet} from '../../src/data/image-set.js';
import {loadFashionMnist, loadMnist} from '../../src/data/mnist.js';
import {selectClasses, splitPerClass, subset, toRgb, trainTestSplit} from '../../src/data/split.js';
import {perClass} from '../../src/data/loader.js';
import {mnistM} from '../../src/data/domains.js';
import {leNet5, manualSeed, type Sequential} from '../../src/nn/layers.js';
import type {LayerSelection} from '../../src/transfer/layers.js';

export interface Situation {
  name: string;
  title: string;
  kind: 'different task' | 'different domain';
  source: {train: ImageSet; test: ImageSet};
  /** pool: labelled target images to draw from; val: held out from the pool for choosing hyper-parameters. */
  target: {pool: ImageSet; val: ImageSet; test: ImageSet};
  /** What fine-tuning copies: every layer but the head when the task differs, everything when it is shared. */
  copy: LayerSelection;
  /** Steps of source pre-training (Adam 2e-3, cosine, batch 64). */
  sourceSteps: number;
}

export const SITUATIONS = ['digits', 'fashion-digits', 'mnist-m'] as const;
export type SituationName = typeof SITUATIONS[number];

/** Target images per class held out as the validation split. */
export const VAL_PER_CLASS = 50;

const ALL_BUT_HEAD: LayerSelection = {first: 4};

export function situation(name: string): Situation {
  const base = trainTestSplit(loadMnist(), 8000, 0);
  const target = (pool: ImageSet, test: ImageSet) => {
    const {first: val, rest} = splitPerClass(pool, VAL_PER_CLASS, 0);
    return {pool: rest, val, test};
  };
  switch (name) {
    case 'digits':
      return {name, title: 'digits 0-4 -> digits 5-9', kind: 'different task', copy: ALL_BUT_HEAD, sourceSteps: 600,
        source: {train: selectClasses(base.train, [0, 1, 2, 3, 4]), test: selectClasses(base.test, [0, 1, 2, 3, 4])},
        target: target(selectClasses(base.train, [5, 6, 7, 8, 9]), selectClasses(base.test, [5, 6, 7, 8, 9]))};
    case 'fashion-digits': {
      const f = trainTestSplit(loadFashionMnist(), 60000, 0);
      return {name, title: 'Fashion-MNIST -> MNIST digits', kind: 'different task', copy: ALL_BUT_HEAD, sourceSteps: 1500,
        source: f, target: target(base.train, base.test)};
    }
    case 'mnist-m':
      return {name, title: 'MNIST -> MNIST-M style', kind: 'different domain', copy: 'all', sourceSteps: 1000,
        source: {train: toRgb(base.train), test: toRgb(base.test)},
        target: target(mnistM(base.train, {seed: 0, split: 'train'}), mnistM(base.test, {seed: 0, split: 'test'}))};
    default:
      throw new Error(`webgpu-transfer: unknown situation '${name}': use one of ${SITUATIONS.join(', ')}`);
  }
}

/** A seeded draw of `n` labelled target images per class from the pool (never from val or test). */
export const drawLabels = (s: Situation, n: number, seed: number): ImageSet => subset(s.target.pool, perClass(s.target.pool, n, seed));

/** The model every run uses: LeNet-5 sized to the situation's images, initialised from `seed`. */
export function buildModel(set: ImageSet, classes: number, seed: number): Sequential {
  manualSeed(seed);
  return leNet5(set.channels, classes);
}
