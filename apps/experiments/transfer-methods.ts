// Experiment `transfer-methods`: scratch vs fine-tuning vs conservative training (each term) vs layer transfer,
// with n labelled target images per class, over seeds, in each situation; with forgetting (source-task
// accuracy through the kept source head) for every transfer method.
// Hyper-parameters are chosen on the validation split (held out from the target's training pool), with one
// selection draw (seed 100) at a few-label and a many-label count; the test split is read only by the final runs.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {lineChart, meanStd, type Row} from '../../src/analysis/charts.js';
import {markdownTable, pct, pm, RunLog, writeChart, writeTextAtomic} from './output.js';
import {describeHyper, METHOD_TITLES, METHODS, runOne, sourceModel, type Hyper, type Method, type RunResult} from './runs.js';
import {situation, VAL_PER_CLASS, type Situation} from './situations.js';

export interface TransferMethodsOptions {
  situations: string[];
  labels: number[];
  seeds: number[];
  steps: number;
  methods: Method[];
  out: string;
  /** Ignore runs stored by an earlier invocation. */
  fresh?: boolean;
  /** Source pre-training steps instead of the situation's default (quick checks). */
  sourceSteps?: number;
  log: (line: string) => void;
}

/** Candidate hyper-parameters per method (the validation split picks one per situation and label regime). */
function grid(m: Method, s: Situation): Hyper[] {
  switch (m) {
    case 'scratch': return [{lr: 1e-3}, {lr: 3e-3}];
    case 'fine-tune': return [{lr: 1e-3}, {lr: 1e-3, transferredLr: 1e-4}];
    case 'l2sp': return [0.01, 0.1, 1].map((alpha) => ({lr: 1e-3, alpha}));
    case 'kl': return [0.3, 1, 3].map((weight) => ({lr: 1e-3, weight}));
    case 'layer-transfer': return (s.kind === 'different task' ? [{first: 1}, {first: 2}, {first: 3}, {first: 4}] : [{first: 2}, {first: 4}, {last: 2}, {last: 3}])
      .map((layers) => ({lr: 1e-3, layers}));
  }
}

/** Label counts whose selected hyper-parameters also serve the neighbouring counts. */
const SELECT_AT = [5, 50];
const regime = (labels: number) => (labels <= 10 ? 5 : 50);

export interface MethodRow { situation: string; method: Method; labels: number; seed: number; hp: string; target_accuracy: number; source_accuracy: number | null; seconds: number }

export async function transferMethods(o: TransferMethodsOptions): Promise<void> {
  mkdirSync(o.out, {recursive: true});
  const runs = new RunLog<RunResult>(join(o.out, 'runs.jsonl'), o.fresh);
  if (runs.summary) o.log(runs.summary);
  const rows: MethodRow[] = [];
  const selection: Record<string, unknown>[] = [];
  const sources: Record<string, number> = {};
  const titles: Record<string, {title: string; kind: string}> = {};
  const t0 = performance.now();
  // Runs on another source model are other runs (only an overridden source schedule is part of the key).
  const stepsKey = o.sourceSteps ? {sourceSteps: o.sourceSteps} : {};
  for (const name of o.situations) {
    const s = {...situation(name), ...(o.sourceSteps ? {sourceSteps: o.sourceSteps} : {})};
    titles[name] = {title: s.title, kind: s.kind};
    const {model: source, accuracy} = await sourceModel(s, join(o.out, 'sources'), o.log);
    sources[name] = accuracy;
    o.log(`${s.title}: source ${s.source.train.n} images; target pool ${s.target.pool.n}, validation ${s.target.val.n}, test ${s.target.test.n}`);
    for (const method of o.methods) {
      // 1. Choose on the validation split.
      const chosen = new Map<number, Hyper>();
      for (const at of SELECT_AT) {
        if (!o.labels.some((l) => regime(l) === at)) continue;
        let best: {hp: Hyper; acc: number} | null = null;
        for (const hp of grid(method, s)) {
          const spec = {situation: name, method, hp, labels: at, seed: 100, steps: o.steps, evalOn: 'val' as const, ...stepsKey};
          const {result} = await runs.get(spec, () => runOne({...spec, situation: s, source}));
          selection.push({situation: name, method, labels: at, hp: describeHyper(method, hp), val_accuracy: result.target_accuracy});
          if (!best || result.target_accuracy > best.acc) best = {hp, acc: result.target_accuracy};
        }
        chosen.set(at, best!.hp);
        o.log(`${name} ${method}: chose ${describeHyper(method, best!.hp)} at ${at}/class (validation ${pct(best!.acc)}%)`);
      }
      // 2. Report on the test split.
      for (const labels of o.labels) {
        const hp = chosen.get(regime(labels))!;
        for (const seed of o.seeds) {
          const spec = {situation: name, method, hp, labels, seed, steps: o.steps, evalOn: 'test' as const, ...stepsKey};
          const {result, cached} = await runs.get(spec, () => runOne({...spec, situation: s, source}));
          rows.push({situation: name, method, labels, seed, hp: describeHyper(method, hp), ...result});
          o.log(`${name} ${method} ${labels}/class seed ${seed}: target ${pct(result.target_accuracy)}%` +
            `${result.source_accuracy === null ? '' : `, source ${pct(result.source_accuracy)}%`}${cached ? ' (stored)' : ` (${result.seconds.toFixed(1)} s)`}`);
        }
      }
    }
    source.dispose();
  }
  writeTextAtomic(join(o.out, 'results.json'), JSON.stringify({settings: {...o, log: undefined}, sources, selection, runs: rows}, null, 1));
  await report(o, rows, sources, titles);
  o.log(`done in ${((performance.now() - t0) / 1000 / 60).toFixed(1)} min: ${join(o.out, 'README.md')}`);
}

type Agg = {situation: string; method: Method; labels: number; target: ReturnType<typeof meanStd>; source: ReturnType<typeof meanStd> | null; hp: string};

function aggregate(rows: MethodRow[]): Agg[] {
  const groups = new Map<string, MethodRow[]>();
  for (const r of rows) {
    const k = `${r.situation}|${r.method}|${r.labels}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return [...groups.values()].map((g) => ({situation: g[0].situation, method: g[0].method, labels: g[0].labels, hp: g[0].hp,
    target: meanStd(g.map((r) => r.target_accuracy)),
    source: g[0].source_accuracy === null ? null : meanStd(g.map((r) => r.source_accuracy!))}));
}

/** Tables and charts; `titles` are the situations' names for people (building a situation again would remake its data). */
async function report(o: TransferMethodsOptions, rows: MethodRow[], sources: Record<string, number>, titles: Record<string, {title: string; kind: string}>): Promise<void> {
  const agg = aggregate(rows);
  const md: string[] = [`# Transfer methods: target accuracy and forgetting`, '',
    `LeNet-5, Adam with cosine decay, ${o.steps} steps of batch min(32, n) per run; seeds ${o.seeds.join(', ')} (label draw and`,
    `new-layer initialisation; one source model per situation, seed 0). Hyper-parameters chosen on a validation split of`,
    `${VAL_PER_CLASS} target images per class held out from the training pool (selection draw: seed 100, at 5/class for 2-10 labels and`,
    `50/class for 50-200); the test split is used only for these figures. Mean ± standard deviation over seeds, in %.`, ''];
  for (const name of o.situations) {
    const s = titles[name];
    md.push(`## ${s.title} (${s.kind}); source model ${pct(sources[name])}% on the source test split`, '');
    const methods = o.methods;
    md.push('### Target test accuracy', '', markdownTable(['labels / class', ...methods.map((m) => METHOD_TITLES[m])],
      o.labels.map((l) => [String(l), ...methods.map((m) => { const a = agg.find((x) => x.situation === name && x.method === m && x.labels === l); return a ? pm(a.target) : '-'; })])), '');
    const transfer = methods.filter((m) => m !== 'scratch');
    md.push('### Forgetting: source-task test accuracy after training on the target (kept source head)', '', markdownTable(['labels / class', ...transfer.map((m) => METHOD_TITLES[m])],
      o.labels.map((l) => [String(l), ...transfer.map((m) => { const a = agg.find((x) => x.situation === name && x.method === m && x.labels === l); return a?.source ? pm(a.source) : '-'; })])), '');
    md.push('### Chosen hyper-parameters', '', markdownTable(['method', 'labels 2-10', 'labels 50-200'],
      methods.map((m) => [METHOD_TITLES[m], agg.find((x) => x.situation === name && x.method === m && x.labels <= 10)?.hp ?? '-', agg.find((x) => x.situation === name && x.method === m && x.labels > 10)?.hp ?? '-'])), '');
  }
  md.push('Charts: `accuracy.png` (target accuracy vs labels), `forgetting.png` (source accuracy vs labels); raw runs in `results.json`.');
  writeTextAtomic(join(o.out, 'README.md'), md.join('\n') + '\n');
  const chartRows = (pick: (a: Agg) => ReturnType<typeof meanStd> | null): Row[] => agg.filter((a) => pick(a)).map((a) => {
    const m = pick(a)!;
    return {situation: titles[a.situation].title, method: METHOD_TITLES[a.method], labels: a.labels, mean: m.mean, lo: m.mean - m.std, hi: m.mean + m.std};
  });
  await writeChart(o.out, 'accuracy', lineChart({title: 'Target test accuracy vs labelled target images (mean ± std over seeds)', rows: chartRows((a) => a.target),
    x: 'labels', xTitle: 'labelled images per class', yTitle: 'target test accuracy', series: 'method', seriesTitle: 'method', facet: 'situation', logX: true}));
  await writeChart(o.out, 'forgetting', lineChart({title: 'Forgetting: source-task accuracy after target training (kept source head)', rows: chartRows((a) => a.source),
    x: 'labels', xTitle: 'labelled images per class', yTitle: 'source test accuracy', series: 'method', seriesTitle: 'method', facet: 'situation', logX: true}));
}

export {METHODS};
