/// <reference types="node" preserve="true" />
/**
 * webgpu-transfer in Node (the package's `node` export condition, and the entry of this API reference): all of
 * the browser entry (src/index.ts), with Dawn as the device, plus Node's training tools: Trainer, loadDataset,
 * saveModel / loadModel and saveCheckpoint / loadCheckpoint.
 *
 * The top level holds what a model author calls: the engine's lifecycle (init, shutdown, tidy, noGrad,
 * manualSeed, compile, ...), Tensor and its ops, the layers, optimizers and schedules, and the training loop. The
 * rest is in namespaces:
 * - `transfer`: the transfer-learning strategies (FineTune, Conservative, LayerTransfer, MultiTask, Dann);
 * - `capsnet`: capsule networks; `models`: torchvision's ResNets and MobileNetV2 with its state-dict names;
 * - `data`: dataset recipes, domain transforms, splits; in Node also the raw loaders and PNG grids;
 * - `io`: safetensors; in Node also files on disk, checkpoint details and the training sinks;
 * - `debug`: the profiler, anomaly mode, non-finite checks;
 * - `internals`: kernel preferences, tiles, the runtime, runtime values, low-level and fused ops.
 * The subpaths `webgpu-transfer/nn`, `/train`, `/transfer` and `/capsnet` re-export the same objects.
 *
 * @example
 * ```ts
 * import * as wt from 'webgpu-transfer';
 *
 * await wt.init();                            // Dawn in Node, navigator.gpu in a browser
 * const {train, test} = wt.loadDataset('mnist');
 * const model = wt.leNet5();
 * await new wt.Trainer({model, optimizer: new wt.Adam(model.parameters(), {lr: 0.002}),
 *   loader: new wt.DataLoader(train, {batch: 64}), steps: 100, test}).fit();
 * await wt.saveModel('lenet5.safetensors', model);
 * wt.shutdown();
 * ```
 *
 * @packageDocumentation
 */
export * from './index.js';
export {Trainer, type TrainerOptions, type TrainResult} from './train/trainer.js';
export {saveModel, loadModel, saveCheckpoint, loadCheckpoint, type TrainPosition} from './train/checkpoint.js';
export {loadDataset} from './data/datasets.js';
// These two replace the browser entry's namespaces of the same name (an explicit export wins over `export *`).
export * as data from './data/node.js';
export * as io from './train/node-io.js';
