// Layers with PyTorch's default initialisation (kaiming_uniform with a = sqrt(5): U(-1/sqrt(fan_in), 1/sqrt(fan_in))).
import * as ops from '../graph/ops.js';
import {noGrad, rt} from '../graph/engine.js';
import {kernelPrefs} from '../graph/kernels/prefs.js';
import type {Tensor} from '../graph/tensor.js';
import {isStock, Module} from './module.js';
import {mulberry32} from '../rng.js';

/** Layer sizes are positive integers; checked before any allocation so the error names the layer. */
function size(layer: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`webgpu-transfer: ${layer}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

let initSeed = 1;
/** Sets the seed that parameter initialisation draws from (each layer takes the next one). */
export function manualSeed(seed: number): void { initSeed = seed; }

function uniformInit(shape: number[], bound: number): Tensor {
  const r = mulberry32(initSeed++ * 2654435761);
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = (r() * 2 - 1) * bound;
  return ops.tensor(data, shape);
}

/**
 * Fully connected layer y = x W^T + b, with weight [out, in] and bias [out] (PyTorch layout and initialisation).
 */
export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    size('Linear', 'inFeatures', inFeatures);
    size('Linear', 'outFeatures', outFeatures);
    const bound = 1 / Math.sqrt(inFeatures);
    this.weight = this.param('weight', uniformInit([outFeatures, inFeatures], bound));
    this.bias = bias ? this.param('bias', uniformInit([outFeatures], bound)) : null;
  }
  forward(x: Tensor): Tensor { return ops.linear(x, this.weight, this.bias); }
}

/**
 * 2-D convolution layer over NCHW input: weight [out, in / groups, kh, kw], bias [out]; options stride, padding,
 * groups (default 1; in and out must be multiples of it, groups = in is depthwise) and bias (default true).
 * Initialised as PyTorch: U(-b, b) with b = 1 / sqrt((in / groups) * kh * kw).
 */
export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(inChannels: number, outChannels: number, kernel: number | [number, number], readonly opts: ops.Conv2dOptions & {bias?: boolean} = {}) {
    super();
    size('Conv2d', 'inChannels', inChannels);
    size('Conv2d', 'outChannels', outChannels);
    const [kh, kw] = typeof kernel === 'number' ? [kernel, kernel] : Array.isArray(kernel) ? kernel : [NaN, NaN];
    size('Conv2d', 'kernel', kh);
    size('Conv2d', 'kernel', kw);
    const groups = size('Conv2d', 'groups', opts.groups ?? 1);
    for (const [what, n] of [['inChannels', inChannels], ['outChannels', outChannels]] as const) {
      if (n % groups) throw new Error(`webgpu-transfer: Conv2d: ${what} ${n} is not divisible by groups ${groups}`);
    }
    const bound = 1 / Math.sqrt((inChannels / groups) * kh * kw);
    this.weight = this.param('weight', uniformInit([outChannels, inChannels / groups, kh, kw], bound));
    this.bias = opts.bias === false ? null : this.param('bias', uniformInit([outChannels], bound));
  }
  forward(x: Tensor): Tensor { return ops.conv2d(x, this.weight, this.bias, this.opts); }
}

/** The relu activation as a layer. */
export class ReLU extends Module { forward(x: Tensor): Tensor { return ops.relu(x); } }
/** The relu6 activation, min(max(x, 0), 6), as a layer (MobileNetV2's). */
export class ReLU6 extends Module { forward(x: Tensor): Tensor { return ops.relu6(x); } }
/** The tanh activation as a layer. */
export class Tanh extends Module { forward(x: Tensor): Tensor { return ops.tanh(x); } }
/** The sigmoid activation as a layer. */
export class Sigmoid extends Module { forward(x: Tensor): Tensor { return ops.sigmoid(x); } }
/** The leaky relu activation as a layer (negative slope default 0.01). */
export class LeakyReLU extends Module {
  constructor(readonly slope = 0.01) {
    super();
    if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`webgpu-transfer: LeakyReLU: slope must be a finite number, got ${slope}`);
  }
  forward(x: Tensor): Tensor { return ops.leakyRelu(x, this.slope); }
}
/** Flattens every dimension after the batch one: [N, ...] -> [N, rest]. */
export class Flatten extends Module { forward(x: Tensor): Tensor { return ops.flatten(x, 1); } }
/** Max pooling as a layer (kernel, and stride and padding options). */
export class MaxPool2d extends Module {
  constructor(readonly kernel: number | [number, number], readonly opts: ops.PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return ops.maxPool2d(x, this.kernel, this.opts); }
}
/** Average pooling as a layer (kernel, and stride and padding options). */
export class AvgPool2d extends Module {
  constructor(readonly kernel: number | [number, number], readonly opts: ops.PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return ops.avgPool2d(x, this.kernel, this.opts); }
}
/**
 * Adaptive average pooling as a layer: any H x W input to `outputSize` (a number or [oh, ow]) bins; 1 is global
 * average pooling, as torchvision's ResNets end.
 */
export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: ops.AdaptiveSize) {
    super();
    const o = typeof outputSize === 'number' ? [outputSize, outputSize] : outputSize;
    if (!Array.isArray(o) || o.length !== 2) {
      const got = JSON.stringify(outputSize);
      throw new Error(`webgpu-transfer: AdaptiveAvgPool2d: outputSize must be a positive integer or a pair of them, got ${got}`);
    }
    o.forEach((d) => size('AdaptiveAvgPool2d', 'outputSize', d));
  }
  forward(x: Tensor): Tensor { return ops.adaptiveAvgPool2d(x, this.outputSize); }
}
/** Inverted dropout with probability p (default 0.5) in training mode; identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(typeof p === 'number' && p >= 0 && p < 1)) throw new Error(`webgpu-transfer: Dropout: p must be in [0, 1), got ${p}`);
  }
  forward(x: Tensor): Tensor { return ops.dropout(x, this.p, this.training); }
}

/**
 * Layers run in order; sub-modules are named by position ('0', '1', ...), as torch.nn.Sequential. Neighbouring
 * stock ReLU and MaxPool2d, Linear then ReLU, and BatchNorm2d then ReLU or ReLU6, run as one fused op each (see
 * `fuse`).
 *
 * @example
 * ```ts
 * const mlp = new wt.Sequential(new wt.Flatten(), new wt.Linear(784, 64), new wt.ReLU(), new wt.Linear(64, 10));
 * const logits = mlp.forward(wt.zeros([32, 1, 28, 28]));   // f32[32, 10]
 * ```
 */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((l, i) => this.child(String(i), l));
  }
  /**
   * Set by fuse(): runs Conv2d, ReLU and MaxPool2d(2) as one conv2dReluPool2x2 (on llvmpipe the convolution's tile
   * pools in its write), ReLU next to MaxPool2d (either order: max pooling commutes with relu) as one reluMaxPool2d,
   * which writes neither the relu's full-size output nor runs its backward; Linear then ReLU as one linearRelu (bias
   * and relu in the product's output write); Conv2d then BatchNorm2d on running statistics as one convolution;
   * BatchNorm2d then ReLU or ReLU6 as one batchNormTrain with the activation (forwardActivated). The same values and
   * gradients. Only for the stock layers (a subclass, or an instance whose forward was replaced, runs
   * as written). false (as built): every layer runs alone.
   */
  fused = false;

  forward(x: Tensor): Tensor {
    let y = x;
    const layers = this.layers;
    for (let i = 0; i < layers.length; i++) {
      const triple = this.fused ? fusedTriple(layers[i], layers[i + 1], layers[i + 2]) : null;
      if (triple) {
        y = triple(y);
        i += 2;
        continue;
      }
      const pair = this.fused ? fusedPair(layers[i], layers[i + 1]) : null;
      if (pair) {
        y = pair(y);
        i++;
      } else {
        y = layers[i].forward(y);
      }
    }
    return y;
  }
}

const activated = (y: Tensor, activation: ops.BatchNormActivation): Tensor =>
  activation === 'relu' ? ops.relu(y) : activation === 'relu6' ? ops.relu6(y) : y;

/** A 2x2 window, stride 2, no padding: the pooling conv2dReluPool2x2 runs. */
const pools2x2 = (p: MaxPool2d): boolean => {
  const both = (v: unknown, n: number) => v === n || (Array.isArray(v) && v.length === 2 && v[0] === n && v[1] === n);
  // As maxPool2d reads them: the stride defaults to the kernel, the padding to 0.
  return both(p.kernel, 2) && both(p.opts.stride ?? p.kernel, 2) && both(p.opts.padding ?? 0, 0);
};

/** One op for a stock Conv2d, then ReLU and MaxPool2d(2) in either order: conv2dReluPool2x2; else null. */
function fusedTriple(a: Module, b: Module | undefined, c: Module | undefined): ((x: Tensor) => Tensor) | null {
  if (!isStock(a, Conv2d)) return null;
  const pool = isStock(b, ReLU) && isStock(c, MaxPool2d) ? c as MaxPool2d
    : isStock(b, MaxPool2d) && isStock(c, ReLU) ? b as MaxPool2d : null;
  if (!pool || !pools2x2(pool)) return null;
  const conv = a as Conv2d;
  return (x) => ops.conv2dReluPool2x2(x, conv.weight, conv.bias, conv.opts);
}

/**
 * One op for two neighbouring stock layers (ReLU and MaxPool2d in either order; Linear then ReLU; Conv2d then a
 * BatchNorm2d on running statistics; BatchNorm2d then ReLU or ReLU6), else null.
 */
function fusedPair(a: Module, b: Module | undefined): ((x: Tensor) => Tensor) | null {
  const pool = isStock(a, ReLU) && isStock(b, MaxPool2d) ? b as MaxPool2d
    : isStock(a, MaxPool2d) && isStock(b, ReLU) ? a as MaxPool2d : null;
  if (pool) return (x) => ops.reluMaxPool2d(x, pool.kernel, pool.opts);
  if (isStock(a, Linear) && isStock(b, ReLU)) return (x) => ops.linearRelu(x, (a as Linear).weight, (a as Linear).bias);
  if (isStock(a, Conv2d) && isStock(b, BatchNorm2d) && (b as BatchNorm2d).usesRunningStats) {
    return (x) => convWithRunningNorm(a as Conv2d, b as BatchNorm2d, x);
  }
  if (isStock(a, BatchNorm2d) && (isStock(b, ReLU) || isStock(b, ReLU6))) {
    return (x) => (a as BatchNorm2d).forwardActivated(x, b instanceof ReLU6 ? 'relu6' : 'relu');
  }
  return null;
}

/** A module whose forward can run neighbouring layers as one op (Sequential, ResNet's blocks); see fuse(). */
export interface Fusable { fused: boolean }
const fusable = (m: Module): m is Module & Fusable => typeof (m as Partial<Fusable>).fused === 'boolean';

/**
 * Fuses the model in place, as torch's fuse_modules: every Sequential and block in it runs its neighbouring stock
 * layers as one op (Conv2d with ReLU and a 2x2 MaxPool2d, ReLU with MaxPool2d, Linear with ReLU, Conv2d with a
 * BatchNorm2d on running statistics, BatchNorm2d with ReLU or ReLU6). The same
 * parameters, names, values and gradients, fewer passes. `on` false undoes it. The model factories (leNet5,
 * models.resnet18, ...) return fused models; a Sequential built by hand runs layer by layer until fused.
 *
 * @example
 * ```ts
 * const mlp = wt.nn.fuse(new wt.Sequential(new wt.Flatten(), new wt.Linear(784, 64), new wt.ReLU(), new wt.Linear(64, 10)));
 * ```
 */
export function fuse<M extends Module>(model: M, on = true): M {
  for (const [, m] of model.namedModules()) if (fusable(m)) m.fused = on;
  return model;
}

/**
 * conv then batch norm on running statistics, as one convolution: the weights scaled per output channel and the
 * shift as its bias. The same function of x, weights and norm parameters (gradients reach all of them), one pass.
 */
export function convWithRunningNorm(conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor {
  const {scale, shift} = bn.runningAffine();
  const w = ops.mul(conv.weight, ops.reshape(scale, [scale.shape[0], 1, 1, 1]));
  const bias = conv.bias ? ops.add(ops.mul(conv.bias, scale), shift) : shift;
  return ops.conv2d(x, w, bias, conv.opts);
}

/** LeNet-5 for 28x28 inputs: conv 5x5x6, pool, conv 5x5x16, pool, FC 120, 84, classes; fused (fuse()). */
export function leNet5(channels = 1, classes = 10): Sequential {
  return fuse(new Sequential(
    new Conv2d(channels, 6, 5), new ReLU(), new MaxPool2d(2),
    new Conv2d(6, 16, 5), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(16 * 4 * 4, 120), new ReLU(), new Linear(120, 84), new ReLU(), new Linear(84, classes),
  ));
}

/**
 * Batch normalisation over the channel axis 1 of [N, C] / [N, C, L] (1d) or [N, C, H, W] (2d), as PyTorch:
 * batch statistics in training (biased variance to normalise, unbiased for the running estimate),
 * running statistics in eval. Buffers: running_mean, running_var, num_batches_tracked.
 */
export class BatchNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor;
  runningVar: Tensor;
  numBatchesTracked: Tensor;
  /**
   * Frozen statistics: normalise with the running statistics and leave them unchanged even in training mode (the
   * usual choice when fine-tuning with small batches); train()/eval() do not change it.
   */
  frozenStats = false;
  private batches = 0;

  constructor(readonly numFeatures: number, readonly ranks: number[], readonly opts: {eps?: number; momentum?: number; affine?: boolean} = {}) {
    super();
    size(this.constructor.name, 'numFeatures', numFeatures);
    const eps = opts.eps ?? 1e-5, momentum = opts.momentum ?? 0.1;
    if (!(eps > 0 && Number.isFinite(eps))) throw new Error(`webgpu-transfer: ${this.constructor.name}: eps must be > 0, got ${eps}`);
    if (!(momentum >= 0 && momentum <= 1)) throw new Error(`webgpu-transfer: ${this.constructor.name}: momentum must be in [0, 1], got ${momentum}`);
    const affine = opts.affine ?? true;
    this.weight = affine ? this.param('weight', ops.ones([numFeatures])) : null;
    this.bias = affine ? this.param('bias', ops.zeros([numFeatures])) : null;
    this.runningMean = this.buffer('running_mean', ops.zeros([numFeatures]));
    this.runningVar = this.buffer('running_var', ops.ones([numFeatures]));
    this.numBatchesTracked = this.buffer('num_batches_tracked', ops.zeros([], {dtype: 'i32'}));
  }

  forward(x: Tensor): Tensor { return this.forwardActivated(x, 'none'); }

  /**
   * forward(x) then relu or relu6, as one op where the batch statistics run in fused kernels (training mode,
   * kernelPrefs.fusedBatchNorm): the activation in the normalising pass and its gradient in the backward's. fuse()
   * runs a stock BatchNorm followed by a stock ReLU or ReLU6 so.
   */
  forwardActivated(x: Tensor, activation: ops.BatchNormActivation): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(x.rank) || x.shape[1] !== this.numFeatures) {
      throw new Error(`webgpu-transfer: ${name}(${this.numFeatures}): expected input of rank ${this.ranks.join(' or ')} with ${this.numFeatures} channels at axis 1, got ${x.describe()}`);
    }
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    const bshape = x.shape.map((d, i) => (i === 1 ? d : 1));
    const eps = this.opts.eps ?? 1e-5, momentum = this.opts.momentum ?? 0.1;
    if (this.training && !this.frozenStats) {
      const count = axes.reduce((a, i) => a * x.shape[i], 1);
      if (count < 2) throw new Error(`webgpu-transfer: ${name}: training needs more than one value per channel, got input ${x.describe()}`);
      const fused = kernelPrefs.fusedBatchNorm;
      const {y, mean, variance} = fused ? ops.batchNormTrain(x, this.weight, this.bias, eps, activation)
        : this.composedBatchNorm(x, axes, bshape, eps);
      // running = (1 - momentum) * running + momentum * batch (unbiased variance), in place: one dispatch.
      noGrad(() => ops.batchNormRunningUpdate(this.runningMean, this.runningVar, mean, variance, momentum, count));
      this.batches++;
      rt().onReplay(() => { this.batches++; });
      return fused ? y : activated(y, activation);
    }
    // Running statistics do not require grad, so gradients reach x (and the affine parameters) only.
    const centred = ops.sub(x, ops.reshape(this.runningMean, bshape));
    const y = this.scaleShift(ops.div(centred, ops.sqrt(ops.add(ops.reshape(this.runningVar, bshape), eps))), bshape);
    return activated(y, activation);
  }

  /** Training mode composed of generic ops (kernelPrefs.fusedBatchNorm false): batch mean and biased variance. */
  private composedBatchNorm(x: Tensor, axes: number[], bshape: number[], eps: number): ops.BatchNormTrainResult {
    const mean = ops.mean(x, axes, true);
    const xc = ops.sub(x, mean);
    const variance = ops.mean(ops.square(xc), axes, true);
    return {y: this.scaleShift(ops.div(xc, ops.sqrt(ops.add(variance, eps))), bshape), mean, variance};
  }

  /** y * weight + bias per channel, where the layer has them. */
  private scaleShift(y: Tensor, bshape: number[]): Tensor {
    if (!this.weight || !this.bias) return y;
    return ops.add(ops.mul(y, ops.reshape(this.weight, bshape)), ops.reshape(this.bias, bshape));
  }

  /** Whether forward normalises with the running statistics (eval mode, or frozen statistics). */
  get usesRunningStats(): boolean { return !this.training || this.frozenStats; }

  /**
   * The running-statistics normalisation as a per-channel affine map y = x * scale + shift ([C] each), with
   * gradients to weight and bias: what a preceding convolution can absorb.
   */
  runningAffine(): {scale: Tensor; shift: Tensor} {
    const eps = this.opts.eps ?? 1e-5;
    let scale = ops.div(ops.ones([this.numFeatures]), ops.sqrt(ops.add(this.runningVar, eps)));
    if (this.weight) scale = ops.mul(scale, this.weight);
    let shift = ops.neg(ops.mul(this.runningMean, scale));
    if (this.bias) shift = ops.add(shift, this.bias);
    return {scale, shift};
  }

  /** Writes the host-side batch counter into num_batches_tracked (done before saving). */
  syncCounters(): void { rt().write(this.numBatchesTracked.buffer, Int32Array.of(this.batches)); }
  /** Reads num_batches_tracked back into the host counter (done after loading). */
  async loadCounters(): Promise<void> { this.batches = (await this.numBatchesTracked.data())[0]; }
}
/**
 * Batch normalisation of [N, C] or [N, C, L] input over channel axis 1 (eps 1e-5, momentum 0.1, affine by default).
 */
export class BatchNorm1d extends BatchNorm {
  constructor(numFeatures: number, opts: {eps?: number; momentum?: number; affine?: boolean} = {}) { super(numFeatures, [2, 3], opts); }
}
/** Batch normalisation of [N, C, H, W] input over channel axis 1 (eps 1e-5, momentum 0.1, affine by default). */
export class BatchNorm2d extends BatchNorm {
  constructor(numFeatures: number, opts: {eps?: number; momentum?: number; affine?: boolean} = {}) { super(numFeatures, [4], opts); }
}
