/// <reference types="@webgpu/types" preserve="true" />
// webgpu-transfer: the public API that runs anywhere (the package's `browser` entry; src/node.ts adds Node's
// training tools). The reference above makes a TypeScript user's compiler load the WebGPU types our
// declarations use (GPUDevice in GpuContext, ...), from the dependency @webgpu/types.
export {init, shutdown, tidy, keep, noGrad, isGradEnabled, adapter, rt, memory} from './graph/engine.js';
export {kernelPrefs} from './graph/kernels.js';
export {Tensor, type DType, type DTypeName, type Shape} from './graph/tensor.js';
export {setAnomalyMode, isAnomalyMode, checkAnomalies} from './graph/anomaly.js';
export * from './graph/ops.js';
export {squash, capsulePredict, capsuleWeightedSum, capsuleAgreement, capsuleRouting} from './graph/capsule.js';
export {backward} from './graph/autograd.js';
export {compile, CompiledStep, type InputSpec, type StepInput} from './graph/capture.js';
export {autotune, type TuneResult} from './graph/autotune.js';
export {MATMUL_CANDIDATES, narrowedTile, shapedTile, tileName, type MatmulTile} from './graph/matmul-gen.js';
export {profile, profileReport, startProfiling, formatProfile, type ProfileOptions, type ProfileResult, type ProfileRow, type ProfileMethod} from './graph/profile.js';
export {RuntimeValue, runtimeValue} from './graph/value.js';
export {
  getDevice, formatReport, FAST_TOGGLES, type DeviceOptions, type AdapterReport, type BackendChoice,
} from './gpu/device.js';
export {Optimizer, type GroupOptions, type ParamGroup, type StepHooks} from './optim/optimizer.js';
export {
  createOptimizer, OPTIMIZER_KINDS, SGD_MOMENTUM, type OptimizerKind, type OptimizerSpec, type OptimizerFactory,
  type OptimizerChoice, type ParamGroupSpec,
} from './optim/factory.js';
export {SGD, type SGDOptions} from './optim/sgd.js';
export {Adam, AdamW, type AdamOptions} from './optim/adam.js';
export {Module} from './nn/module.js';
export * from './nn/layers.js';
export {nonFiniteParameters, nonFiniteTensors, formatNonFinite, type NonFiniteReport} from './nn/check.js';
export {LRSchedule, StepLR, ExponentialLR, CosineLR, DannLR, dannProgress, type ScheduleOptions} from './optim/schedules.js';
export {encodeSafetensors, decodeSafetensors, SafetensorsError, type StFile, type StTensor} from './io/safetensors.js';
export {downloadSafetensors, readSafetensorsFile} from './io/browser.js';
export * from './train/index.js';
export * as transfer from './transfer/index.js';
export * as capsnet from './capsnet/index.js';
