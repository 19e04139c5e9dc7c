// The profiler's table for a small-CapsNet training step (batch 64, Adam), as bench/capsnet.ts times it.
// Usage: node dist/bench/profile-capsnet.js <adapter> [steps] [method]
import * as wt from '../src/index.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const steps = Number(process.argv[3] ?? 3);
const method = process.argv[4] as wt.debug.ProfileMethod | undefined;
// WGT_PREFS: JSON kernel preferences for the runtime, e.g. '{"convLowering":"direct"}'.
await wt.init({backend, kernelPrefs: process.env.WGT_PREFS ? JSON.parse(process.env.WGT_PREFS) : undefined});
wt.manualSeed(0);
const net = new wt.capsnet.CapsNet(wt.capsnet.CAPSNET_SMALL);
const loss = wt.capsnet.capsuleLoss();
const opt = new wt.Adam(net.parameters(), {lr: 1e-3});
const r = wt.internals.rng(4), batch = 64;
const x = Float32Array.from({length: batch * 784}, () => r());
const y = Int32Array.from({length: batch}, (_, i) => i % 10);
const shapes: wt.InputSpec[] = [{shape: [batch, 1, 28, 28]}, {shape: [batch], dtype: 'i32'}];
const step = wt.compile(shapes, [x, y], (xb, yb) => wt.tidy(() => {
  const l = (loss(net, xb, yb) as {loss: wt.Tensor}).loss;
  l.backward(); opt.step(); opt.zeroGrad();
  return l;
}));
const p = await wt.debug.profile(() => step.run([x, y]).item(), {steps, warmup: 1, method});
console.log(wt.debug.formatProfile(p, 40));
wt.shutdown();
