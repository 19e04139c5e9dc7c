// Every WGSL kernel file, imported as text (esbuild's text loader), keyed by family, with its declaration: entry
// points, workgroup size and uniform fields (defineKernel, kernel-def.ts), from which both the WGSL structs and
// the launch-time packing are generated. Each file gets shaders/numerics.wgsl (the NaN/Inf helpers) and
// shaders/prelude.wgsl (thread_id, at) added at load (WGSL has no include).
// Every file is declared; none packs its uniforms by hand.
import {defineKernel, loopSteps, readThroughTexture} from './kernel-def.js';
import {BINARY, UNARY} from './op-codes.js';
import elementwise from '../../shaders/elementwise.wgsl';
import reduce from '../../shaders/reduce.wgsl';
import reduceSubgroup from '../../shaders/reduce-subgroup.wgsl';
import softmax from '../../shaders/softmax.wgsl';
import layout from '../../shaders/layout.wgsl';
import matmulVec4 from '../../shaders/matmul/vec4.wgsl';
import matmulNtVec4 from '../../shaders/matmul/nt-vec4.wgsl';
import matmulReg from '../../shaders/matmul/reg.wgsl';
import matmulTiled from '../../shaders/matmul/tiled.wgsl';
import matmulSmall from '../../shaders/matmul/small.wgsl';
import matmulEpilogue from '../../shaders/matmul/epilogue.wgsl';
import convFwd4 from '../../shaders/conv2d/fwd4.wgsl';
import convFwd8 from '../../shaders/conv2d/fwd8.wgsl';
import convInput4 from '../../shaders/conv2d/input4.wgsl';
import convInput8 from '../../shaders/conv2d/input8.wgsl';
import convWeight4 from '../../shaders/conv2d/weight4.wgsl';
import convWeight8 from '../../shaders/conv2d/weight8.wgsl';
import convCol2imRows from '../../shaders/conv2d/col2im-rows.wgsl';
import convRowsToNchw from '../../shaders/conv2d/rows-to-nchw.wgsl';
import convIm2colCols from '../../shaders/conv2d/im2col-cols.wgsl';
import convIm2colRows from '../../shaders/conv2d/im2col-rows.wgsl';
import convNchwToPixels4 from '../../shaders/conv2d/nchw-to-pixels4.wgsl';
import convNchw4ToPixels4 from '../../shaders/conv2d/nchw4-to-pixels4.wgsl';
import pool from '../../shaders/pool.wgsl';
import poolWindow from '../../shaders/pool-window.wgsl';
import optimizer from '../../shaders/optimizer.wgsl';
import random from '../../shaders/random.wgsl';
import reversal from '../../shaders/reversal.wgsl';
import capsule from '../../shaders/capsule.wgsl';
import convGrouped from '../../shaders/conv-grouped.wgsl';
import convPointwiseWeight from '../../shaders/conv2d/pointwise-weight.wgsl';
import convImplicit from '../../shaders/conv-implicit.wgsl';
import adaptivePool from '../../shaders/adaptive-pool.wgsl';
import batchNormForward from '../../shaders/batch-norm/forward.wgsl';
import batchNormBackward from '../../shaders/batch-norm/backward.wgsl';
import batchNormCommon from '../../shaders/batch-norm/common.wgsl';

export const ELEMENTWISE = defineKernel({
  file: 'elementwise.wgsl', code: elementwise, workgroupSize: 256,
  // sa, sb, sc: element strides of the operands in the output's index space (0 where broadcast).
  uniforms: {p: {n: 'u32', rank: 'u32', alpha: 'f32', beta: 'f32', shape: 'vec8u', sa: 'vec8u', sb: 'vec8u', sc: 'vec8u'},
    // binary_channel4: b holds one value per run of `inner` elements, repeating every `mid` runs.
    q: {n: 'u32', inner: 'u32', mid: 'u32', alpha: 'f32', beta: 'f32'}},
  entries: {unary_main: 'p', binary_main: 'p', where_main: 'p', unary_vec4: 'p', binary_vec4: 'p', binary_channel4: 'q'},
  codes: {UNARY, BINARY},
});

// The vec4 entries reading their first operand from the staging texture (llvmpipe: a tenth of a storage load).
export const ELEMENTWISE_TEXTURE = defineKernel({
  file: 'elementwise.wgsl (a from a texture)', code: readThroughTexture(elementwise, 'va'),
  workgroupSize: 256, uniforms: ELEMENTWISE.uniforms, entries: {unary_vec4: 'p', binary_vec4: 'p', binary_channel4: 'q'},
  codes: {UNARY, BINARY},
});

export const LAYOUT = defineKernel({
  file: 'layout.wgsl', code: layout, workgroupSize: 256,
  uniforms: {
    // Strided copy: iterate `shape`, read src[in_offset + idx . in_strides], write dst[out_offset + idx . out_strides].
    copy: {n: 'u32', rank: 'u32', in_offset: 'u32', out_offset: 'u32', shape: 'vec8u', in_strides: 'vec8u',
      out_strides: 'vec8u'},
    fill: {n: 'u32', value: 'f32'},
    // Batched 2-D transpose in 4 x 4 blocks: blocks along dst's rows (bi) and columns (bj); strides, offsets in vec4s.
    transpose2d: {batch: 'u32', bi: 'u32', bj: 'u32', src_rs: 'u32', dst_rs: 'u32', src_bs: 'u32', dst_bs: 'u32',
      src_off: 'u32', dst_off: 'u32'},
    // Zero-padded vec4 rows: a source of batch x rows x cols (strides in floats) into batch x drows x 4 dcols4.
    pad4: {batch: 'u32', rows: 'u32', cols: 'u32', drows: 'u32', dcols4: 'u32', src_bs: 'u32', src_rs: 'u32',
      src_cs: 'u32'},
    // Gather and its scatter-add: x viewed as [outer, n, inner], m indices.
    gather: {outer: 'u32', n: 'u32', inner: 'u32', m: 'u32'},
    one_hot: {n: 'u32', classes: 'u32'},
    // Anomaly mode's scan: n floats, OR-ing their flags into flags[slot].
    nonfinite: {n: 'u32', slot: 'u32'},
  },
  entries: {copy_main: 'copy', copy_vec4: 'copy', transpose4: 'transpose2d', transpose_rows: 'transpose2d',
    pad4_rows: 'pad4', pad4_rows_vec4: 'pad4', fill_main: 'fill', fill_vec4: 'fill', gather_main: 'gather',
    scatter_add_main: 'gather', one_hot_main: 'one_hot', nonfinite_main: 'nonfinite'},
});

export const REDUCE = defineKernel({
  file: 'reduce.wgsl', code: reduce, workgroupSize: 64,
  uniforms: {p: {outer: 'u32', r: 'u32', inner: 'u32', alpha: 'f32', chunk: 'u32', chunks: 'u32'}},
  entries: {reduce_main: 'p', argmax_main: 'p', argmax_part: 'p', argmax_merge: 'p', reduce_rows4: 'p', reduce_tree: 'p',
    sum_channels: 'p', sum_channels4: 'p', relu_grad_col_sums: 'p'},
  loopSteps: {reduce_main: (p, k) => reduceChunkSteps(p.chunk, k.OP === 0),
    relu_grad_col_sums: (p) => loopSteps(p.outer)},
});

/** reduce_main over a chunk: a sum takes 4 values a step, then up to 3 more; max and min one a step. */
export const reduceChunkSteps = (chunk: number, sum: boolean): number =>
  (sum ? loopSteps(Math.floor(chunk / 4)) + loopSteps(3) : loopSteps(chunk));

// Sums by subgroup operations: compiled only where the device has the `subgroups` feature (not in SHADERS, which
// every adapter compiles at start-up).
export const REDUCE_SUBGROUP = defineKernel({
  file: 'reduce-subgroup.wgsl', code: reduceSubgroup, workgroupSize: 64, enables: ['subgroups'],
  uniforms: {p: {outer: 'u32', r: 'u32', inner: 'u32', alpha: 'f32', chunk: 'u32', chunks: 'u32'}},
  entries: {reduce_subgroup: 'p'},
});

export const SOFTMAX = defineKernel({
  file: 'softmax.wgsl', code: softmax, workgroupSize: 64,
  uniforms: {p: {outer: 'u32', r: 'u32', inner: 'u32', alpha: 'f32'}},
  entries: {softmax_fwd: 'p', softmax_bwd: 'p', xent_fwd: 'p', xent_reduce_fwd: 'p', xent_bwd: 'p'},
  // A row's maximum, its sum, its outputs; the gradient's two passes. (Long rows are composed from reductions.)
  loopSteps: {softmax_fwd: (p) => loopSteps(p.r - 1) + 2 * loopSteps(p.r), softmax_bwd: (p) => 2 * loopSteps(p.r)},
});

/** Max pooling's window rule (consider, window_max, relu_keeps), which the conv tile pooling in its write shares. */
export const POOL_WINDOW_WGSL = poolWindow;

export const POOL = defineKernel({
  file: 'pool.wgsl', code: `${pool}\n${poolWindow}`, workgroupSize: 64,
  uniforms: {p: {NC: 'u32', H: 'u32', W: 'u32', OH: 'u32', OW: 'u32', KH: 'u32', KW: 'u32', SH: 'u32', SW: 'u32', PH: 'u32', PW: 'u32'}},
  entries: {pool_fwd: 'p', pool_bwd: 'p', pool_bwd_scatter: 'p', pool2_fwd: 'p', pool2_bwd: 'p', pool2_bwd4: 'p',
    pool3_fwd: 'p', pool3_bwd: 'p'},
  loopSteps: {pool_fwd: (p) => poolWindowSteps(p),
    pool_bwd: (p) => loopSteps(Math.ceil(p.KH / p.SH) + 1, loopSteps(Math.ceil(p.KW / p.SW) + 1))},
});

/** pool_fwd over a window: its rows, and in each its columns (both loops skip padding with a `continue`). */
export const poolWindowSteps = (p: {KH: number; KW: number}): number => loopSteps(p.KH, loopSteps(p.KW));

// The kernels reading x (the backwards: the gradient) from the staging texture: on llvmpipe before Mesa 26 a texture
// load costs a fraction of a storage one.
export const POOL_TEXTURE = defineKernel({
  file: 'pool.wgsl (x from a texture)', code: `${readThroughTexture(readThroughTexture(pool, 'x'), 'x4')}\n${poolWindow}`,
  workgroupSize: 64, uniforms: POOL.uniforms,
  entries: {pool_fwd: 'p', pool2_fwd: 'p', pool3_fwd: 'p', pool2_bwd4: 'p', pool3_bwd: 'p'},
  loopSteps: {pool_fwd: (p) => poolWindowSteps(p)},
});

export const RANDOM = defineKernel({
  file: 'random.wgsl', code: random, workgroupSize: 256,
  // dropout: p = drop probability, scale = 1 / (1 - p); uniform: p = lo, scale = hi - lo.
  uniforms: {u: {n: 'u32', seed: 'u32', p: 'f32', scale: 'f32'}},
  entries: {dropout_mask: 'u', uniform_main: 'u'},
});

export const REVERSAL = defineKernel({
  file: 'reversal.wgsl', code: reversal, workgroupSize: 256,
  uniforms: {p: {n: 'u32', lambda: 'f32'}},
  entries: {reverse_fwd: 'p', reverse_bwd: 'p'},
});

export const CAPSULE = defineKernel({
  file: 'capsule.wgsl', code: capsule, workgroupSize: 64,
  // Sizes of the capsule index space: threads n, batch b, input capsules i, output capsules j, output dim o,
  // input dim d (outer_sum: the number of terms).
  uniforms: {p: {n: 'u32', b: 'u32', i: 'u32', j: 'u32', o: 'u32', d: 'u32'}},
  entries: {squash_fwd: 'p', squash_bwd: 'p', predict_fwd: 'p', predict_bwd_input: 'p', predict_bwd_weight: 'p',
    weighted_sum: 'p', outer: 'p', agreement: 'p', outer_sum: 'p'},
  loopSteps: {squash_fwd: (p) => 2 * loopSteps(p.d), squash_bwd: (p) => 2 * loopSteps(p.d),
    predict_fwd: (p) => loopSteps(p.d), predict_bwd_input: (p) => loopSteps(p.j * p.o),
    predict_bwd_weight: (p) => loopSteps(p.b), weighted_sum: (p) => loopSteps(p.i), agreement: (p) => loopSteps(p.o),
    outer_sum: (p) => loopSteps(p.d)},
});

// conv2d: the hand-written kernels, a file each (shaders/conv2d/), share these uniforms with the generated tiles
// (kernels/conv/tile-*.ts) and im2col (below). groups4: vec4 groups of channels in the
// host-prepared weight layout (the lowering kernels: vec4 groups per row of the lowered matrix); split: partial sums
// of the weight gradient (conv_bwd_weight*: partial s sums images s, s + split, ...; the generated tiles: a contiguous
// chunk of ceil(N / split) images). 64 threads a workgroup.
export const CONV2D_UNIFORMS = {p: {N: 'u32', C: 'u32', H: 'u32', W: 'u32', K: 'u32', OH: 'u32', OW: 'u32', KH: 'u32',
  KW: 'u32', SH: 'u32', SW: 'u32', PH: 'u32', PW: 'u32', groups4: 'u32', split: 'u32'}} as const;
export const CONV_WORKGROUP = 64;
type ConvParams = {[F in keyof typeof CONV2D_UNIFORMS.p]: number};
const convKernel = (file: string, code: string, steps?: (p: ConvParams) => number) => defineKernel({
  file: `conv2d/${file}`, code, workgroupSize: CONV_WORKGROUP, uniforms: CONV2D_UNIFORMS, entries: {main: 'p'},
  loopSteps: steps ? {main: steps} : {}});
// The hand-written kernels' loops (their stores' loops besides): the forward over channels, kernel rows (skipping
// padding) and taps; the input gradient over kernel rows and taps (skipping those outside) and output channels; the
// weight gradient over its images, their rows (skipping padding) and pixels.
export const directForwardSteps = (g: {C: number; KH: number; KW: number}): number =>
  loopSteps(g.C, loopSteps(g.KH, loopSteps(g.KW))) + 16;
export const directInputSteps = (g: {K: number; KH: number; KW: number}): number =>
  loopSteps(g.KH, loopSteps(g.KW, loopSteps(g.K))) + 16;
export const directWeightImageSteps = (g: {OH: number; OW: number}): number =>
  1 + loopSteps(g.OH, loopSteps(g.OW));
/** The steps outside the weight gradient's images: its loop's exit, its stores' loops (4 x 4) and a margin. */
export const DIRECT_WEIGHT_STORE_STEPS = 32;
const directWeightSteps = (p: ConvParams) =>
  Math.ceil(p.N / p.split) * directWeightImageSteps(p) + DIRECT_WEIGHT_STORE_STEPS;
export const CONV_KERNELS = {
  conv_fwd: convKernel('fwd4.wgsl', convFwd4, directForwardSteps),
  conv_fwd8: convKernel('fwd8.wgsl', convFwd8, directForwardSteps),
  conv_bwd_input: convKernel('input4.wgsl', convInput4, directInputSteps),
  conv_bwd_input8: convKernel('input8.wgsl', convInput8, directInputSteps),
  conv_bwd_weight: convKernel('weight4.wgsl', convWeight4, directWeightSteps),
  conv_bwd_weight8: convKernel('weight8.wgsl', convWeight8, directWeightSteps),
  col2im_rows: convKernel('col2im-rows.wgsl', convCol2imRows,
    (p) => loopSteps(Math.ceil(p.KH / p.SH), loopSteps(Math.ceil(p.KW / p.SW)))),
  rows_to_nchw: convKernel('rows-to-nchw.wgsl', convRowsToNchw),
  im2col_cols: convKernel('im2col-cols.wgsl', convIm2colCols, (p) => loopSteps(p.KW, loopSteps(p.OW))),
  nchw_to_pixels4: convKernel('nchw-to-pixels4.wgsl', convNchwToPixels4, (p) => loopSteps(p.groups4, loopSteps(4))),
  nchw4_to_pixels4: convKernel('nchw4-to-pixels4.wgsl', convNchw4ToPixels4, (p) => loopSteps(p.groups4)),
} as const;
// im2col (kernels/conv/gemm.ts), of a chunk of images from image n0 (the lowering of a batch too large for one
// binding); its twin reads x from the staging texture, a tenth of a storage load's cost on llvmpipe.
const IM2COL_UNIFORMS = {p: {...CONV2D_UNIFORMS.p, n0: 'u32'}} as const;
// A row's taps, then up to 3 zeros of padding to whole vec4s.
const im2colRowSteps = (p: {KH: number; KW: number}) => loopSteps(p.KH, loopSteps(p.KW)) + loopSteps(3);
export const IM2COL_ROWS = defineKernel({file: 'conv2d/im2col-rows.wgsl', code: convIm2colRows,
  workgroupSize: CONV_WORKGROUP, uniforms: IM2COL_UNIFORMS, entries: {main: 'p'}, loopSteps: {main: im2colRowSteps}});
export const IM2COL_ROWS_TEXTURE = defineKernel({file: 'conv2d/im2col-rows.wgsl (x from a texture)',
  code: readThroughTexture(convIm2colRows, 'x'), workgroupSize: CONV_WORKGROUP, uniforms: IM2COL_UNIFORMS,
  entries: {main: 'p'}, loopSteps: {main: im2colRowSteps}});

// conv2d as implicit matrix products on workgroup tiles (kernels/conv/implicit.ts); the weight gradient's sum is cut
// into `split` parts.
export const CONV_IMPLICIT = defineKernel({
  file: 'conv-implicit.wgsl', code: convImplicit, workgroupSize: [16, 16],
  uniforms: {p: {N: 'u32', C: 'u32', H: 'u32', W: 'u32', K: 'u32', OH: 'u32', OW: 'u32', KH: 'u32', KW: 'u32', SH: 'u32',
    SW: 'u32', PH: 'u32', PW: 'u32', split: 'u32'}},
  entries: {implicit_rows: 'p', implicit_rows128: 'p', implicit_bwd_weight: 'p'},
});

// Grouped and depthwise conv2d (groups > 1): CG, KG = input and output channels per group; the weight gradient
// cuts the N * OH output rows into `segs` segments of `seg` columns (its threads' work items).
// The weight gradient of a 1x1 convolution: N images of C (K) channels of P4 pixel quads; spans of `span` pairs.
export const CONV_POINTWISE_WEIGHT = defineKernel({
  file: 'conv2d/pointwise-weight.wgsl', code: convPointwiseWeight, workgroupSize: 64,
  uniforms: {pw: {N: 'u32', C: 'u32', K: 'u32', P4: 'u32', span: 'u32', spans: 'u32'}},
  entries: {pointwise_weight: 'pw'},
  loopSteps: {pointwise_weight: (p) => loopSteps(p.span)},
});

export const CONV_GROUPED = defineKernel({
  file: 'conv-grouped.wgsl', code: convGrouped, workgroupSize: 64,
  uniforms: {p: {N: 'u32', C: 'u32', H: 'u32', W: 'u32', K: 'u32', OH: 'u32', OW: 'u32', KH: 'u32', KW: 'u32',
    SH: 'u32', SW: 'u32', PH: 'u32', PW: 'u32', CG: 'u32', KG: 'u32', segs: 'u32', seg: 'u32'}},
  entries: {grouped_fwd: 'p', grouped_fwd8: 'p', grouped_bwd_input: 'p', grouped_bwd_input8: 'p',
    grouped_bwd_input_s2: 'p', grouped_bwd_weight: 'p', grouped_bwd_weight_serial: 'p'},
  loopSteps: {
    grouped_fwd: (p) => groupedForwardSteps(p), grouped_fwd8: (p) => groupedForwardSteps(p),
    grouped_bwd_input: (p) => loopSteps(p.KG, loopSteps(Math.ceil(p.KH / p.SH), loopSteps(Math.ceil(p.KW / p.SW)))),
    grouped_bwd_input8: (p) => loopSteps(p.KG, loopSteps(Math.ceil(p.KH / p.SH), loopSteps(p.KW))),
    grouped_bwd_input_s2: (p) => loopSteps(p.KG, loopSteps(Math.ceil(p.KH / p.SH), loopSteps(p.KW))),
    // A thread's share of the row segments (64 threads a workgroup), each over its columns; then the tree.
    grouped_bwd_weight: (p) => loopSteps(Math.ceil(p.N * p.OH * p.segs / 64), loopSteps(p.seg)) + loopSteps(6),
    grouped_bwd_weight_serial: (p) => loopSteps(p.N, loopSteps(p.OH, loopSteps(p.OW))),
  },
});
const groupedForwardSteps = (p: {CG: number; KH: number; KW: number}) =>
  loopSteps(p.CG, loopSteps(p.KH, loopSteps(p.KW)));

// Adaptive average pooling: NC planes of H x W to OH x OW bins.
export const ADAPTIVE_POOL = defineKernel({
  file: 'adaptive-pool.wgsl', code: adaptivePool, workgroupSize: 64,
  uniforms: {p: {NC: 'u32', H: 'u32', W: 'u32', OH: 'u32', OW: 'u32'}},
  entries: {adaptive_fwd: 'p', adaptive_bwd: 'p'},
  loopSteps: {adaptive_fwd: (p) => adaptiveBinSteps(p),
    // The bins holding an input: up to ceil(OH / H) + 1 rows of them, each skipped with a `continue` where it misses.
    adaptive_bwd: (p) => loopSteps(Math.ceil(p.OH / p.H) + 1, loopSteps(Math.ceil(p.OW / p.W) + 1))},
});

/** adaptive_fwd over a bin: up to ceil(H / OH) + 1 rows of ceil(W / OW) + 1 values. */
export const adaptiveBinSteps = (p: {H: number; W: number; OH: number; OW: number}): number =>
  loopSteps(Math.ceil(p.H / p.OH) + 1, loopSteps(Math.ceil(p.W / p.OW) + 1));

// Batch norm in training mode: the forward's and the backward's passes, each file with the shared overrides and
// helpers (common.wgsl) appended. A thread's share of a channel's values in the trees (256 threads, 4 values a step
// in the vec4 entries), then the tree; a plane's vec4s, or a channel's N partials.
const BATCH_NORM_P = {N: 'u32', C: 'u32', HW: 'u32', eps: 'f32'} as const;
export const BATCH_NORM_FORWARD = defineKernel({
  file: 'batch-norm/forward.wgsl', code: `${batchNormForward}\n${batchNormCommon}`, workgroupSize: 256,
  uniforms: {p: BATCH_NORM_P,
    // The running statistics' update: channels, and the weights of the old value and of the batch's mean and variance.
    r: {C: 'u32', keep: 'f32', take_mean: 'f32', take_var: 'f32'}},
  entries: {bn_stats: 'p', bn_stats4: 'p', bn_stats_serial: 'p', bn_plane_stats4: 'p', bn_plane_stats_combine: 'p',
    bn_norm: 'p', bn_norm4: 'p', bn_running: 'r'},
  loopSteps: {
    bn_stats: (p) => 2 * batchNormShareSteps(p.N * p.HW), bn_stats4: (p) => 2 * batchNormShareSteps(p.N * p.HW / 4),
    bn_norm4: (_p, c) => loopSteps(c.RUN ?? 1),
    bn_plane_stats4: (p) => loopSteps(p.HW / 4), bn_plane_stats_combine: (p) => 2 * loopSteps(p.N),
  },
});
export const BATCH_NORM_BACKWARD = defineKernel({
  file: 'batch-norm/backward.wgsl', code: `${batchNormBackward}\n${batchNormCommon}`, workgroupSize: 256,
  uniforms: {p: BATCH_NORM_P},
  entries: {bn_grad_sums: 'p', bn_grad_sums4: 'p', bn_grad_sums_serial: 'p', bn_plane_grad_sums4: 'p',
    bn_plane_grad_combine: 'p', bn_dx: 'p', bn_dx4: 'p'},
  loopSteps: {
    bn_grad_sums: (p) => batchNormShareSteps(p.N * p.HW), bn_grad_sums4: (p) => batchNormShareSteps(p.N * p.HW / 4),
    bn_dx4: (_p, c) => loopSteps(c.RUN ?? 1),
    bn_plane_grad_sums4: (p) => loopSteps(p.HW / 4), bn_plane_grad_combine: (p) => loopSteps(p.N),
  },
});
const batchNormShareSteps = (values: number) => loopSteps(Math.ceil(values / 256)) + loopSteps(8);

// matmul: the hand-written kernels, a file each (shaders/matmul/, launched by kernels/matmul/hand-written.ts), share
// these uniforms with the generated register tiles (kernels/matmul/register-tile.ts).
// Strides in floats: a_bs, a_rs, a_cs = A's batch, row and column strides (b_*, c_bs likewise); the batch index
// is the grid's z. 8 x 8 workgroups for the register kernels, 16 x 16 for matmul_tiled's tiles.
export const MATMUL_UNIFORMS = {p: {M: 'u32', N: 'u32', K: 'u32', a_bs: 'u32', a_rs: 'u32', a_cs: 'u32', b_bs: 'u32',
  b_rs: 'u32', b_cs: 'u32', c_bs: 'u32', alpha: 'f32', split: 'u32'}} as const;
// Each with the output write's epilogue (shaders/matmul/epilogue.wgsl: bias and relu at the launcher's request).
const matmulKernel = (file: string, code: string, workgroupSize: [number, number] = [8, 8]) =>
  defineKernel({file: `matmul/${file}`, code: `${code}\n${matmulEpilogue}`, workgroupSize, uniforms: MATMUL_UNIFORMS,
    entries: {main: 'p'}});
/** The workgroup-tile kernels, one file: main (64 x 64 tiles, matmul_tiled) and main128 (matmul_tiled128). */
export const MATMUL_TILED = defineKernel({file: 'matmul/tiled.wgsl', code: `${matmulTiled}\n${matmulEpilogue}`,
  workgroupSize: [16, 16], uniforms: MATMUL_UNIFORMS, entries: {main: 'p', main128: 'p'}});
export const MATMUL_KERNELS = {
  matmul_vec4: matmulKernel('vec4.wgsl', matmulVec4),
  matmul_nt_vec4: matmulKernel('nt-vec4.wgsl', matmulNtVec4),
  matmul_reg: matmulKernel('reg.wgsl', matmulReg),
  matmul_tiled: MATMUL_TILED,
  matmul_small: matmulKernel('small.wgsl', matmulSmall),
} as const;

/**
 * The group updates' threads each update this many vec4s and read their workgroup's segment once for them: CPU drivers
 * load it lane by lane (docs/kernel-measurements.md#optimizer-vec4s).
 */
const OPTIMIZER_VEC4S = 4;
const OPTIMIZER_WG = 256;
/** Elements of a group update's workgroup block: OPTIMIZER_WG threads x OPTIMIZER_VEC4S vec4s (optim/optimizer.ts). */
export const OPTIMIZER_BLOCK = OPTIMIZER_WG * 4 * OPTIMIZER_VEC4S;
export const OPTIMIZER = defineKernel({
  file: 'optimizer.wgsl', code: `${optimizer}\nconst VEC4S = ${OPTIMIZER_VEC4S}u;`, workgroupSize: OPTIMIZER_WG,
  uniforms: {
    // One tensor per dispatch (first: 1 on the parameter's first update; bc1, bc2: Adam's bias corrections).
    sp: {n: 'u32', lr: 'f32', momentum: 'f32', dampening: 'f32', weight_decay: 'f32', nesterov: 'u32', first: 'u32'},
    ap: {n: 'u32', lr: 'f32', beta1: 'f32', beta2: 'f32', eps: 'f32', weight_decay: 'f32', decoupled: 'u32', bc1: 'f32', bc2: 'f32'},
    // A group per dispatch: `blocks` workgroups over `segs` segments (the meta buffer's layout); step: the
    // optimizer's step count (SGD compares it with each segment's first step).
    ms: {blocks: 'u32', segs: 'u32', step: 'u32', lr: 'f32', momentum: 'f32', dampening: 'f32', weight_decay: 'f32', nesterov: 'u32'},
    ma: {blocks: 'u32', segs: 'u32', lr: 'f32', beta1: 'f32', beta2: 'f32', eps: 'f32', weight_decay: 'f32',
      decoupled: 'u32', bc1: 'f32', bc2: 'f32'},
  },
  entries: {sgd_main: 'sp', adam_main: 'ap', sgd_multi: 'ms', adam_multi: 'ma'},
});

/** Every kernel file's compiled source: init() compiles them all and reports WGSL errors up front. */
export const SHADERS = {
  elementwise: ELEMENTWISE.source,
  reduce: REDUCE.source,
  softmax: SOFTMAX.source,
  layout: LAYOUT.source,
  ...Object.fromEntries(Object.entries(MATMUL_KERNELS).map(([name, k]) => [name, k.source])),
  ...Object.fromEntries(Object.entries(CONV_KERNELS).map(([name, k]) => [name, k.source])),
  pool: POOL.source,
  im2colRows: IM2COL_ROWS.source,
  im2colRowsTexture: IM2COL_ROWS_TEXTURE.source,
  poolTexture: POOL_TEXTURE.source,
  elementwiseTexture: ELEMENTWISE_TEXTURE.source,
  optimizer: OPTIMIZER.source,
  random: RANDOM.source,
  reversal: REVERSAL.source,
  capsule: CAPSULE.source,
  convGrouped: CONV_GROUPED.source,
  convPointwiseWeight: CONV_POINTWISE_WEIGHT.source,
  convImplicit: CONV_IMPLICIT.source,
  adaptivePool: ADAPTIVE_POOL.source,
  batchNormForward: BATCH_NORM_FORWARD.source,
  batchNormBackward: BATCH_NORM_BACKWARD.source,
} as const;
