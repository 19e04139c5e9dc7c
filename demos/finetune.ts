// Demo: fine-tuning. A LeNet-5 trained on digits 0-4 is fine-tuned on digits 5-9 with 10 labels per class,
// next to the same network trained from scratch on the same 50 images.  npm run demo:finetune
import * as wt from '../src/index.js';
import {DataLoader} from '../src/data/loader.js';
import {evaluate} from '../src/train/evaluate.js';
import {TrainingLoop} from '../src/train/loop.js';
import {Supervised} from '../src/train/supervised.js';
import {ConsoleSink} from '../src/train/sinks/node.js';
import {FineTune} from '../src/transfer/index.js';
import {sourceModel, start, target} from './lib/digits-source.js';

await start();
const source = await sourceModel();
const labelled = target.labelled(10);
const steps = 200;

// From scratch: a fresh LeNet-5 with a 5-way head.
wt.manualSeed(1);
const scratch = wt.leNet5(1, 5);
const scratchOpt = new wt.Adam(scratch.parameters(), {lr: 1e-3});
await new TrainingLoop(new Supervised({model: scratch, optimizer: scratchOpt, loader: new DataLoader(labelled, {batch: 25})}),
  {steps, sinks: [new ConsoleSink()], name: 'scratch'}).fit();

// Fine-tuning: the same fresh network takes every source layer whose shape fits (all but the head) and
// trains on; the copied layers learn 10x slower than the new head.
wt.manualSeed(1);
const model = wt.leNet5(1, 5);
const fineTune = new FineTune({source, model, task: 'new', loader: new DataLoader(labelled, {batch: 25}), lr: 1e-3, transferredLr: 1e-4});
console.log(`copied from the source: ${fineTune.copied.map((l) => l.name).join(', ')}; new: the head`);
await new TrainingLoop(fineTune, {steps, sinks: [new ConsoleSink()], name: 'fine-tune'}).fit();

const acc = async (m: wt.Module) => (100 * (await evaluate(m, target.test)).accuracy).toFixed(1);
console.log(`\ndigits 5-9 test accuracy with ${labelled.n} labelled images: scratch ${await acc(scratch)}%, fine-tuned ${await acc(model)}%`);
wt.shutdown();
process.exit(0);
