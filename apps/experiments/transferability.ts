// Experiment `transferability` (Yosinski, Clune, Bengio and Lipson 2014): copy the first k layers of the source
// model and freeze them ("AnB"), or copy them and fine-tune everything ("AnB+"), re-initialising the layers
// above; k = 1 .. L-1 (the head is task-specific), against training from scratch, over seeds.
import {mkdirSync} from 'node:fs';
import {join} from 'node:path';
import {lineChart, meanStd, type Row} from '../../src/analysis/charts.js';
import {parameterLayers} from '../../src/transfer/layers.js';
import {markdownTable, pct, pm, RunLog, writeChart, writeTextAtomic} from './output.js';
import {runOne, sourceModel, type RunResult} from './runs.js';
import {situation} from './situations.js';

export interface TransferabilityOptions {
  situation: string;
  labels: number;
  seeds: number[];
  steps: number;
  lr: number;
  out: string;
  fresh?: boolean;
  /** Source pre-training steps instead of the situation's default (quick checks). */
  sourceSteps?: number;
  log: (line: string) => void;
}

export async function transferability(o: TransferabilityOptions): Promise<void> {
  mkdirSync(o.out, {recursive: true});
  const runs = new RunLog<RunResult>(join(o.out, 'runs.jsonl'), o.fresh);
  const s = {...situation(o.situation), ...(o.sourceSteps ? {sourceSteps: o.sourceSteps} : {})};
  const {model: source, accuracy} = await sourceModel(s, join(o.out, 'sources'), o.log);
  const layers = parameterLayers(source).map((l) => l.name);
  const ks = Array.from({length: layers.length - 1}, (_, i) => i + 1);
  const rows: {arm: string; k: number; seed: number; target_accuracy: number; source_accuracy: number | null}[] = [];
  const one = async (arm: string, k: number, seed: number, hp: Parameters<typeof runOne>[0]['hp'], method: 'scratch' | 'layer-transfer') => {
    const spec = {situation: s.name, method, hp, labels: o.labels, seed, steps: o.steps, evalOn: 'test' as const, ...(o.sourceSteps ? {sourceSteps: o.sourceSteps} : {})};
    const {result, cached} = await runs.get(spec, () => runOne({...spec, situation: s, source}));
    rows.push({arm, k, seed, target_accuracy: result.target_accuracy, source_accuracy: result.source_accuracy});
    o.log(`${arm} k=${k} seed ${seed}: ${pct(result.target_accuracy)}%${cached ? ' (stored)' : ` (${result.seconds.toFixed(1)} s)`}`);
  };
  for (const seed of o.seeds) await one('scratch', 0, seed, {lr: o.lr}, 'scratch');
  for (const k of ks) {
    for (const seed of o.seeds) {
      await one('copy + freeze', k, seed, {lr: o.lr, layers: {first: k}}, 'layer-transfer');
      await one('copy + fine-tune', k, seed, {lr: o.lr, layers: {first: k}, fineTune: true}, 'layer-transfer');
    }
  }
  source.dispose();
  const stat = (arm: string, k: number) => meanStd(rows.filter((r) => r.arm === arm && r.k === k).map((r) => r.target_accuracy));
  const scratch = stat('scratch', 0);
  writeTextAtomic(join(o.out, 'results.json'), JSON.stringify({settings: {...o, log: undefined}, layers, source_accuracy: accuracy, runs: rows}, null, 1));
  const md = [`# Transferability curve: ${s.title}`, '',
    `LeNet-5 layers with parameters: ${layers.join(', ')} (conv1, conv2, fc1, fc2, head). Copy the first k from the source model`,
    `(${pct(accuracy)}% on its own test split), re-initialise the rest, train ${o.steps} steps (Adam lr ${o.lr}, cosine) on`,
    `${o.labels} labelled target images per class; seeds ${o.seeds.join(', ')}. Target test accuracy, mean ± std in %.`, '',
    markdownTable(['k', 'copy + freeze', 'copy + fine-tune', 'scratch'], ks.map((k) => [String(k), pm(stat('copy + freeze', k)), pm(stat('copy + fine-tune', k)), pm(scratch)])), '',
    'Chart: `curve.png`; raw runs in `results.json`.'];
  writeTextAtomic(join(o.out, 'README.md'), md.join('\n') + '\n');
  const chart: Row[] = ['copy + freeze', 'copy + fine-tune'].flatMap((arm) => ks.map((k) => {
    const m = stat(arm, k);
    return {arm, k, mean: m.mean, lo: m.mean - m.std, hi: m.mean + m.std};
  }));
  await writeChart(o.out, 'curve', lineChart({title: `Transferability (${s.title}, ${o.labels} labels/class)`, rows: chart, x: 'k', xTitle: 'layers copied from the source (k)',
    yTitle: 'target test accuracy', series: 'arm', seriesTitle: 'copied layers', rule: [{mean: scratch.mean}], ruleLabel: `scratch ${pct(scratch.mean)}%`, width: 380}));
  o.log(`wrote ${join(o.out, 'README.md')}`);
}
