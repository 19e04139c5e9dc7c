// Module tree with named parameters (PyTorch-style dotted names: `features.0.weight`), train/eval mode,
// and freezing of any sub-module.
import {keep} from '../graph/engine.js';
import type {Tensor} from '../graph/tensor.js';

export abstract class Module {
  training = true;
  protected params = new Map<string, Tensor>();
  protected children = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a parameter (kept out of tidy scopes; it lives as long as the module). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    t.name = name;
    this.params.set(name, keep(t));
    return t;
  }

  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  *namedParameters(prefix = ''): Generator<[string, Tensor]> {
    for (const [n, p] of this.params) yield [prefix + n, p];
    for (const [n, c] of this.children) yield* c.namedParameters(`${prefix}${n}.`);
  }

  parameters(): Tensor[] { return [...this.namedParameters()].map(([, p]) => p); }

  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix.replace(/\.$/, ''), this];
    for (const [n, c] of this.children) yield* c.namedModules(`${prefix}${n}.`);
  }

  train(on = true): this { for (const [, m] of this.namedModules()) m.training = on; return this; }
  eval(): this { return this.train(false); }

  /** Stops gradients for every parameter below this module (frozen parameters cost no gradient kernels). */
  freeze(): this { for (const p of this.parameters()) p.requiresGrad = false; return this; }
  unfreeze(): this { for (const p of this.parameters()) p.requiresGrad = true; return this; }

  dispose(): void { for (const p of this.parameters()) p.dispose(); }
}
