// The weight gradient of a 1x1 convolution as 4 x 4 channel blocks over spans of the pixels
// (shaders/conv2d/pointwise-weight.wgsl), the spans' sums added after.
import {CONV_POINTWISE_WEIGHT} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {LOOP_STEPS_MAX, loopsLimited, splitThreads} from '../device.js';
import {kernelPrefs} from '../prefs.js';
import {reduceK} from '../reduce/index.js';
import {convFlops, convNote, type Conv2dGeom} from './geom.js';

/** Whether the kernel can run `g`: 1x1, stride 1, unpadded, ungrouped, channels and pixels in whole vec4s. */
export const pointwiseWeightFits = (g: Conv2dGeom): boolean => g.KH === 1 && g.KW === 1 && g.SH === 1 &&
  g.SW === 1 && g.PH === 0 && g.PW === 0 && g.groups === 1 && g.K % 4 === 0 && g.C % 4 === 0 &&
  (g.H * g.W) % 4 === 0;

/**
 * dW [K, C, 1, 1]: the N * H * W / 4 (image, pixel quad) pairs cut into spans so that about splitThreads() threads
 * run (kernelPrefs.convSplitTarget where set; each within llvmpipe's loop limit), each span's sums in a partial,
 * added by reduceK.
 */
export function conv2dBwdWeightPointwiseK(x: Tensor, dy: Tensor, g: Conv2dGeom): Tensor {
  const P4 = g.H * g.W / 4, pairs = g.N * P4, blocks = (g.K / 4) * (g.C / 4);
  const target = kernelPrefs.convSplitTarget === 'auto' ? splitThreads() : kernelPrefs.convSplitTarget;
  let spans = Math.max(1, Math.min(pairs, Math.round(target / blocks)));
  if (loopsLimited()) spans = Math.max(spans, Math.ceil(pairs / (LOOP_STEPS_MAX - 2)));
  const span = Math.ceil(pairs / spans);
  spans = Math.ceil(pairs / span);
  const partial = empty(spans > 1 ? [spans, g.K, g.C] : [g.K, g.C, 1, 1]);
  CONV_POINTWISE_WEIGHT.launch('pointwise_weight', {buffers: [x.buffer, dy.buffer, partial.buffer],
    params: {N: g.N, C: g.C, K: g.K, P4, span, spans}, threads: blocks * spans, flops: convFlops(g),
    note: convNote(g)});
  if (spans === 1) return partial;
  const dw = reduceK('sum', partial, 1, spans, g.K * g.C);
  partial.dispose();
  return dw.viewAsDispose([g.K, g.C, 1, 1]);
}
