// Softmax over the middle axis of [outer, r, inner] and cross-entropy over rows of logits (shaders/softmax.wgsl).
import {SOFTMAX} from '../../shaders.js';
import {dummyBuffer} from '../device.js';
import {empty, type Tensor} from '../../tensor.js';

export function softmaxK(x: Tensor, outer: number, r: number, inner: number, log: boolean): Tensor {
  const out = empty(x.shape);
  if (!out.size) return out;
  SOFTMAX.launch('softmax_fwd', {buffers: [x.buffer, out.buffer], params: {outer, r, inner, alpha: 1},
    threads: outer * inner, constants: {LOG: log ? 1 : 0}});
  return out;
}

export function softmaxBwdK(y: Tensor, g: Tensor, outer: number, r: number, inner: number, log: boolean): Tensor {
  const out = empty(y.shape);
  if (!out.size) return out;
  SOFTMAX.launch('softmax_bwd', {buffers: [y.buffer, g.buffer, out.buffer], params: {outer, r, inner, alpha: 1},
    threads: outer * inner, constants: {LOG: log ? 1 : 0}});
  return out;
}

export function xentK(logits: Tensor, labels: Tensor): Tensor {
  const [rows, classes] = logits.shape;
  const out = empty([rows]);
  if (!rows) return out;
  SOFTMAX.launch('xent_fwd', {buffers: [logits.buffer, labels.buffer, out.buffer],
    params: {outer: rows, r: classes, inner: 1, alpha: 1}, threads: rows});
  return out;
}

/** The mean (alpha = 1 / rows) or sum (alpha = 1) of the row losses, as a scalar, in one dispatch. */
export function xentReduceK(logits: Tensor, labels: Tensor, alpha: number): Tensor {
  const [rows, classes] = logits.shape;
  const out = empty([]);
  SOFTMAX.launch('xent_reduce_fwd', {buffers: [logits.buffer, labels.buffer, out.buffer, dummyBuffer()],
    params: {outer: rows, r: classes, inner: 1, alpha}, workgroups: [1, 1, 1], constants: {GRAD: 0}});
  return out;
}

/**
 * xentReduceK's loss and, in the same dispatch, its gradient for a unit seed: d loss / d logits as xentBwdK(logits,
 * labels, 1, alpha, true) computes it.
 */
export function xentReduceGradK(logits: Tensor, labels: Tensor, alpha: number): {loss: Tensor; dlogits: Tensor} {
  const [rows, classes] = logits.shape;
  const loss = empty([]), dlogits = empty(logits.shape);
  SOFTMAX.launch('xent_reduce_fwd', {buffers: [logits.buffer, labels.buffer, loss.buffer, dlogits.buffer],
    params: {outer: rows, r: classes, inner: 1, alpha}, workgroups: [1, 1, 1], constants: {GRAD: 1}});
  return {loss, dlogits};
}

/** d loss / d logits for a gradient g per row, or (scalarG) one gradient g[0] of a reduced loss scaled by alpha. */
export function xentBwdK(logits: Tensor, labels: Tensor, g: Tensor, alpha = 1, scalarG = false): Tensor {
  const [rows, classes] = logits.shape;
  const out = empty(logits.shape);
  if (!rows) return out;
  SOFTMAX.launch('xent_bwd', {buffers: [logits.buffer, labels.buffer, g.buffer, out.buffer],
    params: {outer: rows, r: classes, inner: 1, alpha}, threads: rows, constants: {SCALAR_G: scalarG ? 1 : 0}});
  return out;
}
