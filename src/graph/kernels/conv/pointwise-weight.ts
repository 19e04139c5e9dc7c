// The weight gradient of a 1x1 convolution as blocks of 4 or 8 output x 4 input channels over spans of the pixels
// (shaders/conv2d/pointwise-weight.wgsl), the spans' sums added after.
import {CONV_POINTWISE_WEIGHT} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {LOOP_STEPS_MAX, loopsLimited, splitThreads} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import {reduceK} from '../reduce/index.js';
import {convFlops, convNote, type Conv2dGeom} from './geom.js';

/** Output channels a thread's block takes: 4, or 8 (ROWS8); conv/select.ts says where each fits. */
export type PointwiseRows = 4 | 8;

/**
 * dW [K, C, 1, 1]: the N * H * W / 4 (image, pixel quad) pairs cut into spans so that about splitThreads() threads
 * run (kernelPrefs.convSplitTarget where set; each within llvmpipe's loop limit), each span's sums in a partial,
 * added by reduceK.
 */
export function conv2dBwdWeightPointwiseK(x: Tensor, dy: Tensor, g: Conv2dGeom, rows: PointwiseRows): Tensor {
  const P4 = g.H * g.W / 4, pairs = g.N * P4, blocks = (g.K / rows) * (g.C / 4);
  const target = kernelPrefs.convSplitTarget === 'auto' ? splitThreads() : kernelPrefs.convSplitTarget;
  let spans = Math.max(1, Math.min(pairs, Math.round(target / blocks)));
  if (loopsLimited()) spans = Math.max(spans, Math.ceil(pairs / (LOOP_STEPS_MAX - 2)));
  const span = Math.ceil(pairs / spans);
  spans = Math.ceil(pairs / span);
  const partial = empty(spans > 1 ? [spans, g.K, g.C] : [g.K, g.C, 1, 1]);
  CONV_POINTWISE_WEIGHT.launch('pointwise_weight', {buffers: [x.buffer, dy.buffer, partial.buffer],
    params: {N: g.N, C: g.C, K: g.K, P4, span, spans}, threads: blocks * spans,
    constants: {ROWS8: rows === 8 ? 1 : 0}, flops: convFlops(g), note: convNote(g)});
  if (spans === 1) return partial;
  const dw = reduceK('sum', partial, 1, spans, g.K * g.C);
  partial.dispose();
  return dw.viewAsDispose([g.K, g.C, 1, 1]);
}
