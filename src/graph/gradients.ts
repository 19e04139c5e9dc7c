// Every gradient rule in one table: op name -> (upstream gradient, node, output) -> one gradient per input
// (null where the input needs none). Rules are written with ops and kernels and run under noGrad.
// Frozen inputs (requiresGrad false) are skipped, so e.g. a frozen conv weight costs no weight-gradient kernel.
//
// The table is also the list of differentiable ops: OpName is its keys, and each rule states what the forward
// saves for it (`rule<{alpha: number}>(...)`). Ops end with record(out, 'leakyRelu', inputs, {alpha}) (record.ts),
// typed against this table: a misspelled op, an op without a rule, or a saved value the rule does not expect (or
// one missing) is a compile error, not a failure at backward().
//
// Memory: every tensor a rule makes is either a gradient it returns or goes into its Temporaries (the 4th
// argument), freed once the rule returns, so an eager backward() outside tidy() leaves nothing but gradients.
import {binaryK, reverseBwdK, unaryK, whereK} from './kernels/elementwise/index.js';
import {expandK, fillK, permuteK, scatterAddK} from './kernels/layout/index.js';
import {RELU_COL_SUMS_MAX_ROWS, reluGradColSumsK, softmaxBwdK, xentBwdK} from './kernels/reduce/index.js';
import {conv2dBwdInputK, conv2dBwdWeightK, groupedConv2dBwdInputK, groupedConv2dBwdWeightK, type BiasGradOut,
  type Conv2dGeom} from './kernels/conv/index.js';
import {adaptiveAvgPoolBwdK, poolBwdK, type AdaptiveGeom, type PoolGeom} from './kernels/pool/index.js';
import {batchNormTrainBwdK, type BatchNormActivation, type BatchNormGeom} from './kernels/norm/index.js';
import {agreementK, outerK, predictBwdInputK, predictBwdWeightK, routingBackwardK, squashBwdK, weightedSumK,
  type CapsDims, type RoutingState} from './kernels/capsule/index.js';
import {kernelPrefs} from './kernels/prefs.js';
import * as ops from './ops.js';
import {isUnitSeed} from './unit-seed.js';
import {empty, type Tensor} from './tensor.js';

/** A recorded op as its rule sees it: inputs (in call order) and what the forward saved. */
export interface OpNode<S> { op: string; inputs: Tensor[]; saved: S }
export type Rule<S> = (g: Tensor, node: OpNode<S>, out: Tensor) => (Tensor | null)[];
type Grads = (Tensor | null)[];

/** Tensors a rule makes on the way, freed once its gradients exist (a gradient may be one of them: sumTo's no-op). */
class Temporaries {
  private made: Tensor[] = [];
  add(t: Tensor): Tensor { this.made.push(t); return t; }
  disposeExcept(keep: Grads): void { for (const t of this.made) if (!keep.includes(t)) t.dispose(); }
}

/**
 * Declares a rule and the type of the values its forward saves. The body gets a Temporaries for everything it
 * makes besides its gradients; they are freed when it returns (or throws), whatever path it took.
 */
const rule = <S extends object = Record<never, never>>(
  body: (g: Tensor, node: OpNode<S>, out: Tensor, tmp: Temporaries) => Grads,
): Rule<S> => (g, node, out) => {
  const tmp = new Temporaries();
  let grads: Grads = [];
  try {
    grads = body(g, node, out, tmp);
    return grads;
  } finally {
    tmp.disposeExcept(grads);
  }
};
const needs = (n: OpNode<unknown>, i: number) => n.inputs[i]?.requiresGrad ?? false;

/** Unary kernels save their two scalar parameters (slope, clamp bounds, affine scale, exponent). */
type Scalars = {alpha: number; beta: number};
/** Reductions save the reduced axes (sorted), whether they were kept, and how many elements each output covers. */
type Reduced = {axes: number[]; keepDim: boolean; count: number};
/** The [outer, r, inner] view softmax works on. */
type Rows = {rows: [number, number, number]};

/** t * k (t is the caller's). */
const scaled = (t: Tensor, k: number): Tensor => unaryK('affine', t, k, 0);

/**
 * A convolution's gradients for g of its output: x, weight and bias (where given). `cols`: the forward's im2col matrix
 * (a lowered conv), used once and freed here; a second backward lowers x again, as does one after tidy() freed it.
 */
function convGrads(g: Tensor, n: OpNode<{geom: Conv2dGeom; cols?: Tensor | null}>): Grads {
  const {geom, cols} = n.saved;
  const [x, w] = n.inputs;
  const db = () => (needs(n, 2) ? ops.reduceAxes('sum', g, [0, 2, 3]) : null);
  if (geom.groups > 1) {
    return [needs(n, 0) ? groupedConv2dBwdInputK(g, w, geom) : null,
      needs(n, 1) ? groupedConv2dBwdWeightK(x, g, geom) : null, db()];
  }
  // The weight gradient's kernel may sum the bias gradient too (the generated direct tile), else a reduction does.
  const bias: BiasGradOut = {db: null};
  const dw = needs(n, 1) ? conv2dBwdWeightK(x, g, geom, cols && !cols.disposed ? cols : null,
    needs(n, 2) && kernelPrefs.fuseEpilogues ? bias : undefined) : null;
  if (cols) { cols.dispose(); n.saved.cols = null; }
  return [needs(n, 0) ? conv2dBwdInputK(g, w, geom) : null, dw, bias.db ?? db()];
}

/** linear's gradients (x @ w^T + b), for g of its output; `db`: the bias gradient where it was summed already. */
function linearGrads(g: Tensor, n: OpNode<{rows: number}>, tmp: Temporaries, db: Tensor | null = null): Grads {
  const [x, w] = n.inputs;
  const rows = n.saved.rows;
  const [out, inp] = w.shape;
  return [
    needs(n, 0) ? ops.mm(g, [1, rows, out], false, w, [1, out, inp], false).viewAsDispose(x.shape) : null,
    needs(n, 1) ? ops.mm(g, [1, rows, out], true, x, [1, rows, inp], false).viewAsDispose(w.shape) : null,
    needs(n, 2) ? db ?? ops.reduceAxes('sum', tmp.add(g.viewAs([rows, out])), [0]) : null,
  ];
}

/** linearRelu's gradients: through the relu, with the bias sum in the same dispatch where a batch's rows allow. */
function linearReluGrads(g: Tensor, n: OpNode<{rows: number}>, out: Tensor, tmp: Temporaries): Grads {
  const rows = n.saved.rows, cols = n.inputs[1].shape[0];
  if (!needs(n, 2) || rows > RELU_COL_SUMS_MAX_ROWS || !kernelPrefs.fuseEpilogues) {
    return linearGrads(tmp.add(binaryK('reluGrad', out, g)), n, tmp);
  }
  const {gm, db} = reluGradColSumsK(out, g, rows, cols);
  return linearGrads(tmp.add(gm), n, tmp, db);
}

/**
 * Gradients of maximum / minimum(a, b) as torch: the winner gets g, the loser 0, and a tie gives each side g / 2
 * (as the max / min reductions share ties). `loses` is the comparison under which a side loses to the other; it
 * is false for NaN, so where either side is NaN both get g.
 */
function pairExtremumGrads(g: Tensor, n: OpNode<unknown>, loses: 'lt' | 'gt', tmp: Temporaries): Grads {
  const [a, b] = n.inputs;
  const zero = tmp.add(fillK(empty([1]), 0));
  const shared = tmp.add(whereK(tmp.add(binaryK('eq', a, b)), tmp.add(unaryK('affine', g, 0.5, 0)), g));
  const da = needs(n, 0) ? ops.sumTo(tmp.add(whereK(tmp.add(binaryK(loses, a, b)), zero, shared)), a.shape) : null;
  const db = needs(n, 1) ? ops.sumTo(tmp.add(whereK(tmp.add(binaryK(loses, b, a)), zero, shared)), b.shape) : null;
  return [da, db];
}

/** d/dx of the unary op x -> out, times g, via fused gradient kernels where one exists. */
const unaryRules = {
  neg: rule<Scalars>((g) => [unaryK('neg', g)]),
  exp: rule<Scalars>((g, _n, out) => [binaryK('mul', g, out)]),
  log: rule<Scalars>((g, n) => [binaryK('div', g, n.inputs[0])]),
  sqrt: rule<Scalars>((g, _n, out, tmp) => [scaled(tmp.add(binaryK('div', g, out)), 0.5)]),
  relu: rule<Scalars>((g, n) => [binaryK('reluGrad', n.inputs[0], g)]),
  leakyRelu: rule<Scalars>((g, n) => [binaryK('leakyReluGrad', n.inputs[0], g, n.saved.alpha)]),
  sigmoid: rule<Scalars>((g, _n, out) => [binaryK('sigmoidGrad', out, g)]),
  tanh: rule<Scalars>((g, _n, out) => [binaryK('tanhGrad', out, g)]),
  abs: rule<Scalars>((g, n) => [binaryK('absGrad', n.inputs[0], g)]),
  clamp: rule<Scalars>((g, n) => [binaryK('clampGrad', n.inputs[0], g, n.saved.alpha, n.saved.beta)]),
  // hardtanh's backward, as PyTorch's relu6: 0 at the bounds themselves (clamp passes g there).
  relu6: rule((g, n) => [binaryK('hardtanhGrad', n.inputs[0], g, 0, 6)]),
  affine: rule<Scalars>((g, n) => [unaryK('affine', g, n.saved.alpha, 0)]),
  square: rule<Scalars>((g, n, _out, tmp) => [scaled(tmp.add(binaryK('mul', g, n.inputs[0])), 2)]),
  powScalar: rule<Scalars>((g, n, _out, tmp) => {
    const e = n.saved.alpha;
    // x^0 is constant: 0 everywhere, as torch (e * x^(e-1) would be 0 * inf = NaN at x = 0).
    if (e === 0) return [fillK(empty(n.inputs[0].shape), 0)];
    const power = tmp.add(unaryK('powScalar', n.inputs[0], e - 1));
    return [scaled(tmp.add(binaryK('mul', g, power)), e)];
  }),
};

// sumTo reduces a broadcast gradient to its input's shape and leaves its argument to the caller: a rule passes it
// a tensor from its temporaries, freed after the rule unless sumTo handed that very tensor back (no broadcast).
const binaryRules = {
  add: rule((g, n) => [needs(n, 0) ? ops.sumTo(g, n.inputs[0].shape) : null, needs(n, 1) ? ops.sumTo(g, n.inputs[1].shape) : null]),
  sub: rule((g, n, _out, tmp) => [
    needs(n, 0) ? ops.sumTo(g, n.inputs[0].shape) : null,
    needs(n, 1) ? ops.sumTo(tmp.add(unaryK('neg', g)), n.inputs[1].shape) : null,
  ]),
  mul: rule((g, n, _out, tmp) => [
    needs(n, 0) ? ops.sumTo(tmp.add(binaryK('mul', g, n.inputs[1])), n.inputs[0].shape) : null,
    needs(n, 1) ? ops.sumTo(tmp.add(binaryK('mul', g, n.inputs[0])), n.inputs[1].shape) : null,
  ]),
  div: rule((g, n, out, tmp) => {
    const [a, b] = n.inputs;
    const da = needs(n, 0) ? ops.sumTo(tmp.add(binaryK('div', g, b)), a.shape) : null;
    let db: Tensor | null = null;
    if (needs(n, 1)) {
      // d(a/b)/db = -g * out / b
      const gOutOverB = tmp.add(binaryK('mul', g, tmp.add(binaryK('div', out, b))));
      db = ops.sumTo(tmp.add(unaryK('neg', gOutOverB)), b.shape);
    }
    return [da, db];
  }),
  pow: rule((g, n, out, tmp) => {
    const [a, b] = n.inputs;
    const zero = tmp.add(fillK(empty([1]), 0));
    let da: Tensor | null = null, db: Tensor | null = null;
    if (needs(n, 0)) {
      // d(a^b)/da = g * b * a^(b-1), set to 0 where b = 0 as torch (else 0 * a^-1 = NaN at a = 0, even for g = inf).
      const power = tmp.add(binaryK('pow', a, tmp.add(unaryK('affine', b, 1, -1))));
      const full = tmp.add(binaryK('mul', g, tmp.add(binaryK('mul', b, power))));
      da = ops.sumTo(tmp.add(whereK(tmp.add(binaryK('eq', b, zero)), zero, full)), a.shape);
    }
    if (needs(n, 1)) {
      // d(a^b)/db = g * a^b * log(a), with a^b log(a) set to 0 where a = 0 and b >= 0 as torch (computed, it
      // would be 0 * -inf = NaN, or -inf for b = 0); b < 0 keeps inf * -inf = -inf, a < 0 gives NaN (log).
      const atZero = tmp.add(binaryK('mul', tmp.add(binaryK('ge', b, zero)), tmp.add(binaryK('eq', a, zero))));
      const factor = tmp.add(whereK(atZero, zero, tmp.add(binaryK('mul', out, tmp.add(unaryK('log', a))))));
      db = ops.sumTo(tmp.add(binaryK('mul', g, factor)), b.shape);
    }
    return [da, db];
  }),
  // A side loses where it is below the other (maximum) or above it (minimum).
  maximum: rule((g, n, _out, tmp) => pairExtremumGrads(g, n, 'lt', tmp)),
  minimum: rule((g, n, _out, tmp) => pairExtremumGrads(g, n, 'gt', tmp)),
  where: rule((g, n, _out, tmp) => {
    const [c, a, b] = n.inputs;
    const zero = tmp.add(fillK(empty([1]), 0));
    return [
      null,
      needs(n, 1) ? ops.sumTo(tmp.add(whereK(c, g, zero)), a.shape) : null,
      needs(n, 2) ? ops.sumTo(tmp.add(whereK(c, zero, g)), b.shape) : null,
    ];
  }),
};

/** A reduction's input shape with its reduced axes kept as 1s (the shape its output broadcasts from). */
const keptShape = (n: OpNode<Reduced>): number[] => n.inputs[0].shape.map((d, i) => (n.saved.axes.includes(i) ? 1 : d));

/** Gradient of a reduction: broadcast g (with the reduced axes kept) back to the input shape. */
const expandBack = (g: Tensor, n: OpNode<Reduced>, tmp: Temporaries): Tensor =>
  expandK(tmp.add(g.viewAs(keptShape(n))), n.inputs[0].shape);

const extremum = rule<Reduced>((g, n, out, tmp) => {
  // Ties share the gradient equally.
  const x = n.inputs[0];
  const kept = keptShape(n);
  const mask = tmp.add(binaryK('eq', x, tmp.add(out.viewAs(kept))));
  const count = tmp.add(ops.reduceAxes('sum', mask, n.saved.axes).viewAsDispose(kept));
  const share = tmp.add(binaryK('div', tmp.add(g.viewAs(kept)), count));
  return [binaryK('mul', mask, share)];
});

const shapeRules = {
  sum: rule<Reduced>((g, n, _out, tmp) => [expandBack(g, n, tmp)]),
  mean: rule<Reduced>((g, n, _out, tmp) => [scaled(tmp.add(expandBack(g, n, tmp)), 1 / n.saved.count)]),
  max: extremum,
  min: extremum,
  reshape: rule<{shape: number[]}>((g, n) => [g.viewAs(n.inputs[0].shape)]),
  permute: rule<{dims: number[]}>((g, n) => {
    const dims = n.saved.dims;
    const inv = dims.map((_, i) => dims.indexOf(i));
    return [permuteK(g, inv)];
  }),
  expand: rule<{shape: number[]}>((g, n) => [ops.sumTo(g, n.saved.shape)]),
  slice: rule<{starts: number[]; shape: number[]}>((g, n) => [ops.padInto(g, n.saved.shape, n.saved.starts)]),
  concat: rule<{axis: number; offsets: number[]}>((g, n) => {
    const {axis, offsets} = n.saved;
    return n.inputs.map((t, i) => {
      if (!t.requiresGrad) return null;
      const starts = t.shape.map((_, d) => (d === axis ? offsets[i] : 0));
      const ends = t.shape.map((dd, d) => (d === axis ? offsets[i] + t.shape[axis] : dd));
      return ops.slice(g, starts, ends);
    });
  }),
  gather: rule<{indices: Tensor; axis: number; outer: number; n: number; inner: number}>((g, n) => {
    const {indices, outer, inner} = n.saved;
    return [scatterAddK(g, indices, outer, n.saved.n, inner, n.inputs[0].shape)];
  }),
};

const nnRules = {
  softmax: rule<Rows>((g, n, out) => { const [o, r, i] = n.saved.rows; return [softmaxBwdK(out, g, o, r, i, false)]; }),
  logSoftmax: rule<Rows>((g, n, out) => { const [o, r, i] = n.saved.rows; return [softmaxBwdK(out, g, o, r, i, true)]; }),
  crossEntropyRows: rule<{labels: Tensor}>((g, n) => [xentBwdK(n.inputs[0], n.saved.labels, g)]),
  // The forward's gradient for a unit seed, once (a second backward through the node computes it again).
  crossEntropyReduced: rule<{labels: Tensor; alpha: number; dlogits: Tensor | null}>((g, n) => {
    const d = n.saved.dlogits;
    if (d && !d.disposed && isUnitSeed(g)) { n.saved.dlogits = null; return [d.viewAs(d.shape)]; }
    return [xentBwdK(n.inputs[0], n.saved.labels, g, n.saved.alpha, true)];
  }),
  matmul: rule<{a3: number[]; b3: number[]}>((g, n, _out, tmp) => {
    const [a, b] = n.inputs;
    const {a3, b3} = n.saved;
    const batch = Math.max(a3[0], b3[0]);
    const g3 = [batch, a3[1], b3[2]];
    let da: Tensor | null = null, db: Tensor | null = null;
    if (needs(n, 0)) {
      // dA = G @ B^T, summed over the batch when A was shared.
      let t = ops.mm(g, g3, false, b, b3, true);
      if (a3[0] === 1 && batch > 1) t = ops.reduceAxes('sum', tmp.add(t), [0]);
      da = t.viewAsDispose(a.shape);
    }
    if (needs(n, 1)) {
      let t: Tensor;
      if (b3[0] === 1 && batch > 1 && a3[0] === batch) {
        // B shared across the batch: fold the batch into the rows, dB = A'^T @ G'.
        t = ops.mm(a, [1, batch * a3[1], a3[2]], true, g, [1, batch * a3[1], b3[2]], false);
      } else {
        t = ops.mm(a, a3, true, g, g3, false);
        if (b3[0] === 1 && batch > 1) t = ops.reduceAxes('sum', tmp.add(t), [0]);
      }
      db = t.viewAsDispose(b.shape);
    }
    return [da, db];
  }),
  linear: rule<{rows: number}>((g, n, _out, tmp) => linearGrads(g, n, tmp)),
  // relu' from the output (out > 0 exactly where the pre-activation is, NaN passing either way), then linear's.
  linearRelu: rule<{rows: number}>((g, n, out, tmp) => linearReluGrads(g, n, out, tmp)),
  conv2d: rule<{geom: Conv2dGeom; cols: Tensor | null}>((g, n) => convGrads(g, n)),
  // The pooling's gradient (the forward wrote -1 as the argmax where the relu passes nothing), then the convolution's.
  conv2dReluPool2x2: rule<{geom: Conv2dGeom; cols: Tensor | null; pool: PoolGeom; arg: Tensor}>((g, n, _out, tmp) =>
    convGrads(tmp.add(poolBwdK(g, n.saved.arg, n.saved.pool)), n)),
  maxPool2d: rule<{geom: PoolGeom; arg: Tensor | null}>((g, n) => [poolBwdK(g, n.saved.arg, n.saved.geom)]),
  // The forward wrote -1 as the argmax where the relu passes nothing: the max-pool gradient serves.
  reluMaxPool2d: rule<{geom: PoolGeom; arg: Tensor | null}>((g, n) => [poolBwdK(g, n.saved.arg, n.saved.geom)]),
  avgPool2d: rule<{geom: PoolGeom}>((g, n) => [poolBwdK(g, null, n.saved.geom)]),
  adaptiveAvgPool2d: rule<{geom: AdaptiveGeom}>((g, n) =>
    [adaptiveAvgPoolBwdK(g, n.saved.geom)]),
  // The closed form through the batch statistics; the inputs are x, then weight and bias where given.
  // The activation's gradient in the same passes, from the output (out) or recomputed from x and the bias.
  batchNormTrain: rule<{geom: BatchNormGeom; stats: Tensor; weight: boolean; bias: boolean;
    activation: BatchNormActivation}>((g, n, out, tmp) => {
      const {geom, stats, weight, bias, activation} = n.saved;
      const {dx, dweight, dbias} = batchNormTrainBwdK(n.inputs[0], g, stats, weight ? n.inputs[1] : null,
        geom, needs(n, 0), activation, out, bias ? n.inputs[weight ? 2 : 1] : null);
      const grads: Grads = [dx];
      if (weight) grads.push(needs(n, 1) ? dweight : null);
      if (bias) grads.push(needs(n, grads.length) ? dbias : null);
      for (const t of [dweight, dbias]) if (!grads.includes(t)) tmp.add(t);
      return grads;
    }),
  // -lambda * g; a tensor lambda is read from its buffer when the kernel runs (each replay).
  gradReverse: rule<{lambda: number | Tensor}>((g, n) => [reverseBwdK(g, n.saved.lambda)]),
};

/** Capsule ops (capsule.ts): each routing product's gradient is made of the other two. */
const capsuleRules = {
  squash: rule<{d: number}>((g, n) => [squashBwdK(n.inputs[0], g, n.saved.d)]),
  capsulePredict: rule<{dims: CapsDims}>((g, n) => {
    const [u, w] = n.inputs;
    return [needs(n, 0) ? predictBwdInputK(g, w, n.saved.dims) : null, needs(n, 1) ? predictBwdWeightK(g, u, n.saved.dims) : null];
  }),
  capsuleWeightedSum: rule<{dims: CapsDims}>((g, n) => {
    const [c, uhat] = n.inputs;
    return [needs(n, 0) ? agreementK(uhat, g, n.saved.dims) : null, needs(n, 1) ? outerK(c, g, n.saved.dims) : null];
  }),
  capsuleAgreement: rule<{dims: CapsDims}>((g, n) => {
    const [uhat, v] = n.inputs;
    return [needs(n, 0) ? outerK(g, v, n.saved.dims) : null, needs(n, 1) ? weightedSumK(g, uhat, n.saved.dims) : null];
  }),
  capsuleRouting: rule<{state: RoutingState}>((g, n) => [routingBackwardK(n.inputs[0], g, n.saved.state)]),
};

export const GRADIENTS = {...unaryRules, ...binaryRules, ...shapeRules, ...nnRules, ...capsuleRules};

/** Every differentiable op (the keys of the rule table). */
export type OpName = keyof typeof GRADIENTS;
/** What op P's forward saves for its rule. */
export type SavedOf<P extends OpName> = (typeof GRADIENTS)[P] extends Rule<infer S> ? S : never;
