// Diagnosis runs for DANN on mnist-m2 (its +10-point target): source-only and DANN at one seed with a chosen length,
// width and lambda, scored on the target validation split (the one to choose by) and, to describe the runs, on the
// test split, each also split by crop polarity. A crop is "light" when the target image's mean over the digit's
// background pixels exceeds 0.5: its digit then comes out dark, the reverse of MNIST. Same data, network,
// normalisation, batch and schedules as `webgpu-transfer experiment dann --shifts mnist-m2`. Usage, after a build
// (arms: source-only, dann, target-only):
//   WGT_BACKEND=llvmpipe node scripts/dann-diagnosis.mjs [steps=2400] [width=0.5] [lambdaMax=1] \
//     [arms=source-only,dann] [seed=0]
//   WGT_BACKEND=llvmpipe node scripts/dann-diagnosis.mjs models [dir=results/dann/models] [width=0.5]
// The second form scores the experiment's saved seed-0 models (mnist-m2-<arm>-0.safetensors) the same way.
// V2='{"colour":0.3}' passes mnist-m2 options (src/data/domains.ts, MnistMV2Options). REF=1 uses the experiment's
// 'mnist-m2-ref' recipe instead (source digits binarised at 0, target masks at 0, one texture pool; saved models
// named mnist-m2-ref-*), and BATCH=64 sets images per domain per step (default 32). OPT=adam trains every arm with
// Adam instead of SGD with momentum 0.9 (LR sets lr0, default 0.01 for SGD and 1e-3 for Adam; LRS=constant holds
// it instead of the paper's decay). PHOTO=<scale> uses the 'mnist-m-photo' crops of real photos at that
// magnification, and FULL=1 all 70,000 MNIST digits (both described below). Prints one JSON line per run
// (`DIAG {...}`) and a table.
import {existsSync} from 'node:fs';
import * as wt from '../dist/lib/node/index.js';

const savedModels = process.argv[2] === 'models' ? process.argv[3] ?? 'results/dann/models' : null;
const args = savedModels ? [] : process.argv.slice(2);
const steps = Number(args[0] ?? 2400), width = Number((savedModels ? process.argv[4] : args[1]) ?? 0.5);
const lambdaMax = Number(args[2] ?? 1), arms = (args[3] ?? 'source-only,dann').split(',');
const seed = Number(args[4] ?? 0);
for (const a of arms) if (!['source-only', 'dann', 'target-only'].includes(a)) throw new Error(`unknown arm '${a}'`);

await wt.init();
// PHOTO=<scale> uses the experiment's 'mnist-m-photo' recipe (the reference recipe on CIFAR-10 photo crops,
// magnified <scale> times; train and test crops from disjoint halves of the photos).
const photoScale = process.env.PHOTO ? Number(process.env.PHOTO) : null;
const ref = process.env.REF === '1' || photoScale !== null, batch = Number(process.env.BATCH ?? 32);
const optimizer = process.env.OPT ?? 'sgd', lrSchedule = process.env.LRS ?? 'dann';
const lr = process.env.LR ? Number(process.env.LR) : undefined;
// FULL=1: all 60,000 MNIST training digits and the 10,000 t10k digits (wt.data.loadMnistFull(), binarised), as the
// experiment's mnist-m-photo uses, instead of the `mnist` package's 10,000 split 8,000 / 2,000.
const full = process.env.FULL === '1' ? wt.data.loadMnistFull() : null;
const base = full ? {train: wt.data.binarised(full.train), test: wt.data.binarised(full.test)}
  : wt.data.trainTestSplit(ref ? wt.data.binarised(wt.data.loadMnist()) : wt.data.loadMnist(), 8000, 0);
const v2 = JSON.parse(process.env.V2 ?? '{}');
const recipe = ref ? {threshold: 0, sharedPool: true} : {};
const photos = photoScale === null ? null : wt.data.loadCifar10Photos();
const render = (set, split) => (photos ? wt.data.mnistMPhoto(set, photos, {seed: 0, split, photoScale})
  : wt.data.mnistM(set, {seed: 0, split, style: 'v2', v2, ...recipe}));
const all = render(base.train, 'train');
const {first: val, rest: train} = wt.data.splitPerClass(all, 50, 0);
// The validation digits are held out of the source set as well (as the experiment does since the second mnist-m2 run).
const {first: valDigits, rest: sourceDigits} = wt.data.splitPerClass(base.train, 50, 0);
const test = render(base.test, 'test');
const px = base.train.height * base.train.width;

/** Indices of the light and dark crops of a target set made from `digits` (same order). */
function polarity(set, digits) {
  const light = [], dark = [];
  for (let i = 0; i < set.n; i++) {
    let s = 0, n = 0;
    for (let c = 0; c < 3; c++) for (let p = 0; p < px; p++) {
      if (digits.images[i * px + p] <= (ref ? 0 : 0.5)) { s += set.images[(i * 3 + c) * px + p]; n++; }
    }
    (s / n > 0.5 ? light : dark).push(i);
  }
  return {light, dark};
}
const groups = {val: polarity(val, valDigits), test: polarity(test, base.test)};

/** Accuracy on val and test (all, dark crops, light crops) and on MNIST's test split. */
async function score(model, normalized, out) {
  const acc = async (set, idx) => (idx && !idx.length ? NaN
    : (await wt.evaluate(model, normalized(idx ? wt.data.subset(set, idx) : set))).accuracy);
  for (const [name, set] of [['val', val], ['test', test]]) {
    out[name] = await acc(set);
    out[`${name}_dark`] = await acc(set, groups[name].dark);
    out[`${name}_light`] = await acc(set, groups[name].light);
  }
  out.mnist_test = await acc(wt.data.toRgb(base.test));
  return out;
}

async function run(arm) {
  const t0 = performance.now();
  wt.manualSeed(1000 + seed);
  const model = wt.transfer.dannMnistModel(3, 10, width);
  // Train on target trains on the target's labelled images as if they were the source (as the experiment does).
  const source = arm === 'target-only' ? train : wt.data.toRgb(sourceDigits);
  const mode = arm === 'dann' ? 'dann' : 'source-only';
  const s = new wt.transfer.Dann({source, target: train, model, mode, batch, seed, lambda: {max: lambdaMax}, optimizer, lr, lrSchedule});
  let domainAcc = NaN;
  const sinks = [{record: (r) => { domainAcc = r.terms.domain_acc; }}];
  const loop = new wt.TrainingLoop(s, {steps, logEvery: 25, evalEvery: steps, sinks});
  try {
    await loop.fit();
    const out = await score(s.model, (set) => s.normalized(set), {arm, steps, width, lambdaMax, seed, v2, ref, photoScale, full: !!full, batch,
      optimizer, lr0: s.lr0, lrSchedule});
    if (arm === 'dann') out.domain_acc_end = domainAcc;
    out.seconds = Math.round((performance.now() - t0) / 1000);
    return out;
  } finally {
    loop.dispose(); s.dispose(); s.model.dispose();
  }
}

/** A saved model of the experiment, normalised with the channel means stored beside its weights. */
async function saved(file) {
  const net = new wt.transfer.DannNet(wt.transfer.dannMnistModel(3, 10, width));
  const means = JSON.parse((await wt.loadModel(`${savedModels}/${file}`, net)).means);
  const centre = (v, i, set) => v - means[Math.floor(i / px) % set.channels];
  const normalized = (set) => ({...set, images: set.images.map((v, i) => centre(v, i, set))});
  try { return await score(net, normalized, {arm: file, width}); } finally { net.dispose(); }
}

const rows = [];
const shift = ref ? 'mnist-m2-ref' : 'mnist-m2';
const runs = savedModels
  ? ['source-only', 'dann-lambda0.3', 'dann-lambda1', 'target-only'].filter((a) => existsSync(`${savedModels}/${shift}-${a}-0.safetensors`))
    .map((a) => () => saved(`${shift}-${a}-0.safetensors`))
  : arms.map((a) => () => run(a));
for (const f of runs) {
  const r = await f();
  console.log('DIAG ' + JSON.stringify(r));
  rows.push(r);
}
const p = (v) => (v === undefined ? '' : (100 * v).toFixed(1));
console.log(`\nval: ${val.n} (light ${groups.val.light.length}), test: ${test.n} (light ${groups.test.light.length})`);
console.log('| arm | steps | width | lambda max | val | val dark | val light | test | test dark | test light | ' +
  'MNIST test | domain acc | s |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.arm} | ${r.steps ?? ''} | ${r.width} | ${r.lambdaMax ?? ''} | ${p(r.val)} | ${p(r.val_dark)} | ` +
    `${p(r.val_light)} | ${p(r.test)} | ${p(r.test_dark)} | ${p(r.test_light)} | ${p(r.mnist_test)} | ` +
    `${p(r.domain_acc_end)} | ${r.seconds ?? ''} |`);
}
wt.shutdown();
