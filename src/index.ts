/// <reference types="@webgpu/types" preserve="true" />
/**
 * webgpu-transfer: the public API that runs anywhere (the package's `browser` entry; src/node.ts adds Node's
 * training tools). The reference above makes a TypeScript user's compiler load the WebGPU types our
 * declarations use (GPUDevice in GpuContext, ...), from the dependency @webgpu/types.
 *
 * The top level holds what a model author calls, and nothing else:
 * - the engine's lifecycle: init, shutdown, adapter, memory, tidy, keep, noGrad, manualSeed, compile;
 * - Tensor, its creation (tensor, zeros, ones, full, rand, randn) and the math and NN ops a model is written with
 *   (add ... matmul, conv2d, relu, relu6, adaptiveAvgPool2d, softmax, crossEntropy, dropout, gradReverse);
 * - the layers (Module, Sequential, Linear, Conv2d, ..., leNet5), the optimizers (also by name: createOptimizer) and
 *   learning-rate schedules;
 * - the training loop's pieces (TrainingLoop, Supervised, evaluate, DataLoader, fetchDataset; in Node also
 *   Trainer, loadDataset, saveModel/loadModel, saveCheckpoint/loadCheckpoint);
 * - the namespaces `transfer` (the transfer-learning strategies), `capsnet` (capsule networks) and `models`
 *   (torchvision's ResNets and MobileNetV2, with its state-dict names).
 *
 * Everything else is reachable, under a namespace that says what it is for:
 * - `data`: dataset recipes, domain transforms (mnistM, rotated, ...), split and subset helpers, the raw sets
 *   (fetched over HTTP here, read from the packages and the cache in Node) and, in Node, image grids as PNG;
 * - `io`: safetensors encode/decode, reading and writing them in a page or on disk, checkpoint file details, and
 *   Node's training sinks (terminal progress, JSONL logs, checkpoint store);
 * - `debug`: the kernel profiler, anomaly mode, non-finite checks, the adapter report's text;
 * - `internals`: what the library is built from and the tests reach into: kernel preferences and matmul tiles,
 *   autotuning, the runtime and device, runtime values for compiled steps, low-level and fused ops (mm, sumTo,
 *   padInto, linearRelu, customGrad, ...), and the strategy plumbing (loaderInputs, applySchedule).
 * Types that come with a top-level value (options, results, the Strategy interface) stay at the top level.
 * The subpaths `webgpu-transfer/nn`, `/train`, `/transfer` and `/capsnet` re-export the same objects.
 *
 * How a new name is placed: at the top level only if a model or training script written with the library calls
 * it; in `transfer` or `capsnet` if it serves one family of models (DANN's schedule DannLR sits with Dann);
 * otherwise in the namespace of its job. So the fused ops (linearRelu, reluMaxPool2d) are internals, since
 * Sequential applies them by itself; so are isGradEnabled, backward() and the BatchNorm base class, since models
 * use noGrad, t.backward() and BatchNorm1d/2d. CompiledStep is a type here (compile() makes it) and a class in
 * `internals`. test/docs.test.ts caps the top level (111 names in Node, 105 here), so it cannot grow unnoticed.
 *
 * @packageDocumentation
 */
export {init, shutdown, tidy, keep, noGrad, adapter, memory, type InitOptions, type Returned} from './graph/engine.js';
export {Tensor, type DType, type DTypeName, type Shape} from './graph/tensor.js';
export {
  type TensorLike, type TensorOptions, type Nested, type Conv2dOptions, type PoolOptions, type AdaptiveSize,
  tensor, full, zeros, ones, randn, rand,
  neg, exp, log, sqrt, relu, relu6, leakyRelu, sigmoid, tanh, abs, square, clamp,
  add, sub, mul, div, pow, maximum, minimum, gt, lt, ge, eq, where,
  reshape, flatten, permute, transpose, expand, slice, concat, gather, oneHot, detach,
  sum, mean, max, min, argmax, softmax, logSoftmax, crossEntropy, mseLoss,
  matmul, linear, conv2d, maxPool2d, avgPool2d, adaptiveAvgPool2d, dropout, gradReverse,
} from './graph/ops.js';
// CompiledStep is what compile() returns, never built by hand: a type here, the class in `internals`.
export {compile, type CompiledStep, type InputSpec, type StepInput} from './graph/capture.js';
export type {DeviceOptions, AdapterReport, BackendChoice} from './gpu/device.js';
export {Module, type HostTensor} from './nn/module.js';
export {
  manualSeed, Sequential, Linear, Conv2d, ReLU, ReLU6, Tanh, Sigmoid, LeakyReLU, Flatten, MaxPool2d, AvgPool2d,
  AdaptiveAvgPool2d, Dropout, BatchNorm1d, BatchNorm2d, leNet5,
} from './nn/layers.js';
export {Optimizer, type GroupOptions, type ParamGroup, type StepHooks} from './optim/optimizer.js';
export {
  createOptimizer, type OptimizerKind, type OptimizerSpec, type OptimizerFactory, type OptimizerChoice, type ParamGroupSpec,
} from './optim/factory.js';
export {SGD, type SGDOptions} from './optim/sgd.js';
export {Adam, AdamW, type AdamOptions} from './optim/adam.js';
export {LRSchedule, StepLR, ExponentialLR, CosineLR, type ScheduleOptions} from './optim/schedules.js';
export {TrainingLoop, type LoopOptions, type LoopResult} from './train/loop.js';
export type {Strategy, StepOutputs, Metrics, CheckpointStore, Position, StepRecord, Sink} from './train/strategy.js';
export {Supervised, type SupervisedLoss, type SupervisedOptions} from './train/supervised.js';
export {evaluate, type EvalResult, type RowLoss} from './train/evaluate.js';
export {DataLoader, type LoaderOptions, type LoaderState} from './data/loader.js';
export type {ImageSet} from './data/image-set.js';
export type {DatasetName, DatasetOptions, Split} from './data/recipes.js';
export {fetchDataset} from './data/fetch.js';
/**
 * The transfer-learning setups as TrainingLoop strategies: FineTune, Conservative (L2-SP, distillation),
 * LayerTransfer, MultiTask and Dann, with their models, layer selection and schedules. Also the package's subpath
 * `webgpu-transfer/transfer`.
 */
export * as transfer from './transfer/index.js';
/**
 * ImageNet-style networks with torchvision's state-dict names (resnet18, resnet34, resnet50, mobilenetV2, and
 * cifarResNet for 32 px images): torchvision's weights load strictly, and ours load strictly in torchvision.
 */
export * as models from './nn/models.js';
export * as capsnet from './capsnet/index.js';
export * as data from './data/index.js';
export * as io from './io/index.js';
export * as debug from './debug.js';
export * as internals from './internals.js';
