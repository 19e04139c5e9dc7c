// Synthetic domains of a digit set, deterministic by seed. Depends on none of ours.
//   mnistM:   MNIST-M style (Ganin & Lempitsky 2015): binarised digit, |texture patch - digit| per colour channel.
//             Procedural colour textures stand in for the BSDS500 photo patches that cannot be fetched (the
//             train and test splits draw from separate texture pools), or crops of real photos are passed in
//             (`photos`: the CIFAR-10 test photos of ./photos.ts for 'mnist-m-photo').
//   inverted, rotated (by an angle), affineJitter (random rotation/scale/shear/shift), noisy (Gaussian).
import type {ImageSet} from './image-set.js';
import {gaussian, mulberry32} from '../rng.js';

const T1 = 64; // v1 texture size


/** One procedural colour texture [3, T, T] in 0..1: oriented waves, blobs and a gradient per channel. */
function texture(seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(3 * T1 * T1);
  const waves = Array.from({length: 4}, () => ({fx: (r() - 0.5) * 0.6, fy: (r() - 0.5) * 0.6, ph: r() * 6.28, amp: 0.2 + 0.3 * r(), col: [r(), r(), r()]}));
  const blobs = Array.from({length: 6}, () => ({x: r() * T1, y: r() * T1, s: 4 + 12 * r(), col: [r(), r(), r()]}));
  const base = [r(), r(), r()], grad = [r() - 0.5, r() - 0.5, r() - 0.5];
  for (let y = 0; y < T1; y++) for (let x = 0; x < T1; x++) {
    for (let c = 0; c < 3; c++) {
      let v = base[c] + grad[c] * (x + y) / (2 * T1);
      for (const w of waves) v += w.amp * w.col[c] * Math.sin(w.fx * x + w.fy * y + w.ph);
      for (const b of blobs) v += 0.5 * b.col[c] * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
      out[(c * T1 + y) * T1 + x] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}

/**
 * Style 'v2' (dataset 'mnist-m2'): textures closer to BSDS500 photo crops than v1's smooth colour fields.
 * Luminance is 1/f^beta noise (sinusoids with log-spaced frequencies from 1/T2 up to `maxFreq` cycles per
 * pixel, amplitude ~ f^-beta: natural images have beta ~ 1), plus a few straight edges (object boundaries)
 * and low-frequency colour casts per channel; each crop has a mean drawn from `meanRange` and a standard
 * deviation of `contrast`. High-frequency content puts stroke-like clutter under the digit and mid-grey means
 * make |patch - digit| low in contrast, which is what makes real MNIST-M hard for an MNIST model.
 */
export interface MnistMV2Options {
  contrast?: number; beta?: number; maxFreq?: number; meanRange?: [number, number]; edges?: number;
  /**
   * Crop means closer than this to 0.5 are not drawn (the mean is uniform on meanRange minus that band): a crop
   * near mid-grey gives |patch - digit| about the same inside and outside the strokes, erasing the digit for
   * every model. 0 keeps the whole range (the first v2).
   */
  meanGap?: number;
  /**
   * Per-channel offsets of a crop's colour, uniform in [-colour, colour] around its mean. 0.1 (the first v2) keeps
   * crops near grey, so a digit comes out with one polarity in all three channels; photo crops are coloured (sky,
   * foliage, skin), so the digit is often bright in one channel and dark in another.
   */
  colour?: number;
  /**
   * Share of crops (0..1) split by a straight line through their middle, with the texture on one side mirrored
   * about mid-grey (v -> 1 - v): a dark crop becomes part light and a light crop part dark, so the digit comes out
   * part bright and part dark, as on a photo crop that spans sky and roof. 0 (the default): none.
   */
  splitCrops?: number;
}

/**
 * Options of mnistM: seed, split, texture pool, style (v1 colour fields, v2 textured crops), mask threshold,
 * photos.
 */
export interface MnistMOptions {
  seed?: number; split?: 'train' | 'test'; poolSize?: number;
  /** 'v1' (default, dataset 'mnist-m'): smooth procedural colour fields; 'v2' (dataset 'mnist-m2'): see MnistMV2Options. */
  style?: 'v1' | 'v2';
  v2?: MnistMV2Options;
  /**
   * A pixel belongs to the digit's mask when its grey value is above this. 0.5 (default) keeps the stroke cores;
   * 0 takes every inked pixel, as the reference MNIST-M recipe does (tf-dann's create_mnistm.py: `x > 0`).
   */
  threshold?: number;
  /**
   * Draw the test split's crops from the training split's texture pool (the reference recipe: one photo pool for
   * both), instead of a pool of its own (default false: test textures never seen in training).
   */
  sharedPool?: boolean;
  /**
   * Real photos [n, 3, h, w] (h, w >= the digits' size) to crop the backgrounds from, in place of the procedural
   * textures (`style` and `v2` are then unused): each digit gets a random photo and a random crop of it, as the
   * reference recipe does with BSDS500. The caller picks the pool of each split (e.g. disjoint halves).
   */
  photos?: ImageSet;
  /**
   * Magnification of the photo crops (>= 1): a crop of (size / photoScale) photo pixels is resized bilinearly to
   * the digit's size. 1 (default) crops at the photos' own resolution. A 28-pixel crop of a 32-pixel CIFAR photo
   * holds a whole scene, busier than a 28-pixel patch of a 481 x 321 BSDS500 photo; magnifying lowers its
   * frequencies.
   */
  photoScale?: number;
}

const T2 = 96; // v2 texture size: crops of 28 x 28 from a 96 x 96 field

/**
 * The v2 defaults. Chosen with a source-only model (the DANN experiment's network, trained on MNIST) scored on
 * v2 *training* images, never the test split. First round (1200 steps, all crop means allowed): crop means in
 * [0.2, 0.8] gave 35%, [0.15, 0.7] 45%, [0.1, 0.6] 54%, [0.05, 0.55] 62% (the paper's real MNIST-M: 52%);
 * frequency (beta 0.6 to 1, maxFreq 0.35 or 0.5) and contrast (0.12 to 0.3) moved it by a few points only. The
 * mean decides how many digits come out dark on a light crop (|patch - 1| < patch), the polarity an MNIST model
 * has never seen. But [0.1, 0.6] left the target's own ceiling at 74% (train on target, validation split): crops
 * near mid-grey erase the digit. Second round (scripts/tune-mnist-m2.mjs: the experiment's 2400 steps, scored
 * on the 500-image validation split, whose digits were then also in the source set: it read above the test split,
 * see results/dann-diagnosis), means kept 0.2 away from 0.5: [0.05, 0.95] 49.8%, [0.05, 0.85] 57.8%
 * (train on target 92.6%; real MNIST-M: 96%), [0.05, 0.75] 72.2%. Kept: [0.05, 0.85], the nearest to the middle
 * of the 45-65% band the DANN experiment asks for. BSDS500 photos average ~0.4.
 */
export const MNIST_M2_DEFAULTS: Required<MnistMV2Options> = {
  contrast: 0.2, beta: 1, maxFreq: 0.35, meanRange: [0.05, 0.85], edges: 3, meanGap: 0.2, colour: 0.1, splitCrops: 0,
};

/** One v2 texture [3, T2, T2] in 0..1. */
function textureV2(seed: number, o: Required<MnistMV2Options>): Float32Array {
  const r = mulberry32(seed);
  const n = T2 * T2;
  const field = (waves: number, fmin: number, fmax: number, beta: number) => {
    const f = new Float32Array(n);
    const ws = Array.from({length: waves}, () => {
      const freq = fmin * (fmax / fmin) ** r(), th = r() * Math.PI, ph = r() * 2 * Math.PI;
      return {kx: 2 * Math.PI * freq * Math.cos(th), ky: 2 * Math.PI * freq * Math.sin(th), ph, amp: freq ** -beta * (0.5 + r())};
    });
    for (let y = 0; y < T2; y++) for (let x = 0; x < T2; x++) {
      let v = 0;
      for (const w of ws) v += w.amp * Math.sin(w.kx * x + w.ky * y + w.ph);
      f[y * T2 + x] = v;
    }
    return standardise(f);
  };
  const lum = field(32, 1 / T2, o.maxFreq, o.beta);
  // Straight edges: a step of random height across a random line.
  for (let e = 0; e < o.edges; e++) {
    const th = r() * 2 * Math.PI, cx = r() * T2, cy = r() * T2, h = (r() - 0.5) * 2.5;
    const nx = Math.cos(th), ny = Math.sin(th);
    for (let y = 0; y < T2; y++) for (let x = 0; x < T2; x++) if ((x - cx) * nx + (y - cy) * ny > 0) lum[y * T2 + x] += h;
  }
  standardise(lum);
  const out = new Float32Array(3 * n);
  const mean = cropMean(r(), o.meanRange, o.meanGap);
  for (let c = 0; c < 3; c++) {
    const cast = field(6, 1 / T2, 4 / T2, 1), tint = (r() - 0.5) * 2 * o.colour, load = 0.7 + 0.6 * r();
    for (let i = 0; i < n; i++) out[c * n + i] = Math.min(1, Math.max(0, mean + tint + o.contrast * (load * lum[i] + 0.35 * cast[i])));
  }
  return out;
}

/** u in [0, 1) mapped uniformly onto [lo, hi] without the band (0.5 - gap, 0.5 + gap). */
function cropMean(u: number, [lo, hi]: [number, number], gap: number): number {
  const a = Math.max(lo, Math.min(hi, 0.5 - gap)), b = Math.min(hi, Math.max(lo, 0.5 + gap));
  const dark = a - lo, light = hi - b;
  if (!(dark + light > 0)) throw new Error(`webgpu-transfer: mnistM: meanGap ${gap} leaves nothing of meanRange [${lo}, ${hi}]`);
  const t = u * (dark + light);
  return t < dark ? lo + t : b + (t - dark);
}

function standardise(f: Float32Array): Float32Array {
  let m = 0;
  for (const v of f) m += v;
  m /= f.length;
  let s = 0;
  for (const v of f) s += (v - m) ** 2;
  s = Math.sqrt(s / f.length) || 1;
  for (let i = 0; i < f.length; i++) f[i] = (f[i] - m) / s;
  return f;
}

/**
 * Magnification of the photo crops of 'mnist-m-photo' (MnistMOptions.photoScale: a 7 x 7 region of a 32 x 32
 * CIFAR-10 photo resized to 28 x 28). Chosen with source-only models of the DANN experiment scored on the target
 * *validation* split (scripts/tune-mnist-m-photo.mjs, seed 0, 2,400 steps at width 0.5): scale 1 gave 32.6%, 1.5
 * 42.8%, 2 46.4%, 3 51.2%, 4 52.8%, 6 54.8%, 8 56.4%. Kept: the nearest to the paper's source-only result on real
 * MNIST-M (52.25%); that was on the `mnist` package's 7,500 source digits, before the experiment moved to all
 * 60,000 (where source only reads 52.6% at 2,400 steps). Unmagnified crops hold a whole scene in 28 pixels,
 * busier than the 28-pixel patches of 481 x 321 photos that real MNIST-M uses.
 */
export const MNIST_M_PHOTO_SCALE = 4;

/**
 * 'mnist-m-photo': the reference MNIST-M recipe (masks at 0) on crops of `photos`, magnified `photoScale` times
 * (default MNIST_M_PHOTO_SCALE); the train split crops the first half of the photos and the test split the second,
 * so no test crop comes from a photo seen in training.
 */
export function mnistMPhoto(set: ImageSet, photos: ImageSet,
  opts: {seed?: number; split?: 'train' | 'test'; photoScale?: number} = {}): ImageSet {
  const half = Math.floor(photos.n / 2), from = opts.split === 'test' ? half : 0;
  const size = photos.channels * photos.height * photos.width;
  const pool = {...photos, n: half, labels: photos.labels.slice(from, from + half),
    images: photos.images.subarray(from * size, (from + half) * size)};
  return mnistM(set, {seed: opts.seed ?? 0, split: opts.split, threshold: 0, photos: pool,
    photoScale: opts.photoScale ?? MNIST_M_PHOTO_SCALE});
}

/**
 * MNIST-M style digits (Ganin & Lempitsky 2015): |texture patch - binarised digit| per colour channel, 3 channels
 * out; procedural textures (train and test from separate pools) or crops of `photos`.
 */
export function mnistM(set: ImageSet, opts: MnistMOptions = {}): ImageSet {
  if (set.channels !== 1) throw new Error(`webgpu-transfer: mnistM: needs a 1-channel digit set, got ${set.channels} channels`);
  const style = opts.style ?? 'v1';
  if (style !== 'v1' && style !== 'v2') throw new Error(`webgpu-transfer: mnistM: style must be 'v1' or 'v2', got '${style}'`);
  const seed = opts.seed ?? 0, pool = opts.poolSize ?? (style === 'v2' ? 200 : 64);
  // Separate texture pools: train textures and test textures never coincide.
  const threshold = opts.threshold ?? 0.5;
  if (!(threshold >= 0 && threshold < 1)) throw new Error(`webgpu-transfer: mnistM: threshold must be in [0, 1), got ${threshold}`);
  const poolSeed = (seed * 2 + (opts.split === 'test' && !opts.sharedPool ? 1 : 0)) * 7919 + 17;
  const v2 = {...MNIST_M2_DEFAULTS, ...opts.v2};
  if (!(v2.splitCrops >= 0 && v2.splitCrops <= 1)) {
    throw new Error(`webgpu-transfer: mnistM: v2.splitCrops must be a share in [0, 1], got ${v2.splitCrops}`);
  }
  const r = mulberry32(seed * 31 + (opts.split === 'test' ? 7 : 3));
  if (opts.photos) return photoMnistM(set, opts.photos, threshold, opts.photoScale ?? 1, r);
  const T = style === 'v2' ? T2 : T1;
  const textures = Array.from({length: pool}, (_, i) => (style === 'v2' ? textureV2(poolSeed + i * 104729, v2) : texture(poolSeed + i * 104729)));
  // The splits draw from a generator of their own, so without them every image stays as it was.
  const rSplit = mulberry32(seed * 31 + (opts.split === 'test' ? 13 : 11));
  const {height: H, width: W} = set;
  const px = H * W;
  const images = new Float32Array(set.n * 3 * px);
  for (let i = 0; i < set.n; i++) {
    const tex = textures[Math.floor(r() * pool)];
    const ox = Math.floor(r() * (T - W)), oy = Math.floor(r() * (T - H));
    // A split: the line through (lx, ly) in the middle half of the crop, at angle th; pixels on its positive side mirrored.
    const split = style === 'v2' && v2.splitCrops > 0 && rSplit() < v2.splitCrops;
    const th = split ? rSplit() * 2 * Math.PI : 0, lx = split ? W * (0.25 + 0.5 * rSplit()) : 0, ly = split ? H * (0.25 + 0.5 * rSplit()) : 0;
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const d = set.images[i * px + y * W + x] > threshold ? 1 : 0;
      const mirror = split && (x - lx) * Math.cos(th) + (y - ly) * Math.sin(th) > 0;
      for (let c = 0; c < 3; c++) {
        const t = tex[(c * T + oy + y) * T + ox + x];
        images[(i * 3 + c) * px + y * W + x] = Math.abs((mirror ? 1 - t : t) - d);
      }
    }
  }
  return {...set, images, channels: 3};
}

/** mnistM on real photos: digit i gets a random photo and a random crop of it; |crop - digit| per channel. */
function photoMnistM(set: ImageSet, photos: ImageSet, threshold: number, scale: number, r: () => number): ImageSet {
  const {height: H, width: W} = set, {height: PH, width: PW} = photos;
  if (photos.channels !== 3 || PH < H || PW < W || photos.n < 1) {
    throw new Error(`webgpu-transfer: mnistM: photos must be RGB and at least ${H}x${W}, got ${photos.n} of ` +
      `${photos.channels}x${PH}x${PW}`);
  }
  if (!(scale >= 1 && scale <= Math.min(H, W))) {
    throw new Error(`webgpu-transfer: mnistM: photoScale must be in [1, ${Math.min(H, W)}], got ${scale}`);
  }
  const px = H * W, ppx = PH * PW;
  // The crop spans (H - 1) / scale photo pixels between its first and last sample points.
  const spanY = (H - 1) / scale, spanX = (W - 1) / scale;
  const images = new Float32Array(set.n * 3 * px);
  for (let i = 0; i < set.n; i++) {
    const k = Math.floor(r() * photos.n);
    // Offsets on the integer grid at scale 1 (every crop position equally likely), continuous otherwise.
    const ox = scale === 1 ? Math.floor(r() * (PW - W + 1)) : r() * (PW - 1 - spanX);
    const oy = scale === 1 ? Math.floor(r() * (PH - H + 1)) : r() * (PH - 1 - spanY);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const d = set.images[i * px + y * W + x] > threshold ? 1 : 0;
      const sy = oy + y / scale, sx = ox + x / scale;
      const y0 = Math.min(Math.floor(sy), PH - 1), x0 = Math.min(Math.floor(sx), PW - 1);
      const y1 = Math.min(y0 + 1, PH - 1), x1 = Math.min(x0 + 1, PW - 1), fy = sy - y0, fx = sx - x0;
      const r0 = y0 * PW, r1 = y1 * PW, src = photos.images;
      for (let c = 0; c < 3; c++) {
        const b = (k * 3 + c) * ppx;
        const v = (1 - fy) * ((1 - fx) * src[b + r0 + x0] + fx * src[b + r0 + x1]) +
          fy * ((1 - fx) * src[b + r1 + x0] + fx * src[b + r1 + x1]);
        images[(i * 3 + c) * px + y * W + x] = Math.abs(v - d);
      }
    }
  }
  return {...set, images, channels: 3};
}

/** Pixels above `threshold` become 1, the rest 0 (the reference DANN recipe feeds MNIST binarised at 0). */
export function binarised(set: ImageSet, threshold = 0): ImageSet {
  return {...set, images: set.images.map((v) => (v > threshold ? 1 : 0))};
}

/** Every pixel v becomes 1 - v. */
export function inverted(set: ImageSet): ImageSet { return {...set, images: set.images.map((v) => 1 - v)}; }

/** Samples each channel through an inverse affine map (bilinear, zero outside). m maps output to input coords around the centre. */
function warp(set: ImageSet, matrixFor: (i: number) => [number, number, number, number, number, number]): ImageSet {
  const {height: H, width: W, channels: C} = set;
  const px = H * W;
  const images = new Float32Array(set.images.length);
  const cx = (W - 1) / 2, cy = (H - 1) / 2;
  for (let i = 0; i < set.n; i++) {
    const [a, b, c, d, tx, ty] = matrixFor(i);
    for (let ch = 0; ch < C; ch++) {
      const src = set.images.subarray((i * C + ch) * px, (i * C + ch + 1) * px);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
        const u = a * (x - cx) + b * (y - cy) + cx + tx, v = c * (x - cx) + d * (y - cy) + cy + ty;
        const x0 = Math.floor(u), y0 = Math.floor(v), fx = u - x0, fy = v - y0;
        const at = (xx: number, yy: number) => (xx < 0 || yy < 0 || xx >= W || yy >= H ? 0 : src[yy * W + xx]);
        images[(i * C + ch) * px + y * W + x] = (1 - fy) * ((1 - fx) * at(x0, y0) + fx * at(x0 + 1, y0)) + fy * ((1 - fx) * at(x0, y0 + 1) + fx * at(x0 + 1, y0 + 1));
      }
    }
  }
  return {...set, images};
}

/** Rotated counter-clockwise by `degrees` about the centre. */
export function rotated(set: ImageSet, degrees: number): ImageSet {
  // Output pixel p samples the input at R(degrees) (p - centre): with y pointing down this turns the image
  // counter-clockwise, as torchvision's rotate does.
  const t = (degrees * Math.PI) / 180, cos = Math.cos(t), sin = Math.sin(t);
  return warp(set, () => [cos, -sin, sin, cos, 0, 0]);
}

/** Options of affineJitter: seed, and the largest rotation (degrees), scale range, shear and shift (pixels). */
export interface JitterOptions { seed?: number; maxRotate?: number; scale?: [number, number]; maxShear?: number; maxShift?: number }

/** A random affine map per image: rotation, scale, shear and shift drawn from a seeded stream. */
export function affineJitter(set: ImageSet, opts: JitterOptions = {}): ImageSet {
  const r = mulberry32((opts.seed ?? 0) * 977 + 5);
  const rot = opts.maxRotate ?? 15, [s0, s1] = opts.scale ?? [0.9, 1.1], sh = opts.maxShear ?? 0.15, mv = opts.maxShift ?? 2;
  return warp(set, () => {
    const t = ((r() * 2 - 1) * rot * Math.PI) / 180, s = s0 + (s1 - s0) * r(), k = (r() * 2 - 1) * sh;
    const cos = Math.cos(t) / s, sin = Math.sin(t) / s;
    return [cos, -sin + k, sin, cos, (r() * 2 - 1) * mv, (r() * 2 - 1) * mv];
  });
}

/** Gaussian pixel noise of standard deviation sigma, clamped to 0..1. */
export function noisy(set: ImageSet, sigma = 0.3, seed = 0): ImageSet {
  const r = mulberry32(seed * 131 + 9);
  return {...set, images: set.images.map((v) => Math.min(1, Math.max(0, v + sigma * gaussian(r))))};
}

/** Options of shifted: seed and the range of shifts in pixels. */
export interface ShiftOptions { seed?: number; /** Smallest and largest shift in pixels along the larger axis. */ min?: number; max?: number }

/**
 * Each image moved by a whole-pixel offset (dx, dy) with max(|dx|, |dy|) drawn in [min, max] (zero fill): shifts
 * up to 2 px are what the CapsNet paper trains with; 3-4 px lie beyond that.
 */
export function shifted(set: ImageSet, opts: ShiftOptions = {}): ImageSet {
  const lo = opts.min ?? 0, hi = opts.max ?? 2;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 0 && hi >= lo)) throw new Error(`webgpu-transfer: shifted: need integers 0 <= min <= max, got ${lo}, ${hi}`);
  const r = mulberry32((opts.seed ?? 0) * 613 + 17);
  return warp(set, () => {
    const m = lo + Math.floor(r() * (hi - lo + 1));
    const other = Math.floor(r() * (2 * m + 1)) - m;
    const s1 = r() < 0.5 ? -m : m;
    const [dx, dy] = r() < 0.5 ? [s1, other] : [other, s1];
    return [1, 0, 0, 1, -dx, -dy];
  });
}

/** Mirrored left to right. */
export function mirrored(set: ImageSet): ImageSet { return warp(set, () => [-1, 0, 0, 1, 0, 0]); }
