// Kernel launchers: for each kernel family, pick the variant, pack the uniforms, size the grid, dispatch.
// They take and return tensors but record no autograd; ops.ts wraps them with gradients.
import {keep, rt} from './engine.js';
import {CONV2D, ELEMENTWISE, LAYOUT, MATMUL, POOL, RANDOM, REDUCE, REVERSAL, SOFTMAX} from './shaders.js';
import {empty, fmt, sizeOf, type Shape, type Tensor} from './tensor.js';
import {BINARY, UNARY, type BinaryOp, type UnaryOp} from './op-codes.js';
import {convBwdInputKernel, convBwdWeightKernel, convBwdWeightLanesKernel, convFwdKernel, type ConvTile} from './conv-gen.js';
import {matmulTileKernel, narrowedTile, shapedPick, shapedTile, tileFits, tileGrid, type MatmulTile} from './matmul-gen.js';
import {grid1d, type BufferBinding} from '../gpu/runtime.js';

export const contiguousStrides = (shape: Shape): number[] => {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
};

/** NumPy broadcasting of two shapes; throws naming the op. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) throw new Error(`webgpu-transfer: ${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (dim ${i}: ${da} vs ${db})`);
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` read in the index space of `out` (0 along broadcast dims). */
function broadcastStrides(shape: Shape, out: Shape): number[] {
  const cs = contiguousStrides(shape);
  return out.map((d, i) => {
    const j = i - (out.length - shape.length);
    return j < 0 || shape[j] === 1 ? 0 : cs[j];
  });
}

/**
 * Kernel variant choices. 'auto' picks by adapter (workgroup tiles on hardware GPUs, barrier-free register
 * tiles on CPU adapters); tests force each variant so all are checked on any machine.
 */
export const kernelPrefs = {
  /** 'vec4' allows both vec4 kernels (A @ B and A @ B^T); 'reg' forces scalar loads. */
  matmul: 'auto' as 'auto' | 'tiled' | 'vec4' | 'reg',
  /**
   * Register tile of the vec4 matmul: 'auto' takes the autotuner's choice for this adapter (src/graph/autotune.ts;
   * the hand-written matmul_vec4 until it has run), 'fixed' the hand-written kernel, or a generated tile.
   */
  matmulTile: 'auto' as 'auto' | 'fixed' | MatmulTile,
  /**
   * Conv forward: 'k8' (8 channels x 4 pixels per thread), 'k4' (4 x 4), or a generated tile (src/graph/conv-gen.ts,
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
   * generated tile (src/graph/conv-gen.ts, stride 1 only; other strides take 'c8'). 'auto': CONV_GRAD_AUTO.input at
   * stride 1, else 'c8'.
   */
  convInput: 'auto' as 'auto' | 'c8' | 'c4' | ConvTile,
  /**
   * Conv weight gradient: 'taps8' (8 channels x 4 flattened taps per thread), 'cols4' (4 x 4 kernel columns), or a
   * generated tile (src/graph/conv-gen.ts: a kernel row's taps per thread, dy transposed). 'auto':
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
  /** Capsule prediction transform: 'auto' (generated, blocked kernels up to D = 16) or 'scalar' (shaders/capsule.wgsl). */
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
   * lane-per-output-channel kernel (conv-gen.ts, convBwdWeightLanesKernel; true: wherever the shape allows). 'auto':
   * on CPU adapters in core mode (SwiftShader), for output channels in multiples of 16, where it was measured
   * (weightLanesApply).
   */
  convWeightLanes: 'auto' as 'auto' | boolean,
  /**
   * Images per thread of the whole-row input-gradient tiles (ConvTile.images), sharing each weight load. 'auto':
   * per adapter (kernels.ts, imagesPerThread).
   */
  convInputImages: 'auto' as 'auto' | number,
  /**
   * Images per thread of the hoisting forward tiles whose weights are re-laid out (ConvTile.images), sharing each
   * weight load. 'auto': per adapter and shape (kernels.ts, imagesPerThread).
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
   * they fit maxUniformBufferBindingSize ('auto'), or always from storage ('storage'). See conv-gen.ts,
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
};

/**
 * How many vec4s of `t` a generated conv tile reads as a uniform array (0: from storage): all of it, when the
 * preference allows and it fits the device's maxUniformBufferBindingSize.
 */
function uniformWeightVec4s(t: Tensor): number {
  if (kernelPrefs.convUniformWeights !== 'auto') return 0;
  const bytes = t.size * 4;
  // At most 64 KiB even where a device allows more: each size is its own shader, and larger weights have enough
  // work per load that storage serves them.
  const limit = Math.min(UNIFORM_WEIGHTS_MAX_BYTES, rt().ctx.device.limits.maxUniformBufferBindingSize);
  // A binding covers whole vec4s: a tensor of another size is bound with its buffer's slack (pooled buffers come in
  // multiples of 256 bytes), and the kernel never reads past the tensor.
  const vec4s = Math.ceil(bytes / 16);
  return vec4s * 16 <= limit && vec4s * 16 <= t.buffer.size ? vec4s : 0;
}
export const UNIFORM_WEIGHTS_MAX_BYTES = 65536;
const weightBinding = (t: Tensor, vec4s: number): BufferBinding => (vec4s > 0 ? {buffer: t.buffer, size: vec4s * 16} : t.buffer);

const sameShape = (a: Shape, b: Shape) => a.length === b.length && a.every((d, i) => d === b[i]);

// ---- elementwise ----
export function unaryK(op: UnaryOp, a: Tensor, alpha = 0, beta = 0): Tensor {
  const out = empty(a.shape);
  if (!out.size) return out;
  if (out.size % 4 === 0 && kernelPrefs.elementwiseVec4) {
    const n4 = out.size / 4;
    ELEMENTWISE.launch('unary_vec4', {buffers: [a.buffer, out.buffer], params: ewParams(n4, [], alpha, beta, []), threads: n4, constants: {OP: UNARY[op]}});
  } else {
    ELEMENTWISE.launch('unary_main', {buffers: [a.buffer, out.buffer], params: ewParams(out.size, [], alpha, beta, []), threads: out.size, constants: {OP: UNARY[op]}});
  }
  return out;
}

function ewParams(n: number, out: Shape, alpha: number, beta: number, operands: Shape[]) {
  const s = (i: number) => (operands[i] ? broadcastStrides(operands[i], out) : []);
  return {n, rank: out.length, alpha, beta, shape: out, sa: s(0), sb: s(1), sc: s(2)};
}

export function binaryK(op: BinaryOp, a: Tensor, b: Tensor, alpha = 0, beta = 0): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const broadcast = !(sameShape(a.shape, shape) && sameShape(b.shape, shape));
  if (!broadcast && out.size % 4 === 0 && kernelPrefs.elementwiseVec4) {
    const n4 = out.size / 4;
    ELEMENTWISE.launch('binary_vec4', {buffers: [a.buffer, b.buffer, out.buffer], params: ewParams(n4, [], alpha, beta, []), threads: n4,
      constants: {OP: BINARY[op]}});
    return out;
  }
  ELEMENTWISE.launch('binary_main', {buffers: [a.buffer, b.buffer, out.buffer], params: ewParams(out.size, shape, alpha, beta, [a.shape, b.shape]),
    threads: out.size, constants: {OP: BINARY[op], BROADCAST: broadcast ? 1 : 0, RANK: broadcast ? shape.length : 1}});
  return out;
}

export function whereK(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const broadcast = ![cond, a, b].every((t) => sameShape(t.shape, shape));
  ELEMENTWISE.launch('where_main', {buffers: [cond.buffer, a.buffer, b.buffer, out.buffer], params: ewParams(out.size, shape, 0, 0, [cond.shape, a.shape, b.shape]),
    threads: out.size, constants: {BROADCAST: broadcast ? 1 : 0, RANK: broadcast ? shape.length : 1}});
  return out;
}

// ---- data movement ----
/**
 * A strided copy that is a batched 2-D transpose with both inner strides 1, as the params of transpose4 (`vec4`:
 * every size, stride and offset a multiple of 4) or transpose_rows (dst's rows at most TRANSPOSE_ROWS_MAX long);
 * null where it is neither: dst[b][i][j] = src[b][j][i].
 */
function transposeParams(shape0: Shape, a0: number[], o0: number[], inOffset: number, outOffset: number) {
  if (!kernelPrefs.transpose4 && !kernelPrefs.transposeRows) return null;
  // Size-1 dimensions dropped, and neighbouring dimensions merged where both sides hold them as one run (a
  // permute of NCHW to NHWC is then a batched transpose of [C, H*W]).
  const shape: number[] = [], a: number[] = [], o: number[] = [];
  shape0.forEach((d, k) => {
    if (d === 1) return;
    const last = shape.length - 1;
    if (last >= 0 && a[last] === a0[k] * d && o[last] === o0[k] * d) {
      shape[last] *= d; a[last] = a0[k]; o[last] = o0[k];
    } else { shape.push(d); a.push(a0[k]); o.push(o0[k]); }
  });
  if (shape.length < 2 || shape.length > 3) return null;
  const r = shape.length;
  const [R, C] = [shape[r - 2], shape[r - 1]];
  const batch = r === 3 ? shape[0] : 1;
  const [sbs, dbs] = r === 3 ? [a[0], o[0]] : [0, 0];
  // Either dst runs along C (rows i = R, columns j = C) and src along R, or the other way round.
  const t = o[r - 1] === 1 && a[r - 2] === 1 ? {I: R, J: C, dst_rs: o[r - 2], src_rs: a[r - 1]}
    : a[r - 1] === 1 && o[r - 2] === 1 ? {I: C, J: R, dst_rs: o[r - 1], src_rs: a[r - 2]} : null;
  if (!t || t.dst_rs === 1 || t.src_rs === 1) return null;
  if (kernelPrefs.transpose4 && [t.I, t.J, t.dst_rs, t.src_rs, sbs, dbs, inOffset, outOffset].every((v) => v % 4 === 0)) {
    return {vec4: true, params: {batch, bi: t.I / 4, bj: t.J / 4, src_rs: t.src_rs / 4, dst_rs: t.dst_rs / 4,
      src_bs: sbs / 4, dst_bs: dbs / 4, src_off: inOffset / 4, dst_off: outOffset / 4}};
  }
  if (!kernelPrefs.transposeRows || t.J > TRANSPOSE_ROWS_MAX) return null;
  return {vec4: false, params: {batch, bi: t.I, bj: t.J, src_rs: t.src_rs, dst_rs: t.dst_rs, src_bs: sbs, dst_bs: dbs,
    src_off: inOffset, dst_off: outOffset}};
}
/** The longest dst rows transpose_rows takes (a thread writes one: long ones would leave too few threads). */
export const TRANSPOSE_ROWS_MAX = 64;

/** Strided copy: iterate `shape`, read src[inOffset + idx.inStrides], write dst[outOffset + idx.outStrides]. */
export function copyK(src: Tensor, dst: Tensor, shape: Shape, inStrides: number[], outStrides: number[], inOffset = 0, outOffset = 0): void {
  const n = sizeOf(shape);
  if (!n) return;
  const tp = src.dtype === 'f32' && dst.dtype === 'f32' ? transposeParams(shape, inStrides, outStrides, inOffset, outOffset) : null;
  if (tp) {
    // transpose4: a thread per 4 x 4 block; transpose_rows: a thread per dst row.
    const p = tp.params;
    LAYOUT.launch(tp.vec4 ? 'transpose4' : 'transpose_rows', {buffers: [src.buffer, dst.buffer],
      threads: p.batch * p.bi * (tp.vec4 ? p.bj : 1), params: p});
    return;
  }
  // copy_main: one thread per run of COPY_RUN elements (shaders/layout.wgsl).
  const run = rt().ctx.report.isCpu ? 8 : 1;
  LAYOUT.launch('copy_main', {buffers: [src.buffer, dst.buffer], threads: Math.ceil(n / run),
    constants: {RANK: Math.max(1, shape.length), COPY_RUN: run},
    params: {n, rank: shape.length, in_offset: inOffset, out_offset: outOffset, shape, in_strides: inStrides, out_strides: outStrides}});
}

export function fillK(t: Tensor, value: number): Tensor {
  if (!t.size) return t;
  if (t.size % 4 === 0 && kernelPrefs.elementwiseVec4) {
    LAYOUT.launch('fill_vec4', {buffers: [t.buffer], params: {n: t.size / 4, value}, threads: t.size / 4});
  } else {
    LAYOUT.launch('fill_main', {buffers: [t.buffer], params: {n: t.size, value}, threads: t.size});
  }
  return t;
}

export function permuteK(x: Tensor, dims: number[]): Tensor {
  const outShape = dims.map((d) => x.shape[d]);
  const out = empty(outShape, x.dtype);
  const cs = contiguousStrides(x.shape);
  copyK(x, out, outShape, dims.map((d) => cs[d]), contiguousStrides(outShape));
  return out;
}

/** Materialises a broadcast of x to `shape`. */
export function expandK(x: Tensor, shape: Shape): Tensor {
  const out = empty(shape, x.dtype);
  copyK(x, out, shape, broadcastStrides(x.shape, shape), contiguousStrides(shape));
  return out;
}

export function gatherK(x: Tensor, idx: Tensor, outer: number, n: number, inner: number, outShape: Shape): Tensor {
  const out = empty(outShape, x.dtype);
  const m = idx.size;
  if (!out.size) return out;
  LAYOUT.launch('gather_main', {buffers: [x.buffer, idx.buffer, out.buffer], params: {outer, n, inner, m}, threads: out.size});
  return out;
}

export function scatterAddK(g: Tensor, idx: Tensor, outer: number, n: number, inner: number, outShape: Shape): Tensor {
  const out = empty(outShape);
  if (!out.size) return out;
  LAYOUT.launch('scatter_add_main', {buffers: [g.buffer, idx.buffer, out.buffer], params: {outer, n, inner, m: idx.size}, threads: out.size});
  return out;
}

export function oneHotK(labels: Tensor, classes: number): Tensor {
  const out = empty([...labels.shape, classes]);
  if (!out.size) return out;
  LAYOUT.launch('one_hot_main', {buffers: [labels.buffer, out.buffer], params: {n: labels.size, classes}, threads: out.size});
  return out;
}

// ---- reductions over the middle axis of [outer, r, inner] ----
export function reduceK(kind: 'sum' | 'max' | 'min', x: Tensor, outer: number, r: number, inner: number, alpha = 1): Tensor {
  const outputs = outer * inner;
  const out0 = outputs;
  if (!out0) return empty([0]);
  // An empty sum is 0; scaled by alpha = 1/0 (the mean of nothing) it is NaN, as torch.mean.
  if (r === 0) return fillK(empty([outputs]), kind === 'sum' ? 0 * alpha : NaN);
  // Few outputs over a long axis: split it so enough threads run (a few per core on CPU adapters).
  const target = rt().ctx.report.isCpu ? 256 : 16384;
  const chunks = Math.max(1, Math.min(Math.ceil(target / outputs), Math.floor(r / 256)));
  const chunk = Math.ceil(r / chunks);
  const n = Math.ceil(r / chunk);
  const out = empty([outer * n * inner]);
  REDUCE.launch('reduce_main', {buffers: [x.buffer, out.buffer], params: {outer, r, inner, alpha: n === 1 ? alpha : 1, chunk, chunks: n},
    threads: out.size, constants: {OP: {sum: 0, max: 1, min: 2}[kind]}});
  if (n === 1) return out;
  const total = reduceK(kind, out, outer, n, inner, alpha);
  out.dispose();
  return total;
}

/**
 * The sum of `rows` rows of `inner` floats held in `x` with each row padded to whole vec4s (reduce_rows4): a
 * quarter of reduceK's loads (docs/kernel-measurements.md#sum-rows4).
 */
export function sumRows4K(x: Tensor, rows: number, inner: number): Tensor {
  const need = rows * ceil4(inner);
  if (x.size < need) throw new Error(`webgpu-transfer: sumRows4K: ${rows} padded rows of ${inner} need ${need} floats, got ${fmt(x.shape)}`);
  const out = empty([inner]);
  REDUCE.launch('reduce_rows4', {buffers: [x.buffer, out.buffer], params: {outer: 1, r: rows, inner, alpha: 1, chunk: rows,
    chunks: 1}, threads: Math.ceil(inner / 4)});
  return out;
}

export function argmaxK(x: Tensor, outer: number, r: number, inner: number): Tensor {
  const out = empty([outer * inner], 'i32');
  if (!out.size) return out;
  REDUCE.launch('argmax_main', {buffers: [x.buffer, out.buffer], params: {outer, r, inner, alpha: 1, chunk: r, chunks: 1}, threads: out.size});
  return out;
}

export function softmaxK(x: Tensor, outer: number, r: number, inner: number, log: boolean): Tensor {
  const out = empty(x.shape);
  if (!out.size) return out;
  SOFTMAX.launch('softmax_fwd', {buffers: [x.buffer, out.buffer], params: {outer, r, inner, alpha: 1}, threads: outer * inner, constants: {LOG: log ? 1 : 0}});
  return out;
}

export function softmaxBwdK(y: Tensor, g: Tensor, outer: number, r: number, inner: number, log: boolean): Tensor {
  const out = empty(y.shape);
  if (!out.size) return out;
  SOFTMAX.launch('softmax_bwd', {buffers: [y.buffer, g.buffer, out.buffer], params: {outer, r, inner, alpha: 1}, threads: outer * inner, constants: {LOG: log ? 1 : 0}});
  return out;
}

export function xentK(logits: Tensor, labels: Tensor): Tensor {
  const [rows, classes] = logits.shape;
  const out = empty([rows]);
  if (!rows) return out;
  SOFTMAX.launch('xent_fwd', {buffers: [logits.buffer, labels.buffer, out.buffer], params: {outer: rows, r: classes, inner: 1, alpha: 1}, threads: rows});
  return out;
}

/** The mean (alpha = 1 / rows) or sum (alpha = 1) of the row losses, as a scalar, in one dispatch. */
export function xentReduceK(logits: Tensor, labels: Tensor, alpha: number): Tensor {
  const [rows, classes] = logits.shape;
  const out = empty([]);
  SOFTMAX.launch('xent_reduce_fwd', {buffers: [logits.buffer, labels.buffer, out.buffer], params: {outer: rows, r: classes, inner: 1, alpha}, workgroups: [1, 1, 1]});
  return out;
}

/** d loss / d logits for a gradient g per row, or (scalarG) one gradient g[0] of a reduced loss scaled by alpha. */
export function xentBwdK(logits: Tensor, labels: Tensor, g: Tensor, alpha = 1, scalarG = false): Tensor {
  const [rows, classes] = logits.shape;
  const out = empty(logits.shape);
  if (!rows) return out;
  SOFTMAX.launch('xent_bwd', {buffers: [logits.buffer, labels.buffer, g.buffer, out.buffer], params: {outer: rows, r: classes, inner: 1, alpha}, threads: rows, constants: {SCALAR_G: scalarG ? 1 : 0}});
  return out;
}

// ---- matmul ----
/**
 * The autotuner's picks for the current device (null: the hand-written matmul_vec4 measured fastest): `matmul` for
 * products of at least `largeFrom` rows, `small` for shorter ones.
 */
export const tuned: {matmul: MatmulTile | null; small: MatmulTile | null; largeFrom: number; device: unknown;
  /** The large pick's measured times by tile name (shapedTile). */
  largeMs: Record<string, number>} = {matmul: null, small: null, largeFrom: Infinity, device: null, largeMs: {}};

export interface MatView { t: Tensor; batch: number; rows: number; cols: number; trans: boolean; batchStride: number }

/** What matmulK does to C after the product: + bias over the columns (a [N] tensor), then relu. */
export interface MatmulAfter { bias?: Tensor | null; relu?: boolean }

/**
 * C[b] = op(A[b]) @ op(B[b]) where op transposes when `trans` is set. A batchStride of 0 shares one matrix
 * across the batch. Picks the variant: workgroup tiles on hardware GPUs, vec4 registers on CPU adapters.
 */
export function matmulK(a: MatView, b: MatView, alpha = 1, after: MatmulAfter = {}): Tensor {
  const M = a.trans ? a.cols : a.rows;
  const K = a.trans ? a.rows : a.cols;
  const K2 = b.trans ? b.cols : b.rows;
  const N = b.trans ? b.rows : b.cols;
  if (K !== K2) throw new Error(`webgpu-transfer: matmul: inner dimensions differ (${M}x${K} @ ${K2}x${N})`);
  const batch = Math.max(a.batch, b.batch);
  const out = empty([batch, M, N]);
  if (!out.size) return out;
  if (K === 0) return applyAfter(fillK(out, 0), after);
  const r = rt();
  const pref = kernelPrefs.matmul;
  const useTiled = pref === 'tiled' || (pref === 'auto' && !r.ctx.report.isCpu && M * N >= 4096);
  // A^T @ B (a linear layer's weight gradient) runs on the tuned tile once A^T is materialised: a copy of M*K floats
  // against M*N*K multiply-adds, faster than matmul_vec4 reading A^T in place
  // (docs/kernel-measurements.md#matmul-transposed-a).
  const tp = kernelPrefs.matmulTile;
  // Large products: the measured tile that computes the least padding for its speed (shapedTile); short ones: the
  // small pick, narrowed where N wastes half its columns.
  const large = M >= tuned.largeFrom;
  const tunedTile = tuned.device !== r.device ? null : large ? tuned.matmul : tuned.small;
  const tile = useTiled || pref === 'reg' ? null : tp === 'fixed' ? null
    : tp === 'auto' ? tunedTile && (large ? shapedTile(tuned.largeMs, M, N, tunedTile) : narrowedTile(tunedTile, N)) : tp;
  const transposeForTile = !!tile && a.trans && N % 4 === 0 && M >= 8 && N >= 8 && K % 4 === 0;
  // A @ B^T: matmul_nt_vec4 reads B^T in place; with a tuned tile B^T is copied out instead (below), faster on
  // llvmpipe now that the copy runs 8 elements per thread (docs/kernel-measurements.md#matmul-transposed-b).
  const temps: Tensor[] = [];
  // A transposed operand copied out as a plain [rows, cols] matrix per batch (or one, when shared).
  const materialise = (v: MatView, rows: number, cols: number): MatView => {
    const nb = v.batchStride ? v.batch : 1;
    const t = empty([nb, rows, cols]);
    copyK(v.t, t, [nb, rows, cols], [v.batchStride, 1, v.cols], [rows * cols, cols, 1]);
    temps.push(t);
    return {t, batch: nb, rows, cols, trans: false, batchStride: nb > 1 ? rows * cols : 0};
  };
  const av = transposeForTile && !tileFits(tile, true, K, 1, a.batchStride) ? materialise(a, M, K) : a;
  // Only where the tile then takes the product (else matmul_nt_vec4 reads B^T in place).
  const transposeBForTile = !!tile && b.trans && N % 4 === 0 && M >= 8
    && tileFits(tile, av.trans, K, av.trans ? 1 : av.cols, av.batchStride);
  const useNT = !transposeBForTile && !useTiled && (pref === 'auto' || pref === 'vec4') && b.trans && !a.trans && K % 4 === 0;
  // Materialising B^T (small next to the product) unlocks the vec4 kernels.
  const bv = !useTiled && !useNT && pref !== 'reg' && b.trans && N % 4 === 0 && M >= 8 ? materialise(b, K, N) : b;
  const [ars, acs] = av.trans ? [1, av.cols] : [av.cols, 1];
  const [brs, bcs] = bv.trans ? [1, bv.cols] : [bv.cols, 1];
  if (batch > 65535) throw new Error(`webgpu-transfer: matmul: batch ${batch} exceeds 65535`);
  // One params object for every variant, hand-written or generated: all are declared with MATMUL's uniforms.
  const launch = {
    buffers: [av.t.buffer, bv.t.buffer, out.buffer],
    params: {M, N, K, a_bs: av.batchStride, a_rs: ars, a_cs: acs, b_bs: bv.batchStride, b_rs: brs, b_cs: bcs,
      c_bs: M * N, alpha},
    flops: 2 * batch * M * N * K, note: `${batch > 1 ? `${batch}x` : ''}${M}x${K}x${N}`,
  };
  // Threads of the register kernels cover 4 rows x 4 columns (matmul_vec4: 4 rows x 2 vec4 columns).
  const [wx, wy] = MATMUL.workgroupDims;
  let epilogueDone = false;
  if (useTiled) {
    MATMUL.launch('matmul_tiled', {...launch, workgroups: [Math.ceil(N / 64), Math.ceil(M / 64), batch]});
  } else if (useNT) {
    MATMUL.launch('matmul_nt_vec4', {...launch, workgroups: [Math.ceil(N / 4 / wx), Math.ceil(M / 4 / wy), batch]});
  } else if (pref !== 'reg' && !bv.trans && N % 4 === 0) {
    if (tile && tileFits(tile, av.trans, K, ars, av.batchStride)) {
      // The tile applies bias and relu in its output write (one dispatch instead of three).
      const bias = after.bias ?? null;
      matmulTileKernel(tile, {bias: !!bias, relu: after.relu}).launch('main', {...launch,
        buffers: bias ? [...launch.buffers, bias.buffer] : launch.buffers, workgroups: tileGrid(tile, M, N, batch)});
      epilogueDone = true;
    } else {
      MATMUL.launch('matmul_vec4', {...launch, workgroups: [Math.ceil(N / 4 / 2 / wx), Math.ceil(M / 4 / wy), batch]});
    }
  } else {
    MATMUL.launch('matmul_reg', {...launch, workgroups: [Math.ceil(N / 4 / wx), Math.ceil(M / 4 / wy), batch]});
  }
  for (const t of temps) t.dispose();
  return epilogueDone ? out : applyAfter(out, after);
}

/** bias and relu as their own dispatches, for the kernels without an epilogue (c is consumed). */
function applyAfter(c: Tensor, after: MatmulAfter): Tensor {
  if (after.bias) { const cb = binaryK('add', c, after.bias); c.dispose(); c = cb; }
  if (after.relu) { const cr = unaryK('relu', c); c.dispose(); c = cr; }
  return c;
}

// ---- conv2d ----
export interface Conv2dGeom {
  N: number; C: number; H: number; W: number; K: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; PH: number; PW: number;
  /** Channel groups: input channel c meets only the K / groups outputs of its group (1: an ordinary conv). */
  groups: number;
}

export function convGeom(x: Shape, w: Shape, stride: [number, number], padding: [number, number],
  groups = 1): Conv2dGeom {
  const [N, C, H, W] = x;
  const [K, C2, KH, KW] = w;
  const [SH, SW] = stride;
  const [PH, PW] = padding;
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  if (groups !== 1) {
    const what = `input ${fmt(x)} and weight ${fmt(w)} with groups ${groups}`;
    const bad = (msg: string) => new Error(`webgpu-transfer: conv2d: ${what}: ${msg}`);
    if (C % groups) throw bad(`the ${C} input channels do not divide into ${groups} groups`);
    if (K % groups) throw bad(`the ${K} output channels do not divide into ${groups} groups`);
    if (C2 * groups !== C) throw bad(`the weight must have C / groups = ${C / groups} input channels, got ${C2}`);
  } else if (C !== C2) {
    throw new Error(`webgpu-transfer: conv2d: input ${fmt(x)} has ${C} channels but weight ${fmt(w)} expects ${C2}`);
  }
  if (OH < 1 || OW < 1) throw new Error(`webgpu-transfer: conv2d: kernel ${KH}x${KW} (padding ${PH},${PW}) does not fit input ${fmt(x)}`);
  return {N, C, H, W, K, OH, OW, KH, KW, SH, SW, PH, PW, groups};
}

const convFlops = (g: Conv2dGeom) => 2 * g.N * g.K * g.OH * g.OW * g.C * g.KH * g.KW;
const convNote = (g: Conv2dGeom) => `${g.N}x${g.C}x${g.H}x${g.W}*${g.K}x${g.KH}x${g.KW}${g.SH > 1 || g.SW > 1 ? ` s${g.SH}` : ''}${g.PH || g.PW ? ` p${g.PH}` : ''}`;

/** CONV2D's uniforms, for the hand-written kernels and the generated forward tiles alike. */
const convParams = (g: Conv2dGeom, groups4: number, split = 1) => ({N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, OH: g.OH,
  OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW, groups4, split});

// Bound where a variant's shader declares a buffer it does not read (WGSL's layout still counts it).
let dummy: {rtRef: unknown; t: Tensor} | null = null;
export function dummyBuffer(): GPUBuffer {
  if (!dummy || dummy.rtRef !== rt()) dummy = {rtRef: rt(), t: rt().once(() => keep(empty([4])))};
  return dummy.t.buffer;
}

/**
 * The most (input channel, kernel row) pairs a forward tile unrolls to read its weights in place
 * (ConvTile.nativeWeights): LeNet's conv1 has 5; each pair is KW taps x pixels x channels lines of WGSL.
 */
export const NATIVE_WEIGHT_ROWS = 8;

/** The widest rows a strided input gradient's whole-row tile takes (one thread per row: its accumulators). */
export const WHOLE_ROW_MAX = 24;
/** Whether an input gradient has a generated tile: at stride 1, or strided over whole rows (ConvTile.wholeRow). */
const inputTileApplies = (g: Conv2dGeom): boolean =>
  (g.SH === 1 && g.SW === 1) || (kernelPrefs.convWholeRows && g.W <= WHOLE_ROW_MAX);

/**
 * The generated forward tile 'auto' uses for unpadded convolutions (else conv_fwd8): 8 channels holding the input row
 * across the taps, pixels per row width from hoistedPixels(); faster than conv_fwd8
 * (docs/kernel-measurements.md#conv-forward-tile).
 */
export const CONV_FWD_AUTO: {tile: ConvTile | null} = {tile: {groups: 2, pixels: 0, hoist: true}};

/**
 * The generated tiles 'auto' uses for the input gradient (stride 1; else conv_bwd_input8) and the weight gradient
 * (else conv_bwd_weight8), 8 channels x a row segment held across the taps, with `pixels` set per shape by
 * hoistedPixels(): faster than the hand-written kernels (docs/kernel-measurements.md#conv-gradient-tiles).
 */
export const CONV_GRAD_AUTO: {input: ConvTile | null; weight: ConvTile | null} =
  {input: {groups: 2, pixels: 0, hoist: true}, weight: {groups: 2, pixels: 0, hoist: true, rows: 0}};

/** A CPU adapter in compatibility mode (llvmpipe here): where the larger conv tiles were measured and pay. */
const onCompatCpu = (): boolean => rt().ctx.report.isCpu && rt().ctx.report.featureLevel === 'compatibility';

/**
 * Kernel rows per weight-gradient thread (ConvTile.rows). llvmpipe: as given, or for 0 as many as keep R * KW *
 * groups accumulators within 64 vec4s (5x5: all 5 rows; 9x9: 3). Other CPU adapters: every row where KH * KW *
 * groups <= 50 vec4s and the tile is exact (the launcher checks; larger tiles exhaust SwiftShader's compiler), else
 * one. GPUs: one (not measured). See docs/kernel-measurements.md#conv-weight-rows.
 */
export function weightGradRows(t: ConvTile, g: Conv2dGeom): number {
  if (!onCompatCpu()) return rt().ctx.report.isCpu && g.KH * g.KW * t.groups <= 50 ? g.KH : 1;
  const rows = t.rows ?? 1;
  return Math.min(g.KH, rows > 0 ? rows : Math.max(1, Math.floor(64 / (g.KW * t.groups))));
}

/** The longest row segment (floats) a weight tile holds on SwiftShader (hoistedPixels). */
export const SWIFTSHADER_WEIGHT_SEGMENT = 20;

/**
 * Pixels per thread for a hoisting tile over a row of `width` outputs: of 4, 6 and 8 (and 12 for an input
 * gradient over rows of 12s; 12, 24 or the whole row up to 24 for a forward on CPU adapters), the one with the
 * fewest loads per row (a tile that names its pixels keeps them, within SwiftShader's weight-tile limit). Each step
 * of P pixels loads a (P - 1) * stride + KW segment and, besides it, KW * groups weight vec4s (forward, input
 * gradient) or P * groups dy vec4s (weight gradient). Where the launcher says the segments start 4-aligned
 * (`aligned`) and kernelPrefs.convSegments4 allows, a P that is a multiple of 4 loads its segment as vec4s
 * (ConvTile.segments4), a quarter of the loads (docs/kernel-measurements.md#conv-pixels).
 */
export function hoistedPixels(t: ConvTile, width: number, kw: number, stride: number, pass: 'forward' | 'input' | 'weight',
  aligned = false): ConvTile {
  const perStep = pass === 'weight' ? 'dy' : 'weights';
  const vec = aligned && kernelPrefs.convSegments4 && t.segments4 !== false;
  const segment = (p: number) => ((p - 1) * stride + kw) / (vec && p % 4 === 0 ? 4 : 1);
  const loads = (p: number) => Math.ceil(width / p) * (Math.ceil(segment(p)) + (perStep === 'weights' ? kw : p) * t.groups);
  // 12 and wider only where measured faster: input gradients over rows of 12, and forwards on CPU adapters
  // (docs/kernel-measurements.md#conv-pixels).
  const wide = pass === 'forward' && rt().ctx.report.isCpu
    ? [...new Set([12, 24, width])].filter((p) => p > 8 && p <= 24 && width % p === 0) : [];
  // llvmpipe: 4 pixels per weight tile (fewer values live at once beats fewer loads;
  // docs/kernel-measurements.md#conv-weight-pixels).
  const candidates = pass === 'weight' && onCompatCpu() ? [4]
    : pass === 'input' && width % 12 === 0 ? [8, 6, 4, 12] : [8, 6, 4, ...wide];
  const chosen = t.pixels > 0 ? t.pixels : candidates.reduce((best, p) => (loads(p) < loads(best) ? p : best));
  // SwiftShader: weight tiles, forced ones too, hold at most SWIFTSHADER_WEIGHT_SEGMENT floats of a row (its compile
  // time grows steeply past that: an adapter limit, like a binding size;
  // docs/kernel-measurements.md#swiftshader-weight-segment).
  const held = (p: number) => (p - 1) * stride + kw;
  const pixels = pass === 'weight' && rt().ctx.report.architecture === 'swiftshader' && held(chosen) > SWIFTSHADER_WEIGHT_SEGMENT
    ? Math.max(1, ...[6, 5, 4, 3, 2].filter((p) => p < chosen && held(p) <= SWIFTSHADER_WEIGHT_SEGMENT)) : chosen;
  return {...t, pixels, segments4: vec && pixels % 4 === 0};
}

/**
 * A tile storing 4-pixel vec4s (ConvTile.stores4) where `rowWidth`, the output's row length, and its pixels are
 * multiples of 4 and kernelPrefs.convStores4 allows: a quarter of the stores
 * (docs/kernel-measurements.md#conv-stores4).
 */
const withStores4 = (t: ConvTile, rowWidth: number): ConvTile =>
  ({...t, stores4: kernelPrefs.convStores4 && rowWidth % 4 === 0 && t.pixels % 4 === 0});

/**
 * A tile narrowed to `channels` lanes (ConvTile.lanes) where one thread holds them all but its vec4 groups have
 * more, and kernelPrefs.convLanes allows.
 */
const withLanes = <T extends ConvTile>(t: T, channels: number): T =>
  (kernelPrefs.convLanes && channels < 4 * t.groups ? {...t, lanes: channels} : t);

// ---- conv2d lowered to matrix products (im2col; the kernels' layout is described in shaders/conv2d.wgsl) ----
const ceil4 = (n: number) => Math.ceil(n / 4) * 4;
const matView = (t: Tensor, rows: number, cols: number): MatView =>
  ({t, batch: 1, rows, cols, trans: false, batchStride: 0});

/**
 * Whether a convolution pass runs as matrix products. 'auto': from 8 input and 64 output channels (input gradients a
 * generated tile serves: 128), where the tuned matmul tiles beat the direct kernels
 * (docs/kernel-measurements.md#conv-lowering).
 */
export function convLowersToGemm(g: Conv2dGeom, pass: 'forward' | 'input' | 'weight'): boolean {
  const pref = kernelPrefs.convLowering;
  if (pref === 'direct') return false;
  // The lowered matrices must fit one storage binding (128 MiB on llvmpipe: the paper's CapsNet at batch 64 would
  // need 191 MiB), and their rows the matmul grid (65,535 workgroups of at least 8 rows); past either the direct
  // kernels run, which need neither, even when 'gemm' is preferred.
  const rows = g.N * g.OH * g.OW;
  const widest = Math.max(ceil4(g.C * g.KH * g.KW), ceil4(g.K));
  if (4 * rows * widest > rt().maxTensorBytes.bytes || rows > 65535 * 8) return false;
  if (pref === 'gemm') return true;
  // Few channels make a thin product, unless the window is wide (an ImageNet stem: 3 channels x 7x7 = 147 columns).
  if (g.C < 8 && g.C * g.KH * g.KW < 128) return false;
  return g.K >= (pass === 'input' && inputTileApplies(g) ? 128 : 64);
}

/** The lowered input: [N*OH*OW, C*KH*KW rounded up to 4], padding columns zero. */
function im2colK(x: Tensor, g: Conv2dGeom): Tensor {
  const width = ceil4(g.C * g.KH * g.KW);
  const cols = empty([g.N * g.OH * g.OW, width]);
  CONV2D.launch('im2col_rows', {buffers: [x.buffer, cols.buffer], params: convParams(g, width / 4),
    threads: g.N * g.OH * g.OW * g.C,
    note: convNote(g)});
  return cols;
}

/** The lowered input transposed: cols^T [C*KH*KW, N*OH*OW]. */
function im2colColsK(x: Tensor, g: Conv2dGeom): Tensor {
  const colsT = empty([g.C * g.KH * g.KW, g.N * g.OH * g.OW]);
  CONV2D.launch('im2col_cols', {buffers: [x.buffer, colsT.buffer], params: convParams(g, 1),
    threads: g.C * g.KH * g.N * g.OH, note: convNote(g)});
  return colsT;
}

/**
 * Where a lowered forward leaves its im2col matrix for the weight gradient, which would otherwise lower x again
 * (docs/kernel-measurements.md#conv-keep-cols). Kept up to KEEP_COLS_BYTES: past that, memory held from forward to
 * backward costs more than the second lowering.
 */
export interface LoweredCols { cols: Tensor | null }
const KEEP_COLS_BYTES = 64 * 2 ** 20;

/**
 * Whether a lowered forward runs as Y [K, N*OH*OW] = W @ cols^T (kernelPrefs.convGemmTransposed): W is read in place
 * (no re-laid copy) and the product has K rows. 'auto' takes it where both products are large (the tuned large tile's
 * rows) and the tiles' model (shapedPick: measured time x padded rows x padded columns) favours it, e.g. where the
 * usual product's rows would pad a 256-row tile to nearly twice (docs/kernel-measurements.md#conv-gemm-transposed).
 * The weight gradient then lowers x again (it reads cols, not cols^T).
 */
export function convGemmTransposed(g: Conv2dGeom): boolean {
  const pref = kernelPrefs.convGemmTransposed;
  const rows = g.N * g.OH * g.OW;
  if (pref !== 'auto') return pref === 'always';
  // llvmpipe only: on SwiftShader the forward gained less than the weight gradient's second im2col may cost.
  if (rows % 4 !== 0 || !onCompatCpu()) return false;
  if (tuned.device !== rt().device || g.K < tuned.largeFrom || rows < tuned.largeFrom) return false;
  const usual = shapedPick(tuned.largeMs, rows, ceil4(g.K)), flipped = shapedPick(tuned.largeMs, g.K, rows);
  return !!usual && !!flipped && flipped.cost < usual.cost;
}

/** The forward as W @ cols^T (convGemmTransposed). */
function conv2dGemmTransposedK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, rows = g.N * g.OH * g.OW;
  const colsT = im2colColsK(x, g);
  const y = matmulK(matView(w, g.K, ckk), matView(colsT, ckk, rows));
  colsT.dispose();
  const out = empty([g.N, g.K, g.OH, g.OW]);
  CONV2D.launch('rows_to_nchw', {buffers: [y.buffer, bias ? bias.buffer : dummyBuffer(), out.buffer],
    params: convParams(g, 1), threads: out.size, constants: {HAS_BIAS: bias ? 1 : 0, KMAJOR: 1}});
  y.dispose();
  return out;
}

function conv2dGemmK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, keep?: LoweredCols): Tensor {
  if (convGemmTransposed(g)) return conv2dGemmTransposedK(x, w, bias, g);
  const ckk = g.C * g.KH * g.KW, width = ceil4(ckk), kPad = ceil4(g.K), rows = g.N * g.OH * g.OW;
  const cols = im2colK(x, g);
  // W^T [C*KH*KW, K] zero-padded to [width, kPad]: padding must be zeros, not whatever the pooled buffer held.
  const wt = empty([width, kPad]);
  if (width !== ckk || kPad !== g.K) fillK(wt, 0);
  copyK(w, wt, [g.K, ckk], [ckk, 1], [1, kPad]);
  const yt = matmulK(matView(cols, rows, width), matView(wt, width, kPad));
  wt.dispose();
  const keepCols = keep && convLowersToGemm(g, 'weight') && !convWeightGemmTransposed(g, true) &&
    4 * cols.size <= KEEP_COLS_BYTES;
  if (keepCols) keep.cols = cols;
  else cols.dispose();
  const out = empty([g.N, g.K, g.OH, g.OW]);
  CONV2D.launch('rows_to_nchw', {buffers: [yt.buffer, bias ? bias.buffer : dummyBuffer(), out.buffer],
    params: convParams(g, kPad / 4), threads: out.size, constants: {HAS_BIAS: bias ? 1 : 0}});
  yt.dispose();
  return out;
}

function conv2dBwdInputGemmK(dy: Tensor, w: Tensor, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, width = ceil4(ckk), rows = g.N * g.OH * g.OW;
  const dyRows = permuteK(dy, [0, 2, 3, 1]); // [N, OH, OW, K]: one row per output pixel
  // W [K, C*KH*KW] with rows padded to `width` (the padding columns of dcols are never read: no fill needed).
  let wp = w;
  if (width !== ckk) { wp = empty([g.K, width]); copyK(w, wp, [g.K, ckk], [ckk, 1], [width, 1]); }
  const dcols = matmulK(matView(dyRows, rows, g.K), matView(wp, g.K, width));
  dyRows.dispose();
  if (wp !== w) wp.dispose();
  const dx = empty([g.N, g.C, g.H, g.W]);
  CONV2D.launch('col2im_rows', {buffers: [dcols.buffer, dx.buffer], params: convParams(g, width / 4), threads: dx.size,
    note: convNote(g)});
  dcols.dispose();
  return dx;
}

/**
 * Whether a lowered weight gradient runs as dW^T [C*KH*KW, K] = cols^T @ dy (kernelPrefs.convWeightGemmTransposed);
 * `kept`: the forward left its cols. 'auto', on CPU adapters (GPUs: not measured), where K rows fall short of the
 * tuned large tile's rows and C*KH*KW rows reach them; on llvmpipe only where the forward kept no cols (reusing
 * them was faster there; docs/kernel-measurements.md#conv-weight-gemm-transposed).
 */
export function convWeightGemmTransposed(g: Conv2dGeom, kept: boolean): boolean {
  const pref = kernelPrefs.convWeightGemmTransposed;
  if (pref !== 'auto') return pref === 'always';
  if (tuned.device !== rt().device || !rt().ctx.report.isCpu) return false;
  if (g.K >= tuned.largeFrom || g.C * g.KH * g.KW < tuned.largeFrom) return false;
  return !kept || !onCompatCpu();
}

/** The weight gradient as cols^T @ dy (convWeightGemmTransposed), transposed into dW [K, C, KH, KW]. */
function conv2dBwdWeightGemmTransposedK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const ckk = g.C * g.KH * g.KW, rows = g.N * g.OH * g.OW;
  const colsT = im2colColsK(x, g);
  const dyRows = permuteK(dy, [0, 2, 3, 1]); // [N*OH*OW, K]
  const dwT = matmulK(matView(colsT, ckk, rows), matView(dyRows, rows, g.K));
  colsT.dispose();
  dyRows.dispose();
  const dw = empty([g.K, g.C, g.KH, g.KW]);
  copyK(dwT, dw, [g.K, ckk], [1, g.K], [ckk, 1]);
  dwT.dispose();
  return dw;
}

function conv2dBwdWeightGemmK(x: Tensor, dy: Tensor, g: Conv2dGeom, saved: Tensor | null): Tensor {
  if (convWeightGemmTransposed(g, !!saved)) return conv2dBwdWeightGemmTransposedK(x, dy, g);
  const ckk = g.C * g.KH * g.KW, width = ceil4(ckk), rows = g.N * g.OH * g.OW;
  const cols = saved ?? im2colK(x, g);
  const dyT = permuteK(dy, [1, 0, 2, 3]); // [K, N, OH, OW]: dy^T as [K, N*OH*OW]
  const dwPad = matmulK(matView(dyT, g.K, rows), matView(cols, rows, width));
  if (!saved) cols.dispose();
  dyT.dispose();
  if (width === ckk) return dwPad.viewAsDispose([g.K, g.C, g.KH, g.KW]);
  const dw = empty([g.K, g.C, g.KH, g.KW]);
  copyK(dwPad, dw, [g.K, ckk], [width, 1], [ckk, 1]);
  dwPad.dispose();
  return dw;
}

/** keep: where a lowered forward may leave its im2col matrix for conv2dBwdWeightK (the caller then owns it). */
export function conv2dK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom, keep?: LoweredCols): Tensor {
  if (convLowersToGemm(g, 'forward')) return conv2dGemmK(x, w, bias, g, keep);
  const pref = kernelPrefs.convForward;
  const padded = g.PH > 0 || g.PW > 0;
  if (padded && pref === 'auto' && kernelPrefs.convPadFirst && CONV_FWD_AUTO.tile) {
    const H = g.H + 2 * g.PH, W = g.W + 2 * g.PW;
    const xp = fillK(empty([g.N, g.C, H, W]), 0);
    copyK(x, xp, x.shape, contiguousStrides(x.shape), contiguousStrides(xp.shape), 0, g.PH * W + g.PW);
    const y = conv2dK(xp, w, bias, {...g, H, W, PH: 0, PW: 0});
    xp.dispose();
    return y;
  }
  const out = empty([g.N, g.K, g.OH, g.OW]);
  const chosen = typeof pref === 'object' ? (padded ? null : pref)
    : pref === 'auto' && !padded ? CONV_FWD_AUTO.tile : null;
  // Unpadded here: the input segment starts 4-aligned when rows are a multiple of 4 wide.
  const tile = chosen && withLanes(withStores4(hoistedPixels(chosen, g.OW, g.KW, g.SW, 'forward',
    !!chosen.hoist && g.W % 4 === 0), g.OW), g.K);
  const k8 = pref !== 'k4';
  const groups4 = tile ? tile.groups * Math.ceil(g.K / (4 * tile.groups)) : k8 ? 2 * Math.ceil(g.K / 8) : Math.ceil(g.K / 4);
  const ckk = g.C * g.KH * g.KW;
  // Weights read in place (ConvTile.nativeWeights), or re-laid out [K, C*KH*KW] -> [C*KH*KW, Kpad]: rows of output
  // channels read as vec4.
  const nativeU = tile && tile.hoist && groups4 === tile.groups && kernelPrefs.convNativeWeights &&
    g.C * g.KH <= NATIVE_WEIGHT_ROWS ? uniformWeightVec4s(w) : 0;
  const wt = nativeU ? w : empty([ckk, groups4 * 4]);
  if (!nativeU) copyK(w, wt, [g.K, ckk], [ckk, 1], [1, groups4 * 4]);
  // Only the generated tiles can read the weights as uniforms.
  const u = nativeU || (tile ? uniformWeightVec4s(wt) : 0);
  const launch = {buffers: [x.buffer, weightBinding(wt, u), bias ? bias.buffer : dummyBuffer(), out.buffer],
    params: convParams(g, groups4), flops: convFlops(g), note: convNote(g)};
  if (tile) {
    const images = nativeU || !tile.hoist ? 1 : imagesPerThread(tile, kernelPrefs.convForwardImages, g.N, g.C > 1);
    const threads = Math.ceil(g.N / images) * (groups4 / tile.groups) * g.OH * Math.ceil(g.OW / tile.pixels);
    const fitted = nativeU ? {...tile, nativeWeights: {C: g.C, KH: g.KH}} : {...tile, images};
    convFwdKernel(fitted, !!bias, g.KW, g.SW, u).launch('main', {...launch, threads});
  } else {
    const threads = g.N * (k8 ? groups4 / 2 : groups4) * g.OH * Math.ceil(g.OW / 4);
    const constants: Record<string, number> = {HAS_BIAS: bias ? 1 : 0};
    if (k8) constants.PADDED = padded ? 1 : 0;
    CONV2D.launch(k8 ? 'conv_fwd8' : 'conv_fwd', {...launch, threads, constants});
  }
  if (!nativeU) wt.dispose();
  return out;
}

/**
 * Images per thread of a generated tile that shares its weight loads among them (ConvTile.images): the tile's, else
 * the preference; 'auto': 4 on SwiftShader, 2 on llvmpipe, 1 on GPUs (not measured; they want threads) and where
 * `shares` is false (a forward with one input channel gained nothing), and at most N / 8, so a small batch keeps its
 * threads. The weight load had cost about as much as the multiply-adds it fed
 * (docs/kernel-measurements.md#conv-images-per-thread).
 */
function imagesPerThread(t: ConvTile, pref: 'auto' | number, N: number, shares = true): number {
  if (t.images) return t.images;
  if (pref !== 'auto') return pref;
  const wanted = !rt().ctx.report.isCpu || !shares ? 1 : onCompatCpu() ? 2 : 4;
  return Math.max(1, Math.min(wanted, Math.floor(N / 8)));
}

export function conv2dBwdInputK(dy: Tensor, w: Tensor, g: Conv2dGeom): Tensor {
  if (convLowersToGemm(g, 'input')) return conv2dBwdInputGemmK(dy, w, g);
  const dx = empty([g.N, g.C, g.H, g.W]);
  const pref = kernelPrefs.convInput;
  // Strided: only the whole-row tile, one row per thread (ConvTile.wholeRow).
  const strided = g.SH !== 1 || g.SW !== 1;
  const chosen = !inputTileApplies(g) ? null : typeof pref === 'object' ? pref : pref === 'auto' ? CONV_GRAD_AUTO.input : null;
  // dy's segment starts at column iw0 + PW - (KW - 1): 4-aligned when that offset and dy's rows are; over whole
  // rows it starts at dy's row.
  const sized = chosen && (strided ? {...chosen, pixels: g.W} : hoistedPixels(chosen, g.W, g.KW, 1, 'input',
    g.OW % 4 === 0 && (g.KW - 1 - g.PW) % 4 === 0));
  const fitted = sized && withLanes(withStores4(sized, g.W), g.C);
  const whole = fitted && kernelPrefs.convWholeRows && fitted.pixels >= g.W
    ? {...fitted, wholeRow: {PW: g.PW, OW: g.OW, SH: g.SH, SW: g.SW},
      segments4: kernelPrefs.convSegments4 && chosen!.segments4 !== false && g.OW % 4 === 0} : fitted;
  const tile = whole && whole.wholeRow
    ? {...whole, images: imagesPerThread(whole, kernelPrefs.convInputImages, g.N)} : whole;
  const c8 = pref !== 'c4';
  const groups4 = tile ? tile.groups * Math.ceil(g.C / (4 * tile.groups)) : c8 ? 2 * Math.ceil(g.C / 8) : Math.ceil(g.C / 4);
  const kk = g.KH * g.KW;
  // [K, C, KH*KW] -> [K, KH*KW, Cpad]
  const wt = empty([g.K * kk, groups4 * 4]);
  copyK(w, wt, [g.K, g.C, kk], [g.C * kk, kk, 1], [kk * groups4 * 4, 1, groups4 * 4]);
  const u = tile ? uniformWeightVec4s(wt) : 0;
  const launch = {buffers: [dy.buffer, weightBinding(wt, u), dx.buffer], params: convParams(g, groups4), flops: convFlops(g), note: convNote(g)};
  if (tile) {
    const imageBlocks = Math.ceil(g.N / (tile.images ?? 1));
    const threads = imageBlocks * (groups4 / tile.groups) * g.H * Math.ceil(g.W / tile.pixels);
    convBwdInputKernel(tile, g.KW, u).launch('main', {...launch, threads});
  } else {
    const threads = c8 ? g.N * (groups4 / 2) * g.H * g.SW * Math.ceil(Math.ceil(g.W / g.SW) / 4) : g.N * groups4 * g.H * Math.ceil(g.W / 4);
    CONV2D.launch(c8 ? 'conv_bwd_input8' : 'conv_bwd_input', {...launch, threads});
  }
  wt.dispose();
  return dx;
}

/** cols: the forward's im2col matrix of x where it kept one (conv2dK's keep), else it is lowered again. */
export function conv2dBwdWeightK(x: Tensor, dy: Tensor, g: Conv2dGeom, cols: Tensor | null = null): Tensor {
  if (convLowersToGemm(g, 'weight')) return conv2dBwdWeightGemmK(x, dy, g, cols);
  if (weightLanesApply(g)) return conv2dBwdWeightLanesK(x, dy, g);
  const ckk = g.C * g.KH * g.KW;
  const wpref = kernelPrefs.convWeight;
  const chosen = typeof wpref === 'object' ? wpref : wpref === 'auto' ? CONV_GRAD_AUTO.weight : null;
  const hoisted = chosen && hoistedPixels(chosen, g.OW, g.KW, g.SW, 'weight', g.W % 4 === 0 && g.PW % 4 === 0);
  const laned = hoisted && withLanes({...hoisted, rows: weightGradRows(hoisted, g),
    dyDirect4: kernelPrefs.convDyDirect4 && g.OW % 4 === 0 && hoisted.pixels % 4 === 0}, g.K);
  // Nothing the tile reads falls outside (ConvTile.exact) where, besides these, its rows divide KH. Several rows per
  // thread off llvmpipe only in exact tiles (weightGradRows).
  const inside = !!laned && kernelPrefs.convExact && g.PH === 0 && g.PW === 0 && g.OW % laned.pixels === 0 &&
    g.K % (laned.lanes ?? 4 * laned.groups) === 0;
  const tile = laned && {...laned, rows: onCompatCpu() || inside ? laned.rows : 1};
  if (tile) tile.exact = inside && g.KH % tile.rows === 0;
  const taps8 = wpref !== 'cols4';
  const groups = tile ? tile.groups * Math.ceil(g.K / (4 * tile.groups)) : taps8 ? Math.ceil(g.K / 8) : Math.ceil(g.K / 4);
  const base = tile ? (groups / tile.groups) * g.C * Math.ceil(g.KH / tile.rows)
    : taps8 ? groups * g.C * Math.ceil(g.KH * g.KW / 4) : groups * g.C * g.KH * Math.ceil(g.KW / 4);
  // Split the work so enough threads run: a few workgroups per core on CPU adapters (llvmpipe runs a workgroup on
  // one core; docs/kernel-measurements.md#conv-weight-split), thousands on GPUs.
  const pref = kernelPrefs.convSplitTarget;
  const target = pref !== 'auto' ? pref : rt().ctx.report.isCpu ? 256 : 16384;
  // The generated tile splits the N * OH (image, output row) pairs, the hand-written kernels the images.
  const split = tile ? pairParts(g, base, target) : Math.max(1, Math.min(g.N, Math.ceil(target / base)));
  const partial = tile ? pairPartials(g, split) : empty([split, g.K, g.C, g.KH, g.KW]);
  const padded = g.PH > 0 || g.PW > 0;
  if (tile) {
    // Where dy's rows are a multiple of 4 wide the tile reads it in place as vec4s of pixels (ConvTile.dyDirect4);
    // else as [N, OH, OW, Kpad], a pixel's output channels as contiguous vec4s, so the tile loads 4 channels at once
    // (faster, transpose included, than reading dy in place as scalars:
    // docs/kernel-measurements.md#conv-dy-transpose).
    const dyT = tile.dyDirect4 ? null : empty([g.N, g.OH, g.OW, groups * 4]);
    if (dyT) {
      const quads = (g.OH * g.OW) % 4 === 0;
      CONV2D.launch(quads ? 'nchw4_to_pixels4' : 'nchw_to_pixels4', {buffers: [dy.buffer, dyT.buffer],
        params: convParams(g, groups), threads: g.N * g.OH * g.OW / (quads ? 4 : 1), note: convNote(g)});
    }
    convBwdWeightKernel(tile, g.KW, g.SW).launch('main', {buffers: [x.buffer, (dyT ?? dy).buffer, partial.buffer],
      params: convParams(g, groups, split), threads: split * base, flops: convFlops(g), note: convNote(g)});
    dyT?.dispose();
    return sumPairPartials(partial, g, split);
  }
  CONV2D.launch(taps8 ? 'conv_bwd_weight8' : 'conv_bwd_weight', {buffers: [x.buffer, dy.buffer, partial.buffer],
    params: convParams(g, groups, split), threads: split * base, constants: taps8 ? {PADDED: padded ? 1 : 0} : undefined,
    flops: convFlops(g), note: convNote(g)});
  if (split === 1) return partial.viewAsDispose([g.K, g.C, g.KH, g.KW]);
  const dw = reduceK('sum', partial, 1, split, g.K * ckk);
  partial.dispose();
  return dw.viewAsDispose([g.K, g.C, g.KH, g.KW]);
}

/**
 * Parts of a weight gradient that splits the N * OH (image, output row) pairs into contiguous runs (the generated
 * tile, the lanes kernel): about target / base, and no more than the runs of ceil(pairs / parts), so none is empty.
 */
function pairParts(g: Conv2dGeom, base: number, target: number): number {
  const units = g.N * g.OH;
  const split = Math.max(1, Math.min(units, Math.ceil(target / base)));
  return Math.ceil(units / Math.ceil(units / split));
}

/** Partial sums of `split` pair parts, each padded to whole vec4s for reduce_rows4; one part is dW itself. */
const pairPartials = (g: Conv2dGeom, split: number): Tensor =>
  (split > 1 ? empty([split, ceil4(g.K * g.C * g.KH * g.KW)]) : empty([g.K, g.C, g.KH, g.KW]));

/** dW from pairPartials, summed a vec4 at a time. */
function sumPairPartials(partial: Tensor, g: Conv2dGeom, split: number): Tensor {
  if (split === 1) return partial;
  const dw = sumRows4K(partial, split, g.K * g.C * g.KH * g.KW);
  partial.dispose();
  return dw.viewAsDispose([g.K, g.C, g.KH, g.KW]);
}

/**
 * Whether the lane-per-output-channel weight gradient (conv-gen.ts, convBwdWeightLanesKernel) takes this shape:
 * unpadded, column stride 1, dy rows a multiple of 4 wide, and a body small enough to unroll. 'auto' takes it on
 * CPU adapters in core mode (SwiftShader) for output channels in multiples of 16, where no lane idles; llvmpipe
 * keeps the tile, its loads being cheaper (docs/kernel-measurements.md#conv-weight-lanes).
 */
function weightLanesApply(g: Conv2dGeom): boolean {
  const pref = kernelPrefs.convWeightLanes;
  if (pref === false || (pref === 'auto' && !(rt().ctx.report.isCpu && !onCompatCpu() && g.K % 16 === 0))) return false;
  return g.PH === 0 && g.PW === 0 && g.SW === 1 && g.OW % 4 === 0 && g.KH * g.KW <= 64 &&
    g.KH * g.KW * (g.OW / 4) <= 256;
}

/**
 * dW by convBwdWeightLanesKernel: workgroups of 4 invocations (one SIMD subgroup on SwiftShader), each holding up to
 * 4 output channels 4 apart (16 per workgroup); the split aims at 128 threads
 * (docs/kernel-measurements.md#conv-weight-lanes-shape).
 */
function conv2dBwdWeightLanesK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const lanes = 4, perLane = Math.min(4, Math.ceil(g.K / 4));
  const blocks = Math.ceil(g.K / (lanes * perLane));
  const base = lanes * g.C * blocks;
  const pref = kernelPrefs.convSplitTarget;
  const split = pairParts(g, base, pref !== 'auto' ? pref : 128);
  const partial = pairPartials(g, split);
  const kernel = convBwdWeightLanesKernel({KH: g.KH, KW: g.KW, OW4: g.OW / 4, W: g.W, lanes, perLane});
  kernel.launch('main', {buffers: [x.buffer, dy.buffer, partial.buffer], params: convParams(g, Math.ceil(g.K / 4), split),
    workgroups: grid1d(split * g.C * blocks, 1), flops: convFlops(g), note: convNote(g)});
  return sumPairPartials(partial, g, split);
}

// ---- pooling ----
export interface PoolGeom { N: number; C: number; H: number; W: number; OH: number; OW: number; KH: number; KW: number; SH: number; SW: number; PH: number; PW: number }

export function poolGeom(op: string, x: Shape, kernel: [number, number], stride: [number, number], padding: [number, number]): PoolGeom {
  if (x.length !== 4) throw new Error(`webgpu-transfer: ${op}: input must be NCHW (rank 4), got ${fmt(x)}`);
  const [N, C, H, W] = x;
  const [KH, KW] = kernel; const [SH, SW] = stride; const [PH, PW] = padding;
  if (PH * 2 > KH || PW * 2 > KW) throw new Error(`webgpu-transfer: ${op}: padding ${PH},${PW} must be at most half the kernel ${KH}x${KW}`);
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  if (OH < 1 || OW < 1) throw new Error(`webgpu-transfer: ${op}: kernel ${KH}x${KW} does not fit input ${fmt(x)}`);
  return {N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW};
}

const poolParams = (g: PoolGeom) => ({NC: g.N * g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW});

/**
 * 2x2 windows at stride 2 without padding over an even H and a W that is a multiple of 4: pool2_fwd / pool2_bwd take
 * two outputs per thread with vec4 loads, and the backward needs no fill.
 */
export const pool2x2Fits = (g: PoolGeom): boolean => kernelPrefs.pool2x2 && g.KH === 2 && g.KW === 2 && g.SH === 2 &&
  g.SW === 2 && g.PH === 0 && g.PW === 0 && g.H % 2 === 0 && g.W % 4 === 0;

/** Max pooling (with relu: of relu(x), reluMaxPool2d) or average pooling. */
export function poolK(x: Tensor, g: PoolGeom, max: boolean, relu = false): {y: Tensor; arg: Tensor | null} {
  const y = empty([g.N, g.C, g.OH, g.OW]);
  const arg = max ? empty([g.N, g.C, g.OH, g.OW], 'i32') : null;
  const constants = {MAX: max ? 1 : 0, RELU: relu ? 1 : 0};
  const buffers = [x.buffer, y.buffer, arg ? arg.buffer : dummyBuffer()];
  if (pool2x2Fits(g)) POOL.launch('pool2_fwd', {buffers, params: poolParams(g), threads: y.size / 2, constants});
  else POOL.launch('pool_fwd', {buffers, params: poolParams(g), threads: y.size, constants});
  return {y, arg};
}

/**
 * Pooling's input gradient. reluOut: reluMaxPool2d's output, whose non-positive entries pass no gradient (the pair
 * kernel masks as it reads; the general ones take gy masked by an elementwise reluGrad on the pooled size first).
 */
export function poolBwdK(gy: Tensor, arg: Tensor | null, g: PoolGeom, reluOut: Tensor | null = null): Tensor {
  if (reluOut && !arg) throw new Error('webgpu-transfer: poolBwdK: a relu is fused into max pooling only');
  const dx = empty([g.N, g.C, g.H, g.W]);
  if (pool2x2Fits(g)) {
    POOL.launch('pool2_bwd', {buffers: [gy.buffer, arg ? arg.buffer : dummyBuffer(), dx.buffer,
      reluOut ? reluOut.buffer : dummyBuffer()], params: poolParams(g), threads: gy.size / 2,
    constants: {MAX: arg ? 1 : 0, RELU: reluOut ? 1 : 0}});
    return dx;
  }
  // The general kernels take gy already masked by relu' (an elementwise pass on the pooled size).
  const gm = reluOut ? binaryK('reluGrad', reluOut, gy) : gy;
  if (arg && g.SH >= g.KH && g.SW >= g.KW && kernelPrefs.poolScatter) {
    // Windows that do not overlap: each output sends its gradient to its argmax (a fill, then one write each).
    fillK(dx, 0);
    POOL.launch('pool_bwd_scatter', {buffers: [gm.buffer, arg.buffer, dx.buffer], params: poolParams(g), threads: gm.size});
  } else {
    POOL.launch('pool_bwd', {buffers: [gm.buffer, arg ? arg.buffer : dummyBuffer(), dx.buffer], params: poolParams(g), threads: dx.size, constants: {MAX: arg ? 1 : 0}});
  }
  if (gm !== gy) gm.dispose();
  return dx;
}

// ---- random ----
/** seed is read at dispatch and again at every replay of a capture, so replays draw fresh masks. */
export function dropoutMaskK(shape: Shape, p: number, seed: () => number): Tensor {
  const out = empty(shape);
  if (!out.size) return out;
  RANDOM.launch('dropout_mask', {buffers: [out.buffer], params: () => ({n: out.size, seed: seed(), p, scale: p < 1 ? 1 / (1 - p) : 0}), threads: out.size});
  return out;
}

export function uniformK(shape: Shape, lo: number, hi: number, seed: number): Tensor {
  const out = empty(shape);
  if (!out.size) return out;
  RANDOM.launch('uniform_main', {buffers: [out.buffer], params: {n: out.size, seed, p: lo, scale: hi - lo}, threads: out.size});
  return out;
}

// ---- gradient reversal ----
/** Identity forward of gradient reversal (a copy). */
export function reverseK(x: Tensor): Tensor {
  const out = empty(x.shape);
  if (!out.size) return out;
  REVERSAL.launch('reverse_fwd', {buffers: [x.buffer, out.buffer], params: {n: out.size, lambda: 0}, threads: out.size});
  return out;
}

/** -lambda * g, lambda a JS number (a constant of a capture) or a one-element tensor read on every replay. */
export function reverseBwdK(g: Tensor, lambda: number | Tensor): Tensor {
  const out = empty(g.shape);
  if (!out.size) return out;
  const fromBuffer = typeof lambda !== 'number';
  const lam = fromBuffer ? lambda.buffer : dummyBuffer();
  REVERSAL.launch('reverse_bwd', {buffers: [g.buffer, lam, out.buffer], params: {n: out.size, lambda: fromBuffer ? 0 : lambda}, threads: out.size,
    constants: {LAMBDA_FROM_BUFFER: fromBuffer ? 1 : 0}});
  return out;
}
