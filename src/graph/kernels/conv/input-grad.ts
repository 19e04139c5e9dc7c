// The direct conv input gradient: the generated tile (tile-input.ts; over row segments, or whole rows where
// strided) or the hand-written conv_bwd_input8 / conv_bwd_input.
import {CONV_KERNELS} from '../../shaders.js';
import {empty, type Tensor} from '../../tensor.js';
import {sourceBinding} from '../device.js';
import {copyK} from '../layout/index.js';
import {kernelPrefs} from '../prefs.js';
import {convFlops, convNote, convParams, uniformWeightVec4s, weightBinding, type Conv2dGeom} from './geom.js';
import {inputTile} from './select.js';
import {convBwdInputKernel} from './tile-input.js';
import {hoistedPixels, imagesPerThread, withLanes, withStores4} from './tiles.js';

/**
 * The input gradient by the generated tile (`tiled`; reading dy through the staging texture with `texture`) or,
 * without one, conv_bwd_input8 (`c8`) or conv_bwd_input.
 */
export function conv2dBwdInputDirectK(dy: Tensor, w: Tensor, g: Conv2dGeom, tiled: boolean, c8: boolean,
  texture = false): Tensor {
  const dx = empty([g.N, g.C, g.H, g.W]);
  // Strided: only the whole-row tile, one row per thread (ConvTile.wholeRow).
  const strided = g.SH !== 1 || g.SW !== 1;
  const chosen = tiled ? inputTile(g) : null;
  // dy's segment starts at column iw0 + PW - (KW - 1): 4-aligned when that offset and dy's rows are; over whole
  // rows it starts at dy's row.
  const sized = chosen && (strided ? {...chosen, pixels: g.W} : hoistedPixels(chosen, g.W, g.KW, 1, 'input',
    g.OW % 4 === 0 && (g.KW - 1 - g.PW) % 4 === 0));
  const fitted = sized && withLanes(withStores4(sized, g.W), g.C);
  const whole = fitted && kernelPrefs.convWholeRows && fitted.pixels >= g.W
    ? {...fitted, wholeRow: {PW: g.PW, OW: g.OW, SH: g.SH, SW: g.SW},
      segments4: kernelPrefs.convSegments4 && chosen!.segments4 !== false && g.OW % 4 === 0} : fitted;
  const tile = whole && whole.wholeRow
    ? {...whole, images: imagesPerThread(whole, kernelPrefs.convInputImages, g.N)} : whole;
  const groups4 = tile ? tile.groups * Math.ceil(g.C / (4 * tile.groups)) : c8 ? 2 * Math.ceil(g.C / 8)
    : Math.ceil(g.C / 4);
  const kk = g.KH * g.KW;
  // [K, C, KH*KW] -> [K, KH*KW, Cpad]
  const wt = empty([g.K * kk, groups4 * 4]);
  copyK(w, wt, [g.K, g.C, kk], [g.C * kk, kk, 1], [kk * groups4 * 4, 1, groups4 * 4]);
  const u = tile ? uniformWeightVec4s(wt) : 0;
  const launch = {buffers: [sourceBinding(dy, !!tile && texture), weightBinding(wt, u), dx.buffer],
    params: convParams(g, groups4),
    flops: convFlops(g), note: convNote(g)};
  if (tile) {
    const imageBlocks = Math.ceil(g.N / (tile.images ?? 1));
    const threads = imageBlocks * (groups4 / tile.groups) * g.H * Math.ceil(g.W / tile.pixels);
    convBwdInputKernel({...tile, texture}, g.KW, u).launch('main', {...launch, threads});
  } else {
    const threads = c8 ? g.N * (groups4 / 2) * g.H * g.SW * Math.ceil(Math.ceil(g.W / g.SW) / 4)
      : g.N * groups4 * g.H * Math.ceil(g.W / 4);
    CONV_KERNELS[c8 ? 'conv_bwd_input8' : 'conv_bwd_input'].launch('main', {...launch, threads});
  }
  wt.dispose();
  return dx;
}

