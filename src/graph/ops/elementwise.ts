// Elementwise ops: unary maps and activations, broadcasting arithmetic (a number operand runs as affine),
// comparisons and where.
import {binaryK, unaryK, whereK} from '../kernels/elementwise/index.js';
import {Tensor} from '../tensor.js';
import type {UnaryOp} from '../op-codes.js';
import {checkArgs, setCurrentOp, type CheckedOp} from '../validate.js';
import {record} from '../record.js';
import type {OpName} from '../gradients.js';
import {err} from './common.js';

/** A tensor, or a JS number that ops like add and mul take as a constant operand. */
export type TensorLike = Tensor | number;

function unary(op: UnaryOp & OpName, x: Tensor, alpha = 0, beta = 0): Tensor {
  checkArgs(op, x);
  return record(unaryK(op, x, alpha, beta), op, [x], {alpha, beta});
}

/** Elementwise -x. */
export const neg = (x: Tensor) => unary('neg', x);
/** Elementwise e^x. */
export const exp = (x: Tensor) => unary('exp', x);
/** Elementwise natural logarithm (log(0) = -Inf, log of a negative number = NaN). */
export const log = (x: Tensor) => unary('log', x);
/** Elementwise square root. */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/** Elementwise max(x, 0) (NaN stays NaN). */
export const relu = (x: Tensor) => unary('relu', x);
/** Elementwise x for x > 0, else slope * x (slope default 0.01). */
export const leakyRelu = (x: Tensor, slope = 0.01) => unary('leakyRelu', x, slope);
/** Elementwise logistic function 1 / (1 + e^-x). */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** Elementwise hyperbolic tangent. */
export const tanh = (x: Tensor) => unary('tanh', x);
/** Elementwise absolute value. */
export const abs = (x: Tensor) => unary('abs', x);
/** Elementwise x * x. */
export const square = (x: Tensor) => unary('square', x);
/** Elementwise x limited to [min, max] (either bound may be left open); the gradient is 0 outside. */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  if (typeof min !== 'number' || typeof max !== 'number' || Number.isNaN(min) || Number.isNaN(max)) throw err('clamp', `min and max must be numbers, got ${min}, ${max}`);
  if (min > max) throw new Error(`webgpu-transfer: clamp: min ${min} > max ${max}`);
  return unary('clamp', x, Math.max(min, -3.4e38), Math.min(max, 3.4e38));
}
/**
 * Elementwise min(max(x, 0), 6) (MobileNetV2's activation; NaN stays NaN). As PyTorch's hardtanh, the gradient passes
 * strictly inside (0, 6) and is 0 at 0 and 6 themselves.
 */
export function relu6(x: Tensor): Tensor {
  checkArgs('relu6', x);
  return record(unaryK('clamp', x, 0, 6), 'relu6', [x]);
}
/** x * scale + shift in one kernel. */
export const affine = (x: Tensor, scale: number, shift = 0) => unary('affine', x, scale, shift);

function binary(op: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum', a: Tensor, b: Tensor): Tensor {
  checkArgs(op, a, b);
  return record(binaryK(op, a, b), op, [a, b]);
}

/**
 * Checks `a op b` where b may be a JS number. A number is a constant: inside compile() it is written into the
 * kernel's uniforms at capture and every replay keeps it (a value that must change per step is a RuntimeValue).
 */
function scalarB(op: CheckedOp, a: Tensor, b: TensorLike): b is number {
  checkArgs(op, a, typeof b === 'number' ? a : b);
  return typeof b === 'number';
}

/** a + b elementwise, with NumPy broadcasting; b may be a number. */
export function add(a: Tensor, b: TensorLike): Tensor { return scalarB('add', a, b) ? affine(a, 1, b) : binary('add', a, b); }
/** a - b elementwise, with NumPy broadcasting; b may be a number. */
export function sub(a: Tensor, b: TensorLike): Tensor { return scalarB('sub', a, b) ? affine(a, 1, -b) : binary('sub', a, b); }
/** a * b elementwise, with NumPy broadcasting; b may be a number. */
export function mul(a: Tensor, b: TensorLike): Tensor { return scalarB('mul', a, b) ? affine(a, b, 0) : binary('mul', a, b); }
/** a / b elementwise, with NumPy broadcasting; b may be a nonzero number. */
export function div(a: Tensor, b: TensorLike): Tensor {
  if (scalarB('div', a, b)) {
    if (b === 0) throw new Error('webgpu-transfer: div: division by the scalar 0');
    return affine(a, 1 / b, 0);
  }
  return binary('div', a, b);
}
/** a ** b elementwise, with NumPy broadcasting; b may be a number (2 runs as square). */
export function pow(a: Tensor, b: TensorLike): Tensor {
  if (scalarB('pow', a, b)) return b === 2 ? square(a) : unary('powScalar', a, b);
  return binary('pow', a, b);
}
/** The larger of a and b elementwise (broadcasting; NaN wins, as in PyTorch); ties share the gradient. */
export const maximum = (a: Tensor, b: Tensor) => binary('maximum', a, b);
/** The smaller of a and b elementwise (broadcasting; NaN wins, as in PyTorch); ties share the gradient. */
export const minimum = (a: Tensor, b: Tensor) => binary('minimum', a, b);

function compare(op: 'gt' | 'lt' | 'ge' | 'eq', a: Tensor, b: Tensor): Tensor {
  checkArgs(op, a, b);
  const out = binaryK(op, a, b);
  setCurrentOp(null);
  return out;
}
/** a > b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const gt = (a: Tensor, b: Tensor) => compare('gt', a, b);
/** a < b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const lt = (a: Tensor, b: Tensor) => compare('lt', a, b);
/** a >= b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const ge = (a: Tensor, b: Tensor) => compare('ge', a, b);
/** a == b (broadcasting): a float32 mask of 0 and 1, 0 where either side is NaN; it carries no gradient. */
export const eq = (a: Tensor, b: Tensor) => compare('eq', a, b);

/** a where cond != 0, else b (broadcasting). */
export function where(cond: Tensor, a: Tensor, b: Tensor): Tensor {
  checkArgs('where', cond, a, b);
  return record(whereK(cond, a, b), 'where', [cond, a, b]);
}
