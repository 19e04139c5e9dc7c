// Demo: domain-adversarial training (DANN) against its baseline. Labelled MNIST digits and unlabelled
// MNIST-M-style colour digits (mnist-m2); the colour digits' labels are never used for training. Two runs of the
// same network (the paper's at half width, seed 0, 1200 steps of 32 MNIST images, SGD with the paper's schedules):
//   source only  trained on the labelled MNIST digits alone: the baseline, what MNIST alone teaches
//   DANN         the same, plus 32 unlabelled colour digits a step through a domain classifier behind gradient
//                reversal, whose reversed gradient pushes the features to look alike in both domains
// Printed: the DANN run's domain classifier accuracy as training goes (50% would mean features that no longer
// tell the domains apart); then a table: MNIST and colour-digit test accuracy of each run, and how well a fresh
// linear probe tells the two domains' features apart; and a verdict computed from it: what DANN gained or lost on
// the colour digits, whether that is beyond the noise of the test split, and why.
// Lambda's scale 0.3 is the one results/dann/ chose on a validation split; results/dann/ has the full experiment
// (2400 steps, 3 seeds) and results/dann-diagnosis/ why the gain stays small on this target.
//   npm run demo:dann [-- --steps 1200]     (3-4 minutes on llvmpipe)
import {parseArgs} from 'node:util';
import * as wt from '../src/node.js';
import {domainGap} from '../src/analysis/pca.js';
import {featuresAt} from '../src/analysis/features.js';

const {values} = parseArgs({options: {steps: {type: 'string', default: '1200'}}, strict: true});
const steps = Number(values.steps);
if (!Number.isInteger(steps) || steps < 1) {
  throw new Error(`dann demo: --steps expects a whole number >= 1, got '${values.steps}'`);
}

await wt.init({backend: (process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const mnist = wt.loadDataset('mnist'), colour = wt.loadDataset('mnist-m2');
const source = {train: wt.data.toRgb(mnist.train), test: wt.data.toRgb(mnist.test)}; // grey repeated to 3 channels
const probeImages = 500;

interface Outcome { mnist: number; colour: number; probe: number; seconds: number }

async function run(mode: 'source-only' | 'dann'): Promise<Outcome> {
  wt.manualSeed(0); // the same initial weights and data order for both runs
  const strategy = new wt.transfer.Dann({
    source: source.train, target: colour.train, mode,  // the target's labels are never read
    model: wt.transfer.dannMnistModel(3, 10, 0.5),      // the paper's network at half width (CPU-friendly)
    batch: 32, lr: 0.01, lambda: {max: 0.3}, seed: 0,   // lambda_p and lr_p follow the paper's schedules
  });
  const log: wt.Sink = {record: (r) => console.log(mode === 'dann'
    ? `DANN step ${r.step}: label loss ${r.terms.ce.toFixed(3)}, domain classifier accuracy ` +
      `${(100 * r.terms.domain_acc).toFixed(0)}%, lambda ${r.terms.lambda.toFixed(2)}`
    : `source only step ${r.step}: label loss ${r.loss.toFixed(3)}`)};
  const loop = new wt.TrainingLoop(strategy, {steps, logEvery: Math.ceil(steps / 4), evalEvery: steps, sinks: [log]});
  const {seconds} = await loop.fit();
  const accuracy = async (set: wt.ImageSet) =>
    100 * (await wt.evaluate(strategy.model, strategy.normalized(set))).accuracy;
  // A fresh logistic regression on the features of 500 MNIST and 500 colour test digits: can it tell them apart?
  const mnistFeatures = await featuresAt(strategy.model, 'features', strategy.normalized(source.test), probeImages);
  const colourFeatures = await featuresAt(strategy.model, 'features', strategy.normalized(colour.test), probeImages);
  const gap = domainGap(mnistFeatures.data, probeImages, colourFeatures.data, probeImages, mnistFeatures.d);
  const outcome = {mnist: await accuracy(source.test), colour: await accuracy(colour.test),
    probe: 100 * gap.probeAccuracy, seconds};
  loop.dispose();
  strategy.dispose();
  strategy.model.dispose();
  return outcome;
}

const sourceOnly = await run('source-only');
const dann = await run('dann');

const fixed = (x: number) => x.toFixed(1);
/** Differences of percentages as printed (to 0.1), so that the verdict agrees with the table. */
const pointsBetween = (a: number, b: number) => Number(fixed(a)) - Number(fixed(b));
/** Prints prose wrapped at 110 columns, continuation lines indented. */
const say = (text: string) => console.log(text.replace(/(.{1,110})(?: |$)/g, '$1\n  ').trimEnd());
console.log(`\n${steps} steps, seed 0; test digits: ${source.test.n.toLocaleString('en')} MNIST, ` +
  `${colour.test.n.toLocaleString('en')} colour; the domain probe reads the features of ${probeImages} of each`);
console.log(`${'run'.padEnd(12)}  MNIST acc  colour digits acc  domain probe (50% = alike)  seconds`);
for (const [name, o] of [['source only', sourceOnly], ['DANN', dann]] as const) {
  console.log(`${name.padEnd(12)}  ${`${fixed(o.mnist)}%`.padStart(9)}  ${`${fixed(o.colour)}%`.padStart(17)}  ` +
    `${`${fixed(o.probe)}%`.padStart(26)}  ${o.seconds.toFixed(0).padStart(7)}`);
}

// The verdict, from the numbers above. Two runs' accuracies on n test digits differ by chance with a standard
// error of about sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n).
const gain = pointsBetween(dann.colour, sourceOnly.colour);
const p1 = sourceOnly.colour / 100, p2 = dann.colour / 100;
const standardError = 100 * Math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / colour.test.n);
const probeChange = pointsBetween(dann.probe, sourceOnly.probe);
const mnistChange = pointsBetween(dann.mnist, sourceOnly.mnist);
say(`\nverdict: DANN ${gain >= 0 ? 'gained' : 'lost'} ${fixed(Math.abs(gain))} points on the colour digits over ` +
  `source only (${fixed(dann.colour)}% vs ${fixed(sourceOnly.colour)}%) without using one colour label; MNIST ` +
  `${mnistChange >= 0 ? 'gained' : 'lost'} ${fixed(Math.abs(mnistChange))} points.`);
if (Math.abs(gain) < 2 * standardError) {
  say(`caution: that is within two standard errors (${fixed(2 * standardError)} points on ` +
    `${colour.test.n.toLocaleString('en')} test digits) of no difference: chance alone could make it; ` +
    'results/dann/ averages 3 seeds of the full run.');
}
const probeText = `a fresh linear probe tells the two domains' features apart ${fixed(dann.probe)}% of the time ` +
  `after DANN, ${fixed(sourceOnly.probe)}% after source only`;
say(gain > 0
  ? `why: ${probeText}${probeChange < 0
    ? ': the reversed gradient of the domain classifier made the colour digits\' features look more like MNIST\'s, ' +
      'so the label predictor, which learned on MNIST features, reads more of them.'
    : '; the features did not become harder to tell apart, so the gain is not the alignment DANN aims at.'}`
  : `why: ${probeText}. Aligning the domains' features does not tell the network which class is which: the colour ` +
    'digits on light backgrounds, whose strokes come out dark, look like no MNIST digit, and both runs misread ' +
    'them (results/dann-diagnosis/).');
wt.shutdown();
process.exit(0);
