// @test node-only: reads the PyTorch fixtures from disk (node:fs)
// PyTorch both ways, against fixtures PyTorch made once (scripts/torch-fixtures.py; README "PyTorch"): a
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
