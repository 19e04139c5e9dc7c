// Optimizer base: parameter groups (own lr / weight decay), frozen and grad-less parameters skipped,
// per-step hyper-parameters passed as dynamic uniforms so a captured training step replays schedules too.
//
// Multi-tensor updates: by default each group's parameters are updated by one dispatch (a LeNet step had one per
// parameter tensor: 10 of its ~57). A kernel can bind only a few storage buffers (4 at compatibility mode's
// minimum, 12 on SwiftShader), too few for a buffer per tensor, so the update works on arenas: the optimizer's
// state (momentum, Adam's m and v) lives in one buffer per state name with a fixed slot per parameter; around the
// dispatch, each parameter and gradient is copied into a scratch arena and each parameter copied back. Copies are
// not dispatches (no pipeline, no bind group: a memcpy on CPU adapters). A table (`meta`) of the group's
// segments and of which segment each workgroup block belongs to, written once per set of parameters with
// gradients, tells the kernel where each element is (Adam: one dispatch per group and start step, see
// splitByFirstStep). Where the arenas would exceed the adapter's storage binding size, or it binds fewer than 5
// storage buffers, the optimizer updates one tensor per dispatch as before (`multiTensor = false` asks for that
// too); both compute the same f32 expressions in the same order.
import {OPTIMIZER_BLOCK, OPTIMIZER_VARIANTS} from '../graph/kernels/optimizer/index.js';
import {select} from '../graph/kernels/select.js';
import {keep, rt} from '../graph/engine.js';
import {zeros} from '../graph/ops.js';
import {empty, hostArray, type Tensor} from '../graph/tensor.js';
import {checkNumber} from './validate.js';

/**
 * Arena slots start at multiples of this many elements (256 bytes: copy and binding alignment on any adapter) and
 * span a multiple of it, so the multi-tensor kernels can update whole vec4s.
 */
const SLOT_ALIGN = 64;

/** One group's parameters with gradients this step, as the multi-tensor kernel sees them. */
export interface MultiLayout {
  /** Parameters in dispatch order with their arena offsets (elements) and sizes. */
  segments: {p: Tensor; start: number; size: number; first: number}[];
  /** Workgroup blocks (one per OPTIMIZER_BLOCK elements of each segment). */
  blocks: number;
  /** The segment table and block map (u32), see shaders/optimizer.wgsl. */
  meta: Tensor;
}

/** Options every optimizer has per parameter group: learning rate and weight decay. */
export interface GroupOptions { lr?: number; weightDecay?: number }
/** One parameter group: its tensors and its options (the optimizer's defaults overridden by the group's own). */
export interface ParamGroup<O> { params: Tensor[]; options: Required<O> }

/**
 * Work run inside every step(): `before` ahead of the update (e.g. writing a gradient the backward pass does not
 * give), `after` once every parameter is updated (e.g. a projection). Inside step(), so a captured training step
 * records them and every replay runs them again.
 */
export interface StepHooks {
  /** Runs ahead of the update. */
  before?: () => void;
  /** Runs once every parameter is updated. */
  after?: () => void;
}

/**
 * Base of the optimizers: parameter groups with their own options, one update kernel per group and step
 * (multi-tensor), frozen and gradient-less parameters skipped, and state for checkpoints. Hyper-parameters reach
 * the kernels as per-step uniforms, so a compiled step replays a schedule's learning rate too.
 */
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
    // Infinity is refused too: it turns every weight into NaN.
    checkNumber(this.constructor.name, 'lr', o.lr);
    checkNumber(this.constructor.name, 'weightDecay', o.weightDecay);
  }

  /** Sets the learning rate of every group (schedulers scale each group's base lr instead). */
  set lr(v: number) { for (const g of this.groups) g.options.lr = v; }
  get lr(): number { return this.groups[0]?.options.lr ?? 0; }

  /**
   * Update each group's parameters in one dispatch (see the top of this file); false: one dispatch per tensor.
   * Read at the first step (or state load), which fixes where the state lives for the optimizer's lifetime.
   */
  multiTensor = true;
  /** 'multi' or 'single' once decided. */
  private mode: 'multi' | 'single' | null = null;
  /** Arena offset (elements) of each parameter; the arena length. */
  private slots = new Map<Tensor, number>();
  private arenaSize = 0;
  /** Multi mode: state arenas by name, and the scratch arenas parameters and gradients are copied into. */
  private arenas: Record<string, Tensor> = {};
  private scratchArenas: {p: Tensor; g: Tensor} | null = null;
  /** Multi mode: layouts by (group, parameters with gradients, their first steps); kept while captures may use them. */
  private layouts = new Map<string, MultiLayout>();

  /**
   * True where the update depends on each parameter's own step count beyond its first step (Adam's bias
   * corrections): the parameters of a group that started at different steps (one unfrozen later) are then
   * updated by one dispatch per start step.
   */
  protected splitByFirstStep = false;

  /** Storage buffers the multi-tensor kernel binds (state arenas + parameter, gradient and meta). */
  protected multiBindings(): number { return 5; }

  /** Decides once where the state lives: arenas (one dispatch per group) or per-parameter tensors. */
  protected get multi(): boolean {
    if (this.mode) return this.mode === 'multi';
    let offset = 0;
    for (const g of this.groups) for (const p of g.params) {
      if (this.slots.has(p)) continue;
      this.slots.set(p, offset);
      offset += Math.ceil(p.size / SLOT_ALIGN) * SLOT_ALIGN;
    }
    this.arenaSize = offset;
    const r = rt();
    this.mode = select(OPTIMIZER_VARIANTS, {allowed: this.multiTensor, bytes: offset * 4, maxBinding: r.maxTensorBytes.bytes,
      bindings: this.multiBindings(), maxBindings: r.device.limits.maxStorageBuffersPerShaderStage});
    return this.mode === 'multi';
  }

  /** Per-parameter state (single mode), created zeroed on first use. */
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

  /** A state arena (multi mode), created zeroed on first use, outside any capture. */
  protected arena(name: string): Tensor {
    let a = this.arenas[name];
    if (!a) a = this.arenas[name] = rt().once(() => keep(zeros([this.arenaSize])));
    return a;
  }

  private readonly hooks: StepHooks[] = [];

  /** Runs `hooks` around every step() from now on, in the order added; returns a function that removes them. */
  onStep(hooks: StepHooks): () => void {
    const entry = {...hooks};
    this.hooks.push(entry);
    return () => {
      const i = this.hooks.indexOf(entry);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** Applies one update to every trainable parameter that has a gradient, between the step hooks. */
  step(): void {
    const hooks = [...this.hooks]; // a hook may remove itself
    for (const h of hooks) h.before?.();
    this.updateAll();
    for (const h of hooks) h.after?.();
  }

  private updateAll(): void {
    this.stepCount++;
    const r = rt();
    r.onReplay(() => { this.stepCount++; });
    const multi = this.multi;
    // A parameter listed twice has one arena slot: two segments over it would race in one dispatch.
    const seen = new Set<Tensor>();
    this.groups.forEach((g, gi) => {
      const active: Tensor[] = [];
      for (const p of g.params) {
        if (!p.requiresGrad || !p.grad) continue;
        if (p.grad.size !== p.size) throw new Error(`webgpu-transfer: ${this.constructor.name}: gradient ${p.grad.describe()} does not match parameter ${p.describe()}`);
        this.firstStepOf(p);
        if (!multi) this.update(p, p.grad, g.options);
        else if (p.size && !seen.has(p)) { seen.add(p); active.push(p); }
      }
      if (!active.length) return;
      if (!this.splitByFirstStep) { this.stepGroup(gi, active, g.options); return; }
      const byFirst = new Map<number, Tensor[]>();
      for (const p of active) {
        const f = this.firstSteps.get(p)!;
        byFirst.set(f, [...(byFirst.get(f) ?? []), p]);
      }
      for (const ps of byFirst.values()) this.stepGroup(gi, ps, g.options);
    });
  }

  /** Multi mode: copies the group's parameters and gradients into the scratch arenas, updates, copies back. */
  private stepGroup(gi: number, params: Tensor[], o: Required<O>): void {
    const r = rt();
    const l = this.layoutOf(gi, params);
    const s = this.scratchArenas ??= rt().once(() => ({p: keep(empty([this.arenaSize])), g: keep(empty([this.arenaSize]))}));
    for (const seg of l.segments) {
      r.copy(seg.p.grad!.buffer, 0, s.g.buffer, seg.start * 4, seg.size * 4);
      r.copy(seg.p.buffer, 0, s.p.buffer, seg.start * 4, seg.size * 4);
    }
    this.updateMany(l, s.p, s.g, o);
    for (const seg of l.segments) r.copy(s.p.buffer, seg.start * 4, seg.p.buffer, 0, seg.size * 4);
  }

  /** The segment table of a group's parameters with gradients, written once per distinct set. */
  private layoutOf(gi: number, params: Tensor[]): MultiLayout {
    const key = `${gi}:${params.map((p) => `${p.id}@${this.firstSteps.get(p)}`).join(',')}`;
    let l = this.layouts.get(key);
    if (l) return l;
    let blocks = 0;
    const segments = params.map((p) => {
      const seg = {p, start: this.slots.get(p)!, size: p.size, first: this.firstSteps.get(p)!, firstBlock: blocks,
        blocks: Math.ceil(p.size / OPTIMIZER_BLOCK)};
      blocks += seg.blocks;
      return seg;
    });
    const table = new Uint32Array(4 * segments.length + blocks);
    segments.forEach((seg, i) => {
      table.set([seg.start, seg.size, seg.firstBlock, seg.first], 4 * i);
      const at = 4 * segments.length + seg.firstBlock;
      table.fill(i, at, at + seg.blocks);
    });
    // Written now, outside any capture (a replay reuses it: the same parameters have gradients at every replay).
    const meta = rt().once(() => {
      const t = keep(empty([table.length], 'i32'));
      rt().write(t.buffer, table);
      return t;
    });
    l = {segments: segments.map(({p, start, size, first}) => ({p, start, size, first})), blocks, meta};
    this.layouts.set(key, l);
    return l;
  }

  protected abstract update(p: Tensor, grad: Tensor, o: Required<O>): void;

  /** One dispatch updating every segment of `l`; `params` and `grads` are the scratch arenas. */
  protected abstract updateMany(l: MultiLayout, params: Tensor, grads: Tensor, o: Required<O>): void;

  /** Names of the state a group with these options keeps per parameter (e.g. ['m', 'v']; none for plain SGD). */
  protected abstract stateNames(o: Required<O>): string[];

  /** A parameter's state tensor `name` as a new tensor (the caller disposes it), or null if it has none yet. */
  private stateCopy(p: Tensor, name: string): Tensor | null {
    let src: GPUBuffer, offset = 0;
    if (this.mode === 'multi') {
      const a = this.arenas[name];
      if (!a) return null;
      src = a.buffer;
      offset = this.slots.get(p)! * 4;
    } else {
      const s = this.state.get(p)?.[name];
      if (!s) return null;
      src = s.buffer;
    }
    const t = empty(p.shape);
    rt().copy(src, offset, t.buffer, 0, p.size * 4);
    return t;
  }

  /**
   * The state for checkpoints: per-parameter tensors keyed `<paramName>.<state>` (copies: the caller disposes
   * them) and per-parameter step counters. `names` maps parameters to their state-dict names.
   */
  stateDict(names: Map<Tensor, string>): {tensors: Map<string, Tensor>; meta: Record<string, number>} {
    const tensors = new Map<string, Tensor>();
    const meta: Record<string, number> = {stepCount: this.stepCount};
    for (const g of this.groups) for (const p of g.params) {
      const n = names.get(p);
      const first = this.firstSteps.get(p);
      // Only parameters updated at least once have state (as before the arenas: state was made at the first update).
      const kinds = this.stateNames(g.options);
      if (!n || first === undefined || !kinds.length) continue;
      for (const k of kinds) {
        const t = this.stateCopy(p, k);
        if (t) tensors.set(`${n}.${k}`, t);
      }
      meta[`${n}.first`] = first;
    }
    return {tensors, meta};
  }

  /** Restores state saved by stateDict(); values are host arrays keyed as there. */
  loadStateDict(names: Map<Tensor, string>, tensors: Map<string, {data: ArrayLike<number>}>, meta: Record<string, number>): void {
    this.stepCount = meta.stepCount ?? 0;
    const multi = this.multi;
    for (const g of this.groups) for (const p of g.params) {
      const n = names.get(p);
      if (!n) continue;
      const want = this.stateNames(g.options);
      if (!want.every((k) => tensors.has(`${n}.${k}`))) continue;
      for (const k of want) {
        const src = tensors.get(`${n}.${k}`)!;
        if (src.data.length !== p.size) throw new Error(`webgpu-transfer: optimizer state '${n}.${k}' has ${src.data.length} values, parameter has ${p.size}`);
        const data = hostArray(src.data, 'f32', `optimizer state '${n}.${k}'`);
        if (multi) rt().write(this.arena(k).buffer, data, this.slots.get(p)! * 4);
        else rt().write(this.stateOf(p, want)[k].buffer, data);
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

  /** Frees the optimizer's state (momentum, Adam's moments) and work buffers. */
  dispose(): void {
    for (const s of this.state.values()) for (const t of Object.values(s)) t.dispose();
    this.state.clear();
    for (const t of Object.values(this.arenas)) t.dispose();
    this.arenas = {};
    this.scratchArenas?.p.dispose();
    this.scratchArenas?.g.dispose();
    this.scratchArenas = null;
    for (const l of this.layouts.values()) l.meta.dispose();
    this.layouts.clear();
  }
}
