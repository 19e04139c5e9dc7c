// Adaptive average pooling (shaders/adaptive-pool.wgsl), or a mean by reduceK for a 1 x 1 output (pool/select.ts).
import {ADAPTIVE_POOL, adaptiveBinSteps} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {LOOP_STEPS_MAX, loopsLimited} from '../device.js';
import {reduceK} from '../reduce/index.js';
import {choose} from '../select.js';
import type {AdaptiveGeom} from './geom.js';
import {POOL_ADAPTIVE} from './select.js';


const adaptiveParams = (g: AdaptiveGeom) => ({NC: g.N * g.C, H: g.H, W: g.W, OH: g.OH, OW: g.OW});

/**
 * Forward. A 1 x 1 output (the global pooling of ResNets) is the mean of each plane, which reduceK computes
 * splitting long planes over several threads: as fast as adaptive_fwd on llvmpipe, 1.6-2.6x faster on SwiftShader
 * ([32, 512, 7, 7], [8, 64, 56, 56], [2, 2048, 7, 7]). Other sizes take one thread per output.
 */
export function adaptiveAvgPoolK(x: Tensor, g: AdaptiveGeom): Tensor {
  if (choose(POOL_ADAPTIVE, g) === 'mean') {
    return reduceK('sum', x, g.N * g.C, g.H * g.W, 1, 1 / (g.H * g.W)).viewAsDispose([g.N, g.C, 1, 1]);
  }
  // A thread loops over its whole bin, which llvmpipe would cut short past its loop limit: refused, not wrong.
  const bin = (Math.ceil(g.H / g.OH) + 1) * (Math.ceil(g.W / g.OW) + 1);
  if (loopsLimited() && adaptiveBinSteps(g) > LOOP_STEPS_MAX) {
    throw new Error(`webgpu-transfer: adaptiveAvgPool2d: ${g.H}x${g.W} -> ${g.OH}x${g.OW} makes bins of up to ${bin} ` +
      `values, more than one llvmpipe thread can loop over (${LOOP_STEPS_MAX}); pool to a larger output, or to 1x1`);
  }
  const y = empty([g.N, g.C, g.OH, g.OW]);
  ADAPTIVE_POOL.launch('adaptive_fwd', {buffers: [x.buffer, y.buffer], params: adaptiveParams(g), threads: y.size,
    note: `${g.N}x${g.C}x${g.H}x${g.W}->${g.OH}x${g.OW}`});
  return y;
}

/** Input gradient: one thread per input, summing gy / count over the bins that hold it. */
export function adaptiveAvgPoolBwdK(gy: Tensor, g: AdaptiveGeom): Tensor {
  const dx = empty([g.N, g.C, g.H, g.W]);
  ADAPTIVE_POOL.launch('adaptive_bwd', {buffers: [gy.buffer, dx.buffer], params: adaptiveParams(g), threads: dx.size,
    note: `${g.N}x${g.C}x${g.H}x${g.W}<-${g.OH}x${g.OW}`});
  return dx;
}
