// Demo: conservative training. Fine-tuning on 5 labels per class of digits 5-9 (200 steps, seed 1), plainly (the
// baseline) and with each conservative term (L2-SP towards the source weights; distillation of the source model's
// outputs through the kept source head). Printed: target accuracy and how much of the source task (digits 0-4)
// each remembers, then a verdict computed from them: which won on digits 5-9 and by how much over plain
// fine-tuning, and what each kept of digits 0-4. The lecture notes' idea: keep the fine-tuned model close to the
// source one. results/transfer-methods/ has the full experiment (3 seeds, settings chosen on a validation split).
//   npm run demo:conservative     (about 30 s on llvmpipe once the source model is cached)
import * as wt from '../src/node.js';
import {source as sourceData, sourceModel, start, target} from './lib/digits-source.js';

await start();
const source = await sourceModel();
const labelled = target.labelled(5);
type MakeStrategy = (model: wt.Sequential, loader: wt.DataLoader) => wt.transfer.FineTune;
const setups: [string, MakeStrategy][] = [
  ['fine-tune', (model, loader) => new wt.transfer.FineTune({source, model, loader, task: 'new', lr: 1e-3})],
  ['L2-SP alpha 0.1', (model, loader) => new wt.transfer.Conservative({source, model, loader, task: 'new', lr: 1e-3,
    l2sp: {alpha: 0.1, beta: 1e-3}})],
  ['KL weight 1, T 2', (model, loader) => new wt.transfer.Conservative({source, model, loader, task: 'new', lr: 1e-3,
    distill: {weight: 1, temperature: 2}})],
];
const results: {name: string; onTarget: number; onSource: number}[] = [];
for (const [name, make] of setups) {
  wt.manualSeed(1);
  const strategy = make(wt.leNet5(1, 5), new wt.DataLoader(labelled, {batch: 25}));
  // The loop logs each named loss term (ce, l2sp, kl) beside the loss.
  await new wt.TrainingLoop(strategy, {steps: 200, logEvery: 50, sinks: [new wt.io.ConsoleSink('lines')], name}).fit();
  const onTarget = 100 * (await wt.evaluate(strategy.net, target.test)).accuracy;
  const onSource = 100 * (await wt.evaluate(strategy.sourceView(), sourceData.test)).accuracy;
  results.push({name, onTarget, onSource});
  strategy.dispose();
}
const sourceBefore = 100 * (await wt.evaluate(source, sourceData.test)).accuracy;
const fixed = (x: number) => x.toFixed(1);
console.log(`\nsource model on digits 0-4: ${fixed(sourceBefore)}%`);
for (const r of results) {
  console.log(`${r.name.padEnd(18)} digits 5-9: ${fixed(r.onTarget)}%   ` +
    `digits 0-4 (source task) still: ${fixed(r.onSource)}%`);
}

// The verdict, from the numbers above.
/** Differences of percentages as printed (to 0.1), so that the verdict agrees with the lines above. */
const pointsBetween = (a: number, b: number) => Number(fixed(a)) - Number(fixed(b));
/** Prints prose wrapped at 110 columns, continuation lines indented. */
const say = (text: string) => console.log(text.replace(/(.{1,110})(?: |$)/g, '$1\n  ').trimEnd());
const [plain, ...conservative] = results;
const best = [...results].sort((a, b) => b.onTarget - a.onTarget)[0];
const bestConservative = [...conservative].sort((a, b) => b.onTarget - a.onTarget)[0];
// Two runs' accuracies on n test digits differ by chance with a standard error of about
// sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n).
const [p1, p2] = [plain.onTarget / 100, bestConservative.onTarget / 100];
const standardError = 100 * Math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / target.test.n);
const targetGap = pointsBetween(bestConservative.onTarget, plain.onTarget);
const withinNoise = Math.abs(targetGap) < 2 * standardError;
say(best === plain
  ? `\nverdict on digits 5-9: plain fine-tuning won, ${fixed(-targetGap)} points over the best conservative term ` +
    `(${fixed(plain.onTarget)}% vs ${bestConservative.name}: ${fixed(bestConservative.onTarget)}%).`
  : `\nverdict on digits 5-9: ${best.name} won, ${fixed(targetGap)} points over plain fine-tuning ` +
    `(${fixed(best.onTarget)}% vs ${fixed(plain.onTarget)}%).`);
if (withinNoise) {
  say(`caution: that is within two standard errors (${fixed(2 * standardError)} points on ` +
    `${target.test.n.toLocaleString('en')} test digits) of no difference: chance alone could make it.`);
}
say(`${withinNoise ? 'why it can win' : 'why'}: ${best === plain
  ? 'the conservative terms hold the network near the source, which costs some of the new task.'
  : `held near the source, the network overfits the ${labelled.n} labels less (the lecture notes' conservative ` +
    'training).'}`);
const kept = conservative.map((r) => `${r.name} kept ${fixed(r.onSource)}%`).join(', ');
const allKeptMore = conservative.every((r) => pointsBetween(r.onSource, plain.onSource) > 0);
say(`on digits 0-4: plain fine-tuning forgot ${fixed(pointsBetween(sourceBefore, plain.onSource))} points ` +
  `(${fixed(sourceBefore)}% -> ${fixed(plain.onSource)}%); ${kept}` + (allKeptMore
    ? ": L2-SP keeps the shared weights near the source's, the KL term keeps the source head's outputs, and so " +
      'the old task survives the new one better.'
    : '.'));
wt.shutdown();
process.exit(0);
