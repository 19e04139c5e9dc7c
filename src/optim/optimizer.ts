// Optimizer base: parameter groups (own lr / weight decay), frozen and grad-less parameters skipped,
// per-step hyper-parameters passed as dynamic uniforms so a captured training step replays schedules too.
import {grid1d} from '../gpu/runtime.js';
import {keep, rt} from '../graph/engine.js';
import {zeros} from '../graph/ops.js';
import {SHADERS} from '../graph/shaders.js';
import {hostArray, type Tensor} from '../graph/tensor.js';

export interface GroupOptions { lr?: number; weightDecay?: number }
export interface ParamGroup<O> { params: Tensor[]; options: Required<O> }

export abstract class Optimizer<O extends GroupOptions> {
  readonly groups: ParamGroup<O>[];
  /** Steps taken (replays of a captured step count too). */
  stepCount = 0;
  protected state = new Map<Tensor, Record<string, Tensor>>();

  constructor(params: Tensor[] | ({params: Tensor[]} & Partial<O>)[], defaults: Required<O>) {
    const list = params.length && (params[0] as {__isTensor?: boolean}).__isTensor
      ? [{params: params as Tensor[]}] : (params as ({params: Tensor[]} & Partial<O>)[]);
    if (!Array.isArray(params)) throw new Error(`webgpu-transfer: ${this.constructor.name}: params must be an array of tensors or of parameter groups, got ${typeof params}`);
    this.groups = list.map((g, gi) => {
      const {params: ps, ...rest} = g;
      if (!Array.isArray(ps) || ps.some((p) => !(p as {__isTensor?: boolean})?.__isTensor)) {
        throw new Error(`webgpu-transfer: ${this.constructor.name}: parameter group ${gi}: params must be an array of tensors`);
      }
      const bad = ps.find((p) => p.dtype !== 'f32');
      if (bad) throw new Error(`webgpu-transfer: ${this.constructor.name}: parameter ${bad.describe()} is not float32`);
      const options = {...defaults} as Required<O>;
      for (const [k, v] of Object.entries(rest)) if (v !== undefined) (options as Record<string, unknown>)[k] = v;
      this.validate(options);
      return {params: ps, options};
    });
  }

  protected validate(o: Required<O>): void {
    // `!(x >= 0)` also refuses NaN and non-numbers; Infinity is refused as it turns every weight into NaN.
    const num = (k: string, v: unknown, ok: (x: number) => boolean, range: string) => {
      if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`webgpu-transfer: ${this.constructor.name}: ${k} must be ${range}, got ${v}`);
    };
    num('lr', o.lr, (x) => x >= 0, '>= 0 and finite');
    num('weightDecay', o.weightDecay, (x) => x >= 0, '>= 0 and finite');
  }

  /** Sets the learning rate of every group (schedulers scale each group's base lr instead). */
  set lr(v: number) { for (const g of this.groups) g.options.lr = v; }
  get lr(): number { return this.groups[0]?.options.lr ?? 0; }

  protected stateOf(p: Tensor, names: string[]): Record<string, Tensor> {
    let s = this.state.get(p);
    if (!s) {
      s = {};
      // Created once, outside any capture: a replayed step must not zero its own state again.
      for (const n of names) s[n] = rt().once(() => keep(zeros(p.shape)));
      this.state.set(p, s);
    }
    return s;
  }

  /** Applies one update to every trainable parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    const r = rt();
    r.onReplay(() => { this.stepCount++; });
    for (const g of this.groups) {
      for (const p of g.params) {
        if (!p.requiresGrad || !p.grad) continue;
        if (p.grad.size !== p.size) throw new Error(`webgpu-transfer: ${this.constructor.name}: gradient ${p.grad.describe()} does not match parameter ${p.describe()}`);
        this.update(p, p.grad, g.options);
      }
    }
  }

  protected abstract update(p: Tensor, grad: Tensor, o: Required<O>): void;

  protected dispatch(entry: string, buffers: GPUBuffer[], n: number, uniforms: () => ArrayBuffer): void {
    rt().dispatch({kernel: SHADERS.optimizer, entry, buffers, uniforms, workgroups: grid1d(n, 256)});
  }

  /** Names of the per-parameter state tensors this optimizer keeps (e.g. ['m', 'v']). */
  protected abstract stateNames(): string[];

  /**
   * The state for checkpoints: per-parameter tensors keyed `<paramName>.<state>` and per-parameter step
   * counters. `names` maps parameters to their state-dict names.
   */
  stateDict(names: Map<Tensor, string>): {tensors: Map<string, Tensor>; meta: Record<string, number>} {
    const tensors = new Map<string, Tensor>();
    const meta: Record<string, number> = {stepCount: this.stepCount};
    for (const [p, s] of this.state) {
      const n = names.get(p);
      if (!n) continue;
      for (const [k, t] of Object.entries(s)) tensors.set(`${n}.${k}`, t);
      const first = this.firstSteps.get(p);
      if (first !== undefined) meta[`${n}.first`] = first;
    }
    return {tensors, meta};
  }

  /** Restores state saved by stateDict(); values are host arrays keyed as there. */
  loadStateDict(names: Map<Tensor, string>, tensors: Map<string, {data: ArrayLike<number>}>, meta: Record<string, number>): void {
    this.stepCount = meta.stepCount ?? 0;
    for (const g of this.groups) for (const p of g.params) {
      const n = names.get(p);
      if (!n) continue;
      const want = this.stateNames();
      if (!want.every((k) => tensors.has(`${n}.${k}`))) continue;
      const s = this.stateOf(p, want);
      for (const k of want) {
        const src = tensors.get(`${n}.${k}`)!;
        if (src.data.length !== p.size) throw new Error(`webgpu-transfer: optimizer state '${n}.${k}' has ${src.data.length} values, parameter has ${p.size}`);
        rt().write(s[k].buffer, hostArray(src.data, 'f32', `optimizer state '${n}.${k}'`));
      }
      if (meta[`${n}.first`] !== undefined) this.firstSteps.set(p, meta[`${n}.first`]);
    }
  }

  /** The optimizer step at which each parameter was first updated (bias correction, momentum start). */
  protected firstSteps = new Map<Tensor, number>();
  protected firstStepOf(p: Tensor): number {
    if (!this.firstSteps.has(p)) this.firstSteps.set(p, this.stepCount);
    return this.firstSteps.get(p)!;
  }

  /** Frees every parameter's gradient. */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) { p.grad?.dispose(); p.grad = null; }
  }

  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
  }
}
