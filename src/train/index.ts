// webgpu-transfer/train, platform-free half: the training loop, strategies, evaluation and the data loader.
// Node's Trainer, checkpoint files, sinks and datasets are added by ./node.ts.
export {TrainingLoop, type LoopOptions, type LoopResult} from './loop.js';
export type {Strategy, StepOutputs, Metrics, CheckpointStore, Position, StepRecord, Sink} from './strategy.js';
export {Supervised, loaderInputs, applySchedule, type SupervisedLoss, type SupervisedOptions} from './supervised.js';
export {evaluate, type EvalResult, type RowLoss} from './evaluate.js';
export {modelSafetensors, modelEntries, type WeightEntry} from './weights.js';
export {DataLoader, perClass, type LoaderOptions, type LoaderState} from '../data/loader.js';
export {shuffled, subset, trainTestSplit, selectClasses, toRgb, splitPerClass} from '../data/split.js';
export {mnistM, mnistMPhoto, MNIST_M_PHOTO_SCALE, binarised, inverted, rotated, affineJitter, noisy, shifted, mirrored, type MnistMOptions, type JitterOptions, type ShiftOptions} from '../data/domains.js';
export type {ImageSet} from '../data/image-set.js';
export {DATASETS, makeDataset, rawSetsOf, type DatasetName, type DatasetOptions, type RawSet, type Split} from '../data/recipes.js';
export {fetchDataset, fetchRawSet} from '../data/fetch.js';
