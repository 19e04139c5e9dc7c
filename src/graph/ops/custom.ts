// Dropout and ops with custom gradients: customGrad (a user backward) and gradReverse (gradient reversal).
import {dropoutMaskK, reverseK} from '../kernels/elementwise/index.js';
import {noGrad, rt} from '../engine.js';
import {Tensor} from '../tensor.js';
import {checkArgs} from '../validate.js';
import {record, recordNode} from '../record.js';
import {err} from './common.js';
import {mul} from './elementwise.js';

let dropoutCounter = 0;
/**
 * Inverted dropout with a counter-based GPU RNG. `seed` fixes the mask of an eager call (default: a per-call
 * counter); inside a captured step each replay advances the seed, so every step draws a fresh mask.
 */
export function dropout(x: Tensor, p = 0.5, training = true, seed?: number): Tensor {
  checkArgs('dropout', x);
  if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new Error(`webgpu-transfer: dropout: p must be in [0, 1), got ${p}`);
  if (!training || p === 0) return x;
  const s = {value: seed ?? 0x5eed + dropoutCounter++};
  rt().onReplay(() => { s.value = (s.value + 0x9e3779b9) >>> 0; });
  const mask = dropoutMaskK(x.shape, p, () => s.value);
  return mul(x, mask);
}

/** An op with a user gradient: forward runs without recording; backward maps g to one gradient per input. */
export function customGrad(inputs: Tensor[], forward: () => Tensor, backward: (g: Tensor) => (Tensor | null)[], name = 'custom'): Tensor {
  if (!Array.isArray(inputs)) throw err(name, 'customGrad: inputs must be an array of tensors');
  checkArgs('customGrad', ...inputs);
  const out = noGrad(forward);
  if (!(out as Tensor | undefined)?.__isTensor) throw err(name, `customGrad: forward() must return a Tensor, got ${typeof out}`);
  return recordNode(out, name, inputs, {}, (g) => backward(g));
}

/**
 * Gradient reversal (the DANN layer, Ganin & Lempitsky 2015): identity forward, gradient multiplied by
 * -lambda, each its own kernel (shaders/reversal.wgsl). lambda is a number >= 0 (a constant: inside compile()
 * every replay keeps it) or a one-element float32 tensor (a RuntimeValue's), which the backward kernel reads
 * from its buffer on every replay, so a schedule set between steps really reaches a compiled step.
 */
export function gradReverse(x: Tensor, lambda: number | Tensor = 1): Tensor {
  checkArgs('gradReverse', x);
  if (typeof lambda === 'number') {
    if (!Number.isFinite(lambda) || lambda < 0) throw err('gradReverse', `lambda must be a finite number >= 0, got ${lambda}`);
  } else if (!lambda?.__isTensor || lambda.size !== 1 || lambda.dtype !== 'f32' || lambda.disposed) {
    const got = lambda?.__isTensor ? lambda.describe() : typeof lambda;
    throw err('gradReverse', `lambda must be a number or a one-element float32 tensor, got ${got}`);
  }
  return record(reverseK(x), 'gradReverse', [x], {lambda});
}
