// Conservative training (the notes' second setup): fine-tuning that stays close to the source model, so that
// scarce target data neither overfits it nor makes it forget the source task.
//   - L2-SP (Li, Grandvalet and Davoine 2018): alpha/2 ||w - w_source||^2 over the transferred weights (pulled
//     towards their starting point, not towards zero) plus beta/2 ||w||^2 over the new ones.
//   - Output distillation as in Learning without Forgetting (Li and Hoiem 2016): the source model's softened
//     outputs on the target inputs are soft targets for the kept source head on the new features,
//     T^2 KL(softmax(z_source / T) || softmax(z / T)) averaged over the batch. When source and target share
//     the label space the model's own head is the source head.
// Every term is computed on the GPU inside the compiled step; the strengths are runtime values, so a ramp over
// the first steps really changes them on every replay.
import * as ops from '../graph/ops.js';
import {keep, noGrad} from '../graph/engine.js';
import type {Tensor} from '../graph/tensor.js';
import {RuntimeValue} from '../graph/value.js';
import {runLayers} from './layers.js';
import {checkInteger, checkNumber} from '../optim/validate.js';
import {FineTune, type FineTuneOptions} from './finetune.js';

/** Options of Conservative: FineTune's, plus the L2-SP and distillation strengths and their ramp. */
export interface ConservativeOptions extends FineTuneOptions {
  /** L2-SP strengths: alpha on transferred weights (towards the source), beta on new weights (towards 0). */
  l2sp?: {alpha: number; beta?: number};
  /** Distillation of the source model's outputs: weight of the KL term and temperature T (default 2). */
  distill?: {weight: number; temperature?: number};
  /** Ramp the strengths linearly from 0 over this many steps (default: full strength from the start). */
  rampSteps?: number;
}

/** Sum of a list of one-element tensors (the first if there is one). */
const total = (ts: Tensor[]): Tensor => ts.reduce((a, b) => ops.add(a, b));

/**
 * Fine-tuning that stays close to the source: L2-SP (Li et al. 2018) pulls transferred weights towards their source
 * values, and output distillation (Learning without Forgetting, Li and Hoiem 2016) keeps the source head's answers;
 * both computed on the GPU inside the compiled step.
 */
export class Conservative extends FineTune {
  private readonly anchors = new Map<Tensor, Tensor>();
  private readonly newParams: Tensor[];
  private readonly alphaHalf: RuntimeValue | null;
  private readonly betaHalf: RuntimeValue | null;
  private readonly klWeight: RuntimeValue | null;
  private readonly temperature: number;

  constructor(readonly c: ConservativeOptions) {
    super({name: 'conservative', ...c}, {trainSourceHead: !!c.distill});
    const w = this.where;
    if (!c.l2sp && !c.distill) throw new Error(`webgpu-transfer: ${w}: give l2sp and/or distill (plain fine-tuning is FineTune)`);
    checkNumber(w, 'l2sp.alpha', c.l2sp?.alpha);
    checkNumber(w, 'l2sp.beta', c.l2sp?.beta);
    checkNumber(w, 'distill.weight', c.distill?.weight);
    checkNumber(w, 'distill.temperature', c.distill?.temperature, 0, true);
    checkInteger(w, 'rampSteps', c.rampSteps);
    if (c.l2sp && !Number.isFinite(c.l2sp.alpha)) throw new Error(`webgpu-transfer: ${w}: l2sp.alpha is required with l2sp`);
    if (c.distill && !Number.isFinite(c.distill.weight)) throw new Error(`webgpu-transfer: ${w}: distill.weight is required with distill`);
    this.temperature = c.distill?.temperature ?? 2;
    // Anchors: the transferred weights as they were copied (= the source's), trainable ones only.
    const trainable = this.model.parameters().filter((p) => p.requiresGrad);
    const copied = new Set([...this.copied.flatMap((l) => l.params), ...(this.sharedHead ? [] : this.sourceHead.flatMap((m) => m.parameters()))]);
    noGrad(() => { for (const p of trainable) if (copied.has(p)) this.anchors.set(p, keep(ops.mul(p, 1))); });
    this.newParams = trainable.filter((p) => !copied.has(p));
    const ramp0 = c.rampSteps ? 0 : 1;
    this.alphaHalf = c.l2sp ? new RuntimeValue(ramp0 * c.l2sp.alpha / 2, 'l2sp.alpha/2') : null;
    this.betaHalf = c.l2sp?.beta ? new RuntimeValue(ramp0 * c.l2sp.beta / 2, 'l2sp.beta/2') : null;
    this.klWeight = c.distill ? new RuntimeValue(ramp0 * c.distill.weight, 'distill.weight') : null;
  }

  override beforeStep(step: number, totalSteps: number): void {
    super.beforeStep(step, totalSteps);
    const r = this.c.rampSteps ? Math.min(1, step / this.c.rampSteps) : 1;
    this.alphaHalf?.set(r * this.c.l2sp!.alpha / 2);
    this.betaHalf?.set(r * (this.c.l2sp!.beta ?? 0) / 2);
    this.klWeight?.set(r * this.c.distill!.weight);
  }

  protected override regularisers(x: Tensor, features: Tensor, logits: Tensor): Record<string, Tensor> {
    const terms: Record<string, Tensor> = {};
    if (this.alphaHalf) {
      const parts: Tensor[] = [];
      if (this.anchors.size) parts.push(ops.mul(total([...this.anchors].map(([p, a]) => ops.sum(ops.square(ops.sub(p, a))))), this.alphaHalf.tensor));
      if (this.betaHalf && this.newParams.length) parts.push(ops.mul(total(this.newParams.map((p) => ops.sum(ops.square(p)))), this.betaHalf.tensor));
      if (parts.length) terms.l2sp = total(parts);
    }
    if (this.klWeight) {
      const T = this.temperature;
      const student = this.sharedHead ? logits : runLayers(this.sourceHead, features);
      const target = noGrad(() => {
        const z = this.o.source.forward(x);
        const logP = ops.logSoftmax(ops.mul(z, 1 / T), 1);
        return {logP, p: ops.exp(logP)};
      });
      const logQ = ops.logSoftmax(ops.mul(student, 1 / T), 1);
      // T^2 * mean over the batch of sum_c p (log p - log q): the KL divergence, scaled as Hinton et al.
      const kl = ops.mul(ops.sum(ops.mul(target.p, ops.sub(target.logP, logQ))), T * T / x.shape[0]);
      terms.kl = ops.mul(kl, this.klWeight.tensor);
    }
    return terms;
  }

  override dispose(): void {
    super.dispose();
    for (const a of this.anchors.values()) a.dispose();
    this.anchors.clear();
    this.alphaHalf?.dispose();
    this.betaHalf?.dispose();
    this.klWeight?.dispose();
  }
}
