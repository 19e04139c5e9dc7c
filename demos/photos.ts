// Demo: your own photos. A small ResNet that this project pretrained on CIFAR-10 classes 0-4 (airplane, automobile,
// bird, cat, deer; shipped in pretrained/) learns five other classes (dog, frog, horse, ship, truck) from 10 photos
// each. The photos are written as an image folder, one sub-folder per class, the way your own would be laid out,
// and read back with wt.data.imageFolder. Three setups learn from the same 50 photos:
//   scratch             a fresh network of the same shape
//   feature extractor   the pretrained body frozen, each photo's features computed once, only a new head trained
//   fine-tune           every layer trained from the pretrained weights (copied layers at a tenth of the rate)
// Printed: test accuracy on 500 other photos and the time each took, and a verdict computed from them.
//   npm run demo:photos [-- --labels 10 --steps 60]     (about 4 minutes on llvmpipe)
import {parseArgs} from 'node:util';
import {join} from 'node:path';
import {existsSync} from 'node:fs';
import * as wt from '../src/node.js';

const {values} = parseArgs({options: {labels: {type: 'string', default: '10'}, steps: {type: 'string', default: '60'}},
  strict: true});
const labels = Number(values.labels), steps = Number(values.steps);
for (const [flag, v] of [['labels', labels], ['steps', steps]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`photos demo: --${flag} expects a whole number >= 1, got '${values[flag]}'`);
}

await wt.init();
console.log(wt.debug.formatReport(wt.adapter()));

// 1. Photos on disk: one folder per class (here exported from CIFAR-10; yours would be JPEGs from a camera).
const dir = join('runs', 'demos', `photos-${labels}`);
const trainDir = join(dir, 'train'), testDir = join(dir, 'test');
const classes = [5, 6, 7, 8, 9];
if (!existsSync(trainDir)) await wt.data.exportCifar10Folder(trainDir, {split: 'train', classes, perClass: labels});
if (!existsSync(testDir)) await wt.data.exportCifar10Folder(testDir, {split: 'test', classes, perClass: 100});
const trainFolder = await wt.data.imageFolder(trainDir, {minClasses: 2});
const testFolder = await wt.data.imageFolder(testDir, {minClasses: 2});
// The photos are 32 px, the size the network was pretrained at: only ToTensor and the ImageNet normalisation.
const transform = wt.data.compose(wt.data.toTensor(), wt.data.normalize());
const train = await trainFolder.toImageSet(transform);
const test = await testFolder.toImageSet(transform);
console.log(`${trainDir}: ${train.n} photos of ${trainFolder.classes.join(', ')}; ${test.n} test photos`);

// 2. The pretrained source: weights with torchvision's names, its architecture recorded in the file.
const weights = wt.io.pretrainedWeights('cifar_resnet-w16-l1111-c0-4');
const {model: source, info: {spec}} = await wt.transfer.modelFromWeights(wt.io.loadSafetensors(weights), weights);
const fresh = () => wt.models.build({...spec, classes: trainFolder.classes.length}, 1);

async function run(name: string, make: () => Promise<{strategy: wt.Strategy; accuracy: () => Promise<number>}>) {
  const t0 = performance.now();
  const {strategy, accuracy} = await make();
  const loop = new wt.TrainingLoop(strategy, {steps, logEvery: steps, evalEvery: steps + 1});
  await loop.fit();
  const acc = await accuracy();
  loop.dispose();
  strategy.dispose?.();
  const seconds = (performance.now() - t0) / 1000;
  console.log(`${name.padEnd(18)} test accuracy ${(100 * acc).toFixed(1)}%   (${seconds.toFixed(0)} s)`);
  return {name, acc, seconds};
}

const batch = Math.min(32, train.n);
const results = [
  await run('scratch', async () => {
    const model = fresh();
    const optimizer = new wt.Adam(model.parameters(), {lr: 1e-3});
    const loader = new wt.DataLoader(train, {batch, seed: 0, shift: 2});
    return {strategy: new wt.Supervised({model, optimizer, loader}), accuracy: async () => (await wt.evaluate(model, test)).accuracy};
  }),
  await run('feature extractor', async () => {
    const model = fresh();
    for (const l of wt.transfer.parameterLayers(model)) if (l.module !== model.head) l.module.copyFrom(source.get(l.name));
    const feats = await wt.transfer.extractFeatures(model, wt.transfer.imageSetSource(train));
    const testFeats = await wt.transfer.extractFeatures(model, wt.transfer.imageSetSource(test));
    const strategy = new wt.transfer.FeatureExtractor({model, train: feats, test: testFeats, batch, lr: 1e-2, seed: 0});
    return {strategy, accuracy: async () => (await strategy.evaluate()).test_accuracy};
  }),
  await run('fine-tune', async () => {
    const model = fresh();
    wt.models.freezeBatchNorm(model);   // running statistics from pretraining: batches of 32 are too small to re-estimate
    const loader = new wt.DataLoader(train, {batch, seed: 0, shift: 2});
    const strategy = new wt.transfer.FineTune({source, model, loader, task: 'new', lr: 1e-3, transferredLr: 1e-4});
    return {strategy, accuracy: async () => (await wt.evaluate(model, test)).accuracy};
  }),
];

const scratch = results[0], best = results.slice(1).reduce((a, b) => (b.acc > a.acc ? b : a));
const gain = 100 * (best.acc - scratch.acc);
console.log(gain > 0
  ? `\n${best.name} beat scratch by ${gain.toFixed(1)} points with ${labels} photos per class: what the source learnt ` +
    'about photos (edges, textures, shapes) carries over to classes it never saw.'
  : `\nno transfer setup beat scratch here (best: ${best.name}, ${gain.toFixed(1)} points): try more --steps or labels.`);
wt.shutdown();
