/**
 * What the library is built from, exported for the tests, benchmarks and tools: kernel preferences and matmul
 * tiles, autotuning, the runtime and device, runtime values for compiled steps, the low-level and fused ops the
 * public ones are made of, and the plumbing the training strategies share. Most models need none of it; the parts
 * an advanced one may use are runtimeValue (a number a compiled step re-reads on every replay) and customGrad (an
 * op with a hand-written gradient).
 * @module
 */
export {kernelPrefsView as kernelPrefs, withKernelPrefs, DEFAULT_KERNEL_PREFS, type KernelPrefs}
  from './graph/kernels/prefs.js';
export type {MatmulAfter, NchwOutput} from './graph/kernels/matmul/index.js';
export {MATMUL_CANDIDATES, narrowedTile, shapedTile, tileName, type MatmulTile}
  from './graph/kernels/matmul/register-tile.js';
export type {ConvTile} from './graph/kernels/conv/tile-gen.js';
export {autotune, candidatePrefs, type MatmulTimer, type TuneResult, type TunePick} from './graph/kernels/matmul/autotune.js';
export {tuneKernels, tuneCases, loadMeasuredChoices, clearMeasuredChoices, measuredCachePath, wallTimer, replayTimer,
  type KernelTiming, type KernelTimer, type TuneOptions} from './graph/kernels/tune.js';
export {choose as chooseVariant, fittingVariants, withForcedVariant, recordCases, type Choice, type Family}
  from './graph/kernels/select.js';
export {KERNEL_FAMILIES, measurableFamilies} from './graph/kernels/benches.js';
export {rt, isGradEnabled} from './graph/engine.js';
export {indexThroughTexture, loopsLimited, LOOP_STEPS_MAX, readThroughTexture} from './graph/kernel-def.js';
export {RELU_COL_SUMS_MAX_ROWS} from './graph/kernels/reduce/index.js';
export {padRows4K} from './graph/kernels/layout/index.js';
export {backward} from './graph/autograd.js';
export {RuntimeValue, runtimeValue} from './graph/value.js';
export {getDevice, FAST_TOGGLES, type GpuContext} from './gpu/device.js';
export type {Storage, Node} from './graph/tensor.js';
export {mm, normAxes, reduceAxes, sumTo, padInto, crossEntropyRows, affine, assign, linearRelu, reluMaxPool2d, rng,
  conv2dReluPool2x2, customGrad, batchNormTrain, batchNormRunningUpdate, type BatchNormTrainResult,
  type BatchNormActivation} from './graph/ops.js';
export {BatchNorm} from './nn/layers.js';
export {CompiledStep} from './graph/capture.js';
export {loaderInputs, applySchedule} from './train/supervised.js';
export {OPTIMIZER_KINDS, SGD_MOMENTUM, resolveOptimizer} from './optim/factory.js';
export {checkNumber, checkInteger, checkChoice} from './optim/validate.js';
