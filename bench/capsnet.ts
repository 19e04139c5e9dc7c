// CapsNet training steps for the benchmark: ours (the capsule kernels, one routing op) and the same network
// written with TensorFlow.js ops (conv2d, matMul, softmax, sum; autograd through all routing iterations), with
// the same sizes, loss (margin + 0.0005 x reconstruction, label-masked decoder) and Adam. bench/worker.ts calls
// these on each adapter.
import * as wt from '../src/index.js';
import {buildMeasured, disposeStep, type TuneNote} from './harness.js';
import type * as TF from '@tensorflow/tfjs';

type Timer = (n: number, warm: number, f: () => Promise<unknown>) => Promise<number>;
/** Measures something more of a step after its timing (the worker's profiler kernel time). */
type After = (f: () => Promise<unknown>) => Promise<void>;

/** Seconds per compiled training step (forward + backward + Adam) of our CapsNet at `batch`. */
export async function oursCapsStep(config: Partial<wt.capsnet.CapsNetConfig>, batch: number, n: number, warm: number, time: Timer,
  after?: After, note?: (n: TuneNote) => void): Promise<number> {
  wt.manualSeed(0);
  const net = new wt.capsnet.CapsNet(config);
  const side = net.config.imageSize;
  const loss = wt.capsnet.capsuleLoss();
  const opt = new wt.Adam(net.parameters(), {lr: 1e-3});
  const r = wt.internals.rng(4);
  const x = Float32Array.from({length: batch * side * side}, () => r());
  const y = Int32Array.from({length: batch}, (_, i) => i % net.config.classes);
  const step = await buildMeasured(() => wt.compile([{shape: [batch, 1, side, side]}, {shape: [batch], dtype: 'i32'}],
    [x, y], (xb, yb) => wt.tidy(() => {
      const l = (loss(net, xb, yb) as {loss: wt.Tensor}).loss;
      l.backward(); opt.step(); opt.zeroGrad();
      return l;
    })), disposeStep, note);
  const run = async () => { await step.run([x, y]).item(); };
  const s = await time(n, warm, run);
  await after?.(run);
  step.dispose();
  opt.dispose?.();
  net.dispose();
  return s;
}

/** The same step in TF.js ops (NHWC), timed the same way. */
export async function tfCapsStep(tf: typeof TF, config: Partial<wt.capsnet.CapsNetConfig>, batch: number, n: number, warm: number, time: Timer): Promise<number> {
  const c = {...wt.capsnet.CAPSNET_SMALL, ...config};
  const side = c.imageSize;
  const g1 = side - c.conv1Kernel + 1, grid = Math.floor((g1 - c.primaryKernel) / c.primaryStride) + 1;
  const N = c.primaryChannels * grid * grid, J = c.classes, O = c.digitDim, D = c.primaryDim;
  const v = (shape: number[], std: number) => tf.variable(tf.randomNormal(shape, 0, std, 'float32', 1));
  const w1 = v([c.conv1Kernel, c.conv1Kernel, 1, c.conv1Channels], 0.05), b1 = v([c.conv1Channels], 0.01);
  const w2 = v([c.primaryKernel, c.primaryKernel, c.conv1Channels, c.primaryChannels * D], 0.01), b2 = v([c.primaryChannels * D], 0.01);
  const W = v([N, J * O, D], 0.05);
  const dec = [J * O, ...c.decoder, side * side];
  const dw = dec.slice(1).map((h, i) => v([dec[i], h], 0.03)), db = dec.slice(1).map((h) => v([h], 0.01));
  const squash = (s: TF.Tensor) => {
    const n2 = tf.sum(tf.square(s), -1, true);
    return tf.mul(s, tf.div(tf.sqrt(tf.add(n2, 1e-9)), tf.add(n2, 1)));
  };
  const r = wt.internals.rng(4);
  const x = tf.tensor4d(Float32Array.from({length: batch * side * side}, () => r()), [batch, side, side, 1]);
  const labels = tf.oneHot(tf.tensor1d(Array.from({length: batch}, (_, i) => i % J), 'int32'), J);
  const opt = tf.train.adam(1e-3);
  const lossFn = () => {
    const h = tf.relu(tf.add(tf.conv2d(x, w1 as TF.Tensor4D, 1, 'valid'), b1));
    const p = tf.add(tf.conv2d(h as TF.Tensor4D, w2 as TF.Tensor4D, c.primaryStride, 'valid'), b2); // [B, g, g, P*D]
    const u = squash(tf.reshape(tf.transpose(tf.reshape(p, [batch, grid * grid, c.primaryChannels, D]), [0, 2, 1, 3]), [batch, N, D]));
    // u_hat [B, N, J, O]: per input capsule, [J*O, D] @ [D, B].
    const uhat = tf.reshape(tf.transpose(tf.matMul(W, tf.transpose(u, [1, 2, 0])), [2, 0, 1]), [batch, N, J, O]);
    let logits: TF.Tensor = tf.zeros([batch, N, J]);
    let out!: TF.Tensor;
    for (let it = 0; it < c.routingIterations; it++) {
      const cc = tf.softmax(logits, -1);
      out = squash(tf.sum(tf.mul(tf.expandDims(cc, 3), uhat), 1)); // [B, J, O]
      if (it < c.routingIterations - 1) logits = tf.add(logits, tf.sum(tf.mul(uhat, tf.expandDims(out, 1)), 3));
    }
    const len = tf.sqrt(tf.add(tf.sum(tf.square(out), -1), 1e-8));
    const margin = tf.mean(tf.sum(tf.add(tf.mul(labels, tf.square(tf.relu(tf.sub(0.9, len)))),
      tf.mul(tf.mul(tf.sub(1, labels), 0.5), tf.square(tf.relu(tf.sub(len, 0.1))))), 1));
    let z: TF.Tensor = tf.reshape(tf.mul(out, tf.expandDims(labels, 2)), [batch, J * O]);
    dw.forEach((wi, i) => { z = tf.add(tf.matMul(z as TF.Tensor2D, wi as TF.Tensor2D), db[i]); z = i < dw.length - 1 ? tf.relu(z) : tf.sigmoid(z); });
    const recon = tf.mean(tf.sum(tf.square(tf.sub(z, tf.reshape(x, [batch, side * side]))), 1));
    return tf.add(margin, tf.mul(recon, 0.0005)) as TF.Scalar;
  };
  const s = await time(n, warm, async () => {
    const l = opt.minimize(lossFn, true)!;
    await l.data();
    l.dispose();
  });
  for (const t of [w1, b1, w2, b2, W, ...dw, ...db, x, labels]) t.dispose();
  opt.dispose();
  return s;
}
