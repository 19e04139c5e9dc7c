/**
 * Reading and writing outside the engine: safetensors (the weight format shared with PyTorch) as bytes, as a
 * download or picked file in a page, and as files on disk in Node; what a checkpoint file holds; and the training
 * loop's Node sinks: ConsoleSink (progress in the terminal), JsonlSink (one JSON line per logged step) and
 * FileCheckpointStore (checkpoints in a run folder).
 * @module
 */
export * from '../io/index.js';
export {saveSafetensors, loadSafetensors, readSafetensorsMetadata} from '../io/files.js';
export {readCheckpointInfo, trainStatePath, type CheckpointInfo} from './checkpoint.js';
export {ConsoleSink, JsonlSink, FileCheckpointStore, type ProgressMode} from './sinks/node.js';
export {FileFeatureStore, featureStoreFor, type VectorStore} from '../io/feature-file.js';
export {pretrainedDir, pretrainedNames, pretrainedWeights} from '../io/pretrained.js';
