// `webgpu-transfer experiment <name> [flags]`: the transfer experiments. Each writes results/<name>/: README.md
// (Markdown tables, mean +- std over seeds), results.json (every run), runs.jsonl (finished runs, reused when the
// experiment is run again, so an interrupted experiment continues), and charts as SVG, PNG and Vega-Lite JSON.
// Flags are validated before the device starts or data loads.
import {parseArgs, type ParseArgsConfig} from 'node:util';
import * as wt from '../index.js';
import {METHODS, transferMethods} from '../experiments/transfer-methods.js';
import {transferability} from '../experiments/transferability.js';
import {SITUATIONS} from '../experiments/situations.js';
import type {Method} from '../experiments/runs.js';
import {dannExperiment, SHIFTS, type Shift} from '../experiments/dann.js';
import {multitaskExperiment, MT_RUNS, type MtRun} from '../experiments/multitask.js';
import {CAPS_DATASETS, CAPS_MODELS, capsnetExperiment, LR_FLAGS, type CapsDataset, type CapsModel} from '../experiments/capsnet.js';

const HELP = `usage: webgpu-transfer experiment <name> [flags]

experiments:
  transfer-methods   scratch vs fine-tune vs conservative (L2-SP, KL) vs layer transfer, over labels per class and
                     seeds, with forgetting; hyper-parameters chosen on a validation split
    --situations A,B   ${SITUATIONS.join(', ')} (default digits,mnist-m)
    --labels N,...     labelled target images per class (default 2,5,10,50,200)
    --seeds N,...      (default 0,1,2)
    --steps N          steps per run (default 200)
    --methods M,...    ${METHODS.join(', ')} (default all)
  transferability    Yosinski et al.'s curve: copy the first k layers, frozen or fine-tuned, vs scratch
    --situation NAME   (default digits)
    --labels N         labelled target images per class (default 200)
    --seeds N,...      (default 0,1,2)
    --steps N          (default 300)
    --lr X             (default 0.001)
  dann               source only vs DANN vs train on target, MNIST -> shifted domains; domain classifier accuracy over
                     training; PCA picture of the features before and after DANN with a linear domain probe
    --shifts A,B       ${SHIFTS.join(', ')} (default mnist-m2,rotated)
    --seeds N,...      (default 0)
    --steps N          steps per run (default 2400)
    --batch N          images per domain per step (default 32)
    --width X          conv width of the paper's model, 1 = 32 and 48 channels (default 0.5)
    --pca-points N     test images per domain in the PCA picture (default 1000)
    --lambda-max X,... lambda's final value; several: chosen on the target validation split at the first seed (default 1)
  multitask          MNIST + Fashion-MNIST through one shared trunk vs single-task models; digits loss x100 under
                     equal, uncertainty and GradNorm weighting
    --runs R,...       ${MT_RUNS.join(', ')} (default all)
    --seeds N,...      (default 0)
    --steps N          (default 2000)
    --batch N          images per task per step (default 64)
  capsnet            small CapsNet vs a CNN of matched parameter count on 8k/2k MNIST and Fashion-MNIST, on clean,
                     shifted, affine-jittered and rotated test splits; invariant length / equivariant pose against the
                     CNN's logits; reconstructions, the perturbation grid, the couplings of one input
    --datasets A,B     ${CAPS_DATASETS.join(', ')} (default mnist,fashion-mnist)
    --models A,B       ${CAPS_MODELS.join(', ')} (default both; the pose study and pictures need both)
    --seeds N,...      (default 0)
    --steps N          (default 1500)
    --batch N          (default 64)
    --shift N          training shifts in pixels (default 2)
    --caps-lr X,...    the CapsNet's initial Adam learning rates, one run each (default 0.001)
    --cnn-lr X,...     the CNN's (default 0.001)
    --validation       choose settings: train on 7k of the 8k training images and score the held-out 1k (and
                       its transformed copies) instead of the test split, which is not read

common flags:
  --out DIR            (default results/<name>)
  --source-steps N     source pre-training steps (default: the situation's; for quick checks)
  --fresh              redo every run instead of reusing the finished ones stored in DIR/runs.jsonl
  --backend NAME       adapter (default from WGT_BACKEND, else auto)`;

function bad(msg: string): never { throw new Error(`experiment: ${msg}`); }

/** A strict list of integers: "2,5,10" (no blanks, no hex, no fractions). */
function intList(v: string, flag: string, min: number): number[] {
  const parts = v.split(',');
  if (!parts.length || parts.some((p) => !/^\d+$/.test(p.trim())) || parts.some((p) => Number(p) < min)) bad(`flag --${flag} expects comma-separated integers >= ${min}, got '${v}'`);
  return parts.map(Number);
}
function positive(v: string, flag: string): number {
  if (!/^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(v.trim()) || !(Number(v) > 0)) bad(`flag --${flag} expects a positive number, got '${v}'`);
  return Number(v);
}
function positiveList(v: string, flag: string): number[] { return v.split(',').map((x) => positive(x, flag)); }
/** The capsnet experiment's --caps-lr / --cnn-lr (undefined where neither is given: both models at the default). */
function capsLearningRates(flag: (k: string) => string | undefined): Partial<Record<CapsModel, number[]>> | undefined {
  const given = CAPS_MODELS.filter((m) => flag(LR_FLAGS[m]) !== undefined);
  const list = (m: CapsModel) => {
    const rates = positiveList(flag(LR_FLAGS[m])!, LR_FLAGS[m]);
    if (new Set(rates).size < rates.length) bad(`flag --${LR_FLAGS[m]} names a learning rate twice: '${flag(LR_FLAGS[m])}'`);
    return rates;
  };
  return given.length ? Object.fromEntries(given.map((m) => [m, list(m)])) : undefined;
}
function names<T extends string>(v: string, flag: string, valid: readonly T[]): T[] {
  const list = v.split(',');
  for (const x of list) if (!valid.includes(x as T)) bad(`flag --${flag}: unknown '${x}' (use ${valid.join(', ')})`);
  return list as T[];
}

export async function runExperimentCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h') { console.log(HELP); return; }
  const common = {out: {type: 'string'}, 'source-steps': {type: 'string'}, fresh: {type: 'boolean'}, backend: {type: 'string'}, seeds: {type: 'string'}, steps: {type: 'string'}, labels: {type: 'string'}, help: {type: 'boolean', short: 'h'}} as const;
  const own: NonNullable<ParseArgsConfig['options']> = name === 'transfer-methods' ? {situations: {type: 'string'}, methods: {type: 'string'}} as const
    : name === 'transferability' ? {situation: {type: 'string'}, lr: {type: 'string'}} as const
      : name === 'dann' ? {shifts: {type: 'string'}, batch: {type: 'string'}, width: {type: 'string'}, 'pca-points': {type: 'string'}, 'lambda-max': {type: 'string'}} as const
        : name === 'multitask' ? {runs: {type: 'string'}, batch: {type: 'string'}} as const
          : name === 'capsnet' ? {datasets: {type: 'string'}, models: {type: 'string'}, batch: {type: 'string'}, shift: {type: 'string'}, validation: {type: 'boolean'}, ...Object.fromEntries(CAPS_MODELS.map((m) => [LR_FLAGS[m], {type: 'string'} as const]))}
            : bad(`unknown experiment '${name}' (use transfer-methods, transferability, dann, multitask or capsnet)\n${HELP}`);
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({args: rest, options: {...common, ...own}, strict: true, allowPositionals: false}).values as typeof values;
  } catch (e) { bad(`${(e as Error).message} (flags of '${name}': ${Object.keys({...common, ...own}).map((k) => `--${k}`).join(' ')})`); }
  if (values.help) { console.log(HELP); return; }
  const s = (k: string) => values[k] as string | undefined;
  const seeds = intList(s('seeds') ?? (['dann', 'multitask', 'capsnet'].includes(name) ? '0' : '0,1,2'), 'seeds', 0);
  const out = s('out') ?? `results/${name}`;
  const log = (line: string) => console.log(line);
  const sourceSteps = s('source-steps') ? intList(s('source-steps')!, 'source-steps', 1)[0] : undefined;
  let run: () => Promise<void>;
  if (name === 'transfer-methods') {
    const o = {situations: names(s('situations') ?? 'digits,mnist-m', 'situations', SITUATIONS), labels: intList(s('labels') ?? '2,5,10,50,200', 'labels', 1),
      seeds, steps: intList(s('steps') ?? '200', 'steps', 1)[0], methods: names<Method>(s('methods') ?? METHODS.join(','), 'methods', METHODS), out, fresh: !!values.fresh, sourceSteps, log};
    run = () => transferMethods(o);
  } else if (name === 'dann') {
    const o = {shifts: names<Shift>(s('shifts') ?? 'mnist-m2,rotated', 'shifts', SHIFTS), seeds, steps: intList(s('steps') ?? '2400', 'steps', 1)[0],
      batch: intList(s('batch') ?? '32', 'batch', 1)[0], width: positive(s('width') ?? '0.5', 'width'),
      pcaPoints: intList(s('pca-points') ?? '1000', 'pca-points', 2)[0], lambdaMax: positiveList(s('lambda-max') ?? '1', 'lambda-max'),
      out, fresh: !!values.fresh, log};
    run = () => dannExperiment(o);
  } else if (name === 'multitask') {
    const o = {runs: names<MtRun>(s('runs') ?? MT_RUNS.join(','), 'runs', MT_RUNS), seeds, steps: intList(s('steps') ?? '2000', 'steps', 1)[0],
      batch: intList(s('batch') ?? '64', 'batch', 1)[0], out, fresh: !!values.fresh, log};
    run = () => multitaskExperiment(o);
  } else if (name === 'capsnet') {
    const o = {datasets: names<CapsDataset>(s('datasets') ?? CAPS_DATASETS.join(','), 'datasets', CAPS_DATASETS), seeds,
      models: s('models') ? names<CapsModel>(s('models')!, 'models', CAPS_MODELS) : undefined,
      steps: intList(s('steps') ?? '1500', 'steps', 1)[0], batch: intList(s('batch') ?? '64', 'batch', 1)[0],
      shift: intList(s('shift') ?? '2', 'shift', 0)[0], out, fresh: !!values.fresh, log,
      lr: capsLearningRates(s), validation: !!values.validation};
    for (const m of CAPS_MODELS) {
      if (o.models && !o.models.includes(m) && o.lr?.[m]) bad(`flag --${LR_FLAGS[m]} is for ${m}, which --models leaves out`);
    }
    run = () => capsnetExperiment(o);
  } else {
    const situationName = names(s('situation') ?? 'digits', 'situation', SITUATIONS)[0];
    const o = {situation: situationName, labels: intList(s('labels') ?? '200', 'labels', 1)[0], seeds, steps: intList(s('steps') ?? '300', 'steps', 1)[0],
      lr: positive(s('lr') ?? '0.001', 'lr'), out, fresh: !!values.fresh, sourceSteps, log};
    run = () => transferability(o);
  }
  await wt.init({backend: (s('backend') ?? process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
  console.log(wt.formatReport(wt.adapter()));
  await run();
}
