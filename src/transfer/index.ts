// The transfer setups as strategies for the shared TrainingLoop (src/train/loop.ts).
export * from './layers.js';
export {FineTune, type FineTuneOptions} from './finetune.js';
export {Conservative, type ConservativeOptions} from './conservative.js';
export {LayerTransfer, type LayerTransferOptions} from './layer-transfer.js';
export {MultiTask, MultiTaskNet, sharedTrunk, type MultiTaskOptions, type TaskSpec, type Weighting} from './multitask.js';
export {Dann, DannNet, dannMnistModel, dannLambda, dannLr, dannProgress, bceWithLogits, channelMeans, subtractMeans,
  type DannOptions, type DannParts} from './dann.js';
