// ImageNet-style networks with torchvision's module tree, so their state dicts have exactly torchvision's names
// and shapes (`layer1.0.conv1.weight`, `features.3.conv.1.0.weight`, `...num_batches_tracked`): weights saved by
// torchvision load strictly here, and ours load strictly there. Reduced widths and a CIFAR stem (3x3 conv, no
// max-pool) keep the same names, for small inputs and for the pretrained sources trained on CIFAR-10.
import * as ops from '../graph/ops.js';
import {rt} from '../graph/engine.js';
import type {Tensor} from '../graph/tensor.js';
import {isStock, Module} from './module.js';
import {BatchNorm, BatchNorm2d, Conv2d, convWithRunningNorm, Dropout, fuse, type Fusable, Linear, ReLU6, Sequential} from './layers.js';
import {gaussian, mulberry32} from '../rng.js';

// Fusing a model's neighbouring layers (the factories here return fused models).
export {fuse, type Fusable} from './layers.js';

/** A classifier whose last layer can be told apart: what feature extraction and head replacement need. */
export interface HeadedModel extends Module {
  /** The dotted name of the classification head, a Linear (`fc` for ResNets, `classifier.1` for MobileNetV2). */
  readonly headName: string;
  /** The head itself. */
  readonly head: Linear;
  /** Side of the square images the model was built for (224 for ImageNet, 32 for the CIFAR stem). */
  readonly inputSize: number;
  /** The pooled features the head reads: [N, C, H, W] -> [N, featureSize]. */
  features(x: Tensor): Tensor;
  /** Length of a feature vector (the head's input size). */
  readonly featureSize: number;
  /** Replaces the head with a fresh Linear of `classes` outputs (PyTorch's default initialisation). */
  replaceHead(classes: number): Linear;
}

/** Whether a module is a HeadedModel (has a head, features() and replaceHead()). */
export function isHeadedModel(m: unknown): m is HeadedModel {
  const h = m as Partial<HeadedModel>;
  return m instanceof Module && typeof h.headName === 'string' && typeof h.features === 'function' &&
    typeof h.replaceHead === 'function';
}

function positive(model: string, what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) {
    throw new Error(`webgpu-transfer: ${model}: ${what} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

/**
 * torchvision's initialisation: convolutions kaiming-normal with fan_out and the relu gain, batch-norm scale 1 and
 * shift 0 (the layers' own). Drawn from `seed`, so two models built with one seed start equal.
 */
function kaimingConvs(model: Module, seed: number): void {
  const r = mulberry32(seed * 2654435761 + 1);
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof Conv2d)) continue;
    const [out, , kh, kw] = m.weight.shape;
    const std = Math.sqrt(2 / (out * kh * kw));
    const data = new Float32Array(m.weight.size);
    for (let i = 0; i < data.length; i++) data[i] = gaussian(r) * std;
    rt().write(m.weight.buffer, data);
  }
}

/** conv then batch norm; fused and on running statistics, one convolution with the norm folded in (fuse()). */
const convBn = (fused: boolean, conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor =>
  fused && bn.usesRunningStats ? convWithRunningNorm(conv, bn, x) : bn.forward(conv.forward(x));
/** convBn then relu; fused and on batch statistics, the relu in batch norm's passes (forwardActivated). */
const convBnRelu = (fused: boolean, conv: Conv2d, bn: BatchNorm2d, x: Tensor): Tensor =>
  fused && !bn.usesRunningStats && isStock(bn, BatchNorm2d)
    ? bn.forwardActivated(conv.forward(x), 'relu') : ops.relu(convBn(fused, conv, bn, x));

const conv3x3 = (inp: number, out: number, stride = 1) => new Conv2d(inp, out, 3, {stride, padding: 1, bias: false});
const conv1x1 = (inp: number, out: number, stride = 1) => new Conv2d(inp, out, 1, {stride, bias: false});

/** ResNet's two-conv residual block (ResNet-18/34): conv3x3-bn-relu-conv3x3-bn, plus the shortcut, then relu. */
export class BasicBlock extends Module implements Fusable {
  static readonly expansion = 1;
  fused = false;
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly conv2: Conv2d; readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = this.child('conv1', conv3x3(inplanes, planes, stride));
    this.bn1 = this.child('bn1', new BatchNorm2d(planes));
    this.conv2 = this.child('conv2', conv3x3(planes, planes));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes));
    this.downsample = downsample && this.child('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    const h = convBnRelu(this.fused, this.conv1, this.bn1, x);
    const y = convBn(this.fused, this.conv2, this.bn2, h);
    return ops.relu(ops.add(y, this.downsample ? this.downsample.forward(x) : x));
  }
}

/** ResNet's bottleneck block (ResNet-50, torchvision's v1.5: the stride on the 3x3 conv), expansion 4. */
export class Bottleneck extends Module implements Fusable {
  static readonly expansion = 4;
  fused = false;
  readonly conv1: Conv2d; readonly bn1: BatchNorm2d; readonly conv2: Conv2d; readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d; readonly bn3: BatchNorm2d; readonly downsample: Sequential | null;
  constructor(inplanes: number, planes: number, stride = 1, downsample: Sequential | null = null) {
    super();
    this.conv1 = this.child('conv1', conv1x1(inplanes, planes));
    this.bn1 = this.child('bn1', new BatchNorm2d(planes));
    this.conv2 = this.child('conv2', conv3x3(planes, planes, stride));
    this.bn2 = this.child('bn2', new BatchNorm2d(planes));
    this.conv3 = this.child('conv3', conv1x1(planes, planes * 4));
    this.bn3 = this.child('bn3', new BatchNorm2d(planes * 4));
    this.downsample = downsample && this.child('downsample', downsample);
  }
  forward(x: Tensor): Tensor {
    let h = convBnRelu(this.fused, this.conv1, this.bn1, x);
    h = convBnRelu(this.fused, this.conv2, this.bn2, h);
    const y = convBn(this.fused, this.conv3, this.bn3, h);
    return ops.relu(ops.add(y, this.downsample ? this.downsample.forward(x) : x));
  }
}

/** Options of the ResNets. */
export interface ResNetOptions {
  /** Outputs of the head (default 1000, ImageNet's). */
  classes?: number;
  /** Channels of the first stage (default 64, torchvision's); the stages have width, 2, 4 and 8 times it. */
  width?: number;
  /**
   * 'imagenet' (default): 7x7 stride-2 conv and a 3x3 stride-2 max-pool, for 224 px. 'cifar': a 3x3 stride-1 conv
   * and no max-pool, for 32 px (in torchvision: conv1 = Conv2d(3, width, 3, 1, 1, bias=False), maxpool = Identity).
   */
  stem?: 'imagenet' | 'cifar';
  /** Side of the input images the model is meant for (default 224, or 32 with the CIFAR stem). */
  inputSize?: number;
  /** Input channels (default 3). */
  channels?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

/**
 * ResNet (He et al. 2016) as torchvision builds it: conv1, bn1, relu, maxpool, layer1..layer4 of residual blocks,
 * global average pooling and the head `fc`. Use resnet18(), resnet34(), resnet50() or cifarResNet().
 */
export class ResNet extends Module implements HeadedModel, Fusable {
  fused = false;
  readonly headName = 'fc';
  readonly inputSize: number;
  readonly featureSize: number;
  readonly stem: 'imagenet' | 'cifar';
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly stages: Sequential[];
  head: Linear;

  constructor(block: typeof BasicBlock | typeof Bottleneck, layers: number[], o: ResNetOptions = {}) {
    super();
    const name = 'ResNet';
    const classes = positive(name, 'classes', o.classes ?? 1000);
    const width = positive(name, 'width', o.width ?? 64);
    const channels = positive(name, 'channels', o.channels ?? 3);
    this.stem = o.stem ?? 'imagenet';
    if (this.stem !== 'imagenet' && this.stem !== 'cifar') {
      throw new Error(`webgpu-transfer: ResNet: stem must be 'imagenet' or 'cifar', got ${JSON.stringify(o.stem)}`);
    }
    if (!Array.isArray(layers) || layers.length !== 4) {
      throw new Error(`webgpu-transfer: ResNet: layers must list 4 stage depths, got ${JSON.stringify(layers)}`);
    }
    layers.forEach((n) => positive(name, 'a stage depth', n));
    this.inputSize = positive(name, 'inputSize', o.inputSize ?? (this.stem === 'cifar' ? 32 : 224));
    this.conv1 = this.child('conv1', this.stem === 'cifar'
      ? new Conv2d(channels, width, 3, {stride: 1, padding: 1, bias: false})
      : new Conv2d(channels, width, 7, {stride: 2, padding: 3, bias: false}));
    this.bn1 = this.child('bn1', new BatchNorm2d(width));
    let inplanes = width;
    this.stages = layers.map((blocks, i) => {
      const planes = width * 2 ** i, stride = i === 0 ? 1 : 2;
      const out = planes * block.expansion;
      const down = stride !== 1 || inplanes !== out
        ? new Sequential(conv1x1(inplanes, out, stride), new BatchNorm2d(out)) : null;
      const list = [new block(inplanes, planes, stride, down)];
      for (let b = 1; b < blocks; b++) list.push(new block(out, planes));
      inplanes = out;
      return this.child(`layer${i + 1}`, new Sequential(...list));
    });
    this.featureSize = inplanes;
    this.head = this.child('fc', new Linear(inplanes, classes));
    kaimingConvs(this, o.seed ?? 0);
  }

  features(x: Tensor): Tensor {
    let h = convBn(this.fused, this.conv1, this.bn1, x);
    // Max pooling commutes with relu: one fused pass (padding acts as -inf, as in PyTorch's MaxPool2d).
    h = this.stem === 'cifar' ? ops.relu(h) : ops.reluMaxPool2d(h, 3, {stride: 2, padding: 1});
    for (const s of this.stages) h = s.forward(h);
    return ops.mean(h, [2, 3]);
  }

  forward(x: Tensor): Tensor { return this.head.forward(this.features(x)); }

  replaceHead(classes: number): Linear {
    positive('ResNet.replaceHead', 'classes', classes);
    const old = this.head;
    this.head = this.child('fc', new Linear(this.featureSize, classes));
    old.dispose();
    return this.head;
  }
}

/** ResNet-18 (BasicBlock, [2, 2, 2, 2]) with torchvision's names; 11.7 M parameters at width 64 and 1000 classes. */
export const resnet18 = (o: ResNetOptions = {}): ResNet => fuse(new ResNet(BasicBlock, [2, 2, 2, 2], o));
/** ResNet-34 (BasicBlock, [3, 4, 6, 3]) with torchvision's names. */
export const resnet34 = (o: ResNetOptions = {}): ResNet => fuse(new ResNet(BasicBlock, [3, 4, 6, 3], o));
/** ResNet-50 (Bottleneck, [3, 4, 6, 3], torchvision's v1.5) with torchvision's names. */
export const resnet50 = (o: ResNetOptions = {}): ResNet => fuse(new ResNet(Bottleneck, [3, 4, 6, 3], o));
/**
 * A ResNet for 32 px images: the CIFAR stem (3x3 conv, no max-pool), BasicBlocks, `layers` per stage (default
 * [1, 1, 1, 1]) and `width` (default 16). Its state dict is torchvision's resnet18 layout when layers is [2, 2, 2, 2].
 */
export const cifarResNet = (o: ResNetOptions & {layers?: number[]} = {}): ResNet =>
  // Defaults by ??, not by spreading o over them: models.build passes the options it was not given as undefined.
  fuse(new ResNet(BasicBlock, o.layers ?? [1, 1, 1, 1], {...o, width: o.width ?? 16, classes: o.classes ?? 10,
    stem: 'cifar'}));

/** Sets batch-norm layers to frozen statistics (running mean and variance, never updated), or back. */
export function freezeBatchNorm(model: Module, frozen = true): void {
  for (const [, m] of model.namedModules()) if (m instanceof BatchNorm) m.frozenStats = frozen;
}

/** The architectures models.build() makes by name (torchvision's names, and the CIFAR-stem ResNet). */
export const ARCHITECTURES = ['resnet18', 'resnet34', 'resnet50', 'mobilenet_v2', 'cifar_resnet'] as const;
/** One of ARCHITECTURES. */
export type Architecture = typeof ARCHITECTURES[number];

/** What builds one model: an architecture and its options (recorded in the files we write, found from others). */
export interface ArchitectureSpec {
  arch: Architecture;
  classes: number;
  /** ResNets: first-stage width, stem, and (cifar_resnet) blocks per stage. */
  width?: number;
  stem?: 'imagenet' | 'cifar';
  layers?: number[];
  /** MobileNetV2: width multiplier. */
  widthMult?: number;
  inputSize?: number;
}

/** Builds the model an ArchitectureSpec describes (fresh weights, seeded). */
export function build(spec: ArchitectureSpec, seed = 0): HeadedModel {
  const {arch, classes, width, stem, inputSize} = spec;
  const r = {classes, width, stem, inputSize, seed};
  if (arch === 'resnet18') return resnet18(r);
  if (arch === 'resnet34') return resnet34(r);
  if (arch === 'resnet50') return resnet50(r);
  if (arch === 'cifar_resnet') return cifarResNet({...r, stem: undefined, layers: spec.layers});
  if (arch === 'mobilenet_v2') return mobilenetV2({classes, widthMult: spec.widthMult, inputSize, seed});
  throw new Error(`webgpu-transfer: models.build: unknown architecture '${arch}' (${ARCHITECTURES.join(', ')})`);
}

const WIDTH_MULTS = [1, 0.35, 0.5, 0.75, 1.3, 1.4, 0.25, 0.1];

/**
 * The ArchitectureSpec of a state dict (names -> shapes) for an architecture: classes from the head, ResNet width
 * and stem from conv1, cifar_resnet's blocks per stage from the names, MobileNetV2's width multiplier from the
 * first and last convolutions. Throws naming the key that does not fit.
 */
export function inferArchitecture(arch: string, shapes: Map<string, number[]>): ArchitectureSpec {
  if (!(ARCHITECTURES as readonly string[]).includes(arch)) {
    throw new Error(`webgpu-transfer: unknown model '${arch}': use one of ${ARCHITECTURES.join(', ')}`);
  }
  const a = arch as Architecture;
  const need = (k: string, rank: number): number[] => {
    const s = shapes.get(k);
    if (!s || s.length !== rank) {
      const near = [...shapes.keys()].slice(0, 3).join(', ');
      throw new Error(`webgpu-transfer: the weights are not a ${arch}: ${s ? `'${k}' has shape [${s}]` : `no '${k}'`} ` +
        `(the file's first keys: ${near || 'none'})`);
    }
    return s;
  };
  if (a === 'mobilenet_v2') {
    const classes = need('classifier.1.weight', 2)[0];
    const stemOut = need('features.0.0.weight', 4)[0], lastOut = need('features.18.0.weight', 4)[0];
    const widthMult = WIDTH_MULTS.find((m) => makeDivisible(32 * m) === stemOut &&
      makeDivisible(1280 * Math.max(1, m)) === lastOut &&
      shapes.get('features.17.conv.2.weight')?.[0] === makeDivisible(320 * m));
    if (widthMult === undefined) {
      throw new Error(`webgpu-transfer: the weights are not a mobilenet_v2 of a known width (${WIDTH_MULTS.join(', ')}): ` +
        `'features.0.0.weight' has ${stemOut} channels, 'features.18.0.weight' ${lastOut}`);
    }
    return {arch: a, classes, widthMult};
  }
  const [width, , kh] = need('conv1.weight', 4);
  const classes = need('fc.weight', 2)[0];
  const stem = kh === 3 ? 'cifar' : 'imagenet';
  if (a !== 'cifar_resnet') return {arch: a, classes, width, stem};
  const layers = [1, 2, 3, 4].map((s) => {
    let n = 0;
    while (shapes.has(`layer${s}.${n}.conv1.weight`)) n++;
    return n;
  });
  if (layers.some((n) => n === 0)) throw new Error(`webgpu-transfer: the weights are not a cifar_resnet: stages hold ${layers.join(', ')} blocks`);
  return {arch: a, classes, width, layers};
}

/** torchvision's _make_divisible: v rounded to the nearest multiple of 8, never more than 10% below v. */
export function makeDivisible(v: number, divisor = 8): number {
  let out = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (out < 0.9 * v) out += divisor;
  return out;
}

/** conv (no bias), batch norm, ReLU6: torchvision's Conv2dNormActivation as MobileNetV2 uses it (names .0, .1). */
function convBnRelu6(inp: number, out: number, kernel: number, stride = 1, groups = 1): Sequential {
  return new Sequential(new Conv2d(inp, out, kernel, {stride, padding: (kernel - 1) >> 1, bias: false, groups}),
    new BatchNorm2d(out), new ReLU6());
}

/**
 * MobileNetV2's inverted residual block: 1x1 expansion (unless the ratio is 1), 3x3 depthwise conv, 1x1 linear
 * projection; the input is added back when the stride is 1 and the widths agree. Children as torchvision's (`conv`).
 */
export class InvertedResidual extends Module {
  readonly residual: boolean;
  readonly conv: Sequential;
  constructor(inp: number, out: number, stride: number, expandRatio: number) {
    super();
    const hidden = Math.round(inp * expandRatio);
    this.residual = stride === 1 && inp === out;
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convBnRelu6(inp, hidden, 1));
    layers.push(convBnRelu6(hidden, hidden, 3, stride, hidden), new Conv2d(hidden, out, 1, {bias: false}),
      new BatchNorm2d(out));
    this.conv = this.child('conv', new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.residual ? ops.add(x, y) : y;
  }
}

/** Options of MobileNetV2. */
export interface MobileNetV2Options {
  /** Outputs of the head (default 1000). */
  classes?: number;
  /** Width multiplier of every layer (default 1; 0.35, 0.5, 0.75 and 1.4 are the published ones). */
  widthMult?: number;
  /** Dropout before the head in training (default 0.2, torchvision's). */
  dropout?: number;
  /** Side of the input images the model is meant for (default 224). */
  inputSize?: number;
  /** Seed of the initialisation (default 0). */
  seed?: number;
}

/** (expansion t, channels c, blocks n, first stride s) of each stage, as in the paper and torchvision. */
const MOBILENET_V2_STAGES = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
  [6, 320, 1, 1]] as const;

/**
 * MobileNetV2 (Sandler et al. 2018) as torchvision builds it: `features` (a stem conv, 17 inverted residual blocks
 * and a 1x1 conv to 1280 channels), global average pooling, and `classifier` = [Dropout, Linear]; the head is
 * `classifier.1`. Depthwise convolutions are conv2d with groups = channels.
 */
export class MobileNetV2 extends Module implements HeadedModel {
  readonly headName = 'classifier.1';
  readonly inputSize: number;
  readonly featureSize: number;
  readonly body: Sequential;
  classifier: Sequential;
  head: Linear;
  private readonly dropout: number;

  constructor(o: MobileNetV2Options = {}) {
    super();
    const classes = positive('MobileNetV2', 'classes', o.classes ?? 1000);
    const widthMult = o.widthMult ?? 1;
    if (typeof widthMult !== 'number' || !(widthMult > 0) || !Number.isFinite(widthMult)) {
      throw new Error(`webgpu-transfer: MobileNetV2: widthMult must be a positive number, got ${JSON.stringify(o.widthMult)}`);
    }
    this.dropout = o.dropout ?? 0.2;
    this.inputSize = positive('MobileNetV2', 'inputSize', o.inputSize ?? 224);
    let inp = makeDivisible(32 * widthMult);
    const last = makeDivisible(1280 * Math.max(1, widthMult));
    const layers: Module[] = [convBnRelu6(3, inp, 3, 2)];
    for (const [t, c, n, s] of MOBILENET_V2_STAGES) {
      const out = makeDivisible(c * widthMult);
      for (let i = 0; i < n; i++) {
        layers.push(new InvertedResidual(inp, out, i === 0 ? s : 1, t));
        inp = out;
      }
    }
    layers.push(convBnRelu6(inp, last, 1));
    this.body = this.child('features', new Sequential(...layers));
    this.featureSize = last;
    this.head = new Linear(last, classes);
    this.classifier = this.child('classifier', new Sequential(new Dropout(this.dropout), this.head));
    kaimingConvs(this, o.seed ?? 0);
    normalHead(this.head, o.seed ?? 0);
  }

  features(x: Tensor): Tensor { return ops.mean(this.body.forward(x), [2, 3]); }

  forward(x: Tensor): Tensor { return this.classifier.forward(this.features(x)); }

  replaceHead(classes: number): Linear {
    positive('MobileNetV2.replaceHead', 'classes', classes);
    const old = this.head;
    this.head = new Linear(this.featureSize, classes);
    this.classifier = this.child('classifier', new Sequential(new Dropout(this.dropout), this.head));
    old.dispose();
    return this.head;
  }
}

/** torchvision's MobileNetV2 head initialisation: weights N(0, 0.01), bias 0. */
function normalHead(head: Linear, seed: number): void {
  const r = mulberry32(seed * 2654435761 + 7);
  const w = new Float32Array(head.weight.size);
  for (let i = 0; i < w.length; i++) w[i] = gaussian(r) * 0.01;
  rt().write(head.weight.buffer, w);
  if (head.bias) rt().write(head.bias.buffer, new Float32Array(head.bias.size));
}

/** MobileNetV2 with torchvision's names (`features.*`, `classifier.1`); widthMult 0.35 to 1.4. */
export const mobilenetV2 = (o: MobileNetV2Options = {}): MobileNetV2 => fuse(new MobileNetV2(o));
