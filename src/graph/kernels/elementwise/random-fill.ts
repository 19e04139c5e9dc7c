// Random fills: dropout masks and uniform draws, one element per thread (shaders/random.wgsl).
import {RANDOM} from '../../shaders.js';
import {empty, type Shape, type Tensor} from '../../tensor.js';

/** seed is read at dispatch and again at every replay of a capture, so replays draw fresh masks. */
export function dropoutMaskK(shape: Shape, p: number, seed: () => number): Tensor {
  const out = empty(shape);
  if (!out.size) return out;
  RANDOM.launch('dropout_mask', {buffers: [out.buffer], params: () => ({n: out.size, seed: seed(), p,
    scale: p < 1 ? 1 / (1 - p) : 0}), threads: out.size});
  return out;
}

export function uniformK(shape: Shape, lo: number, hi: number, seed: number): Tensor {
  const out = empty(shape);
  if (!out.size) return out;
  RANDOM.launch('uniform_main', {buffers: [out.buffer], params: {n: out.size, seed, p: lo, scale: hi - lo},
    threads: out.size});
  return out;
}
