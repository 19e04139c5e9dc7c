// Elementwise launchers: unary and binary ops (broadcasting by strides) and where, plus random fills and gradient
// reversal. They take and return tensors but record no autograd; ops.ts wraps them with gradients.
import {ELEMENTWISE} from '../../shaders.js';
import {empty, type Shape, type Tensor} from '../../tensor.js';
import {BINARY, UNARY, type BinaryOp, type UnaryOp} from '../../op-codes.js';
import {broadcastShapes, broadcastStrides, sameShape} from '../shapes.js';
import {choose} from '../select.js';
import {ELEMENTWISE_FAMILY} from './select.js';

export {dropoutMaskK, uniformK} from './random-fill.js';
export {reverseK, reverseBwdK} from './grad-reversal.js';

function ewParams(n: number, out: Shape, alpha: number, beta: number, operands: Shape[]) {
  const s = (i: number) => (operands[i] ? broadcastStrides(operands[i], out) : []);
  return {n, rank: out.length, alpha, beta, shape: out, sa: s(0), sb: s(1), sc: s(2)};
}

export function unaryK(op: UnaryOp, a: Tensor, alpha = 0, beta = 0): Tensor {
  const out = empty(a.shape);
  if (!out.size) return out;
  const constants = {OP: UNARY[op]};
  if (choose(ELEMENTWISE_FAMILY, {n: out.size, broadcast: false}) === 'vec4') {
    const n4 = out.size / 4;
    ELEMENTWISE.launch('unary_vec4', {buffers: [a.buffer, out.buffer], params: ewParams(n4, [], alpha, beta, []),
      threads: n4, constants});
  } else {
    ELEMENTWISE.launch('unary_main', {buffers: [a.buffer, out.buffer], params: ewParams(out.size, [], alpha, beta, []),
      threads: out.size, constants});
  }
  return out;
}

export function binaryK(op: BinaryOp, a: Tensor, b: Tensor, alpha = 0, beta = 0): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const broadcast = !(sameShape(a.shape, shape) && sameShape(b.shape, shape));
  if (choose(ELEMENTWISE_FAMILY, {n: out.size, broadcast}) === 'vec4') {
    const n4 = out.size / 4;
    ELEMENTWISE.launch('binary_vec4', {buffers: [a.buffer, b.buffer, out.buffer],
      params: ewParams(n4, [], alpha, beta, []), threads: n4, constants: {OP: BINARY[op]}});
    return out;
  }
  ELEMENTWISE.launch('binary_main', {buffers: [a.buffer, b.buffer, out.buffer],
    params: ewParams(out.size, shape, alpha, beta, [a.shape, b.shape]), threads: out.size,
    constants: {OP: BINARY[op], BROADCAST: broadcast ? 1 : 0, RANK: broadcast ? shape.length : 1}});
  return out;
}

/** total + part, both consumed (no total yet: part itself): how split kernels add up their partial results. */
export function addParts(total: Tensor | null, part: Tensor): Tensor {
  if (!total) return part;
  const sum = binaryK('add', total, part);
  total.dispose();
  part.dispose();
  return sum;
}

export function whereK(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  const shape = broadcastShapes('where', broadcastShapes('where', cond.shape, a.shape), b.shape);
  const out = empty(shape);
  if (!out.size) return out;
  const broadcast = ![cond, a, b].every((t) => sameShape(t.shape, shape));
  ELEMENTWISE.launch('where_main', {buffers: [cond.buffer, a.buffer, b.buffer, out.buffer],
    params: ewParams(out.size, shape, 0, 0, [cond.shape, a.shape, b.shape]), threads: out.size,
    constants: {BROADCAST: broadcast ? 1 : 0, RANK: broadcast ? shape.length : 1}});
  return out;
}
