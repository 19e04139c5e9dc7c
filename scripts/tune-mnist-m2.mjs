// How the mnist-m2 defaults (src/data/domains.ts, MNIST_M2_DEFAULTS) were chosen: for each candidate texture
// setting, the DANN experiment's source-only arm (its network, width, steps, batch, normalisation and seed 0)
// is trained on MNIST and scored on the target's *validation* split (50 labelled target training images per
// class, never trained on); the chosen setting is also trained on its own target labels (the ceiling). The test
// split is never read. Usage, after `npm run build`:
//   WGT_BACKEND=llvmpipe node scripts/tune-mnist-m2.mjs [steps=2400] [width=0.5]
// Candidates are `meanRange lo,hi / meanGap`, e.g. TUNE='0.1,0.6/0 0.05,0.85/0.15' (the default list below).
import * as wt from '../dist/lib/node/index.js';

const steps = Number(process.argv[2] ?? 2400), width = Number(process.argv[3] ?? 0.5);
const candidates = (process.env.TUNE ?? '0.1,0.6/0 0.05,0.85/0.15 0.05,0.95/0.15 0.05,0.75/0.15').split(/\s+/).map((c) => {
  const [range, gap] = c.split('/');
  const [lo, hi] = range.split(',').map(Number);
  return {meanRange: [lo, hi], meanGap: Number(gap)};
});
const ceiling = (process.env.CEILING ?? '').split(/\s+/).filter(Boolean).map(Number);

await wt.init();
const base = wt.data.trainTestSplit(wt.data.loadMnist(), 8000, 0);
// Held out of the source set: the digits of the validation split below (splitPerClass picks by labels and seed).
const source = wt.data.toRgb(wt.data.splitPerClass(base.train, 50, 0).rest);

async function arm(trainSet, target, val) {
  wt.manualSeed(1000);
  const model = wt.transfer.dannMnistModel(3, 10, width);
  const s = new wt.transfer.Dann({source: trainSet, target, model, mode: 'source-only', batch: 32, seed: 0});
  const loop = new wt.TrainingLoop(s, {steps, logEvery: steps, evalEvery: steps});
  try {
    await loop.fit();
    return (await wt.evaluate(s.model, s.normalized(val))).accuracy;
  } finally {
    loop.dispose(); s.dispose(); s.model.dispose();
  }
}

const rows = [];
for (const [i, v2] of candidates.entries()) {
  const t0 = performance.now();
  const all = wt.data.mnistM(base.train, {seed: 0, split: 'train', style: 'v2', v2});
  const {first: val, rest: train} = wt.data.splitPerClass(all, 50, 0);
  const sourceOnly = await arm(source, train, val);
  const onTarget = ceiling.includes(i) ? await arm(train, train, val) : null;
  const row = `meanRange [${v2.meanRange}] meanGap ${v2.meanGap}: source-only ${(100 * sourceOnly).toFixed(1)}% on target val` +
    (onTarget === null ? '' : `, train on target ${(100 * onTarget).toFixed(1)}%`) + ` (${((performance.now() - t0) / 1000).toFixed(0)} s)`;
  console.log(row);
  rows.push(row);
}
console.log(`\n${steps} steps, width ${width}, seed 0:\n${rows.join('\n')}`);
await wt.shutdown();
