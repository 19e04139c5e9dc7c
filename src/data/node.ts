/**
 * Datasets beyond loadDataset: the recipes that build them, the domain transforms that make the transfer targets
 * (MNIST-M, rotated, inverted, ...), split and subset helpers, and the raw sets: in Node read from the dataset
 * packages and the cache (MNIST, Fashion-MNIST, the CIFAR-10 photos behind MNIST-M), in a page fetched over HTTP.
 * In Node, also image grids as PNG, CIFAR-10 in full (loadCifar10), and folders of photos as datasets the way
 * torchvision's ImageFolder reads them (imageFolder, decoded with sharp) and written back (exportImageFolder).
 * Everything works on host arrays (ImageSet).
 * @module
 */
export * from './index.js';
export {loadRawSet} from './datasets.js';
export {loadMnist, loadMnistFull, loadFashionMnist, datasetCacheDir} from './mnist.js';
export {loadCifar10Photos, photosFromSprite} from './photos.js';
export {gridPng, writeGridPng} from './png.js';
export {
  imageFolder, readImage, exportImageFolder, IMAGE_EXTENSIONS,
  type ImageFolder, type ImageFolderOptions, type ImageFolderNotes, type ImageFolderSample,
} from './image-folder.js';
export {
  loadCifar10, exportCifar10Folder, CIFAR10_CLASSES, type Cifar10Options, type ExportCifar10Options,
} from './cifar10.js';
