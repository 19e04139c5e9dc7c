/**
 * Datasets beyond loadDataset/fetchDataset: the recipes that build them, the domain transforms that make the
 * transfer targets (MNIST-M, rotated, inverted, ...), split and subset helpers, and raw sets fetched over HTTP.
 * Everything here works on host arrays (ImageSet), in Node and in a page.
 * @module
 */
export {perClass} from './loader.js';
export {shuffled, subset, trainTestSplit, selectClasses, toRgb, splitPerClass} from './split.js';
export {
  mnistM, mnistMPhoto, MNIST_M_PHOTO_SCALE, binarised, inverted, rotated, affineJitter, noisy, shifted, mirrored,
  type MnistMOptions, type MnistMV2Options, type JitterOptions, type ShiftOptions,
} from './domains.js';
export {DATASETS, makeDataset, rawSetsOf, type RawSet} from './recipes.js';
export {fetchRawSet} from './fetch.js';
