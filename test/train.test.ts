// @test node-only: Trainer, checkpoints and datasets on disk (node:fs)
// @test once: the training loop, checkpoints and sinks: adapter-independent logic
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import {mkdtempSync, readFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import * as wt from '../src/index.js';
import {loadMnist} from '../src/data/mnist.js';
import {subset} from '../src/data/split.js';
import {DataLoader} from '../src/data/loader.js';
import {Trainer} from '../src/train/trainer.js';
import {saveSafetensors} from '../src/io/files.js';
import {trainStatePath} from '../src/train/checkpoint.js';
import type {StepRecord} from '../src/train/strategy.js';

const t = suite('trainer');
const dir = mkdtempSync(join(tmpdir(), 'wgt-train-'));

function setup(steps: number, extra: Partial<ConstructorParameters<typeof Trainer>[0]> = {}) {
  const set = subset(loadMnist(), Array.from({length: 256}, (_, i) => i * 39));
  wt.manualSeed(7);
  const model = new wt.Sequential(new wt.Conv2d(1, 4, 5), new wt.BatchNorm2d(4), new wt.ReLU(), new wt.MaxPool2d(2), new wt.Flatten(), new wt.Linear(4 * 12 * 12, 10));
  const optimizer = new wt.Adam(model.parameters(), {lr: 0.01});
  const loader = new DataLoader(set, {batch: 32, seed: 3, shift: 1});
  const schedule = new wt.CosineLR(optimizer, 20);
  return {model, optimizer, loader, trainer: new Trainer({model, optimizer, loader, steps, schedule, progress: 'none', logEvery: 1, ...extra})};
}

t('resume from a checkpoint gives the same next-step loss as an uninterrupted run', async () => {
  const full = setup(12);
  const fullResult = await full.trainer.fit();
  const metrics = join(dir, 'm.jsonl');
  const first = setup(8, {checkpointPath: join(dir, 'ck.safetensors'), metricsPath: metrics});
  await first.trainer.fit();
  const second = setup(12, {resume: join(dir, 'ck.safetensors')});
  const r = await second.trainer.fit();
  assert.is(r.step, 12);
  assert.ok(Math.abs(r.lastLoss - fullResult.lastLoss) < 1e-5, `resumed ${r.lastLoss} vs uninterrupted ${fullResult.lastLoss}`);
  const w1 = await full.model.parameters()[0].data(), w2 = await second.model.parameters()[0].data();
  assert.ok(w1.every((v, i) => Math.abs(v - w2[i]) < 1e-5), 'same weights after 12 steps');
  const all = readFileSync(metrics, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const starts = all.filter((l) => l.event === 'start');
  assert.is(starts.length, 1, 'one start marker per run');
  assert.ok(all.every((l) => l.run === starts[0].run), 'every record carries the run id');
  const lines = all.filter((l) => l.loss !== undefined);
  assert.is(lines.length, 8);
  assert.ok(lines.every((l) => typeof l.loss === 'number' && typeof l.imagesPerSecond === 'number'));
  assert.ok(lines.every((l) => l.train_accuracy >= 0 && l.train_accuracy <= 1), 'train accuracy is a fraction');
  assert.ok(lines[7].train_accuracy > 0.2, `train accuracy after 8 steps: ${lines[7].train_accuracy}`);
});

t('resumed runs record the same loss and train accuracy as an uninterrupted one, cut off the log grid', async () => {
  // Records every 5 steps; the runs below are cut at step 8 or 7, inside a window of the train-accuracy average.
  const recorded = () => {
    const records: StepRecord[] = [];
    return {records, sinks: [{record: (r: StepRecord) => { records.push(r); }}]};
  };
  const logged = (rs: StepRecord[]) => rs.filter((r) => r.step % 5 === 0 || r.step === 12)
    .map((r) => ({step: r.step, loss: r.loss, trainAccuracy: r.trainAccuracy}));
  const full = recorded();
  await setup(12, {logEvery: 5, sinks: full.sinks}).trainer.fit();
  // A run of 8 steps, extended to 12 with --resume.
  const extended = recorded();
  await setup(8, {logEvery: 5, sinks: extended.sinks, checkpointPath: join(dir, 'ext.safetensors')}).trainer.fit();
  await setup(12, {logEvery: 5, sinks: extended.sinks, resume: join(dir, 'ext.safetensors')}).trainer.fit();
  // A run stopped after step 7 (Ctrl-C), saved, then resumed.
  const stoppedRun = recorded();
  let steps = 0;
  const first = setup(12, {logEvery: 5, sinks: [...stoppedRun.sinks, {tick: (s: number) => { steps = s; }}],
    checkpointPath: join(dir, 'stop.safetensors'), shouldStop: () => steps >= 7});
  assert.ok((await first.trainer.fit()).stopped);
  await first.trainer.checkpoint();
  await setup(12, {logEvery: 5, sinks: stoppedRun.sinks, resume: join(dir, 'stop.safetensors')}).trainer.fit();
  const want = logged(full.records);
  assert.equal(want.map((r) => r.step), [5, 10, 12]);
  assert.equal(logged(extended.records), want, 'extended run');
  assert.equal(logged(stoppedRun.records), want, 'stopped and resumed run');
});

t('a checkpoint pair from different saves is refused', async () => {
  const a = setup(2, {checkpointPath: join(dir, 'a.safetensors')});
  await a.trainer.fit();
  saveSafetensors(trainStatePath(join(dir, 'a.safetensors')), new Map(), {checkpoint_id: 'other', position: '{"step":1}'});
  const b = setup(4, {resume: join(dir, 'a.safetensors')});
  try { await b.trainer.fit(); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /are not from the same save/); }
});

t('a diverging run stops with a clear error', async () => {
  const {trainer} = setup(3, {loss: () => wt.div(wt.ones([1], {requiresGrad: true}), wt.zeros([1]))});
  try { await trainer.fit(); assert.unreachable(); } catch (e) { assert.match((e as Error).message, /training diverged: loss Infinity at step 1/); }
});

t.run();
