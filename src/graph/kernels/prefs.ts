// The kernel preferences every family's selection table reads, and the autotuner's picks for this device.
// Tests and tools set kernelPrefs fields to force a variant, so every variant is checked on any machine.
import type {ConvTile, MatmulTile} from './tile-types.js';

/**
 * Kernel variant choices. 'auto' picks by adapter (workgroup tiles on hardware GPUs, barrier-free register
 * tiles on CPU adapters); tests force each variant so all are checked on any machine.
 */
export const kernelPrefs = {
  /** 'vec4' allows both vec4 kernels (A @ B and A @ B^T); 'reg' forces scalar loads. */
  matmul: 'auto' as 'auto' | 'tiled' | 'vec4' | 'reg',
  /**
   * Register tile of the vec4 matmul: 'auto' takes the autotuner's choice for this adapter (matmul/autotune.ts; the
   * hand-written matmul_vec4 until it has run), 'fixed' the hand-written kernel, or a generated tile.
   */
  matmulTile: 'auto' as 'auto' | 'fixed' | MatmulTile,
  /**
   * Conv forward: 'k8' (8 channels x 4 pixels per thread), 'k4' (4 x 4), or a generated tile (conv/tile-gen.ts,
   * unpadded convolutions only; padded ones take 'k8'). 'auto': CONV_FWD_AUTO where it applies, else 'k8'.
   */
  convForward: 'auto' as 'auto' | 'k8' | 'k4' | ConvTile,
  /**
   * A padded conv forward under 'auto' copies the input into a zero-bordered tensor and runs the unpadded tile, which
   * was 4x faster than 'k8' on llvmpipe for ResNet's 3x3 layers (docs/kernel-measurements.md#conv-pad-first).
   */
  convPadFirst: true,
  /**
   * Conv input gradient: 'c8' (8 channels x 4 same-residue columns per thread), 'c4' (4 x 4 neighbours), or a
   * generated tile (conv/tile-gen.ts, stride 1 only; other strides take 'c8'). 'auto': CONV_GRAD_AUTO.input at
   * stride 1, else 'c8'.
   */
  convInput: 'auto' as 'auto' | 'c8' | 'c4' | ConvTile,
  /**
   * Conv weight gradient: 'taps8' (8 channels x 4 flattened taps per thread), 'cols4' (4 x 4 kernel columns), or a
   * generated tile (conv/tile-gen.ts: a kernel row's taps per thread, dy transposed). 'auto':
   * CONV_GRAD_AUTO.weight.
   */
  convWeight: 'auto' as 'auto' | 'taps8' | 'cols4' | ConvTile,
  /** Max-pool backward as a scatter from the outputs when windows do not overlap (false: per-input search). */
  poolScatter: true,
  /** 2x2 stride-2 pooling (even H, W a multiple of 4) by pool2_fwd / pool2_bwd (false: the general kernels). */
  pool2x2: true,
  /**
   * Threads to aim for when splitting a conv weight gradient's work ('auto': 256 on CPU, 16384 on GPU): the generated
   * tile splits the (image, output row) pairs, the hand-written kernels the images.
   */
  convSplitTarget: 'auto' as 'auto' | number,
  /**
   * Convolutions (all three passes): 'direct' (the conv kernels above), 'gemm' (lowered to matrix products on the
   * tuned matmul kernels, im2col), or 'auto' (gemm where convLowersToGemm() says it pays).
   */
  convLowering: 'auto' as 'auto' | 'direct' | 'gemm',
  /**
   * Capsule prediction transform: 'auto' (generated, blocked kernels up to D = 16) or 'scalar'
   * (shaders/capsule.wgsl).
   */
  capsulePredict: 'auto' as 'auto' | 'scalar',
  /** Capsule routing products: 'auto' (generated, u_hat read as vec4s, where O % 4 == 0) or 'scalar'. */
  capsuleRouting: 'auto' as 'auto' | 'scalar',
  /**
   * The generated weight-gradient tile reads dy in place as vec4s of pixels where its rows are a multiple of 4 wide
   * (ConvTile.dyDirect4; false: always through a copy transposed to vec4s of channels).
   */
  convDyDirect4: true,
  /**
   * Weight gradients of unpadded, column-stride-1 convolutions with dy rows a multiple of 4 wide by the
   * lane-per-output-channel kernel (conv/tile-weight.ts, convBwdWeightLanesKernel; true: wherever the shape allows).
   * 'auto':
   * on CPU adapters in core mode (SwiftShader), for output channels in multiples of 16, where it was measured
   * (weightLanesApply).
   */
  convWeightLanes: 'auto' as 'auto' | boolean,
  /**
   * Images per thread of the whole-row input-gradient tiles (ConvTile.images), sharing each weight load. 'auto':
   * per adapter (conv/tiles.ts, imagesPerThread).
   */
  convInputImages: 'auto' as 'auto' | number,
  /**
   * Images per thread of the hoisting forward tiles whose weights are re-laid out (ConvTile.images), sharing each
   * weight load. 'auto': per adapter and shape (conv/tiles.ts, imagesPerThread).
   */
  convForwardImages: 'auto' as 'auto' | number,
  /** Strided copies that are 2-D transposes with sizes and strides multiples of 4 by transpose4 (false: copy_main). */
  transpose4: true,
  /** Other 2-D transposes whose dst rows are short by transpose_rows (false: copy_main). */
  transposeRows: true,
  /** Unbroadcast unary and binary ops and fills over n % 4 == 0 elements as vec4s (false: one element per thread). */
  elementwiseVec4: true,
  /**
   * The generated conv forward and input-gradient tiles read their (re-laid-out) weights as a uniform array where
   * they fit maxUniformBufferBindingSize ('auto'), or always from storage ('storage'). See conv/geom.ts,
   * weightBinding().
   */
  convUniformWeights: 'auto' as 'auto' | 'storage',
  /** The generated conv tiles load row segments as vec4s where they start 4-aligned (see hoistedPixels). */
  convSegments4: true,
  /**
   * The generated forward and input-gradient tiles store 4 neighbouring pixels as one vec4 where the output rows
   * are a multiple of 4 wide (ConvTile.stores4, withStores4).
   */
  convStores4: true,
  /**
   * The generated conv tiles keep only the real lanes of their channel vec4s where one thread holds all the
   * channels (ConvTile.lanes, withLanes; false: padding channels are computed and masked).
   */
  convLanes: true,
  /** The generated input-gradient tile drops dy's padding columns where it spans whole rows (ConvTile.wholeRow). */
  convWholeRows: true,
  /**
   * The generated forward tile reads small weights in their own layout, without re-laying them out, where one
   * thread holds every output channel and C * KH <= NATIVE_WEIGHT_ROWS (ConvTile.nativeWeights).
   */
  convNativeWeights: true,
  /**
   * A lowered forward as W @ cols^T (K rows) instead of cols @ W^T (N*OH*OW rows): 'auto' where the tuned tiles'
   * model says the product runs faster that way round (convGemmTransposed()), 'always', or 'never'.
   */
  convGemmTransposed: 'auto' as 'auto' | 'always' | 'never',
  /**
   * A lowered weight gradient as dW^T = cols^T @ dy (C*KH*KW rows) instead of dW = dy^T @ cols (K rows): 'auto'
   * where only the first reaches the tuned large tile (convWeightGemmTransposed()), 'always', or 'never'.
   */
  convWeightGemmTransposed: 'auto' as 'auto' | 'always' | 'never',
  /** The generated weight-gradient tile leaves out its bounds tests where nothing can fall outside (ConvTile.exact). */
  convExact: true,
  /**
   * BatchNorm's training mode by batchNormTrain (shaders/batch-norm.wgsl; false: composed of generic ops): a third
   * less per CIFAR ResNet step on llvmpipe (docs/kernel-measurements.md#batch-norm-fused).
   */
  fusedBatchNorm: true,
  /**
   * Batch-norm's per-channel sums: 'auto' (kernels/norm/select.ts), 'workgroup' (a tree per channel) or 'serial' (a
   * thread per channel).
   */
  batchNormSums: 'auto' as 'auto' | 'workgroup' | 'serial',
};

/**
 * The autotuner's picks for the current device (null: the hand-written matmul_vec4 measured fastest): `matmul` for
 * products of at least `largeFrom` rows, `small` for shorter ones.
 */
export const tuned: {matmul: MatmulTile | null; small: MatmulTile | null; largeFrom: number; device: unknown;
  /** The large pick's measured times by tile name (shapedTile). */
  largeMs: Record<string, number>} = {matmul: null, small: null, largeFrom: Infinity, device: null, largeMs: {}};
