// Adam and AdamW (decoupled weight decay), as torch.optim.Adam / AdamW; one fused kernel.
import {adamGroupK, adamStepK} from '../graph/kernels/optimizer/index.js';
import type {Tensor} from '../graph/tensor.js';
import {Optimizer, type GroupOptions, type MultiLayout} from './optimizer.js';
import {checkNumber} from './validate.js';

/** Options of Adam and AdamW (defaults): lr (1e-3), weightDecay (0), beta1 (0.9), beta2 (0.999), eps (1e-8). */
export interface AdamOptions extends GroupOptions { beta1?: number; beta2?: number; eps?: number }

/**
 * Adam (Kingma & Ba 2015) with L2 weight decay added to the gradient, as torch.optim.Adam; each group's update is
 * one fused kernel.
 *
 * @example
 * ```ts
 * const model = wt.leNet5();
 * const opt = new wt.Adam(model.parameters(), {lr: 1e-3});
 * // Parameter groups, each with its own options: the head at 1e-3, the rest at 1e-4.
 * const head = model.get('11').parameters();
 * const body = model.parameters().filter((p) => !head.includes(p));
 * const tuned = new wt.Adam([{params: body, lr: 1e-4}, {params: head}], {lr: 1e-3});
 * ```
 */
export class Adam extends Optimizer<AdamOptions> {
  protected decoupled = false;
  constructor(params: ConstructorParameters<typeof Optimizer<AdamOptions>>[0], opts: AdamOptions = {}) {
    super(params, {lr: opts.lr ?? 1e-3, weightDecay: opts.weightDecay ?? 0, beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: opts.eps ?? 1e-8});
  }

  protected override validate(o: Required<AdamOptions>): void {
    super.validate(o);
    if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) throw new Error(`webgpu-transfer: ${this.constructor.name}: betas must be in [0, 1), got ${o.beta1}, ${o.beta2}`);
    checkNumber(this.constructor.name, 'eps', o.eps);
  }

  protected stateNames(): string[] { return ['m', 'v']; }

  protected update(p: Tensor, grad: Tensor, o: Required<AdamOptions>): void {
    const s = this.stateOf(p, ['m', 'v']);
    // The parameter's own step count t (it may have started later than the optimizer).
    const offset = this.firstStepOf(p) - 1;
    adamStepK(p.buffer, grad.buffer, s.m.buffer, s.v.buffer, p.size, () => {
      const t = this.stepCount - offset;
      return {n: p.size, lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weight_decay: o.weightDecay,
        decoupled: this.decoupled ? 1 : 0, bc1: 1 - o.beta1 ** t, bc2: 1 - o.beta2 ** t};
    });
  }

  // Parameters that started at different steps have different bias corrections: one dispatch per start step.
  protected override splitByFirstStep = true;

  protected updateMany(l: MultiLayout, params: Tensor, grads: Tensor, o: Required<AdamOptions>): void {
    // Every segment of the layout started at the same step (splitByFirstStep): one t, computed in float64.
    const offset = l.segments[0].first - 1;
    adamGroupK(params.buffer, grads.buffer, this.arena('m').buffer, l.meta.buffer, this.arena('v').buffer, l.blocks, () => {
      const t = this.stepCount - offset;
      return {blocks: l.blocks, segs: l.segments.length, lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps,
        weight_decay: o.weightDecay, decoupled: this.decoupled ? 1 : 0, bc1: 1 - o.beta1 ** t, bc2: 1 - o.beta2 ** t};
    });
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter 2019), as torch.optim.AdamW. */
export class AdamW extends Adam {
  constructor(params: ConstructorParameters<typeof Optimizer<AdamOptions>>[0], opts: AdamOptions = {}) {
    super(params, {weightDecay: 0.01, ...opts});
    this.decoupled = true;
  }
}
