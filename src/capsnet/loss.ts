// The capsule losses of Sabour et al. 2017: a margin loss on the lengths of the class capsules, and the sum of
// squared errors of the reconstruction, scaled down so it does not dominate (0.0005 in the paper).
import * as ops from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';

/** Constants of the margin loss (defaults as the paper): m+ 0.9, m- 0.1, lambda 0.5. */
export interface MarginOptions { mPlus?: number; mMinus?: number; lambda?: number }

/**
 * L_k = T_k max(0, m+ - |v_k|)^2 + lambda (1 - T_k) max(0, |v_k| - m-)^2, summed over classes, mean over the batch.
 * lengths [B, J] (capsule lengths), labels int32 [B].
 */
export function marginLoss(lengths: Tensor, labels: Tensor, o: MarginOptions = {}): Tensor {
  return ops.mean(marginLossRows(lengths, labels, o));
}

/** The margin loss of each example, [B]. */
export function marginLossRows(lengths: Tensor, labels: Tensor, o: MarginOptions = {}): Tensor {
  const mPlus = o.mPlus ?? 0.9, mMinus = o.mMinus ?? 0.1, lambda = o.lambda ?? 0.5;
  for (const [k, v] of Object.entries({mPlus, mMinus, lambda})) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`webgpu-transfer: marginLoss: ${k} must be a finite number >= 0, got ${v}`);
  }
  if (lengths.rank !== 2 || labels.rank !== 1 || labels.shape[0] !== lengths.shape[0] || labels.dtype !== 'i32') {
    throw new Error(`webgpu-transfer: marginLoss: lengths must be [B, J] and labels int32 [B], got ${lengths.describe()} and ${labels.describe()}`);
  }
  const t = ops.oneHot(labels, lengths.shape[1]);
  const present = ops.square(ops.relu(ops.affine(lengths, -1, mPlus)));
  const absent = ops.square(ops.relu(ops.affine(lengths, 1, -mMinus)));
  const perClass = ops.add(ops.mul(t, present), ops.mul(ops.affine(t, -lambda, lambda), absent));
  return ops.sum(perClass, 1);
}

/** Sum over pixels of the squared error, mean over the batch: recon and target of the same shape [B, ...]. */
export function reconstructionLoss(recon: Tensor, target: Tensor): Tensor {
  if (recon.size !== target.size || recon.shape[0] !== target.shape[0]) {
    throw new Error(`webgpu-transfer: reconstructionLoss: reconstruction ${recon.describe()} and images ${target.describe()} differ in size`);
  }
  const b = recon.shape[0];
  const d = ops.sub(ops.reshape(recon, [b, recon.size / b]), ops.reshape(target, [b, target.size / b]));
  return ops.mean(ops.sum(ops.square(d), 1));
}
