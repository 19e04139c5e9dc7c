// Adam and AdamW (decoupled weight decay), as torch.optim.Adam / AdamW; one fused kernel.
import {uw} from '../graph/uniforms.js';
import type {Tensor} from '../graph/tensor.js';
import {Optimizer, type GroupOptions} from './optimizer.js';

export interface AdamOptions extends GroupOptions { beta1?: number; beta2?: number; eps?: number }

export class Adam extends Optimizer<AdamOptions> {
  protected decoupled = false;
  constructor(params: ConstructorParameters<typeof Optimizer<AdamOptions>>[0], opts: AdamOptions = {}) {
    super(params, {lr: opts.lr ?? 1e-3, weightDecay: opts.weightDecay ?? 0, beta1: opts.beta1 ?? 0.9, beta2: opts.beta2 ?? 0.999, eps: opts.eps ?? 1e-8});
  }

  protected override validate(o: Required<AdamOptions>): void {
    super.validate(o);
    if (!(o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1)) throw new Error(`webgpu-transfer: ${this.constructor.name}: betas must be in [0, 1), got ${o.beta1}, ${o.beta2}`);
    if (typeof o.eps !== 'number' || !(o.eps >= 0 && o.eps < Infinity)) throw new Error(`webgpu-transfer: ${this.constructor.name}: eps must be a finite number >= 0, got ${o.eps}`);
  }

  protected stateNames(): string[] { return ['m', 'v']; }

  protected update(p: Tensor, grad: Tensor, o: Required<AdamOptions>): void {
    const s = this.stateOf(p, ['m', 'v']);
    // The parameter's own step count t (it may have started later than the optimizer).
    const offset = this.firstStepOf(p) - 1;
    this.dispatch('adam_main', [p.buffer, grad.buffer, s.m.buffer, s.v.buffer], p.size, () => {
      const t = this.stepCount - offset;
      return uw().u(p.size).f(o.lr, o.beta1, o.beta2, o.eps, o.weightDecay).u(this.decoupled ? 1 : 0)
        .f(1 - o.beta1 ** t, 1 - o.beta2 ** t).build();
    });
  }
}

export class AdamW extends Adam {
  constructor(params: ConstructorParameters<typeof Optimizer<AdamOptions>>[0], opts: AdamOptions = {}) {
    super(params, {weightDecay: 0.01, ...opts});
    this.decoupled = true;
  }
}
