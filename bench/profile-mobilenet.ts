// The profiler's table for a MobileNetV2 training step (width 0.35, 64 px, batch 64, Adam), as pretraining runs it,
// or with MODEL=resnet18 a ResNet-18 step (ImageNet stem, 5 classes).
// Usage: node dist/bench/profile-mobilenet.js <adapter> [steps] [size]; WIDTH (0.35) and BATCH (64) in the environment.
import * as wt from '../src/index.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const steps = Number(process.argv[3] ?? 2);
const size = Number(process.argv[4] ?? 64);
// WGT_PREFS: JSON kernel preferences for the runtime, e.g. '{"convLowering":"direct"}'.
await wt.init({backend, kernelPrefs: process.env.WGT_PREFS ? JSON.parse(process.env.WGT_PREFS) : undefined});
wt.manualSeed(0);
const net = process.env.MODEL === 'resnet18' ? wt.models.resnet18({classes: 5})
  : wt.models.mobilenetV2({widthMult: Number(process.env.WIDTH ?? 0.35), classes: 5, inputSize: size});
const opt = new wt.Adam(net.parameters(), {lr: 1e-3});
const r = wt.internals.rng(4), batch = Number(process.env.BATCH ?? 64);
const x = Float32Array.from({length: batch * 3 * size * size}, () => r());
const y = Int32Array.from({length: batch}, (_, i) => i % 5);
const shapes: wt.InputSpec[] = [{shape: [batch, 3, size, size]}, {shape: [batch], dtype: 'i32'}];
const step = wt.compile(shapes, [x, y], (xb, yb) => wt.tidy(() => {
  const l = wt.crossEntropy(net.forward(xb), yb);
  l.backward(); opt.step(); opt.zeroGrad();
  return l;
}));
const p = await wt.debug.profile(() => step.run([x, y]).item(), {steps, warmup: 1});
console.log(wt.debug.formatProfile(p, Number(process.env.ROWS ?? 30)));
wt.shutdown();
