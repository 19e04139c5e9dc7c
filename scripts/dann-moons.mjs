// Sanity check of our DANN on the paper's first experiment (Ganin et al. 2016, section 5.1, "inter-twinning
// moons"): source = two labelled moons, target = the same distribution rotated by 35 degrees, unlabelled. One
// hidden layer of 15 units is the feature extractor, a linear layer the label predictor and a logistic regressor the
// domain classifier. The paper's shallow network trained on the source misclassifies part of the target, while
// DANN's classifies it all. If our DANN cannot do that, the failure on MNIST-M-style targets is ours, not the domain's.
// Usage, after a build:
//   WGT_BACKEND=llvmpipe node scripts/dann-moons.mjs [steps=3000] [seeds=0,1,2] [setting=toy|mnist]
// 'toy': plain SGD at lr 0.05, lambda 6 from the start (the paper's toy settings); 'mnist': the settings the MNIST
// experiment uses (SGD momentum 0.9, lr 0.01 / (1 + 10p)^0.75, lambda_p rising to 1). Scored on 1,000 fresh target
// points per seed. Prints one `MOONS {...}` line per run and a table.
import * as wt from '../dist/lib/node/index.js';

const steps = Number(process.argv[2] ?? 3000), seeds = (process.argv[3] ?? '0,1,2').split(',').map(Number);
const setting = process.argv[4] ?? 'toy';
const lambdaMax = Number(process.argv[5] ?? (setting === 'toy' ? 6 : 1));
// 'paper': 15 sigmoid units, linear heads; 'deep': two ReLU layers of 64, the domain head FC 64 -> 1.
const net = process.env.NET ?? 'paper';
if (!['paper', 'deep'].includes(net)) throw new Error(`NET must be paper or deep, got '${net}'`);
if (!['toy', 'mnist', 'adam'].includes(setting)) throw new Error(`setting must be toy, mnist or adam, got '${setting}'`);

/** n points per class of two noisy moons, optionally rotated about their centre (0.5, 0.25) by `deg` degrees. */
function moons(n, seed, deg = 0) {
  let s = seed * 7919 + 17;
  const r = () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648; };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const c = Math.cos(deg * Math.PI / 180), sn = Math.sin(deg * Math.PI / 180);
  const images = new Float32Array(4 * n), labels = new Int32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    const k = i % 2, t = Math.PI * r();
    let x = k ? 1 - Math.cos(t) : Math.cos(t), y = k ? 0.5 - Math.sin(t) : Math.sin(t);
    x += 0.1 * gauss(); y += 0.1 * gauss();
    const dx = x - 0.5, dy = y - 0.25;
    images[2 * i] = 0.5 + c * dx - sn * dy; images[2 * i + 1] = 0.25 + sn * dx + c * dy;
    labels[i] = k;
  }
  return {images, labels, n: 2 * n, channels: 2, height: 1, width: 1, classes: 2};
}

await wt.init();
const {Flatten, Linear, ReLU, Sigmoid, Sequential} = wt;
const rows = [];
for (const seed of seeds) for (const mode of ['source-only', 'dann']) {
  wt.manualSeed(500 + seed);
  const model = net === 'paper'
    ? {features: new Sequential(new Flatten(), new Linear(2, 15), new Sigmoid()), classifier: new Linear(15, 2), domain: new Linear(15, 1)}
    : {features: new Sequential(new Flatten(), new Linear(2, 64), new ReLU(), new Linear(64, 64), new ReLU()),
      classifier: new Linear(64, 2), domain: new Sequential(new Linear(64, 64), new ReLU(), new Linear(64, 1))};
  const source = moons(150, seed), target = moons(150, seed + 100, 35), targetTest = moons(500, seed + 200, 35);
  const opts = setting === 'toy' ? {lr: 0.05, momentum: 0, lrSchedule: 'constant', lambda: {max: lambdaMax, schedule: 'constant'}}
    : setting === 'adam' ? {optimizer: 'adam', lr: 0.01, lrSchedule: 'constant', lambda: {max: lambdaMax}}
      : {lr: 0.01, momentum: 0.9, lambda: {max: lambdaMax}};
  const s = new wt.transfer.Dann({source, target, model, mode, batch: 32, seed, ...opts});
  let domainAcc = NaN;
  const loop = new wt.TrainingLoop(s, {steps, logEvery: 50, evalEvery: steps + 1,
    sinks: [{record: (r) => { domainAcc = r.terms.domain_acc; }}]});
  try {
    await loop.fit();
    const acc = async (set) => (await wt.evaluate(s.model, s.normalized(set))).accuracy;
    const out = {setting, net, lambdaMax, mode, seed, steps, source: await acc(source), target: await acc(targetTest),
      domain_acc_end: mode === 'dann' ? domainAcc : undefined};
    console.log('MOONS ' + JSON.stringify(out));
    rows.push(out);
  } finally {
    loop.dispose(); s.dispose(); s.model.dispose();
  }
}
const p = (v) => (v === undefined ? '' : (100 * v).toFixed(1));
console.log('| setting | arm | seed | source | target (rotated 35°) | domain acc at end |\n|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.setting} | ${r.mode} | ${r.seed} | ${p(r.source)} | ${p(r.target)} | ${p(r.domain_acc_end)} |`);
wt.shutdown();
