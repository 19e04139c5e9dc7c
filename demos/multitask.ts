// Demo: multitask learning. One LeNet-5 trunk (conv1 .. fc2) shared by two tasks with their own datasets and
// heads: MNIST digits and Fashion-MNIST clothes. The digit loss is multiplied by 100 (as if it were measured in
// other units). Two runs, 400 steps each, seed 0:
//   equal weights           the plain sum of the two losses: the baseline, where the x100 digit loss dominates
//   uncertainty weighting   learned weights 1 / (2 e^s) per task (Kendall et al. 2018), which scale it back
// Printed: a table (test accuracy per task, the task weights at the end) and a verdict computed from it: what
// learned weighting changed on each task, above all on the clothes, the task the imbalance drowns out.
// results/multitask/ has the full experiment (2000 steps, 3 seeds, single-task models and GradNorm too).
//   npm run demo:multitask     (about 1.5 minutes on llvmpipe)
import * as wt from '../src/node.js';

await wt.init({backend: (process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const digits = wt.loadDataset('mnist'), clothes = wt.loadDataset('fashion-mnist');
const steps = 400;

interface Outcome { digits: number; fashion: number; weights: Record<string, number> }

async function run(weighting: 'fixed' | 'uncertainty', name: string): Promise<Outcome> {
  wt.manualSeed(0); // the same initial weights and data order for both runs
  // The first 4 layers with weights, and their ReLU / pooling.
  const {trunk} = wt.transfer.sharedTrunk(wt.leNet5(1, 10), {first: 4});
  const strategy = new wt.transfer.MultiTask({
    trunk,
    tasks: [
      {name: 'digits', head: new wt.Linear(84, 10), train: digits.train, test: digits.test, lossScale: 100},
      {name: 'fashion', head: new wt.Linear(84, 10), train: clothes.train, test: clothes.test},
    ],
    weighting, // 'fixed' (weight 1 per task unless given), 'uncertainty' or 'gradnorm'
    batch: 64, lr: 1e-3, schedule: 'cosine',
  });
  const result = await new wt.TrainingLoop(strategy, {steps, logEvery: 100, evalEvery: steps, name,
    sinks: [new wt.io.ConsoleSink('lines')]}).fit();
  const metrics = result.evals[result.evals.length - 1].metrics;
  const outcome = {digits: 100 * metrics.digits_accuracy, fashion: 100 * metrics.fashion_accuracy,
    weights: await strategy.taskWeights()};
  strategy.dispose();
  strategy.model.dispose();
  return outcome;
}

const equal = await run('fixed', 'equal weights');
const learned = await run('uncertainty', 'uncertainty weighting');

const fixed = (x: number) => x.toFixed(1);
/** Differences of percentages as printed (to 0.1), so that the verdict agrees with the table. */
const pointsBetween = (a: number, b: number) => Number(fixed(a)) - Number(fixed(b));
/** Prints prose wrapped at 110 columns, continuation lines indented. */
const say = (text: string) => console.log(text.replace(/(.{1,110})(?: |$)/g, '$1\n  ').trimEnd());
const weightText = (w: Record<string, number>) =>
  `digits ${w.digits.toPrecision(3)}, fashion ${w.fashion.toPrecision(3)}`;
console.log(`\ndigits loss x100, ${steps} steps, seed 0; test accuracy on ${digits.test.n.toLocaleString('en')} ` +
  `digits and ${clothes.test.n.toLocaleString('en')} clothes`);
console.log(`${'run'.padEnd(22)}  digits acc  fashion acc  weights at the end`);
for (const [name, o] of [['equal weights', equal], ['uncertainty weighting', learned]] as const) {
  console.log(`${name.padEnd(22)}  ${`${fixed(o.digits)}%`.padStart(10)}  ${`${fixed(o.fashion)}%`.padStart(11)}  ` +
    weightText(o.weights));
}

// The verdict, from the numbers above. The digits' share of the loss: its x100 loss times its weight, against the
// fashion loss times its weight (both losses near the same size at the start: ln 10 each).
const fashionGain = pointsBetween(learned.fashion, equal.fashion);
const digitsGain = pointsBetween(learned.digits, equal.digits);
const ratio = (w: Record<string, number>) => ((100 * w.digits) / w.fashion).toPrecision(3);
const change = (points: number) => `${points >= 0 ? 'gained' : 'lost'} ${fixed(Math.abs(points))} points`;
say(`\nverdict: against equal weights, uncertainty weighting ${change(fashionGain)} on fashion ` +
  `(${fixed(learned.fashion)}% vs ${fixed(equal.fashion)}%) and ${change(digitsGain)} on digits ` +
  `(${fixed(learned.digits)}% vs ${fixed(equal.digits)}%).`);
// Two runs' accuracies on n test images differ by chance with a standard error of about
// sqrt(p1 (1 - p1) / n + p2 (1 - p2) / n).
const p1 = equal.fashion / 100, p2 = learned.fashion / 100;
const standardError = 100 * Math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / clothes.test.n);
if (Math.abs(fashionGain) < 2 * standardError) {
  say(`caution: the change on fashion is within two standard errors (${fixed(2 * standardError)} points on ` +
    `${clothes.test.n.toLocaleString('en')} test images) of none: chance alone could make it.`);
}
say(fashionGain > 0
  ? `why: with equal weights the x100 digit loss outweighs the clothes ${ratio(equal.weights)} to 1 and ` +
    'steers the shared trunk; the learned weights brought that down to ' +
    `${ratio(learned.weights)} to 1, leaving the trunk room to learn the clothes.`
  : `why: the learned weights brought the digits' share down from ${ratio(equal.weights)} to ` +
    `${ratio(learned.weights)} to 1, but in ${steps} steps that did not turn into better clothes; ` +
    'results/multitask/ runs 2000 steps.');
wt.shutdown();
process.exit(0);
