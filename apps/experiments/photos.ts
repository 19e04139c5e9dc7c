// Experiment `photos`: transfer on real photos. A CIFAR-stem ResNet pretrained by the project on CIFAR-10 classes
// 0-4 (pretrain.ts; the package ships it) is transferred with n labelled photos per class:
//   different task:   classes 5-9 (photos of other things);
//   different domain: classes 0-4 as colour negatives, drawn from training photos the source never saw;
//   the same domain with AdaBN: the transferred models re-estimate batch-norm statistics on 1,000 unlabelled
//   negatives and keep the source's head (the classes are the source's own); `source` scores them untrained.
// Methods: scratch, the fixed feature extractor (features computed once), fine-tuning, L2-SP, KL distillation and
// layer transfer. Hyper-parameters are chosen on a validation split held out from the target pool (selection draw
// seed 100, at 10 labels per class); the test split is read only by the reported runs. Each run also records its
// time per epoch over the labelled photos and the engine's peak GPU memory.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import * as models from '../../src/nn/models.js';
import {memory, rt} from '../../src/graph/engine.js';
import {Adam} from '../../src/optim/adam.js';
import {CosineLR} from '../../src/optim/schedules.js';
import {DataLoader, perClass} from '../../src/data/loader.js';
import {loadCifar10} from '../../src/data/cifar10.js';
import {subset} from '../../src/data/split.js';
import type {ImageSet} from '../../src/data/image-set.js';
import {evaluate} from '../../src/train/evaluate.js';
import {TrainingLoop} from '../../src/train/loop.js';
import {Supervised} from '../../src/train/supervised.js';
import type {Strategy} from '../../src/train/strategy.js';
import {loadSafetensors} from '../../src/io/files.js';
import {modelFromWeights} from '../../src/transfer/photos.js';
import {adaptBatchNorm} from '../../src/transfer/adabn.js';
import {
  Conservative, extractFeatures, FeatureExtractor, FineTune, imageSetSource, LayerTransfer, parameterLayers,
} from '../../src/transfer/index.js';
import {lineChart, meanStd, type Row} from '../../src/analysis/charts.js';
import {markdownTable, pct, pm, RunLog, writeChart, writeTextAtomic} from './output.js';
import {normalizeImagenet} from './pretrain.js';

export const PHOTO_METHODS = ['source', 'scratch', 'feature-extractor', 'fine-tune', 'l2sp', 'kl', 'layer-transfer'] as const;
export type PhotoMethod = typeof PHOTO_METHODS[number];
export const PHOTO_SITUATIONS = ['cifar-task', 'cifar-negative', 'cifar-negative-adabn'] as const;
/** Unlabelled target photos AdaBN re-estimates the statistics on (a seeded draw from the pool). */
const ADABN_PHOTOS = 1000;
/** Device bytes the engine holds (live and pooled): after a run that began with an empty pool, its high-water mark. */
const deviceBytes = () => memory().allocatedBytes;
/** Frees the pooled buffers, so the next run's high-water mark is its own. */
const emptyPool = () => { rt().flush(); rt().pool.trim(); };
const TITLES: Record<PhotoMethod, string> = {
  'source': 'source, untrained', 'scratch': 'scratch', 'feature-extractor': 'feature extractor', 'fine-tune': 'fine-tune', 'l2sp': 'L2-SP',
  'kl': 'KL (LwF)', 'layer-transfer': 'layer transfer (frozen)',
};
const VAL_PER_CLASS = 50, TEST_PER_CLASS = 200, SELECT_AT = 10, SELECT_SEED = 100;
/** The source's training subset: pretrain's default draw (2,000 per class, seed 0), kept out of the targets. */
const SOURCE_PER_CLASS = 2000;

export interface PhotosOptions {
  source: string;
  situations: string[];
  methods: PhotoMethod[];
  labels: number[];
  seeds: number[];
  steps: number;
  out: string;
  fresh?: boolean;
  log: (line: string) => void;
}

interface Hyper { lr: number; transferredLr?: number; alpha?: number; weight?: number; frozen?: 'body' | 'all-but-last-stage' }
interface PhotoSituation {
  name: string; title: string; kind: string; pool: ImageSet; val: ImageSet; test: ImageSet;
  /** Whether the target classes are the source's own (the untrained source can be scored on them). */
  sameClasses: boolean;
  /** Whether transferred models start from the source's head instead of a fresh one. */
  sourceHead: boolean;
  /** Unlabelled target photos on which transferred models re-estimate batch-norm statistics (AdaBN), if any. */
  adapt?: ImageSet;
  /** The situation whose runs this one's scratch runs are (scratch sees no source, so AdaBN changes nothing). */
  scratchOf?: string;
}
interface PhotoResult { target_accuracy: number; seconds: number; seconds_per_epoch: number; peak_mb: number }

const negative = (set: ImageSet): ImageSet => ({...set, images: set.images.map((v) => 1 - v)});

/** The target data of a situation (0..1 photos normalised with the ImageNet statistics, as the source saw them). */
function photoSituation(name: string): PhotoSituation {
  const split = (pool: ImageSet, test: ImageSet) => {
    const val = perClass(pool, VAL_PER_CLASS, 0), inVal = new Set(val);
    const rest = Array.from({length: pool.n}, (_, i) => i).filter((i) => !inVal.has(i));
    return {pool: normalizeImagenet(subset(pool, rest)), val: normalizeImagenet(subset(pool, val)),
      test: normalizeImagenet(subset(test, perClass(test, TEST_PER_CLASS, 0)))};
  };
  if (name === 'cifar-task') {
    return {name, title: 'CIFAR-10 classes 0-4 -> classes 5-9', kind: 'different task', sameClasses: false,
      sourceHead: false,
      ...split(loadCifar10('train', {classes: [5, 6, 7, 8, 9]}), loadCifar10('test', {classes: [5, 6, 7, 8, 9]}))};
  }
  if (name === 'cifar-negative' || name === 'cifar-negative-adabn') {
    const all = loadCifar10('train', {classes: [0, 1, 2, 3, 4]});
    const seen = new Set(perClass(all, SOURCE_PER_CLASS, 0));
    const unseen = subset(all, Array.from({length: all.n}, (_, i) => i).filter((i) => !seen.has(i)));
    const data = split(negative(unseen), negative(loadCifar10('test', {classes: [0, 1, 2, 3, 4]})));
    if (name === 'cifar-negative') {
      return {name, title: 'CIFAR-10 classes 0-4 -> the same classes as colour negatives', kind: 'different domain',
        sameClasses: true, sourceHead: false, ...data};
    }
    return {name, title: 'colour negatives, with AdaBN and the source head', kind: 'different domain, adapted',
      sameClasses: true, sourceHead: true, adapt: subset(data.pool, perClass(data.pool, ADABN_PHOTOS / 5, 7)), scratchOf: 'cifar-negative',
      ...data};
  }
  throw new Error(`webgpu-transfer: unknown photo situation '${name}' (${PHOTO_SITUATIONS.join(', ')})`);
}

function grid(m: PhotoMethod): Hyper[] {
  switch (m) {
    case 'source': return [{lr: 0}];
    case 'scratch': return [{lr: 1e-3}, {lr: 3e-3}];
    case 'feature-extractor': return [{lr: 1e-3}, {lr: 1e-2}];
    case 'fine-tune': return [{lr: 1e-3, transferredLr: 1e-4}, {lr: 1e-3, transferredLr: 1e-3}];
    case 'l2sp': return [0.01, 0.1].map((alpha) => ({lr: 1e-3, transferredLr: 1e-3, alpha}));
    case 'kl': return [0.3, 1].map((weight) => ({lr: 1e-3, transferredLr: 1e-3, weight}));
    case 'layer-transfer': return (['all-but-last-stage', 'body'] as const).map((frozen) => ({lr: 1e-3, frozen}));
  }
}

const describe = (m: PhotoMethod, h: Hyper) => m === 'source' ? 'no training' : [`lr ${h.lr}`,
  h.transferredLr !== undefined && h.transferredLr !== h.lr ? `copied-layer lr ${h.transferredLr}` : '',
  m === 'l2sp' ? `alpha ${h.alpha}` : '', m === 'kl' ? `KL weight ${h.weight}, T 2` : '', h.frozen ? `frozen: ${h.frozen}` : '',
].filter(Boolean).join(', ');

/** One run: n photos per class (seeded draw), `steps` steps of batch min(32, n), evaluated on val or test. */
async function runPhoto(s: PhotoSituation, source: models.HeadedModel, spec: models.ArchitectureSpec, method: PhotoMethod,
  hp: Hyper, labels: number, seed: number, steps: number, evalOn: 'val' | 'test'): Promise<PhotoResult> {
  emptyPool();
  const t0 = performance.now();
  const labelled = subset(s.pool, perClass(s.pool, labels, seed));
  const evalSet = evalOn === 'val' ? s.val : s.test;
  const batch = Math.min(32, labelled.n);
  const model = models.build({...spec, classes: labelled.classes}, 1000 + seed);
  const adapt = async () => { if (s.adapt) await adaptBatchNorm(model, s.adapt); };
  if (method === 'source') {
    for (const l of parameterLayers(source)) model.get(l.name).copyFrom(l.module);
    await adapt();
    const accuracy = (await evaluate(model, evalSet)).accuracy;
    model.dispose();
    return {target_accuracy: accuracy, seconds: (performance.now() - t0) / 1000, seconds_per_epoch: 0,
      peak_mb: deviceBytes() / 2 ** 20};
  }
  let strategy: Strategy;
  let evalFeatures: (() => Promise<number>) | null = null;
  if (method === 'feature-extractor') {
    const copied = parameterLayers(model).filter((l) => s.sourceHead || l.module !== model.head).map((l) => l.name);
    const src = new Map(parameterLayers(source).map((l) => [l.name, l.module]));
    for (const n of copied) model.get(n).copyFrom(src.get(n)!);
    await adapt();
    const train = await extractFeatures(model, imageSetSource(labelled));
    const test = await extractFeatures(model, imageSetSource(evalSet));
    const fe = new FeatureExtractor({model, train, test, batch, lr: hp.lr, seed});
    strategy = fe;
    evalFeatures = async () => (await fe.evaluate()).test_accuracy;
  } else if (method === 'scratch') {
    const optimizer = new Adam(model.parameters(), {lr: hp.lr});
    const loader = new DataLoader(labelled, {batch, seed, shift: 2});
    strategy = new Supervised({model, optimizer, loader, schedule: new CosineLR(optimizer, steps)});
  } else {
    models.freezeBatchNorm(model);
    const loader = new DataLoader(labelled, {batch, seed, shift: 2});
    const common = {source, model, loader, task: s.sourceHead ? 'same' as const : 'new' as const, lr: hp.lr, transferredLr: hp.transferredLr,
      schedule: 'cosine' as const};
    if (method === 'fine-tune') strategy = new FineTune(common);
    else if (method === 'l2sp') strategy = new Conservative({...common, l2sp: {alpha: hp.alpha!, beta: 1e-3}});
    else if (method === 'kl') strategy = new Conservative({...common, distill: {weight: hp.weight!, temperature: 2}});
    else {
      const names = parameterLayers(model).map((l) => l.name);
      const lastStage = names.findIndex((n) => n.startsWith('layer4.'));
      const k = hp.frozen === 'body' ? names.length - 1 : lastStage;
      strategy = new LayerTransfer({...common, layers: {first: k}});
    }
    await adapt();
  }
  const loop = new TrainingLoop(strategy, {steps, logEvery: steps, evalEvery: steps + 1});
  try {
    const r = await loop.fit();
    const accuracy = evalFeatures ? await evalFeatures() : (await evaluate(model, evalSet)).accuracy;
    const epochs = (steps * batch) / labelled.n;
    return {target_accuracy: accuracy, seconds: (performance.now() - t0) / 1000, seconds_per_epoch: r.seconds / epochs,
      peak_mb: deviceBytes() / 2 ** 20};
  } finally {
    loop.dispose();
    if (strategy.dispose) strategy.dispose(); else strategy.optimizer.dispose();
    model.dispose();
  }
}

interface PhotoRow extends PhotoResult { situation: string; method: PhotoMethod; labels: number; seed: number; hp: string }

export async function photosExperiment(o: PhotosOptions): Promise<void> {
  mkdirSync(o.out, {recursive: true});
  const runs = new RunLog<PhotoResult>(join(o.out, 'runs.jsonl'), o.fresh);
  if (runs.summary) o.log(runs.summary);
  const t0 = performance.now();
  const file = loadSafetensors(o.source);
  const {model: source, info: {spec}} = await modelFromWeights(file, o.source);
  const meta = file.metadata;
  source.eval();
  o.log(`source ${o.source}: ${meta.recipe ?? 'no recipe recorded'}; test accuracy ${meta.test_accuracy ?? '?'}`);
  const rows: PhotoRow[] = [], selection: Record<string, unknown>[] = [], titles: Record<string, PhotoSituation> = {};
  for (const name of o.situations) {
    const s = photoSituation(name);
    titles[name] = s;
    o.log(`${s.title}: pool ${s.pool.n}, validation ${s.val.n}, test ${s.test.n}`);
    for (const method of o.methods.filter((m) => m !== 'source' || s.sameClasses)) {
      // Scratch never sees the source, so a situation that only changes how the source is adapted shares its runs.
      const runsOf = method === 'scratch' && s.scratchOf ? s.scratchOf : name;
      let best: {hp: Hyper; acc: number} | null = null;
      const candidates = grid(method);
      for (const hp of candidates.length > 1 ? candidates : []) {
        const key = {photos: runsOf, source: o.source, method, hp, labels: SELECT_AT, seed: SELECT_SEED, steps: o.steps, evalOn: 'val'};
        const {result} = await runs.get(key, () => runPhoto(s, source, spec, method, hp, SELECT_AT, SELECT_SEED, o.steps, 'val'));
        selection.push({situation: name, method, hp: describe(method, hp), val_accuracy: result.target_accuracy});
        if (!best || result.target_accuracy > best.acc) best = {hp, acc: result.target_accuracy};
      }
      const hp = best?.hp ?? candidates[0];
      o.log(`${name} ${method}: chose ${describe(method, hp)}${best ? ` (validation ${pct(best.acc)}% at ${SELECT_AT}/class)` : ''}`);
      for (const labels of o.labels) {
        for (const seed of o.seeds) {
          const key = {photos: runsOf, source: o.source, method, hp, labels, seed, steps: o.steps, evalOn: 'test'};
          const {result, cached} = await runs.get(key, () => runPhoto(s, source, spec, method, hp, labels, seed, o.steps, 'test'));
          rows.push({situation: name, method, labels, seed, hp: describe(method, hp), ...result});
          o.log(`${name} ${method} ${labels}/class seed ${seed}: test ${pct(result.target_accuracy)}%` +
            `${cached ? ' (stored)' : ` (${result.seconds.toFixed(1)} s, ${result.seconds_per_epoch.toFixed(2)} s/epoch)`}`);
        }
      }
    }
  }
  source.dispose();
  writeTextAtomic(join(o.out, 'results.json'), JSON.stringify({settings: {...o, log: undefined}, selection, runs: rows}, null, 1));
  await report(o, rows, titles, meta);
  o.log(`done in ${((performance.now() - t0) / 60000).toFixed(1)} min: ${join(o.out, 'README.md')}`);
}

async function report(o: PhotosOptions, rows: PhotoRow[], titles: Record<string, PhotoSituation>,
  meta: Record<string, string>): Promise<void> {
  const groups = new Map<string, PhotoRow[]>();
  for (const r of rows) groups.set(`${r.situation}|${r.method}|${r.labels}`, [...(groups.get(`${r.situation}|${r.method}|${r.labels}`) ?? []), r]);
  const cell = (s: string, m: PhotoMethod, l: number) => {
    const g = groups.get(`${s}|${m}|${l}`);
    return g ? pm(meanStd(g.map((r) => r.target_accuracy))) : '-';
  };
  const md = [`# Photos: transfer from a pretrained CIFAR ResNet`, '',
    `Source: \`${o.source}\` (${meta.recipe ?? ''}; source test accuracy ${meta.test_accuracy ? pct(Number(meta.test_accuracy)) + '%' : '?'}).`,
    `Each run: n labelled photos per class (seeded draw), ${o.steps} steps of batch min(32, 5n), Adam with cosine decay, random`,
    `shifts of 2 px; transferred models keep batch-norm statistics frozen. Hyper-parameters chosen on ${VAL_PER_CLASS} validation photos`,
    `per class (selection draw seed ${SELECT_SEED}, at ${SELECT_AT}/class); test: ${TEST_PER_CLASS} photos per class of the CIFAR-10 test split.`,
    `Seeds ${o.seeds.join(', ')}. Mean ± standard deviation over seeds, in %.`, ''];
  for (const name of o.situations) {
    const s = titles[name];
    md.push(`## ${s.title} (${s.kind})`, '');
    if (s.adapt) {
      md.push(`Transferred models copy the source's head and re-estimate batch-norm statistics (AdaBN) on ${s.adapt.n}`,
        'unlabelled photos of the target pool, then keep them frozen; KL\'s teacher is the source as it is. Scratch runs',
        `are ${s.scratchOf}'s.`, '');
    }
    md.push(markdownTable(['labels / class', ...o.methods.map((m) => TITLES[m])],
      o.labels.map((l) => [String(l), ...o.methods.map((m) => cell(name, m, l))])), '');
    const timing = o.methods.map((m) => {
      const g = rows.filter((r) => r.situation === name && r.method === m);
      const at = (l: number) => g.filter((r) => r.labels === l);
      const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
      const runS = (l: number) => (at(l).length ? mean(at(l).map((r) => r.seconds)).toFixed(0) : '-');
      const epochS = (l: number) => (at(l).length ? mean(at(l).map((r) => r.seconds_per_epoch)).toFixed(2) : '-');
      return [TITLES[m], g[0]?.hp ?? '-', ...o.labels.map((l) => `${epochS(l)} / ${runS(l)}`),
        g.length ? Math.max(...g.map((r) => r.peak_mb)).toFixed(0) : '-'];
    });
    md.push('### Chosen hyper-parameters; seconds per training epoch / per whole run; device memory', '',
      'A run\'s seconds include drawing the photos, (for the feature extractor) computing their features once, training and',
      'evaluating; an epoch is one pass over the labelled photos (the feature extractor\'s passes read cached features).',
      'Device memory: the engine\'s buffers (live and pooled) after the run, which started from an empty pool.', '',
      markdownTable(['method', 'chosen', ...o.labels.map((l) => `${l}/class: s per epoch / run`), 'MB'], timing), '');
  }
  md.push('Chart: `accuracy.png` (test accuracy vs labels per class); raw runs in `results.json`.');
  writeTextAtomic(join(o.out, 'README.md'), md.join('\n') + '\n');
  const chart: Row[] = [];
  for (const g of groups.values()) {
    const m = meanStd(g.map((r) => r.target_accuracy));
    chart.push({situation: titles[g[0].situation].title, method: TITLES[g[0].method], labels: g[0].labels, mean: m.mean,
      lo: m.mean - m.std, hi: m.mean + m.std});
  }
  await writeChart(o.out, 'accuracy', lineChart({title: 'Photos: test accuracy vs labelled photos (mean ± std over seeds)',
    rows: chart, x: 'labels', xTitle: 'labelled photos per class', yTitle: 'test accuracy', series: 'method',
    seriesTitle: 'method', facet: 'situation', logX: true}));
}
