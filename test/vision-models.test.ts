// @test node-only: reads the torchvision fixtures from disk (node:fs)
// The ImageNet-style models against torchvision (fixtures made once by scripts/torch-vision-fixtures.py): the full
// models' state dicts have torchvision's names, shapes and dtypes; small ones (reduced widths, 32 px) loaded with
// torchvision's weights give its eval logits, its train-mode logits, the gradients of one cross-entropy step and
// the running statistics that step leaves.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {mkdtempSync, readFileSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as wt from '../src/index.js';
import {loadModel, saveModel} from '../src/train/checkpoint.js';
import {loadSafetensors} from '../src/io/files.js';
import type {StTensor} from '../src/io/safetensors.js';
import type {HostTensor} from '../src/nn/module.js';

const t = suite('vision models: torchvision names, logits and gradients');
const dir = 'test/fixtures/torch-vision';
const {models} = wt;

type Built = wt.models.HeadedModel;
/** The fixtures' small models, built here as their torchvision counterparts were built. */
const SMALL: Record<string, () => Built> = {
  'resnet18-w8': () => models.resnet18({width: 8, classes: 10, inputSize: 32}),
  'resnet50-w4': () => models.resnet50({width: 4, classes: 10, inputSize: 32}),
  'cifar-resnet-w8': () => models.cifarResNet({width: 8, classes: 10}),
  'mobilenet_v2-0.35': () => models.mobilenetV2({widthMult: 0.35, classes: 10, inputSize: 32, dropout: 0}),
};
const FULL: Record<string, () => Built> = {
  resnet18: () => models.resnet18(), resnet34: () => models.resnet34(), resnet50: () => models.resnet50(),
  mobilenet_v2: () => models.mobilenetV2(), 'mobilenet_v2-0.35': () => models.mobilenetV2({widthMult: 0.35}),
  cifar_resnet18: () => models.cifarResNet({layers: [2, 2, 2, 2], width: 64, classes: 10}),
};

/** Worst |got - want| beyond atol + rtol * scale, where scale is the largest |want| (gradients span decades). */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, atol: number, rtol: number): void {
  assert.is(got.length, want.length, `${what}: length`);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  let worst = -1, at = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= atol + rtol * scale) && !(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(at < 0, `${what}: element ${at} is ${got[at]}, torchvision gave ${want[at]} (scale ${scale})`);
}

function fixture(name: string): Map<string, StTensor> { return loadSafetensors(join(dir, `${name}.safetensors`)).tensors; }

function weights(f: Map<string, StTensor>): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [k, v] of f) {
    if (!k.startsWith('w.')) continue;
    const data = v.data as Float32Array | Int32Array;
    out.set(k.slice(2), {shape: v.shape, dtype: data instanceof Int32Array ? 'i32' : 'f32', data});
  }
  return out;
}

t('full-size models have exactly torchvision\'s state-dict names, shapes and dtypes (strict loading both ways)', () => {
  const names = JSON.parse(readFileSync(join(dir, 'names.json'), 'utf8')).models as Record<string, [string, number[], string][]>;
  for (const [name, build] of Object.entries(FULL)) {
    const m = build();
    const ours = [...m.stateDict()].map(([k, v]) => [k, v.shape, v.dtype === 'i32' ? 'I64' : 'F32'] as const);
    const want = names[name];
    const key = (e: readonly [string, number[], string]) => `${e[0]} ${JSON.stringify(e[1])} ${e[2]}`;
    const a = new Set(ours.map(key)), b = new Set(want.map(key));
    const missing = [...b].filter((k) => !a.has(k)), extra = [...a].filter((k) => !b.has(k));
    assert.ok(!missing.length && !extra.length,
      `${name}: missing ${missing.slice(0, 4).join(', ')}; unexpected ${extra.slice(0, 4).join(', ')}`);
    m.dispose();
  }
});

for (const [name, build] of Object.entries(SMALL)) {
  t(`${name}: torchvision's weights give its eval logits, train-mode logits, gradients and running statistics`, async () => {
    const f = fixture(name);
    const model = build();
    model.loadStateDict(weights(f), true);
    for (const [, m] of model.namedModules()) if (m instanceof wt.internals.BatchNorm) await m.loadCounters();
    const x = f.get('x')!, y = f.get('y')!;
    const xs = () => wt.tensor(x.data as Float32Array, x.shape);
    model.eval();
    const evalLogits = await wt.tidy(() => model.forward(xs())).data();
    assertClose(evalLogits, f.get('eval_logits')!.data, `${name} eval logits`, 1e-4, 1e-4);
    model.train();
    const labels = wt.tensor(Int32Array.from(y.data as Int32Array), [y.shape[0]], {dtype: 'i32'});
    const logits = wt.tidy(() => {
      const out = model.forward(xs());
      wt.crossEntropy(out, labels).backward();
      return out;
    });
    assertClose(await logits.data(), f.get('train_logits')!.data, `${name} train logits`, 1e-4, 1e-4);
    logits.dispose();
    // Gradients: sums over up to ~10^4 terms in another order than PyTorch's; 1e-3 of the largest entry.
    for (const [k, p] of model.namedParameters()) {
      assert.ok(p.grad, `${name}: ${k} has a gradient`);
      assertClose(await p.grad!.data(), f.get(`grad.${k}`)!.data, `${name} grad ${k}`, 1e-5, 2e-3);
    }
    for (const [k, b] of model.namedBuffers()) {
      if (k.endsWith('num_batches_tracked')) continue;
      assertClose(await b.data(), f.get(`after.${k}`)!.data, `${name} ${k} after a train step`, 1e-5, 1e-4);
    }
    labels.dispose();
    model.dispose();
  });
}

t('saved weights round-trip with torchvision\'s names; num_batches_tracked is an I64 scalar', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wgt-vision-'));
  try {
    const f = fixture('cifar-resnet-w8');
    const model = SMALL['cifar-resnet-w8']();
    model.loadStateDict(weights(f), true);
    for (const [, m] of model.namedModules()) if (m instanceof wt.internals.BatchNorm) await m.loadCounters();
    await saveModel(join(tmp, 'm.safetensors'), model);
    const back = loadSafetensors(join(tmp, 'm.safetensors')).tensors;
    const nbt = back.get('bn1.num_batches_tracked')!;
    assert.equal([nbt.dtype, nbt.shape, Array.from(nbt.data as Int32Array)], ['I64', [], [7]]);
    const copy = SMALL['cifar-resnet-w8']();
    await loadModel(join(tmp, 'm.safetensors'), copy);
    copy.eval();
    const x = f.get('x')!;
    const got = await wt.tidy(() => copy.forward(wt.tensor(x.data as Float32Array, x.shape))).data();
    assertClose(got, f.get('eval_logits')!.data, 'reloaded logits', 1e-4, 1e-4);
    model.dispose(); copy.dispose();
  } finally { rmSync(tmp, {recursive: true, force: true}); }
});

for (const name of ['cifar-resnet-w8', 'mobilenet_v2-0.35']) {
  t(`${name}: weights we saved loaded strictly in torchvision and gave the logits recorded beside them`, async () => {
    const model = SMALL[name]();
    await loadModel(join(dir, `${name}.ours.safetensors`), model);
    model.eval();
    const x = fixture(name).get('x')!;
    const got = await wt.tidy(() => model.forward(wt.tensor(x.data as Float32Array, x.shape))).data();
    const want = loadSafetensors(join(dir, `${name}.ours-logits.safetensors`)).tensors.get('logits')!;
    assertClose(got, want.data, `${name}: our weights in torchvision`, 1e-4, 1e-4);
    model.dispose();
  });
}

t('a weights file of another architecture is refused naming the first mismatched key and both shapes', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'wgt-vision-'));
  try {
    const m = SMALL['cifar-resnet-w8']();
    await saveModel(join(tmp, 'm.safetensors'), m);
    const other = models.cifarResNet({width: 16, classes: 10});
    const err = await loadModel(join(tmp, 'm.safetensors'), other).then(() => null, (e: Error) => e);
    assert.match(String(err?.message),
      /does not fit the model.*'conv1.weight' has shape \[8, ?3, ?3, ?3\] in the source but \[16, ?3, ?3, ?3\]/);
    m.dispose(); other.dispose();
  } finally { rmSync(tmp, {recursive: true, force: true}); }
});

t('frozen batch-norm statistics: training mode normalises with the running statistics and leaves them', async () => {
  const f = fixture('cifar-resnet-w8');
  const model = SMALL['cifar-resnet-w8']();
  model.loadStateDict(weights(f), true);
  models.freezeBatchNorm(model);
  model.train();
  const x = f.get('x')!;
  const out = await wt.tidy(() => model.forward(wt.tensor(x.data as Float32Array, x.shape))).data();
  assertClose(out, f.get('eval_logits')!.data, 'frozen-statistics logits equal eval logits', 1e-4, 1e-4);
  assertClose(await model.get('bn1').stateDict().get('running_mean')!.data(), f.get('w.bn1.running_mean')!.data,
    'running mean unchanged', 0, 0);
  models.freezeBatchNorm(model, false);
  model.dispose();
});

t('models refuse bad options naming the option', () => {
  assert.throws(() => models.resnet18({classes: 0}), /ResNet: classes must be a positive integer, got 0/);
  assert.throws(() => models.resnet18({stem: 'x' as 'cifar'}), /stem must be 'imagenet' or 'cifar'/);
  assert.throws(() => models.mobilenetV2({widthMult: -1}), /MobileNetV2: widthMult must be a positive number/);
});

t.run();
