// Elementwise launchers: unary and binary ops (broadcasting by strides) and where, plus random fills and gradient
// reversal. They take and return tensors but record no autograd; ops.ts wraps them with gradients.
import type {BufferBinding} from '../../../gpu/runtime.js';
import {ELEMENTWISE, ELEMENTWISE_TEXTURE} from '../../shaders.js';
import {sourceBinding} from '../device.js';
import {empty, type Shape, type Tensor} from '../../tensor.js';
import {BINARY, UNARY, type BinaryOp, type UnaryOp} from '../../op-codes.js';
import {broadcastShapes, broadcastStrides, sameShape} from '../shapes.js';
import {choose} from '../select.js';
import {ELEMENTWISE_FAMILY, type ElementwiseVariant} from './select.js';

export {dropoutMaskK, uniformK} from './random-fill.js';
export {reverseK, reverseBwdK} from './grad-reversal.js';

/** The vec4 entries' kernel and first operand: through the staging texture for the *_texture variants. */
const vec4Kernel = (variant: ElementwiseVariant) => (variant.endsWith('_texture') ? ELEMENTWISE_TEXTURE : ELEMENTWISE);
const vec4Source = (a: Tensor, variant: ElementwiseVariant): BufferBinding =>
  sourceBinding(a, variant.endsWith('_texture'));

function ewParams(n: number, out: Shape, alpha: number, beta: number, operands: Shape[]) {
  const s = (i: number) => (operands[i] ? broadcastStrides(operands[i], out) : []);
  return {n, rank: out.length, alpha, beta, shape: out, sa: s(0), sb: s(1), sc: s(2)};
}

export function unaryK(op: UnaryOp, a: Tensor, alpha = 0, beta = 0): Tensor {
  const out = empty(a.shape);
  if (!out.size) return out;
  const constants = {OP: UNARY[op]};
  const variant = choose(ELEMENTWISE_FAMILY, {n: out.size, broadcast: false});
  if (variant === 'vec4' || variant === 'vec4_texture') {
    const n4 = out.size / 4;
    vec4Kernel(variant).launch('unary_vec4', {buffers: [vec4Source(a, variant), out.buffer],
      params: ewParams(n4, [], alpha, beta, []), threads: n4, constants});
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
  const channel = broadcast && sameShape(a.shape, shape) ? channelRuns(b.shape, shape) : null;
  const variant = choose(ELEMENTWISE_FAMILY, {n: out.size, broadcast, channel});
  if (variant === 'vec4' || variant === 'vec4_texture') {
    const n4 = out.size / 4;
    vec4Kernel(variant).launch('binary_vec4', {buffers: [vec4Source(a, variant), b.buffer, out.buffer],
      params: ewParams(n4, [], alpha, beta, []), threads: n4, constants: {OP: BINARY[op]}});
    return out;
  }
  if (variant === 'channel4' || variant === 'channel4_texture') {
    const n4 = out.size / 4;
    vec4Kernel(variant).launch('binary_channel4', {buffers: [vec4Source(a, variant), b.buffer, out.buffer],
      params: {n: n4, inner: channel!.inner, mid: channel!.mid, alpha, beta}, threads: n4, constants: {OP: BINARY[op]}});
    return out;
  }
  ELEMENTWISE.launch('binary_main', {buffers: [a.buffer, b.buffer, out.buffer],
    params: ewParams(out.size, shape, alpha, beta, [a.shape, b.shape]), threads: out.size,
    constants: {OP: BINARY[op], BROADCAST: broadcast ? 1 : 0, RANK: broadcast ? shape.length : 1}});
  return out;
}

/**
 * How b broadcasts over `out` when its dimensions other than 1 are one contiguous run of out's (a [K, 1, 1, 1] scale
 * of [K, C, KH, KW], a [C, 1, 1] bias of [N, C, H, W]): b[(i / inner) % mid] is element i's operand. Else null.
 */
export function channelRuns(b: Shape, out: Shape): {inner: number; mid: number} | null {
  const lead = out.length - b.length;
  const real = b.map((d, i) => (d !== 1 ? i + lead : -1)).filter((i) => i >= 0);
  // A single value: one run of every element.
  if (!real.length) return {inner: out.reduce((x, y) => x * y, 1), mid: 1};
  const first = real[0], last = real[real.length - 1];
  let mid = 1, inner = 1;
  for (let d = first; d <= last; d++) {
    if (b[d - lead] !== out[d]) return null;
    mid *= out[d];
  }
  for (let d = last + 1; d < out.length; d++) inner *= out[d];
  return {inner, mid};
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
