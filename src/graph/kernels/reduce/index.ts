// Reductions over the middle axis of [outer, r, inner] (sum, max, min, argmax), padded-row sums, and the softmax
// and cross-entropy launchers (softmax.ts).
import {REDUCE, REDUCE_SUBGROUP, reduceChunkSteps} from '../../shaders.js';
import {empty, fmt, type Tensor} from '../../tensor.js';
import {dummyBuffer, LOOP_STEPS_MAX, loopsLimited, splitThreads} from '../device.js';
import {fillK} from '../layout/index.js';
import {ceil4} from '../shapes.js';
import {choose} from '../select.js';
import {CHANNEL_SUM, REDUCE as REDUCE_FAMILY} from './select.js';

export {softmaxK, softmaxBwdK, xentK, xentReduceK, xentReduceGradK, xentBwdK} from './softmax-xent.js';

/**
 * The most rows reluGradColSumsK takes: one thread a column loops over them (a batch; past it the gradient and the
 * bias sum run as two dispatches that spread the rows over threads).
 */
export const RELU_COL_SUMS_MAX_ROWS = 1024;

/** relu'(out) * g over [rows, cols] and its column sums (a linear layer's bias gradient), in one dispatch. */
export function reluGradColSumsK(out: Tensor, g: Tensor, rows: number, cols: number): {gm: Tensor; db: Tensor} {
  const gm = empty(g.shape), db = empty([cols]);
  REDUCE.launch('relu_grad_col_sums', {buffers: [out.buffer, g.buffer, gm.buffer, db.buffer],
    params: {outer: rows, r: 1, inner: cols, alpha: 1, chunk: 1, chunks: 1}, threads: cols});
  return {gm, db};
}

/** reduce.wgsl's OP override by operation. */
const OP_CODE = {sum: 0, max: 1, min: 2} as const;

export function reduceK(kind: 'sum' | 'max' | 'min', x: Tensor, outer: number, r: number, inner: number,
  alpha = 1): Tensor {
  const outputs = outer * inner;
  if (!outputs) return empty([0]);
  // An empty sum is 0; scaled by alpha = 1/0 (the mean of nothing) it is NaN, as torch.mean.
  if (r === 0) return fillK(empty([outputs]), kind === 'sum' ? 0 * alpha : NaN);
  const variant = choose(REDUCE_FAMILY, {kind, outer, r, inner});
  if (variant !== 'chunked') {
    // A workgroup per output, over a 2-D grid where there are more than 65,535.
    const y = empty([outputs]);
    const launch = {buffers: [x.buffer, y.buffer], params: {outer, r, inner, alpha, chunk: r, chunks: 1},
      workgroups: [Math.min(outputs, 65535), Math.ceil(outputs / 65535), 1] as [number, number, number]};
    if (variant === 'subgroup') REDUCE_SUBGROUP.launch('reduce_subgroup', launch);
    else REDUCE.launch('reduce_tree', {...launch, constants: {OP: OP_CODE[kind]}});
    return y;
  }
  // Few outputs over a long axis: split it so enough threads run (a few per core on CPU adapters), and where loops
  // are limited into chunks a thread can loop over.
  const fewest = loopsLimited() ? Math.ceil(r / (kind === 'sum' ? SUM_CHUNK_MAX : EXTREME_CHUNK_MAX)) : 1;
  const chunks = Math.max(1, fewest, Math.min(Math.ceil(splitThreads() / outputs), Math.floor(r / 256)));
  const chunk = Math.ceil(r / chunks);
  const n = Math.ceil(r / chunk);
  const out = empty([outer * n * inner]);
  REDUCE.launch('reduce_main', {buffers: [x.buffer, out.buffer],
    params: {outer, r, inner, alpha: n === 1 ? alpha : 1, chunk, chunks: n}, threads: out.size,
    constants: {OP: OP_CODE[kind]}});
  if (n === 1) return out;
  const total = reduceK(kind, out, outer, n, inner, alpha);
  out.dispose();
  return total;
}

/** The longest chunk reduce_main takes within LOOP_STEPS_MAX steps a thread: for sums, and for max and min. */
function longestChunk(sum: boolean): number {
  let chunk = sum ? 4 * LOOP_STEPS_MAX : LOOP_STEPS_MAX;
  while (reduceChunkSteps(chunk, sum) > LOOP_STEPS_MAX) chunk -= sum ? 4 : 1;
  return chunk;
}
const SUM_CHUNK_MAX = longestChunk(true), EXTREME_CHUNK_MAX = longestChunk(false);

/**
 * The sum over the outer and inner axes of [outer, channels, inner] (times alpha), by CHANNEL_SUM's choice: one
 * thread per channel in one dispatch, or the inner axis reduced and then the outer one.
 */
export function sumChannelsK(x: Tensor, outer: number, channels: number, inner: number, alpha = 1): Tensor {
  if (!channels) return empty([0]);
  if (!outer || !inner || choose(CHANNEL_SUM, {outer, channels, inner}) === 'two-pass') {
    const perImage = reduceK('sum', x, outer * channels, inner, 1);
    const y = reduceK('sum', perImage, 1, outer, channels, alpha);
    perImage.dispose();
    return y;
  }
  const y = empty([channels]);
  REDUCE.launch(inner % 4 === 0 ? 'sum_channels4' : 'sum_channels', {buffers: [x.buffer, y.buffer],
    params: {outer, r: channels, inner, alpha, chunk: 0, chunks: 1}, threads: channels});
  return y;
}

/**
 * The sum of `rows` rows of `inner` floats held in `x` with each row padded to whole vec4s (reduce_rows4): a
 * quarter of reduceK's loads (docs/kernel-measurements.md#sum-rows4).
 */
export const sumRows4K = (x: Tensor, rows: number, inner: number): Tensor =>
  sumRows4('sumRows4K', x, rows, inner, 0).head;

/**
 * sumRows4K over rows of `head` + `tail` floats, returned as two tensors: the sums of the first `head` floats of
 * the rows and of the last `tail` (a conv's weight and bias gradients from the weight tile's parts), one dispatch.
 */
export function sumRows4SplitK(x: Tensor, rows: number, head: number, tail: number): {head: Tensor; tail: Tensor} {
  const sums = sumRows4('sumRows4SplitK', x, rows, head, tail);
  return {head: sums.head, tail: sums.tail!};
}

/** reduce_rows4 into `head` floats and, where `tail`, a tensor of the rest (`op` names the caller in errors). */
function sumRows4(op: string, x: Tensor, rows: number, head: number, tail: number)
  : {head: Tensor; tail: Tensor | null} {
  const inner = head + tail, need = rows * ceil4(inner);
  if (x.size < need) {
    throw new Error(`webgpu-transfer: ${op}: ${rows} padded rows of ${inner} need ${need} floats, got ${fmt(x.shape)}`);
  }
  const first = empty([head]), last = tail ? empty([tail]) : null;
  REDUCE.launch('reduce_rows4', {buffers: [x.buffer, first.buffer, last ? last.buffer : dummyBuffer()],
    params: {outer: 1, r: rows, inner, alpha: 1, chunk: head, chunks: 1}, threads: Math.ceil(inner / 4)});
  return {head: first, tail: last};
}

/** Axis values per argmax_part thread, where the axis is longer than LOOP_STEPS_MAX. */
export const ARGMAX_RUN = 4096;

export function argmaxK(x: Tensor, outer: number, r: number, inner: number): Tensor {
  const out = empty([outer * inner], 'i32');
  if (!out.size) return out;
  if (r <= LOOP_STEPS_MAX) {
    REDUCE.launch('argmax_main', {buffers: [x.buffer, out.buffer],
      params: {outer, r, inner, alpha: 1, chunk: r, chunks: 1}, threads: out.size});
    return out;
  }
  // A long axis: one thread per run of ARGMAX_RUN values, then one per output over the runs' maxima.
  const chunks = Math.ceil(r / ARGMAX_RUN);
  const params = {outer, r, inner, alpha: 1, chunk: ARGMAX_RUN, chunks};
  const best = empty([outer * chunks * inner]), arg = empty([outer * chunks * inner], 'i32');
  REDUCE.launch('argmax_part', {buffers: [x.buffer, best.buffer, arg.buffer], params, threads: best.size});
  REDUCE.launch('argmax_merge', {buffers: [best.buffer, arg.buffer, out.buffer], params, threads: out.size});
  best.dispose();
  arg.dispose();
  return out;
}
