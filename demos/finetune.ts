// Demo: when does fine-tuning pay? The source is a LeNet-5 trained on MNIST digits 0-4 (cached in runs/demos/);
// the target task is digits 5-9 with only 2 labelled images per class (--labels N for more). Three setups learn
// from the same images, 200 steps each (Adam lr 1e-3, cosine decay), for seeds 0, 1, 2 (label draw, data order and
// new-layer initialisation):
//   scratch                     a fresh LeNet-5: the baseline every transfer must beat
//   fine-tune every layer       all source layers but the head copied, then all of them trained
//   copy + freeze conv1, conv2  the two conv layers copied and frozen; fc1, fc2 and a new head trained
// Printed: a table (weights trained, accuracy on the few training images, test accuracy per seed and their mean)
// and a verdict computed from it: which setup won, by how many points, on how many seeds, and why; then whether
// fine-tuning every layer beat scratch. The lecture notes' lesson: on scarce target data fine-tuning may overfit;
// copying and freezing layers keeps what the source taught (for images, the first layers carry over).
// results/transfer-methods/ has the full experiment (2-200 labels; these settings are its validation choices for
// few labels: there, at 2 labels, copy + freeze 70.8%, scratch 66.6%, fine-tune 60.6%).
//   npm run demo:finetune [-- --labels 2 --seeds 3]     (about 30 s on llvmpipe once the source model is cached)
import {parseArgs} from 'node:util';
import * as wt from '../src/node.js';
import {source as sourceDigits, sourceModel, start, target} from './lib/digits-source.js';

const {values} = parseArgs({options: {labels: {type: 'string', default: '2'}, seeds: {type: 'string', default: '3'}},
  strict: true});
const labelsPerClass = Number(values.labels), seedCount = Number(values.seeds);
for (const [flag, v] of [['labels', labelsPerClass], ['seeds', seedCount]] as const) {
  if (!Number.isInteger(v) || v < 1) {
    throw new Error(`finetune demo: --${flag} expects a whole number >= 1, got '${values[flag]}'`);
  }
}
const steps = 200, lr = 1e-3;

await start();
const source = await sourceModel();

type SetupName = 'scratch' | 'fine-tune' | 'freeze';
const titles: Record<SetupName, string> = {
  scratch: 'scratch',
  'fine-tune': 'fine-tune every layer',
  freeze: 'copy + freeze conv1, conv2',
};

function strategyFor(setup: SetupName, model: wt.Sequential, loader: wt.DataLoader): wt.Strategy {
  if (setup === 'scratch') {
    const optimizer = new wt.Adam(model.parameters(), {lr});
    return new wt.Supervised({model, optimizer, loader, schedule: new wt.CosineLR(optimizer, steps)});
  }
  if (setup === 'fine-tune') {
    return new wt.transfer.FineTune({source, model, loader, task: 'new', lr, schedule: 'cosine'});
  }
  // Layer transfer: the first two layers with weights (conv1, conv2) are copied and frozen.
  return new wt.transfer.LayerTransfer({source, model, loader, layers: {first: 2}, lr, schedule: 'cosine'});
}

interface Outcome { trainedWeights: number; trainAccuracy: number[]; testAccuracy: number[] }
const outcomes = new Map<SetupName, Outcome>();
const seeds = Array.from({length: seedCount}, (_, i) => i);
for (const seed of seeds) {
  const labelled = target.labelled(labelsPerClass, seed);
  for (const setup of Object.keys(titles) as SetupName[]) {
    wt.manualSeed(1000 + seed);
    const model = wt.leNet5(1, 5);
    const strategy = strategyFor(setup, model, new wt.DataLoader(labelled, {batch: Math.min(32, labelled.n), seed}));
    const loop = new wt.TrainingLoop(strategy, {steps, logEvery: steps, evalEvery: steps});
    const {seconds} = await loop.fit();
    const outcome = outcomes.get(setup) ?? {trainedWeights: 0, trainAccuracy: [], testAccuracy: []};
    outcome.trainedWeights = model.parameters().filter((p) => p.requiresGrad).reduce((n, p) => n + p.size, 0);
    outcome.trainAccuracy.push(100 * (await wt.evaluate(model, labelled)).accuracy);
    outcome.testAccuracy.push(100 * (await wt.evaluate(model, target.test)).accuracy);
    outcomes.set(setup, outcome);
    const testAccuracy = outcome.testAccuracy.at(-1)!;
    console.log(`seed ${seed} ${titles[setup].padEnd(27)} test ${testAccuracy.toFixed(1)}% (${seconds.toFixed(1)} s)`);
    loop.dispose();
    if (strategy.dispose) strategy.dispose(); else strategy.optimizer.dispose();
    model.dispose();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const fixed = (x: number) => x.toFixed(1);
/** Differences of percentages as printed (to 0.1), so that the verdict agrees with the table. */
const pointsBetween = (a: number, b: number) => Number(fixed(a)) - Number(fixed(b));
/** Prints prose wrapped at 110 columns, continuation lines indented. */
const say = (text: string) => console.log(text.replace(/(.{1,110})(?: |$)/g, '$1\n  ').trimEnd());
const train = (setup: SetupName) => mean(outcomes.get(setup)!.trainAccuracy);
const test = (setup: SetupName) => mean(outcomes.get(setup)!.testAccuracy);

console.log(`\ndigits 5-9 with ${labelsPerClass} labelled images per class (${5 * labelsPerClass} in all), ${steps} ` +
  `steps, seeds ${seeds.join(', ')}; test accuracy on ${target.test.n.toLocaleString('en')} test digits`);
console.log(`${'setup'.padEnd(27)}  trained weights  train acc  test acc  per seed`);
for (const [setup, o] of outcomes) {
  const columns = [o.trainedWeights.toLocaleString('en').padStart(15), `${fixed(train(setup))}%`.padStart(9),
    `${fixed(test(setup))}%`.padStart(8), o.testAccuracy.map(fixed).join(' ')];
  console.log(`${titles[setup].padEnd(27)}  ${columns.join('  ')}`);
}

// The verdict, from the numbers above.
const ranked = (Object.keys(titles) as SetupName[]).sort((a, b) => test(b) - test(a));
const [winner, runnerUp] = ranked;
const margin = pointsBetween(test(winner), test(runnerUp));
// The setups share each seed's label draw, so compare them seed by seed.
const perSeed = (setup: SetupName) => outcomes.get(setup)!.testAccuracy;
const winsBySeed = seeds.filter((i) => perSeed(winner)[i] > perSeed(runnerUp)[i]).length;
const sourceImages = sourceDigits.train.n.toLocaleString('en');
const why: Record<SetupName, string> = {
  freeze: `the frozen conv layers keep the edge and stroke detectors learned on ${sourceImages} images of digits ` +
    '0-4, which digits 5-9 share, and the few labels cannot bend them to fit themselves: only fc1, fc2 and the head ' +
    'learn from the labels (for images the first layers carry over, as the lecture notes say).',
  'fine-tune': 'every layer started from weights learned on digits 0-4, a better start than random ones, and these ' +
    'few labels did not pull them far from it.',
  scratch: 'no copied layer helped here: what the source task taught did not fit digits 5-9 better than what a ' +
    'fresh network learns from these labels (which layers to copy depends on the task: npm run demo:layer-transfer).',
};
say(`\nverdict: ${titles[winner]} won by ${fixed(margin)} points over ${titles[runnerUp]}` +
  ` (${fixed(test(winner))}% vs ${fixed(test(runnerUp))}%), ahead on ${winsBySeed} of ${seeds.length} seeds.`);
say(`why: ${why[winner]}`);
if (winsBySeed < seeds.length) {
  say('caution: it was not ahead on every seed, so the margin is within the luck of the label draw: ' +
    'rerun with more seeds (--seeds 5) before trusting it.');
}
const fineTuneGain = pointsBetween(test('fine-tune'), test('scratch'));
say(fineTuneGain < 0
  ? `fine-tuning every layer fell ${fixed(-fineTuneGain)} points below scratch: free to move, the copied layers ` +
    `were pulled to fit the ${5 * labelsPerClass} images (train ${fixed(train('fine-tune'))}%) instead of keeping ` +
    'what the source taught, the overfitting the lecture notes warn of on scarce target data. Freezing the copied ' +
    'layers, or conservative training (npm run demo:conservative), keeps it in check.'
  : `fine-tuning every layer beat scratch by ${fixed(fineTuneGain)} points: the copied weights were a better start ` +
    'than random ones and outweighed the overfitting the lecture notes warn of.');
wt.shutdown();
process.exit(0);
