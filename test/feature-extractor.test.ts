// @test node-only: the disk feature store writes a scratch file (node:fs)
// The fixed feature extractor: features computed once equal the body's output, stores in memory and on disk give the
// same batches, training moves the head alone (the body stays bit-identical), and PhotoLoader's augmented batches
// are seeded per batch (the same after a resume) and refuse a transform that gives the wrong size.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {FileFeatureStore, featureStoreFor} from '../src/io/feature-file.js';
import {PhotoLoader} from '../src/data/photo-loader.js';
import {trainTransform, type RawImage} from '../src/data/transforms.js';
import {mulberry32} from '../src/rng.js';

const t = suite('feature extractor and photo batches');

/** n images [3, 16, 16] of `classes` classes; each class a different colour balance, so features separate. */
function images(n: number, classes: number, seed: number): wt.ImageSet {
  const r = mulberry32(seed), px = 16 * 16;
  const data = new Float32Array(n * 3 * px), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    for (let c = 0; c < 3; c++) for (let p = 0; p < px; p++) data[(i * 3 + c) * px + p] = (c === labels[i] ? 1 : -0.5) + r() - 0.5;
  }
  return {images: data, labels, n, channels: 3, height: 16, width: 16, classes};
}

t('extractFeatures gives the body\'s output, in memory and in a scratch file alike', async () => {
  const model = wt.models.cifarResNet({width: 4, classes: 3, seed: 2});
  const set = images(13, 3, 1);
  const mem = await wt.transfer.extractFeatures(model, wt.transfer.imageSetSource(set), {batch: 5});
  const file = await wt.transfer.extractFeatures(model, wt.transfer.imageSetSource(set), {batch: 4, store: featureStoreFor(0)});
  assert.ok(file.store instanceof FileFeatureStore && file.store.array === null, 'featureStoreFor(0) spills to disk');
  model.eval();
  const direct = await wt.tidy(() => model.features(wt.tensor(set.images, [13, 3, 16, 16]))).data();
  assert.equal([mem.set.n, mem.set.channels, mem.set.height, mem.set.width], [13, 32, 1, 1]);
  const fromFile = new Float32Array(13 * 32);
  for (let i = 0; i < 13; i++) file.store.read(i, fromFile, i * 32);
  for (let i = 0; i < direct.length; i++) {
    assert.ok(Math.abs(mem.set.images[i] - direct[i]) < 1e-5, `memory feature ${i}`);
    assert.ok(Math.abs(fromFile[i] - direct[i]) < 1e-5, `file feature ${i}`);
  }
  // The same seed draws the same batches from either store.
  const a = new wt.transfer.FeatureLoader(mem, {batch: 4, seed: 3}), b = new wt.transfer.FeatureLoader(file, {batch: 4, seed: 3});
  for (let k = 0; k < 5; k++) {
    const [xa, ya] = a.next(), [xb, yb] = b.next();
    assert.equal(Array.from(ya), Array.from(yb));
    assert.ok(xa.every((v, i) => Math.abs(v - xb[i]) < 1e-5), `batch ${k}`);
  }
  file.store.dispose();
  model.dispose();
});

t('FeatureExtractor trains the head alone: the body stays bit-identical, the head learns the classes', async () => {
  const model = wt.models.cifarResNet({width: 4, classes: 3, seed: 2});
  const body = new Map<string, Float32Array>();
  for (const [k, p] of model.namedParameters()) if (!k.startsWith('fc.')) body.set(k, await p.data() as Float32Array);
  const head0 = await model.head.weight.data();
  const train = await wt.transfer.extractFeatures(model, wt.transfer.imageSetSource(images(30, 3, 4)));
  const test = await wt.transfer.extractFeatures(model, wt.transfer.imageSetSource(images(30, 3, 5)));
  const strategy = new wt.transfer.FeatureExtractor({model, train, test, batch: 10, lr: 0.05, seed: 0});
  const loop = new wt.TrainingLoop(strategy, {steps: 60, logEvery: 60, evalEvery: 61});
  await loop.fit();
  const {test_accuracy} = await strategy.evaluate();
  assert.ok(test_accuracy >= 0.9, `head accuracy on separable features: ${test_accuracy}`);
  // The full result stays for callers (finetune's final score): the same as the whole model on the test photos.
  assert.is(strategy.lastEval!.n, 30);
  assert.is(strategy.lastEval!.accuracy, test_accuracy);
  const whole = await wt.evaluate(model, images(30, 3, 5));
  assert.ok(Math.abs(whole.accuracy - test_accuracy) < 1e-9 && Math.abs(whole.loss - strategy.lastEval!.loss) < 1e-4,
    `whole model ${whole.accuracy} / ${whole.loss}, head on features ${test_accuracy} / ${strategy.lastEval!.loss}`);
  for (const [k, p] of model.namedParameters()) {
    if (k.startsWith('fc.')) continue;
    assert.equal(Array.from(await p.data()), Array.from(body.get(k)!), `${k} unchanged`);
  }
  assert.ok((await model.head.weight.data()).some((v, i) => v !== head0[i]), 'the head moved');
  loop.dispose();
  strategy.dispose();
  model.dispose();
});

t('PhotoLoader: seeded per batch (a resumed loader draws the same crops), sized by the transform', () => {
  const r = mulberry32(9);
  const photos: RawImage[] = Array.from({length: 6}, (_, i) => {
    const h = 20 + i, w = 24 + 2 * i;
    return {data: Uint8Array.from({length: h * w * 3}, () => Math.floor(r() * 256)), height: h, width: w, channels: 3};
  });
  const labels = Int32Array.from([0, 1, 0, 1, 0, 1]);
  const make = () => new PhotoLoader(photos, labels, 2, {batch: 3, size: 16, seed: 7, transform: (s) => trainTransform(16, s)});
  const a = make(), b = make();
  const first = a.next()[0].slice();
  assert.equal(Array.from(b.next()[0]), Array.from(first), 'same seed, same batch');
  a.next();
  const state = a.state();
  const third = a.next()[0].slice();
  const c = make();
  c.setState(state);
  assert.equal(Array.from(c.next()[0]), Array.from(third), 'a resumed loader draws the same crops');
  assert.is(first.length, 3 * 3 * 16 * 16);
  const wrong = new PhotoLoader(photos, labels, 2, {batch: 2, size: 8, seed: 1, transform: (s) => trainTransform(16, s)});
  assert.throws(() => wrong.next(), /came out 3x16x16, want 3x8x8/);
  assert.throws(() => new PhotoLoader(photos, labels.subarray(0, 3), 2, {batch: 2, size: 8, transform: (s) => trainTransform(8, s)}),
    /6 photos but 3 labels/);
});

t.run();
