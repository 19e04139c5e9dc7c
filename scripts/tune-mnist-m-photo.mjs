// How the photo MNIST-M's crop magnification (apps/experiments/dann.ts, PHOTO_SCALE) was chosen: for each candidate
// `photoScale`, the DANN experiment's source-only arm (its network, width, steps, batch, normalisation, data and
// seed 0) is trained on binarised MNIST and scored on the target's *validation* split (50 labelled target training
// images per class, held out of both domains' training sets). The test split is never read. It ran on the `mnist`
// package's 10,000 digits (7,500 source), as the experiment did then; mnist-m-photo now trains on all 60,000.
// Usage, after a build:
//   WGT_BACKEND=llvmpipe node scripts/tune-mnist-m-photo.mjs [steps=2400] [width=0.5] [scales=1,1.5,2,3]
// Prints one JSON line per candidate (`TUNE {...}`).
import * as wt from '../dist/lib/node/index.js';

const steps = Number(process.argv[2] ?? 2400), width = Number(process.argv[3] ?? 0.5);
const scales = (process.argv[4] ?? '1,1.5,2,3').split(',').map(Number);

await wt.init();
const base = wt.data.trainTestSplit(wt.data.binarised(wt.data.loadMnist()), 8000, 0);
const source = wt.data.toRgb(wt.data.splitPerClass(base.train, 50, 0).rest);
const photos = wt.data.loadCifar10Photos();

for (const photoScale of scales) {
  const t0 = performance.now();
  // The experiment's training crops: the first half of the photos (the test split's half is never touched here).
  const all = wt.data.mnistMPhoto(base.train, photos, {seed: 0, split: 'train', photoScale});
  const {first: val, rest: target} = wt.data.splitPerClass(all, 50, 0);
  wt.manualSeed(1000);
  const model = wt.transfer.dannMnistModel(3, 10, width);
  const s = new wt.transfer.Dann({source, target, model, mode: 'source-only', batch: 32, seed: 0});
  const loop = new wt.TrainingLoop(s, {steps, logEvery: steps, evalEvery: steps});
  try {
    await loop.fit();
    const accuracy = (await wt.evaluate(s.model, s.normalized(val))).accuracy;
    console.log('TUNE ' + JSON.stringify({photoScale, steps, width, val: accuracy, seconds: Math.round((performance.now() - t0) / 1000)}));
  } finally {
    loop.dispose(); s.dispose(); s.model.dispose();
  }
}
