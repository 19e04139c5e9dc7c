// Settings for the capsnet experiment (issue 8), chosen on a validation split: the experiment's 8k MNIST training
// images are split 7k / 1k (100 per class, seed 0), each candidate trains on the 7k with the experiment's loader
// (shifts up to 2 px), loss and Adam + cosine schedule, and is scored on the 1k, clean and shifted 3-4 px. The 2k
// test split is never read. Usage, after `npm run build`:
//   WGT_BACKEND=llvmpipe node scripts/tune-capsnet.mjs '<json list of candidates>'
// A candidate: {"model": "capsnet-small" | "cnn-matched", "steps": 3000, "lr": 1e-3, "batch": 64, "seed": 0,
//   "config": {CapsNetConfig overrides, e.g. "conv1Channels": 64}, "recon": 0.0005, "minLr": 0.05}.
// The CNN's parameter count matches the CapsNet of the same "config". Prints one `TUNE {...}` line per candidate.
import * as wt from '../dist/lib/node/index.js';

const candidates = JSON.parse(process.argv[2] ?? '[{"model":"capsnet-small"}]');
await wt.init();
const {train: all} = wt.trainTestSplit(wt.loadMnist(), 8000, 0);
const {first: val, rest: train} = wt.splitPerClass(all, 100, 0);
const valShifted = wt.shifted(val, {min: 3, max: 4, seed: 12});
const C = wt.capsnet;

for (const c of candidates) {
  const o = {model: 'capsnet-small', steps: 3000, lr: 1e-3, batch: 64, seed: 0, config: {}, recon: 0.0005, minLr: 0.05, ...c};
  const t0 = performance.now();
  const config = {...C.CAPSNET_SMALL, ...o.config, seed: 100 + o.seed};
  wt.manualSeed(100 + o.seed);
  const caps = o.model === 'capsnet-small';
  const model = caps ? new C.CapsNet(config) : C.cnnMatched(C.capsNetClassifierParameters(config)).model;
  const opt = new wt.Adam(model.parameters(), {lr: o.lr});
  const strategy = new wt.Supervised({model, optimizer: opt,
    loader: new wt.DataLoader(train, {batch: o.batch, seed: o.seed, shift: 2}),
    schedule: new wt.CosineLR(opt, o.steps, o.minLr), loss: caps ? C.capsuleLoss({reconstructionWeight: o.recon}) : undefined});
  let lastLoss = NaN;
  const loop = new wt.TrainingLoop(strategy, {steps: o.steps, logEvery: 50, evalEvery: o.steps + 1,
    sinks: [{record: (r) => { lastLoss = r.loss; }}]});
  try {
    await loop.fit();
    const evalLoss = caps ? C.marginEvalLoss() : undefined;
    const acc = async (set) => (await wt.evaluate(model, set, 250, evalLoss)).accuracy;
    const out = {...o, val: await acc(val), val_shift34: await acc(valShifted), train_loss_end: lastLoss,
      parameters: C.parameterCount(model, true), seconds: Math.round((performance.now() - t0) / 1000)};
    console.log('TUNE ' + JSON.stringify(out));
  } finally {
    loop.dispose(); opt.dispose?.(); model.dispose();
  }
}
wt.shutdown();
