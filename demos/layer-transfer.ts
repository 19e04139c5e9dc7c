// Demo: layer transfer. Copy the first k layers of the digits 0-4 model, freeze them, and train the rest on
// digits 5-9 (20 labels per class, 200 steps, seed 1), for k = 0 (scratch, the baseline) .. 4 (all but the head).
// Printed: test accuracy per k, then a verdict computed from it: which k won, by how many points over scratch,
// and what freezing more layers than that cost. The lecture notes' lesson: for images the first layers carry
// over, the higher ones are specific to the source task. results/transferability/ has the full curve (3 seeds,
// copy + freeze and copy + fine-tune).  npm run demo:layer-transfer     (about 1 minute on llvmpipe)
import * as wt from '../src/node.js';
import {sourceModel, start, target} from './lib/digits-source.js';

await start();
const source = await sourceModel();
const labelled = target.labelled(20);
const layerNames = wt.transfer.parameterLayers(source).map((l) => l.name);
const layerTitles = ['conv1', 'conv2', 'fc1', 'fc2', 'head'];
console.log(`layers with parameters: ${layerNames.map((name, i) => `${name} (${layerTitles[i]})`).join(', ')}`);
const accuracy: number[] = [];
for (let k = 0; k <= 4; k++) {
  wt.manualSeed(1);
  const model = wt.leNet5(1, 5);
  const strategy = new wt.transfer.LayerTransfer({source, model, loader: new wt.DataLoader(labelled, {batch: 32}),
    layers: {first: k}, lr: 1e-3});
  const frozen = model.parameters().filter((p) => !p.requiresGrad).length;
  const r = await new wt.TrainingLoop(strategy, {steps: 200, logEvery: 200}).fit();
  accuracy.push(100 * (await wt.evaluate(model, target.test)).accuracy);
  console.log(`k = ${k}: ${frozen} frozen tensors, ${r.seconds.toFixed(1)} s, digits 5-9 test accuracy ` +
    `${accuracy[k].toFixed(1)}%`);
  strategy.dispose();
}

// The verdict, from the numbers above.
const fixed = (x: number) => x.toFixed(1);
/** Differences of percentages as printed (to 0.1), so that the verdict agrees with the lines above. */
const pointsBetween = (a: number, b: number) => Number(fixed(a)) - Number(fixed(b));
/** Prints prose wrapped at 110 columns, continuation lines indented. */
const say = (text: string) => console.log(text.replace(/(.{1,110})(?: |$)/g, '$1\n  ').trimEnd());
const best = accuracy.indexOf(Math.max(...accuracy));
const last = accuracy.length - 1;
say(best === 0
  ? `\nverdict: scratch (k = 0) won, ${fixed(pointsBetween(accuracy[0], Math.max(...accuracy.slice(1))))} points ` +
    `over the best frozen copy: with ${labelled.n} labelled images no frozen source layer helped here.`
  : `\nverdict: copying and freezing the first ${best} layer${best > 1 ? 's' : ''} won, ` +
    `${fixed(pointsBetween(accuracy[best], accuracy[0]))} points over scratch (${fixed(accuracy[best])}% vs ` +
    `${fixed(accuracy[0])}%).`);
// Two runs' accuracies on n test digits differ by chance with a standard error of about
// sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n).
const [p1, p2] = [accuracy[0] / 100, accuracy[best] / 100];
const standardError = 100 * Math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / target.test.n);
const withinNoise = best > 0 && pointsBetween(accuracy[best], accuracy[0]) < 2 * standardError;
if (withinNoise) {
  say(`caution: that margin is within two standard errors (${fixed(2 * standardError)} points on ` +
    `${target.test.n.toLocaleString('en')} test digits) of none: chance alone could make it; ` +
    'results/transferability/ averages 3 seeds.');
}
if (best > 0) {
  say(`${withinNoise ? 'why it can win' : 'why'}: the first layers (${layerTitles.slice(0, best).join(', ')}) hold features that digits 5-9 share with ` +
    '0-4, learned from thousands of images, so the few labels only have to train the layers above them (for ' +
    'images the first layers carry over, as the lecture notes say).');
}
if (best < last) {
  say(`freezing all ${last} layers below the head cost ${fixed(pointsBetween(accuracy[best], accuracy[last]))} ` +
    `points against k = ${best}: the higher layers learned to tell digits 0-4 apart, and frozen they cannot learn ` +
    'to tell 5-9 apart.');
}
wt.shutdown();
process.exit(0);
