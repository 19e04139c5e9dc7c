// A grid of samples as a PNG (pngjs does the encoding), so a user can see any dataset or domain.
import {PNG} from 'pngjs';
import {writeFileSync} from 'node:fs';
import type {ImageSet} from './image-set.js';

/**
 * `count` images of a set (default 64 from `start`) laid out `cols` wide (default 8), each magnified `scale` times
 * (default 2), as PNG bytes.
 */
export function gridPng(set: ImageSet, opts: {count?: number; cols?: number; start?: number; scale?: number} = {}): Buffer {
  const count = Math.min(opts.count ?? 64, set.n), cols = opts.cols ?? 8, scale = opts.scale ?? 2;
  const rows = Math.ceil(count / cols), {height: H, width: W, channels: C} = set;
  const cw = (W + 2) * scale, ch = (H + 2) * scale;
  const png = new PNG({width: cols * cw, height: rows * ch});
  png.data.fill(255);
  const px = C * H * W;
  for (let i = 0; i < count; i++) {
    const k = (opts.start ?? 0) + i;
    const gx = (i % cols) * cw + scale, gy = Math.floor(i / cols) * ch + scale;
    for (let y = 0; y < H * scale; y++) for (let x = 0; x < W * scale; x++) {
      const sy = Math.floor(y / scale), sx = Math.floor(x / scale);
      const o = ((gy + y) * png.width + gx + x) * 4;
      for (let c = 0; c < 3; c++) {
        const v = set.images[k * px + ((C === 3 ? c : 0) * H + sy) * W + sx];
        png.data[o + c] = Math.round(255 * Math.min(1, Math.max(0, v)));
      }
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** Writes gridPng's PNG to `path`. */
export function writeGridPng(path: string, set: ImageSet, opts: Parameters<typeof gridPng>[1] = {}): void {
  writeFileSync(path, gridPng(set, opts));
}
