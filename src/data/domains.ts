// Synthetic domains of a digit set, deterministic by seed. Depends on none of ours.
//   mnistM:   MNIST-M style (Ganin & Lempitsky 2015): binarised digit, |texture patch - digit| per colour channel.
//             Procedural colour textures stand in for the BSDS500 photo patches that cannot be fetched;
//             the train and test splits draw from separate texture pools.
//   inverted, rotated (by an angle), affineJitter (random rotation/scale/shear/shift), noisy (Gaussian).
import type {ImageSet} from './mnist.js';
import {gaussian, mulberry32} from './rng.js';

const T = 64; // texture size


/** One procedural colour texture [3, T, T] in 0..1: oriented waves, blobs and a gradient per channel. */
function texture(seed: number): Float32Array {
  const r = mulberry32(seed);
  const out = new Float32Array(3 * T * T);
  const waves = Array.from({length: 4}, () => ({fx: (r() - 0.5) * 0.6, fy: (r() - 0.5) * 0.6, ph: r() * 6.28, amp: 0.2 + 0.3 * r(), col: [r(), r(), r()]}));
  const blobs = Array.from({length: 6}, () => ({x: r() * T, y: r() * T, s: 4 + 12 * r(), col: [r(), r(), r()]}));
  const base = [r(), r(), r()], grad = [r() - 0.5, r() - 0.5, r() - 0.5];
  for (let y = 0; y < T; y++) for (let x = 0; x < T; x++) {
    for (let c = 0; c < 3; c++) {
      let v = base[c] + grad[c] * (x + y) / (2 * T);
      for (const w of waves) v += w.amp * w.col[c] * Math.sin(w.fx * x + w.fy * y + w.ph);
      for (const b of blobs) v += 0.5 * b.col[c] * Math.exp(-((x - b.x) ** 2 + (y - b.y) ** 2) / (2 * b.s * b.s));
      out[(c * T + y) * T + x] = Math.min(1, Math.max(0, v));
    }
  }
  return out;
}

export interface MnistMOptions { seed?: number; split?: 'train' | 'test'; poolSize?: number }

export function mnistM(set: ImageSet, opts: MnistMOptions = {}): ImageSet {
  if (set.channels !== 1) throw new Error(`webgpu-transfer: mnistM: needs a 1-channel digit set, got ${set.channels} channels`);
  const seed = opts.seed ?? 0, pool = opts.poolSize ?? 64;
  // Separate texture pools: train textures and test textures never coincide.
  const poolSeed = (seed * 2 + (opts.split === 'test' ? 1 : 0)) * 7919 + 17;
  const textures = Array.from({length: pool}, (_, i) => texture(poolSeed + i * 104729));
  const r = mulberry32(seed * 31 + (opts.split === 'test' ? 7 : 3));
  const {height: H, width: W} = set;
  const px = H * W;
  const images = new Float32Array(set.n * 3 * px);
  for (let i = 0; i < set.n; i++) {
    const tex = textures[Math.floor(r() * pool)];
    const ox = Math.floor(r() * (T - W)), oy = Math.floor(r() * (T - H));
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
      const d = set.images[i * px + y * W + x] > 0.5 ? 1 : 0;
      for (let c = 0; c < 3; c++) images[(i * 3 + c) * px + y * W + x] = Math.abs(tex[(c * T + oy + y) * T + ox + x] - d);
    }
  }
  return {...set, images, channels: 3};
}

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
