// A/B of a training step (batch 64) under two settings, compiled side by side in one process and timed interleaved
// (ROUNDS rounds, default 12, of STEPS steps, default 5), so the machine's drift hits both alike. A and B are JSON
// kernelPrefs; "fuse": false also undoes the model's fusions (nn.fuse(model, false)). MODEL=lenet (default: LeNet-5,
// SGD), dann (DANN's MNIST -> MNIST-M feature extractor and label predictor at width 0.5, 3-channel 28 px, SGD),
// capsnet (the small CapsNet, Adam, as bench:profile:capsnet), mobilenet (MobileNetV2 width 0.35, 64 px, 5 classes,
// Adam, as bench/profile-mobilenet.ts) or resnet18 (ImageNet stem, 64 px, 5 classes, Adam). Prints both medians and
// B/A (below 1: B is faster).
// Usage, after a build: A='{"pool2x2":false}' B='{}' [MODEL=capsnet] [ROUNDS=12] [STEPS=5] node scripts/ab-step.mjs
//   [llvmpipe|swiftshader]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
const randArr = (n, seed) => { const r = wt.internals.rng(seed); return Float32Array.from({length: n}, () => r()); };
const model = process.env.MODEL ?? 'lenet';
if (!['lenet', 'dann', 'capsnet', 'mobilenet', 'resnet18'].includes(model)) {
  throw new Error(`ab-step: MODEL must be lenet, dann, capsnet, mobilenet or resnet18, not '${model}'`);
}
const photos = model === 'mobilenet' || model === 'resnet18';
const image = photos ? [3, 64, 64] : model === 'dann' ? [3, 28, 28] : [1, 28, 28];
const classes = photos ? 5 : 10;
const bx = randArr(64 * image[0] * image[1] * image[2], 3), by = Int32Array.from({length: 64}, (_, i) => i % classes);
// Kernels are chosen while compile() records the step, so each arm is built under its own prefs.
function build(prefs) {
  const {fuse = true, ...kp} = prefs;
  return wt.internals.withKernelPrefs(kp, () => buildArm(fuse));
}
function buildArm(fuse) {
  wt.manualSeed(0);
  let lossOf, params;
  if (model === 'capsnet') {
    const net = new wt.capsnet.CapsNet(wt.capsnet.CAPSNET_SMALL), loss = wt.capsnet.capsuleLoss();
    lossOf = (x, y) => loss(net, x, y).loss;
    params = net.parameters();
  } else if (model === 'mobilenet') {
    const net = wt.models.fuse(wt.models.mobilenetV2({widthMult: 0.35, classes: 5, inputSize: 64}), fuse);
    lossOf = (x, y) => wt.crossEntropy(net.forward(x), y);
    params = net.parameters();
  } else if (model === 'resnet18') {
    const net = wt.models.fuse(wt.models.resnet18({classes: 5, inputSize: 64}), fuse);
    lossOf = (x, y) => wt.crossEntropy(net.forward(x), y);
    params = net.parameters();
  } else if (model === 'dann') {
    const {features, classifier} = wt.transfer.dannMnistModel(3, 10, 0.5);
    const net = wt.models.fuse(new wt.Sequential(features, classifier), fuse);
    lossOf = (x, y) => wt.crossEntropy(net.forward(x), y);
    params = net.parameters();
  } else {
    const net = wt.models.fuse(wt.leNet5(), fuse);
    lossOf = (x, y) => wt.crossEntropy(net.forward(x), y);
    params = net.parameters();
  }
  const opt = model !== 'lenet' ? new wt.Adam(params, {lr: 1e-3}) : new wt.SGD(params, {lr: 0.01});
  const step = wt.compile([{shape: [64, ...image]}, {shape: [64], dtype: 'i32'}], [bx, by], (x, y) => wt.tidy(() => {
    const loss = lossOf(x, y);
    loss.backward(); opt.step(); opt.zeroGrad();
    return loss;
  }));
  return step;
}
const arms = {A: build(JSON.parse(process.env.A ?? '{}')), B: build(JSON.parse(process.env.B ?? '{}'))};
const ts = {A: [], B: []};
for (const k of ['A', 'B']) for (let i = 0; i < 3; i++) await arms[k].run([bx, by]).item();
const rounds = Number(process.env.ROUNDS ?? 12), steps = Number(process.env.STEPS ?? 5);
for (let round = 0; round < rounds; round++) for (const k of ['A', 'B']) for (let i = 0; i < steps; i++) {
  const t = performance.now(); await arms[k].run([bx, by]).item(); ts[k].push(performance.now() - t);
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
console.log(`A median ${med(ts.A).toFixed(2)} ms, B median ${med(ts.B).toFixed(2)} ms, B/A ${(med(ts.B) / med(ts.A)).toFixed(3)}`);
wt.shutdown();
