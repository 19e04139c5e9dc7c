// Demo: LeNet-5 trained on MNIST (8,000 / 2,000) and Fashion-MNIST (60,000 / 10,000) with the Trainer,
// live progress, and the final test accuracy of each. Seeds are fixed. The defaults are the recipes of the
// `train` commands in docs/training.md: Adam lr 0.002 with cosine decay; MNIST 15 epochs with random shifts of
// up to 2 px, Fashion-MNIST 4 epochs. (About 7 + 14 minutes on SwiftShader; WGT_BACKEND=llvmpipe is faster.)
// Usage: npm run demo:lenet -- [--mnist-epochs 15] [--fashion-epochs 4] [--backend auto|swiftshader|llvmpipe]
import {parseArgs} from 'node:util';
import * as wt from '../src/index.js';
import {loadDataset} from '../src/data/datasets.js';
import {DataLoader} from '../src/data/loader.js';
import {Trainer} from '../src/train/trainer.js';

const {values} = parseArgs({options: {'mnist-epochs': {type: 'string'}, 'fashion-epochs': {type: 'string'}, backend: {type: 'string'}}, strict: true});
const epochs = (v: string | undefined, def: number, flag: string) => {
  const n = v === undefined ? def : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`lenet demo: --${flag} expects a whole number, got '${v}'`);
  return n;
};
const runs: [string, number, number][] = [
  ['mnist', epochs(values['mnist-epochs'], 15, 'mnist-epochs'), 2],
  ['fashion-mnist', epochs(values['fashion-epochs'], 4, 'fashion-epochs'), 0],
];

await wt.init({backend: (values.backend ?? process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const summary: string[] = [];
for (const [name, ep, shift] of runs) {
  if (!ep) continue;
  const {train, test} = loadDataset(name, {seed: 0});
  wt.manualSeed(0);
  const model = wt.leNet5(train.channels, train.classes);
  const optimizer = new wt.Adam(model.parameters(), {lr: 2e-3});
  const loader = new DataLoader(train, {batch: 64, seed: 0, shift});
  const steps = ep * loader.batchesPerEpoch;
  console.log(`${name}: ${train.n} train / ${test.n} test, ${ep} epochs of ${loader.batchesPerEpoch} steps`);
  const trainer = new Trainer({model, optimizer, loader, steps, schedule: new wt.CosineLR(optimizer, steps), test, name, metricsPath: `runs/demo-${name}/metrics.jsonl`});
  const r = await trainer.fit();
  const acc = r.evals[r.evals.length - 1].accuracy;
  summary.push(`${name}: test accuracy ${(100 * acc).toFixed(2)}% after ${ep} epochs, ${r.seconds.toFixed(0)} s (${r.imagesPerSecond.toFixed(0)} images/s)`);
  console.log(summary[summary.length - 1]);
  trainer.dispose();
  optimizer.dispose();
  model.dispose();
}
console.log(`\n${summary.join('\n')}`);
wt.shutdown();
process.exit(0);
