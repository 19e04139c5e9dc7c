#!/usr/bin/env node
// webgpu-transfer CLI: train / eval / show / adapters / serve (experiment parses its own flags). Each command accepts
// only its own flags, and every value is checked here, before the device starts or a dataset loads, so a typo
// costs nothing and never trains with a value the user did not mean.
import {existsSync, readFileSync, unlinkSync} from 'node:fs';
import {dirname, extname, join, resolve} from 'node:path';
import {fileURLToPath} from 'node:url';
import * as wt from '../../src/index.js';
import {DATASETS, loadDataset} from '../../src/data/datasets.js';
import {exportCifar10Folder} from '../../src/data/cifar10.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {DataLoader} from '../../src/data/loader.js';
import {writeGridPng} from '../../src/data/png.js';
import {Trainer} from '../../src/train/trainer.js';
import {evaluate} from '../../src/train/evaluate.js';
import {
  loadModel, pendingTrainStatePath, readCheckpointInfo, trainStatePath, type CheckpointInfo,
} from '../../src/train/checkpoint.js';
import {checkWritableDir, lockFolder} from '../../src/io/files.js';
import {buildModel, lossesFor, MODELS} from './models.js';
import {runExperimentCommand} from './experiment.js';
import {
  BACKENDS, bool, choice, fail, flag, int, list, parseFlags, real, text, type CommandSpec, type FlagValues,
} from './flags.js';
import {SERVE, servePage} from './server.js';
import {fitInterruptibly, onExit, stopRequested} from './run-control.js';
import {cmdFinetune, cmdPredict, FINETUNE, PREDICT} from './photos.js';
import {cmdTune, TUNE} from './tune.js';

const note = (msg: string) => console.error(`webgpu-transfer: ${msg}`);

const OPTIMIZERS = wt.internals.OPTIMIZER_KINDS;
const SCHEDULES = ['none', 'cosine', 'step', 'dann'] as const;
const PROGRESS = ['auto', 'bar', 'lines', 'none'] as const;

const dataset = flag('NAME', choice(DATASETS), `${DATASETS.join(' | ')}`);
const backend = flag('NAME', choice(BACKENDS), 'adapter (default from WGT_BACKEND, else auto)');
const seedFlag = (help: string) => flag('N', int(0), help);

const COMMANDS: Record<string, CommandSpec> = {
  train: {
    about: 'train a model on a dataset; writes checkpoints (safetensors) and metrics (JSON lines)',
    usage: 'train [flags]',
    flags: {
      dataset: {...dataset, help: `${dataset.help} (default mnist)`},
      model: flag('NAME', choice(MODELS), `${MODELS.join(' | ')} (default lenet5)`),
      epochs: flag('N', int(1), 'epochs over the training split (default 3)'),
      steps: flag('N', int(1), 'total steps instead of epochs'),
      batch: flag('N', int(1), 'batch size (default 64)'),
      optimizer: flag('NAME', choice(OPTIMIZERS), `${OPTIMIZERS.join(' | ')} (default adam)`),
      lr: flag('X', real({above: 0}), 'learning rate (default 0.001 for adam and adamw, 0.05 for sgd)'),
      momentum: flag('X', real({min: 0, below: 1}), `SGD momentum (default ${wt.internals.SGD_MOMENTUM}; sgd only)`),
      'weight-decay': flag('X', real({min: 0}), '(default 0)'),
      schedule: flag('NAME', choice(SCHEDULES), `${SCHEDULES.join(' | ')} (default none)`),
      shift: flag('N', int(0, 14), 'random shift augmentation in pixels (default 0)'),
      'per-class': flag('N', int(1), 'keep N training images per class'),
      seed: seedFlag('seed for init, split and batches (default 0)'),
      out: flag('DIR', text, 'checkpoints and metrics go here (default runs/<dataset>-<model>; on --resume the\n' +
        '                        checkpoint\'s folder). A folder holding another run is refused without --overwrite'),
      overwrite: bool('replace the run already in --out (its checkpoint and metrics are deleted)'),
      'checkpoint-every': flag('N', int(1), 'steps between checkpoints (default: end only)'),
      resume: flag('PATH', text, 'continue the run of this checkpoint (model.safetensors); its dataset, model,\n' +
        '                        seed, optimizer, lr, batch, schedule, shift and per-class are reused, and a\n' +
        '                        contradicting flag is an error; --steps/--epochs set the new total'),
      backend,
      progress: flag('MODE', choice(PROGRESS), `${PROGRESS.join(' | ')} (default auto: a bar on a terminal)`),
      tune: bool('measure the kernels of the step\'s shapes after its first step, on any adapter (default: GPUs only)'),
    },
    more: `The run folder holds model.safetensors (the model, PyTorch names, with the run's settings in its header),
model.train.safetensors (optimizer state and position) and metrics.jsonl (one start event per run). It is locked
(run.lock) while a run is in it; a lock left by a dead process is taken over. The first Ctrl-C stops after the
current step and saves a checkpoint to resume from; a second waits for that save; a third quits without it.`,
  },
  eval: {
    about: 'evaluate a checkpoint on the test split it was held out from',
    usage: 'eval --checkpoint PATH [flags]',
    flags: {
      checkpoint: flag('PATH', text, 'the model file (model.safetensors) of a training run'),
      dataset: {...dataset, help: `${dataset.help}\n${' '.repeat(24)}(default: the dataset the checkpoint recorded)`},
      model: flag('NAME', choice(MODELS), 'must match the checkpoint\'s model if it recorded one'),
      seed: seedFlag('split seed; must match the checkpoint\'s if it recorded one'),
      backend,
    },
    more: `The checkpoint records the dataset, split seed and model it trained on, and eval uses them, so the
test split is the one held out from training. A contradicting --model or --seed is an error (another seed's
test split holds training images). --dataset may name another dataset: a domain of the MNIST split
(mnist-m, mnist-rotated, ...) is split with the recorded seed, so its test images are held out too; another
dataset gets a note. Image shape and class count must match the model. Non-finite weights are warned about.`,
  },
  show: {
    about: 'write a PNG grid of a dataset\'s images',
    usage: 'show [flags]',
    flags: {
      dataset: {...dataset, help: `${dataset.help} (default mnist)`},
      split: flag('NAME', choice(['train', 'test']), 'train | test (default train)'),
      count: flag('N', int(1, 1024), 'images in the grid, 8 per row (default 64)'),
      seed: seedFlag('split seed (default 0)'),
      out: flag('FILE', text, 'the PNG to write (default <dataset>-<split>.png)'),
    },
  },
  'export-cifar10': {
    about: 'write CIFAR-10 photos as an image folder (one sub-folder per class), to try predict and finetune',
    usage: 'export-cifar10 --out DIR [flags]',
    flags: {
      out: flag('DIR', text, 'the folder to create (must not exist, or be empty)'),
      split: flag('NAME', choice(['train', 'test']), 'train | test (default test)'),
      classes: flag('C,...', list(int(0, 9)), 'CIFAR-10 class indices (default all ten)'),
      'per-class': flag('N', int(1, 5000), 'photos per class (default all)'),
    },
  },
  adapters: {about: 'list the WebGPU adapters of this machine', usage: 'adapters', flags: {}},
  predict: PREDICT,
  finetune: FINETUNE,
  tune: TUNE,
  serve: SERVE,
};

const MAIN_HELP = `usage: webgpu-transfer <command> [flags]   (run a command with --help for its flags)

commands:
${Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(11)}${c.about}`).join('\n')}
  experiment run a transfer experiment (tables, JSON and charts under results/<name>/)

  --version  the package version

environment: WGT_BACKEND=auto|swiftshader|llvmpipe|vulkan, WGT_FAST=1 (Dawn speed toggles)`;

function version(): string {
  // dist/apps/cli/main.js or apps/cli/main.ts: the package.json of this package is the first one above.
  for (let d = dirname(fileURLToPath(import.meta.url)); ; d = dirname(d)) {
    const p = join(d, 'package.json');
    if (existsSync(p)) {
      const pkg = JSON.parse(readFileSync(p, 'utf8')) as {name?: string; version?: string};
      if (pkg.name === 'webgpu-transfer') return pkg.version ?? 'unknown';
    }
    if (dirname(d) === d) return 'unknown';
  }
}

async function startDevice(name: string | undefined): Promise<void> {
  await wt.init({backend: (name ?? process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
  console.log(wt.debug.formatReport(wt.adapter()));
}

// Datasets that split the same MNIST images by seed: a model trained on one never saw another's test images.
const family = (name: string) => (name.startsWith('mnist') ? 'mnist' : name);
const shapeOf = (s: ImageSet) => `${s.channels}x${s.height}x${s.width}`;

/** The model's input shape and classes, as recorded in the checkpoint, against a dataset's. */
function checkShapes(ck: CheckpointInfo, set: ImageSet, dsName: string): void {
  const r = ck.run;
  if (r.image_shape && r.image_shape !== shapeOf(set)) {
    fail(`${ck.path} was trained on ${r.image_shape} images (${r.dataset}); ${dsName} has ${shapeOf(set)} images`);
  }
  if (r.classes && Number(r.classes) !== set.classes) {
    fail(`${ck.path} was trained on ${r.classes} classes (${r.dataset}); ${dsName} has ${set.classes}`);
  }
}

function cmdShow(v: FlagValues): void {
  const ds = (v.dataset as string) ?? 'mnist', which = (v.split as 'train' | 'test') ?? 'train';
  const out = (v.out as string) ?? `${ds}-${which}.png`;
  // The grid is PNG data: any other extension would name a file that its format's readers reject.
  const ext = extname(out);
  if (ext.toLowerCase() !== '.png') {
    fail(`flag --out ${out}: ${ext ? `the extension '${ext}' is not supported` : 'the file has no extension'}; show ` +
      'writes PNG images only: give a name ending in .png');
  }
  checkWritableDir(dirname(resolve(out)));
  const split = loadDataset(ds, {seed: (v.seed as number) ?? 0});
  writeGridPng(out, split[which], {count: (v.count as number) ?? 64});
  console.log(`wrote ${out}`);
}

async function cmdEval(v: FlagValues): Promise<void> {
  const path = (v.checkpoint as string) ?? fail('eval needs --checkpoint PATH (see eval --help)');
  const ck = readCheckpointInfo(path);
  const r = ck.run;
  if (v.model !== undefined && r.model && v.model !== r.model) {
    fail(`flag --model ${v.model} contradicts the checkpoint's model ${r.model} (${path})`);
  }
  if (v.seed !== undefined && r.seed !== undefined && v.seed !== Number(r.seed)) {
    fail(`flag --seed ${v.seed} contradicts the checkpoint's split seed ${r.seed} (${path}): the test split of ` +
      'another seed holds images the model trained on; drop --seed');
  }
  const modelName = (v.model as string) ?? r.model ?? 'lenet5';
  if (!(MODELS as readonly string[]).includes(modelName)) {
    fail(`${path} holds a '${modelName}' model; eval builds ${MODELS.join(', ')}`);
  }
  const seed = r.seed !== undefined ? Number(r.seed) : (v.seed as number) ?? 0;
  const ds = (v.dataset as string) ?? r.dataset ?? 'mnist';
  if (r.seed === undefined || r.dataset === undefined) {
    note(`warning: ${path} records no dataset or split seed (not saved by \`train\`); evaluating on ${ds} with ` +
      `split seed ${seed}: if the model trained on another split, its test set holds training images`);
  } else if (ds !== r.dataset) {
    note(family(ds) === family(r.dataset)
      ? `evaluating on ${ds}, a domain of the ${family(ds)} split the model trained on as ${r.dataset} ` +
        `(seed ${seed}): its test images are held out from training`
      : `note: evaluating on ${ds}, another dataset than the ${r.dataset} the model trained on`);
  }
  const {test} = loadDataset(ds, {seed});
  checkShapes(ck, test, ds);
  await startDevice(v.backend as string | undefined);
  wt.manualSeed(seed);
  const model = buildModel(modelName, test);
  await loadModel(path, model);
  const res = await evaluate(model, test, 256, lossesFor(model).evalLoss);
  console.log(`${ds} test (split seed ${seed}): loss ${res.loss.toFixed(4)}, ` +
    `accuracy ${(100 * res.accuracy).toFixed(2)}% on ${res.n} images`);
}

/** The files a run leaves in its folder: another run must not silently replace them. */
const runFiles = (out: string) => {
  const model = join(out, 'model.safetensors');
  return [model, trainStatePath(model), pendingTrainStatePath(model), join(out, 'metrics.jsonl')];
};

async function cmdTrain(v: FlagValues): Promise<void> {
  if (v.epochs !== undefined && v.steps !== undefined) fail('train: give --epochs or --steps, not both');
  let ck: CheckpointInfo | undefined;
  if (v.resume !== undefined) {
    ck = readCheckpointInfo(v.resume as string);
    if (ck.step === undefined) {
      fail(`--resume ${v.resume} is a model file without a training position (saved by saveModel?); it cannot be resumed`);
    }
  }
  const rec = ck?.run ?? {};
  if (ck && rec.dataset === undefined) {
    note(`warning: ${ck.path} records no run settings (not saved by \`train\`); flags are not checked against it`);
  }
  // On resume, each setting comes from the flag or else the checkpoint; a flag that disagrees is an error, since
  // the optimizer state, data order and schedule saved in the checkpoint belong to the recorded settings.
  const setting = <T extends string | number>(name: string, key: string, def: T): T => {
    const given = v[name] as T | undefined, stored = rec[key], asNum = typeof def === 'number';
    if (given !== undefined && stored !== undefined && (asNum ? Number(stored) !== given : stored !== String(given))) {
      fail(`flag --${name} ${given} contradicts the checkpoint's ${key.replace(/_/g, ' ')} ${stored} (${ck!.path}): ` +
        `a resumed run keeps its settings: drop --${name} to continue it as it was, or train a new run (without ` +
        '--resume) to change it');
    }
    return given ?? (stored === undefined ? def : ((asNum ? Number(stored) : stored) as T));
  };
  const ds = setting<string>('dataset', 'dataset', 'mnist');
  const modelName = setting<string>('model', 'model', 'lenet5');
  const seed = setting<number>('seed', 'seed', 0);
  const optName = setting<string>('optimizer', 'optimizer', 'adam');
  if (v.momentum !== undefined && optName !== 'sgd') fail(`flag --momentum applies to --optimizer sgd, not ${optName}`);
  const lr = setting<number>('lr', 'lr', optName === 'sgd' ? 0.05 : 1e-3);
  const momentum = optName === 'sgd' ? setting('momentum', 'momentum', wt.internals.SGD_MOMENTUM) : undefined;
  const wd = setting<number>('weight-decay', 'weight_decay', 0);
  const batch = setting<number>('batch', 'batch', 64);
  const sched = setting<string>('schedule', 'schedule', 'none');
  const shift = setting<number>('shift', 'shift', 0);
  const perClass = setting<number>('per-class', 'per_class', 0) || undefined;

  // The run folder: writable, locked for this process, and not holding another run unless asked to replace it.
  const out = (v.out as string) ?? (ck ? dirname(ck.path) : `runs/${ds}-${modelName}`);
  const ckptPath = join(out, 'model.safetensors');
  checkWritableDir(out);
  const lock = lockFolder(out);
  onExit(() => lock.release());
  const continuing = ck !== undefined && resolve(ck.path) === resolve(ckptPath);
  const earlier = continuing ? [] : runFiles(out).filter((f) => existsSync(f));
  if (earlier.length && !v.overwrite) {
    fail(`${out} holds an earlier run (${earlier.map((f) => f.slice(out.length).replace(/^[/\\]/, '')).join(', ')}): ` +
      `continue it with --resume ${ckptPath}, replace it with --overwrite, or choose another --out`);
  }

  const {train, test} = loadDataset(ds, {seed, perClass});
  if (ck) checkShapes(ck, train, ds);
  if (batch > train.n) {
    fail(`flag --batch ${batch} is larger than the ${train.n} training images of ${ds}` +
      `${perClass ? ` with --per-class ${perClass}` : ''}`);
  }
  const loader = new DataLoader(train, {batch, shuffle: true, seed, shift});
  const planned = rec.steps !== undefined ? Number(rec.steps) : undefined;
  const steps = v.steps !== undefined ? (v.steps as number)
    : v.epochs !== undefined ? (v.epochs as number) * loader.batchesPerEpoch
      : ck && planned ? planned : 3 * loader.batchesPerEpoch;
  if (ck && steps <= ck.step!) {
    const asked = v.steps !== undefined ? `--steps ${steps}`
      : v.epochs !== undefined ? `--epochs ${v.epochs} (${steps} steps)` : `its planned ${steps} steps`;
    fail(`${ck.path} is already at step ${ck.step}; ${asked} leaves nothing to train: ask for more with --steps or ` +
      '--epochs');
  }
  if (ck && planned !== undefined && steps !== planned && sched !== 'none') {
    note(`warning: the ${sched} schedule was planned over ${planned} steps and now spans ${steps}: the learning rate ` +
      `jumps at step ${ck.step}`);
  }
  // Only now, with every check passed, does --overwrite delete the earlier run.
  for (const f of earlier) unlinkSync(f);
  const runInfo: Record<string, string> = {
    dataset: ds, seed: String(seed), model: modelName, image_shape: shapeOf(train), classes: String(train.classes),
    per_class: perClass ? String(perClass) : 'all', optimizer: optName, lr: String(lr), weight_decay: String(wd),
    ...(momentum !== undefined ? {momentum: String(momentum)} : {}), batch: String(batch), schedule: sched,
    shift: String(shift), steps: String(steps),
  };

  await startDevice(v.backend as string | undefined);
  wt.manualSeed(seed);
  const model = buildModel(modelName, train);
  const params = model.parameters();
  const opt = wt.createOptimizer(params, {kind: optName as wt.OptimizerKind, lr, momentum, weightDecay: wd}, 'train');
  const schedule = sched === 'cosine' ? new wt.CosineLR(opt, steps)
    : sched === 'step' ? new wt.StepLR(opt, Math.max(1, Math.floor(steps / 3)), 0.1)
    : sched === 'dann' ? new wt.transfer.DannLR(opt, steps) : undefined;
  console.log(`${ds}: ${train.n} train / ${test.n} test; ${modelName}, ${optName}, batch ${batch}, ${steps} steps` +
    `${ck ? `, resuming from step ${ck.step}` : ''}; run folder ${out}`);
  const trainer = new Trainer({
    model, optimizer: opt, loader, steps, schedule, test, name: `${ds}/${modelName}`, runInfo, ...lossesFor(model),
    metricsPath: join(out, 'metrics.jsonl'), checkpointPath: ckptPath,
    checkpointEvery: v['checkpoint-every'] as number | undefined, resume: ck?.path,
    progress: (v.progress as 'auto' | 'bar' | 'lines' | 'none') ?? 'auto', shouldStop: stopRequested,
    tune: v.tune ? true : 'auto',
  });
  const res = await fitInterruptibly(trainer, {out, checkpointPath: ckptPath, fromStep: ck?.step ?? 0});
  const last = res.evals[res.evals.length - 1];
  console.log(`done: ${res.step} steps in ${res.seconds.toFixed(1)} s (${res.imagesPerSecond.toFixed(0)} images/s); ` +
    `final test accuracy ${last ? (100 * last.accuracy).toFixed(2) + '%' : '-'}; checkpoint ${ckptPath}`);
}

const [cmd, ...rest] = process.argv.slice(2);
if (!cmd || cmd === '--help' || cmd === '-h') { console.log(MAIN_HELP); process.exit(0); }
if (cmd === '--version' || cmd === '-v') { console.log(version()); process.exit(0); }
if (cmd === 'experiment') {
  // The experiments parse their own flags (apps/cli/experiment.ts).
  try { await runExperimentCommand(rest); } catch (e) { fail((e as Error).message.replace(/^webgpu-transfer: /, '')); }
  wt.shutdown();
  process.exit(0);
}
if (!(cmd in COMMANDS)) fail(`unknown command '${cmd}'\n${MAIN_HELP}`);
const values = parseFlags(COMMANDS, cmd, rest);
try {
  if (cmd === 'adapters') {
    // Also the health check scripts/setup.sh prints after installing.
    for (const b of ['auto', 'swiftshader', 'llvmpipe'] as wt.BackendChoice[]) {
      try {
        const ctx = await wt.internals.getDevice({backend: b});
        console.log(`${b.padEnd(12)} ok: ${wt.debug.formatReport(ctx.report)}`);
        ctx.device.destroy();
      } catch (e) { console.log(`${b.padEnd(12)} unavailable: ${(e as Error).message.split('\n')[0]}`); }
    }
  } else if (cmd === 'serve') await servePage(values.port as number | undefined);
  else if (cmd === 'show') cmdShow(values);
  else if (cmd === 'eval') await cmdEval(values);
  else if (cmd === 'export-cifar10') {
    const out = (values.out as string | undefined) ?? fail('export-cifar10 needs --out DIR');
    const n = await exportCifar10Folder(out, {split: (values.split as 'train' | 'test' | undefined) ?? 'test',
      classes: values.classes as number[] | undefined, perClass: values['per-class'] as number | undefined});
    console.log(`wrote ${n} photos to ${out}`);
  } else if (cmd === 'predict') await cmdPredict(values, values._ as string[]);
  else if (cmd === 'finetune') await cmdFinetune(values);
  else if (cmd === 'tune') await cmdTune(values, startDevice);
  else await cmdTrain(values);
} catch (e) {
  fail((e as Error).message);
}
// The page server keeps serving until Ctrl-C; every other command is done here.
if (cmd !== 'serve') {
  wt.shutdown();
  process.exit(0);
}
