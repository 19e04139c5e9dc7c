/**
 * Datasets beyond loadDataset/fetchDataset: the recipes that build them, the domain transforms that make the
 * transfer targets (MNIST-M, rotated, inverted, ...), split and subset helpers, raw sets fetched over HTTP, and
 * torchvision's image transforms (resize, crops, flips, normalize and the ImageNet presets) on float CHW images.
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
export type {NamedImageSet} from './image-set.js';
export {
  toTensor, resize, centerCrop, randomResizedCrop, randomHorizontalFlip, normalize, compose, evalTransform,
  trainTransform, isDeterministic, crop, hflip, randomResizedCropBox, bilinearWeights, pyRound, imageOf, transformSet,
  IMAGENET_MEAN, IMAGENET_STD,
  type Image, type RawImage, type Transform, type CropBox, type RandomResizedCropOptions,
} from './transforms.js';
