// The LeNet-5 bar alone: our compiled training step (batch 64, SGD) and native PyTorch's (on its fastest thread
// count, the BLAS it loaded named), timed in turn, 12 rounds of 10 steps, as `npm run bench` reads it. Faster than the
// whole bench.
// Usage: node dist/bench/lenet-torch.js <adapter>
import * as wt from '../src/index.js';
import {BENCH_TUNE, buildMeasured, disposeStep, pairedWithTorch, torchThreads, type TuneNote} from './harness.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
await wt.init({backend});
wt.manualSeed(0);
const model = wt.leNet5();
const opt = new wt.SGD(model.parameters(), {lr: 0.01});
const r = wt.internals.rng(3);
const bx = Float32Array.from({length: 64 * 784}, () => r()), by = Int32Array.from({length: 64}, (_, i) => i % 10);
let tune: TuneNote | null = null;
const step = await buildMeasured(() => wt.compile([{shape: [64, 1, 28, 28]}, {shape: [64], dtype: 'i32'}], [bx, by],
  (x, y) => wt.tidy(() => {
    const loss = wt.crossEntropy(model.forward(x), y);
    loss.backward(); opt.step(); opt.zeroGrad();
    return loss;
  })), disposeStep, (n) => { tune = n; });
for (let i = 0; i < 10; i++) await step.run([bx, by]).item();
const p = await pairedWithTorch(12, 10, async () => { await step.run([bx, by]).item(); });
const kernel = (await wt.debug.profile(async () => { await step.run([bx, by]).item(); }, {steps: 3, warmup: 0})).kernelMs;
if (p.skipped) console.log(`PyTorch peer skipped: ${p.skipped}`);
else {
  const f = (v: unknown, d = 4) => (v as number).toFixed(d);
  console.log(`${backend}: LeNet-5 step (batch 64) ours ${f(p.ours_s)} s (kernels ${(kernel / 1000).toFixed(4)} s), ` +
    `PyTorch ${f(p.torch_s)} s (${torchThreads(p)}; ${p.blas}); median ratio ${f(p.ratio, 2)}x (rounds ${f(p.ratio_min, 2)}-` +
    `${f(p.ratio_max, 2)}x; bar <= 1x)`);
  const t = tune as TuneNote | null;
  console.log(BENCH_TUNE && t ? `kernel choices measured on this adapter: ${t.shapes} shapes (${t.measured} timed now, the ` +
    `rest cached), ${t.moved} off the tables` : 'kernel choices: the selection tables alone');
}
wt.shutdown();
