// SGD with momentum, dampening, Nesterov and (L2) weight decay, as torch.optim.SGD; one fused kernel.
import {uw} from '../graph/uniforms.js';
import {empty, type Tensor} from '../graph/tensor.js';
import {keep, rt} from '../graph/engine.js';
import {Optimizer, type GroupOptions} from './optimizer.js';

export interface SGDOptions extends GroupOptions { momentum?: number; dampening?: number; nesterov?: boolean }

export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ConstructorParameters<typeof Optimizer<SGDOptions>>[0], opts: SGDOptions = {}) {
    super(params, {lr: opts.lr ?? 0.01, weightDecay: opts.weightDecay ?? 0, momentum: opts.momentum ?? 0, dampening: opts.dampening ?? 0, nesterov: opts.nesterov ?? false});
  }

  protected override validate(o: Required<SGDOptions>): void {
    super.validate(o);
    if (typeof o.momentum !== 'number' || !(o.momentum >= 0 && o.momentum < Infinity)) throw new Error(`webgpu-transfer: SGD: momentum must be a finite number >= 0, got ${o.momentum}`);
    if (typeof o.dampening !== 'number' || !(o.dampening >= 0 && o.dampening <= 1)) throw new Error(`webgpu-transfer: SGD: dampening must be in [0, 1], got ${o.dampening}`);
    if (typeof o.nesterov !== 'boolean') throw new Error(`webgpu-transfer: SGD: nesterov must be a boolean, got ${JSON.stringify(o.nesterov)}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error('webgpu-transfer: SGD: Nesterov momentum requires momentum > 0 and dampening 0');
  }

  protected stateNames(): string[] { return ['momentum']; }

  private scratchTensor: Tensor | null = null;
  private scratch(): Tensor {
    if (!this.scratchTensor || this.scratchTensor.disposed) this.scratchTensor = rt().once(() => keep(empty([1])));
    return this.scratchTensor;
  }

  override dispose(): void { super.dispose(); this.scratchTensor?.dispose(); }

  protected update(p: Tensor, grad: Tensor, o: Required<SGDOptions>): void {
    // Without momentum the kernel never touches its state buffer, but WebGPU forbids binding the gradient
    // as both read-only and read-write, so a one-element scratch buffer stands in.
    const buf = o.momentum ? this.stateOf(p, ['momentum']).momentum : this.scratch();
    const first = this.firstStepOf(p);
    this.dispatch('sgd_main', [p.buffer, grad.buffer, buf.buffer], p.size, () =>
      uw().u(p.size).f(o.lr, o.momentum, o.dampening, o.weightDecay).u(o.nesterov ? 1 : 0, this.stepCount === first ? 1 : 0, 0).build());
  }
}
