// Demo: multitask learning. One LeNet-5 trunk (conv1 .. fc2) shared by two tasks with their own datasets and
// heads: MNIST digits and Fashion-MNIST clothes. The digit loss is multiplied by 100 (as if it were measured in
// other units); uncertainty weighting learns to scale it back.  npm run demo:multitask
import * as wt from '../src/index.js';
import {loadDataset} from '../src/data/datasets.js';
import {TrainingLoop} from '../src/train/loop.js';
import {ConsoleSink} from '../src/train/sinks/node.js';
import {MultiTask, sharedTrunk} from '../src/transfer/index.js';

await wt.init({backend: (process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const digits = loadDataset('mnist'), clothes = loadDataset('fashion-mnist');

wt.manualSeed(0);
const {trunk} = sharedTrunk(wt.leNet5(1, 10), {first: 4}); // the first 4 layers with weights, and their ReLU / pooling
const strategy = new MultiTask({
  trunk,
  tasks: [
    {name: 'digits', head: new wt.Linear(84, 10), train: digits.train, test: digits.test, lossScale: 100},
    {name: 'fashion', head: new wt.Linear(84, 10), train: clothes.train, test: clothes.test},
  ],
  weighting: 'uncertainty', // or 'fixed' (weights per task) or 'gradnorm'
  batch: 64, lr: 1e-3, schedule: 'cosine',
});
const result = await new TrainingLoop(strategy, {steps: 400, logEvery: 50, evalEvery: 400, sinks: [new ConsoleSink()]}).fit();

const m = result.evals[result.evals.length - 1].metrics;
const w = await strategy.taskWeights();
console.log(`\ntest accuracy: digits ${(100 * m.digits_accuracy).toFixed(1)}%, fashion ${(100 * m.fashion_accuracy).toFixed(1)}%`);
console.log(`learned weights 1 / (2 e^s): digits ${w.digits.toFixed(4)} (its loss is x100), fashion ${w.fashion.toFixed(3)}`);
wt.shutdown();
process.exit(0);
