// Times batch norm's kernels on MobileNetV2's shapes at batch 64 under the profiler (5 forward and backward steps a
// shape and setting, 3 interleaved rounds), printing each kernel's median ms:
//   sums: the per-channel sums (statistics, and the backward's), under the kernel preferences in PREFS;
//   runs: the normalisation and input-gradient passes (bn_norm4, bn_dx4) at 1, 2, 4 and 8 vec4s of a plane a thread;
//   act: with relu6, the backward's passes (bn_plane_grad_sums4, bn_dx4) taking its gradient from the output or x.
// Usage, after a build: [PREFS='{"batchNormSums":"workgroup"}'] node scripts/bn-kernels.mjs sums|runs|act
//   [llvmpipe|swiftshader]
const mode = process.argv[2];
if (!['sums', 'runs', 'act'].includes(mode)) {
  throw new Error(`bn-kernels: the first argument is sums, runs or act, not '${mode}'`);
}
const wt = await import('../dist/lib/node/index.js');
await wt.init({backend: process.argv[3] ?? 'llvmpipe',
  kernelPrefs: process.env.PREFS ? JSON.parse(process.env.PREFS) : undefined});
const I = wt.internals;
const shapes = [[64, 48, 32, 32], [64, 16, 32, 32], [64, 48, 16, 16], [64, 96, 8, 8], [64, 144, 4, 4]];
const settings = {runs: [1, 2, 4, 8], act: ['output', 'input'], sums: [null]}[mode];
const kernel = {runs: /bn_norm4|bn_dx4/, act: /bn_plane_grad_sums4|bn_dx4/,
  sums: /bn_stats\w*|bn_grad_sums\w*|bn_plane\w*/}[mode];
const prefsOf = (setting) => (mode === 'runs' ? {batchNormVec4s: setting} : {batchNormActFrom: setting});
const labelOf = (setting) => (mode === 'runs' ? `, ${setting} vec4s a thread` : `, from the ${setting}`);
const res = new Map();
for (let round = 0; round < 3; round++) for (const run of settings) for (const s of shapes) {
  const x = wt.randn(s, {seed: 1, requiresGrad: true}), w = wt.randn([s[1]], {seed: 2, requiresGrad: true});
  const b = wt.randn([s[1]], {seed: 3, requiresGrad: true}), g = wt.randn(s, {seed: 4});
  const step = () => {
    const l = wt.tidy(() => {
      const loss = wt.sum(wt.mul(I.batchNormTrain(x, w, b, 1e-5, mode === 'act' ? 'relu6' : 'none').y, g));
      loss.backward();
      return wt.keep(loss);
    });
    return l.item().finally(() => l.dispose());
  };
  const profile = () => wt.debug.profile(step, {steps: 5, warmup: 1});
  const p = run === null ? await profile() : await I.withKernelPrefs(prefsOf(run), profile);
  for (const row of p.rows) {
    const m = kernel.exec(row.kernel);
    if (!m) continue;
    const id = `${s.join('x')} ${m[0]}${run === null ? '' : labelOf(run)}`;
    if (!res.has(id)) res.set(id, []);
    res.get(id).push(row.ms);
  }
  for (const t of [x, w, b, g]) t.dispose();
}
const med = (a) => [...a].sort((u, v) => u - v)[a.length >> 1];
for (const [id, v] of [...res].sort()) console.log(`${id.padEnd(48)} ${med(v).toFixed(2)} ms`);
wt.shutdown();
