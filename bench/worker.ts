// One adapter's benchmark: our engine and TF.js's WebGPU backend on the same Dawn GPU instance.
// Prints one JSON line. Run through bench/bench.ts (npm run bench).
import * as wt from '../src/index.js';
import {oursCapsStep, tfCapsStep} from './capsnet.js';
import {oursDannStep, tfDannStep} from './dann.js';
import {BENCH_TUNE, buildMeasured, disposeStep, lastTiming, pairedWithTorch, startTfWebgpu, time, type TuneNote}
  from './harness.js';

const backend = (process.argv[2] ?? 'swiftshader') as wt.BackendChoice;
const iters = Number(process.env.WGT_BENCH_ITERS ?? 5);
const randArr = (n: number, seed: number) => { const r = wt.internals.rng(seed); return Float32Array.from({length: n}, () => r() * 2 - 1); };

const result: Record<string, unknown> = {backend};
await wt.init({backend});
result.adapter = wt.debug.formatReport(wt.adapter());

// What each measurement ran (warm-up and timed calls: harness.ts time()), and our steps' kernel time per step.
const timing: Record<string, typeof lastTiming> = {};
const noteTiming = (key: string) => { timing[key] = {...lastTiming}; };
const kernelMs: Record<string, number> = {};
/** The profiler's summed kernel time per step of one of our steps (2 steps after the timing's warm-up). */
const kernelTime = async (key: string, f: () => Promise<unknown>) => {
  kernelMs[key] = (await wt.debug.profile(f, {steps: 2, warmup: 0})).kernelMs;
};

// ---- ours ----
const ours: Record<string, number> = {};
// Each step's kernel choices: measured on this adapter (or read from the cache) before its timing, unless BENCH_TUNE
// is off; what that found goes into the result.
const tuning: Record<string, TuneNote> = {};
const noteTune = (key: string) => (n: TuneNote) => { tuning[key] = n; };
result.kernel_choices = BENCH_TUNE ? 'measured' : 'tables';
for (const n of [512, 1024]) {
  const a = wt.tensor(randArr(n * n, 1), [n, n]), b = wt.tensor(randArr(n * n, 2), [n, n]);
  await buildMeasured(() => wt.tidy(() => { wt.matmul(a, b); }), () => {}, noteTune(`matmul${n}`));
  const s = await time(n === 512 ? iters : Math.max(3, iters - 2), 1, async () => { const c = wt.matmul(a, b); await c.data(); c.dispose(); });
  ours[`matmul${n}_gflops`] = 2 * n ** 3 / s / 1e9;
  noteTiming(`ours.matmul${n}`);
}
wt.manualSeed(0);
const model = wt.leNet5();
const opt = new wt.SGD(model.parameters(), {lr: 0.01});
const bx = randArr(64 * 784, 3).map((v) => (v + 1) / 2), by = Int32Array.from({length: 64}, (_, i) => i % 10);
const step = await buildMeasured(() => wt.compile([{shape: [64, 1, 28, 28]}, {shape: [64], dtype: 'i32'}], [bx, by],
  (x, y) => wt.tidy(() => {
    const loss = wt.crossEntropy(model.forward(x), y);
    loss.backward(); opt.step(); opt.zeroGrad();
    return loss;
  })), disposeStep, noteTune('lenet'));
ours.lenet_step_s = await time(Math.max(iters, 10), 2, async () => { await step.run([bx, by]).item(); });
noteTiming('ours.lenet');
await kernelTime('lenet', async () => { await step.run([bx, by]).item(); });
// The same step and native PyTorch's (one thread) timed in turn, round by round: the ratio the PyTorch bar reads.
result.lenet_vs_torch = await pairedWithTorch(12, 10, async () => { await step.run([bx, by]).item(); });
// The paper's MNIST DANN step: 32 source + 32 target images, SGD momentum (bench/dann.ts).
ours.dann_step_s = await oursDannStep(32, Math.max(iters, 5), 2, time, (f) => kernelTime('dann', f), noteTune('dann'));
noteTiming('ours.dann');
// CapsNet training steps at batch 32: the small configuration, and the paper's (one timed step after the capture:
// ~38 GFLOP; WGT_BENCH_CAPS_FULL=0 skips it).
const fullCaps = process.env.WGT_BENCH_CAPS_FULL !== '0';
ours.caps_small_step_s = await oursCapsStep(wt.capsnet.CAPSNET_SMALL, 32, Math.max(3, iters - 2), 1, time,
  (f) => kernelTime('caps_small', f), noteTune('caps_small'));
noteTiming('ours.caps_small');
if (fullCaps) {
  ours.caps_full_step_s = await oursCapsStep(wt.capsnet.CAPSNET_PAPER, 32, 1, 0, time, (f) => kernelTime('caps_full', f),
    noteTune('caps_full'));
  noteTiming('ours.caps_full');
}
result.ours = ours;
result.kernel_ms = kernelMs;
result.tuning = tuning;
wt.shutdown();

// ---- TF.js 4.22 WebGPU backend, on a fresh Dawn instance of the same adapter ----
const tf = await startTfWebgpu(backend);
const peer: Record<string, number> = {};
for (const n of [512, 1024]) {
  const a = tf.tensor2d(randArr(n * n, 1), [n, n]), b = tf.tensor2d(randArr(n * n, 2), [n, n]);
  const s = await time(n === 512 ? iters : Math.max(3, iters - 2), 1, async () => { const c = tf.matMul(a, b); await c.data(); c.dispose(); });
  peer[`matmul${n}_gflops`] = 2 * n ** 3 / s / 1e9;
  noteTiming(`tfjs.matmul${n}`);
}
async function tfLenetStep(separateIm2col: boolean): Promise<number> {
  tf.env().set('WEBGPU_CONV_SEPARATE_IM2COL_SHADER', separateIm2col);
  const m = tf.sequential({layers: [
    tf.layers.conv2d({inputShape: [28, 28, 1], filters: 6, kernelSize: 5, activation: 'relu'}),
    tf.layers.maxPooling2d({poolSize: 2}),
    tf.layers.conv2d({filters: 16, kernelSize: 5, activation: 'relu'}),
    tf.layers.maxPooling2d({poolSize: 2}),
    tf.layers.flatten(),
    tf.layers.dense({units: 120, activation: 'relu'}), tf.layers.dense({units: 84, activation: 'relu'}), tf.layers.dense({units: 10}),
  ]});
  const o = tf.train.sgd(0.01);
  const x = tf.tensor4d(bx, [64, 28, 28, 1]);
  const y = tf.oneHot(tf.tensor1d(Array.from(by), 'int32'), 10);
  const tfIters = Number(process.env.WGT_BENCH_TF_ITERS ?? (backend === 'swiftshader' ? 3 : 7));
  const s = await time(tfIters, 1, async () => {
    const loss = o.minimize(() => tf.losses.softmaxCrossEntropy(y, m.predict(x) as never) as never, true)!;
    await loss.data();
    loss.dispose();
  });
  m.dispose();
  return s;
}
peer.lenet_step_s = await tfLenetStep(false);
noteTiming('tfjs.lenet');
peer.lenet_step_im2col_s = await tfLenetStep(true);
noteTiming('tfjs.lenet_im2col');
tf.env().set('WEBGPU_CONV_SEPARATE_IM2COL_SHADER', false);
peer.dann_step_s = await tfDannStep(tf, 32, Number(process.env.WGT_BENCH_TF_ITERS ?? 3), 1, time);
noteTiming('tfjs.dann');
peer.caps_small_step_s = await tfCapsStep(tf, wt.capsnet.CAPSNET_SMALL, 32, 3, 1, time);
noteTiming('tfjs.caps_small');
if (fullCaps) {
  peer.caps_full_step_s = await tfCapsStep(tf, wt.capsnet.CAPSNET_PAPER, 32, 1, 0, time);
  noteTiming('tfjs.caps_full');
}
result.tfjs = peer;
result.timing = timing;
console.log('BENCH ' + JSON.stringify(result));
process.exit(0);
