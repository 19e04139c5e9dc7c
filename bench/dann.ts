// DANN training steps for the benchmark: ours (src/transfer/dann.ts's model and loss, as Dann.loss runs them) and
// the same network and step written with TensorFlow.js ops. The paper's MNIST -> MNIST-M model (Ganin et al.
// 2016): features conv 5x5x32, ReLU, max-pool 2, conv 5x5x48, ReLU, max-pool 2; label predictor FC 100, FC 100,
// FC 10; domain classifier FC 100, FC 1 behind gradient reversal (lambda 0.5 here: a constant, the step's cost
// does not depend on it). 28x28 RGB inputs, 32 source + 32 target images per step, cross-entropy on the source
// half plus binary cross-entropy of the domain logits, SGD with momentum 0.9. bench/worker.ts calls these.
import * as wt from '../src/index.js';
import {buildMeasured, type TuneNote} from './harness.js';
import type * as TF from '@tensorflow/tfjs';

type Timer = (n: number, warm: number, f: () => Promise<unknown>) => Promise<number>;
/** Measures something more of a step after its timing (the worker's profiler kernel time). */
type After = (f: () => Promise<unknown>) => Promise<void>;
const LAMBDA = 0.5, LR = 0.01, MOMENTUM = 0.9, SIDE = 28, C = 3, CLASSES = 10;

function data(batch: number) {
  const r = wt.internals.rng(5);
  const img = () => Float32Array.from({length: batch * C * SIDE * SIDE}, () => r() - 0.5);
  return {xs: img(), xt: img(), ys: Int32Array.from({length: batch}, (_, i) => i % CLASSES)};
}

/** Our compiled DANN training step (forward + backward + SGD momentum) and its inputs; dispose() frees it all. */
export function oursDannStepBuild(batch: number): {run: () => Promise<number>; dispose: () => void} {
  wt.manualSeed(0);
  const net = new wt.transfer.DannNet(wt.transfer.dannMnistModel(C, CLASSES));
  const opt = new wt.SGD(net.parameters(), {lr: LR, momentum: MOMENTUM});
  const lambda = new wt.internals.RuntimeValue(LAMBDA, 'bench.lambda');
  const dl = wt.keep(wt.tensor(Float32Array.from({length: 2 * batch}, (_, i) => (i < batch ? 0 : 1)), [2 * batch, 1]));
  const {xs, xt, ys} = data(batch);
  const img = {shape: [batch, C, SIDE, SIDE]};
  const step = wt.compile([img, {shape: [batch], dtype: 'i32'}, img], [xs, ys, xt], (s, y, t) => wt.tidy(() => {
    const f = net.features.forward(wt.concat([s, t], 0));
    const ce = wt.crossEntropy(net.classifier.forward(wt.slice(f, [0, 0], [batch, f.shape[1]])), y);
    const bce = wt.transfer.bceWithLogits(net.domain.forward(wt.gradReverse(f, lambda.tensor)), dl);
    const loss = wt.add(ce, bce);
    loss.backward(); opt.step(); opt.zeroGrad();
    return loss;
  }));
  return {
    run: () => step.run([xs, ys, xt]).item(),
    dispose: () => { step.output.dispose(); step.dispose(); opt.dispose(); net.dispose(); dl.dispose(); },
  };
}

/** Seconds per compiled DANN training step (forward + backward + SGD momentum) of our model. */
export async function oursDannStep(batch: number, n: number, warm: number, time: Timer, after?: After,
  note?: (n: TuneNote) => void): Promise<number> {
  const s = await buildMeasured(() => oursDannStepBuild(batch), (b) => b.dispose(), note);
  try {
    const run = async () => { await s.run(); };
    const sec = await time(n, warm, run);
    await after?.(run);
    return sec;
  } finally { s.dispose(); }
}

/** The same step in TF.js ops (NHWC; gradient reversal as a custom gradient), timed the same way. */
export async function tfDannStep(tf: typeof TF, batch: number, n: number, warm: number, time: Timer): Promise<number> {
  const v = (shape: number[], std: number) => tf.variable(tf.randomNormal(shape, 0, std, 'float32', 1));
  const w1 = v([5, 5, C, 32], 0.05), b1 = v([32], 0.01), w2 = v([5, 5, 32, 48], 0.05), b2 = v([48], 0.01);
  const dense = (i: number, o: number) => [v([i, o], 0.05), v([o], 0.01)] as const;
  const cls = [dense(768, 100), dense(100, 100), dense(100, CLASSES)], dom = [dense(768, 100), dense(100, 1)];
  const {xs, xt, ys} = data(batch);
  // NCHW data as ours, transposed once to TF.js's NHWC.
  const nhwc = (a: Float32Array) => tf.transpose(tf.tensor4d(a, [batch, C, SIDE, SIDE]), [0, 2, 3, 1]);
  const x = tf.concat([nhwc(xs), nhwc(xt)], 0);
  const y = tf.oneHot(tf.tensor1d(Array.from(ys), 'int32'), CLASSES);
  const dl = tf.tensor2d(Float32Array.from({length: 2 * batch}, (_, i) => (i < batch ? 0 : 1)), [2 * batch, 1]);
  const reverse = tf.customGrad((...args) => ({
    value: tf.clone(args[0] as TF.Tensor), gradFunc: (dy: TF.Tensor) => tf.mul(dy, -LAMBDA),
  }));
  const mlp = (h: TF.Tensor, layers: (readonly [TF.Variable, TF.Variable])[]) => layers.reduce((z, [w, b], i) => {
    const o = tf.add(tf.matMul(z as TF.Tensor2D, w as TF.Tensor2D), b);
    return i < layers.length - 1 ? tf.relu(o) : o;
  }, h);
  const opt = tf.train.momentum(LR, MOMENTUM);
  const lossFn = () => {
    const h1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x as TF.Tensor4D, w1 as TF.Tensor4D, 1, 'valid'), b1)) as TF.Tensor4D, 2, 2, 'valid');
    const h2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(h1, w2 as TF.Tensor4D, 1, 'valid'), b2)) as TF.Tensor4D, 2, 2, 'valid');
    const f = tf.reshape(h2, [2 * batch, 768]);
    const logits = mlp(tf.slice(f, [0, 0], [batch, 768]), cls);
    const ce = tf.losses.softmaxCrossEntropy(y, logits);
    const d = mlp(reverse(f) as TF.Tensor, dom);
    const bce = tf.losses.sigmoidCrossEntropy(dl, d);
    return tf.add(ce, bce) as TF.Scalar;
  };
  const sec = await time(n, warm, async () => {
    const l = opt.minimize(lossFn, true)!;
    await l.data();
    l.dispose();
  });
  for (const t of [w1, b1, w2, b2, ...cls.flat(), ...dom.flat(), x, y, dl]) t.dispose();
  opt.dispose();
  return sec;
}
