// The softmax family and the losses: softmax, logSoftmax, cross-entropy, mean squared error.
import {softmaxK, xentK, xentReduceGradK, xentReduceK} from '../kernels/reduce/index.js';
import {isGradEnabled} from '../engine.js';
import {kernelPrefs} from '../kernels/prefs.js';
import {LOOP_STEPS_MAX, loopsLimited} from '../kernels/device.js';
import {sizeOf, Tensor} from '../tensor.js';
import {checkArgs} from '../validate.js';
import {record} from '../record.js';
import {err, normAxis} from './common.js';
import {div, exp, log, mul, neg, square, sub} from './elementwise.js';
import {detach, oneHot} from './shape.js';
import {max, mean, sum} from './reduce.js';

function rows3(x: Tensor, axis: number): [number, number, number] {
  const a = normAxis('softmax', axis, x.rank);
  return [sizeOf(x.shape.slice(0, a)), x.shape[a], sizeOf(x.shape.slice(a + 1))];
}
/** Softmax along `axis` (default the last): exp(x) / sum(exp(x)), computed stably. */
export function softmax(x: Tensor, axis = -1): Tensor {
  checkArgs('softmax', x);
  const [o, r, i] = rows3(x, axis);
  if (longRows(r)) { const e = shiftedExp(x, axis); return div(e.e, e.s); }
  return record(softmaxK(x, o, r, i, false), 'softmax', [x], {rows: [o, r, i]});
}

/**
 * Rows too long for the one-thread-per-row kernels where loopsLimited() (llvmpipe stops a thread's loops near
 * 65,535 iterations in all): softmax_fwd and xent_bwd loop 3 times over a row. Those rows take composed ops, whose
 * reductions split a long axis over threads.
 */
const longRows = (r: number): boolean => loopsLimited() && 3 * r > LOOP_STEPS_MAX;

/** exp(x - max) along `axis` and its sum (kept dims): the composed softmax of long rows (longRows). */
function shiftedExp(x: Tensor, axis: number): {shifted: Tensor; e: Tensor; s: Tensor} {
  const shifted = sub(x, detach(max(x, axis, true)));
  const e = exp(shifted);
  return {shifted, e, s: sum(e, axis, true)};
}
/** Log of the softmax along `axis` (default the last), computed stably: x - logsumexp(x). */
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  checkArgs('logSoftmax', x);
  const [o, r, i] = rows3(x, axis);
  if (longRows(r)) { const e = shiftedExp(x, axis); return sub(e.shifted, log(e.s)); }
  return record(softmaxK(x, o, r, i, true), 'logSoftmax', [x], {rows: [o, r, i]});
}

/** Per-row cross-entropy of logits [N, C] against int32 labels [N] (no reduction). */
export function crossEntropyRows(logits: Tensor, labels: Tensor): Tensor {
  checkXent(logits, labels);
  // Long rows (longRows): -log_softmax at the label, composed (an out-of-range label gives 0, not NaN, there).
  if (longRows(logits.shape[1])) return neg(sum(mul(logSoftmax(logits, 1), oneHot(labels, logits.shape[1])), 1));
  return record(xentK(logits, labels), 'crossEntropyRows', [logits], {labels});
}

function checkXent(logits: Tensor, labels: Tensor): void {
  checkArgs('crossEntropy', logits, labels);
  if (logits.rank !== 2) throw new Error(`webgpu-transfer: crossEntropy: logits must be [N, C], got ${logits.describe()}`);
  if (labels.dtype !== 'i32' || labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`webgpu-transfer: crossEntropy: labels must be int32 [${logits.shape[0]}], got ${labels.describe()} for logits ${logits.describe()}`);
  }
}

/** Mean cross-entropy (torch.nn.functional.cross_entropy with integer targets). */
export function crossEntropy(logits: Tensor, labels: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  if (!['mean', 'sum', 'none'].includes(reduction)) throw err('crossEntropy', `reduction must be 'mean', 'sum' or 'none', got ${JSON.stringify(reduction)}`);
  // The fused kernel sums in one workgroup: kept to batch-sized losses (an evaluation over a whole data set in one
  // call goes through rows + a tree reduction instead).
  if (reduction !== 'none' && logits?.rank === 2 && logits.shape[0] > 0 && logits.shape[0] <= 65536 &&
    !fusedXentTooLong(logits.shape[0], logits.shape[1])) {
    checkXent(logits, labels);
    // One kernel each way (the loss and its gradient), where rows + mean would take four (see softmax.wgsl). Where a
    // gradient will be asked for, the forward writes it for a unit seed too, and backward() from the loss runs none.
    const alpha = reduction === 'mean' ? 1 / logits.shape[0] : 1;
    if (!(isGradEnabled() && logits.requiresGrad && kernelPrefs.fuseEpilogues)) {
      return record(xentReduceK(logits, labels, alpha), 'crossEntropyReduced', [logits], {labels, alpha, dlogits: null});
    }
    const {loss, dlogits} = xentReduceGradK(logits, labels, alpha);
    const out = record(loss, 'crossEntropyReduced', [logits], {labels, alpha, dlogits});
    (out.node!.owned ??= []).push(dlogits);
    return out;
  }
  const rows = crossEntropyRows(logits, labels);
  return reduction === 'none' ? rows : reduction === 'sum' ? sum(rows) : mean(rows);
}

/**
 * Where the fused loss (xent_reduce_fwd: 64 threads, each over 2 passes of its rows, 3 where it writes its gradient;
 * its gradient xent_bwd: 3 passes of a row) would loop past LOOP_STEPS_MAX in a thread where loopsLimited(): e.g.
 * 10,000 rows of 1,000 classes.
 */
const fusedXentTooLong = (rows: number, classes: number): boolean => longRows(classes) ||
  (loopsLimited() && Math.ceil(rows / 64) * 3 * classes + 6 > LOOP_STEPS_MAX);

/**
 * Mean squared error. The shapes must be equal: PyTorch broadcasts [3, 1] against [3] to [3, 3] with only a
 * warning, which is almost always a bug, so here it is an error.
 */
export function mseLoss(input: Tensor, target: Tensor): Tensor {
  checkArgs('mseLoss', input, target);
  if (input.rank !== target.rank || input.shape.some((d, i) => d !== target.shape[i])) {
    throw err('mseLoss', `input ${input.describe()} and target ${target.describe()} differ in shape (no broadcasting: reshape one to match)`);
  }
  return mean(square(sub(input, target)));
}
