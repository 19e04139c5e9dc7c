// Training a CapsNet: margin loss on the class capsules plus the down-weighted reconstruction loss of the
// label-masked decoder, as a SupervisedLoss the training loop drives (terms 'margin' and 'recon' are logged).
import * as ops from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';
import type {Module} from '../nn/module.js';
import type {RowLoss} from '../train/evaluate.js';
import type {SupervisedLoss} from '../train/supervised.js';
import {marginLoss, marginLossRows, reconstructionLoss, type MarginOptions} from './loss.js';
import {CapsNet} from './model.js';

/** Options of capsuleLoss: the margin constants and the weight of the reconstruction loss. */
export interface CapsuleLossOptions extends MarginOptions {
  /** Weight of the reconstruction loss (the paper: 0.0005 on the summed squared error); 0 skips the decoder. */
  reconstructionWeight?: number;
}

/** margin + weight * reconstruction, for a CapsNet; logits are the capsule lengths (train accuracy). */
export function capsuleLoss(o: CapsuleLossOptions = {}): SupervisedLoss {
  const weight = o.reconstructionWeight ?? 0.0005;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) {
    throw new Error(`webgpu-transfer: capsuleLoss: reconstructionWeight must be a finite number >= 0, got ${weight}`);
  }
  return (model: Module, x: Tensor, y: Tensor): {loss: Tensor; logits: Tensor; terms: Record<string, Tensor>} => {
    if (!(model instanceof CapsNet)) throw new Error('webgpu-transfer: capsuleLoss: the model must be a CapsNet');
    const {v, lengths} = model.capsules(x);
    const margin = marginLoss(lengths, y, o);
    if (weight === 0 || !model.decoder) return {loss: margin, logits: lengths, terms: {margin}};
    const recon = reconstructionLoss(model.reconstruct(v, y), x);
    return {loss: ops.add(margin, ops.mul(recon, weight)), logits: lengths, terms: {margin, recon}};
  };
}

/** The margin loss per example, for evaluation (scores are capsule lengths). */
export const marginEvalLoss = (o: MarginOptions = {}): RowLoss => (lengths, labels) => marginLossRows(lengths, labels, o);
