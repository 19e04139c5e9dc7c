// Layers with PyTorch's default initialisation (kaiming_uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
import * as O from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';
import {Module} from './module.js';

let initSeed = 1;
/** Sets the seed that parameter initialisation draws from (each layer takes the next one). */
export function manualSeed(seed: number): void { initSeed = seed; }

function uniformInit(shape: number[], bound: number): Tensor {
  const r = O.rng(initSeed++ * 2654435761);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * bound;
  return O.tensor(data, shape);
}

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], bound));
    this.bias = bias ? this.param('bias', uniformInit([outFeatures], bound)) : null;
  }
  forward(x: Tensor): Tensor { return O.linear(x, this.weight, this.bias); }
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernel: number | [number, number], readonly opts: O.Conv2dOptions & {bias?: boolean} = {}) {
    super();
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : kernel;
    const bound = 1 / Math.sqrt(inChannels * kh * kw);
    this.weight = this.param('weight', uniformInit([outChannels, inChannels, kh, kw], bound));
    this.bias = opts.bias === false ? null : this.param('bias', uniformInit([outChannels], bound));
  }
  forward(x: Tensor): Tensor { return O.conv2d(x, this.weight, this.bias, this.opts); }
}

export class ReLU extends Module { forward(x: Tensor): Tensor { return O.relu(x); } }
export class Tanh extends Module { forward(x: Tensor): Tensor { return O.tanh(x); } }
export class Sigmoid extends Module { forward(x: Tensor): Tensor { return O.sigmoid(x); } }
export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) { super(); }
  forward(x: Tensor): Tensor { return O.leakyRelu(x, this.slope); }
}
export class Flatten extends Module { forward(x: Tensor): Tensor { return O.flatten(x, 1); } }
export class MaxPool2d extends Module {
  constructor(readonly kernel: number | [number, number], readonly opts: O.PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return O.maxPool2d(x, this.kernel, this.opts); }
}
export class AvgPool2d extends Module {
  constructor(readonly kernel: number | [number, number], readonly opts: O.PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return O.avgPool2d(x, this.kernel, this.opts); }
}
export class Dropout extends Module {
  constructor(readonly p = 0.5) { super(); }
  forward(x: Tensor): Tensor { return O.dropout(x, this.p, this.training); }
}

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.child(String(i), l));
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const l of this.layers) y = l.forward(y);
    return y;
  }
}

/** LeNet-5 for 28x28 inputs: conv 5x5x6, pool, conv 5x5x16, pool, FC 120, 84, classes. */
export function leNet5(channels = 1, classes = 10): Sequential {
  return new Sequential(
    new Conv2d(channels, 6, 5), new ReLU(), new MaxPool2d(2),
    new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(16 * 4 * 4, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, classes),
  );
}
