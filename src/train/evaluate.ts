// Evaluation: a captured forward pass over fixed-size batches (the last one padded, the padding ignored).
import * as wt from '../graph/ops.js';
import {noGrad, tidy} from '../graph/engine.js';
import {compile} from '../graph/capture.js';
import type {Module} from '../nn/module.js';
import type {Tensor} from '../graph/tensor.js';
import type {ImageSet} from '../data/image-set.js';

/** What evaluate() returns: mean loss, accuracy (0..1), the number of examples, and accuracy per class. */
export interface EvalResult { loss: number; accuracy: number; n: number; perClass: number[] }

const EVAL_INPUT_BYTES = 8 * 2 ** 20;

/** Per-example loss [B] of a model's outputs [B, classes] against int32 labels [B]. */
export type RowLoss = (scores: Tensor, labels: Tensor) => Tensor;
const crossEntropyRows: RowLoss = (logits, labels) => wt.crossEntropy(logits, labels, 'none');

/** Accuracy and mean loss (cross-entropy unless `rowLoss` says otherwise) of `model` over `set`. */
export async function evaluate(model: Module, set: ImageSet, batch = 256, rowLoss: RowLoss = crossEntropyRows): Promise<EvalResult> {
  const wasTraining = model.training;
  model.eval();
  const px = set.channels * set.height * set.width;
  // At most 8 MiB of input per batch: 256 MNIST digits, 13 photos of 224 px (whose activations are ~100x larger).
  const b = Math.max(1, Math.min(batch, set.n, Math.floor(EVAL_INPUT_BYTES / (4 * px))));
  const x = new Float32Array(b * px), y = new Int32Array(b);
  const step = compile([{shape: [b, set.channels, set.height, set.width]}, {shape: [b], dtype: 'i32'}], [x, y], (xb, yb) => noGrad(() => tidy(() => {
    const logits = model.forward(xb);
    return {pred: wt.argmax(logits, 1), loss: rowLoss(logits, yb)};
  })));
  let correct = 0, lossSum = 0;
  const hits = new Array(set.classes).fill(0), counts = new Array(set.classes).fill(0);
  for (let s = 0; s < set.n; s += b) {
    const m = Math.min(b, set.n - s);
    x.fill(0); y.fill(0);
    x.set(set.images.subarray(s * px, (s + m) * px));
    y.set(set.labels.subarray(s, s + m));
    const out = step.run([x, y]);
    const [pred, loss] = await Promise.all([out.pred.data(), out.loss.data()]);
    for (let i = 0; i < m; i++) {
      counts[y[i]]++;
      if (pred[i] === y[i]) { correct++; hits[y[i]]++; }
      lossSum += loss[i];
    }
  }
  step.output.pred.dispose();
  step.output.loss.dispose();
  step.dispose();
  model.train(wasTraining);
  return {loss: lossSum / set.n, accuracy: correct / set.n, n: set.n, perClass: hits.map((h, c) => (counts[c] ? h / counts[c] : NaN))};
}
