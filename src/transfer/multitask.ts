// Multitask learning (the notes' fourth setup): hard parameter sharing. One trunk (a prefix of layers the user
// chooses) feeds one head per task; every task's loss updates the trunk and its own head in one compiled step.
// Tasks may come from different datasets with their own batches (the notes' example: speech recognition in
// several languages sharing the lower layers) or share the same images with different labels.
// How the task losses L_i combine:
//   'fixed'        sum_i w_i L_i with given weights (default 1 each);
//   'uncertainty'  Kendall, Gal and Cipolla 2018: sum_i L_i / (2 e^{s_i}) + s_i / 2 with learned s_i = log sigma_i^2.
//                  At the optimum e^{s_i} = L_i, so each task's gradient is divided by its own loss: a task
//                  whose loss is 100x larger gets a 100x smaller weight; the scale of a loss stops mattering.
//   'gradnorm'     Chen et al. 2018 (alpha 1.5): learned w_i (sum kept at T) moved so that the gradient each
//                  task sends into the shared trunk, G_i = ||d(w_i L_i)/dh||, approaches mean(G) r_i^alpha,
//                  r_i the task's relative inverse training rate (L_i / L_i(0), over its mean). One deviation,
//                  stated: G_i is taken at the shared representation h (the trunk's output) rather than at
//                  the last shared layer's weights. That is the bound Sener and Koltun 2018 (MGDA-UB) use, and
//                  it comes out of the ordinary backward pass (a tap on h per task), where the weight gradient
//                  would need one extra backward pass per task.
import * as ops from '../graph/ops.js';
import {keep, noGrad} from '../graph/engine.js';
import type {InputSpec} from '../graph/capture.js';
import type {Tensor} from '../graph/tensor.js';
import {RuntimeValue} from '../graph/value.js';
import {Module} from '../nn/module.js';
import {Linear, Sequential} from '../nn/layers.js';
import {Adam} from '../optim/adam.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import {resolveOptimizer, type OptimizerChoice, type ParamGroupSpec} from '../optim/factory.js';
import {CosineLR} from '../optim/schedules.js';
import {checkChoice, checkInteger, checkNumber} from '../optim/validate.js';
import {DataLoader, type LoaderState} from '../data/loader.js';
import type {ImageSet} from '../data/image-set.js';
import {evaluate} from '../train/evaluate.js';
import {applySchedule} from '../train/supervised.js';
import type {Metrics, StepOutputs, Strategy} from '../train/strategy.js';
import {parameterLayers, selectLayers, type LayerSelection} from './layers.js';

/** One task of a MultiTask run: its name, head, data, and how its loss is weighted. */
export interface TaskSpec {
  /** A short name: used in logs (loss term `<name>`), checkpoints (`heads.<name>`) and errors. */
  name: string;
  /** The task's own layers, reading the trunk's output. */
  head: Module;
  /** Training images and this task's labels. */
  train: ImageSet;
  /** Evaluation images (a validation split while choosing settings, the test split after). */
  test?: ImageSet;
  /**
   * Tasks with the same `inputs` key share each step's images (their `train` sets must hold the same images,
   * each with its own labels); by default every task draws its own batches.
   */
  inputs?: string;
  /** Weight under 'fixed' weighting (default 1). */
  weight?: number;
  /** A constant factor on this task's raw loss before any weighting (e.g. 100 to create an imbalance). */
  lossScale?: number;
}

/**
 * How task losses combine: fixed weights, learned uncertainty weights (Kendall et al. 2018), or GradNorm (Chen et
 * al. 2018).
 */
export type Weighting = 'fixed' | 'uncertainty' | 'gradnorm';

/** Options of MultiTask: the shared trunk, the tasks, the loss weighting, batch, learning rates and optimizer. */
export interface MultiTaskOptions {
  /** The shared layers: a module, or {model, layers} for a prefix of a Sequential (see sharedTrunk). */
  trunk: Module | {model: Sequential; layers: LayerSelection};
  tasks: TaskSpec[];
  weighting?: Weighting;
  /** Images per input group per step (default 64). */
  batch?: number;
  /** Learning rate of trunk and heads (default: the optimizer's, 1e-3 with Adam, 0.01 with SGD). */
  lr?: number;
  /**
   * A kind (default 'adam'; 'sgd' has momentum 0.9), built with lr, or a factory given the groups: trunk and heads
   * (with lr) first, then the learned task weights (with weightLr), except under GradNorm with anything but
   * 'adam', where the weights take steps of an Adam of their own. The cosine schedule sets the first group only.
   */
  optimizer?: OptimizerChoice;
  /** Learning rate (Adam) of the learned weights s_i / w_i (default 0.025, GradNorm's). */
  weightLr?: number;
  /** GradNorm's asymmetry alpha (default 1.5). */
  alpha?: number;
  /** Cosine decay of the trunk and head learning rate over the run (default none). */
  schedule?: 'none' | 'cosine';
  /** Pixel shift augmentation of the loaders. */
  shift?: number;
  seed?: number;
  name?: string;
}

/**
 * The first layers of a Sequential up to and including its k-th layer with parameters (or the last named one),
 * with the parameter-free layers that follow it (activation, pooling, flatten) so the trunk ends on features.
 */
export function sharedTrunk(model: Sequential, sel: LayerSelection): {trunk: Sequential; rest: Module[]} {
  if (!(model instanceof Sequential)) throw new Error(`webgpu-transfer: sharedTrunk: the model must be a Sequential, got ${(model as object)?.constructor?.name}`);
  if (typeof sel === 'object' && 'last' in sel) throw new Error('webgpu-transfer: sharedTrunk: a trunk is a prefix of the layers: use {first: k} or {names}');
  const chosen = selectLayers(model, sel);
  if (!chosen.length) throw new Error('webgpu-transfer: sharedTrunk: the trunk needs at least one layer with parameters');
  const last = Math.max(...chosen.map((l) => model.layers.indexOf(l.module)));
  if (last < 0) throw new Error(`webgpu-transfer: sharedTrunk: layer '${chosen[chosen.length - 1].name}' is not a top-level layer of the model`);
  let end = last + 1;
  while (end < model.layers.length && !parameterLayers(model.layers[end]).length) end++;
  const trunk = new Sequential(...model.layers.slice(0, end));
  trunk.fused = model.fused;
  return {trunk, rest: model.layers.slice(end)};
}

/** Trunk, heads and learned task weights in one module (what is checkpointed). */
export class MultiTaskNet extends Module {
  readonly heads = new Map<string, Module>();
  constructor(readonly trunk: Module, heads: [string, Module][], readonly taskParam: Tensor | null, paramName: string,
    state: [string, Tensor][] = []) {
    super();
    this.child('trunk', trunk);
    const hs = new HeadSet();
    for (const [n, h] of heads) { this.heads.set(n, h); hs.add(n, h); }
    this.child('heads', hs);
    if (taskParam) this.param(paramName, taskParam);
    // Weighting state a resumed run needs (GradNorm's first-step losses), saved with the weights.
    for (const [n, t] of state) this.buffer(n, t);
  }
  /** The first task's network (trunk then head); use task(name) for the others. */
  forward(x: Tensor): Tensor { return this.heads.values().next().value!.forward(this.trunk.forward(x)); }
  /** A view of one task's network (shares the weights): what evaluation and deployment of that task use. */
  task(name: string): Module {
    const h = this.heads.get(name);
    if (!h) throw new Error(`webgpu-transfer: MultiTaskNet: no task '${name}' (tasks: ${[...this.heads.keys()].join(', ')})`);
    return new TaskView(this.trunk, h);
  }
}
class HeadSet extends Module {
  add(name: string, m: Module): void { this.child(name, m); }
  forward(): Tensor { throw new Error('webgpu-transfer: MultiTaskNet heads: call a task head'); }
}
class TaskView extends Module {
  constructor(readonly trunk: Module, readonly head: Module) { super(); this.child('trunk', trunk); this.child('head', head); }
  forward(x: Tensor): Tensor { return this.head.forward(this.trunk.forward(x)); }
}

interface Group { key: string; loader: DataLoader; tasks: number[] }

/**
 * Multitask learning with hard parameter sharing as a TrainingLoop strategy: one trunk feeds a head per task, and
 * every task's loss updates the trunk and its own head in one compiled step.
 */
export class MultiTask implements Strategy {
  readonly name: string;
  readonly model: MultiTaskNet;
  readonly optimizer: Optimizer<GroupOptions>;
  readonly weighting: Weighting;
  readonly tasks: TaskSpec[];
  private readonly groups: Group[];
  private readonly batch: number;
  /** The cosine decay of the network's group, made at the first step, when the loop gives the run's length. */
  private cosine: CosineLR | null = null;
  /** uncertainty: s_i (log variances); gradnorm: w_i. One [T] tensor. */
  readonly taskParam: Tensor | null;
  private readonly alpha: number;
  // GradNorm state: per-task gradient norms at the trunk output (written by taps during backward), the
  // first step's losses L_i(0), a flag that is 1 on the first step only, and this step's losses.
  private readonly gradNorms: Tensor[] = [];
  private readonly initialLosses: Tensor | null = null;
  private readonly first: RuntimeValue | null = null;
  private stepLosses: Tensor | null = null;
  /** 'fixed': the weights as a [T] tensor (made here: a compiled body may not upload host data). */
  private readonly fixedWeights: Tensor | null;
  /** Host label buffers, one per task, refilled every batch. */
  private readonly labelBufs: Int32Array[];
  private readonly where: string;

  constructor(readonly o: MultiTaskOptions) {
    const w = (this.where = o.name ?? 'MultiTask');
    this.name = o.name ?? 'multitask';
    if (!Array.isArray(o.tasks) || !o.tasks.length) throw new Error(`webgpu-transfer: ${w}: give at least one task`);
    this.tasks = o.tasks;
    const names = new Set<string>();
    for (const t of o.tasks) {
      if (typeof t.name !== 'string' || !/^[A-Za-z0-9_-]+$/.test(t.name)) throw new Error(`webgpu-transfer: ${w}: task names must be letters, digits, '_' or '-', got '${t.name}'`);
      if (names.has(t.name)) throw new Error(`webgpu-transfer: ${w}: two tasks are named '${t.name}'`);
      names.add(t.name);
      if (!(t.head instanceof Module)) throw new Error(`webgpu-transfer: ${w}: task '${t.name}' has no head module`);
      if (!t.train?.images) throw new Error(`webgpu-transfer: ${w}: task '${t.name}' has no training set`);
      checkNumber(`${w}: task '${t.name}'`, 'weight', t.weight);
      checkNumber(`${w}: task '${t.name}'`, 'lossScale', t.lossScale, 0, true);
    }
    this.weighting = o.weighting ?? 'fixed';
    checkChoice(w, 'weighting', this.weighting, ['fixed', 'uncertainty', 'gradnorm']);
    if (this.weighting === 'fixed' && o.tasks.every((t) => (t.weight ?? 1) === 0)) throw new Error(`webgpu-transfer: ${w}: every task weight is 0: nothing would train`);
    if (this.weighting !== 'fixed' && o.tasks.some((t) => t.weight !== undefined)) throw new Error(`webgpu-transfer: ${w}: task weights are learned under '${this.weighting}': give no weight`);
    checkNumber(w, 'lr', o.lr, 0, true);
    checkNumber(w, 'weightLr', o.weightLr, 0, true);
    checkNumber(w, 'alpha', o.alpha);
    checkChoice(w, 'schedule', o.schedule, ['none', 'cosine']);
    this.alpha = o.alpha ?? 1.5;
    checkInteger(w, 'batch', o.batch);
    this.batch = o.batch ?? 64;

    const trunk = o.trunk instanceof Module ? o.trunk : sharedTrunk(o.trunk.model, o.trunk.layers).trunk;
    for (const t of o.tasks) checkHead(w, trunk, t);
    // Input groups: tasks sharing images draw one batch; each group's loader yields image indices as its
    // "labels", so every task of the group can read its own labels for the same images.
    const groups = new Map<string, number[]>();
    o.tasks.forEach((t, i) => {
      const key = t.inputs ?? `\u0000${t.name}`;
      const g = groups.get(key);
      if (!g) { groups.set(key, [i]); return; }
      const a = o.tasks[g[0]].train, b = t.train;
      if (a.n !== b.n || a.channels !== b.channels || a.height !== b.height || a.width !== b.width ||
        (a.images !== b.images && !sameImages(a.images, b.images))) {
        throw new Error(`webgpu-transfer: ${w}: tasks '${o.tasks[g[0]].name}' and '${t.name}' share inputs '${t.inputs}' but their training images differ`);
      }
      g.push(i);
    });
    this.groups = [...groups].map(([key, tasks], gi) => {
      const set = o.tasks[tasks[0]].train;
      const indexed: ImageSet = {...set, labels: Int32Array.from({length: set.n}, (_, k) => k)};
      return {key, tasks, loader: new DataLoader(indexed, {batch: this.batch, seed: (o.seed ?? 0) + 1009 * gi, shift: o.shift})};
    });

    const T = o.tasks.length;
    this.taskParam = this.weighting === 'uncertainty' ? ops.zeros([T]) : this.weighting === 'gradnorm' ? ops.ones([T]) : null;
    if (this.weighting === 'gradnorm') this.initialLosses = ops.ones([T]);
    this.model = new MultiTaskNet(trunk, o.tasks.map((t) => [t.name, t.head]), this.taskParam, this.weighting === 'uncertainty' ? 'log_vars' : 'task_weights',
      this.initialLosses ? [['initial_losses', this.initialLosses]] : []);

    const choice = o.optimizer ?? 'adam';
    const netParams = [...trunk.parameters(), ...o.tasks.flatMap((t) => t.head.parameters())];
    const netGroup: ParamGroupSpec = {params: netParams, lr: o.lr};
    const weightGroup = this.taskParam ? {params: [this.taskParam], lr: o.weightLr ?? 0.025} : null;
    // GradNorm's weights always take Adam steps (as Chen et al.): in the network's optimizer when that is Adam,
    // else in an Adam of their own. Under 'uncertainty' the network's optimizer trains them too.
    const ownWeightOptimizer = this.weighting === 'gradnorm' && choice !== 'adam';
    const paramGroups = weightGroup && !ownWeightOptimizer ? [netGroup, weightGroup] : [netGroup];
    this.optimizer = resolveOptimizer(choice, paramGroups, {lr: o.lr}, w);
    if (ownWeightOptimizer) this.weightOptimizer = new Adam([weightGroup!], {lr: weightGroup!.lr});
    if (this.weighting === 'gradnorm') {
      this.gradNorms = o.tasks.map(() => keep(ops.zeros([1])));
      this.first = new RuntimeValue(1, 'gradnorm.first');
      // The weights' update runs inside the network's step(), after the backward pass gave the gradient norms.
      this.optimizer.onStep({before: () => this.gradNormGradient(), after: () => this.renormalise()});
    }
    this.fixedWeights = this.weighting === 'fixed' ? keep(ops.tensor(o.tasks.map((t) => t.weight ?? 1), [T])) : null;
    this.labelBufs = o.tasks.map(() => new Int32Array(this.batch));
  }

  /** Under another optimizer, GradNorm's weights still take Adam steps (their gradient scale differs). */
  private weightOptimizer: Adam | null = null;

  get examplesPerStep(): number { return this.batch * this.groups.length; }
  get stepsPerEpoch(): number { return this.groups[0].loader.batchesPerEpoch; }
  epoch(): number { return this.groups[0].loader.epoch; }

  /** Per group: images; then per task: its labels. */
  inputs(): InputSpec[] {
    const specs: InputSpec[] = this.groups.map((g) => {
      const s = g.loader.set;
      return {shape: [this.batch, s.channels, s.height, s.width]};
    });
    for (let i = 0; i < this.tasks.length; i++) specs.push({shape: [this.batch], dtype: 'i32'});
    return specs;
  }

  nextBatch(): ArrayLike<number>[] {
    const images: Float32Array[] = [];
    for (const g of this.groups) {
      const [x, idx] = g.loader.next();
      images.push(x);
      for (const ti of g.tasks) {
        const labels = this.tasks[ti].train.labels, buf = this.labelBufs[ti];
        for (let k = 0; k < idx.length; k++) buf[k] = labels[idx[k]];
      }
    }
    return [...images, ...this.labelBufs];
  }

  beforeStep(step: number, total: number): void {
    if (this.o.schedule === 'cosine') {
      // Only the network's group (the first) follows the schedule; the learned weights keep their rate.
      this.cosine ??= new CosineLR(this.optimizer, total, 0, {groups: [0]});
      this.cosine.tMax = total; // a later run of the same strategy may be longer
      applySchedule(this.cosine, step);
    }
    this.first?.set(step === 0 ? 1 : 0);
  }

  /** The raw loss of every task (lossScale applied) and their logits, in task order. */
  private taskLosses(inputs: Tensor[]): {losses: Tensor[]; logits: Tensor[]} {
    const G = this.groups.length;
    const losses: Tensor[] = new Array(this.tasks.length), logits: Tensor[] = new Array(this.tasks.length);
    this.groups.forEach((g, gi) => {
      const h = this.model.trunk.forward(inputs[gi]);
      for (const ti of g.tasks) {
        const t = this.tasks[ti];
        // GradNorm: a tap per task on the shared features records the norm of the gradient this task sends in.
        const hi = this.weighting === 'gradnorm' ? this.tap(h, ti) : h;
        const z = t.head.forward(hi);
        logits[ti] = z;
        const ce = ops.crossEntropy(z, inputs[G + ti]);
        losses[ti] = ops.reshape(t.lossScale !== undefined && t.lossScale !== 1 ? ops.mul(ce, t.lossScale) : ce, [1]);
      }
    });
    return {losses, logits};
  }

  /** Identity whose backward writes ||g|| (the task's gradient at the shared features) into gradNorms[i]. */
  private tap(h: Tensor, i: number): Tensor {
    return ops.customGrad([h], () => h.viewAs(h.shape), (g) => {
      ops.assign(this.gradNorms[i], ops.reshape(ops.sqrt(ops.sum(ops.square(g))), [1]));
      return [g];
    }, `gradnorm tap '${this.tasks[i].name}'`);
  }

  loss(inputs: Tensor[]): StepOutputs {
    const {losses, logits} = this.taskLosses(inputs);
    const L = ops.concat(losses, 0); // [T]
    let loss: Tensor;
    const terms: Record<string, Tensor> = {};
    this.tasks.forEach((t, i) => { terms[t.name] = losses[i]; });
    if (this.weighting === 'fixed') {
      loss = ops.sum(ops.mul(L, this.fixedWeights!));
    } else if (this.weighting === 'uncertainty') {
      const s = this.taskParam!;
      // sum_i L_i / (2 e^{s_i}) + s_i / 2
      loss = ops.sum(ops.add(ops.mul(ops.mul(L, ops.exp(ops.neg(s))), 0.5), ops.mul(s, 0.5)));
      this.tasks.forEach((t, i) => { terms[`w_${t.name}`] = ops.mul(ops.exp(ops.neg(ops.slice(s, [i], [i + 1]))), 0.5); });
    } else {
      // The weights enter the network's loss as constants: their own gradient is GradNorm's (gradNormGradient).
      const w = ops.detach(this.taskParam!);
      loss = ops.sum(ops.mul(L, w));
      this.stepLosses = ops.detach(L);
      this.tasks.forEach((t, i) => { terms[`w_${t.name}`] = ops.slice(w, [i], [i + 1]); });
    }
    // The loop's train accuracy divides by examplesPerStep: meaningful for the first task only when every task
    // reads the same images (one input group). Per-task accuracy is in evaluate().
    if (this.groups.length > 1) return {loss, terms};
    return {loss, terms, logits: logits[0], labels: inputs[this.groups.length]};
  }

  /** GradNorm's gradient for w_i: d/dw_i sum_j |G_j - mean(G) r_j^alpha| with the target held constant. */
  private gradNormGradient(): void {
    const w = this.taskParam!;
    noGrad(() => {
      const G = ops.concat(this.gradNorms, 0);
      const L = this.stepLosses!;
      const first = this.first!.tensor;
      // L_i(0): this step's losses on the first step, kept after.
      ops.assign(this.initialLosses!, ops.add(ops.mul(L, first), ops.mul(this.initialLosses!, ops.affine(first, -1, 1))));
      const ratio = ops.div(L, this.initialLosses!);
      const r = ops.div(ratio, ops.mean(ratio));
      const target = ops.mul(ops.mean(G), ops.pow(r, this.alpha));
      // G_i = w_i ||dL_i/dh||, so dG_i/dw_i = G_i / w_i.
      const sign = ops.affine(ops.gt(ops.sub(G, target), ops.zeros([1])), 2, -1); // +1 / -1
      const grad = ops.mul(sign, ops.div(G, w));
      w.grad?.dispose();
      w.grad = grad;
    });
    if (this.weightOptimizer) { this.weightOptimizer.step(); this.weightOptimizer.zeroGrad(); }
  }

  /** After the update: w_i kept positive and renormalised so that sum_i w_i = T (Chen et al.). */
  private renormalise(): void {
    const w = this.taskParam!;
    noGrad(() => {
      const pos = ops.clamp(w, 1e-4);
      ops.assign(w, ops.mul(ops.div(pos, ops.sum(pos)), this.tasks.length));
    });
  }

  /** Current task weights on the host: effective weight per task (1/(2 e^{s_i}) or w_i or the fixed one). */
  async taskWeights(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    const v = this.taskParam ? await this.taskParam.data() : null;
    this.tasks.forEach((t, i) => {
      out[t.name] = this.weighting === 'fixed' ? t.weight ?? 1 : this.weighting === 'uncertainty' ? 0.5 * Math.exp(-v![i]) : v![i];
    });
    return out;
  }

  /** Test accuracy (and loss) of every task with a test set: `<name>_accuracy`. */
  async evaluate(): Promise<Metrics> {
    const out: Metrics = {};
    for (const t of this.tasks) {
      if (!t.test) continue;
      const r = await evaluate(this.model.task(t.name), t.test);
      out[`${t.name}_accuracy`] = r.accuracy;
      out[`${t.name}_loss`] = r.loss;
    }
    return out;
  }

  state(): Record<string, unknown> { return {loaders: this.groups.map((g) => g.loader.state())}; }
  setState(s: Record<string, unknown>): void {
    const ls = s.loaders as LoaderState[] | undefined;
    if (ls) this.groups.forEach((g, i) => { if (ls[i]) g.loader.setState(ls[i]); });
  }

  dispose(): void {
    this.optimizer.dispose();
    this.weightOptimizer?.dispose();
    for (const g of this.gradNorms) g.dispose();
    this.first?.dispose();
    this.fixedWeights?.dispose();
  }
}

function sameImages(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 97) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Runs one zero image through the trunk and checks each head can read the features: a head whose first
 * Linear expects another size is refused naming the task, before any training.
 */
function checkHead(where: string, trunk: Module, t: TaskSpec): void {
  const s = t.train;
  const feat = noGrad(() => {
    const x = ops.zeros([1, s.channels, s.height, s.width]);
    let h: Tensor;
    try { h = trunk.forward(x); } catch (e) {
      throw new Error(`webgpu-transfer: ${where}: the trunk cannot read task '${t.name}''s images [${s.channels}, ${s.height}, ${s.width}]: ${(e as Error).message.replace(/^webgpu-transfer: /, '')}`);
    }
    const shape = h.shape;
    x.dispose(); h.dispose();
    return shape;
  });
  const firstLinear = parameterLayers(t.head).find((l) => l.module instanceof Linear)?.module as Linear | undefined;
  const size = feat.slice(1).reduce((a, b) => a * b, 1);
  if (firstLinear && parameterLayers(t.head)[0].module === firstLinear && (feat.length !== 2 || firstLinear.inFeatures !== size)) {
    throw new Error(`webgpu-transfer: ${where}: task '${t.name}': its head expects ${firstLinear.inFeatures} input features but the trunk gives [${feat.join(', ')}]` +
      (feat.length === 2 ? '' : ' (end the trunk with a Flatten)'));
  }
  noGrad(() => {
    const h = ops.zeros(feat);
    try { t.head.forward(h).dispose(); } catch (e) {
      throw new Error(`webgpu-transfer: ${where}: task '${t.name}': its head cannot read the trunk's output [${feat.join(', ')}]: ${(e as Error).message.replace(/^webgpu-transfer: /, '')}`);
    } finally { h.dispose(); }
  });
}
