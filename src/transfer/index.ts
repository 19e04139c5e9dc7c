// The transfer setups as strategies for the shared TrainingLoop (src/train/loop.ts).
export * from './layers.js';
export {FineTune, type FineTuneOptions} from './finetune.js';
export {FeatureExtractor, FeatureLoader, MemoryFeatureStore, extractFeatures, imageSetSource, type FeatureExtractorOptions,
  type FeatureSet, type FeatureStore, type ExtractOptions, type ImageSource} from './feature-extractor.js';
export {Conservative, type ConservativeOptions} from './conservative.js';
export {adaptBatchNorm, type AdaptBatchNormOptions} from './adabn.js';
export {LayerTransfer, type LayerTransferOptions} from './layer-transfer.js';
export {MultiTask, MultiTaskNet, sharedTrunk, type MultiTaskOptions, type TaskSpec, type Weighting} from './multitask.js';
export {Dann, DannNet, dannMnistModel, dannLambda, dannLr, dannProgress, bceWithLogits, channelMeans, subtractMeans,
  type DannOptions, type DannParts} from './dann.js';
// DANN's learning-rate schedule (Ganin et al. 2016), with the rest of DANN; defined with the other schedules.
export {DannLR} from '../optim/schedules.js';
export {PHOTO_STRATEGIES, photoDann, type PhotoDannRecipe, detectArchitecture, modelFromWeights, stratifiedSplit, photoSet, defaultFreeze, photoStrategy,
  type PhotoStrategyName, type WeightsInfo, type PhotoRecipe, type LazyPhotos, type WeightsFile} from './photos.js';
