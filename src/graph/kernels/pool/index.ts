// Pooling launchers: max (with a fused relu where asked) and average pooling and their input gradients, and
// adaptive average pooling (adaptive.ts). The variants and where each runs: select.ts.
import {POOL, POOL_TEXTURE, poolWindowSteps} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {dummyBuffer, LOOP_STEPS_MAX, loopsLimited, sourceBinding} from '../device.js';
import {fillK} from '../layout/index.js';
import {choose} from '../select.js';
import type {PoolGeom} from './geom.js';
import {POOL_BACKWARD, POOL_FORWARD} from './select.js';

export {poolGeom, type AdaptiveGeom, type PoolGeom} from './geom.js';
export {adaptiveAvgPoolK, adaptiveAvgPoolBwdK} from './adaptive.js';
export {pool2x2Fits} from './select.js';

const poolParams = (g: PoolGeom) => ({NC: g.N * g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH,
  SW: g.SW, PH: g.PH, PW: g.PW});

type PairEntry = 'pool2_bwd' | 'pool2_bwd4' | 'pool3_bwd';

/** The outputs a thread of each forward pooling kernel on storage writes. */
const OUTPUTS_PER_THREAD = {pool2_fwd: 2, pool3_fwd: 4, pool_fwd: 1} as const;

/** Max pooling (with relu: of relu(x), reluMaxPool2d) or average pooling. */
export function poolK(x: Tensor, g: PoolGeom, max: boolean, relu = false): {y: Tensor; arg: Tensor | null} {
  // A thread loops over its whole window, which llvmpipe would cut short past its loop limit: refused, not wrong.
  if (loopsLimited() && poolWindowSteps(g) > LOOP_STEPS_MAX) {
    throw new Error(`webgpu-transfer: ${max ? 'max' : 'average'} pooling: a ${g.KH}x${g.KW} window (${g.KH * g.KW} ` +
      `values, ${poolWindowSteps(g)} loop steps) is more than one llvmpipe thread can loop over (${LOOP_STEPS_MAX}); ` +
      'use a smaller window, adaptiveAvgPool2d to 1x1, or another adapter');
  }
  const y = empty([g.N, g.C, g.OH, g.OW]);
  const arg = max ? empty([g.N, g.C, g.OH, g.OW], 'i32') : null;
  const constants = {MAX: max ? 1 : 0, RELU: relu ? 1 : 0};
  const buffers = [x.buffer, y.buffer, arg ? arg.buffer : dummyBuffer()];
  const variant = choose(POOL_FORWARD, g);
  if (variant.endsWith('_texture')) {
    const entry = variant.replace('_texture', '') as keyof typeof OUTPUTS_PER_THREAD;
    POOL_TEXTURE.launch(entry, {buffers: [sourceBinding(x, true), ...buffers.slice(1)],
      params: poolParams(g), threads: y.size / OUTPUTS_PER_THREAD[entry], constants});
  } else {
    const entry = variant as keyof typeof OUTPUTS_PER_THREAD;
    POOL.launch(entry, {buffers, params: poolParams(g), threads: y.size / OUTPUTS_PER_THREAD[entry], constants});
  }
  return {y, arg};
}

/**
 * Pooling's input gradient. After reluMaxPool2d the forward wrote -1 as the argmax of each window whose relu passes
 * no gradient, which no input matches: the same kernels serve with and without the relu.
 */
export function poolBwdK(gy: Tensor, arg: Tensor | null, g: PoolGeom): Tensor {
  const dx = empty([g.N, g.C, g.H, g.W]);
  const variant = choose(POOL_BACKWARD, {g, max: !!arg});
  if (variant.startsWith('pool2_bwd') || variant.startsWith('pool3_bwd')) {
    // A thread per 2 or 4 outputs (pairs) or 8 inputs (quads): every input written, so no fill runs first.
    const texture = variant.endsWith('_texture'), entry = variant.replace('_texture', '') as PairEntry;
    (texture ? POOL_TEXTURE : POOL).launch(entry, {buffers: [sourceBinding(gy, texture),
      arg ? arg.buffer : dummyBuffer(), dx.buffer], params: poolParams(g), constants: {MAX: arg ? 1 : 0},
    threads: entry === 'pool2_bwd' ? gy.size / 2 : entry === 'pool2_bwd4' ? gy.size / 4 : dx.size / 8});
  } else if (variant === 'pool_bwd_scatter') {
    // Windows that do not overlap: each output sends its gradient to its argmax (a fill, then one write each).
    fillK(dx, 0);
    POOL.launch('pool_bwd_scatter', {buffers: [gy.buffer, arg!.buffer, dx.buffer], params: poolParams(g),
      threads: gy.size});
  } else {
    POOL.launch('pool_bwd', {buffers: [gy.buffer, arg ? arg.buffer : dummyBuffer(), dx.buffer], params: poolParams(g),
      threads: dx.size, constants: {MAX: arg ? 1 : 0}});
  }
  return dx;
}
