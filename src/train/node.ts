// webgpu-transfer/train in Node: the platform-free half plus what needs files and a terminal.
export * from './index.js';
export {Trainer, type TrainerOptions, type TrainResult} from './trainer.js';
export {
  saveModel, loadModel, saveCheckpoint, loadCheckpoint, readCheckpointInfo, trainStatePath, type CheckpointInfo,
  type TrainPosition,
} from './checkpoint.js';
export {ConsoleSink, JsonlSink, FileCheckpointStore, type ProgressMode} from './sinks/node.js';
export {loadDataset, loadRawSet} from '../data/datasets.js';
export {loadMnist, loadMnistFull, loadFashionMnist, datasetCacheDir} from '../data/mnist.js';
export {loadCifar10Photos, photosFromSprite} from '../data/photos.js';
export {gridPng, writeGridPng} from '../data/png.js';
export {saveSafetensors, loadSafetensors, readSafetensorsMetadata} from '../io/files.js';
