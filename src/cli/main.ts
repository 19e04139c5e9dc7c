#!/usr/bin/env node
// webgpu-transfer CLI: train / eval / show / adapters. Flags are parsed by Node's util.parseArgs (strict:
// unknown flags and missing values are errors naming the flag).
import {parseArgs} from 'node:util';
import * as wt from '../index.js';
import {DATASETS, loadDataset} from '../data/datasets.js';
import {DataLoader} from '../data/loader.js';
import {writeGridPng} from '../data/png.js';
import {Trainer} from '../train/trainer.js';
import {evaluate} from '../train/evaluate.js';
import {loadModel} from '../train/checkpoint.js';
import {buildModel, MODELS} from './models.js';
import {runExperimentCommand} from './experiment.js';

const HELP: Record<string, string> = {
  main: `usage: webgpu-transfer <command> [flags]   (run a command with --help for its flags)

commands:
  train     train a model on a dataset; writes checkpoints (safetensors) and metrics (JSON lines)
  eval      evaluate a checkpoint on a dataset's test split
  show      write a PNG grid of a dataset's images
  adapters  list the WebGPU adapters of this machine
  experiment  run a transfer experiment (tables, JSON and charts under results/<name>/)

environment: WGT_BACKEND=auto|swiftshader|llvmpipe|vulkan, WGT_FAST=1 (Dawn speed toggles)`,
  train: `usage: webgpu-transfer train [flags]
  --dataset NAME        ${DATASETS.join(' | ')} (default mnist)
  --model NAME          ${MODELS.join(' | ')} (default lenet5)
  --epochs N            epochs over the training split (default 3)
  --steps N             total steps instead of epochs
  --batch N             batch size (default 64)
  --optimizer NAME      adam | adamw | sgd (default adam)
  --lr X                learning rate (default 0.001 for adam, 0.05 for sgd)
  --momentum X          SGD momentum (default 0.9)
  --weight-decay X      (default 0)
  --schedule NAME       none | cosine | step | dann (default none)
  --shift N             random shift augmentation in pixels (default 0)
  --per-class N         keep N training images per class
  --seed N              seed for init, split and batches (default 0)
  --out DIR             checkpoints and metrics go here (default runs/<dataset>-<model>)
  --checkpoint-every N  steps between checkpoints (default: end only)
  --resume PATH         continue from a checkpoint
  --backend NAME        adapter (default from WGT_BACKEND, else auto)
  --progress MODE       auto | bar | lines | none`,
  eval: `usage: webgpu-transfer eval --checkpoint PATH [--dataset NAME] [--model NAME] [--backend NAME]`,
  show: `usage: webgpu-transfer show [--dataset NAME] [--split train|test] [--count N] [--out FILE.png]`,
};

function fail(msg: string): never {
  console.error(`webgpu-transfer: ${msg}`);
  process.exit(2);
}

function num(v: string | undefined, flag: string, def: number, {int = false, min = -Infinity} = {}): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || (int && !Number.isInteger(n)) || n < min) fail(`flag --${flag} expects ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}, got '${v}'`);
  return n;
}

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h') { console.log(HELP.main); process.exit(0); }
if (cmd === 'experiment') {
  // The experiments parse their own flags (src/cli/experiment.ts).
  try { await runExperimentCommand(rest); } catch (e) { fail((e as Error).message.replace(/^webgpu-transfer: /, '')); }
  wt.shutdown();
  process.exit(0);
}
if (!(cmd in HELP) && cmd !== 'adapters') fail(`unknown command '${cmd}'\n${HELP.main}`);

const options = {
  dataset: {type: 'string'}, model: {type: 'string'}, epochs: {type: 'string'}, steps: {type: 'string'}, batch: {type: 'string'},
  optimizer: {type: 'string'}, lr: {type: 'string'}, momentum: {type: 'string'}, 'weight-decay': {type: 'string'}, schedule: {type: 'string'},
  shift: {type: 'string'}, 'per-class': {type: 'string'}, seed: {type: 'string'}, out: {type: 'string'}, 'checkpoint-every': {type: 'string'},
  resume: {type: 'string'}, backend: {type: 'string'}, progress: {type: 'string'}, checkpoint: {type: 'string'}, split: {type: 'string'},
  count: {type: 'string'}, help: {type: 'boolean', short: 'h'},
} as const;
let values: Record<string, string | boolean | undefined>;
try {
  values = parseArgs({args: rest, options, strict: true, allowPositionals: false}).values as Record<string, string | boolean | undefined>;
} catch (e) {
  fail(`${(e as Error).message}\n${HELP[cmd] ?? HELP.main}`);
}
if (values.help) { console.log(HELP[cmd] ?? HELP.main); process.exit(0); }
const s = (k: string) => values[k] as string | undefined;

async function start(): Promise<void> {
  await wt.init({backend: (s('backend') ?? process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
  console.log(wt.formatReport(wt.adapter()));
}

const dataset = s('dataset') ?? 'mnist';
const seed = num(s('seed'), 'seed', 0, {int: true, min: 0});
try {
  if (cmd === 'adapters') {
    // Also the health check scripts/setup.sh prints after installing.
    for (const backend of ['auto', 'swiftshader', 'llvmpipe'] as wt.BackendChoice[]) {
      try {
        const ctx = await wt.getDevice({backend});
        console.log(`${backend.padEnd(12)} ok: ${wt.formatReport(ctx.report)}`);
        ctx.device.destroy();
      } catch (e) { console.log(`${backend.padEnd(12)} unavailable: ${(e as Error).message.split('\n')[0]}`); }
    }
  } else if (cmd === 'show') {
    const split = loadDataset(dataset, {seed});
    const which = s('split') ?? 'train';
    if (which !== 'train' && which !== 'test') fail(`flag --split expects train or test, got '${which}'`);
    const out = s('out') ?? `${dataset}-${which}.png`;
    writeGridPng(out, split[which], {count: num(s('count'), 'count', 64, {int: true, min: 1})});
    console.log(`wrote ${out}`);
  } else if (cmd === 'eval') {
    const ckpt = s('checkpoint') ?? fail('eval needs --checkpoint PATH');
    await start();
    const {test} = loadDataset(dataset, {seed});
    wt.manualSeed(seed);
    const model = buildModel(s('model') ?? 'lenet5', test);
    await loadModel(ckpt, model);
    const r = await evaluate(model, test);
    console.log(`${dataset} test: loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)}% on ${r.n} images`);
  } else {
    await start();
    const {train, test} = loadDataset(dataset, {seed, perClass: s('per-class') ? num(s('per-class'), 'per-class', 0, {int: true, min: 1}) : undefined});
    const batch = num(s('batch'), 'batch', 64, {int: true, min: 1});
    const loader = new DataLoader(train, {batch, shuffle: true, seed, shift: num(s('shift'), 'shift', 0, {int: true, min: 0})});
    const steps = s('steps') ? num(s('steps'), 'steps', 0, {int: true, min: 1}) : num(s('epochs'), 'epochs', 3, {int: true, min: 1}) * loader.batchesPerEpoch;
    const modelName = s('model') ?? 'lenet5';
    wt.manualSeed(seed);
    const model = buildModel(modelName, train);
    const optName = s('optimizer') ?? 'adam';
    const wd = num(s('weight-decay'), 'weight-decay', 0, {min: 0});
    const opt = optName === 'sgd' ? new wt.SGD(model.parameters(), {lr: num(s('lr'), 'lr', 0.05, {min: 0}), momentum: num(s('momentum'), 'momentum', 0.9, {min: 0}), weightDecay: wd})
      : optName === 'adam' ? new wt.Adam(model.parameters(), {lr: num(s('lr'), 'lr', 1e-3, {min: 0}), weightDecay: wd})
        : optName === 'adamw' ? new wt.AdamW(model.parameters(), {lr: num(s('lr'), 'lr', 1e-3, {min: 0}), weightDecay: wd})
          : fail(`flag --optimizer expects adam, adamw or sgd, got '${optName}'`);
    const sched = s('schedule') ?? 'none';
    const schedule = sched === 'none' ? undefined : sched === 'cosine' ? new wt.CosineLR(opt, steps) : sched === 'step' ? new wt.StepLR(opt, Math.max(1, Math.floor(steps / 3)), 0.1)
      : sched === 'dann' ? new wt.DannLR(opt, steps) : fail(`flag --schedule expects none, cosine, step or dann, got '${sched}'`);
    const out = s('out') ?? `runs/${dataset}-${modelName}`;
    const progress = (s('progress') ?? 'auto') as 'auto' | 'bar' | 'lines' | 'none';
    if (!['auto', 'bar', 'lines', 'none'].includes(progress)) fail(`flag --progress expects auto, bar, lines or none, got '${progress}'`);
    console.log(`${dataset}: ${train.n} train / ${test.n} test; ${modelName}, ${optName}, batch ${batch}, ${steps} steps`);
    const trainer = new Trainer({
      model, optimizer: opt, loader, steps, schedule, test, name: `${dataset}/${modelName}`,
      metricsPath: `${out}/metrics.jsonl`, checkpointPath: `${out}/model.safetensors`,
      checkpointEvery: s('checkpoint-every') ? num(s('checkpoint-every'), 'checkpoint-every', 0, {int: true, min: 1}) : undefined,
      resume: s('resume'), progress,
    });
    const r = await trainer.fit();
    const last = r.evals[r.evals.length - 1];
    console.log(`done: ${r.step} steps in ${r.seconds.toFixed(1)} s (${r.imagesPerSecond.toFixed(0)} images/s); final test accuracy ${last ? (100 * last.accuracy).toFixed(2) + '%' : '-'}; checkpoint ${out}/model.safetensors`);
  }
} catch (e) {
  fail((e as Error).message.replace(/^webgpu-transfer: /, ''));
}
wt.shutdown();
process.exit(0);
