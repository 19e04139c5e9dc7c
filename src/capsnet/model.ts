// CapsNet (Sabour, Frosst & Hinton 2017): Conv1 -> PrimaryCaps (a convolution whose channels are grouped into
// capsule vectors, squashed) -> DigitCaps (one prediction W_ij u_i per pair, routing by agreement) -> class
// capsules whose lengths are the class probabilities; a decoder reconstructs the image from the class capsules,
// masked by the label in training and by the longest capsule at test time. Parameter names follow PyTorch
// conventions (conv1.weight, primary.conv.weight, digit.weight, decoder.0.weight), so checkpoints load anywhere.
import {capsulePredict, squash} from '../graph/capsule.js';
import {noGrad} from '../graph/engine.js';
import * as ops from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';
import {Conv2d, fuse, Linear, ReLU, Sequential, Sigmoid} from '../nn/layers.js';
import {Module} from '../nn/module.js';
import {capsuleLengths, dynamicRouting} from './routing.js';

/** A CapsNet's structure: input, Conv1, PrimaryCaps and class-capsule sizes, routing, decoder, initialisation. */
export interface CapsNetConfig {
  channels: number;
  /** Square input images of this side. */
  imageSize: number;
  classes: number;
  conv1Channels: number;
  conv1Kernel: number;
  /** Capsule channels of PrimaryCaps (32 in the paper), each a grid of primaryDim-D capsules. */
  primaryChannels: number;
  primaryDim: number;
  primaryKernel: number;
  primaryStride: number;
  /** Dimension of the class capsules (16). */
  digitDim: number;
  routingIterations: number;
  /** 'zero' (the paper) or 'random' (fixed random starting logits, as the lecture notes draw them). */
  routingInit: 'zero' | 'random';
  /** Stop gradients through the coupling coefficients. */
  stopRoutingGradient: boolean;
  /** Hidden sizes of the reconstruction decoder ([] for none). */
  decoder: number[];
  /** Standard deviation of the DigitCaps weights' normal initialisation. */
  weightStd: number;
  seed: number;
}

/** The paper's MNIST network: Conv1 256@9x9, 32 channels of 8-D primary capsules @9x9 stride 2, 10 x 16-D. */
export const CAPSNET_PAPER: CapsNetConfig = {
  channels: 1, imageSize: 28, classes: 10, conv1Channels: 256, conv1Kernel: 9, primaryChannels: 32, primaryDim: 8,
  primaryKernel: 9, primaryStride: 2, digitDim: 16, routingIterations: 3, routingInit: 'zero', stopRoutingGradient: false,
  decoder: [512, 1024], weightStd: 0.05, seed: 1,
};

/** A small configuration that trains in minutes on a CPU adapter (the same structure, fewer channels). */
export const CAPSNET_SMALL: CapsNetConfig = {...CAPSNET_PAPER, conv1Channels: 32, primaryChannels: 8};

/** What CapsNet.capsules() returns: primary capsules, class capsules, their lengths and the last couplings. */
export interface CapsuleOutputs {
  /** Primary capsules [B, N, D]. */
  primary: Tensor;
  /** Class capsules [B, J, O]. */
  v: Tensor;
  /** Their lengths [B, J]. */
  lengths: Tensor;
  /** Couplings of the last routing iteration [B, N, J]. */
  couplings: Tensor;
}

function positiveInt(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new Error(`webgpu-transfer: CapsNet: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Checks a configuration and returns the PrimaryCaps grid side. */
export function checkConfig(c: CapsNetConfig): number {
  for (const k of ['channels', 'imageSize', 'classes', 'conv1Channels', 'conv1Kernel', 'primaryChannels', 'primaryDim',
    'primaryKernel', 'primaryStride', 'digitDim', 'routingIterations'] as const) positiveInt(k, c[k]);
  if (c.routingInit !== 'zero' && c.routingInit !== 'random') throw new Error(`webgpu-transfer: CapsNet: routingInit must be 'zero' or 'random', got ${JSON.stringify(c.routingInit)}`);
  if (!Array.isArray(c.decoder)) throw new Error('webgpu-transfer: CapsNet: decoder must be an array of hidden sizes ([] for none)');
  c.decoder.forEach((h, i) => positiveInt(`decoder[${i}]`, h));
  const afterConv1 = c.imageSize - c.conv1Kernel + 1;
  const grid = Math.floor((afterConv1 - c.primaryKernel) / c.primaryStride) + 1;
  if (afterConv1 < 1 || grid < 1) {
    throw new Error(`webgpu-transfer: CapsNet: ${c.imageSize}x${c.imageSize} images are too small for conv1 ${c.conv1Kernel}x${c.conv1Kernel} then primary ${c.primaryKernel}x${c.primaryKernel} stride ${c.primaryStride}`);
  }
  return grid;
}

/**
 * The primary capsule layer: a convolution whose output channels are grouped into capsule vectors of `dim`
 * components, squashed.
 */
export class PrimaryCaps extends Module {
  readonly conv: Conv2d;
  constructor(inChannels: number, readonly capsChannels: number, readonly dim: number, kernel: number, stride: number) {
    super();
    this.conv = this.child('conv', new Conv2d(inChannels, capsChannels * dim, kernel, {stride}));
  }
  /** [B, C, H, W] -> capsules [B, capsChannels * H' * W', dim], squashed. */
  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    const [b, , h, w] = y.shape;
    // Channel k * dim + d of the convolution is component d of capsule channel k (the paper's code's grouping).
    const caps = ops.permute(ops.reshape(y, [b, this.capsChannels, this.dim, h * w]), [0, 1, 3, 2]);
    return squash(ops.reshape(caps, [b, this.capsChannels * h * w, this.dim]));
  }
}

/**
 * The class-capsule layer: a prediction W_ij u_i for every pair of input capsule i and class j, combined by routing
 * by agreement.
 */
export class DigitCaps extends Module {
  readonly weight: Tensor;
  readonly initialLogits: Tensor | null;
  constructor(readonly inCaps: number, readonly inDim: number, readonly outCaps: number, readonly outDim: number, readonly c: CapsNetConfig) {
    super();
    this.weight = this.param('weight', ops.randn([inCaps, outCaps, outDim, inDim], {seed: c.seed * 7919 + 1, std: c.weightStd}));
    // Not a parameter: fixed random starting logits (as the notes draw them), saved with the model so a checkpoint
    // routes the same way whatever seed the loading model was built with.
    this.initialLogits = c.routingInit === 'random' ? this.buffer('initial_logits', noGrad(() => ops.randn([inCaps, outCaps], {seed: c.seed * 7919 + 2}))) : null;
  }
  /** Primary capsules [B, N, D] -> class capsules and couplings. */
  route(u: Tensor, iterations = this.c.routingIterations): {v: Tensor; couplings: Tensor} {
    const uhat = capsulePredict(u, this.weight);
    return dynamicRouting(uhat, {iterations, initialLogits: this.initialLogits, stopGradient: this.c.stopRoutingGradient});
  }
  forward(u: Tensor): Tensor { return this.route(u).v; }
}

/**
 * CapsNet (Sabour, Frosst & Hinton 2017): Conv1, PrimaryCaps, DigitCaps with routing by agreement, and a decoder
 * that reconstructs the image from the class capsules. forward() returns the class-capsule lengths [B, classes],
 * usable as scores. Defaults to CAPSNET_SMALL; CAPSNET_PAPER is the paper's network.
 *
 * @example
 * ```ts
 * const net = new wt.capsnet.CapsNet({routingIterations: 3});
 * const strategy = new wt.Supervised({model: net, optimizer: new wt.Adam(net.parameters()),
 *   loader: new wt.DataLoader(train, {batch: 64, shift: 2}), loss: wt.capsnet.capsuleLoss(),
 *   evalLoss: wt.capsnet.marginEvalLoss(), test});
 * await new wt.TrainingLoop(strategy, {steps: 300}).fit();
 * const {lengths} = net.capsules(images);   // [B, 10]: the probability of each digit
 * ```
 */
export class CapsNet extends Module {
  readonly config: CapsNetConfig;
  readonly conv1: Conv2d;
  readonly primary: PrimaryCaps;
  readonly digit: DigitCaps;
  readonly decoder: Sequential | null;
  /** Routing iterations at run time (change it between calls; compiled steps keep the count they were built with). */
  iterations: number;

  constructor(config: Partial<CapsNetConfig> = {}) {
    super();
    const c = this.config = {...CAPSNET_SMALL, ...config};
    const grid = checkConfig(c);
    this.iterations = c.routingIterations;
    this.conv1 = this.child('conv1', new Conv2d(c.channels, c.conv1Channels, c.conv1Kernel));
    this.primary = this.child('primary', new PrimaryCaps(c.conv1Channels, c.primaryChannels, c.primaryDim, c.primaryKernel, c.primaryStride));
    this.digit = this.child('digit', new DigitCaps(c.primaryChannels * grid * grid, c.primaryDim, c.classes, c.digitDim, c));
    const sizes = [c.classes * c.digitDim, ...c.decoder];
    const layers: Module[] = [];
    for (let i = 1; i < sizes.length; i++) layers.push(new Linear(sizes[i - 1], sizes[i]), new ReLU());
    if (sizes.length > 1) layers.push(new Linear(sizes[sizes.length - 1], c.channels * c.imageSize * c.imageSize), new Sigmoid());
    this.decoder = layers.length ? this.child('decoder', fuse(new Sequential(...layers))) : null;
  }

  /**
   * Runs the network on images [B, C, H, W] and returns primary capsules, class capsules, their lengths and
   * couplings.
   */
  capsules(x: Tensor): CapsuleOutputs {
    const c = this.config;
    if (x.rank !== 4 || x.shape[1] !== c.channels || x.shape[2] !== c.imageSize || x.shape[3] !== c.imageSize) {
      throw new Error(`webgpu-transfer: CapsNet: input ${x.describe()} must be [B, ${c.channels}, ${c.imageSize}, ${c.imageSize}]`);
    }
    const primary = this.primary.forward(ops.relu(this.conv1.forward(x)));
    const {v, couplings} = this.digit.route(primary, this.iterations);
    return {primary, v, lengths: capsuleLengths(v), couplings};
  }

  /** Class-capsule lengths [B, classes]: usable as scores (argmax is the prediction). */
  forward(x: Tensor): Tensor { return this.capsules(x).lengths; }

  /**
   * Decodes class capsules v [B, J, O] into images [B, C, H, W], keeping only the capsule of `classes` (int32 [B]:
   * the labels in training) or, when absent, the longest one (test time).
   */
  reconstruct(v: Tensor, classes?: Tensor | null): Tensor {
    if (!this.decoder) throw new Error('webgpu-transfer: CapsNet: this configuration has no decoder (decoder: [])');
    const c = this.config;
    const [b, j, o] = v.shape;
    const pick = classes ?? ops.argmax(capsuleLengths(v), 1);
    const masked = ops.mul(v, ops.reshape(ops.oneHot(pick, j), [b, j, 1]));
    const flat = ops.reshape(masked, [b, j * o]);
    return ops.reshape(this.decoder.forward(flat), [b, c.channels, c.imageSize, c.imageSize]);
  }
}

/** Parameters of a CapsNet of this configuration without its decoder, counted without building it. */
export function capsNetClassifierParameters(config: Partial<CapsNetConfig> = {}): number {
  const c = {...CAPSNET_SMALL, ...config};
  const grid = checkConfig(c);
  const conv1 = (c.channels * c.conv1Kernel ** 2 + 1) * c.conv1Channels;
  const primary = (c.conv1Channels * c.primaryKernel ** 2 + 1) * c.primaryChannels * c.primaryDim;
  return conv1 + primary + c.primaryChannels * grid * grid * c.classes * c.digitDim * c.primaryDim;
}

/** Number of parameters, optionally without the decoder (the classifier alone). */
export function parameterCount(m: Module, withoutDecoder = false): number {
  let n = 0;
  for (const [name, p] of m.namedParameters()) if (!(withoutDecoder && name.startsWith('decoder.'))) n += p.size;
  return n;
}
