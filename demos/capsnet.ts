// Demo: a capsule network (Sabour et al. 2017). The small CapsNet trains on MNIST digits with random shifts of up
// to 2 px (margin loss + 0.0005 x the reconstruction of the label's capsule), then reports its accuracy, how
// long each class capsule is for one test digit, and writes inputs next to their reconstructions.
// npm run demo:capsnet   (about 5 minutes on a CPU adapter; CAPS_STEPS=N for more)
import {mkdirSync, writeFileSync} from 'node:fs';
import * as wt from '../src/index.js';
import {CapsNet, capsuleLoss, marginEvalLoss, parameterCount} from '../src/capsnet/index.js';
import {loadDataset} from '../src/data/datasets.js';
import {DataLoader} from '../src/data/loader.js';
import {gridPng} from '../src/data/png.js';
import {TrainingLoop} from '../src/train/loop.js';
import {Supervised} from '../src/train/supervised.js';
import {ConsoleSink} from '../src/train/sinks/node.js';

await wt.init({backend: (process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const {train, test} = loadDataset('mnist', {seed: 0});
const steps = Number(process.env.CAPS_STEPS ?? 300);

wt.manualSeed(0);
const net = new CapsNet({conv1Channels: 32, primaryChannels: 8, routingIterations: 3});
console.log(`CapsNet: ${parameterCount(net, true).toLocaleString('en')} parameters + ${(parameterCount(net) - parameterCount(net, true)).toLocaleString('en')} in the decoder`);
const optimizer = new wt.Adam(net.parameters(), {lr: 1e-3});
const strategy = new Supervised({
  model: net, optimizer, loader: new DataLoader(train, {batch: 64, shift: 2}), loss: capsuleLoss(),
  schedule: new wt.CosineLR(optimizer, steps, 0.05), test, evalLoss: marginEvalLoss(),
});
await new TrainingLoop(strategy, {steps, evalEvery: steps, sinks: [new ConsoleSink()], name: 'capsnet'}).fit();
const result = strategy.lastEval!; // the loop's final evaluation (margin loss, accuracy)
console.log(`test accuracy ${(100 * result.accuracy).toFixed(1)}% on ${test.n} digits (margin loss ${result.loss.toFixed(4)})`);

// One test digit: the length of each class capsule is the probability that its digit is present.
net.eval();
const x = wt.tensor(test.images.subarray(0, 8 * 784), [8, 1, 28, 28]);
const {v, lengths} = net.capsules(x);
const len = await lengths.data();
console.log(`digit labelled ${test.labels[0]}: capsule lengths ${Array.from(len.subarray(0, 10), (l, k) => `${k}:${l.toFixed(2)}`).join(' ')}`);

// Reconstructions from the longest capsule (test-time masking) under their inputs.
const recon = await net.reconstruct(v).data();
const both = new Float32Array(16 * 784);
both.set(test.images.subarray(0, 8 * 784));
both.set(recon, 8 * 784);
mkdirSync('runs/demos', {recursive: true});
writeFileSync('runs/demos/capsnet-reconstructions.png', gridPng({...test, n: 16, images: both}, {count: 16, cols: 8, scale: 3}));
console.log('wrote runs/demos/capsnet-reconstructions.png (top: inputs, bottom: reconstructions)');
wt.shutdown();
process.exit(0);
