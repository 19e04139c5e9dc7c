// Demo: layer transfer. Copy the first k layers of the digits 0-4 model, freeze them, and train the rest on
// digits 5-9 (20 labels per class), for k = 0 (scratch) .. 4: the lower layers carry over, the higher ones are
// specific to the source task.  npm run demo:layer-transfer
import * as wt from '../src/index.js';
import {DataLoader} from '../src/data/loader.js';
import {evaluate} from '../src/train/evaluate.js';
import {TrainingLoop} from '../src/train/loop.js';
import {LayerTransfer, parameterLayers} from '../src/transfer/index.js';
import {sourceModel, start, target} from './lib/digits-source.js';

await start();
const source = await sourceModel();
const labelled = target.labelled(20);
console.log(`layers with parameters: ${parameterLayers(source).map((l) => l.name).join(', ')}`);
for (let k = 0; k <= 4; k++) {
  wt.manualSeed(1);
  const model = wt.leNet5(1, 5);
  const strategy = new LayerTransfer({source, model, loader: new DataLoader(labelled, {batch: 32}), layers: {first: k}, lr: 1e-3});
  const frozen = model.parameters().filter((p) => !p.requiresGrad).length;
  const r = await new TrainingLoop(strategy, {steps: 200, logEvery: 200}).fit();
  const acc = (await evaluate(model, target.test)).accuracy;
  console.log(`k = ${k}: ${frozen} frozen tensors, ${r.seconds.toFixed(1)} s, digits 5-9 test accuracy ${(100 * acc).toFixed(1)}%`);
  strategy.dispose();
}
wt.shutdown();
process.exit(0);
