// Experiment `multitask`: MNIST digits and Fashion-MNIST classes through one shared LeNet-5 trunk (conv1 ..
// fc2, hard parameter sharing) with one 10-way head per task, against a single-task model per task; then with
// the digit loss scaled x100 (an imbalance such as tasks with different loss units produce) under equal,
// uncertainty (Kendall et al. 2018) and GradNorm (Chen et al. 2018, alpha 1.5) weighting. Each task draws its
// own batches from its own dataset. Settings are fixed in advance (Adam 1e-3 with cosine decay, learned weights
// at Adam 0.025), not tuned: nothing looks at the test splits except the reported figures.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {leNet5, Linear, manualSeed} from '../../src/nn/layers.js';
import {loadFashionMnist, loadMnist} from '../../src/data/mnist.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {trainTestSplit} from '../../src/data/split.js';
import {TrainingLoop} from '../../src/train/loop.js';
import {MultiTask, sharedTrunk, type TaskSpec, type Weighting} from '../../src/transfer/multitask.js';
import {meanStd} from '../../src/analysis/charts.js';
import {markdownTable, pct, pm, RunLog, writeTextAtomic} from './output.js';

export const MT_RUNS = ['single-digits', 'single-fashion', 'shared-equal', 'x100-equal', 'x100-uncertainty', 'x100-gradnorm'] as const;
export type MtRun = typeof MT_RUNS[number];
const TITLES: Record<MtRun, string> = {
  'single-digits': 'single task: digits', 'single-fashion': 'single task: fashion', 'shared-equal': 'shared trunk, equal weights',
  'x100-equal': 'digits loss x100, equal weights', 'x100-uncertainty': 'digits loss x100, uncertainty weighting',
  'x100-gradnorm': 'digits loss x100, GradNorm',
};

export interface MultitaskExperimentOptions {
  seeds: number[];
  steps: number;
  batch: number;
  runs: MtRun[];
  out: string;
  fresh?: boolean;
  log: (line: string) => void;
}

export interface MtResult { digits: number | null; fashion: number | null; weights: Record<string, number>; seconds: number }

interface Data { digits: {train: ImageSet; test: ImageSet}; fashion: {train: ImageSet; test: ImageSet} }

async function runOne(d: Data, run: MtRun, seed: number, o: MultitaskExperimentOptions): Promise<MtResult> {
  const t0 = performance.now();
  manualSeed(2000 + seed);
  const {trunk} = sharedTrunk(leNet5(1, 10), {first: 4});
  const head = () => new Linear(84, 10);
  const scaled = run.startsWith('x100');
  const tasks: TaskSpec[] = [];
  if (run !== 'single-fashion') tasks.push({name: 'digits', head: head(), train: d.digits.train, test: d.digits.test, lossScale: scaled ? 100 : undefined});
  if (run !== 'single-digits') tasks.push({name: 'fashion', head: head(), train: d.fashion.train, test: d.fashion.test});
  const weighting: Weighting = run.endsWith('uncertainty') ? 'uncertainty' : run.endsWith('gradnorm') ? 'gradnorm' : 'fixed';
  const s = new MultiTask({trunk, tasks, weighting, batch: o.batch, lr: 1e-3, schedule: 'cosine', seed});
  const loop = new TrainingLoop(s, {steps: o.steps, logEvery: Math.min(100, o.steps), evalEvery: o.steps});
  try {
    const r = await loop.fit();
    const m = r.evals[r.evals.length - 1]?.metrics ?? {};
    return {digits: m.digits_accuracy ?? null, fashion: m.fashion_accuracy ?? null, weights: await s.taskWeights(), seconds: (performance.now() - t0) / 1000};
  } finally {
    loop.dispose();
    s.dispose();
    s.model.dispose();
  }
}

export async function multitaskExperiment(o: MultitaskExperimentOptions): Promise<void> {
  mkdirSync(o.out, {recursive: true});
  const runs = new RunLog<MtResult>(join(o.out, 'runs.jsonl'), o.fresh);
  if (runs.summary) o.log(runs.summary);
  const t0 = performance.now();
  const d: Data = {digits: trainTestSplit(loadMnist(), 8000, 0), fashion: trainTestSplit(loadFashionMnist(), 60000, 0)};
  const rows: {run: MtRun; seed: number; result: MtResult}[] = [];
  for (const seed of o.seeds) {
    for (const run of o.runs) {
      const spec = {run, seed, steps: o.steps, batch: o.batch};
      const {result, cached} = await runs.get(spec, () => runOne(d, run, seed, o));
      rows.push({run, seed, result});
      const w = Object.entries(result.weights).map(([k, v]) => `${k} ${v.toPrecision(3)}`).join(', ');
      o.log(`${run} seed ${seed}: digits ${result.digits === null ? '-' : pct(result.digits) + '%'}, fashion ${result.fashion === null ? '-' : pct(result.fashion) + '%'}` +
        ` (weights ${w})${cached ? ' (stored)' : ` (${result.seconds.toFixed(0)} s)`}`);
    }
  }
  const stat = (run: MtRun, k: 'digits' | 'fashion') => {
    const xs = rows.filter((r) => r.run === run && r.result[k] !== null).map((r) => r.result[k]!);
    return xs.length ? meanStd(xs) : null;
  };
  const cell = (run: MtRun, k: 'digits' | 'fashion') => { const m = stat(run, k); return m ? pm(m) : '-'; };
  const weights = (run: MtRun) => {
    const ws = rows.filter((r) => r.run === run).map((r) => r.result.weights);
    if (!ws.length) return '-';
    return Object.keys(ws[0]).map((k) => `${k} ${meanStd(ws.map((w) => w[k])).mean.toPrecision(3)}`).join(', ');
  };
  const md = ['# Multitask learning: MNIST digits + Fashion-MNIST through one shared trunk', '',
    'LeNet-5 trunk shared up to fc2 (conv1, conv2, fc1, fc2 with their ReLU / pooling), one Linear(84, 10) head per task;',
    `each step draws ${o.batch} digits (MNIST, 8,000 train / 2,000 test) and ${o.batch} clothes (Fashion-MNIST, 60,000 / 10,000); single-task`,
    `models are the same trunk with one head and ${o.batch} images of their task per step. ${o.steps} steps, Adam lr 1e-3 with cosine decay;`,
    'learned task weights (s_i or w_i) take Adam steps at 0.025. Settings fixed in advance, not tuned. Seeds',
    `${o.seeds.join(', ')} (initialisation and data order). Test accuracy in %, mean ± std over seeds; "weights" is the effective weight`,
    'per task at the end (fixed: w_i; uncertainty: 1 / (2 e^{s_i}); GradNorm: w_i, summing to 2).', '',
    markdownTable(['run', 'digits test', 'fashion test', 'weights at the end', 'seconds / run'],
      o.runs.map((r) => [TITLES[r], cell(r, 'digits'), cell(r, 'fashion'), weights(r),
        meanStd(rows.filter((x) => x.run === r).map((x) => x.result.seconds)).mean.toFixed(0)])), ''];
  const sd = stat('single-digits', 'digits'), sf = stat('single-fashion', 'fashion');
  const md2 = stat('shared-equal', 'digits'), mf = stat('shared-equal', 'fashion');
  const eq = stat('x100-equal', 'fashion'), un = stat('x100-uncertainty', 'fashion'), gn = stat('x100-gradnorm', 'fashion');
  const pts = (a: number, b: number) => (100 * (a - b)).toFixed(1);
  md.push('Bars (the targets set for this experiment):', '');
  if (sd && sf && md2 && mf) {
    md.push(`- each task within 1 point of its single-task model: digits ${pct(md2.mean)} vs ${pct(sd.mean)} (${pts(md2.mean, sd.mean)}),` +
      ` fashion ${pct(mf.mean)} vs ${pct(sf.mean)} (${pts(mf.mean, sf.mean)}) -> ${md2.mean >= sd.mean - 0.01 && mf.mean >= sf.mean - 0.01 ? 'PASS' : 'FAIL'} (above the single-task model counts as within)`);
  }
  if (eq && (un || gn)) {
    md.push(`- under the x100 imbalance, learned weighting beats equal weighting on the weaker task (fashion): equal ${pct(eq.mean)},` +
      `${un ? ` uncertainty ${pct(un.mean)} (${pts(un.mean, eq.mean)})` : ''}${gn ? `, GradNorm ${pct(gn.mean)} (${pts(gn.mean, eq.mean)})` : ''} -> ` +
      `${(un && un.mean > eq.mean) || (gn && gn.mean > eq.mean) ? 'PASS' : 'FAIL'}`);
  }
  md.push('', 'Raw runs: `results.json`.');
  writeTextAtomic(join(o.out, 'results.json'), JSON.stringify({settings: {...o, log: undefined}, runs: rows}, null, 1));
  writeTextAtomic(join(o.out, 'README.md'), md.join('\n') + '\n');
  o.log(`done in ${((performance.now() - t0) / 60000).toFixed(1)} min: ${join(o.out, 'README.md')}`);
}
