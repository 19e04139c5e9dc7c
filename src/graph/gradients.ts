// Every gradient rule in one table: op name -> (upstream gradient, node, output) -> one gradient per input
// (null where the input needs none). Rules are written with ops and kernels and run under noGrad.
// Frozen inputs (requiresGrad false) are skipped, so e.g. a frozen conv weight costs no weight-gradient kernel.
import * as K from './kernels.js';
import * as O from './ops.js';
import {empty, type Node, type Tensor} from './tensor.js';

type Rule = (g: Tensor, node: Node, out: Tensor) => (Tensor | null)[];
const needs = (n: Node, i: number) => n.inputs[i]?.requiresGrad ?? false;
const s = <T>(n: Node, key: string) => n.saved[key] as T;

/** t * k, freeing t. */
function scaled(t: Tensor, k: number): Tensor {
  const r = K.unaryK('affine', t, k, 0);
  t.dispose();
  return r;
}

/** d/dx of the unary op x -> out, times g, via fused gradient kernels where one exists. */
const unaryRules: Record<string, Rule> = {
  neg: (g) => [K.unaryK('neg', g)],
  exp: (g, _n, out) => [K.binaryK('mul', g, out)],
  log: (g, n) => [K.binaryK('div', g, n.inputs[0])],
  sqrt: (g, _n, out) => [scaled(K.binaryK('div', g, out), 0.5)],
  relu: (g, n) => [K.binaryK('reluGrad', n.inputs[0], g)],
  leakyRelu: (g, n) => [K.binaryK('leakyReluGrad', n.inputs[0], g, s<number>(n, 'alpha'))],
  sigmoid: (g, _n, out) => [K.binaryK('sigmoidGrad', out, g)],
  tanh: (g, _n, out) => [K.binaryK('tanhGrad', out, g)],
  abs: (g, n) => [K.binaryK('absGrad', n.inputs[0], g)],
  clamp: (g, n) => [K.binaryK('clampGrad', n.inputs[0], g, s<number>(n, 'alpha'), s<number>(n, 'beta'))],
  affine: (g, n) => [K.unaryK('affine', g, s<number>(n, 'alpha'), 0)],
  square: (g, n) => [scaled(K.binaryK('mul', g, n.inputs[0]), 2)],
  powScalar: (g, n) => {
    const e = s<number>(n, 'alpha');
    return [scaled(K.binaryK('mul', g, K.unaryK('powScalar', n.inputs[0], e - 1)), e)];
  },
};

const binaryRules: Record<string, Rule> = {
  add: (g, n) => [needs(n, 0) ? O.sumTo(g, n.inputs[0].shape) : null, needs(n, 1) ? O.sumTo(g, n.inputs[1].shape) : null],
  sub: (g, n) => [needs(n, 0) ? O.sumTo(g, n.inputs[0].shape) : null, needs(n, 1) ? O.sumTo(K.unaryK('neg', g), n.inputs[1].shape) : null],
  mul: (g, n) => [
    needs(n, 0) ? O.sumTo(K.binaryK('mul', g, n.inputs[1]), n.inputs[0].shape) : null,
    needs(n, 1) ? O.sumTo(K.binaryK('mul', g, n.inputs[0]), n.inputs[1].shape) : null,
  ],
  div: (g, n, out) => [
    needs(n, 0) ? O.sumTo(K.binaryK('div', g, n.inputs[1]), n.inputs[0].shape) : null,
    // d(a/b)/db = -out / b
    needs(n, 1) ? O.sumTo(K.unaryK('neg', K.binaryK('mul', g, K.binaryK('div', out, n.inputs[1]))), n.inputs[1].shape) : null,
  ],
  pow: (g, n, out) => {
    const [a, b] = n.inputs;
    return [
      // d(a^b)/da = b * a^(b-1)
      needs(n, 0) ? O.sumTo(K.binaryK('mul', g, K.binaryK('mul', b, K.binaryK('pow', a, K.unaryK('affine', b, 1, -1)))), a.shape) : null,
      needs(n, 1) ? O.sumTo(K.binaryK('mul', g, K.binaryK('mul', out, K.unaryK('log', a))), b.shape) : null,
    ];
  },
  maximum: (g, n) => {
    const m = K.binaryK('ge', n.inputs[0], n.inputs[1]);
    return [
      needs(n, 0) ? O.sumTo(K.binaryK('mul', g, m), n.inputs[0].shape) : null,
      needs(n, 1) ? O.sumTo(K.binaryK('mul', g, K.unaryK('affine', m, -1, 1)), n.inputs[1].shape) : null,
    ];
  },
  minimum: (g, n) => {
    const m = K.binaryK('ge', n.inputs[1], n.inputs[0]);
    return [
      needs(n, 0) ? O.sumTo(K.binaryK('mul', g, m), n.inputs[0].shape) : null,
      needs(n, 1) ? O.sumTo(K.binaryK('mul', g, K.unaryK('affine', m, -1, 1)), n.inputs[1].shape) : null,
    ];
  },
  where: (g, n) => {
    const [c, a, b] = n.inputs;
    const z = K.fillK(empty([1]), 0);
    return [null, needs(n, 1) ? O.sumTo(K.whereK(c, g, z), a.shape) : null, needs(n, 2) ? O.sumTo(K.whereK(c, z, g), b.shape) : null];
  },
};

/** Gradient of a reduction: broadcast g (with the reduced axes kept) back to the input shape. */
const expandBack = (g: Tensor, n: Node): Tensor => {
  const x = n.inputs[0];
  const kept = x.shape.map((d, i) => (s<number[]>(n, 'axes').includes(i) ? 1 : d));
  const gk = g.viewAs(kept);
  const e = K.expandK(gk, x.shape);
  gk.dispose();
  return e;
};

const extremum: Rule = (g, n, out) => {
  // Ties share the gradient equally.
  const x = n.inputs[0];
  const kept = x.shape.map((d, i) => (s<number[]>(n, 'axes').includes(i) ? 1 : d));
  const ov = out.viewAs(kept);
  const mask = K.binaryK('eq', x, ov);
  const count = O.reduceAxes('sum', mask, s<number[]>(n, 'axes')).viewAsDispose(kept);
  const share = K.binaryK('div', g.viewAs(kept), count);
  return [K.binaryK('mul', mask, share)];
};

const shapeRules: Record<string, Rule> = {
  sum: (g, n) => [expandBack(g, n)],
  mean: (g, n) => {
    const e = expandBack(g, n);
    const r = K.unaryK('affine', e, 1 / s<number>(n, 'count'), 0);
    e.dispose();
    return [r];
  },
  max: extremum,
  min: extremum,
  reshape: (g, n) => [g.viewAs(n.inputs[0].shape)],
  permute: (g, n) => {
    const dims = s<number[]>(n, 'dims');
    const inv = dims.map((_, i) => dims.indexOf(i));
    return [K.permuteK(g, inv)];
  },
  expand: (g, n) => [O.sumTo(g, s<number[]>(n, 'shape'))],
  slice: (g, n) => [O.padInto(g, s<number[]>(n, 'shape'), s<number[]>(n, 'starts'))],
  concat: (g, n) => {
    const axis = s<number>(n, 'axis');
    const offsets = s<number[]>(n, 'offsets');
    return n.inputs.map((t, i) => {
      if (!t.requiresGrad) return null;
      const starts = t.shape.map((_, d) => (d === axis ? offsets[i] : 0));
      const ends = t.shape.map((dd, d) => (d === axis ? offsets[i] + t.shape[axis] : dd));
      return O.slice(g, starts, ends);
    });
  },
  gather: (g, n) => {
    const x = n.inputs[0];
    return [K.scatterAddK(g, s<Tensor>(n, 'indices'), s<number>(n, 'outer'), s<number>(n, 'n'), s<number>(n, 'inner'), x.shape)];
  },
};

const nnRules: Record<string, Rule> = {
  softmax: (g, n, out) => { const [o, r, i] = s<number[]>(n, 'rows'); return [K.softmaxBwdK(out, g, o, r, i, false)]; },
  logSoftmax: (g, n, out) => { const [o, r, i] = s<number[]>(n, 'rows'); return [K.softmaxBwdK(out, g, o, r, i, true)]; },
  crossEntropyRows: (g, n) => [K.xentBwdK(n.inputs[0], s<Tensor>(n, 'labels'), g)],
  matmul: (g, n) => {
    const [a, b] = n.inputs;
    const a3 = s<number[]>(n, 'a3'), b3 = s<number[]>(n, 'b3');
    const batch = Math.max(a3[0], b3[0]);
    const g3 = [batch, a3[1], b3[2]];
    let da: Tensor | null = null, db: Tensor | null = null;
    if (needs(n, 0)) {
      // dA = G @ B^T, summed over the batch when A was shared.
      let t = O.mm(g, g3, false, b, b3, true);
      if (a3[0] === 1 && batch > 1) t = O.reduceAxes('sum', t, [0]);
      da = t.viewAsDispose(a.shape);
    }
    if (needs(n, 1)) {
      let t: Tensor;
      if (b3[0] === 1 && batch > 1 && a3[0] === batch) {
        // B shared across the batch: fold the batch into the rows, dB = A'^T @ G'.
        t = O.mm(a, [1, batch * a3[1], a3[2]], true, g, [1, batch * a3[1], b3[2]], false);
      } else {
        t = O.mm(a, a3, true, g, g3, false);
        if (b3[0] === 1 && batch > 1) t = O.reduceAxes('sum', t, [0]);
      }
      db = t.viewAsDispose(b.shape);
    }
    return [da, db];
  },
  linear: (g, n) => {
    const [x, w] = n.inputs;
    const rows = s<number>(n, 'rows');
    const [out, inp] = w.shape;
    return [
      needs(n, 0) ? O.mm(g, [1, rows, out], false, w, [1, out, inp], false).viewAsDispose(x.shape) : null,
      needs(n, 1) ? O.mm(g, [1, rows, out], true, x, [1, rows, inp], false).viewAsDispose(w.shape) : null,
      needs(n, 2) ? O.reduceAxes('sum', g.viewAs([rows, out]), [0]) : null,
    ];
  },
  conv2d: (g, n) => {
    const geom = s<K.Conv2dGeom>(n, 'geom');
    const [x, w] = n.inputs;
    return [
      needs(n, 0) ? K.conv2dBwdInputK(g, w, geom) : null,
      needs(n, 1) ? K.conv2dBwdWeightK(x, g, geom) : null,
      needs(n, 2) ? O.reduceAxes('sum', g, [0, 2, 3]) : null,
    ];
  },
  maxPool2d: (g, n) => [K.poolBwdK(g, s<Tensor>(n, 'arg'), s<K.PoolGeom>(n, 'geom'))],
  avgPool2d: (g, n) => [K.poolBwdK(g, null, s<K.PoolGeom>(n, 'geom'))],
  // -lambda * g; a tensor lambda is read from its buffer when the kernel runs (each replay).
  gradReverse: (g, n) => [K.reverseBwdK(g, s<number | Tensor>(n, 'lambda'))],
};

export const GRADIENTS: Record<string, Rule> = {...unaryRules, ...binaryRules, ...shapeRules, ...nnRules};
