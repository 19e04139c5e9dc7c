// How each measurable family is timed (tune.ts): for a recorded case, inputs of its shape and a launch of its pass.
// Inputs are filled with constants: timings depend on shapes, not values (argmax indices come from a real forward).
import {empty, type Shape, type Tensor} from '../tensor.js';
import {agreementK, outerK, predictBwdInputK, predictBwdWeightK, predictK, weightedSumK} from './capsule/index.js';
import {CAPSULE_PREDICT, CAPSULE_ROUTING, CAPSULE_WEIGHTED_SUM, type CapsDims} from './capsule/select.js';
import {conv2dBwdInputK, conv2dBwdWeightK, conv2dK, groupedConv2dBwdInputK, groupedConv2dBwdWeightK, groupedConv2dK,
  type LoweredCols} from './conv/index.js';
import {im2colK} from './conv/gemm.js';
import {CONV_FORWARD, CONV_INPUT, CONV_WEIGHT, geomKey, IM2COL} from './conv/select.js';
import {GROUPED_FORWARD, GROUPED_INPUT, GROUPED_WEIGHT} from './conv/select-grouped.js';
import {binaryK} from './elementwise/index.js';
import {ELEMENTWISE_FAMILY} from './elementwise/select.js';
import {fillK} from './layout/index.js';
import {matmulK, type MatView} from './matmul/index.js';
import {MATMUL} from './matmul/select.js';
import {batchNormTrainBwdK, batchNormTrainK} from './norm/index.js';
import {reduceK, sumChannelsK} from './reduce/index.js';
import {CHANNEL_SUM, REDUCE} from './reduce/select.js';
import {BATCH_NORM_SUMS} from './norm/select.js';
import {adaptiveAvgPoolK, poolBwdK, poolK} from './pool/index.js';
import {POOL_ADAPTIVE, POOL_BACKWARD, POOL_FORWARD} from './pool/select.js';
import {withForcedVariant, type Family} from './select.js';

/** A family's measurement for one case: inputs made for its shape, a launch of the forced variant, cleanup. */
export interface Bench {
  /** Launches the case once (tune.ts forces the variant around it) and disposes of what it made. */
  run(): void;
  dispose(): void;
}

/** Builds a case's bench, or null where the case cannot be rebuilt from its shape alone. */
type BenchOf<C> = (c: C) => Bench | null;
const table = new Map<string, BenchOf<never>>();
const define = <V extends string, C>(f: Family<V, C>, b: BenchOf<C>) => table.set(f.name, b as BenchOf<never>);

/** The bench of a family, by name (undefined: the family is chosen by its table alone). */
export const benchOf = (family: string): BenchOf<unknown> | undefined => table.get(family) as BenchOf<unknown>;
/** The families that can be measured. */
export const measurableFamilies = (): string[] => [...table.keys()].sort();

const filled = (shape: Shape, v = 0.5): Tensor => fillK(empty(shape), v);
/** A bench over `inputs` whose `launch` returns what it made (disposed after each run). */
const bench = (inputs: Tensor[], launch: () => (Tensor | null)[]): Bench => ({
  run: () => { for (const t of launch()) t?.dispose(); },
  dispose: () => { for (const t of inputs) t.dispose(); },
});

define(CONV_FORWARD, (g) => {
  const x = filled([g.N, g.C, g.H, g.W]), w = filled([g.K, g.C, g.KH, g.KW], 0.01);
  return bench([x, w], () => [conv2dK(x, w, null, g)]);
});
define(IM2COL, ({g, xFloats}) => {
  // The launch reads `count` images of a larger input where a lowering runs in chunks: x as large as that input.
  if (xFloats % (g.C * g.H * g.W) !== 0) return null;
  const x = filled([xFloats / (g.C * g.H * g.W), g.C, g.H, g.W]);
  return bench([x], () => [im2colK(x, g, 0, g.N)]);
});
define(CONV_INPUT, (g) => {
  const dy = filled([g.N, g.K, g.OH, g.OW]), w = filled([g.K, g.C, g.KH, g.KW], 0.01);
  return bench([dy, w], () => [conv2dBwdInputK(dy, w, g)]);
});
define(CONV_WEIGHT, ({g, kept}) => {
  const x = filled([g.N, g.C, g.H, g.W]), dy = filled([g.N, g.K, g.OH, g.OW]);
  let cols: Tensor | null = null;
  if (kept) {
    // The forward's im2col matrix, as the lowered forward leaves it.
    const keep: LoweredCols = {cols: null};
    const w = filled([g.K, g.C, g.KH, g.KW], 0.01);
    withForcedVariant(CONV_FORWARD.name, geomKey(g), 'gemm', () => conv2dK(x, w, null, g, keep)).dispose();
    w.dispose();
    cols = keep.cols;
    if (!cols) { x.dispose(); dy.dispose(); return null; }
  }
  return bench(cols ? [x, dy, cols] : [x, dy], () => [conv2dBwdWeightK(x, dy, g, cols)]);
});
define(GROUPED_WEIGHT, (g) => {
  const x = filled([g.N, g.C, g.H, g.W]), dy = filled([g.N, g.K, g.OH, g.OW]);
  return bench([x, dy], () => [groupedConv2dBwdWeightK(x, dy, g)]);
});
define(GROUPED_FORWARD, (g) => {
  const x = filled([g.N, g.C, g.H, g.W]), w = filled([g.K, g.C / g.groups, g.KH, g.KW], 0.01);
  return bench([x, w], () => [groupedConv2dK(x, w, null, g)]);
});
define(GROUPED_INPUT, (g) => {
  const dy = filled([g.N, g.K, g.OH, g.OW]), w = filled([g.K, g.C / g.groups, g.KH, g.KW], 0.01);
  return bench([dy, w], () => [groupedConv2dBwdInputK(dy, w, g)]);
});

define(MATMUL, (c) => {
  const operand = (v: MatView): MatView => {
    const nb = v.batchStride ? v.batch : 1;
    return {...v, t: filled([nb, v.rows, v.cols], 0.01)};
  };
  const a = operand(c.a), b = operand(c.b);
  // The bias and relu that follow the product: the tile writes them, other variants add their dispatches.
  const bias = c.epilogue.bias ? filled([c.N], 0.01) : null;
  return bench(bias ? [a.t, b.t, bias] : [a.t, b.t], () => [matmulK(a, b, 1, {bias, relu: c.epilogue.relu})]);
});

define(POOL_FORWARD, (g) => {
  const x = filled([g.N, g.C, g.H, g.W]);
  return bench([x], () => { const {y, arg} = poolK(x, g, true); return [y, arg]; });
});
define(POOL_BACKWARD, ({g, max}) => {
  const x = filled([g.N, g.C, g.H, g.W]), {y, arg} = poolK(x, g, max), gy = filled([g.N, g.C, g.OH, g.OW]);
  return bench([x, y, gy, ...(arg ? [arg] : [])], () => [poolBwdK(gy, arg, g)]);
});
define(POOL_ADAPTIVE, (g) => {
  const x = filled([g.N, g.C, g.H, g.W]);
  return bench([x], () => [adaptiveAvgPoolK(x, g)]);
});

define(BATCH_NORM_SUMS, (g) => {
  // Both passes that take the sums: the statistics, then the gradient's sums (no dx, which does not change).
  const x = filled([g.N, g.C, g.HW]), gy = filled([g.N, g.C, g.HW]);
  return bench([x, gy], () => {
    const f = batchNormTrainK(x, null, null, g, 1e-5);
    const b = batchNormTrainBwdK(x, gy, f.stats, null, g, false);
    return [f.y, f.mean, f.variance, f.stats, b.dweight, b.dbias];
  });
});

define(REDUCE, (c) => {
  const x = filled([c.outer * c.r * c.inner], 0.01);
  return bench([x], () => [reduceK(c.kind, x, c.outer, c.r, c.inner)]);
});

define(CHANNEL_SUM, (c) => {
  const x = filled([c.outer * c.channels * c.inner], 0.01);
  return bench([x], () => [sumChannelsK(x, c.outer, c.channels, c.inner)]);
});

define(ELEMENTWISE_FAMILY, (c) => {
  // b one value per run of `inner` elements, cycling every `mid` runs: a [mid, 1] operand of [n / (mid inner), mid,
  // inner]. Other broadcasts are not rebuilt from the key.
  if (c.broadcast && !c.channel) return null;
  const {inner, mid} = c.channel ?? {inner: 1, mid: 1};
  const a = filled(c.channel ? [c.n / (mid * inner), mid, inner] : [c.n]), b = filled(c.channel ? [mid, 1] : [c.n]);
  return bench([a, b], () => [binaryK('add', a, b)]);
});

const dims = (s: CapsDims, ...axes: (keyof CapsDims)[]) => axes.map((k) => s[k]);
define(CAPSULE_PREDICT, (s) => {
  const u = filled(dims(s, 'b', 'i', 'd')), w = filled(dims(s, 'i', 'j', 'o', 'd'), 0.01);
  const g = filled(dims(s, 'b', 'i', 'j', 'o'));
  return bench([u, w, g], () => [predictK(u, w, s), predictBwdInputK(g, w, s), predictBwdWeightK(g, u, s)]);
});
define(CAPSULE_ROUTING, ({s, terms}) => {
  // outer and agreement (one term); outer_sum's longer sums run inside routing's backward only.
  if (terms !== 1) return null;
  const c = filled(dims(s, 'b', 'i', 'j')), v = filled(dims(s, 'b', 'j', 'o')), uhat = filled(dims(s, 'b', 'i', 'j', 'o'));
  return bench([c, v, uhat], () => [outerK(c, v, s), agreementK(uhat, v, s)]);
});
define(CAPSULE_WEIGHTED_SUM, ({s}) => {
  const c = filled(dims(s, 'b', 'i', 'j')), uhat = filled(dims(s, 'b', 'i', 'j', 'o'));
  return bench([c, uhat], () => [weightedSumK(c, uhat, s)]);
});

/** Every family chosen through a Family (select.ts: choose), measurable or not. */
export const KERNEL_FAMILIES: readonly Family<string, never>[] = [CONV_FORWARD, CONV_INPUT, CONV_WEIGHT, MATMUL,
  IM2COL, GROUPED_WEIGHT, GROUPED_FORWARD, GROUPED_INPUT, POOL_FORWARD, POOL_BACKWARD, POOL_ADAPTIVE, BATCH_NORM_SUMS,
  REDUCE, CHANNEL_SUM, ELEMENTWISE_FAMILY, CAPSULE_PREDICT, CAPSULE_ROUTING, CAPSULE_WEIGHTED_SUM,
] as unknown as Family<string, never>[];
