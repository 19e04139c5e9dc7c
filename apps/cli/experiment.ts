// `webgpu-transfer experiment <name> [flags]`: the transfer experiments. Each writes results/<name>/: README.md
// (Markdown tables, mean +- std over seeds), results.json (every run), runs.jsonl (finished runs, reused when the
// experiment is run again, so an interrupted experiment continues), and charts as SVG, PNG and Vega-Lite JSON.
// Each experiment declares its own flag table (apps/cli/flags.ts): a flag it does not use, a list where one value
// belongs, a repeated flag or list item, and a bad value are refused before the device starts or data loads.
import {existsSync, readFileSync} from 'node:fs';
import {join} from 'node:path';
import * as wt from '../../src/index.js';
import {lockFolder} from '../../src/io/files.js';
import {METHODS, transferMethods} from '../experiments/transfer-methods.js';
import {transferability} from '../experiments/transferability.js';
import {SITUATIONS} from '../experiments/situations.js';
import {pretrain} from '../experiments/pretrain.js';
import {PHOTO_METHODS, PHOTO_SITUATIONS, photosExperiment, type PhotoMethod} from '../experiments/photos.js';
import type {Method} from '../experiments/runs.js';
import {dannExperiment, SHIFTS, type Shift} from '../experiments/dann.js';
import {multitaskExperiment, MT_RUNS, type MtRun} from '../experiments/multitask.js';
import {
  CAPS_DATASETS, CAPS_MODELS, capsnetExperiment, LR_FLAGS, type CapsDataset, type CapsModel,
} from '../experiments/capsnet.js';
import {
  BACKENDS, bool, choice, flag, FlagError, flagLines, helpText, int, list, parseCommandFlags, real, SIGNALS, text,
  type CommandSpec,
} from './flags.js';

const INDENT = ' '.repeat(24); // where a flag's help text starts (flags.ts, HELP_COLUMN + 2)
/** Words joined into lines of at most `width` characters. */
const wrap = (words: string, width = 112) => words.split(/\s+/).reduce<string[]>((lines, w) => {
  if (lines.length && lines[lines.length - 1].length + 1 + w.length <= width) lines[lines.length - 1] += ` ${w}`;
  else lines.push(w);
  return lines;
}, []).join('\n');
const FILES = (extra: string) => wrap(`Everything is written under --out (DIR): README.md, results.json, runs.jsonl,
charts${extra}. Only the dataset cache ($XDG_CACHE_HOME/webgpu-transfer, else ~/.cache/webgpu-transfer) lies outside it.
Ctrl-C exits at once: each run is stored in runs.jsonl (atomically) as it finishes, and the same command continues from
the stored runs.`);

const common = (name: string) => ({
  out: flag('DIR', text, 'where the results and stored runs go', `results/${name}`),
  fresh: bool(`redo the runs these settings name instead of reusing them; each redone run replaces its line\n${INDENT}` +
    'in DIR/runs.jsonl when it finishes (runs of other settings are kept)'),
  backend: flag('NAME', choice(BACKENDS), 'adapter (default from WGT_BACKEND, else auto)'),
});
const seeds = (def: string) => flag('N,...', list(int(0)), 'initialisation and data order', def);
const steps = (def: string, help = 'steps per run') => flag('N', int(1), help, def);
const sourceSteps = flag('N', int(1), 'source pre-training steps (default: the situation\'s; for quick checks)');
const names = (valid: readonly string[]) => list(choice(valid));

export const EXPERIMENTS: Record<string, CommandSpec> = {
  'transfer-methods': {
    about: 'scratch vs fine-tune vs conservative (L2-SP, KL) vs layer transfer, over labels per class and seeds, with\n' +
      'forgetting; hyper-parameters chosen on a validation split',
    usage: 'experiment transfer-methods [flags]',
    flags: {
      situations: flag('A,...', names(SITUATIONS), SITUATIONS.join(' | '), 'digits,mnist-m'),
      labels: flag('N,...', list(int(1)), 'labelled target images per class', '2,5,10,50,200'),
      seeds: seeds('0,1,2'), steps: steps('200'),
      methods: flag('M,...', names(METHODS), `${METHODS.join(' | ')} (default all)`),
      'source-steps': sourceSteps, ...common('transfer-methods'),
    },
    more: FILES(', and the source models in DIR/sources (named by situation, steps and recipe)'),
  },
  transferability: {
    about: 'Yosinski et al.\'s curve: copy the first k layers, frozen or fine-tuned, vs scratch',
    usage: 'experiment transferability [flags]',
    flags: {
      situation: flag('NAME', choice(SITUATIONS), SITUATIONS.join(' | '), 'digits'),
      labels: flag('N', int(1), 'labelled target images per class', '200'),
      seeds: seeds('0,1,2'), steps: steps('300'),
      lr: flag('X', real({above: 0}), 'Adam learning rate', '0.001'),
      'source-steps': sourceSteps, ...common('transferability'),
    },
    more: FILES(', and the source model in DIR/sources (named by situation, steps and recipe)'),
  },
  dann: {
    about: 'source only vs DANN vs train on target, MNIST -> shifted domains; domain classifier accuracy over\n' +
      'training; PCA picture of the features before and after DANN with a linear domain probe',
    usage: 'experiment dann [flags]',
    flags: {
      shifts: flag('A,...', names(SHIFTS), SHIFTS.join(' | '), 'mnist-m2,rotated'),
      seeds: seeds('0'), steps: steps('2400'),
      batch: flag('N', int(1), 'images per domain per step', '32'),
      width: flag('X', real({above: 0}), 'conv width of the paper\'s model, 1 = 32 and 48 channels', '0.5'),
      'pca-points': flag('N', int(2), 'test images per domain in the PCA picture', '1000'),
      'lambda-max': flag('X,...', list(real({above: 0})), `lambda's final value; several: chosen on the target\n${INDENT}` +
        'validation split at the first seed', '1'),
      ...common('dann'),
    },
    more: FILES(', the models in DIR/models and the PCA numbers in DIR/pca (named by each run\'s settings)'),
  },
  multitask: {
    about: 'MNIST + Fashion-MNIST through one shared trunk vs single-task models; digits loss x100 under equal,\n' +
      'uncertainty and GradNorm weighting',
    usage: 'experiment multitask [flags]',
    flags: {
      runs: flag('R,...', names(MT_RUNS),
        `${MT_RUNS.slice(0, 3).join(' | ')} |\n${INDENT}${MT_RUNS.slice(3).join(' | ')} (default all)`),
      seeds: seeds('0'), steps: steps('2000'),
      batch: flag('N', int(1), 'images per task per step', '64'),
      ...common('multitask'),
    },
    more: FILES(''),
  },
  photos: {
    about: 'transfer on real photos: a CIFAR ResNet pretrained on classes 0-4, to classes 5-9 (different task) and to\n' +
      'colour negatives of 0-4 (different domain; also with AdaBN and the source head); scratch, feature extractor,\n' +
      'fine-tune, L2-SP, KL, layer transfer (and the untrained source where the classes are its own)',
    usage: 'experiment photos [flags]',
    flags: {
      source: flag('FILE', text, 'the pretrained source', 'pretrained/cifar_resnet-w16-l1111-c0-4.safetensors'),
      situations: flag('A,...', names(PHOTO_SITUATIONS), PHOTO_SITUATIONS.join(' | '), PHOTO_SITUATIONS.join(',')),
      methods: flag('M,...', names(PHOTO_METHODS), `${PHOTO_METHODS.join(' | ')}\n${INDENT}(default all)`),
      labels: flag('N,...', list(int(1)), 'labelled photos per class', '2,5,10,50,200'),
      seeds: seeds('0,1,2'), steps: steps('60'),
      ...common('photos'),
    },
    more: FILES(''),
  },
  pretrain: {
    about: 'train the shipped pretrained sources on CIFAR-10 (classes 0-4, or all ten): a CIFAR-stem ResNet, or a\n' +
      'MobileNetV2 with torchvision\'s strides on photos resized to 64 px',
    usage: 'experiment pretrain [flags]',
    flags: {
      arch: flag('NAME', choice(['cifar_resnet', 'mobilenet_v2']), 'cifar_resnet | mobilenet_v2', 'cifar_resnet'),
      classes: flag('C,...', list(int(0, 9)), 'CIFAR-10 classes to train on', '0,1,2,3,4'),
      'per-class': flag('N', int(1, 5000), 'training images per class', '2000'),
      epochs: flag('N', int(1), 'epochs', '3'),
      width: flag('N', int(1), 'first-stage channels', '16'),
      layers: flag('N,N,N,N', list(int(1)), 'residual blocks per stage (4 stages; list items are distinct)', '1'),
      'width-mult': flag('X', real({above: 0}), 'MobileNetV2\'s width multiplier', '0.35'),
      'image-size': flag('N', int(8), 'side the photos are resized to (default 32 for the ResNet, 64 for MobileNetV2)'),
      batch: flag('N', int(1), 'batch size', '64'),
      lr: flag('X', real({above: 0}), 'Adam learning rate', '0.002'),
      seed: flag('N', int(0), 'seed of the subset, initialisation and batches', '0'),
      out: flag('DIR', text, 'where the weights go', 'pretrained'),
      backend: flag('NAME', choice(BACKENDS), 'adapter (default from WGT_BACKEND, else auto)'),
    },
    more: 'Writes DIR/cifar_resnet-w<width>-l<layers>-<classes>.safetensors (or DIR/mobilenet_v2-x<mult>-s<size>-<classes>)\n' +
      'with its recipe, command and test accuracy in\n' +
      'the header. The package ships the ones in pretrained/ (see docs/photos.md).',
  },
  capsnet: {
    about: 'small CapsNet vs a CNN of matched parameter count on 8k/2k MNIST and Fashion-MNIST, on clean, shifted,\n' +
      'affine-jittered and rotated test splits; invariant length / equivariant pose against the CNN\'s logits;\n' +
      'reconstructions, the perturbation grid, the couplings of one input',
    usage: 'experiment capsnet [flags]',
    flags: {
      datasets: flag('A,...', names(CAPS_DATASETS), `${CAPS_DATASETS.join(' | ')} (default both)`),
      models: flag('A,...', names(CAPS_MODELS), `${CAPS_MODELS.join(' | ')} (default both; the pose study and\n${INDENT}` +
        'pictures need both)'),
      seeds: seeds('0'), steps: steps('1500'),
      batch: flag('N', int(1), 'images per step', '64'),
      shift: flag('N', int(0, 14), 'training shifts in pixels', '2'),
      [LR_FLAGS['capsnet-small']]: flag('X,...', list(real({above: 0})), 'the CapsNet\'s initial Adam learning rates, one run\n' +
        `${INDENT}each (default 0.001)`),
      [LR_FLAGS['cnn-matched']]: flag('X,...', list(real({above: 0})), 'the CNN\'s (default 0.001)'),
      validation: bool(`choose settings: train on 7k of the 8k training images and score the held-out 1k\n${INDENT}` +
        '(and its transformed copies) instead of the test split, which is not read'),
      ...common('capsnet'),
    },
    more: FILES(', the models in DIR/models and the pose study and pictures in DIR/pictures (named by each run\'s settings)'),
  },
};

const HELP = `usage: webgpu-transfer experiment <name> [flags]   (experiment <name> --help: that experiment alone)

${Object.entries(EXPERIMENTS).map(([k, c]) => `${k}: ${c.about.replace(/\n/g, '\n  ')}\n${flagLines(c).join('\n')}`).join('\n\n')}

${FILES(', and what the runs stored: models (DIR/models, DIR/sources) and the numbers behind pictures (DIR/pca, DIR/pictures)')}`;


function bad(msg: string): never { throw new FlagError(`experiment: ${msg}`); }

export async function runExperimentCommand(args: string[]): Promise<void> {
  const [name, ...rest] = args;
  if (!name || name === '--help' || name === '-h') { console.log(HELP); return; }
  if (!Object.hasOwn(EXPERIMENTS, name)) {
    bad(`unknown experiment '${name}' (use ${Object.keys(EXPERIMENTS).join(', ')}; see experiment --help)`);
  }
  const v = parseCommandFlags(EXPERIMENTS, name, rest, {label: `experiment ${name}`});
  if (v.help) { console.log(helpText(EXPERIMENTS[name])); return; }
  const out = v.out as string;
  const log = (line: string) => console.log(line);
  const base = {seeds: v.seeds as number[], steps: v.steps as number, out, fresh: !!v.fresh, log};
  let run: () => Promise<void>;
  if (name === 'photos') {
    const o = {...base, source: v.source as string, situations: v.situations as string[],
      methods: (v.methods ?? PHOTO_METHODS) as PhotoMethod[], labels: v.labels as number[]};
    run = () => photosExperiment(o);
  } else if (name === 'pretrain') {
    const layers = v.layers as number[];
    const arch = v.arch as 'cifar_resnet' | 'mobilenet_v2';
    const o = {arch, widthMult: v['width-mult'] as number,
      imageSize: (v['image-size'] as number | undefined) ?? (arch === 'mobilenet_v2' ? 64 : 32),
      classes: v.classes as number[], perClass: v['per-class'] as number, epochs: v.epochs as number,
      width: v.width as number, layers: layers.length === 1 ? [layers[0], layers[0], layers[0], layers[0]] : layers,
      batch: v.batch as number, lr: v.lr as number, seed: v.seed as number, out, log};
    if (o.layers.length !== 4) throw new FlagError(`experiment pretrain: flag --layers gives ${o.layers.length} stages; want 1 (all) or 4`);
    run = async () => { await pretrain(o); };
  } else if (name === 'transfer-methods') {
    const o = {...base, situations: v.situations as string[], labels: v.labels as number[],
      methods: (v.methods ?? METHODS) as Method[], sourceSteps: v['source-steps'] as number | undefined};
    run = () => transferMethods(o);
  } else if (name === 'transferability') {
    const o = {...base, situation: v.situation as string, labels: v.labels as number, lr: v.lr as number,
      sourceSteps: v['source-steps'] as number | undefined};
    run = () => transferability(o);
  } else if (name === 'dann') {
    const o = {...base, shifts: v.shifts as Shift[], batch: v.batch as number, width: v.width as number,
      pcaPoints: v['pca-points'] as number, lambdaMax: v['lambda-max'] as number[]};
    run = () => dannExperiment(o);
  } else if (name === 'multitask') {
    const o = {...base, runs: (v.runs ?? MT_RUNS) as MtRun[], batch: v.batch as number};
    run = () => multitaskExperiment(o);
  } else {
    const models = v.models as CapsModel[] | undefined;
    const given = CAPS_MODELS.filter((m) => v[LR_FLAGS[m]] !== undefined);
    for (const m of given) {
      if (models && !models.includes(m)) {
        throw new FlagError(`experiment ${name}: flag --${LR_FLAGS[m]} is for ${m}, which --models leaves out`);
      }
    }
    const lr = given.length ? Object.fromEntries(given.map((m) => [m, v[LR_FLAGS[m]] as number[]])) : undefined;
    const o = {...base, datasets: (v.datasets ?? CAPS_DATASETS) as CapsDataset[], models, batch: v.batch as number,
      shift: v.shift as number, lr, validation: !!v.validation};
    run = () => capsnetExperiment(o);
  }
  // One experiment per folder: runs.jsonl is rewritten whole, so a second writer would drop the first one's runs.
  const lock = lockFolder(out, `experiment ${name}`);
  process.on('exit', () => lock.release());
  // A signal ends the process at once: every finished run is already in runs.jsonl, written atomically.
  for (const sig of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) {
    process.on(sig, () => {
      const path = join(out, 'runs.jsonl');
      const stored = existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
      console.error(`webgpu-transfer: experiment ${name} stopped by ${sig}: ${stored} finished runs are stored in ${path}; ` +
        'the same command continues from them');
      process.exit(SIGNALS[sig]);
    });
  }
  await wt.init({backend: ((v.backend as string | undefined) ?? process.env.WGT_BACKEND ?? 'auto') as wt.BackendChoice});
  console.log(wt.debug.formatReport(wt.adapter()));
  await run();
}
