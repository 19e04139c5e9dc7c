// The kernel preferences every family's selection table reads, and the autotuner's picks for this device.
// Each runtime owns its prefs: init({kernelPrefs}) seeds them over the defaults, and withKernelPrefs() changes them
// for a scope (tests force each variant that way, so every variant is checked on any machine).
import type {ConvTile, MatmulTile} from './tile-types.js';

/**
 * Kernel variant choices. 'auto' picks by adapter (workgroup tiles on hardware GPUs, barrier-free register
 * tiles on CPU adapters); each field's comment says what the other values force.
 */
export interface KernelPrefs {
  /**
   * 'vec4' allows both vec4 kernels (A @ B and A @ B^T); 'reg' forces scalar loads; 'tiled' the 64 x 64 workgroup
   * tiles, 'tiled128' the 128 x 128 ones; 'small' a thread per output; 'panels' B as uniform windows
   * (matmul/uniform-panel.ts), 'panels-texture' those with A from a texture.
   */
  matmul: 'auto' | 'tiled' | 'tiled128' | 'vec4' | 'reg' | 'small' | 'panels' | 'panels-texture';
  /**
   * Register tile of the vec4 matmul: 'auto' takes the autotuner's choice for this adapter (matmul/autotune.ts; the
   * hand-written matmul_vec4 until it has run), 'fixed' the hand-written kernel, or a generated tile.
   */
  matmulTile: 'auto' | 'fixed' | MatmulTile;
  /**
   * Conv forward: 'k8' (8 channels x 4 pixels per thread), 'k4' (4 x 4), or a generated tile (conv/tile-gen.ts,
   * unpadded convolutions only; padded ones take 'k8'). 'auto': CONV_FWD_AUTO where it applies, else 'k8'.
   */
  convForward: 'auto' | 'k8' | 'k4' | ConvTile;
  /**
   * A padded conv forward under 'auto' copies the input into a zero-bordered tensor and runs the unpadded tile, which
   * was 4x faster than 'k8' on llvmpipe for ResNet's 3x3 layers (docs/kernel-measurements.md#conv-pad-first).
   */
  convPadFirst: boolean;
  /**
   * Conv input gradient: 'c8' (8 channels x 4 same-residue columns per thread), 'c4' (4 x 4 neighbours), or a
   * generated tile (conv/tile-gen.ts, stride 1 only; other strides take 'c8'). 'auto': CONV_GRAD_AUTO.input at
   * stride 1, else 'c8'.
   */
  convInput: 'auto' | 'c8' | 'c4' | ConvTile;
  /**
   * Conv weight gradient: 'taps8' (8 channels x 4 flattened taps per thread), 'cols4' (4 x 4 kernel columns),
   * 'pointwise' (1x1 convolutions: 4 x 4 channel blocks over spans of the pixels), or a generated tile
   * (conv/tile-gen.ts: a kernel row's taps per thread, dy transposed). 'auto': CONV_GRAD_AUTO.weight.
   */
  convWeight: 'auto' | 'taps8' | 'cols4' | 'pointwise' | ConvTile;
  /** Max-pool backward as a scatter from the outputs when windows do not overlap (false: per-input search). */
  poolScatter: boolean;
  /** 2x2 stride-2 pooling (even H, W a multiple of 4) by pool2_fwd / pool2_bwd (false: the general kernels). */
  pool2x2: boolean;
  /**
   * Threads to aim for when splitting a conv weight gradient's work ('auto': 256 on CPU, 16384 on GPU): the generated
   * tile splits the (image, output row) pairs, the hand-written kernels the images.
   */
  convSplitTarget: 'auto' | number;
  /**
   * Convolutions (all three passes): 'direct' (the conv kernels above), 'gemm' (lowered to matrix products on the
   * tuned matmul kernels, im2col), 'implicit' (implicit products on workgroup tiles, conv/implicit.ts),
   * 'implicit128' (the forward and input gradient on 128 x 128 tiles, the weight gradient as 'implicit'), or 'auto'
   * (implicit on hardware GPUs; elsewhere gemm where convLowersToGemm() says it pays).
   */
  convLowering: 'auto' | 'direct' | 'gemm' | 'implicit' | 'implicit128';
  /**
   * Capsule prediction transform: 'auto' (generated, blocked kernels up to D = 16) or 'scalar'
   * (shaders/capsule.wgsl).
   */
  capsulePredict: 'auto' | 'scalar';
  /** Capsule routing products: 'auto' (generated, u_hat read as vec4s, where O % 4 == 0) or 'scalar'. */
  capsuleRouting: 'auto' | 'scalar';
  /**
   * The generated weight-gradient tile reads dy in place as vec4s of pixels where its rows are a multiple of 4 wide
   * (ConvTile.dyDirect4; false: always through a copy transposed to vec4s of channels).
   */
  convDyDirect4: boolean;
  /**
   * Weight gradients of unpadded, column-stride-1 convolutions with dy rows a multiple of 4 wide by the
   * lane-per-output-channel kernel (conv/tile-weight.ts, convBwdWeightLanesKernel; true: wherever the shape allows).
   * 'auto':
   * on CPU adapters in core mode (SwiftShader), for output channels in multiples of 16, where it was measured
   * (weightLanesApply).
   */
  convWeightLanes: 'auto' | boolean;
  /**
   * Images per thread of the whole-row input-gradient tiles (ConvTile.images), sharing each weight load. 'auto':
   * per adapter (conv/tiles.ts, imagesPerThread).
   */
  convInputImages: 'auto' | number;
  /**
   * Images per thread of the hoisting forward tiles whose weights are re-laid out (ConvTile.images), sharing each
   * weight load. 'auto': per adapter and shape (conv/tiles.ts, imagesPerThread).
   */
  convForwardImages: 'auto' | number;
  /** Strided copies that are 2-D transposes with sizes and strides multiples of 4 by transpose4 (false: copy_main). */
  transpose4: boolean;
  /** Strided copies whose innermost dimension runs in whole vec4s by copy_vec4 (false: copy_main). */
  copyVec4: boolean;
  /** Other 2-D transposes whose dst rows are short by transpose_rows (false: copy_main). */
  transposeRows: boolean;
  /** Unbroadcast unary and binary ops and fills over n % 4 == 0 elements as vec4s (false: one element per thread). */
  elementwiseVec4: boolean;
  /**
   * The generated conv forward and input-gradient tiles read their (re-laid-out) weights as a uniform array where
   * they fit maxUniformBufferBindingSize ('auto'), or always from storage ('storage'). See conv/geom.ts,
   * weightBinding().
   */
  convUniformWeights: 'auto' | 'storage';
  /** The generated conv tiles load row segments as vec4s where they start 4-aligned (see hoistedPixels). */
  convSegments4: boolean;
  /**
   * The generated forward and input-gradient tiles store 4 neighbouring pixels as one vec4 where the output rows
   * are a multiple of 4 wide (ConvTile.stores4, withStores4).
   */
  convStores4: boolean;
  /**
   * The generated conv tiles keep only the real lanes of their channel vec4s where one thread holds all the
   * channels (ConvTile.lanes, withLanes; false: padding channels are computed and masked).
   */
  convLanes: boolean;
  /** The generated input-gradient tile drops dy's padding columns where it spans whole rows (ConvTile.wholeRow). */
  convWholeRows: boolean;
  /**
   * The generated forward tile reads small weights in their own layout, without re-laying them out, where one
   * thread holds every output channel and C * KH <= NATIVE_WEIGHT_ROWS (ConvTile.nativeWeights).
   */
  convNativeWeights: boolean;
  /**
   * A lowered forward as W @ cols^T (K rows) instead of cols @ W^T (N*OH*OW rows): 'auto' where the tuned tiles'
   * model says the product runs faster that way round (convGemmTransposed()), 'always', or 'never'.
   */
  convGemmTransposed: 'auto' | 'always' | 'never';
  /**
   * 3x3 stride-1 forwards by Winograd's F(m x m, 3x3) (conv/winograd.ts): 'auto' where conv/select.ts says it pays,
   * 'f2' or 'f4' wherever it applies, 'off' never.
   */
  convWinograd: 'auto' | 'off' | 'f2' | 'f4';
  /**
   * Images a lowered convolution lowers at once: 'auto' as many as fit one storage binding (a forward past that runs
   * in chunks where chunkedLoweringFits() says so), or at most this many (every lowered forward then runs in chunks).
   */
  convLoweringImages: 'auto' | number;
  /**
   * A lowered weight gradient as dW^T = cols^T @ dy (C*KH*KW rows) instead of dW = dy^T @ cols (K rows): 'auto'
   * where only the first reaches the tuned large tile (convWeightGemmTransposed()), 'always', or 'never'.
   */
  convWeightGemmTransposed: 'auto' | 'always' | 'never';
  /** The generated weight-gradient tile leaves out its bounds tests where nothing can fall outside (ConvTile.exact). */
  convExact: boolean;
  /**
   * BatchNorm's training mode by batchNormTrain (shaders/batch-norm.wgsl; false: composed of generic ops): a third
   * less per CIFAR ResNet step on llvmpipe (docs/kernel-measurements.md#batch-norm-fused).
   */
  fusedBatchNorm: boolean;
  /**
   * Batch-norm's per-channel sums: 'auto' (kernels/norm/select.ts), 'workgroup' (a tree per channel), 'serial' (a
   * thread per channel) or 'planes' (a thread per plane, then one per channel).
   */
  batchNormSums: 'auto' | 'workgroup' | 'serial' | 'planes';
  /**
   * Vec4s of one plane per thread in batch-norm's normalisation and input-gradient passes: 'auto'
   * (kernels/norm/select.ts) or a number.
   */
  batchNormVec4s: 'auto' | number;
  /**
   * Grouped and depthwise convolutions' weight gradient: 'auto' (kernels/conv/select.ts), 'tree' (a workgroup per
   * block of 4 taps), 'serial' (a thread per block) or 'planes' (depthwise: generated, a thread per channel).
   */
  groupedWeight: 'auto' | 'tree' | 'serial' | 'planes';
  /**
   * Grouped and depthwise convolutions' forward and input gradient: 'auto' (kernels/conv/select.ts), 'rows' (the
   * hand-written kernels, a run of a row per thread) or 'planes' (depthwise: generated, whole rows of a plane a
   * thread).
   */
  groupedForward: 'auto' | 'rows' | 'planes';
  groupedInput: 'auto' | 'rows' | 'planes';
  /**
   * Measured choices (kernels/tune.ts: `webgpu-transfer tune`, internals.tuneKernels) take the launches of a family
   * whose preferences are all at their defaults; false: the selection tables alone.
   */
  measured: boolean;
  /**
   * Reductions over an axis: 'auto' (kernels/reduce/select.ts), 'chunked' (a thread per output and chunk), 'tree' (a
   * workgroup per output, a tree in workgroup memory) or 'subgroup' (sums within subgroups, where the device can).
   */
  reduce: 'auto' | 'chunked' | 'tree' | 'subgroup';
  /**
   * Work written by the kernel that produces its input, where it would be a dispatch of its own: the hand-written
   * matmuls' bias and relu, the cross-entropy gradient from its forward, linearRelu's bias gradient with its relu's,
   * a conv's bias gradient with its weight tile (false: each as a dispatch of its own, for A/B timings and tests;
   * docs/kernel-measurements.md#fused-epilogues).
   */
  fuseEpilogues: boolean;
}

/** The kernel preferences a runtime starts from; init({kernelPrefs}) overrides fields of a copy. */
export const DEFAULT_KERNEL_PREFS: Readonly<KernelPrefs> = Object.freeze<KernelPrefs>({
  matmul: 'auto', matmulTile: 'auto', convForward: 'auto', convPadFirst: true, convInput: 'auto', convWeight: 'auto',
  poolScatter: true, pool2x2: true, convSplitTarget: 'auto', convLowering: 'auto', capsulePredict: 'auto',
  capsuleRouting: 'auto', convDyDirect4: true, convWeightLanes: 'auto', convInputImages: 'auto',
  convForwardImages: 'auto', transpose4: true, copyVec4: true, transposeRows: true, elementwiseVec4: true,
  convUniformWeights: 'auto', convSegments4: true, convStores4: true, convLanes: true, convWholeRows: true,
  convNativeWeights: true, convGemmTransposed: 'auto', convWinograd: 'auto', convLoweringImages: 'auto',
  convWeightGemmTransposed: 'auto', convExact: true, fusedBatchNorm: true,
  batchNormSums: 'auto', batchNormVec4s: 'auto', groupedWeight: 'auto', groupedForward: 'auto', groupedInput: 'auto',
  measured: true, reduce: 'auto', fuseEpilogues: true,
});

// Accepted values of the fields whose default does not say their type: literals, or Number (a positive integer),
// Boolean, or Object (a generated tile). Other fields take a value of their default's type.
const CHOICES = {
  matmul: ['auto', 'tiled', 'tiled128', 'vec4', 'reg', 'small', 'panels', 'panels-texture'],
  matmulTile: ['auto', 'fixed', Object],
  convForward: ['auto', 'k8', 'k4', Object],
  convInput: ['auto', 'c8', 'c4', Object],
  convWeight: ['auto', 'taps8', 'cols4', 'pointwise', Object],
  convSplitTarget: ['auto', Number],
  convLowering: ['auto', 'direct', 'gemm', 'implicit', 'implicit128'],
  capsulePredict: ['auto', 'scalar'],
  capsuleRouting: ['auto', 'scalar'],
  convWeightLanes: ['auto', Boolean],
  convInputImages: ['auto', Number],
  convForwardImages: ['auto', Number],
  convUniformWeights: ['auto', 'storage'],
  convGemmTransposed: ['auto', 'always', 'never'],
  convWinograd: ['auto', 'off', 'f2', 'f4'],
  convLoweringImages: ['auto', Number],
  convWeightGemmTransposed: ['auto', 'always', 'never'],
  batchNormSums: ['auto', 'workgroup', 'serial', 'planes'],
  batchNormVec4s: ['auto', Number],
  groupedWeight: ['auto', 'tree', 'serial', 'planes'],
  groupedForward: ['auto', 'rows', 'planes'],
  groupedInput: ['auto', 'rows', 'planes'],
  reduce: ['auto', 'chunked', 'tree', 'subgroup'],
} as const;
// A compile error here means a field's type has a string the table does not list, or a field outside it is not boolean.
type Unlisted = {[K in keyof KernelPrefs]: K extends keyof typeof CHOICES
  ? Exclude<Extract<KernelPrefs[K], string>, (typeof CHOICES)[K][number]> : Exclude<KernelPrefs[K], boolean>};
const listsAreComplete: Unlisted[keyof Unlisted] extends never ? true : never = true;
void listsAreComplete;

const accepts = (c: unknown, v: unknown): boolean => c === v ||
  (c === Number && typeof v === 'number' && Number.isInteger(v) && v > 0) ||
  (c === Boolean && typeof v === 'boolean') || (c === Object && typeof v === 'object' && v !== null);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : typeof v === 'object' && v ? JSON.stringify(v)
  : String(v));

/** Throws unless each field of `partial` is a kernel preference with a value it takes; `where` names the caller. */
export function checkKernelPrefs(partial: unknown, where: string): asserts partial is Partial<KernelPrefs> {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new Error(`webgpu-transfer: ${where}: kernelPrefs must be an object of fields, got ${show(partial)}`);
  }
  for (const [k, v] of Object.entries(partial)) {
    if (!Object.hasOwn(DEFAULT_KERNEL_PREFS, k)) {
      throw new Error(`webgpu-transfer: ${where}: unknown kernelPrefs field '${k}'; the fields are `
        + Object.keys(DEFAULT_KERNEL_PREFS).join(', '));
    }
    const choices = (CHOICES as Record<string, readonly unknown[]>)[k];
    const ok = choices ? choices.some((c) => accepts(c, v)) : typeof v === typeof DEFAULT_KERNEL_PREFS[k as keyof KernelPrefs];
    if (!ok) {
      const allowed = choices ? choices.map((c) => c === Number ? 'a positive integer' : c === Boolean ? 'true, false'
        : c === Object ? 'a generated tile' : show(c)).join(', ') : `a ${typeof DEFAULT_KERNEL_PREFS[k as keyof KernelPrefs]}`;
      throw new Error(`webgpu-transfer: ${where}: kernelPrefs.${k} cannot be ${show(v)}; it takes ${allowed}`);
    }
  }
}

/**
 * The current runtime's prefs (the defaults before init()), read by the selection tables on every launch. Frozen:
 * changing a field swaps in a new object (installKernelPrefs, withKernelPrefs), so a read is a plain property load.
 */
export let kernelPrefs: Readonly<KernelPrefs> = DEFAULT_KERNEL_PREFS;
/** Counts installs: a scope opened under one runtime's prefs does not restore its values into the next runtime's. */
let epoch = 0;
// What internals.kernelPrefs reads through: kept equal to kernelPrefs (inspection shows the current values).
const mirror: KernelPrefs = {...DEFAULT_KERNEL_PREFS};

function swap(next: Readonly<KernelPrefs>): void {
  kernelPrefs = Object.freeze(next);
  Object.assign(mirror, next);
}

/** Makes `prefs` (already checked) the current runtime's: init() installs its seeded prefs, shutdown() the defaults. */
export function installKernelPrefs(prefs: Readonly<KernelPrefs>): void {
  epoch++;
  swap({...prefs});
}

/**
 * Runs `fn` with the fields of `partial` over the current runtime's kernel preferences, and puts their previous
 * values back when it returns, throws, or (for an async fn) settles. Scopes nest; `partial` is checked as init()'s
 * kernelPrefs is. The prefs are process-wide, so async scopes that run at the same time see each other's fields.
 *
 * @example
 * ```ts
 * // every matmul in the scope takes the scalar register kernel
 * await wt.internals.withKernelPrefs({matmul: 'reg'}, async () => { await wt.matmul(a, b).data(); });
 * ```
 */
export function withKernelPrefs<T>(partial: Partial<KernelPrefs>, fn: () => T): T {
  checkKernelPrefs(partial, 'withKernelPrefs');
  const keys = Object.keys(partial) as (keyof KernelPrefs)[];
  const saved = Object.fromEntries(keys.map((k) => [k, kernelPrefs[k]]));
  const opened = epoch;
  swap({...kernelPrefs, ...partial});
  const restore = () => { if (epoch === opened) swap({...kernelPrefs, ...saved}); };
  let out: T;
  try {
    out = fn();
  } catch (e) {
    restore();
    throw e;
  }
  if (out instanceof Promise) {
    return out.then((v: unknown) => { restore(); return v; }, (e: unknown) => { restore(); throw e; }) as T;
  }
  restore();
  return out;
}

const readOnly = (): never => {
  throw new Error('webgpu-transfer: internals.kernelPrefs is read-only: pass init({kernelPrefs}) for the runtime, '
    + 'or run code under internals.withKernelPrefs(partial, fn) to force a variant');
};

/**
 * The current runtime's kernel preferences (the defaults before init()), read-only: assigning a field throws.
 * Set them with init({kernelPrefs}) or, for a scope, withKernelPrefs().
 */
export const kernelPrefsView: Readonly<KernelPrefs> = new Proxy(mirror, {
  set: readOnly, defineProperty: readOnly, deleteProperty: readOnly, setPrototypeOf: readOnly,
});

/**
 * The autotuner's picks for the current device (null: the hand-written matmul_vec4 measured fastest): `matmul` for
 * products of at least `largeFrom` rows, `small` for shorter ones.
 */
export const tuned: {matmul: MatmulTile | null; small: MatmulTile | null; largeFrom: number; device: unknown;
  /** The large pick's measured times by tile name (shapedTile). */
  largeMs: Record<string, number>} = {matmul: null, small: null, largeFrom: Infinity, device: null, largeMs: {}};
