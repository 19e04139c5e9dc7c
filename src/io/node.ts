/**
 * Reading and writing outside the engine: safetensors (the weight format shared with PyTorch) as bytes, as a
 * download or picked file in a page, and as files on disk in Node; what a checkpoint file holds; and the training
 * loop's Node sinks: ConsoleSink (progress in the terminal), JsonlSink (one JSON line per logged step) and
 * FileCheckpointStore (checkpoints in a run folder).
 * @module
 */
export * from './index.js';
export {saveSafetensors, loadSafetensors, readSafetensorsMetadata} from './files.js';
export {readCheckpointInfo, trainStatePath, type CheckpointInfo} from '../train/checkpoint.js';
export {ConsoleSink, JsonlSink, FileCheckpointStore, type ProgressMode} from '../train/sinks/node.js';
