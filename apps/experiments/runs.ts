// One training run of an experiment: a method (scratch, fine-tuning, conservative training with one term,
// layer transfer) on a situation's target with n labels per class and a seed, evaluated on the validation
// split (choosing hyper-parameters) or the test split (reported figures); plus the cached source models.
import {existsSync} from 'node:fs';
import {join} from 'node:path';
import type {Module} from '../../src/nn/module.js';
import {Adam} from '../../src/optim/adam.js';
import {CosineLR} from '../../src/optim/schedules.js';
import {DataLoader} from '../../src/data/loader.js';
import {evaluate} from '../../src/train/evaluate.js';
import {TrainingLoop} from '../../src/train/loop.js';
import {Supervised} from '../../src/train/supervised.js';
import type {Strategy} from '../../src/train/strategy.js';
import {loadModel, saveModel} from '../../src/train/checkpoint.js';
import {Conservative, FineTune, LayerTransfer, type LayerSelection} from '../../src/transfer/index.js';
import {buildModel, drawLabels, type Situation} from './situations.js';
import {keyedName} from './output.js';

export const METHODS = ['scratch', 'fine-tune', 'l2sp', 'kl', 'layer-transfer'] as const;
export type Method = typeof METHODS[number];
export const METHOD_TITLES: Record<Method, string> = {
  'scratch': 'scratch', 'fine-tune': 'fine-tune', 'l2sp': 'conservative: L2-SP', 'kl': 'conservative: KL (LwF)',
  'layer-transfer': 'layer transfer (copy + freeze)',
};

export interface Hyper {
  lr: number;
  /** Copied layers' lr (fine-tuning, conservative); default lr. */
  transferredLr?: number;
  /** L2-SP alpha. */
  alpha?: number;
  /** KL weight (temperature 2). */
  weight?: number;
  /** Layer transfer: which layers to copy, and whether they train too. */
  layers?: LayerSelection;
  fineTune?: boolean;
}

export interface RunSpec {
  situation: Situation;
  source: Module;
  method: Method;
  hp: Hyper;
  /** Labelled target images per class. */
  labels: number;
  seed: number;
  steps: number;
  evalOn: 'val' | 'test';
}

export interface RunResult { target_accuracy: number; source_accuracy: number | null; seconds: number }

export const describeHyper = (m: Method, h: Hyper): string => [
  `lr ${h.lr}`, h.transferredLr !== undefined && h.transferredLr !== h.lr ? `copied-layer lr ${h.transferredLr}` : '',
  m === 'l2sp' ? `alpha ${h.alpha}` : '', m === 'kl' ? `KL weight ${h.weight}, T 2` : '',
  h.layers ? `${typeof h.layers === 'string' ? h.layers : Object.entries(h.layers).map(([k, v]) => `${k} ${v}`).join(' ')}${h.fineTune ? ' fine-tuned' : ' frozen'}` : '',
].filter(Boolean).join(', ');

/** Trains one run and evaluates it. Every tensor it made is freed before it returns. */
export async function runOne(spec: RunSpec): Promise<RunResult> {
  const {situation: s, hp, method} = spec;
  const t0 = performance.now();
  const labelled = drawLabels(s, spec.labels, spec.seed);
  const loader = new DataLoader(labelled, {batch: Math.min(32, labelled.n), seed: spec.seed});
  const model = buildModel(labelled, s.target.test.classes, 1000 + spec.seed);
  const evalSet = spec.evalOn === 'val' ? s.target.val : s.target.test;
  const common = {source: spec.source, model, loader, lr: hp.lr, transferredLr: hp.transferredLr, schedule: 'cosine' as const};
  let strategy: Strategy;
  let sourceView: (() => Module) | null = null;
  if (method === 'scratch') {
    const optimizer = new Adam(model.parameters(), {lr: hp.lr});
    strategy = new Supervised({model, optimizer, loader, schedule: new CosineLR(optimizer, spec.steps)});
  } else {
    const st = method === 'fine-tune' ? new FineTune({...common, copy: s.copy})
      : method === 'l2sp' ? new Conservative({...common, copy: s.copy, l2sp: {alpha: hp.alpha ?? 0.1, beta: 1e-3}})
        : method === 'kl' ? new Conservative({...common, copy: s.copy, distill: {weight: hp.weight ?? 1, temperature: 2}})
          : new LayerTransfer({...common, layers: hp.layers ?? {first: 2}, fineTune: hp.fineTune});
    strategy = st;
    sourceView = () => st.sourceView();
  }
  // Evaluated once, after training (below): the loop's per-epoch evaluation would run every step of a few-shot set.
  const loop = new TrainingLoop(strategy, {steps: spec.steps, logEvery: spec.steps, evalEvery: spec.steps});
  try {
    await loop.fit();
    const target = await evaluate(model, evalSet);
    const source = sourceView ? (await evaluate(sourceView(), s.source.test)).accuracy : null;
    return {target_accuracy: target.accuracy, source_accuracy: source, seconds: (performance.now() - t0) / 1000};
  } finally {
    loop.dispose();
    if (strategy.dispose) strategy.dispose(); else strategy.optimizer.dispose(); // a strategy's dispose frees its optimizer
    model.dispose();
  }
}

/** The recipe of every source model; part of its file's key, so a changed recipe never loads an old model. */
const SOURCE_RECIPE = 'leNet5 seed 0, Adam 2e-3, cosine, batch 64, data seed 0';

/**
 * The situation's source model: loaded from `dir` (an experiment's `<out>/sources`) when a previous run trained it,
 * else trained on the source task (SOURCE_RECIPE) and saved there, named by its key (situation, steps, recipe).
 * Its source test accuracy is measured once and stored in the file, so every report prints the same figure.
 */
export async function sourceModel(s: Situation, dir: string, log: (m: string) => void):
  Promise<{model: Module; accuracy: number}> {
  const key = {situation: s.name, sourceSteps: s.sourceSteps, recipe: SOURCE_RECIPE};
  const path = join(dir, `${keyedName(`${s.name}-source-${s.sourceSteps}`, key)}.safetensors`);
  const model = buildModel(s.source.train, s.source.train.classes, 0);
  let accuracy: number;
  if (existsSync(path)) {
    accuracy = Number((await loadModel(path, model)).source_test_accuracy);
  } else {
    const t0 = performance.now();
    const optimizer = new Adam(model.parameters(), {lr: 2e-3});
    const loader = new DataLoader(s.source.train, {batch: 64, seed: 0});
    const strategy = new Supervised({model, optimizer, loader, schedule: new CosineLR(optimizer, s.sourceSteps)});
    const loop = new TrainingLoop(strategy, {steps: s.sourceSteps, logEvery: s.sourceSteps});
    await loop.fit();
    loop.dispose();
    optimizer.dispose();
    accuracy = (await evaluate(model, s.source.test)).accuracy;
    await saveModel(path, model, {situation: s.name, steps: String(s.sourceSteps), recipe: SOURCE_RECIPE,
      source_test_accuracy: String(accuracy)});
    log(`${s.name}: trained the source model (${s.source.train.n} images, ${s.sourceSteps} steps) in ` +
      `${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }
  log(`${s.name}: source model ${path}: source test accuracy ${(100 * accuracy).toFixed(2)}%`);
  return {model, accuracy};
}
