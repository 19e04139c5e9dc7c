// Every gradient rule frees what it makes: an eager backward() outside tidy() leaves only the gradients alive.
// One case per op of the rule table (gradients.ts), on shapes that take each rule's awkward paths (broadcasting,
// so sumTo reduces; frozen inputs; shared matmul batches; both conv lowerings; routing with and without stops).
import {suite} from 'uvu';
import * as assert from 'uvu/assert';
import * as wt from '../src/index.js';
import {GRADIENTS, type OpName} from '../src/graph/gradients.js';

const t = suite('grad-memory');

/** A case: the tensors it makes up front (leaves and constants), and a forward that ends in the op under test. */
interface Case {
  inputs: wt.Tensor[];
  /** Outputs of the op (each summed into the loss), and outputs of it that carry no gradient (routing's couplings). */
  forward: () => {outs: wt.Tensor[]; others?: wt.Tensor[]};
}

let seed = 1;
const leaf = (shape: number[], lo = -1, hi = 1) => wt.rand(shape, {seed: seed++, lo, hi, requiresGrad: true});
const constant = (shape: number[], lo = -1, hi = 1) => wt.rand(shape, {seed: seed++, lo, hi});
const labels = (values: number[]) => wt.tensor(values, [values.length], {dtype: 'i32'});

const unary = (f: (x: wt.Tensor) => wt.Tensor, lo = -1, hi = 1): Case => {
  const x = leaf([2, 3, 5], lo, hi);
  return {inputs: [x], forward: () => ({outs: [f(x)]})};
};

/** Both sides broadcast (sumTo reduces each gradient), then equal shapes with a frozen right side. */
const binary = (f: (a: wt.Tensor, b: wt.Tensor) => wt.Tensor, lo = -1, hi = 1): Case => {
  const a = leaf([2, 1, 4], lo, hi), b = leaf([3, 1], lo, hi), c = leaf([3, 4], lo, hi), d = constant([3, 4], lo, hi);
  return {inputs: [a, b, c, d], forward: () => ({outs: [f(a, b), f(c, d)]})};
};

/** Over one axis, over two with kept dims, and over every axis. */
const reduction = (f: (x: wt.Tensor, axes?: number | number[], keepDim?: boolean) => wt.Tensor): Case => {
  const x = leaf([2, 3, 4]);
  return {inputs: [x], forward: () => ({outs: [f(x, 1), f(x, [0, 2], true), f(x)]})};
};

const withPrefs = wt.internals.withKernelPrefs;

const CASES: Record<OpName, () => Case> = {
  neg: () => unary(wt.neg),
  exp: () => unary(wt.exp),
  log: () => unary(wt.log, 0.5, 2),
  sqrt: () => unary(wt.sqrt, 0.5, 2),
  relu: () => unary(wt.relu),
  leakyRelu: () => unary((x) => wt.leakyRelu(x, 0.1)),
  sigmoid: () => unary(wt.sigmoid),
  tanh: () => unary(wt.tanh),
  abs: () => unary(wt.abs),
  clamp: () => unary((x) => wt.clamp(x, -0.5, 0.5)),
  relu6: () => unary(wt.relu6, -2, 8),
  affine: () => unary((x) => wt.internals.affine(x, 2, 1)),
  square: () => unary(wt.square),
  powScalar: () => {
    const x = leaf([2, 3], 0.5, 2);
    return {inputs: [x], forward: () => ({outs: [wt.pow(x, 3), wt.pow(x, 0)]})};
  },
  add: () => binary(wt.add),
  sub: () => binary(wt.sub),
  mul: () => binary(wt.mul),
  div: () => binary(wt.div, 0.5, 2),
  pow: () => binary(wt.pow, 0.5, 2),
  maximum: () => binary(wt.maximum),
  minimum: () => binary(wt.minimum),
  where: () => {
    const cond = wt.tensor(Array.from({length: 24}, (_, i) => i % 3 ? 0 : 1), [2, 3, 4]);
    const a = leaf([3, 1]), b = leaf([1, 4]), c = leaf([3, 4]), d = constant([3, 4]), mask = constant([3, 4]);
    return {inputs: [cond, a, b, c, d, mask], forward: () => ({outs: [wt.where(cond, a, b), wt.where(mask, c, d)]})};
  },
  sum: () => reduction(wt.sum),
  mean: () => reduction(wt.mean),
  max: () => reduction(wt.max),
  min: () => reduction(wt.min),
  reshape: () => unary((x) => wt.reshape(x, [5, -1])),
  permute: () => unary((x) => wt.permute(x, [2, 0, 1])),
  expand: () => {
    const x = leaf([3, 1]);
    return {inputs: [x], forward: () => ({outs: [wt.expand(x, [2, 3, 4]), wt.expand(x, [3, 1])]})};
  },
  slice: () => unary((x) => wt.slice(x, [0, 1, 1], [2, 3, 4])),
  concat: () => {
    const a = leaf([2, 3]), b = leaf([2, 2]), frozen = constant([2, 1]);
    return {inputs: [a, b, frozen], forward: () => ({outs: [wt.concat([a, frozen, b], 1)]})};
  },
  gather: () => {
    const x = leaf([4, 3]), rows = labels([3, 0, 3, 1, 2]), columns = labels([2, 2]);
    return {inputs: [x, rows, columns], forward: () => ({outs: [wt.gather(x, rows, 0), wt.gather(x, columns, 1)]})};
  },
  softmax: () => unary((x) => wt.softmax(x, 1)),
  logSoftmax: () => unary((x) => wt.logSoftmax(x, -1)),
  crossEntropyRows: () => {
    const logits = leaf([3, 4]), y = labels([0, 3, 1]);
    return {inputs: [logits, y], forward: () => ({outs: [wt.internals.crossEntropyRows(logits, y)]})};
  },
  crossEntropyReduced: () => {
    const logits = leaf([3, 4]), y = labels([0, 3, 1]);
    const outs = () => [wt.crossEntropy(logits, y), wt.crossEntropy(logits, y, 'sum')];
    return {inputs: [logits, y], forward: () => ({outs: outs()})};
  },
  matmul: () => {
    const a = leaf([2, 3, 4]), b = leaf([4, 5]), a2 = leaf([3, 4]), b3 = leaf([2, 4, 5]), v = leaf([4]);
    // B shared by the batch (rows folded), A shared (summed over the batch), both batched, a vector.
    const outs = () => [wt.matmul(a, b), wt.matmul(a2, b3), wt.matmul(a, b3), wt.matmul(v, b)];
    return {inputs: [a, b, a2, b3, v], forward: () => ({outs: outs()})};
  },
  linear: () => {
    const x = leaf([2, 3, 4]), w = leaf([5, 4]), b = leaf([5]);
    return {inputs: [x, w, b], forward: () => ({outs: [wt.linear(x, w, b), wt.linear(x, w)]})};
  },
  linearRelu: () => {
    const x = leaf([2, 3, 4]), w = leaf([5, 4]), b = leaf([5]);
    return {inputs: [x, w, b], forward: () => ({outs: [wt.internals.linearRelu(x, w, b), wt.internals.linearRelu(x, w)]})};
  },
  conv2d: () => {
    const x = leaf([2, 3, 6, 5]), w = leaf([4, 3, 3, 2]), bias = leaf([4]), dw = leaf([6, 1, 3, 3]), db = leaf([6]);
    const conv = (convLowering: 'gemm' | 'direct') => withPrefs({convLowering}, () => wt.conv2d(x, w, bias, {padding: 1}));
    // Grouped (depthwise, two filters per channel): its own kernels and the same rule.
    const grouped = () => wt.conv2d(x, dw, db, {padding: 1, groups: 3});
    return {inputs: [x, w, bias, dw, db], forward: () => ({outs: [conv('gemm'), conv('direct'), grouped()]})};
  },
  conv2dReluPool2x2: () => {
    const x = leaf([2, 3, 7, 9]), w = leaf([5, 3, 3, 2]), bias = leaf([5]);
    // The tile pooling in its write (CPU adapters) and the two ops apart.
    const run = (convPoolWrite: boolean) => withPrefs({convPoolWrite}, () => wt.internals.conv2dReluPool2x2(x, w, bias));
    return {inputs: [x, w, bias], forward: () => ({outs: [run(true), run(false)]})};
  },
  maxPool2d: () => unary((x) => wt.maxPool2d(wt.reshape(x, [1, 2, 3, 5]), 2, {padding: 1})),
  reluMaxPool2d: () => unary((x) => wt.internals.reluMaxPool2d(wt.reshape(x, [1, 2, 3, 5]), 2, {padding: 1})),
  avgPool2d: () => unary((x) => wt.avgPool2d(wt.reshape(x, [1, 2, 3, 5]), [2, 3], {stride: 1})),
  adaptiveAvgPool2d: () => {
    const x = leaf([2, 3, 5, 7]);
    return {inputs: [x], forward: () => ({outs: [wt.adaptiveAvgPool2d(x, [2, 3]), wt.adaptiveAvgPool2d(x, 1)]})};
  },
  batchNormTrain: () => {
    const x = leaf([2, 3, 5]), w = leaf([3]), b = leaf([3]), x4 = leaf([2, 3, 2, 4]), frozen = constant([3]);
    const rows = leaf([5, 3]);
    // Affine; vec4 planes with a frozen weight and no bias; rank 2 without affine. Mean and variance carry no graph.
    const runs = () => [wt.internals.batchNormTrain(x, w, b), wt.internals.batchNormTrain(x4, frozen, null),
      wt.internals.batchNormTrain(rows, null, null)];
    return {inputs: [x, w, b, x4, frozen, rows], forward: () => {
      const rs = runs();
      return {outs: rs.map((r) => r.y), others: rs.flatMap((r) => [r.mean, r.variance])};
    }};
  },
  gradReverse: () => {
    const x = leaf([2, 3]), lambda = wt.tensor([0.5], [1]);
    return {inputs: [x, lambda], forward: () => ({outs: [wt.gradReverse(x, 0.5), wt.gradReverse(x, lambda)]})};
  },
  squash: () => unary(wt.capsnet.squash),
  capsulePredict: () => {
    const u = leaf([2, 3, 4]), w = leaf([3, 2, 5, 4]);
    return {inputs: [u, w], forward: () => ({outs: [wt.capsnet.capsulePredict(u, w)]})};
  },
  capsuleWeightedSum: () => {
    const c = leaf([2, 3, 2]), uhat = leaf([2, 3, 2, 4]);
    return {inputs: [c, uhat], forward: () => ({outs: [wt.capsnet.capsuleWeightedSum(c, uhat)]})};
  },
  capsuleAgreement: () => {
    const uhat = leaf([2, 3, 2, 4]), v = leaf([2, 2, 4]);
    return {inputs: [uhat, v], forward: () => ({outs: [wt.capsnet.capsuleAgreement(uhat, v)]})};
  },
  capsuleRouting: () => {
    const uhat = leaf([2, 3, 2, 4]), init = constant([3, 2]);
    return {
      inputs: [uhat, init],
      forward: () => {
        const full = wt.capsnet.capsuleRouting(uhat, {iterations: 3, initialLogits: init, stopGradient: false});
        const stopped = wt.capsnet.capsuleRouting(uhat, {iterations: 2, initialLogits: null, stopGradient: true});
        return {outs: [full.v, stopped.v], others: [full.couplings, stopped.couplings]};
      },
    };
  },
};

/** Every tensor of the graph below `root` (recorded inputs, followed through their nodes), leaves excluded. */
function graphTensors(root: wt.Tensor, leaves: Set<wt.Tensor>): wt.Tensor[] {
  const seen = new Set<wt.Tensor>([root]);
  const stack = [root];
  while (stack.length) {
    for (const x of stack.pop()!.node?.inputs ?? []) {
      if (seen.has(x) || leaves.has(x)) continue;
      seen.add(x);
      stack.push(x);
    }
  }
  return [...seen];
}

const live = () => { const m = wt.memory(); return {tensors: m.liveTensors, bytes: m.liveBytes}; };

/** Forward, eager backward() outside tidy(), then the graph, the loss and the gradients disposed by hand. */
function forwardBackwardDispose(op: OpName, {inputs, forward}: Case): void {
  const {outs, others = []} = forward();
  for (const out of outs) assert.is(out.node?.op, op, `the case's output ${out.describe()} comes from '${op}'`);
  const loss = outs.map((out) => wt.sum(out)).reduce((acc, s) => wt.add(acc, s));
  loss.backward();
  for (const x of [...graphTensors(loss, new Set(inputs)), ...outs, ...others]) x.dispose();
  for (const x of inputs) {
    assert.is(!!x.grad, x.requiresGrad, `${x.describe()} has a gradient exactly when it requires one`);
    x.grad?.dispose();
    x.grad = null;
  }
}

for (const op of Object.keys(GRADIENTS) as OpName[]) {
  t(`${op}: an eager backward() outside tidy() leaves only the gradients alive`, () => {
    assert.ok(CASES[op], `no case for '${op}': add one to CASES`);
    const c = CASES[op]();
    // The first pass makes the engine's one-time objects (a placeholder binding buffer); the second is measured.
    forwardBackwardDispose(op, c);
    const before = live();
    forwardBackwardDispose(op, c);
    const after = live();
    for (const x of c.inputs) x.dispose();
    const left = {tensors: after.tensors - before.tensors, bytes: after.bytes - before.bytes};
    assert.equal(left, {tensors: 0, bytes: 0}, `'${op}' left ${left.tensors} tensors (${left.bytes} bytes) alive`);
  });
}

t('every case names an op of the rule table', () => {
  const unknown = Object.keys(CASES).filter((op) => !(op in GRADIENTS));
  assert.equal(unknown, []);
});

t.run();
