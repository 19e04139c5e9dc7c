// @test node-only: reads the torchvision fixtures and decodes PNGs (node:fs, pngjs)
// @test once: host-side image arithmetic, no kernels
// The image transforms against torchvision 0.14 / PIL 9.4 (fixtures made once by scripts/torch-transform-fixtures.py)
// and the properties torchvision's RandomResizedCrop promises. PIL resizes in uint8 and rounds after each of its
// two passes; ours stays in float, so resized pixels differ by at most 1/255 (RESIZE_TOL); crops and flips are exact.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {readFileSync} from 'node:fs';
import {join} from 'node:path';
import {PNG} from 'pngjs';
import {loadSafetensors} from '../src/io/files.js';
import {
  bilinearWeights, centerCrop, compose, evalTransform, hflip, IMAGENET_MEAN, IMAGENET_STD, isDeterministic, normalize,
  pyRound, randomHorizontalFlip, randomResizedCrop, randomResizedCropBox, resize, toTensor, trainTransform, transformSet,
  type Image, type RawImage,
} from '../src/data/transforms.js';
import {mulberry32} from '../src/rng.js';

const t = suite('data: image transforms');
const dir = 'test/fixtures/torch-transforms';
const NAMES = ['a', 'b'] as const;
let expected: Map<string, {shape: number[]; data: Float32Array | Uint8Array}>;
const inputs: Record<string, RawImage> = {};
const tensor = (raw: RawImage) => toTensor()(raw);
/** Largest |ours - torchvision| per check, reported at the end of the suite. */
const worst: Record<string, number> = {};

// PIL rounds to uint8 after each of its two passes, each by at most half a level, and the vertical pass averages the
// horizontal pass's errors with weights >= 0 summing to 1: at most 1/255 from the exact result, which ours computes
// in float. 1e-5 more covers PIL's 22-bit fixed-point weights and float32 sums. Measured: 1.0000/255 on the upscale
// Resize(64) (both roundings at a half), 0.85-0.96/255 on every other resize and on the eval presets.
const RESIZE_TOL = 1 / 255 + 1e-5;

t.before(() => {
  expected = loadSafetensors(join(dir, 'expected.safetensors')).tensors as typeof expected;
  for (const n of NAMES) {
    const png = PNG.sync.read(readFileSync(join(dir, `${n}.png`)));  // RGBA: alpha (all 255) dropped
    inputs[n] = {data: png.data.filter((_, i) => i % 4 !== 3), height: png.height, width: png.width, channels: 3};
  }
});

/** Compares an Image with a torchvision output (U8 PIL bytes / 255, or F32), scaling the tolerance per channel. */
function compare(got: Image, key: string, tol: number, perChannel: readonly number[] = [1, 1, 1]): number {
  const want = expected.get(key);
  assert.ok(want, `fixture ${key}`);
  assert.equal([got.channels, got.height, got.width], want!.shape, `${key}: shape`);
  const px = got.height * got.width, bytes = want!.data instanceof Uint8Array;
  let max = 0;
  for (let i = 0; i < got.data.length; i++) {
    const theirs = bytes ? Math.fround(want!.data[i] / 255) : want!.data[i];  // ToTensor's float32 division
    const d = Math.abs(got.data[i] - theirs) * perChannel[Math.floor(i / px)];
    if (!(d <= tol)) assert.unreachable(`${key}: element ${i} is ${got.data[i]}, torchvision gave ${theirs}`);
    max = Math.max(max, d);
  }
  worst[key.split('.')[1]] = Math.max(worst[key.split('.')[1]] ?? 0, max);
  return max;
}

t('the fixture PNGs decode to the bytes PIL read (toTensor is /255, CHW)', () => {
  for (const n of NAMES) assert.is(compare(tensor(inputs[n]), `${n}.input`, 0), 0);
});

t('resize: torchvision Resize(20) and Resize(64) (an upscale) within 1/255, sizes rounded as torchvision does', () => {
  for (const n of NAMES) {
    for (const size of [20, 64]) compare(resize(size)(tensor(inputs[n])), `${n}.resize${size}`, RESIZE_TOL);
  }
  // 37 x 53 (w x h): short side 37 -> 20, long int(20 * 53 / 37) = int(28.65) = 28; 64 x 48: 48 -> 20, 64 -> 26.
  assert.equal([expected.get('a.resize20')!.shape[1], expected.get('a.resize20')!.shape[2]], [28, 20]);
  assert.equal([expected.get('b.resize20')!.shape[1], expected.get('b.resize20')!.shape[2]], [20, 26]);
});

/** Pillow's uint8 resampling (Resample.c, 8bpc) on our weights: 22-bit fixed point, rounded after each pass. */
function pilResize(img: RawImage, outH: number, outW: number): Uint8Array {
  const {height: H, width: W} = img, one = 2 ** 22;
  // One pass along `lines` lines; src(l, i) and dst(l, o) are pixel indices (HWC, 3 channels).
  const pass = (src: Uint8Array, lines: number, inLen: number, outLen: number, from: (l: number, i: number) => number,
    to: (l: number, o: number) => number, size: number) => {
    const {start, count, weights, k} = bilinearWeights(inLen, outLen);
    const fixed = weights.map((w) => Math.trunc(w < 0 ? w * one - 0.5 : w * one + 0.5));
    const out = new Uint8Array(size * 3);
    for (let l = 0; l < lines; l++) for (let o = 0; o < outLen; o++) for (let c = 0; c < 3; c++) {
      let s = one / 2;
      for (let j = 0; j < count[o]; j++) s += src[from(l, start[o] + j) * 3 + c] * fixed[o * k + j];
      out[to(l, o) * 3 + c] = Math.min(255, Math.max(0, Math.floor(s / one)));
    }
    return out;
  };
  // Horizontal first (rows of W to rows of outW), then vertical (columns of H to outH), as Pillow orders them.
  const mid = outW === W ? img.data : pass(img.data, H, W, outW, (y, x) => y * W + x, (y, x) => y * outW + x, H * outW);
  return outH === H ? mid : pass(mid, outW, H, outH, (x, y) => y * outW + x, (x, y) => y * outW + x, outH * outW);
}

t('Pillow\'s own uint8 arithmetic on our weights (bilinearWeights) gives torchvision\'s bytes exactly', () => {
  const bytesOf = (key: string) => expected.get(key)!;
  const same = (got: Uint8Array, key: string) => {  // got is HWC, the fixture CHW
    const want = bytesOf(key), [, h, w] = want.shape;
    for (let c = 0; c < 3; c++) for (let p = 0; p < h * w; p++) {
      if (got[p * 3 + c] !== want.data[c * h * w + p]) assert.unreachable(`${key}: channel ${c} pixel ${p}`);
    }
  };
  for (const n of NAMES) {
    for (const size of [20, 64]) {
      const [, h, w] = bytesOf(`${n}.resize${size}`).shape;
      same(pilResize(inputs[n], h, w), `${n}.resize${size}`);
    }
    // The 30 x 25 window at (5, 3) to 16 x 16: a downscale by 1.875 and 1.5625, the window's own bytes first.
    const W = inputs[n].width, win = new Uint8Array(30 * 25 * 3);
    for (let y = 0; y < 30; y++) {
      win.set(inputs[n].data.subarray(((5 + y) * W + 3) * 3, ((5 + y) * W + 28) * 3), y * 25 * 3);
    }
    same(pilResize({data: win, height: 30, width: 25}, 16, 16), `${n}.resized_crop`);
  }
});

t('resize to the image\'s own size is the exact identity (as PIL returns a copy)', () => {
  for (const n of NAMES) {
    const img = tensor(inputs[n]);
    const out = resize(Math.min(img.height, img.width))(img);
    assert.equal(Array.from(out.data), Array.from(img.data));
    assert.is(compare(out, `${n}.resize_own`, 0), 0);
    assert.equal(Array.from(resize([img.height, img.width])(img).data), Array.from(img.data));
  }
});

t('centerCrop: torchvision CenterCrop(17) and (32) exactly, offsets rounded half to even', () => {
  for (const n of NAMES) {
    for (const s of [17, 32]) assert.is(compare(centerCrop(s)(tensor(inputs[n])), `${n}.center${s}`, 0), 0);
  }
  // a is 37 wide: (37 - 32) / 2 = 2.5 -> 2 (Python), where Math.round would give 3.
  assert.equal([pyRound(2.5), pyRound(3.5), pyRound(-0.5), pyRound(2.4), pyRound(2.6)], [2, 4, -0, 2, 3]);
  assert.throws(() => centerCrop(60)(tensor(inputs.a)),
    /centerCrop: the image is 53x37 \(height x width\), smaller than the crop 60x60 \(height x width\)/);
});

t('Resize(32) + CenterCrop(28), a fixed crop resized to 16 x 16, and hflip match torchvision', () => {
  for (const n of NAMES) {
    compare(compose(resize(32), centerCrop(28))(tensor(inputs[n])), `${n}.resize32_center28`, RESIZE_TOL);
    const img = tensor(inputs[n]);
    const box = {data: new Float32Array(3 * 30 * 25), channels: 3, height: 30, width: 25};
    for (let c = 0; c < 3; c++) for (let y = 0; y < 30; y++) for (let x = 0; x < 25; x++) {
      box.data[(c * 30 + y) * 25 + x] = img.data[(c * img.height + 5 + y) * img.width + 3 + x];
    }
    compare(resize([16, 16])(box), `${n}.resized_crop`, RESIZE_TOL);
    assert.is(compare(hflip(img), `${n}.hflip`, 0), 0);
    assert.is(compare(randomHorizontalFlip({p: 1})(img), `${n}.hflip`, 0), 0);
  }
});

t('evalTransform(24), (40): torchvision\'s Resize + CenterCrop + ToTensor + Normalize within 1/255 of 0..1', () => {
  const perChannel = IMAGENET_STD;  // |ours - theirs| * std: the difference back in 0..1 units
  for (const n of NAMES) {
    for (const s of [24, 40]) compare(evalTransform(s)(inputs[n]), `${n}.eval${s}`, RESIZE_TOL, perChannel);
  }
  assert.match(evalTransform(224).description, /^Compose\(ToTensor\(\), Resize\(256\), CenterCrop\(224\), Normalize/);
  // Float images pass through toTensor: the preset takes either.
  assert.equal(Array.from(evalTransform(24)(tensor(inputs.a)).data), Array.from(evalTransform(24)(inputs.a).data));
});

t('normalize: (x - mean) / std per channel; a channel count that does not match is refused', () => {
  const img: Image = {data: Float32Array.from([0, 1, 0.5, 0.5, 1, 0]), channels: 3, height: 1, width: 2};
  const out = normalize()(img);
  for (let i = 0; i < 6; i++) {
    const c = Math.floor(i / 2);
    assert.ok(Math.abs(out.data[i] - (img.data[i] - IMAGENET_MEAN[c]) / IMAGENET_STD[c]) < 1e-6);
  }
  assert.throws(() => normalize()({...img, data: new Float32Array(2), channels: 1}),
    /normalize: the image has 1 channels, mean and std 3/);
});

t('randomResizedCropBox: windows inside the image, area and aspect within bounds (up to rounding), seeded', () => {
  const r = mulberry32(7);
  let fallbacks = 0;
  for (let k = 0; k < 2000; k++) {
    const H = 20 + Math.floor(r() * 200), W = 20 + Math.floor(r() * 200);
    const b = randomResizedCropBox(H, W, [0.08, 1], [3 / 4, 4 / 3], r);
    assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= H && b.left + b.width <= W, `box inside ${H}x${W}`);
    if (b.fallback) { fallbacks++; continue; }
    // w, h are sqrt(A * r), sqrt(A / r) rounded (each within 0.5), A / (H W) in [0.08, 1] and r in [3/4, 4/3].
    const {height: h, width: w} = b;
    assert.ok((w + 0.5) * (h + 0.5) >= 0.08 * H * W && (w - 0.5) * (h - 0.5) <= H * W, `area ${w}x${h} of ${W}x${H}`);
    assert.ok(w >= 0.75 * (h - 0.5) - 0.5 && w <= (4 / 3) * (h + 0.5) + 0.5, `aspect ${w}/${h}`);
  }
  assert.ok(fallbacks > 0 && fallbacks < 200, `${fallbacks} fallbacks of 2000 (images up to 11:1)`);
  const a = randomResizedCropBox(100, 80, [0.08, 1], [3 / 4, 4 / 3], mulberry32(3));
  assert.equal(randomResizedCropBox(100, 80, [0.08, 1], [3 / 4, 4 / 3], mulberry32(3)), a);
});

t('randomResizedCropBox: the central fallback clamps the aspect into ratio when no draw fits', () => {
  // The whole area at aspect 2..3 never fits a square: 10 misses, then the centre, h = round(w / 2).
  const box = (top: number, left: number, height: number, width: number, fallback: boolean) =>
    ({top, left, height, width, fallback});
  assert.equal(randomResizedCropBox(50, 50, [1, 1], [2, 3], mulberry32(1)), box(12, 0, 25, 50, true));
  // A very wide image (aspect 10) with ratio up to 4/3: h = 10, w = round(10 * 4/3) = 13, centred.
  assert.equal(randomResizedCropBox(10, 100, [1, 1], [3 / 4, 4 / 3], mulberry32(1)), box(0, 43, 10, 13, true));
  // An image whose aspect lies inside ratio falls back to the whole image (draws pinned near the top: aspect ~1.97).
  assert.equal(randomResizedCropBox(30, 30, [1, 1], [0.5, 2], () => 0.99), box(0, 0, 30, 30, true));
  // Draws at the middle: aspect exp(0) = 1, the whole area fits at once, no fallback.
  assert.equal(randomResizedCropBox(30, 30, [1, 1], [0.5, 2], () => 0.5), box(0, 0, 30, 30, false));
});

t('randomResizedCrop and trainTransform: the output size, the same crops for the same seed, others for another', () => {
  const img = tensor(inputs.b);
  const run = (seed: number) => {
    const tr = trainTransform(24, seed);
    return [0, 1, 2].map(() => Array.from(tr(inputs.b).data));
  };
  const s1 = run(1);
  assert.equal(run(1), s1);
  assert.not.equal(run(2)[0], s1[0]);
  assert.not.equal(s1[1], s1[0]);  // the stream advances: each call draws a new crop
  const out = randomResizedCrop([12, 20], {seed: 4})(img);
  assert.equal([out.channels, out.height, out.width], [3, 12, 20]);
  assert.throws(() => randomResizedCrop(8, {scale: [0.5, 0.2]}), /scale \[0.5,0.2\] must be 0 < lo <= hi <= 1/);
});

t('isDeterministic: fixed steps and the eval preset are; random crops, coin flips and the train preset are not', () => {
  assert.ok(isDeterministic(evalTransform(224)) && isDeterministic(compose(resize(8), centerCrop(8))));
  assert.not.ok(isDeterministic(trainTransform(224)) || isDeterministic(randomHorizontalFlip()));
  assert.ok(isDeterministic(randomHorizontalFlip({p: 0})) && isDeterministic(randomHorizontalFlip({p: 1})));
  assert.not.ok(isDeterministic(compose(resize(8), randomResizedCrop(8))));
});

t('transformSet: every image through a transform, labels kept; sizes must agree', () => {
  const set = {images: new Float32Array(2 * 3 * 6 * 8).map((_, i) => (i % 97) / 97), labels: Int32Array.from([1, 0]),
    n: 2, channels: 3, height: 6, width: 8, classes: 2};
  const out = transformSet(set, compose(resize(4), centerCrop(4)));
  assert.equal([out.n, out.channels, out.height, out.width, Array.from(out.labels)], [2, 3, 4, 4, [1, 0]]);
  let calls = 0;
  const growing = Object.assign((im: Image) => resize(4 + calls++)(im), {isDeterministic: false, description: 'growing'});
  assert.throws(() => transformSet(set, growing), /transformSet: image 1 came out 3x5x6, image 0 3x4x5/);
});

t('the measured differences from torchvision', () => {
  const text = Object.entries(worst).map(([k, v]) => `${k} ${(v * 255).toFixed(4)}/255`).join(', ');
  console.log(`\n  # max |ours - torchvision| in 0..1 units: ${text}`);
  assert.ok(worst.resize20 > 0 && worst.resize20 <= RESIZE_TOL);
});

t.run();
