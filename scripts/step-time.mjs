// A compiled training step on the selection tables (WGT_MEASURED=0 for them alone): MobileNetV2 (width 0.35, 5
// classes, Adam) or ResNet-18 (5 classes), random photos; the median of N steps after 2 warm-up steps.
// Usage, after a build: [MODEL=resnet18] [SIZE=64] [BATCH=64] node scripts/step-time.mjs [llvmpipe|swiftshader] [N]
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[2] ?? 'llvmpipe'});
wt.manualSeed(0);
const size = Number(process.env.SIZE ?? 64), batch = Number(process.env.BATCH ?? 64), n = Number(process.argv[3] ?? 7);
const net = process.env.MODEL === 'resnet18' ? wt.models.resnet18({classes: 5})
  : wt.models.mobilenetV2({widthMult: 0.35, classes: 5, inputSize: size});
const opt = new wt.Adam(net.parameters(), {lr: 1e-3});
const r = wt.internals.rng(4);
const x = Float32Array.from({length: batch * 3 * size * size}, () => r());
const y = Int32Array.from({length: batch}, (_, i) => i % 5);
const shapes = [{shape: [batch, 3, size, size]}, {shape: [batch], dtype: 'i32'}];
const step = wt.compile(shapes, [x, y], (xb, yb) => wt.tidy(() => {
  const l = wt.crossEntropy(net.forward(xb), yb);
  l.backward(); opt.step(); opt.zeroGrad();
  return l;
}));
for (let i = 0; i < 2; i++) await step.run([x, y]).item();
const ts = [];
for (let i = 0; i < n; i++) {
  const t = performance.now();
  await step.run([x, y]).item();
  ts.push(performance.now() - t);
}
ts.sort((a, b) => a - b);
console.log(`step ${ts[n >> 1].toFixed(0)} ms (of ${ts.map((t) => t.toFixed(0)).join(' ')})`);
wt.shutdown();
