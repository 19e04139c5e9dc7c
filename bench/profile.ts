// The profiler's table for a LeNet-5 training step (batch 64, SGD), as in bench/worker.ts.
// Usage: node dist/bench/profile.js <adapter> [steps] [method]
import * as wt from '../src/index.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const steps = Number(process.argv[3] ?? 5);
const method = process.argv[4] as wt.debug.ProfileMethod | undefined;
// WGT_PREFS: JSON kernel preferences for the runtime, e.g. '{"convLowering":"direct"}'.
await wt.init({backend, kernelPrefs: process.env.WGT_PREFS ? JSON.parse(process.env.WGT_PREFS) : undefined});
const randArr = (n: number, seed: number) => { const r = wt.internals.rng(seed); return Float32Array.from({length: n}, () => r()); };
wt.manualSeed(0);
const model = wt.leNet5();
const opt = new wt.SGD(model.parameters(), {lr: 0.01});
const bx = randArr(64 * 784, 3), by = Int32Array.from({length: 64}, (_, i) => i % 10);
const step = wt.compile([{shape: [64, 1, 28, 28]}, {shape: [64], dtype: 'i32'}], [bx, by], (x, y) => wt.tidy(() => {
  const loss = wt.crossEntropy(model.forward(x), y);
  loss.backward(); opt.step(); opt.zeroGrad();
  return loss;
}));
const p = await wt.debug.profile(() => step.run([bx, by]).item(), {steps, warmup: 2, method});
console.log(wt.debug.formatProfile(p, 40));
console.log('PROFILE ' + JSON.stringify(p));
wt.shutdown();
