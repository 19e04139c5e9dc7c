// Transfer to photos, as `finetune` and the page's "your images" view share it (src/transfer/photos.ts): the
// architecture told from a state dict's keys, weights refused by their first bad key, the stratified split, each
// strategy training what it should, and domain-adversarial training of a pretrained body on unlabelled photos; AdaBN's
// statistics against float64 (atol 1e-5 on means, rtol 1e-4 on variances).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {modelEntries} from '../src/train/weights.js';
import {decodeSafetensors, encodeSafetensors} from '../src/io/safetensors.js';
import type {RawImage} from '../src/data/transforms.js';
import {mulberry32} from '../src/rng.js';
import {rejectsWith} from './lib/check.js';

const t = suite('photo transfer (shared by finetune and the page)');
const {transfer, models} = wt;

/** A model's weights as a decoded safetensors file, as the page and the CLI read one. */
async function fileOf(m: wt.Module, meta: Record<string, string> = {}) {
  return decodeSafetensors(encodeSafetensors(await modelEntries(m), meta), 'weights.safetensors');
}

/** n photos of 20x18 pixels, a colour per class plus noise. */
function photos(n: number, classes: number, seed: number): {photos: RawImage[]; labels: Int32Array} {
  const r = mulberry32(seed), out: RawImage[] = [], labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % classes;
    const data = new Uint8Array(20 * 18 * 3);
    for (let p = 0; p < 20 * 18; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(255 * ((c === labels[i] ? 0.7 : 0.2) + 0.3 * r()));
    out.push({data, width: 20, height: 18, channels: 3});
  }
  return {photos: out, labels};
}

t('the architecture comes from the header, else from the keys; a misfit names its first bad key', async () => {
  const shapes = (m: wt.Module) => new Map([...m.stateDict()].map(([k, v]) => [k, v.shape]));
  const cases: [wt.Module, string][] = [[models.resnet18({width: 4, classes: 3}), 'resnet18'], [models.resnet34({width: 4, classes: 3}), 'resnet34'],
    [models.resnet50({width: 4, classes: 3}), 'resnet50'], [models.mobilenetV2({widthMult: 0.35, classes: 3}), 'mobilenet_v2'],
    [models.cifarResNet({width: 4, classes: 3}), 'cifar_resnet']];
  for (const [m, arch] of cases) {
    assert.is(transfer.detectArchitecture(shapes(m)), arch);
    m.dispose();
  }
  assert.throws(() => transfer.detectArchitecture(new Map([['0.weight', [6, 1, 5, 5]]])), /none of .*the first keys: 0\.weight/);
  // Header-less weights (as torchvision saves them) load; a head of the wrong shape is refused with both shapes.
  const m = models.cifarResNet({width: 4, classes: 3, seed: 1});
  const {model, info} = await transfer.modelFromWeights(await fileOf(m), 'w');
  assert.equal(info.spec, {arch: 'cifar_resnet', classes: 3, width: 4, layers: [1, 1, 1, 1]});
  const x = wt.tensor(new Float32Array(2 * 3 * 16 * 16).map((_, i) => Math.sin(i)), [2, 3, 16, 16]);
  m.eval(); model.eval();
  assert.equal(await m.forward(x).data(), await model.forward(x).data(), 'the same logits');
  const file = await fileOf(m, {arch_spec: JSON.stringify({...info.spec, classes: 4})});
  await transfer.modelFromWeights(file, 'bad.safetensors').then(() => assert.unreachable(), (e: Error) =>
    assert.match(e.message, /bad\.safetensors does not fit a cifar_resnet: .*'fc\.weight' has shape \[3, ?32\] in the source but \[4, ?32\]/));
  m.dispose(); model.dispose();
});

t('the split holds out a share of each class, seeded, and refuses an empty class', () => {
  const labels = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]);
  const a = transfer.stratifiedSplit(labels, ['a', 'b'], 0.2, 3);
  assert.equal(a, transfer.stratifiedSplit(labels, ['a', 'b'], 0.2, 3));
  assert.is(a.val.filter((i) => labels[i] === 0).length, 1);
  assert.is(a.val.filter((i) => labels[i] === 1).length, 2);
  assert.equal([...a.train, ...a.val].sort((p, q) => p - q), [...labels.keys()]);
  // A class of one image trains on it and holds none out; a class with none is refused.
  const one = transfer.stratifiedSplit(Int32Array.from([0, 0, 1]), ['a', 'b'], 0.2, 0);
  assert.ok(one.train.includes(2) && one.val.length === 1 && one.val[0] < 2, JSON.stringify(one));
  assert.throws(() => transfer.stratifiedSplit(Int32Array.from([0, 0, 0]), ['a', 'b'], 0.2, 0), /class 'b' has 0 image/);
});

t('each strategy trains what it should on photos', async () => {
  const {photos: ph, labels} = photos(12, 3, 5);
  const val = transfer.photoSet(ph.slice(0, 3), Int32Array.from([0, 1, 2]), 3, wt.data.evalTransform(16));
  const source = models.cifarResNet({width: 4, classes: 5, seed: 7});
  const spec = {arch: 'cifar_resnet' as const, classes: 5, width: 4, layers: [1, 1, 1, 1]};
  const recipe = {source, spec, photos: ph, labels, classes: 3, val, size: 16, batch: 4, lr: 0.01, seed: 0};
  for (const name of ['fine-tune', 'l2sp', 'kl', 'layer-transfer'] as const) {
    const {strategy, model, frozen} = await transfer.photoStrategy({...recipe, strategy: name});
    assert.is(model.head.parameters()[0].shape[0], 3, `${name}: a head of 3 classes`);
    const conv1 = await model.get('conv1').parameters()[0].data();
    const loop = new wt.TrainingLoop(strategy, {steps: 3});
    await loop.fit(); loop.dispose();
    const moved = (await model.get('conv1').parameters()[0].data()).some((v, i) => v !== conv1[i]);
    assert.is(moved, name !== 'layer-transfer', `${name}: conv1 ${moved ? 'moved' : 'stayed'}${frozen !== undefined ? ` (k ${frozen})` : ''}`);
    model.dispose();
  }
  await transfer.photoStrategy({...recipe, strategy: 'layer-transfer', freeze: 99}).then(() => assert.unreachable(), (e: Error) =>
    assert.match(e.message, /freeze 99: a cifar_resnet has \d+ layers with parameters below its head/));
  // The feature extractor reads photos one at a time too ({length, load}).
  const lazy = {length: ph.length, load: async (i: number) => ph[i]};
  const fe = await transfer.photoStrategy({...recipe, strategy: 'feature-extractor', photos: lazy});
  assert.is(fe.model, source, 'the feature extractor trains a new head on the source itself');
  const loop = new wt.TrainingLoop(fe.strategy, {steps: 2});
  await loop.fit(); loop.dispose();
  source.dispose();
});

t('bn adapt: statistics re-estimated on the training photos before training, then frozen; the others keep the source\'s', async () => {
  const {photos: ph, labels} = photos(12, 3, 6);
  const val = transfer.photoSet(ph.slice(0, 3), Int32Array.from([0, 1, 2]), 3, wt.data.evalTransform(16));
  const source = models.cifarResNet({width: 4, classes: 5, seed: 7});
  source.eval();
  const spec = {arch: 'cifar_resnet' as const, classes: 5, width: 4, layers: [1, 1, 1, 1]};
  const recipe = {source, spec, photos: ph, labels, classes: 3, val, size: 16, batch: 4, lr: 0.01, seed: 0};
  const stats = async (m: wt.Module) => Array.from(await (m.get('bn1') as wt.BatchNorm2d).runningMean.data());
  const sourceMean = await stats(source);
  // What AdaBN gives on the training photos through the evaluation transform (the whole set: 12 < 1,000).
  const expected = models.cifarResNet({width: 4, classes: 5, seed: 7});
  await transfer.adaptBatchNorm(expected, transfer.photoSet(ph, labels, 3, wt.data.evalTransform(16)));
  const want = await stats(expected);
  for (const bn of ['frozen', 'adapt'] as const) {
    const {strategy, model} = await transfer.photoStrategy({...recipe, strategy: 'fine-tune', bn});
    const before = await stats(model);
    const loop = new wt.TrainingLoop(strategy, {steps: 2});
    await loop.fit(); loop.dispose();
    assert.equal(await stats(model), before, `${bn}: statistics stay frozen while training`);
    if (bn === 'frozen') assert.equal(before, sourceMean, 'frozen: the source\'s statistics');
    else before.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-5, `adapt: channel ${i}: ${v} vs ${want[i]}`));
    model.dispose();
  }
  expected.dispose();
  source.dispose();
});

t('DANN on photos: the body adapts, the head learns the classes, the domain classifier stays out of the model', async () => {
  const {photos: ph, labels} = photos(16, 2, 9);
  const ev = wt.data.evalTransform(16);
  const labelled = transfer.photoSet(ph.slice(0, 8), labels.slice(0, 8), 2, ev);
  // The target domain: the same kind of photos, darker.
  const dark = ph.slice(8).map((p) => ({...p, data: p.data.map((v) => v >> 1)}));
  const unlabelled = transfer.photoSet(dark, labels.slice(8), 2, ev);
  const source = models.cifarResNet({width: 4, classes: 5, seed: 3});
  const before = await source.get('layer1.0.conv1').parameters()[0].data();
  const {strategy, model} = transfer.photoDann({source, labelled, unlabelled, val: labelled, batch: 4, lr: 1e-3, seed: 0});
  const terms: string[] = [];
  const loop = new wt.TrainingLoop(strategy, {steps: 4, logEvery: 1, sinks: [{record: (r) => terms.push(...Object.keys(r.terms))}]});
  await loop.fit(); loop.dispose();
  assert.ok(terms.includes('domain_acc'), `terms: ${[...new Set(terms)].join(', ')}`);
  const after = await model.get('layer1.0.conv1').parameters()[0].data();
  assert.ok(after.some((v, i) => v !== before[i]), 'the body trained');
  assert.equal([...model.stateDict().keys()].filter((k) => k.startsWith('fc.')), ['fc.weight', 'fc.bias']);
  assert.is(model.stateDict().get('fc.weight')!.shape[0], 2);
  assert.not.ok([...model.stateDict().keys()].some((k) => k.startsWith('domain')), 'torchvision names only');
  model.dispose();
});

t('adaptBatchNorm: running statistics become the target\'s, weights and flags stay, bad input is refused', async () => {
  // Images of mean 3, std 2 per pixel; batches of 4 over 10 images: 4, 4, 2; over 9 images: 4, 5 (a last single
  // image joins the batch before it). The running mean is the mean over all images; the running variance the size-weighted mean of the
  // batches' unbiased variances (PyTorch's momentum=None).
  const n = 10, C = 3, H = 5, W = 4, px = C * H * W, r = mulberry32(5);
  const images = Float32Array.from({length: n * px}, () => 3 + 2 * Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
  const set = {images, labels: new Int32Array(n), n, channels: C, height: H, width: W, classes: 1};
  const stats = (from: number, to: number, c: number) => {
    const v: number[] = [];
    for (let i = from; i < to; i++) for (let p = 0; p < H * W; p++) v.push(images[i * px + c * H * W + p]);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return {mean, unbiased: v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1), count: to - from};
  };
  const bn = new wt.BatchNorm2d(C);
  const model = new wt.Sequential(bn);
  bn.frozenStats = true;
  model.eval();
  const weight = Array.from(await bn.weight!.data());
  for (const [count, cuts] of [[10, [0, 4, 8, 10]], [9, [0, 4, 9]]] as const) {
    assert.is(await transfer.adaptBatchNorm(model, {...set, n: count}, {batch: 4}), 1);
    const mean = await bn.runningMean.data(), variance = await bn.runningVar.data();
    for (let c = 0; c < C; c++) {
      const parts = cuts.slice(1).map((to, i) => stats(cuts[i], to, c));
      const wantVar = parts.reduce((a, p) => a + p.unbiased * p.count, 0) / count, wantMean = stats(0, count, c).mean;
      assert.ok(Math.abs(mean[c] - wantMean) < 1e-5, `${count} images, channel ${c}: mean ${mean[c]} vs ${wantMean}`);
      assert.ok(Math.abs(variance[c] - wantVar) < 1e-4 * wantVar, `${count} images, channel ${c}: variance ${variance[c]} vs ${wantVar}`);
    }
  }
  assert.equal(Array.from(await bn.weight!.data()), weight);
  assert.is(bn.frozenStats, true);
  assert.is(model.training, false);
  assert.is(bn.opts.momentum, undefined);
  await rejectsWith(() => transfer.adaptBatchNorm(model, {...set, n: 1}), 'adaptBatchNorm: needs at least 2 images, got 1');
  await rejectsWith(() => transfer.adaptBatchNorm(model, set, {batch: 1}), 'adaptBatchNorm: batch must be an integer >= 2, got 1');
  model.dispose();
});

t.run();
