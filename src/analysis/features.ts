// Features of a trained model at a named layer, read back for analysis (the PCA picture of DANN), and the
// Vega-Lite scatter of their 2-D projection: colour = domain, shape = class, one panel per model.
import type {TopLevelSpec} from 'vega-lite';
import {noGrad, tidy} from '../graph/engine.js';
import * as O from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';
import type {Module} from '../nn/module.js';
import type {ImageSet} from '../data/mnist.js';
import type {Row} from './charts.js';

/**
 * The output of the sub-module `layer` (a dotted name as in the state dict: 'features', 'classifier.1') when
 * `model` runs on the first `count` images of `set`, flattened per image: count x d values and d.
 */
export async function featuresAt(model: Module, layer: string, set: ImageSet, count = set.n, batch = 256): Promise<{data: Float32Array; n: number; d: number}> {
  const target = model.get(layer); // throws naming the missing part
  const n = Math.min(count, set.n);
  const px = set.channels * set.height * set.width;
  const wasTraining = model.training;
  model.eval();
  let captured: Tensor | null = null;
  const own = Object.prototype.hasOwnProperty.call(target, 'forward');
  const original = target.forward;
  // Wrap the named module's forward on this instance only, to see its output inside any model structure.
  target.forward = function (this: Module, x: Tensor) { const y = original.call(this, x); captured = y; return y; };
  const parts: Float32Array[] = [];
  let d = 0;
  try {
    for (let s = 0; s < n; s += batch) {
      const m = Math.min(batch, n - s);
      const out = noGrad(() => tidy(() => {
        captured = null;
        model.forward(O.tensor(set.images.subarray(s * px, (s + m) * px), [m, set.channels, set.height, set.width]));
        if (!captured) throw new Error(`webgpu-transfer: featuresAt: layer '${layer}' did not run in the model's forward pass`);
        return O.flatten(captured as Tensor, 1);
      }));
      d = out.shape[1];
      parts.push(await out.data() as Float32Array);
      out.dispose();
    }
  } finally {
    if (own) target.forward = original; else delete (target as {forward?: unknown}).forward;
    model.train(wasTraining);
  }
  const data = new Float32Array(n * d);
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  return {data, n, d};
}

const SHAPES = ['circle', 'square', 'cross', 'diamond', 'triangle-up', 'triangle-down', 'triangle-right', 'triangle-left', 'wedge', 'arrow'];

/** Scatter of 2-D projections: rows {panel, domain, class, x, y}; colour by domain, shape by class. */
export function projectionChart(o: {title: string; rows: Row[]; xTitle?: string; yTitle?: string; width?: number}): TopLevelSpec {
  const classes = [...new Set(o.rows.map((r) => String(r.class)))].sort();
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    data: {values: o.rows},
    facet: {column: {field: 'panel', type: 'nominal', title: null, sort: null}},
    spec: {
      width: o.width ?? 320, height: 320,
      mark: {type: 'point', filled: true, size: 22, opacity: 0.55},
      encoding: {
        x: {field: 'x', type: 'quantitative', title: o.xTitle ?? 'PC 1', scale: {zero: false}},
        y: {field: 'y', type: 'quantitative', title: o.yTitle ?? 'PC 2', scale: {zero: false}},
        color: {field: 'domain', type: 'nominal', title: 'domain', scale: {range: ['#1f77b4', '#d62728', '#2ca02c', '#9467bd']}},
        shape: {field: 'class', type: 'nominal', title: 'class', sort: classes, scale: {range: SHAPES}},
      },
    },
    resolve: {scale: {x: 'independent', y: 'independent'}},
    config: {font: 'DejaVu Sans, sans-serif', axis: {labelFontSize: 11, titleFontSize: 12}, legend: {labelFontSize: 11, titleFontSize: 12}},
  } as unknown as TopLevelSpec;
}
