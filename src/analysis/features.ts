// Features of a trained model at a named layer, read back for analysis (the PCA picture of DANN), and the
// Vega-Lite scatter of their 2-D projection: colour = domain, shape = class, one panel per model.
import type {TopLevelSpec} from 'vega-lite';
import {noGrad, tidy} from '../graph/engine.js';
import * as ops from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';
import type {Module} from '../nn/module.js';
import type {ImageSet} from '../data/image-set.js';
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
        model.forward(ops.tensor(set.images.subarray(s * px, (s + m) * px), [m, set.channels, set.height, set.width]));
        if (!captured) throw new Error(`webgpu-transfer: featuresAt: layer '${layer}' did not run in the model's forward pass`);
        return ops.flatten(captured as Tensor, 1);
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

/**
 * Covariance (divisor n - 1) of n points of dimension d on the GPU: centred X^T X with our matmul kernel, read
 * back as float64. The n x d x d product runs on the GPU (the experiment logs both timings); the eigen-solve of
 * the small d x d result stays on the CPU.
 */
export async function gpuCovariance(x: Float32Array, n: number, d: number): Promise<Float64Array> {
  if (x.length !== n * d || n < 2) throw new Error(`webgpu-transfer: gpuCovariance: ${x.length} values is not ${n} >= 2 points x ${d} dimensions`);
  const c = noGrad(() => tidy(() => {
    const t = ops.tensor(x, [n, d]);
    const xc = ops.sub(t, ops.mean(t, 0, true));
    return ops.mul(ops.matmul(ops.transpose(xc), xc), 1 / (n - 1));
  }));
  const out = Float64Array.from(await c.data());
  c.dispose();
  return out;
}

// Ten distinct marks for ten classes: Vega's named shapes plus a star and a hexagon as SVG paths.
const SHAPES = ['circle', 'square', 'cross', 'diamond', 'triangle-up', 'triangle-down', 'triangle-right', 'triangle-left',
  'M0,-1L0.29,-0.4L0.95,-0.31L0.48,0.15L0.59,0.81L0,0.5L-0.59,0.81L-0.48,0.15L-0.95,-0.31L-0.29,-0.4Z',
  'M0,-1L0.87,-0.5L0.87,0.5L0,1L-0.87,0.5L-0.87,-0.5Z'];

/** Scatter of 2-D projections: rows {panel, domain, class, x, y}; colour by domain, shape by class. */
export function projectionChart(o: {title: string; rows: Row[]; xTitle?: string; yTitle?: string; width?: number}): TopLevelSpec {
  const classes = [...new Set(o.rows.map((r) => String(r.class)))].sort();
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    data: {values: o.rows},
    facet: {column: {field: 'panel', type: 'nominal', title: null, sort: [...new Set(o.rows.map((r) => String(r.panel)))]}},
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
