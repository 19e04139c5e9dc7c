// Fine-tuning (the notes' first setup): start from a model trained on plentiful source data and train it on
// scarce target data. Layers whose shapes agree are copied from the source (by default every layer but a head
// whose label space differs, which starts fresh); copied layers may learn at a smaller rate, or be frozen
// (layer transfer, layer-transfer.ts). The source model's head is kept beside the new one so that
// forgetting can be measured: source-task accuracy of the fine-tuned features read by the source head.
// Conservative training (conservative.ts) adds its terms through `regularisers`.
import * as ops from '../graph/ops.js';
import type {InputSpec} from '../graph/capture.js';
import {fmt, type Tensor} from '../graph/tensor.js';
import {Module} from '../nn/module.js';
import {fuse, Linear, Sequential} from '../nn/layers.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import {resolveOptimizer, type OptimizerChoice} from '../optim/factory.js';
import {CosineLR} from '../optim/schedules.js';
import {checkChoice, checkNumber} from '../optim/validate.js';
import type {DataLoader, LoaderState} from '../data/loader.js';
import type {ImageSet} from '../data/image-set.js';
import {evaluate} from '../train/evaluate.js';
import {applySchedule, loaderInputs} from '../train/supervised.js';
import type {Metrics, StepOutputs, Strategy} from '../train/strategy.js';
import {copyLayers, matchingLayers, parameterLayers, runLayers, splitHead, type Layer, type LayerSelection} from './layers.js';

/**
 * Options of FineTune: source and target models, target data, which layers to copy or freeze, learning rates,
 * optimizer and schedule.
 */
export interface FineTuneOptions {
  /** The trained source model (read, never changed). */
  source: Module;
  /** A fresh target model: the source's layers (same names) with the target's head. */
  model: Module;
  /** Target training batches. */
  loader: DataLoader;
  /** Target evaluation set (a validation split while choosing hyper-parameters, the test split after). */
  test?: ImageSet;
  /** Source-task evaluation set: forgetting, measured through the kept source head. */
  sourceTest?: ImageSet;
  /**
   * Whether the target task is the source's ('same': the head is copied too) or a new one ('new': a fresh head).
   * Needed when both heads have the same shape (digits 0-4 -> 5-9 are both 5-way); a head of another shape is new.
   */
  task?: 'same' | 'new';
  /** Layers to copy from the source (default: every layer whose shapes agree, the head as `task` says). */
  copy?: LayerSelection;
  /** Freeze the copied layers (no gradients, no updates): layer transfer. */
  freeze?: boolean;
  /** Learning rate of the new layers (default: the optimizer's, 1e-3 for Adam, 0.01 for SGD). */
  lr?: number;
  /** Learning rate of copied, trainable layers (default: lr). */
  transferredLr?: number;
  /**
   * A kind (default 'adam'; 'sgd' has momentum 0.9), built with lr and weightDecay, or a factory given the
   * parameter groups: the new layers' (with lr), then the copied trainable ones' (with transferredLr).
   */
  optimizer?: OptimizerChoice;
  /** Weight decay of a kind given by name (default: the optimizer's). */
  weightDecay?: number;
  /** Cosine decay of every group's lr over the run (default none). */
  schedule?: 'none' | 'cosine';
  name?: string;
}

/** A frozen copy of a Linear head (the source task's classifier, kept to measure forgetting). */
function cloneHead(layers: Module[], where: string): Module[] {
  return layers.map((l) => {
    if (!parameterLayers(l).length) return l; // activations etc. carry no state
    if (!(l instanceof Linear)) throw new Error(`webgpu-transfer: ${where}: keeping the source head needs a Linear head, got ${l.constructor.name}`);
    const c = new Linear(l.inFeatures, l.outFeatures, l.bias !== null);
    c.copyFrom(l);
    return c;
  });
}

/** The trained parts of a transfer run: the target network and, when trained, the kept source head. */
class TransferNet extends Module {
  constructor(readonly net: Module, sourceHead: Module[] | null) {
    super();
    this.child('net', net);
    if (sourceHead) this.child('source_head', new Sequential(...sourceHead));
  }
  forward(x: Tensor): Tensor { return this.net.forward(x); }
}

/**
 * Fine-tuning as a TrainingLoop strategy: copies the source layers whose shapes agree into the target model (the
 * head too when `task` is 'same'), trains on the target data with a separate learning rate for the copied layers,
 * and keeps the source head beside the new one, so sourceView() measures forgetting.
 *
 * @example
 * ```ts
 * const source = wt.leNet5(1, 5);   // trained on digits 0-4 (wt.Trainer), or read with wt.loadModel
 * const model = wt.leNet5(1, 5);    // the same layers, and a fresh head for digits 5-9
 * const strategy = new wt.transfer.FineTune({source, model, task: 'new', lr: 1e-3, transferredLr: 1e-4,
 *   loader: new wt.DataLoader(fewTargetImages, {batch: 25}), test: targetTest});
 * await new wt.TrainingLoop(strategy, {steps: 200}).fit();
 * console.log((await wt.evaluate(strategy.sourceView(), sourceTest)).accuracy);   // what the source task kept
 * ```
 */
export class FineTune implements Strategy {
  readonly name: string;
  readonly model: Module;
  readonly optimizer: Optimizer<GroupOptions>;
  readonly net: Module;
  readonly trunk: Module[];
  readonly head: Module[];
  /** Layers copied from the source (frozen ones included). */
  readonly copied: Layer[];
  /** The source head reading this model's features: the target head itself when the label space is shared. */
  readonly sourceHead: Module[];
  readonly sharedHead: boolean;
  private readonly ownsSourceHead: boolean;
  protected readonly where: string;

  constructor(readonly o: FineTuneOptions, opts: {trainSourceHead?: boolean} = {}) {
    this.where = o.name ?? this.constructor.name;
    checkNumber(this.where, 'lr', o.lr, 0, true);
    checkNumber(this.where, 'transferredLr', o.transferredLr);
    checkNumber(this.where, 'weightDecay', o.weightDecay);
    const {source, model, loader} = o;
    const s = loader.set;
    this.name = o.name ?? 'fine-tune';
    this.net = model;
    ({trunk: this.trunk, head: this.head} = splitHead(model));
    const srcSplit = splitHead(source);
    this.copied = copyLayers(source, model, o.copy ?? {names: this.defaultCopy()});
    const headLayers = new Set(this.head.flatMap((m) => parameterLayers(m).map((l) => l.module)));
    this.sharedHead = this.copied.some((l) => headLayers.has(l.module));
    const trainSourceHead = !this.sharedHead && !!opts.trainSourceHead;
    // A head trained by distillation is a copy; otherwise the source's own head (never trained) reads the features.
    this.sourceHead = this.sharedHead ? this.head : trainSourceHead ? cloneHead(srcSplit.head, this.where) : srcSplit.head;
    this.ownsSourceHead = trainSourceHead;
    this.model = trainSourceHead ? new TransferNet(model, this.sourceHead) : model;

    const copiedParams = new Set(this.copied.flatMap((l) => l.params));
    if (o.freeze) for (const p of copiedParams) p.requiresGrad = false;
    checkChoice(this.where, 'schedule', o.schedule, ['none', 'cosine']);
    const fresh = model.parameters().filter((p) => !copiedParams.has(p));
    const transferred = [...model.parameters().filter((p) => copiedParams.has(p) && p.requiresGrad),
      ...(trainSourceHead ? this.sourceHead.flatMap((m) => m.parameters()) : [])];
    // A group without its own lr takes the optimizer's (the kind's default when lr is not given).
    const groups = [{params: fresh, lr: o.lr}, {params: transferred, lr: o.transferredLr ?? o.lr}]
      .filter((g) => g.params.length);
    if (!groups.length) throw new Error(`webgpu-transfer: ${this.where}: nothing to train (every layer is frozen)`);
    this.optimizer = resolveOptimizer(o.optimizer ?? 'adam', groups, {lr: o.lr, weightDecay: o.weightDecay}, this.where);
    source.eval();
    if (s.channels !== (o.test?.channels ?? s.channels)) throw new Error(`webgpu-transfer: ${this.where}: the test set's images differ in channels from the training set's`);
  }

  /** The cosine decay, made at the first step, when the loop gives the run's length. */
  private cosine: CosineLR | null = null;

  /** Every layer whose shapes agree, with the head copied only for the same task. */
  private defaultCopy(): string[] {
    const {source, model, task} = this.o;
    if (task !== undefined && task !== 'same' && task !== 'new') throw new Error(`webgpu-transfer: ${this.where}: task must be 'same' or 'new', got '${task}'`);
    const matching = matchingLayers(source, model);
    const headNames = new Set(parameterLayers(model).filter((l) => this.head.some((h) => h === l.module || parameterLayers(h).some((p) => p.module === l.module))).map((l) => l.name));
    const headMatches = [...headNames].every((n) => matching.includes(n));
    if (task === 'same' && !headMatches) throw new Error(`webgpu-transfer: ${this.where}: task 'same' but the heads differ in shape (layers ${[...headNames].join(', ')})`);
    if (task === undefined && headMatches) {
      throw new Error(`webgpu-transfer: ${this.where}: the source and target heads have the same shape: say task: 'same' to copy the head (same labels) or task: 'new' for a fresh one (a new task)`);
    }
    const chosen = task === 'same' ? matching : matching.filter((n) => !headNames.has(n));
    if (!chosen.length) throw new Error(`webgpu-transfer: ${this.where}: ${this.nothingMatches(headNames)}`);
    return chosen;
  }

  /** Why no layer would be copied: each target layer against the source's of its name, then both lists. */
  private nothingMatches(headNames: Set<string>): string {
    const {source, model} = this.o;
    const shapes = (m: Module) => [...m.stateDict()].map(([k, v]) => `${k}${fmt(v.shape)}`).join(' ');
    const list = (ls: Layer[]) => ls.map((l) => `${l.name} ${shapes(l.module)}`).join(', ');
    const src = new Map(parameterLayers(source).map((l) => [l.name, l]));
    const body = parameterLayers(model).filter((l) => !headNames.has(l.name));
    const why = body.map((l) => {
      const s = src.get(l.name);
      return s ? `target '${l.name}' ${shapes(l.module)} differs in shape from the source's ${shapes(s.module)}`
        : `target '${l.name}' has no source layer of that name`;
    });
    return `no layer of the source model matches the target model by name and shapes, so nothing would be copied ` +
      `(${why.length ? why.join('; ') : 'the target has no layer with parameters besides its head'}). Source layers: ` +
      `${list([...src.values()])}; target layers: ${list(parameterLayers(model))}. Build the target from the source's ` +
      'architecture, or pass copy: {first: 0} to train it from scratch';
  }

  get examplesPerStep(): number { return this.o.loader.opts.batch; }
  get stepsPerEpoch(): number { return this.o.loader.batchesPerEpoch; }
  epoch(): number { return this.o.loader.epoch; }
  inputs(): InputSpec[] { return loaderInputs(this.o.loader); }
  nextBatch(): ArrayLike<number>[] { return this.o.loader.next(); }

  beforeStep(step: number, total: number): void {
    if (this.o.schedule !== 'cosine') return;
    this.cosine ??= new CosineLR(this.optimizer, total);
    this.cosine.tMax = total; // a later run of the same strategy may be longer
    applySchedule(this.cosine, step);
  }

  /** Extra loss terms (already weighted) on top of the target cross-entropy: conservative training's. */
  protected regularisers(_x: Tensor, _features: Tensor, _logits: Tensor): Record<string, Tensor> { return {}; }

  loss([x, y]: Tensor[]): StepOutputs {
    const features = runLayers(this.trunk, x);
    const logits = runLayers(this.head, features);
    const ce = ops.crossEntropy(logits, y);
    const extra = this.regularisers(x, features, logits);
    let loss = ce;
    for (const t of Object.values(extra)) loss = ops.add(loss, t);
    return {loss, terms: Object.keys(extra).length ? {ce, ...extra} : {}, logits, labels: y};
  }

  /**
   * The source task's network after target training (for forgetting): the copied layers as they are now
   * (fine-tuned, or frozen), the source's own layers where nothing was copied, and the kept source head.
   * Frozen layer transfer therefore forgets nothing; fine-tuning forgets as far as the shared layers drift.
   */
  sourceView(): Module {
    if (!(this.net instanceof Sequential)) {
      // A headed model's body runs as one piece: the view holds when every body layer was copied.
      const headMods = new Set(this.head.flatMap((m) => parameterLayers(m).map((l) => l.module)));
      const copied = new Set(this.copied.map((l) => l.module));
      const body = parameterLayers(this.net).filter((l) => !headMods.has(l.module));
      const missing = body.filter((l) => !copied.has(l.module)).map((l) => l.name);
      if (missing.length) throw new Error(`webgpu-transfer: ${this.where}: the source view of a ${this.net.constructor.name} needs every body layer copied; not copied: ${missing.slice(0, 5).join(', ')}`);
      return fuse(new Sequential(...this.trunk, ...this.sourceHead));
    }
    const src = this.o.source as Sequential, tgt = this.net as Sequential;
    if (src.layers.length !== tgt.layers.length) throw new Error(`webgpu-transfer: ${this.where}: source and target models differ in their number of layers (${src.layers.length} vs ${tgt.layers.length})`);
    const copied = new Set(this.copied.map((l) => l.module));
    const headStart = src.layers.length - this.sourceHead.length;
    return fuse(new Sequential(...src.layers.map((l, i) => {
      if (i >= headStart && this.ownsSourceHead) return this.sourceHead[i - headStart];
      const mine = tgt.layers[i];
      return mine && parameterLayers(mine).some((p) => copied.has(p.module)) ? mine : l;
    })));
  }

  async evaluate(): Promise<Metrics> {
    const out: Metrics = {};
    if (this.o.test) {
      const r = await evaluate(this.net, this.o.test);
      Object.assign(out, {test_loss: r.loss, test_accuracy: r.accuracy});
    }
    if (this.o.sourceTest) out.source_accuracy = (await evaluate(this.sourceView(), this.o.sourceTest)).accuracy;
    return out;
  }

  state(): Record<string, unknown> { return {loader: this.o.loader.state()}; }
  setState(s: Record<string, unknown>): void { if (s.loader) this.o.loader.setState(s.loader as LoaderState); }

  /** Frees the optimizer state and the kept source head (not the target or source models). */
  dispose(): void {
    this.optimizer.dispose();
    if (this.ownsSourceHead) for (const m of this.sourceHead) if (parameterLayers(m).length) m.dispose();
  }
}
