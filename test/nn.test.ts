import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {checkOp, expectClose, toTensor} from './lib/check.js';
import * as R from './lib/reference.js';

const t = suite('nn');

/** float64 batch norm over all axes but 1 (training statistics, biased variance). */
function bnRef(x: R.Nd, w: R.Nd, b: R.Nd, eps = 1e-5): R.Nd {
  const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
  const keep = x.shape.map((d, i) => (i === 1 ? d : 1));
  const mean = {shape: keep, data: R.mean(x, axes).data};
  const xc = R.zip([x, mean], (a, m) => a - m);
  const v = {shape: keep, data: R.mean(R.map(xc, (a) => a * a), axes).data};
  const wk = {shape: keep, data: w.data}, bk = {shape: keep, data: b.data};
  return R.zip([xc, v, wk, bk], (c, vv, ww, bb) => (c / Math.sqrt(vv + eps)) * ww + bb);
}

for (const [name, shape, Ctor] of [['BatchNorm2d', [3, 4, 5, 6], wt.BatchNorm2d], ['BatchNorm2d batch 1', [1, 3, 4, 5], wt.BatchNorm2d], ['BatchNorm1d', [7, 5], wt.BatchNorm1d], ['BatchNorm1d [N,C,L]', [4, 3, 6], wt.BatchNorm1d]] as const) {
  t(`${name} ${JSON.stringify(shape)} training forward/backward vs float64`, async () => {
    const C = shape[1];
    // Normalisation by the layer (affine off), scale and shift by the test's own w, b: all three get gradients.
    const bn = new Ctor(C, {affine: false});
    const bs = [1, C, ...shape.slice(2).map(() => 1)];
    await checkOp({
      name, inputs: [R.randomNd([...shape], 81, -2, 2), R.randomNd([C], 82, 0.5, 1.5), R.randomNd([C], 83)],
      gpu: ([x, w, b]) => wt.add(wt.mul(bn.forward(x), wt.reshape(w, bs)), wt.reshape(b, bs)),
      ref: ([x, w, b]) => bnRef(x, w, b), atol: 1e-4, gatol: 5e-4, grtol: 5e-3, sample: 60,
    });
  });
}

t('BatchNorm2d running statistics follow PyTorch (momentum 0.1, unbiased variance); eval uses them', async () => {
  const bn = new wt.BatchNorm2d(2);
  const x = R.randomNd([4, 2, 3, 3], 84, -1, 3);
  bn.forward(toTensor(x));
  const axes = [0, 2, 3];
  const mean = R.mean(x, axes).data;
  const n = 4 * 9;
  const varU = R.mean(R.zip([x, {shape: [1, 2, 1, 1], data: mean}], (a, m) => (a - m) ** 2), axes).data.map((v) => (v * n) / (n - 1));
  expectClose(await bn.runningMean.data(), Array.from(mean, (m) => 0.1 * m), 1e-6, 1e-5, 'running_mean');
  expectClose(await bn.runningVar.data(), Array.from(varU, (v) => 0.9 + 0.1 * v), 1e-6, 1e-5, 'running_var');
  bn.eval();
  const y = await bn.forward(toTensor(x)).data();
  const rm = await bn.runningMean.data(), rv = await bn.runningVar.data();
  const want = Array.from(x.data, (v, i) => { const c = Math.floor(i / 9) % 2; return (v - rm[c]) / Math.sqrt(rv[c] + 1e-5); });
  expectClose(y, want, 1e-5, 1e-4, 'eval output');
});

// A fused Sequential (nn.fuse) runs a stock ReLU next to a stock MaxPool2d as one reluMaxPool2d, and a Conv2d before
// them with a 2x2 pool as one conv2dReluPool2x2 (whose tile pools in its write on llvmpipe, kernelPrefs.convPoolWrite):
// the same values and gradients as the layers run one by one, for both orders, a pool that is not 2x2 and a
// subclassed ReLU (never fused).
for (const convPoolWrite of [false, true]) {
  const title = `fuse() runs ReLU with MaxPool2d as one op without changing values or gradients (convPoolWrite ${convPoolWrite})`;
  t(title, () => wt.internals.withKernelPrefs({convPoolWrite}, async () => {
    class LoudReLU extends wt.ReLU { override forward(x: wt.Tensor): wt.Tensor { return wt.relu(x); } }
    let spiedCalls = 0;
    const spied = (l: wt.ReLU) => { const f = l.forward.bind(l); l.forward = (x) => { spiedCalls++; return f(x); }; return l; };
    const models = (): [string, wt.Sequential][] => {
      wt.manualSeed(7);
      return [
        ['relu, pool', new wt.Sequential(new wt.Conv2d(2, 4, 3), new wt.ReLU(), new wt.MaxPool2d(2), new wt.Flatten())],
        ['pool, relu', new wt.Sequential(new wt.Conv2d(2, 4, 3), new wt.MaxPool2d(2), new wt.ReLU(), new wt.Flatten())],
        ['3x3 stride 2 pool', new wt.Sequential(new wt.Conv2d(2, 4, 3), new wt.ReLU(), new wt.MaxPool2d(3, {stride: 2}),
          new wt.Flatten())],
        ['subclassed relu', new wt.Sequential(new wt.Conv2d(2, 4, 3), new LoudReLU(), new wt.MaxPool2d(2), new wt.Flatten())],
        ['linear, relu', new wt.Sequential(new wt.Flatten(), new wt.Linear(200, 12), new wt.ReLU(), new wt.Linear(12, 8),
          new wt.ReLU(), new wt.Linear(8, 3, false), new wt.ReLU())],
        ['instance forward', new wt.Sequential(new wt.Conv2d(2, 4, 3), spied(new wt.ReLU()), new wt.MaxPool2d(2), new wt.Flatten())],
      ];
    };
    const x = wt.randn([3, 2, 10, 10], {seed: 5});
    const run = async (fuse: boolean) => {
      {
        const out: Record<string, {y: number[]; grads: number[][]; ops: string[]}> = {};
        for (const [name, built] of models()) {
          const m = fuse ? wt.models.fuse(built) : built;
          const y = m.forward(x);
          const ops: string[] = [];
          for (let n = y.node; n; n = n.inputs[0]?.node) ops.push(n.op);
          wt.sum(wt.mul(y, y)).backward();
          out[name] = {y: Array.from(await y.data()), grads: await Promise.all(m.parameters().map(async (p) => Array.from(await p.grad!.data()))), ops};
        }
        return out;
      }
    };
    const fused = await run(true), alone = await run(false);
    for (const name of Object.keys(fused)) {
      assert.equal(fused[name].y, alone[name].y, name);
      assert.equal(fused[name].grads, alone[name].grads, name);
    }
    const block = 'conv2dReluPool2x2';
    assert.ok(fused['relu, pool'].ops.includes(block) && fused['pool, relu'].ops.includes(block), block);
    assert.ok(fused['3x3 stride 2 pool'].ops.includes('reluMaxPool2d') && fused['3x3 stride 2 pool'].ops.includes('conv2d'));
    assert.ok(!fused['subclassed relu'].ops.includes(block) && !alone['relu, pool'].ops.includes(block));
    assert.ok(!fused['instance forward'].ops.includes('reluMaxPool2d'));
    assert.ok(fused['linear, relu'].ops.includes('linearRelu') && !alone['linear, relu'].ops.includes('linearRelu'));
    assert.is(spiedCalls, 2, 'a forward replaced on the instance runs in both modes');
    x.dispose();
  }));
}

// BatchNorm2d then ReLU or ReLU6 in training: one batchNormTrain with the activation in its passes. Each f32 value is
// computed as by the layers one by one (the activation's mask from the output equals the relu's from its input), so
// outputs, gradients and running statistics are equal bit for bit; in eval mode the conv and norm fold as before
// (tolerances 1e-5 on outputs, 1e-4 on gradients, rtol the same).
t('fuse() runs BatchNorm2d with ReLU or ReLU6 as one op without changing values, gradients or statistics', async () => {
  const build = () => {
    wt.manualSeed(11);
    return new wt.Sequential(new wt.Conv2d(2, 4, 3), new wt.BatchNorm2d(4), new wt.ReLU(),
      new wt.Conv2d(4, 3, 3, {padding: 1}), new wt.BatchNorm2d(3), new wt.ReLU6(), new wt.Flatten());
  };
  const x = wt.randn([3, 2, 9, 8], {seed: 6});
  const run = async (fuse: boolean, training: boolean) => {
    const built = build();
    const m = fuse ? wt.models.fuse(built) : built;
    if (!training) m.eval();
    // Weights of 4: a pre-activation passes 6 where x is 1.5 deviations above its channel's mean.
    for (const l of m.layers) {
      if (!(l instanceof wt.BatchNorm2d)) continue;
      wt.internals.rt().write(l.weight!.buffer, new Float32Array(l.numFeatures).fill(4));
    }
    const y = m.forward(x);
    const ops: string[] = [];
    for (let n = y.node; n; n = n.inputs[0]?.node) ops.push(n.op);
    wt.sum(wt.mul(y, wt.randn(y.shape, {seed: 8}))).backward();
    const stats = m.layers.filter((l): l is wt.BatchNorm2d => l instanceof wt.BatchNorm2d)
      .flatMap((l) => [l.runningMean, l.runningVar]);
    return {y: Array.from(await y.data()), ops, grads: await Promise.all(m.parameters().map(async (p) =>
      Array.from(await p.grad!.data()))), stats: await Promise.all(stats.map(async (t) => Array.from(await t.data())))};
  };
  const fused = await run(true, true), alone = await run(false, true);
  assert.equal(fused.y, alone.y, 'outputs');
  assert.equal(fused.grads, alone.grads, 'gradients');
  assert.equal(fused.stats, alone.stats, 'running statistics');
  assert.ok(fused.y.some((v) => v === 6) && fused.y.some((v) => v === 0), 'values at both bounds');
  assert.ok(!fused.ops.includes('relu') && !fused.ops.includes('relu6'), `fused: ${fused.ops.join(', ')}`);
  assert.ok(alone.ops.includes('relu') && alone.ops.includes('relu6'), `alone: ${alone.ops.join(', ')}`);
  // Eval mode: the conv and the norm fold into one convolution (its own rounding), the activation after it.
  const folded = await run(true, false), apart = await run(false, false);
  expectClose(folded.y, apart.y, 1e-5, 1e-5, 'eval outputs');
  folded.grads.forEach((g, i) => expectClose(g, apart.grads[i], 1e-4, 1e-4, `eval gradient ${i}`));
  x.dispose();
});

// kernelPrefs.fuseEpilogues: the cross-entropy gradient from its forward, linearRelu's and the convs' bias gradients
// with the kernels before them, the last layer's bias in its product. The same LeNet-5 step either way, six dispatches
// fewer fused.
t('fused epilogues give a LeNet-5 step the gradients of their dispatches apart, in six fewer dispatches', async () => {
  const x = wt.randn([8, 1, 28, 28], {seed: 9}), y = wt.tensor(Array.from({length: 8}, (_, i) => i % 10), [8], {dtype: 'i32'});
  const step = (fuseEpilogues: boolean) => wt.internals.withKernelPrefs({fuseEpilogues}, async () => {
    wt.manualSeed(3);
    const m = wt.leNet5();
    const r = wt.internals.rt(), d0 = r.stats.dispatches;
    const loss = wt.crossEntropy(m.forward(x), y);
    loss.backward();
    const dispatches = r.stats.dispatches - d0;
    const grads = await Promise.all(m.parameters().map(async (p) => Array.from(await p.grad!.data())));
    const out = {loss: await loss.item(), grads, dispatches};
    loss.dispose();
    for (const p of m.parameters()) p.dispose();
    return out;
  });
  const fused = await step(true), apart = await step(false);
  expectClose([fused.loss], [apart.loss], 1e-6, 1e-6, 'loss');
  fused.grads.forEach((g, i) => expectClose(g, apart.grads[i], 1e-5, 1e-4, `gradient ${i}`));
  assert.is(apart.dispatches - fused.dispatches, 6, `dispatches: fused ${fused.dispatches}, apart ${apart.dispatches}`);
  x.dispose(); y.dispose();
});

t('the model factories return fused models; fuse(model, false) runs every layer alone', () => {
  const opsOf = (y: wt.Tensor) => { const ops: string[] = []; for (let n = y.node; n; n = n.inputs[0]?.node) ops.push(n.op); return ops; };
  const m = wt.leNet5();
  assert.is(m.fused, true);
  assert.ok(opsOf(m.forward(wt.zeros([2, 1, 28, 28]))).includes('linearRelu'));
  wt.models.fuse(m, false);
  assert.not.ok(opsOf(m.forward(wt.zeros([2, 1, 28, 28]))).includes('linearRelu'));
  const r = wt.models.cifarResNet({width: 4, classes: 3});
  assert.ok([...r.namedModules()].every(([, c]) => !('fused' in c) || (c as unknown as {fused: boolean}).fused));
  wt.models.fuse(r, false);
  assert.ok([...r.namedModules()].every(([, c]) => !('fused' in c) || !(c as unknown as {fused: boolean}).fused));
  assert.is(new wt.Sequential(new wt.ReLU()).fused, false);
  m.dispose();
  r.dispose();
});

t('models.build gives a CIFAR ResNet the factory\'s defaults: width 16, blocks 1-1-1-1', () => {
  const built = wt.models.build({arch: 'cifar_resnet', classes: 5});
  const made = wt.models.cifarResNet({classes: 5});
  const shapes = (m: wt.Module) => [...m.stateDict()].map(([k, v]) => `${k} ${v.shape.join('x')}`);
  assert.equal(shapes(built), shapes(made));
  assert.equal(built.stateDict().get('conv1.weight')!.shape, [16, 3, 3, 3]);
  built.dispose();
  made.dispose();
});

t('state dict names are PyTorch-style dotted paths', () => {
  const m = wt.leNet5();
  const keys = [...m.stateDict().keys()];
  assert.equal(keys, ['0.weight', '0.bias', '3.weight', '3.bias', '7.weight', '7.bias', '9.weight', '9.bias', '11.weight', '11.bias']);
  const bn = new wt.Sequential(new wt.Conv2d(1, 2, 3), new wt.BatchNorm2d(2));
  assert.equal([...bn.stateDict().keys()], ['0.weight', '0.bias', '1.weight', '1.bias', '1.running_mean', '1.running_var', '1.num_batches_tracked']);
});

t('loadStateDict names missing, unexpected and mis-shaped keys', () => {
  const m = new wt.Sequential(new wt.Linear(3, 2));
  const other = new wt.Sequential(new wt.Linear(3, 4));
  assert.throws(() => m.loadStateDict(other.stateDict()), /'0.weight' has shape \[4, 3\] in the source but \[2, 3\] in the model/);
  const partial = new Map([...m.stateDict()].slice(0, 1));
  assert.throws(() => m.loadStateDict(partial), /missing keys: 0.bias/);
  const extra = new Map([...m.stateDict(), ['head.weight', wt.zeros([1])]]);
  assert.throws(() => m.loadStateDict(extra), /unexpected keys: head.weight/);
  m.loadStateDict(partial, false);
});

t('copyFrom copies a sub-module (layer transfer) and freeze stops its gradients', async () => {
  wt.manualSeed(5);
  const src = wt.leNet5(), dst = wt.leNet5();
  dst.get('0').copyFrom(src.get('0'));
  assert.equal(Array.from(await dst.get('0').stateDict().get('weight')!.data()), Array.from(await src.get('0').stateDict().get('weight')!.data()));
  assert.not.equal(Array.from(await dst.get('3').stateDict().get('weight')!.data()), Array.from(await src.get('3').stateDict().get('weight')!.data()));
  dst.get('0').freeze();
  const x = wt.rand([2, 1, 28, 28], {seed: 1});
  wt.crossEntropy(dst.forward(x), wt.tensor([1, 2], [2], {dtype: 'i32'})).backward();
  assert.is(dst.get('0').parameters()[0].grad, null);
  assert.ok(dst.get('3').parameters()[0].grad);
  assert.throws(() => dst.get('99'), /module has no child '99'/);
});

t('Linear and Conv2d initialise like PyTorch (uniform within 1/sqrt(fan_in))', async () => {
  const l = new wt.Linear(400, 30);
  const w = await l.weight.data();
  const bound = 1 / Math.sqrt(400);
  const maxAbs = Math.max(...Array.from(w, Math.abs));
  assert.ok(maxAbs <= bound && maxAbs > 0.95 * bound, `max |w| ${maxAbs} vs bound ${bound}`);
  const std = Math.sqrt(Array.from(w).reduce((a, v) => a + v * v, 0) / w.length);
  assert.ok(Math.abs(std - bound / Math.sqrt(3)) < 0.05 * bound, `std ${std}`);
});

t('Dropout is the identity in eval mode', async () => {
  const d = new wt.Dropout(0.5);
  const x = wt.ones([100]);
  d.eval();
  assert.is(d.forward(x), x);
  d.train();
  assert.ok((await d.forward(x).data()).some((v) => v === 0));
});

t('schedules: step, exponential, cosine, DANN annealing', () => {
  const p = [wt.ones([1], {requiresGrad: true})];
  const lrAfter = (make: (o: wt.SGD) => wt.LRSchedule, n: number) => {
    const o = new wt.SGD([{params: p, lr: 0.1}, {params: [wt.ones([1], {requiresGrad: true})], lr: 0.01}]);
    const s = make(o);
    for (let i = 0; i < n; i++) s.step();
    return o.groups.map((g) => g.options.lr);
  };
  expectClose(lrAfter((o) => new wt.StepLR(o, 3, 0.5), 7), [0.025, 0.0025], 1e-12, 1e-9, 'StepLR');
  expectClose(lrAfter((o) => new wt.ExponentialLR(o, 0.9), 2), [0.081, 0.0081], 1e-12, 1e-9, 'ExponentialLR');
  expectClose(lrAfter((o) => new wt.CosineLR(o, 10), 5), [0.05, 0.005], 1e-12, 1e-9, 'CosineLR half way');
  // 50 steps of a 101-step run: progress p = 50 / 100 (dannProgress), so the factor is 1 / 6^0.75.
  expectClose(lrAfter((o) => new wt.transfer.DannLR(o, 101), 50), [0.1 / 6 ** 0.75, 0.01 / 6 ** 0.75], 1e-12, 1e-9, 'DANN lr0/(1+10p)^0.75');
  // A schedule over some groups leaves the others at their lr.
  expectClose(lrAfter((o) => new wt.CosineLR(o, 10, 0, {groups: [1]}), 5), [0.1, 0.005], 1e-12, 1e-9, 'CosineLR of group 1 only');
  assert.throws(() => new wt.CosineLR(new wt.SGD(p), 10, 0, {groups: [1]}), /CosineLR: no parameter group 1 \(the optimizer has 1\)/);
});

t.run();
