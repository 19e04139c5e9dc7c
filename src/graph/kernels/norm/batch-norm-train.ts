// Batch normalisation in training mode (shaders/batch-norm/): statistics, normalisation and their gradients,
// on the vec4 entry points where a plane is whole vec4s. nn/layers.ts chooses it over generic ops
// (kernelPrefs.fusedBatchNorm).
import {BATCH_NORM_BACKWARD as BACKWARD, BATCH_NORM_FORWARD as FORWARD} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {grid1d} from '../../../gpu/runtime.js';
import {dummyBuffer} from '../device.js';
import {batchNormActFrom, batchNormRun, batchNormSums} from './select.js';

/** The activation batch norm's passes apply after the affine map and take the gradient through (ACT in the shader). */
export type BatchNormActivation = 'none' | 'relu' | 'relu6';
/** Each activation's ACT code: the one list of them (batchNormTrain checks its argument against it). */
export const BATCH_NORM_ACT_CODES: Readonly<Record<BatchNormActivation, number>> = {none: 0, relu: 1, relu6: 2};

/** x viewed as [N, C, HW]: batch, channels (axis 1) and the product of the dimensions after them. */
export interface BatchNormGeom { N: number; C: number; HW: number }
const bnNote = (g: BatchNormGeom) => `${g.N}x${g.C}x${g.HW}`;
/** The vec4 entry points where a plane is whole vec4s. */
const bnEntry = <E extends string>(g: BatchNormGeom, entry: E): E | `${E}4` => (g.HW % 4 === 0 ? `${entry}4` : entry);
/** Vec4s (or values, where planes are not whole vec4s: 1) per thread in the normalisation and dx passes. */
const bnRun = (g: BatchNormGeom) => (g.HW % 4 === 0 ? batchNormRun() : 1);
const bnThreads = (g: BatchNormGeom) => g.N * g.C * (g.HW % 4 === 0 ? Math.ceil(g.HW / 4 / bnRun(g)) : g.HW);

/**
 * Forward: the batch mean and biased variance per channel ([C] each), `stats` = [mean; sqrt(var + eps)] ([2, C], what
 * the backward reads), then y = act((x - mean) / sqrt(var + eps) * weight + bias) (weight, bias: [C] or null).
 */
export function batchNormTrainK(x: Tensor, weight: Tensor | null, bias: Tensor | null, g: BatchNormGeom, eps: number,
  act: BatchNormActivation = 'none'): {y: Tensor; mean: Tensor; variance: Tensor; stats: Tensor} {
  const mean = empty([g.C]), variance = empty([g.C]), stats = empty([2, g.C]);
  const params = {N: g.N, C: g.C, HW: g.HW, eps};
  const buffers = [x.buffer, mean.buffer, variance.buffer, stats.buffer];
  const sums = batchNormSums(g);
  if (sums === 'planes') {
    // Each plane's mean and squared deviations, then a thread per channel combines them.
    const pmean = empty([g.C, g.N]), pm2 = empty([g.C, g.N]);
    FORWARD.launch('bn_plane_stats4', {buffers: [x.buffer, pmean.buffer, pm2.buffer], params, threads: g.N * g.C,
      note: bnNote(g)});
    FORWARD.launch('bn_plane_stats_combine', {buffers: [pmean.buffer, mean.buffer, variance.buffer, stats.buffer,
      pm2.buffer], params, threads: g.C, note: bnNote(g)});
    pmean.dispose();
    pm2.dispose();
  } else if (sums === 'serial') {
    FORWARD.launch('bn_stats_serial', {buffers, params, threads: g.C, note: bnNote(g)});
  } else {
    FORWARD.launch(bnEntry(g, 'bn_stats'), {buffers, params, workgroups: grid1d(g.C, 1), note: bnNote(g)});
  }
  const y = empty(x.shape);
  FORWARD.launch(bnEntry(g, 'bn_norm'), {buffers: [x.buffer, stats.buffer, weight ? weight.buffer : dummyBuffer(),
    bias ? bias.buffer : dummyBuffer(), y.buffer], params, threads: bnThreads(g),
    constants: {HAS_WEIGHT: weight ? 1 : 0, HAS_BIAS: bias ? 1 : 0, RUN: bnRun(g), ACT: BATCH_NORM_ACT_CODES[act]},
    note: bnNote(g)});
  return {y, mean, variance, stats};
}

/**
 * Backward: the per-channel sums dbias = sum(g) and dweight = sum(g * xhat) ([C] each), then dx (when `needX`) from
 * the closed form over the batch statistics; g is gy taken back through the activation, read from the forward's
 * output `y` (needed where act is not 'none'), or, where batchNormActFrom says 'input', from the activation's input
 * recomputed from x, the statistics, `weight` and the forward's `bias`.
 */
export function batchNormTrainBwdK(x: Tensor, gy: Tensor, stats: Tensor, weight: Tensor | null, g: BatchNormGeom,
  needX: boolean, act: BatchNormActivation = 'none', y: Tensor | null = null, bias: Tensor | null = null):
  {dx: Tensor | null; dweight: Tensor; dbias: Tensor} {
  if (act !== 'none' && !y) {
    throw new Error(`webgpu-transfer: batchNormTrainBwdK: the ${act} gradient needs the output`);
  }
  const dbias = empty([g.C]), dweight = empty([g.C]);
  const params = {N: g.N, C: g.C, HW: g.HW, eps: 0};
  const sums = batchNormSums(g);
  const fromInput = act !== 'none' && sums === 'planes' && batchNormActFrom() === 'input';
  const yBuffer = act !== 'none' && !fromInput ? y!.buffer : dummyBuffer();
  const constants = {ACT: BATCH_NORM_ACT_CODES[act], ACT_FROM_INPUT: fromInput ? 1 : 0};
  const affine = {HAS_WEIGHT: weight ? 1 : 0, HAS_BIAS: bias ? 1 : 0};
  const weightBuffer = weight ? weight.buffer : dummyBuffer(), biasBuffer = bias ? bias.buffer : dummyBuffer();
  const buffers = [x.buffer, gy.buffer, stats.buffer, dbias.buffer, dweight.buffer, yBuffer];
  if (sums === 'planes') {
    // Each plane's sums, then a thread per channel adds them.
    const psg = empty([g.C, g.N]), psgx = empty([g.C, g.N]);
    BACKWARD.launch('bn_plane_grad_sums4', {buffers: [x.buffer, gy.buffer, stats.buffer, psg.buffer, psgx.buffer,
      yBuffer, weightBuffer, biasBuffer], params, threads: g.N * g.C, constants: {...constants, ...affine},
      note: bnNote(g)});
    BACKWARD.launch('bn_plane_grad_combine', {buffers: [psg.buffer, psgx.buffer, stats.buffer, dbias.buffer,
      dweight.buffer], params, threads: g.C, note: bnNote(g)});
    psg.dispose();
    psgx.dispose();
  } else if (sums === 'serial') {
    BACKWARD.launch('bn_grad_sums_serial', {buffers, params, threads: g.C, constants, note: bnNote(g)});
  } else {
    BACKWARD.launch(bnEntry(g, 'bn_grad_sums'), {buffers, params, workgroups: grid1d(g.C, 1), constants,
      note: bnNote(g)});
  }
  if (!needX) return {dx: null, dweight, dbias};
  const dx = empty(x.shape), entry = bnEntry(g, 'bn_dx');
  BACKWARD.launch(entry, {buffers: [x.buffer, gy.buffer, stats.buffer, weightBuffer, dbias.buffer, dweight.buffer,
    dx.buffer, yBuffer, ...(entry === 'bn_dx4' ? [biasBuffer] : [])], params, threads: bnThreads(g),
    constants: {...affine, RUN: bnRun(g), ...constants}, note: bnNote(g)});
  return {dx, dweight, dbias};
}

/**
 * The running statistics ([C] each) after a batch of `count` values per channel, in place: running * (1 - momentum) +
 * batch * momentum, the batch variance made unbiased (count / (count - 1)). One dispatch for what took eight.
 */
export function batchNormRunningK(runningMean: Tensor, runningVar: Tensor, mean: Tensor, variance: Tensor,
  momentum: number, count: number): void {
  const C = runningMean.size;
  FORWARD.launch('bn_running', {buffers: [mean.buffer, variance.buffer, runningMean.buffer, runningVar.buffer],
    params: {C, keep: 1 - momentum, take_mean: momentum, take_var: momentum * count / (count - 1)}, threads: C});
}
