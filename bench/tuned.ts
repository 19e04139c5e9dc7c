// Training steps on the selection tables' kernels against the same steps after `tune` measured their shapes:
// steady-state ms per compiled step, side by side in one process, and how many shapes moved off the table.
// Usage: npm run bench:tuned [-- <adapter> [models]]   models: comma-separated of lenet5, cifar_resnet, mobilenet_v2,
// resnet18 (224 px: for GPUs; bench/torch_steps.py times the same steps in PyTorch). WGT_TUNE_BUDGET_S: seconds of
// measuring per model, after which the shapes left keep the tables' picks (scripts/bench-gpu.sh sets it).
import * as wt from '../src/index.js';
import {time} from './harness.js';

const backend = (process.argv[2] ?? 'llvmpipe') as wt.BackendChoice;
const which = (process.argv[3] ?? 'lenet5,cifar_resnet,mobilenet_v2').split(',');
const budgetS = process.env.WGT_TUNE_BUDGET_S ? Number(process.env.WGT_TUNE_BUDGET_S) : undefined;
await wt.init({backend});
console.log(wt.debug.formatReport(wt.adapter()));

interface Setup { name: string; model: wt.Module; shape: number[]; classes: number }
const setups: Record<string, () => Setup> = {
  lenet5: () => ({name: 'LeNet-5, batch 64', model: wt.leNet5(), shape: [64, 1, 28, 28], classes: 10}),
  cifar_resnet: () => ({name: 'CIFAR ResNet (width 16, 1-1-1-1), 32 px, batch 32',
    model: wt.models.cifarResNet({classes: 5, width: 16, layers: [1, 1, 1, 1]}), shape: [32, 3, 32, 32], classes: 5}),
  resnet18: () => ({name: 'ResNet-18, 224 px, batch 32', model: wt.models.resnet18({classes: 10}),
    shape: [32, 3, 224, 224], classes: 10}),
  mobilenet_v2: () => ({name: 'MobileNetV2 x0.35, 32 px, batch 32',
    model: wt.models.mobilenetV2({classes: 5, widthMult: 0.35, inputSize: 32}), shape: [32, 3, 32, 32], classes: 5}),
};

const header = '| step | tables, ms | measured, ms | speed-up | shapes moved | tune, s |\n|---|---|---|---|---|---|';
const rows: string[] = [];
for (const name of which) {
  wt.manualSeed(0);
  const {name: label, model, shape, classes} = setups[name]();
  const opt = new wt.SGD(model.parameters(), {lr: 1e-3});
  const r = wt.internals.rng(3);
  const x = Float32Array.from({length: shape.reduce((a, b) => a * b)}, () => r());
  const y = Int32Array.from({length: shape[0]}, (_, i) => i % classes);
  const specs: wt.InputSpec[] = [{shape}, {shape: [shape[0]], dtype: 'i32'}];
  const body = (xb: wt.Tensor, yb: wt.Tensor) => wt.tidy(() => {
    const l = wt.crossEntropy(model.forward(xb) as wt.Tensor, yb);
    l.backward(); opt.step(); opt.zeroGrad();
    return l;
  });
  const stepOn = (measured: boolean) => wt.internals.withKernelPrefs({measured},
    () => wt.compile(specs, [x, y], body));
  await wt.internals.clearMeasuredChoices({persist: false});
  const tables = stepOn(false);
  const tablesS = await time(10, 3, () => tables.run([x, y]).item());
  const t0 = performance.now();
  const xt = wt.tensor(x, shape), yt = wt.tensor(y, [shape[0]], {dtype: 'i32'});
  const timings = await wt.internals.tuneKernels(() => { body(xt, yt).dispose(); }, {persist: false, force: true,
    budgetMs: budgetS === undefined ? undefined : budgetS * 1000});
  xt.dispose(); yt.dispose();
  const tuneS = (performance.now() - t0) / 1000;
  if (budgetS !== undefined && tuneS > budgetS) {
    console.log(`  tune reached its budget of ${budgetS} s: ${timings.length} shapes measured, the rest on the tables`);
  }
  const measured = stepOn(true);
  const measuredS = await time(10, 3, () => measured.run([x, y]).item());
  const moved = timings.filter((t) => t.choice !== t.table);
  for (const t of moved) console.log(`  ${t.family} ${t.key}: ${t.table} -> ${t.choice} (${t.ms[t.table].toFixed(2)} -> ${t.ms[t.choice].toFixed(2)} ms)`);
  rows.push(`| ${label} | ${(tablesS * 1e3).toFixed(1)} | ${(measuredS * 1e3).toFixed(1)} | ` +
    `${(tablesS / measuredS).toFixed(2)}x | ${moved.length} of ${timings.length} | ${tuneS.toFixed(1)} |`);
  // Each row as it is measured too: a run stopped at its time limit keeps the models it finished.
  console.log(`${header}\n${rows[rows.length - 1]}`);
  tables.dispose?.(); measured.dispose?.();
}
console.log(`\n${header}`);
for (const row of rows) console.log(row);
wt.shutdown();
