// Image transforms as torchvision has them (Resize, CenterCrop, RandomResizedCrop, RandomHorizontalFlip, ToTensor,
// Normalize, Compose) and its two ImageNet presets, on host arrays. One representation throughout: an Image is
// float32 channel-major (CHW) in 0..1; toTensor makes one from decoded HWC uint8 pixels, so it comes first here,
// where torchvision converts last. The spatial steps therefore work in float where PIL works in uint8 and rounds
// after each pass: results agree with torchvision's within 2/255 (test/transforms.test.ts measures it).
// Platform-free; depends on none of ours but src/rng.ts.
import {mulberry32} from '../rng.js';
import type {ImageSet} from './image-set.js';

/** An image as the transforms take and give it: float32 channel-major, `data[(c * height + y) * width + x]`. */
export interface Image {
  /** [channels, height, width], values 0..1 until normalize. */
  data: Float32Array;
  channels: number;
  height: number;
  width: number;
}

/** A decoded image as files give it: uint8 pixels row-major with interleaved channels (HWC), RGB by default. */
export interface RawImage {
  /** [height, width, channels], values 0..255. */
  data: Uint8Array;
  height: number;
  width: number;
  /** Interleaved channels per pixel (default 3). */
  channels?: number;
}

/** One step or a pipeline: a function of an image, with what a cache of its outputs needs to know. */
export interface Transform<In = Image> {
  (image: In): Image;
  /** True when every call on the same image gives the same output (no random step), so outputs may be cached. */
  readonly isDeterministic: boolean;
  /** What it does, torchvision-style: `Compose(Resize(256), CenterCrop(224), ToTensor(), Normalize(...))`. */
  readonly description: string;
}

/** The ImageNet channel means torchvision's pretrained models expect (RGB). */
export const IMAGENET_MEAN: readonly number[] = [0.485, 0.456, 0.406];
/** The ImageNet channel standard deviations torchvision's pretrained models expect (RGB). */
export const IMAGENET_STD: readonly number[] = [0.229, 0.224, 0.225];

const make = <In>(f: (image: In) => Image, isDeterministic: boolean, description: string): Transform<In> =>
  Object.assign(f, {isDeterministic, description});

const isInt = (v: number) => Number.isInteger(v) && v > 0;
/** A size as [height, width]; one number is a square. */
function pair(size: number | readonly [number, number], what: string): [number, number] {
  const [h, w] = typeof size === 'number' ? [size, size] : size;
  if (!isInt(h) || !isInt(w)) {
    throw new Error(`webgpu-transfer: ${what}: size must be positive integers, got ${JSON.stringify(size)}`);
  }
  return [h, w];
}
const sizeText = (h: number, w: number) => `${h}x${w} (height x width)`;

/** Python's round(): halves to even, as torchvision's offsets are computed. */
export function pyRound(v: number): number {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision's ToTensor: decoded HWC uint8 pixels to a CHW float image / 255. An Image (float data) passes
 * through unchanged, so the presets take either.
 */
export function toTensor(): Transform<RawImage | Image> {
  return make((image: RawImage | Image): Image => {
    if (image.data instanceof Float32Array) return image as Image;
    const {data, height, width} = image, channels = image.channels ?? 3, px = height * width;
    if (data.length !== px * channels) {
      throw new Error(`webgpu-transfer: toTensor: ${data.length} bytes for ${sizeText(height, width)} x ` +
        `${channels} channels`);
    }
    const out = new Float32Array(px * channels);
    for (let p = 0; p < px; p++) for (let c = 0; c < channels; c++) out[c * px + p] = data[p * channels + c] / 255;
    return {data: out, channels, height, width};
  }, true, 'ToTensor()');
}

/**
 * PIL's resampling weights along one axis of `inSize` pixels to `outSize` (Pillow's precompute_coeffs with the
 * BILINEAR filter): output pixel i reads inputs `start[i] .. start[i] + count[i] - 1` with `weights[i * k + j]`.
 * A triangle of support 1, widened by the downscale factor (antialias); weights normalised to sum 1.
 */
export function bilinearWeights(inSize: number, outSize: number):
  {start: Int32Array; count: Int32Array; weights: Float64Array; k: number} {
  const scale = inSize / outSize, filterScale = Math.max(scale, 1), support = filterScale;
  const k = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize), count = new Int32Array(outSize), weights = new Float64Array(outSize * k);
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    // Pillow truncates (a C int cast) after adding 0.5; the clamps keep the taps inside the image.
    const lo = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - lo;
    let sum = 0;
    for (let j = 0; j < n; j++) {
      const x = Math.abs((j + lo - center + 0.5) / filterScale);
      const w = x < 1 ? 1 - x : 0;
      weights[i * k + j] = w;
      sum += w;
    }
    if (sum !== 0) for (let j = 0; j < n; j++) weights[i * k + j] /= sum;
    start[i] = lo; count[i] = n;
  }
  return {start, count, weights, k};
}

/** Resamples an image to exactly outH x outW, horizontal pass first as Pillow does; a same-size axis is skipped. */
function resampleTo(image: Image, outH: number, outW: number): Image {
  const {data, channels: C, height: H, width: W} = image;
  let src = data, w = W;
  if (outW !== W) {
    const {start, count, weights, k} = bilinearWeights(W, outW);
    const out = new Float32Array(C * H * outW);
    for (let row = 0; row < C * H; row++) {
      const ib = row * W, ob = row * outW;
      for (let x = 0; x < outW; x++) {
        let s = 0;
        for (let j = 0, o = x * k; j < count[x]; j++) s += src[ib + start[x] + j] * weights[o + j];
        out[ob + x] = s;
      }
    }
    src = out; w = outW;
  }
  if (outH !== H) {
    const {start, count, weights, k} = bilinearWeights(H, outH);
    const out = new Float32Array(C * outH * w);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < outH; y++) {
        const ob = (c * outH + y) * w, o = y * k;
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let j = 0; j < count[y]; j++) s += src[(c * H + start[y] + j) * w + x] * weights[o + j];
          out[ob + x] = s;
        }
      }
    }
    src = out;
  }
  return {data: src === data ? data.slice() : src, channels: C, height: outH, width: w};
}

/**
 * torchvision's Resize with bilinear antialiased filtering (PIL's BILINEAR). A number resizes the shorter side to
 * it and the longer to int(size * long / short), as torchvision rounds; [height, width] resizes to exactly that.
 * A resize to the image's own size returns an exact copy.
 */
export function resize(size: number | readonly [number, number]): Transform {
  const exact = typeof size !== 'number';
  pair(size, 'resize');
  return make((image: Image): Image => {
    const {height: h, width: w} = image;
    let outH: number, outW: number;
    if (exact) [outH, outW] = size as [number, number];
    else if (w <= h) [outW, outH] = [size as number, Math.trunc((size as number) * h / w)];
    else [outH, outW] = [size as number, Math.trunc((size as number) * w / h)];
    return resampleTo(image, outH, outW);
  }, true, `Resize(${exact ? `[${(size as readonly number[]).join(', ')}]` : size})`);
}

/** The height x width window at (top, left), which must lie inside the image. */
export function crop(image: Image, top: number, left: number, height: number, width: number): Image {
  const {data, channels: C, height: H, width: W} = image;
  if (top < 0 || left < 0 || top + height > H || left + width > W) {
    throw new Error(`webgpu-transfer: crop: window ${sizeText(height, width)} at (${top}, ${left}) is outside the ` +
      `image ${sizeText(H, W)}`);
  }
  const out = new Float32Array(C * height * width);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < height; y++) {
      const s = (c * H + top + y) * W + left;
      out.set(data.subarray(s, s + width), (c * height + y) * width);
    }
  }
  return {data: out, channels: C, height, width};
}

/**
 * torchvision's CenterCrop: the central window, its offset int(round((h - th) / 2)) with Python's rounding (halves
 * to even). An image smaller than the crop is refused, naming both sizes (torchvision pads it with zeros).
 */
export function centerCrop(size: number | readonly [number, number]): Transform {
  const [th, tw] = pair(size, 'centerCrop');
  return make((image: Image): Image => {
    const {height: h, width: w} = image;
    if (h < th || w < tw) {
      throw new Error(`webgpu-transfer: centerCrop: the image is ${sizeText(h, w)}, smaller than the crop ` +
        `${sizeText(th, tw)}; resize it first (torchvision would pad it with zeros)`);
    }
    return crop(image, pyRound((h - th) / 2), pyRound((w - tw) / 2), th, tw);
  }, true, `CenterCrop(${th === tw ? th : `[${th}, ${tw}]`})`);
}

/** A crop window: top-left corner and size, in pixels of the image it was drawn for. */
export interface CropBox {
  top: number; left: number; height: number; width: number;
  /** True when none of the 10 draws fitted and the central fallback was taken. */
  fallback: boolean;
}

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 draws of an area fraction in `scale` and a log-uniform aspect
 * ratio (width / height) in `ratio`; the first window that fits is placed uniformly. Else the central fallback:
 * the whole image, its aspect clamped into `ratio`. `random` is uniform in [0, 1).
 */
export function randomResizedCropBox(height: number, width: number, scale: readonly [number, number],
  ratio: readonly [number, number], random: () => number): CropBox {
  const area = height * width, logLo = Math.log(ratio[0]), logHi = Math.log(ratio[1]);
  for (let attempt = 0; attempt < 10; attempt++) {
    const target = area * (scale[0] + (scale[1] - scale[0]) * random());
    const aspect = Math.exp(logLo + (logHi - logLo) * random());
    const w = pyRound(Math.sqrt(target * aspect)), h = pyRound(Math.sqrt(target / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const top = Math.floor(random() * (height - h + 1)), left = Math.floor(random() * (width - w + 1));
      return {top, left, height: h, width: w, fallback: false};
    }
  }
  const inRatio = width / height, lo = Math.min(ratio[0], ratio[1]), hi = Math.max(ratio[0], ratio[1]);
  let w = width, h = height;
  if (inRatio < lo) h = pyRound(w / lo);
  else if (inRatio > hi) w = pyRound(h * hi);
  return {top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w, fallback: true};
}

/** Options of randomResizedCrop. */
export interface RandomResizedCropOptions {
  /** The crop's area as a fraction of the image's, drawn uniformly from this range (default [0.08, 1]). */
  scale?: readonly [number, number];
  /** The crop's aspect ratio (width / height), drawn log-uniformly from this range (default [3/4, 4/3]). */
  ratio?: readonly [number, number];
  /** Seeds the draws (default 0): the same seed gives the same sequence of crops. */
  seed?: number;
}

/**
 * torchvision's RandomResizedCrop: a random window (randomResizedCropBox) resized to `size` ([height, width], or a
 * square). Draws from its own seeded stream, so a pipeline built with the same seed replays the same crops.
 */
export function randomResizedCrop(size: number | readonly [number, number],
  opts: RandomResizedCropOptions = {}): Transform {
  const [th, tw] = pair(size, 'randomResizedCrop');
  const scale = opts.scale ?? [0.08, 1], ratio = opts.ratio ?? [3 / 4, 4 / 3];
  if (!(scale[0] > 0 && scale[0] <= scale[1] && scale[1] <= 1) || !(ratio[0] > 0 && ratio[0] <= ratio[1])) {
    throw new Error(`webgpu-transfer: randomResizedCrop: scale ${JSON.stringify(scale)} must be 0 < lo <= hi <= 1 ` +
      `and ratio ${JSON.stringify(ratio)} 0 < lo <= hi`);
  }
  const random = mulberry32(opts.seed ?? 0);
  return make((image: Image): Image => {
    const box = randomResizedCropBox(image.height, image.width, scale, ratio, random);
    return resampleTo(crop(image, box.top, box.left, box.height, box.width), th, tw);
  }, false, `RandomResizedCrop(${th === tw ? th : `[${th}, ${tw}]`}, scale=[${scale.join(', ')}], ` +
    `ratio=[${ratio.join(', ')}])`);
}

/** The image mirrored left to right. */
export function hflip(image: Image): Image {
  const {data, channels, height, width} = image, out = new Float32Array(data.length);
  for (let row = 0; row < channels * height; row++) {
    const b = row * width;
    for (let x = 0; x < width; x++) out[b + x] = data[b + width - 1 - x];
  }
  return {data: out, channels, height, width};
}

/**
 * torchvision's RandomHorizontalFlip: mirrors with probability `p` (default 0.5), drawn from its own stream seeded
 * by `seed` (default 0). Deterministic when p is 0 or 1.
 */
export function randomHorizontalFlip(opts: {p?: number; seed?: number} = {}): Transform {
  const p = opts.p ?? 0.5;
  if (!(p >= 0 && p <= 1)) throw new Error(`webgpu-transfer: randomHorizontalFlip: p must be in 0..1, got ${p}`);
  const random = mulberry32(opts.seed ?? 0);
  return make((image: Image) => (random() < p ? hflip(image) : {...image, data: image.data.slice()}),
    p === 0 || p === 1, `RandomHorizontalFlip(p=${p})`);
}

/** torchvision's Normalize: (x - mean[c]) / std[c] per channel (defaults: the ImageNet statistics). */
export function normalize(mean: readonly number[] = IMAGENET_MEAN, std: readonly number[] = IMAGENET_STD): Transform {
  if (mean.length !== std.length || std.some((s) => !(s > 0))) {
    throw new Error(`webgpu-transfer: normalize: mean ${JSON.stringify(mean)} and std ${JSON.stringify(std)} need ` +
      `one entry per channel, std positive`);
  }
  return make((image: Image): Image => {
    const {data, channels, height, width} = image, px = height * width;
    if (channels !== mean.length) {
      throw new Error(`webgpu-transfer: normalize: the image has ${channels} channels, mean and std ${mean.length}`);
    }
    const out = new Float32Array(data.length);
    for (let c = 0; c < channels; c++) {
      const m = mean[c], s = std[c];
      for (let i = c * px; i < (c + 1) * px; i++) out[i] = (data[i] - m) / s;
    }
    return {data: out, channels, height, width};
  }, true, `Normalize(mean=[${mean.join(', ')}], std=[${std.join(', ')}])`);
}

/** torchvision's Compose: the steps in order; deterministic when every step is. */
export function compose<In = Image>(first: Transform<In>, ...rest: Transform[]): Transform<In> {
  return make((image: In) => rest.reduce((x, t) => t(x), first(image)),
    first.isDeterministic && rest.every((t) => t.isDeterministic),
    `Compose(${[first, ...rest].map((t) => t.description).join(', ')})`);
}

/** Whether a transform gives the same output for the same image on every call (its outputs may be cached). */
export const isDeterministic = (transform: Transform<never>): boolean => transform.isDeterministic;

/**
 * The ImageNet evaluation preset: Resize(round(size * 256 / 224)), CenterCrop(size), ToTensor, Normalize (ImageNet
 * statistics); ToTensor first, as everywhere here. Takes decoded pixels or an Image.
 */
export function evalTransform(size: number): Transform<RawImage | Image> {
  return compose(toTensor(), resize(Math.round(size * 256 / 224)), centerCrop(size), normalize());
}

/**
 * The ImageNet training preset: RandomResizedCrop(size), RandomHorizontalFlip, ToTensor, Normalize (ImageNet
 * statistics), its random steps seeded from `seed` (default 0). Takes decoded pixels or an Image.
 */
export function trainTransform(size: number, seed = 0): Transform<RawImage | Image> {
  // The flip draws from its own stream, so a crop's draws never shift the flips.
  const flip = randomHorizontalFlip({seed: seed + 0x9e3779b9});
  return compose(toTensor(), randomResizedCrop(size, {seed}), flip, normalize());
}

/** Image i of a set, as the transforms take it (a copy). */
export function imageOf(set: ImageSet, i: number): Image {
  const px = set.channels * set.height * set.width;
  return {data: set.images.slice(i * px, (i + 1) * px), channels: set.channels, height: set.height, width: set.width};
}

/** A transform applied to each image of a set, in order; every output must have the same size. Labels are kept. */
export function transformSet(set: ImageSet, transform: Transform): ImageSet {
  if (set.n === 0) return {...set, images: new Float32Array(0), labels: new Int32Array(0)};
  let images = new Float32Array(0), shape: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < set.n; i++) {
    const out = transform(imageOf(set, i)), px = out.data.length;
    if (i === 0) { shape = [out.channels, out.height, out.width]; images = new Float32Array(set.n * px); }
    else if (out.channels !== shape[0] || out.height !== shape[1] || out.width !== shape[2]) {
      throw new Error(`webgpu-transfer: transformSet: image ${i} came out ${out.channels}x${out.height}x` +
        `${out.width}, image 0 ${shape.join('x')}; end the transform with a fixed-size step (centerCrop, ` +
        `randomResizedCrop)`);
    }
    images.set(out.data, i * px);
  }
  return {...set, images, labels: set.labels.slice(), channels: shape[0], height: shape[1], width: shape[2]};
}
