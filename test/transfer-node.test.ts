// @test node-only: transfer runs with file sinks and child processes
// @test once: checkpoint resume and the experiment command, mostly child processes
// Transfer in Node: exact resume through safetensors checkpoints, and the experiment command end to end (a run
// writes its tables, raw runs and charts under --out, and a rerun reuses finished runs; flags: experiments.test).
import {existsSync, mkdtempSync, readdirSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {spawnSync} from 'node:child_process';
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {DataLoader} from '../src/data/loader.js';
import {TrainingLoop} from '../src/train/loop.js';
import {FileCheckpointStore} from '../src/train/sinks/node.js';
import {Conservative} from '../src/transfer/index.js';
import {dannExperimentData} from '../apps/experiments/dann.js';
import {capsData} from '../apps/experiments/capsnet.js';
import {expectClose} from './lib/check.js';
import {mlp, tinySet} from './lib/tiny-models.js';

const t = suite('transfer (Node)');

t('resume: a conservative run with a ramp continues exactly (optimizer, data order, schedules, runtime values)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wgt-transfer-resume-'));
  const make = () => new Conservative({source: mlp(3, 61), model: mlp(3, 62), task: 'new', loader: new DataLoader(tinySet(12, 3, 6), {batch: 4, seed: 2}),
    lr: 0.05, schedule: 'cosine', distill: {weight: 1.5, temperature: 2}, l2sp: {alpha: 0.5, beta: 0.1}, rampSteps: 4});
  // An 8-step run; `stopAt` interrupts it after a checkpoint there (the schedules span all 8 steps either way).
  const run = async (stopAt: number, store?: FileCheckpointStore, resume = false) => {
    const s = make(), losses: number[] = [];
    const loop: TrainingLoop = new TrainingLoop(s, {steps: 8, logEvery: 1, store, resume, checkpointEvery: store ? stopAt : undefined,
      shouldStop: () => loop.step >= stopAt, sinks: [{record: (r) => losses.push(r.loss)}]});
    await loop.fit();
    const w = await s.model.parameters()[0].data();
    loop.dispose(); s.dispose();
    return {losses, w};
  };
  const full = await run(8);
  await run(5, new FileCheckpointStore({path: join(dir, 'c.safetensors')}));
  const rest = await run(8, new FileCheckpointStore({path: join(dir, 'c.safetensors')}), true);
  assert.is(rest.losses.length, 3, 'steps 6..8 only');
  expectClose(rest.losses, full.losses.slice(5), 1e-5, 1e-4, 'losses after resume vs uninterrupted');
  expectClose(rest.w, full.w, 1e-6, 1e-5, 'weights after 8 steps');
});

const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/apps/cli/main.js', ...args], {encoding: 'utf8'});

t('dann experiment data: the validation digits are held out of the source set, and targets pair with their sources', () => {
  const d = dannExperimentData('inverted');
  const px = 28 * 28;
  const digitOf = (set: {images: Float32Array}, i: number, invert: boolean) =>  // channel 0 as a key
    Array.from(set.images.subarray(i * 3 * px, i * 3 * px + px), (v) => (invert ? 1 - v : v).toFixed(3)).join(',');
  const source = new Set(Array.from({length: d.source.train.n}, (_, i) => digitOf(d.source.train, i, false)));
  assert.is(d.target.val.n, 500);
  assert.equal(Array.from({length: 10}, (_, c) => d.target.val.labels.filter((l) => l === c).length), new Array(10).fill(50));
  assert.is(d.source.train.n, 8000 - 500);
  for (let i = 0; i < d.target.val.n; i++) assert.not.ok(source.has(digitOf(d.target.val, i, true)), `val image ${i} is a source digit`);
  assert.is(d.target.train.n, d.source.train.n);
  for (const i of [0, 1, 777, d.target.train.n - 1]) {
    assert.is(digitOf(d.target.train, i, true), digitOf(d.source.train, i, false), `target ${i} renders source ${i}`);
    assert.is(d.target.train.labels[i], d.source.train.labels[i]);
  }
});

t('capsnet experiment data: --validation trains on 7k of the 8k training images and scores the other 1k, never the test split', () => {
  const key = (set: {images: Float32Array}, i: number) => Array.from(set.images.subarray(i * 784, (i + 1) * 784), (v) => v.toFixed(3)).join(',');
  const keys = (set: {n: number; images: Float32Array}) => new Set(Array.from({length: set.n}, (_, i) => key(set, i)));
  const full = capsData('mnist'), val = capsData('mnist', true);
  assert.is(full.train.n, 8000);
  assert.is(full.test.n, 2000);
  assert.is(val.train.n, 7000);
  assert.equal(Array.from({length: 10}, (_, c) => val.test.labels.filter((l) => l === c).length), new Array(10).fill(100));
  const fullTrain = keys(full.train), fullTest = keys(full.test), valTrain = keys(val.train);
  for (let i = 0; i < val.test.n; i++) {
    const k = key(val.test, i);
    assert.ok(fullTrain.has(k), `held-out image ${i} comes from the training images`);
    assert.not.ok(valTrain.has(k), `held-out image ${i} is not trained on`);
    assert.not.ok(fullTest.has(k), `held-out image ${i} is not a test image`);
  }
});

t('experiment capsnet --validation end to end: one row per model and learning rate, no test-split pictures', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'wgt-exp-')), 'caps');
  const args = ['experiment', 'capsnet', '--validation', '--datasets', 'mnist', '--steps', '2', '--cnn-lr', '0.001,0.002',
    '--out', out, '--backend', 'llvmpipe'];
  const r = cli(...args);
  assert.is(r.status, 0, r.stderr);
  const md = readFileSync(join(out, 'README.md'), 'utf8');
  assert.match(md, /settings scored on the validation split/);
  assert.match(md, /The test split was not read/);
  assert.match(md, /\| model \| validation \| shifted/);
  for (const row of [/\| CapsNet \(small\) \(/, /\| CNN \(matched parameters\), lr 0\.001 \(/, /\| CNN \(matched parameters\), lr 0\.002 \(/]) {
    assert.match(md, row);
  }
  assert.match(md, /--validation --datasets mnist --seeds 0 --steps 2 --batch 64 --shift 2 --cnn-lr 0\.001,0\.002/);
  const logged = readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(JSON.parse(l).key));
  assert.equal(logged.map((k) => [k.model, k.lr, k.validation]),
    [['capsnet-small', undefined, true], ['cnn-matched', undefined, true], ['cnn-matched', 0.002, true]]);
  assert.ok(readdirSync(join(out, 'models')).some((f) => /^mnist-cnn-matched-s0-[0-9a-f]{12}\.safetensors$/.test(f)));
  assert.not.ok(existsSync(join(out, 'reconstructions.png')), 'the pictures read the test split: not drawn');
  assert.match(cli(...args).stdout, /logged earlier/);
});

t('experiment transfer-methods end to end: tables, raw runs and charts, and a rerun reuses finished runs', () => {
  const parent = mkdtempSync(join(tmpdir(), 'wgt-exp-'));
  const out = join(parent, 'tm');
  const args = ['experiment', 'transfer-methods', '--situations', 'digits', '--labels', '2', '--seeds', '0', '--steps', '3',
    '--methods', 'scratch,l2sp', '--source-steps', '5', '--out', out, '--backend', 'llvmpipe'];
  const r = cli(...args);
  assert.is(r.status, 0, r.stderr);
  const md = readFileSync(join(out, 'README.md'), 'utf8');
  assert.match(md, /\| 2 \| \d+\.\d ± 0\.0 \| \d+\.\d ± 0\.0 \|/, 'one row: scratch and L2-SP for 2 labels per class');
  assert.match(md, /conservative: L2-SP \| lr 0\.001, alpha (0\.01|0\.1|1) \|/, 'the chosen alpha is reported');
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.is(res.runs.length, 2);
  assert.is(res.selection.length, 5, '2 scratch + 3 L2-SP candidates on the validation split');
  for (const f of ['accuracy.png', 'accuracy.svg', 'forgetting.png', 'accuracy.vl.json']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(Array.from(readFileSync(join(out, 'accuracy.png')).subarray(1, 4)), [80, 78, 71], 'a PNG');
  const again = cli(...args);
  assert.match(again.stdout, /reusing 7 finished runs/);
  assert.match(again.stdout, /\(stored\)/);
  assert.equal(readdirSync(parent), ['tm'], 'nothing is written beside --out');
  assert.match(readdirSync(join(out, 'sources')).join(), /^digits-source-5-[0-9a-f]{12}\.safetensors$/, 'the source model is cached under --out');
});

t('experiment dann end to end: lambda chosen on the validation split, the chosen run reused for the table and the picture', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'wgt-exp-')), 'dann');
  const r = cli('experiment', 'dann', '--shifts', 'rotated', '--seeds', '0', '--steps', '3', '--lambda-max', '0.5,1',
    '--pca-points', '20', '--out', out, '--backend', 'llvmpipe');
  assert.is(r.status, 0, r.stderr);
  const md = readFileSync(join(out, 'README.md'), 'utf8');
  const chosen = /\| (0\.5|1) \| \d+\.\d% \| yes \|/.exec(md);
  assert.ok(chosen, 'one candidate is marked chosen');
  assert.match(md, /chosen from 0\.5, 1 on the target validation split/);
  const res = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
  assert.is(res.runs.length, 3, 'source only, DANN at the chosen lambda, train on target');
  const dannModels = readdirSync(join(out, 'models')).filter((f) => /^rotated-dann-s0-[0-9a-f]{12}\.safetensors$/.test(f));
  assert.is(dannModels.length, 2, 'one DANN model per lambda candidate, each named by its settings');
  assert.ok(existsSync(join(out, 'pca-rotated.png')), 'the picture uses the chosen DANN model');
  assert.is(readdirSync(join(out, 'pca')).length, 2, 'PCA numbers of the source-only and the chosen DANN model');
  // Two DANN candidates + source only + train on target, each trained once.
  assert.is(readFileSync(join(out, 'runs.jsonl'), 'utf8').trim().split('\n').length, 4);
});


t.run();
