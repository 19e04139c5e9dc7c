// Gradient reversal: an identity forward and a -lambda backward (shaders/reversal.wgsl).
import {REVERSAL} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer} from '../device.js';

/** Identity forward of gradient reversal (a copy). */
export function reverseK(x: Tensor): Tensor {
  const out = empty(x.shape);
  if (!out.size) return out;
  REVERSAL.launch('reverse_fwd', {buffers: [x.buffer, out.buffer], params: {n: out.size, lambda: 0},
    threads: out.size});
  return out;
}

/** -lambda * g, lambda a JS number (a constant of a capture) or a one-element tensor read on every replay. */
export function reverseBwdK(g: Tensor, lambda: number | Tensor): Tensor {
  const out = empty(g.shape);
  if (!out.size) return out;
  const fromBuffer = typeof lambda !== 'number';
  const lam = fromBuffer ? lambda.buffer : dummyBuffer();
  REVERSAL.launch('reverse_bwd', {buffers: [g.buffer, lam, out.buffer],
    params: {n: out.size, lambda: fromBuffer ? 0 : lambda}, threads: out.size,
    constants: {LAMBDA_FROM_BUFFER: fromBuffer ? 1 : 0}});
  return out;
}
