// Launchers of the kernels that torchvision's ResNets and MobileNets add: grouped and depthwise conv2d
// (shaders/conv-grouped.wgsl), adaptive average pooling (shaders/adaptive-pool.wgsl) and batch normalisation in
// training mode (shaders/batch-norm.wgsl). No autograd here: ops.ts records the ops and gradients.ts holds their rules.
import {dummyBuffer, reduceK, type Conv2dGeom} from './kernels.js';
import {ADAPTIVE_POOL, BATCH_NORM, CONV_GROUPED} from './shaders.js';
import {empty, type Tensor} from './tensor.js';
import {grid1d} from '../gpu/runtime.js';

// ---- grouped conv2d (groups > 1) ----
/** Multiply-adds of a grouped conv, two flops each: every output reads C / groups channels. */
const groupedFlops = (g: Conv2dGeom) => 2 * g.N * g.K * g.OH * g.OW * (g.C / g.groups) * g.KH * g.KW;
const groupedNote = (g: Conv2dGeom) => `${g.N}x${g.C}x${g.H}x${g.W}*${g.K}x${g.C / g.groups}x${g.KH}x${g.KW} ` +
  `g${g.groups}${g.SH > 1 || g.SW > 1 ? ` s${g.SH}` : ''}${g.PH || g.PW ? ` p${g.PH}` : ''}`;

/**
 * CONV_GROUPED's uniforms. The weight gradient's work items are row segments: enough of them that each of a
 * workgroup's threads has one when the N * OH output rows are fewer than its threads.
 */
function groupedParams(g: Conv2dGeom) {
  const rows = g.N * g.OH, threads = CONV_GROUPED.workgroupDims[0];
  const seg = Math.ceil(g.OW / Math.min(g.OW, Math.max(1, Math.ceil(threads / rows))));
  return {N: g.N, C: g.C, H: g.H, W: g.W, K: g.K, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH,
    PW: g.PW, CG: g.C / g.groups, KG: g.K / g.groups, segs: Math.ceil(g.OW / seg), seg};
}

/**
 * Forward: eight neighbouring outputs of a row per thread at column stride 1 (their inputs slide through registers,
 * one load per tap), four otherwise.
 */
export function groupedConv2dK(x: Tensor, w: Tensor, bias: Tensor | null, g: Conv2dGeom): Tensor {
  const y = empty([g.N, g.K, g.OH, g.OW]);
  const eight = g.SW === 1;
  CONV_GROUPED.launch(eight ? 'grouped_fwd8' : 'grouped_fwd', {
    buffers: [x.buffer, w.buffer, bias ? bias.buffer : dummyBuffer(), y.buffer], params: groupedParams(g),
    threads: g.N * g.K * g.OH * Math.ceil(g.OW / (eight ? 8 : 4)), constants: {HAS_BIAS: bias ? 1 : 0},
    flops: groupedFlops(g), note: groupedNote(g)});
  return y;
}

/**
 * Input gradient, gathering over the outputs that read each input: four neighbouring inputs of a row per thread at
 * column stride 1 (each weight load serves four), one per thread otherwise.
 */
export function groupedConv2dBwdInputK(dy: Tensor, w: Tensor, g: Conv2dGeom): Tensor {
  const dx = empty([g.N, g.C, g.H, g.W]);
  const eight = g.SW === 1;
  CONV_GROUPED.launch(eight ? 'grouped_bwd_input8' : 'grouped_bwd_input', {buffers: [dy.buffer, w.buffer, dx.buffer],
    params: groupedParams(g), threads: eight ? g.N * g.C * g.H * Math.ceil(g.W / 8) : dx.size, flops: groupedFlops(g),
    note: groupedNote(g)});
  return dx;
}

/** Weight gradient: one workgroup per 4 neighbouring taps of a kernel row, its threads' sums added as a tree. */
export function groupedConv2dBwdWeightK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const dw = empty([g.K, g.C / g.groups, g.KH, g.KW]);
  CONV_GROUPED.launch('grouped_bwd_weight', {buffers: [x.buffer, dy.buffer, dw.buffer], params: groupedParams(g),
    workgroups: grid1d(dw.size / g.KW * Math.ceil(g.KW / 4), 1), flops: groupedFlops(g), note: groupedNote(g)});
  return dw;
}

// ---- adaptive average pooling ----
export interface AdaptiveGeom { N: number; C: number; H: number; W: number; OH: number; OW: number }
const adaptiveParams = (g: AdaptiveGeom) => ({NC: g.N * g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW});

/**
 * Forward. A 1 x 1 output (the global pooling of ResNets) is the mean of each plane, which reduceK computes
 * splitting long planes over several threads: as fast as adaptive_fwd on llvmpipe, 1.6-2.6x faster on SwiftShader
 * ([32, 512, 7, 7], [8, 64, 56, 56], [2, 2048, 7, 7]). Other sizes take one thread per output.
 */
export function adaptiveAvgPoolK(x: Tensor, g: AdaptiveGeom): Tensor {
  if (g.OH === 1 && g.OW === 1) {
    return reduceK('sum', x, g.N * g.C, g.H * g.W, 1, 1 / (g.H * g.W)).viewAsDispose([g.N, g.C, 1, 1]);
  }
  const y = empty([g.N, g.C, g.OH, g.OW]);
  ADAPTIVE_POOL.launch('adaptive_fwd', {buffers: [x.buffer, y.buffer], params: adaptiveParams(g), threads: y.size,
    note: `${g.N}x${g.C}x${g.H}x${g.W}->${g.OH}x${g.OW}`});
  return y;
}

/** Input gradient: one thread per input, summing gy / count over the bins that hold it. */
export function adaptiveAvgPoolBwdK(gy: Tensor, g: AdaptiveGeom): Tensor {
  const dx = empty([g.N, g.C, g.H, g.W]);
  ADAPTIVE_POOL.launch('adaptive_bwd', {buffers: [gy.buffer, dx.buffer], params: adaptiveParams(g), threads: dx.size,
    note: `${g.N}x${g.C}x${g.H}x${g.W}<-${g.OH}x${g.OW}`});
  return dx;
}

// ---- batch normalisation, training mode ----
/** x viewed as [N, C, HW]: batch, channels (axis 1) and the product of the dimensions after them. */
export interface BatchNormGeom { N: number; C: number; HW: number }
const bnNote = (g: BatchNormGeom) => `${g.N}x${g.C}x${g.HW}`;
/** The vec4 entry points where a plane is whole vec4s. */
const bnEntry = <E extends string>(g: BatchNormGeom, entry: E): E | `${E}4` => (g.HW % 4 === 0 ? `${entry}4` : entry);
const bnThreads = (g: BatchNormGeom) => g.N * g.C * (g.HW % 4 === 0 ? g.HW / 4 : g.HW);

/**
 * Forward: the batch mean and biased variance per channel ([C] each), `stats` = [mean; sqrt(var + eps)] ([2, C], what
 * the backward reads), then y = (x - mean) / sqrt(var + eps) * weight + bias (weight, bias: [C] or null).
 */
export function batchNormTrainK(x: Tensor, weight: Tensor | null, bias: Tensor | null, g: BatchNormGeom, eps: number):
  {y: Tensor; mean: Tensor; variance: Tensor; stats: Tensor} {
  const mean = empty([g.C]), variance = empty([g.C]), stats = empty([2, g.C]);
  const params = {N: g.N, C: g.C, HW: g.HW, eps};
  BATCH_NORM.launch(bnEntry(g, 'bn_stats'), {buffers: [x.buffer, mean.buffer, variance.buffer, stats.buffer], params,
    workgroups: grid1d(g.C, 1), note: bnNote(g)});
  const y = empty(x.shape);
  BATCH_NORM.launch(bnEntry(g, 'bn_norm'), {buffers: [x.buffer, stats.buffer, weight ? weight.buffer : dummyBuffer(),
    bias ? bias.buffer : dummyBuffer(), y.buffer], params, threads: bnThreads(g),
    constants: {HAS_WEIGHT: weight ? 1 : 0, HAS_BIAS: bias ? 1 : 0}, note: bnNote(g)});
  return {y, mean, variance, stats};
}

/**
 * Backward: the per-channel sums dbias = sum(gy) and dweight = sum(gy * xhat) ([C] each), then dx (when `needX`)
 * from the closed form over the batch statistics.
 */
export function batchNormTrainBwdK(x: Tensor, gy: Tensor, stats: Tensor, weight: Tensor | null, g: BatchNormGeom,
  needX: boolean): {dx: Tensor | null; dweight: Tensor; dbias: Tensor} {
  const dbias = empty([g.C]), dweight = empty([g.C]);
  const params = {N: g.N, C: g.C, HW: g.HW, eps: 0};
  BATCH_NORM.launch(bnEntry(g, 'bn_grad_sums'), {buffers: [x.buffer, gy.buffer, stats.buffer, dbias.buffer,
    dweight.buffer], params, workgroups: grid1d(g.C, 1), note: bnNote(g)});
  if (!needX) return {dx: null, dweight, dbias};
  const dx = empty(x.shape);
  BATCH_NORM.launch(bnEntry(g, 'bn_dx'), {buffers: [x.buffer, gy.buffer, stats.buffer,
    weight ? weight.buffer : dummyBuffer(), dbias.buffer, dweight.buffer, dx.buffer], params, threads: bnThreads(g),
    constants: {HAS_WEIGHT: weight ? 1 : 0}, note: bnNote(g)});
  return {dx, dweight, dbias};
}
