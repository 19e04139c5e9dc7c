// Demo: domain-adversarial training (DANN). Labelled MNIST digits and unlabelled MNIST-M-style colour digits
// (mnist-m2) train one network: a label predictor on MNIST, and behind gradient reversal a domain classifier
// whose reversed gradient pushes the features to look alike in both domains. Printed: the domain classifier's
// accuracy as training goes (50% would mean features that no longer tell the domains apart), then accuracy on
// the colour digits, whose labels were never used, and how separable the two domains' features are.
// A short run (400 steps, ~1-2 min on a CPU adapter); results/dann/ has the full experiment.  npm run demo:dann
import * as wt from '../src/index.js';
import {loadDataset} from '../src/data/datasets.js';
import {toRgb} from '../src/data/split.js';
import {evaluate} from '../src/train/evaluate.js';
import {TrainingLoop} from '../src/train/loop.js';
import {Dann, dannMnistModel} from '../src/transfer/index.js';
import {domainGap} from '../src/analysis/pca.js';
import {featuresAt} from '../src/analysis/features.js';

await wt.init({backend: (process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
console.log(wt.debug.formatReport(wt.adapter()));
const mnist = loadDataset('mnist'), colour = loadDataset('mnist-m2');
const source = {train: toRgb(mnist.train), test: toRgb(mnist.test)}; // grey repeated to 3 channels

wt.manualSeed(0);
const dann = new Dann({
  source: source.train, target: colour.train, // the target's labels are never read
  model: dannMnistModel(3, 10, 0.5),          // the paper's network at half width (CPU-friendly)
  batch: 32, lr: 0.01, lambda: {max: 1},      // lambda_p and lr_p follow the paper's schedules
});
await new TrainingLoop(dann, {steps: 400, logEvery: 50, evalEvery: 400, sinks: [{
  record: (r) => console.log(`step ${r.step}: label loss ${r.terms.ce.toFixed(3)}, domain classifier accuracy ${(100 * r.terms.domain_acc).toFixed(0)}%, lambda ${r.terms.lambda.toFixed(2)}`),
}]}).fit();

const acc = async (set: typeof source.test) => (100 * (await evaluate(dann.model, dann.normalized(set))).accuracy).toFixed(1);
console.log(`\ntest accuracy: MNIST ${await acc(source.test)}%, colour digits ${await acc(colour.test)}% (no colour labels used)`);
const n = 500;
const fs = await featuresAt(dann.model, 'features', dann.normalized(source.test), n);
const ft = await featuresAt(dann.model, 'features', dann.normalized(colour.test), n);
const gap = domainGap(fs.data, n, ft.data, n, fs.d);
console.log(`features: a fresh linear domain classifier tells them apart ${(100 * gap.probeAccuracy).toFixed(0)}% of the time (50% = indistinguishable)`);
wt.shutdown();
process.exit(0);
