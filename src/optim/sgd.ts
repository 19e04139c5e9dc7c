// SGD with momentum, dampening, Nesterov and (L2) weight decay, as torch.optim.SGD; one fused kernel.
import {empty, type Tensor} from '../graph/tensor.js';
import {keep, rt} from '../graph/engine.js';
import {sgdGroupK, sgdStepK} from '../graph/kernels/optimizer/index.js';
import {Optimizer, type GroupOptions, type MultiLayout} from './optimizer.js';
import {checkNumber} from './validate.js';

/** Options of SGD (defaults): lr (0.01), weightDecay (0, L2), momentum (0), dampening (0), nesterov (false). */
export interface SGDOptions extends GroupOptions { momentum?: number; dampening?: number; nesterov?: boolean }

/**
 * Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay, as torch.optim.SGD;
 * each group's update is one fused kernel.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: ConstructorParameters<typeof Optimizer<SGDOptions>>[0], opts: SGDOptions = {}) {
    super(params, {lr: opts.lr ?? 0.01, weightDecay: opts.weightDecay ?? 0, momentum: opts.momentum ?? 0, dampening: opts.dampening ?? 0, nesterov: opts.nesterov ?? false});
  }

  protected override validate(o: Required<SGDOptions>): void {
    super.validate(o);
    checkNumber('SGD', 'momentum', o.momentum);
    if (typeof o.dampening !== 'number' || !(o.dampening >= 0 && o.dampening <= 1)) throw new Error(`webgpu-transfer: SGD: dampening must be in [0, 1], got ${o.dampening}`);
    if (typeof o.nesterov !== 'boolean') throw new Error(`webgpu-transfer: SGD: nesterov must be a boolean, got ${JSON.stringify(o.nesterov)}`);
    if (o.nesterov && (o.momentum <= 0 || o.dampening !== 0)) throw new Error('webgpu-transfer: SGD: Nesterov momentum requires momentum > 0 and dampening 0');
  }

  protected stateNames(o: Required<SGDOptions>): string[] { return o.momentum ? ['momentum'] : []; }
  protected override multiBindings(): number { return 4; }

  private scratchTensor: Tensor | null = null;
  private scratch(): Tensor {
    // Four elements: the multi-tensor kernel binds it as vec4s.
    if (!this.scratchTensor || this.scratchTensor.disposed) this.scratchTensor = rt().once(() => keep(empty([4])));
    return this.scratchTensor;
  }

  override dispose(): void { super.dispose(); this.scratchTensor?.dispose(); }

  protected update(p: Tensor, grad: Tensor, o: Required<SGDOptions>): void {
    // Without momentum the kernel never writes its state buffer, but WebGPU forbids binding the gradient
    // as both read-only and read-write, so a one-element scratch buffer stands in.
    const buf = o.momentum ? this.stateOf(p, ['momentum']).momentum : this.scratch();
    const first = this.firstStepOf(p);
    sgdStepK(p.buffer, grad.buffer, buf.buffer, p.size, () => ({
      n: p.size, lr: o.lr, momentum: o.momentum, dampening: o.dampening, weight_decay: o.weightDecay,
      nesterov: o.nesterov ? 1 : 0, first: this.stepCount === first ? 1 : 0,
    }));
  }

  protected updateMany(l: MultiLayout, params: Tensor, grads: Tensor, o: Required<SGDOptions>): void {
    const buf = o.momentum ? this.arena('momentum') : this.scratch();
    sgdGroupK(params.buffer, grads.buffer, buf.buffer, l.meta.buffer, l.blocks, () => ({
      blocks: l.blocks, segs: l.segments.length, step: this.stepCount, lr: o.lr, momentum: o.momentum,
      dampening: o.dampening, weight_decay: o.weightDecay, nesterov: o.nesterov ? 1 : 0,
    }));
  }
}
