// Demo: conservative training. Fine-tuning on 5 labels per class of digits 5-9, plainly and with each
// conservative term (L2-SP towards the source weights; distillation of the source model's outputs through the
// kept source head), reporting target accuracy and how much of the source task (digits 0-4) is remembered.
//   npm run demo:conservative
import * as wt from '../src/index.js';
import {DataLoader} from '../src/data/loader.js';
import {evaluate} from '../src/train/evaluate.js';
import {TrainingLoop} from '../src/train/loop.js';
import {ConsoleSink} from '../src/train/sinks/node.js';
import {Conservative, FineTune} from '../src/transfer/index.js';
import {source as sourceData, sourceModel, start, target} from './lib/digits-source.js';

await start();
const source = await sourceModel();
const labelled = target.labelled(5);
const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const setups: [string, (model: wt.Sequential, loader: DataLoader) => FineTune][] = [
  ['fine-tune', (model, loader) => new FineTune({source, model, loader, task: 'new', lr: 1e-3})],
  ['L2-SP alpha 0.1', (model, loader) => new Conservative({source, model, loader, task: 'new', lr: 1e-3, l2sp: {alpha: 0.1, beta: 1e-3}})],
  ['KL weight 1, T 2', (model, loader) => new Conservative({source, model, loader, task: 'new', lr: 1e-3, distill: {weight: 1, temperature: 2}})],
];
const lines: string[] = [];
for (const [name, make] of setups) {
  wt.manualSeed(1);
  const strategy = make(wt.leNet5(1, 5), new DataLoader(labelled, {batch: 25}));
  // The loop logs each named loss term (ce, l2sp, kl) beside the loss.
  await new TrainingLoop(strategy, {steps: 200, logEvery: 50, sinks: [new ConsoleSink('lines')], name}).fit();
  const onTarget = (await evaluate(strategy.net, target.test)).accuracy;
  const onSource = (await evaluate(strategy.sourceView(), sourceData.test)).accuracy;
  lines.push(`${name.padEnd(18)} digits 5-9: ${pct(onTarget)}   digits 0-4 (source task) still: ${pct(onSource)}`);
  strategy.dispose();
}
console.log(`\nsource model on digits 0-4: ${pct((await evaluate(source, sourceData.test)).accuracy)}\n${lines.join('\n')}`);
wt.shutdown();
process.exit(0);
