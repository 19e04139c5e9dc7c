// @test node-only: reads the PyTorch fixtures from disk (node:fs)
// PyTorch both ways, against fixtures PyTorch made once (scripts/torch-fixtures.py; docs/pytorch.md): a
// LeNet-5 state dict saved by PyTorch loads here as a source model and gives PyTorch's outputs, and a checkpoint
// written here was loaded by PyTorch (load_state_dict, strict) and gave the outputs recorded beside it.
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {mkdtempSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as wt from '../src/index.js';
import {loadModel, saveModel} from '../src/train/checkpoint.js';
import {loadSafetensors} from '../src/io/files.js';
import type {StTensor} from '../src/io/safetensors.js';
import {CapsNet} from '../src/capsnet/index.js';

const t = suite('pytorch: fixtures made by torch');
const dir = 'test/fixtures/torch-lenet5';
const expected = () => loadSafetensors(join(dir, 'expected.safetensors')).tensors;

/** Max |a - b| beyond 1e-4 + 1e-4 |b| (float32 conv/linear sums of <= 256 terms differ by ~1e-6). */
function assertClose(got: Float32Array, want: Float32Array, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  let worst = 0, at = -1;
  for (let i = 0; i < got.length; i++) {
    const excess = Math.abs(got[i] - want[i]) - (1e-4 + 1e-4 * Math.abs(want[i]));
    if (!(excess <= worst)) { worst = excess; at = i; }
  }
  assert.ok(at < 0, `${what}: element ${at} is ${got[at]}, PyTorch gave ${want[at]}`);
}

async function logits(model: wt.Module): Promise<Float32Array> {
  const x = expected().get('x')!;
  assert.equal(x.shape, [4, 1, 28, 28]);
  return wt.tidy(() => model.forward(wt.tensor(x.data as Float32Array, x.shape))).data() as Promise<Float32Array>;
}

t('a state dict PyTorch saved (safetensors) loads into leNet5() and gives PyTorch\'s outputs', async () => {
  const model = wt.leNet5();
  const meta = await loadModel(join(dir, 'torch.safetensors'), model);
  assert.match(meta.made_by, /^torch /);
  const want = expected().get('torch_logits')!;
  assert.equal(want.shape, [4, 10]);
  assertClose(await logits(model), want.data as Float32Array, 'torch model');
  // The outputs are not trivially equal to another model's: a freshly initialised LeNet differs.
  const other = wt.leNet5();
  const diff = (await logits(other)).some((v, i) => Math.abs(v - want.data[i]) > 1e-3);
  assert.ok(diff, 'a differently initialised model must not match PyTorch\'s outputs');
  model.dispose(); other.dispose();
});

t('a checkpoint written here gives the outputs PyTorch computed from it', async () => {
  const model = wt.leNet5();
  await loadModel(join(dir, 'ours.safetensors'), model);
  assertClose(await logits(model), expected().get('ours_logits')!.data as Float32Array, 'our checkpoint');
  model.dispose();
});

t('saveModel writes what PyTorch\'s state dict holds: the same names, dtypes and shapes, format pt', async () => {
  const torchFile = loadSafetensors(join(dir, 'torch.safetensors'));
  const model = wt.leNet5();
  await loadModel(join(dir, 'torch.safetensors'), model);
  const path = join(mkdtempSync(join(tmpdir(), 'wgt-pt-')), 'model.safetensors');
  await saveModel(path, model);
  const ours = loadSafetensors(path);
  const sig = (f: typeof ours) => [...f.tensors].map(([k, v]) => `${k}:${v.dtype}[${v.shape.join(',')}]`).sort();
  assert.equal(sig(ours), sig(torchFile));
  assert.is(ours.metadata.format, 'pt');
  for (const [k, v] of torchFile.tensors) assert.equal(Array.from(ours.tensors.get(k)!.data), Array.from(v.data), k);
  model.dispose();
});

// A CapsNet written in PyTorch from the paper, independently of ours (scripts/torch-capsnet-fixture.py).
const capsDir = 'test/fixtures/torch-capsnet';
const capsConfig = {imageSize: 12, conv1Channels: 4, conv1Kernel: 3, primaryChannels: 2, primaryDim: 3, primaryKernel: 3,
  primaryStride: 2, classes: 3, digitDim: 4, decoder: [8]};

t('a CapsNet PyTorch made loads (strict) and gives its class capsules, lengths and masked reconstructions', async () => {
  const want = loadSafetensors(join(capsDir, 'expected.safetensors')).tensors;
  const model = new CapsNet(capsConfig);
  await loadModel(join(capsDir, 'torch.safetensors'), model);
  const xh = want.get('x')!;
  const x = wt.tensor(xh.data as Float32Array, xh.shape);
  const {v, lengths} = model.capsules(x);
  assertClose(await v.data() as Float32Array, want.get('v')!.data as Float32Array, 'class capsules v');
  assertClose(await lengths.data() as Float32Array, want.get('lengths')!.data as Float32Array, 'capsule lengths');
  assertClose(await model.reconstruct(v).data() as Float32Array, want.get('recon')!.data as Float32Array, 'reconstruction (longest capsule)');
  const zeros = wt.tensor([0, 0, 0], [3], {dtype: 'i32'});
  assertClose(await model.reconstruct(v, zeros).data() as Float32Array, want.get('recon_label')!.data as Float32Array, 'reconstruction (label 0)');
  // Routing matters here: one iteration (uniform couplings) gives other capsules than PyTorch's three.
  model.iterations = 1;
  const once = await model.capsules(x).v.data();
  assert.ok(once.some((a, i) => Math.abs(a - want.get('v')!.data[i]) > 1e-3), 'one routing iteration must differ from three');
  model.dispose();
});

t.run();

// Gradients at the points where an op's derivative needs a convention (0 and negative bases of pow, ties of
// maximum / minimum, reductions over `[]`), against torch 1.13 in float64 (scripts/torch-grad-fixtures.py). Each
// case runs op(inputs).backward(g) with torch's upstream g, as the script did.
const gradFile = (() => {
  let cache: Map<string, StTensor> | undefined;
  return () => (cache ??= loadSafetensors('test/fixtures/torch-grads/grads.safetensors').tensors);
})();
function fixture(name: string): {shape: number[]; data: Float64Array} {
  const t = gradFile().get(name);
  assert.ok(t && t.dtype === 'F64', `torch-grads fixture '${name}' (F64) is missing`);
  return {shape: t.shape, data: t.data as Float64Array};
}
const input = (name: string, requiresGrad = true) => {
  const f = fixture(name);
  return wt.tensor(Float32Array.from(f.data), f.shape, {requiresGrad});
};

/**
 * NaN exactly where torch has NaN, the same signed infinity where it has one, and finite values within
 * atol + rtol |want| (the sign of a zero is not compared).
 */
function assertMatches(got: ArrayLike<number>, want: ArrayLike<number>, atol: number, rtol: number, what: string) {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const ok = Number.isNaN(w) ? Number.isNaN(g)
      : !Number.isFinite(w) ? g === w : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    assert.ok(ok, `${what}: element ${i} is ${g}, torch gave ${w}`);
  }
}
// pow and its log / power terms are float32 transcendental kernels (a few ulp each, 1 ulp = 6e-8 relative) on
// exact inputs: 1e-5 relative leaves a wide margin while any wrong rule misses by far more.
const POW_TOL = [1e-6, 1e-5] as const;
// maximum / minimum / sum / amax gradients are exact in float32; mean's 1/6 and a three-way tie's 2/3 round at
// most twice (g * fround(1/count)): 3e-7 relative, about two float32 ulp.
const EXACT_TOL = [0, 3e-7] as const;

const gt = suite('pytorch: gradients at edge points (torch 1.13 fixtures)');

gt('pow(x, k) for scalars k: values and gradients at 0 and negative bases (k = 0 gives 0 everywhere)', async () => {
  const exponents = Array.from(fixture('pow_scalar.exponents').data);
  const ys = fixture('pow_scalar.y').data, dxs = fixture('pow_scalar.dx').data;
  const n = fixture('pow_scalar.x').data.length;
  for (const [k, e] of exponents.entries()) {
    const x = input('pow_scalar.x');
    const y = wt.pow(x, e);
    y.backward(input('pow_scalar.g', false));
    assertMatches(await y.data(), ys.subarray(k * n, (k + 1) * n), ...POW_TOL, `pow(x, ${e})`);
    assertMatches(await x.grad!.data(), dxs.subarray(k * n, (k + 1) * n), ...POW_TOL, `d pow(x, ${e}) / dx`);
  }
});

for (const name of ['pow_tensor', 'pow_bcast']) {
  gt(`${name}: pow(x, e), tensor e: both gradients, d/de 0 at x = 0 for e >= 0, NaN for x < 0`, async () => {
    const x = input(`${name}.x`), e = input(`${name}.e`);
    const y = wt.pow(x, e);
    y.backward(input(`${name}.g`, false));
    assertMatches(await y.data(), fixture(`${name}.y`).data, ...POW_TOL, `${name} pow(x, e)`);
    assertMatches(await x.grad!.data(), fixture(`${name}.dx`).data, ...POW_TOL, `${name} d/dx`);
    assertMatches(await e.grad!.data(), fixture(`${name}.de`).data, ...POW_TOL, `${name} d/de`);
  });
}

for (const name of ['maximum', 'minimum', 'maximum_bcast', 'minimum_bcast']) {
  gt(`${name}: a tie (+-0, +-inf too) gives each side half the gradient, a NaN side both all of it`, async () => {
    const a = input(`${name}.a`), b = input(`${name}.b`);
    const y = (name.startsWith('maximum') ? wt.maximum : wt.minimum)(a, b);
    y.backward(input(`${name}.g`, false));
    assertMatches(await y.data(), fixture(`${name}.y`).data, ...EXACT_TOL, `${name} forward`);
    assertMatches(await a.grad!.data(), fixture(`${name}.da`).data, ...EXACT_TOL, `${name} d/da`);
    assertMatches(await b.grad!.data(), fixture(`${name}.db`).data, ...EXACT_TOL, `${name} d/db`);
  });
}

// torch's amax / amin are our max / min reductions (values only; torch.max(x, dim) also returns indices).
const reductions = {sum: wt.sum, mean: wt.mean, amax: wt.max, amin: wt.min};
for (const [name, op] of Object.entries(reductions)) {
  gt(`${name} over [] reduces every axis (torch dim=[]): shape [] (keepDim [1, 1]), value, gradient`, async () => {
    for (const keepDim of [false, true]) {
      const key = `reduce_all.${name}${keepDim ? '.keepdim' : ''}`;
      const x = input('reduce_all.x');
      const y = op(x, [], keepDim);
      const want = fixture(`${key}.y`);
      assert.equal(y.shape, want.shape, `${key}: output shape`);
      y.backward(wt.full(want.shape, 2));
      assertMatches(await y.data(), want.data, ...EXACT_TOL, `${key} forward`);
      assertMatches(await x.grad!.data(), fixture(`${key}.dx`).data, ...EXACT_TOL, `${key} d/dx`);
    }
  });
}

gt.run();
