// Convolution, batch normalisation in training mode, and pooling over NCHW input.
import {conv2dK, conv2dReluMaxPoolK, convGeom, groupedConv2dK, type Conv2dGeom, type LoweredCols}
  from '../kernels/conv/index.js';
import {adaptiveAvgPoolK, poolGeom, poolK} from '../kernels/pool/index.js';
import {BATCH_NORM_ACT_CODES, batchNormRunningK, batchNormTrainK, type BatchNormActivation}
  from '../kernels/norm/index.js';
import {sizeOf, Tensor} from '../tensor.js';
import {checkArgs} from '../validate.js';
import {record} from '../record.js';
import {err, intArg} from './common.js';

/** An int or [h, w] pair of ints >= min, e.g. a stride (min 1) or a padding (min 0). */
function pair(op: string, what: string, v: unknown, min: number): [number, number] {
  const p = typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || p.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < min)) {
    throw err(op, `${what} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return p as [number, number];
}

/** Options the kernels do not implement are refused rather than ignored. */
function unsupported(op: string, opts: object, known: string[]): void {
  const o = opts as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (known.includes(k) || o[k] === undefined) continue;
    const trivial = (k === 'dilation' || k === 'groups') && (o[k] === 1 || (Array.isArray(o[k]) && (o[k] as unknown[]).every((v) => v === 1)));
    if (!trivial) throw err(op, `option ${k}=${JSON.stringify(o[k])} is not supported (supported: ${known.join(', ')}${k === 'dilation' || k === 'groups' ? `; ${k} must be 1` : ''})`);
  }
}

/**
 * Options of conv2d: stride and zero padding, one number for both spatial dimensions or [h, w] (defaults 1 and 0),
 * and groups (default 1): the channels split into `groups` groups, each convolved with its own K / groups filters
 * of C / groups channels (groups = C: depthwise).
 */
export interface Conv2dOptions {
  stride?: number | [number, number];
  padding?: number | [number, number];
  groups?: number;
}

/**
 * 2-D convolution (cross-correlation, as PyTorch): input NCHW [N, C, H, W], weight [K, C / groups, KH, KW],
 * optional bias [K]; output [N, K, OH, OW]. C and K must be multiples of groups.
 *
 * @example
 * ```ts
 * const x = wt.randn([8, 32, 56, 56]);
 * const y = wt.conv2d(x, wt.randn([64, 32, 3, 3]), null, {padding: 1});            // f32[8, 64, 56, 56]
 * const dw = wt.conv2d(x, wt.randn([32, 1, 3, 3]), null, {stride: 2, padding: 1, groups: 32});  // depthwise
 * ```
 */
export function conv2d(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const geom = convArgs('conv2d', x, w, bias, opts);
  const keep: LoweredCols = {cols: null};
  const y = convOutput(x, w, bias ?? null, geom, keep);
  return owning(record(y, 'conv2d', bias ? [x, w, bias] : [x, w], {geom, cols: keep.cols}), keep.cols);
}

/**
 * The convolution's output: groups > 1 runs shaders/conv-grouped.wgsl; groups 1 the tuned kernels of conv2dK, whose
 * lowered forward may leave its im2col matrix in `keep` for the weight gradient.
 */
function convOutput(x: Tensor, w: Tensor, bias: Tensor | null, geom: Conv2dGeom, keep: LoweredCols): Tensor {
  return geom.groups > 1 ? groupedConv2dK(x, w, bias, geom)
    : conv2dK(x, w, bias, geom, w.requiresGrad ? keep : undefined);
}

/** A convolution's arguments checked (op names the caller in errors), as its geometry. */
function convArgs(op: 'conv2d' | 'conv2dReluPool2x2', x: Tensor, w: Tensor, bias: Tensor | null | undefined,
  opts: Conv2dOptions): Conv2dGeom {
  checkArgs(op, x, w, bias);
  unsupported(op, opts, ['stride', 'padding', 'groups', 'bias']);
  if (x.rank !== 4 || w.rank !== 4) {
    const got = `${x.describe()} and ${w.describe()}`;
    throw err(op, `input must be NCHW and weight [K, C / groups, KH, KW], got ${got}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.shape[0])) {
    throw err(op, `bias ${bias.describe()} must be [${w.shape[0]}]`);
  }
  const groups = intArg(op, 'groups', opts.groups ?? 1, 1);
  return convGeom(x.shape, w.shape, pair(op, 'stride', opts.stride ?? 1, 1), pair(op, 'padding', opts.padding ?? 0, 0),
    groups);
}

/**
 * reluMaxPool2d(conv2d(x, w, bias, opts), 2): a convolution, relu and 2x2 max pooling (stride 2), the block of LeNet
 * and most small CNNs, as one op. Where the convolution runs on a generated tile (llvmpipe: kernelPrefs.convPoolWrite)
 * the tile pools in its output write, so the convolution's full-size output is never written nor read back; elsewhere
 * the convolution's kernels and then the pooling's run. Either way the output is the only tensor kept besides the
 * argmaxima, and the values and gradients are those of the ops apart. nn.Sequential runs it for a Conv2d, ReLU and
 * MaxPool2d(2) in a row.
 */
export function conv2dReluPool2x2(x: Tensor, w: Tensor, bias?: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const op = 'conv2dReluPool2x2';
  const geom = convArgs(op, x, w, bias, opts);
  const pool = poolGeom(op, [geom.N, geom.K, geom.OH, geom.OW], [2, 2], [2, 2], [0, 0]);
  const keep: LoweredCols = {cols: null};
  let out = conv2dReluMaxPoolK(x, w, bias ?? null, geom, pool);
  if (!out) {
    const conv = convOutput(x, w, bias ?? null, geom, keep);
    const pooled = poolK(conv, pool, true, true);
    conv.dispose();
    out = {y: pooled.y, arg: pooled.arg!};
  }
  const inputs = bias ? [x, w, bias] : [x, w];
  return owning(owning(record(out.y, op, inputs, {geom, cols: keep.cols, pool, arg: out.arg}), out.arg), keep.cols);
}

export type {BatchNormActivation};

/** What batchNormTrain returns: y, and the batch mean and biased variance of each channel ([C] each, no gradient). */
export interface BatchNormTrainResult { y: Tensor; mean: Tensor; variance: Tensor }

/**
 * Batch normalisation with batch statistics (BatchNorm's training mode) in fused kernels: x [N, C, ...] normalised per
 * channel (axis 1) by its mean and biased variance over the other axes, y = (x - mean) / sqrt(var + eps) * weight +
 * bias (weight and bias [C], either may be null). Gradients reach x, weight and bias; mean and variance carry none.
 * `activation` 'relu' or 'relu6' applies it to y in the same pass, and its gradient in the backward's passes: the
 * values and gradients of relu(y) or relu6(y), two passes fewer.
 */
export function batchNormTrain(x: Tensor, weight: Tensor | null, bias: Tensor | null, eps = 1e-5,
  activation: BatchNormActivation = 'none'): BatchNormTrainResult {
  const op = 'batchNormTrain';
  checkArgs(op, x, weight, bias);
  if (!Object.hasOwn(BATCH_NORM_ACT_CODES, activation)) {
    throw err(op, `activation must be 'none', 'relu' or 'relu6', got ${JSON.stringify(activation)}`);
  }
  if (x.rank < 2) throw err(op, `input must be [N, C, ...] (rank >= 2), got ${x.describe()}`);
  const [N, C] = x.shape;
  for (const [what, t] of [['weight', weight], ['bias', bias]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) {
      throw err(op, `${what} ${t.describe()} must be [${C}] for input ${x.describe()}`);
    }
  }
  if (typeof eps !== 'number' || !(eps > 0) || !Number.isFinite(eps)) {
    throw err(op, `eps must be a finite number > 0, got ${eps}`);
  }
  const HW = sizeOf(x.shape.slice(2));
  // As PyTorch: one value per channel has no spread to normalise by.
  if (N * HW < 2) throw err(op, `training needs more than one value per channel, got input ${x.describe()}`);
  const geom = {N, C, HW};
  const {y, mean, variance, stats} = batchNormTrainK(x, weight, bias, geom, eps, activation);
  const inputs = [x, weight, bias].filter((t): t is Tensor => !!t);
  const saved = {geom, stats, weight: !!weight, bias: !!bias, activation};
  const out = owning(record(y, 'batchNormTrain', inputs, saved), stats);
  return {y: out, mean, variance};
}

/**
 * Batch norm's running statistics after a training batch of `count` values per channel, in place and outside the
 * graph: running = (1 - momentum) * running + momentum * batch, the batch variance (biased, as batchNormTrain gives
 * it) made unbiased. Every tensor holds [C] floats (the batch's may keep their dimensions, [1, C, 1, 1]).
 */
export function batchNormRunningUpdate(runningMean: Tensor, runningVar: Tensor, mean: Tensor, variance: Tensor,
  momentum: number, count: number): void {
  const op = 'batchNormRunningUpdate';
  checkArgs(op, runningMean, runningVar, mean, variance);
  const C = runningMean.size;
  for (const [what, t] of [['runningVar', runningVar], ['mean', mean], ['variance', variance]] as const) {
    if (t.size !== C) {
      throw err(op, `${what} ${t.describe()} must hold ${C} values, as runningMean ${runningMean.describe()}`);
    }
  }
  if (!(momentum >= 0 && momentum <= 1)) throw err(op, `momentum must be in [0, 1], got ${momentum}`);
  if (!Number.isInteger(count) || count < 2) throw err(op, `count must be an integer >= 2, got ${count}`);
  batchNormRunningK(runningMean, runningVar, mean, variance, momentum, count);
}

/**
 * A tensor the op made for its gradient rule alone: owned by out's node (freed with out), or freed now when no
 * node was recorded (no input needs a gradient).
 */
function owning(out: Tensor, saved: Tensor | null): Tensor {
  if (!saved) return out;
  if (out.node) (out.node.owned ??= []).push(saved);
  else saved.dispose();
  return out;
}

/**
 * Stride and zero padding of the pooling ops: a number or [h, w] (stride defaults to the kernel size, padding to
 * 0).
 */
export interface PoolOptions { stride?: number | [number, number]; padding?: number | [number, number] }

/** Kernel, stride and padding of a pooling op, checked. */
function poolArgs(op: string, kernel: unknown, opts: PoolOptions): [[number, number], [number, number], [number, number]] {
  unsupported(op, opts, ['stride', 'padding']);
  const k = pair(op, 'kernel', kernel, 1);
  return [k, pair(op, 'stride', opts.stride ?? k, 1), pair(op, 'padding', opts.padding ?? 0, 0)];
}

/** Max pooling over NCHW input with a `kernel` (a number or [h, w]) window; the gradient goes to each window's max. */
export function maxPool2d(x: Tensor, kernel: number | [number, number], opts: PoolOptions = {}): Tensor {
  checkArgs('maxPool2d', x);
  const geom = poolGeom('maxPool2d', x.shape, ...poolArgs('maxPool2d', kernel, opts));
  const {y, arg} = poolK(x, geom, true);
  return owning(record(y, 'maxPool2d', [x], {geom, arg}), arg);
}

/**
 * maxPool2d(relu(x)), which equals relu(maxPool2d(x)), in one pass: the relu's full-size output is never written and
 * its backward never runs (where the relu passes nothing, the argmax is -1: no input gets that window's gradient).
 * nn.Sequential runs it for ReLU next to MaxPool2d.
 */
export function reluMaxPool2d(x: Tensor, kernel: number | [number, number], opts: PoolOptions = {}): Tensor {
  checkArgs('reluMaxPool2d', x);
  const geom = poolGeom('reluMaxPool2d', x.shape, ...poolArgs('reluMaxPool2d', kernel, opts));
  const {y, arg} = poolK(x, geom, true, true);
  return owning(record(y, 'reluMaxPool2d', [x], {geom, arg}), arg);
}

/**
 * Average pooling over NCHW input with a `kernel` (a number or [h, w]) window; padding counts as zeros in the
 * average.
 */
export function avgPool2d(x: Tensor, kernel: number | [number, number], opts: PoolOptions = {}): Tensor {
  checkArgs('avgPool2d', x);
  const geom = poolGeom('avgPool2d', x.shape, ...poolArgs('avgPool2d', kernel, opts));
  return record(poolK(x, geom, false).y, 'avgPool2d', [x], {geom});
}

/** An output size of adaptiveAvgPool2d: a positive integer for both dimensions, or [oh, ow]. */
export type AdaptiveSize = number | [number, number];

/**
 * Adaptive average pooling over NCHW input to an `outputSize` (a number or [oh, ow]) grid of bins, as PyTorch: output
 * row i averages input rows floor(i * H / OH) to ceil((i + 1) * H / OH) - 1 (columns likewise), so bins overlap
 * when OH does not divide H. outputSize 1 is global average pooling (ResNet's head).
 */
export function adaptiveAvgPool2d(x: Tensor, outputSize: AdaptiveSize): Tensor {
  checkArgs('adaptiveAvgPool2d', x);
  if (x.rank !== 4) throw err('adaptiveAvgPool2d', `input must be NCHW (rank 4), got ${x.describe()}`);
  const o = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
  if (!Array.isArray(o) || o.length !== 2 || o.some((d) => typeof d !== 'number' || !Number.isInteger(d) || d < 1)) {
    const got = `${JSON.stringify(outputSize)} for input ${x.describe()}`;
    throw err('adaptiveAvgPool2d', `outputSize must be a positive integer or a pair of them, got ${got}`);
  }
  const [N, C, H, W] = x.shape;
  if (!H || !W) throw err('adaptiveAvgPool2d', `input ${x.describe()} has an empty plane: there is nothing to average`);
  const geom = {N, C, H, W, OH: o[0], OW: o[1]};
  return record(adaptiveAvgPoolK(x, geom), 'adaptiveAvgPool2d', [x], {geom});
}
