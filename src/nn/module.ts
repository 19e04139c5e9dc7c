// Module tree with named parameters and buffers (PyTorch-style dotted names: `features.0.weight`),
// train/eval mode, freezing of any sub-module, state dicts, and copying weights between models.
import {keep, rt} from '../graph/engine.js';
import {assign, reshape} from '../graph/ops.js';
import {fmt, hostArray, type Tensor} from '../graph/tensor.js';

/** Host-side values of one state entry (what a checkpoint file holds). */
export interface HostTensor { shape: number[]; dtype: 'f32' | 'i32'; data: Float32Array | Int32Array }

/**
 * Base of every layer and model, as torch.nn.Module: a tree of named parameters, buffers and sub-modules with
 * PyTorch's dotted names (`features.0.weight`), train/eval mode, freezing, state dicts and weight copying. A
 * subclass registers its tensors with this.param() / this.buffer() and its sub-modules with this.child(), and
 * implements forward().
 *
 * @example
 * ```ts
 * class TwoLayer extends wt.Module {
 *   fc1 = this.child('fc1', new wt.Linear(784, 128));
 *   fc2 = this.child('fc2', new wt.Linear(128, 10));
 *   forward(x: wt.Tensor): wt.Tensor { return this.fc2.forward(wt.relu(this.fc1.forward(x))); }
 * }
 * const model = new TwoLayer();
 * console.log([...model.namedParameters()].map(([name]) => name));   // fc1.weight, fc1.bias, fc2.weight, fc2.bias
 * ```
 */
export abstract class Module {
  training = true;
  protected params = new Map<string, Tensor>();
  protected buffers = new Map<string, Tensor>();
  protected children = new Map<string, Module>();

  /** The module applied to a batch x. */
  abstract forward(x: Tensor): Tensor;

  /** Registers a parameter (kept out of tidy scopes; it lives as long as the module). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.name = name;
    this.params.set(name, keep(t));
    return t;
  }

  /** Registers a non-trainable state tensor saved in the state dict (running statistics). */
  protected buffer(name: string, t: Tensor): Tensor {
    t.name = name;
    this.buffers.set(name, keep(t));
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  /** Every parameter below this module with its dotted name, in registration order. */
  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, p] of this.params) yield [prefix + n, p];
    for (const [n, c] of this.children) yield* c.namedParameters(`${prefix}${n}.`);
  }

  /** Every buffer (non-trainable state such as running statistics) below this module with its dotted name. */
  *namedBuffers(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, b] of this.buffers) yield [prefix + n, b];
    for (const [n, c] of this.children) yield* c.namedBuffers(`${prefix}${n}.`);
  }

  /** Every parameter below this module (what an optimizer takes). */
  parameters(): Tensor[] { return [...this.namedParameters()].map(([, p]) => p); }
  /** The parameters that require a gradient (not frozen). */
  trainableParameters(): Tensor[] { return this.parameters().filter((p) => p.requiresGrad); }

  /** This module (name '') and every sub-module below it with its dotted name. */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix.replace(/\.$/, ''), this];
    for (const [n, c] of this.children) yield* c.namedModules(`${prefix}${n}.`);
  }

  /** The sub-module at a dotted path ('features.0'); throws naming the missing part. */
  get(path: string): Module {
    let m: Module = this;
    for (const part of path.split('.').filter(Boolean)) {
      const c = m.children.get(part);
      if (!c) throw new Error(`webgpu-transfer: module has no child '${part}' in path '${path}' (children: ${[...m.children.keys()].join(', ') || 'none'})`);
      m = c;
    }
    return m;
  }

  /** Sets training mode (dropout active, batch norm on batch statistics) on this module and all below it. */
  train(on = true): this { for (const [, m] of this.namedModules()) m.training = on; return this; }
  /** Sets evaluation mode on this module and all below it: train(false). */
  eval(): this { return this.train(false); }

  /** Stops gradients for every parameter below this module (frozen parameters cost no gradient kernels). */
  freeze(): this { for (const p of this.parameters()) p.requiresGrad = false; return this; }
  /** Lets gradients reach every parameter below this module again. */
  unfreeze(): this { for (const p of this.parameters()) p.requiresGrad = true; return this; }

  /** Parameters and buffers by dotted name, in registration order (as PyTorch's state_dict()). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /**
   * Loads values by name. strict: every key of this module must be present and no other key may be.
   * Shapes and dtypes must agree. Values are copied into the existing tensors (identity, grads and optimizer
   * links stay). Every entry is checked before any is written, so a failed load leaves the module as it was.
   */
  loadStateDict(state: Map<string, Tensor | HostTensor>, strict = true): void {
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !state.has(k));
    const unexpected = [...state.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length || unexpected.length)) {
      // The first few of each: a file of another architecture misses hundreds.
      const few = (ks: string[]) => `${ks.slice(0, 6).join(', ')}${ks.length > 6 ? ` and ${ks.length - 6} more` : ''}`;
      // The first shared key whose shapes differ says most about another architecture's file.
      const clash = [...own].find(([k, t]) => state.has(k) && fmt(state.get(k)!.shape) !== fmt(t.shape));
      const shape = clash ? `; '${clash[0]}' has shape ${fmt(state.get(clash[0])!.shape)} in the source but ${fmt(clash[1].shape)} in the model` : '';
      throw new Error(`webgpu-transfer: loadStateDict: ${missing.length ? `missing keys: ${few(missing)}` : ''}${missing.length && unexpected.length ? '; ' : ''}${unexpected.length ? `unexpected keys: ${few(unexpected)}` : ''}${shape}`);
    }
    const writes: (() => void)[] = [];
    for (const [k, dst] of own) {
      const src = state.get(k);
      if (!src) continue;
      // A one-element [1] entry fills a scalar (older files stored num_batches_tracked as [1]; PyTorch allows it too).
      const scalarFromOne = dst.shape.length === 0 && src.shape.length === 1 && src.shape[0] === 1;
      if (!scalarFromOne && (src.shape.length !== dst.shape.length || src.shape.some((d, i) => d !== dst.shape[i]))) {
        throw new Error(`webgpu-transfer: loadStateDict: '${k}' has shape ${fmt(src.shape)} in the source but ${fmt(dst.shape)} in the model`);
      }
      if (src.dtype !== dst.dtype) {
        throw new Error(`webgpu-transfer: loadStateDict: '${k}' has dtype ${src.dtype} in the source but ${dst.dtype} in the model`);
      }
      if ((src as Tensor).__isTensor) writes.push(() => assign(dst, scalarFromOne ? reshape(src as Tensor, []) : src as Tensor));
      else {
        const data = hostArray((src as HostTensor).data, dst.dtype, `loadStateDict '${k}'`);
        writes.push(() => rt().write(dst.buffer, data));
      }
    }
    for (const w of writes) w();
  }

  /**
   * Copies the weights of `src` (a module of the same structure, e.g. the same sub-module of a source
   * model) into this one: the layer-transfer primitive.
   */
  copyFrom(src: Module): this {
    this.loadStateDict(src.stateDict(), true);
    return this;
  }

  /** Frees every parameter and buffer below this module. */
  dispose(): void { for (const t of this.stateDict().values()) t.dispose(); }
}

/**
 * Whether `l` is an instance of `cls` itself (no subclass) whose forward is the class's own (not replaced on the
 * instance): a layer that fusion may run as part of one op, where a spy or instrumentation must run as written.
 */
export const isStock = (l: Module | undefined, cls: abstract new (...args: never[]) => Module): boolean =>
  l instanceof cls && Object.getPrototypeOf(l) === cls.prototype && l.forward === cls.prototype.forward;
