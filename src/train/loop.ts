// The training loop every strategy, demo and page shares: it compiles the strategy's step once, replays it per
// batch, runs the strategy's host-side schedules before each step, reads the loss back only every logEvery
// steps, evaluates, checkpoints and reports through sinks. It knows no platform: Node's progress bar and files,
// a page's charts and downloads are sinks and checkpoint stores at the edge.
import {compile, type CompiledStep} from '../graph/capture.js';
import {keep, noGrad, rt, tidy} from '../graph/engine.js';
import * as ops from '../graph/ops.js';
import {fromData, type Tensor} from '../graph/tensor.js';
import {recordCases} from '../graph/kernels/select.js';
import {measuring, tuneCases, type KernelTiming, type TuneOptions} from '../graph/kernels/tune.js';
import type {CheckpointStore, Metrics, Position, Sink, StepOutputs, Strategy} from './strategy.js';

/** Options of TrainingLoop: total steps, sinks, how often to log, evaluate and checkpoint, resume, early stop. */
export interface LoopOptions {
  /** Total steps (a resumed run continues up to this count). */
  steps: number;
  sinks?: Sink[];
  /** Steps between loss read-backs and records (default 50; the last step is always recorded). */
  logEvery?: number;
  /** Steps between evaluations (default: once per epoch, at most about 20 a run); the last step always evaluates. */
  evalEvery?: number;
  checkpointEvery?: number;
  store?: CheckpointStore;
  /** Restore from the store before the first step. */
  resume?: boolean;
  name?: string;
  /** Wait for a macrotask every this many steps so a page stays responsive (default: never). */
  yieldEvery?: number;
  /**
   * Polled after every step (each step ends with a macrotask, so a signal handler or a page's Stop button has
   * run by then): return true to stop early. fit() can be called again.
   */
  shouldStop?: () => boolean;
  /**
   * Measure the kernel variants of the step's shapes once (`webgpu-transfer tune` ahead of time does the same):
   * the first step records its kernels, they are timed after it, and the step is compiled again where a measured
   * variant differs from the table's. 'auto' (default): on hardware GPUs, where it takes seconds (minutes on the CPU
   * adapters); true: on any adapter; false: never; TuneOptions: on any adapter, measured as those say (a timer,
   * persist). The choices are cached per adapter, so each shape pays once. Off wherever measured choices are
   * (kernelPrefs.measured false, WGT_MEASURED=0).
   */
  tune?: boolean | 'auto' | TuneOptions;
}

/**
 * What TrainingLoop.fit() returns: steps done, time and throughput, the last loss and terms, every evaluation,
 * whether it stopped early.
 */
export interface LoopResult {
  step: number;
  seconds: number;
  examplesPerSecond: number;
  lastLoss: number;
  lastTerms: Metrics;
  evals: {step: number; metrics: Metrics}[];
  stopped: boolean;
}

interface StepTensors { loss: Tensor; terms: Record<string, Tensor> }

/** The key of the loss among the compiled step's outputs (terms use their own names). */
const LOSS = '\u0000loss';
const macrotask = () => new Promise<void>((r) => setTimeout(r, 0));
/** The next turn of the event loop, without setTimeout's clamp: signal handlers and input events run first. */
const nextTurn: () => Promise<void> = typeof setImmediate === 'function'
  ? () => new Promise((r) => setImmediate(r))
  : () => new Promise((r) => { const c = new MessageChannel(); c.port1.onmessage = () => r(); c.port2.postMessage(0); });
/** Steps the host may queue behind the one the GPU runs: a stop then waits for at most this one more step. */
const MAX_QUEUED_STEPS = 1;

/**
 * The training loop every strategy, demo and page shares: compiles the strategy's step once and replays it per
 * batch, runs the strategy's schedules before each step, reads the loss back every logEvery steps, evaluates,
 * checkpoints and reports to sinks. It knows no platform: progress bars, files, charts and downloads are sinks and
 * checkpoint stores.
 *
 * @example
 * ```ts
 * const {train, test} = await wt.fetchDataset('mnist');   // in Node: wt.loadDataset('mnist')
 * const model = wt.leNet5();
 * const strategy = new wt.Supervised({model, optimizer: new wt.Adam(model.parameters()),
 *   loader: new wt.DataLoader(train, {batch: 64}), test});
 * const result = await new wt.TrainingLoop(strategy, {steps: 500, logEvery: 50}).fit();
 * console.log(result.lastLoss, result.evals.at(-1)?.metrics.test_accuracy);
 * ```
 */
export class TrainingLoop {
  step = 0;
  private compiled: CompiledStep<Record<string, Tensor>> | null = null;
  /** The compiled step's outputs (the same tensors after every replay). */
  private outputs: StepTensors | null = null;
  /** Correct predictions since step windowStart, counted on the GPU inside the step. */
  private correct: Tensor | null = null;
  /** The step train accuracy counts from: the last record on the logEvery grid. */
  private windowStart = 0;
  private hasLogits = false;
  private resumed = false;
  /** Completion of the steps submitted and maybe not yet run by the GPU, oldest first. */
  private queued: Promise<void>[] = [];
  /** The kernel cases the first step launched, to measure after it (LoopOptions.tune). */
  private toTune: ReturnType<typeof recordCases> | null = null;
  private tuned = false;

  constructor(readonly strategy: Strategy, readonly o: LoopOptions) {
    if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`webgpu-transfer: TrainingLoop: steps must be an integer >= 1, got ${o.steps}`);
    for (const [k, v] of [['logEvery', o.logEvery], ['evalEvery', o.evalEvery], ['checkpointEvery', o.checkpointEvery], ['yieldEvery', o.yieldEvery]] as const) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new Error(`webgpu-transfer: TrainingLoop: ${k} must be an integer >= 1, got ${v}`);
    }
    if (o.checkpointEvery && !o.store) throw new Error('webgpu-transfer: TrainingLoop: checkpointEvery needs a checkpoint store');
  }

  private emit<K extends keyof Sink>(k: K, ...args: Parameters<NonNullable<Sink[K]>>): void {
    for (const s of this.o.sinks ?? []) (s[k] as ((...a: unknown[]) => void) | undefined)?.apply(s, args);
  }

  private build(first: ArrayLike<number>[]): CompiledStep<Record<string, Tensor>> {
    const {strategy} = this;
    this.correct ??= keep(ops.zeros([1]));
    const correct = this.correct;
    const step = compile(strategy.inputs(), first, (...inputs) => tidy(() => {
      const out: StepOutputs = strategy.loss(inputs);
      if (!out?.loss?.__isTensor || out.loss.size !== 1) {
        throw new Error(`webgpu-transfer: strategy '${strategy.name}': loss() must return {loss: a one-element tensor}, got ${out?.loss?.__isTensor ? out.loss.describe() : typeof out?.loss}`);
      }
      for (const [k, t] of Object.entries(out.terms ?? {})) {
        if (!t?.__isTensor || t.size !== 1) throw new Error(`webgpu-transfer: strategy '${strategy.name}': loss term '${k}' must be a one-element tensor`);
      }
      if (out.logits && out.labels) {
        this.hasLogits = true;
        const {logits, labels} = out;
        noGrad(() => {
          // A row counts as correct when its label's logit equals the row maximum.
          const hit = ops.sum(ops.mul(ops.oneHot(labels, logits.shape[1]), ops.ge(logits, ops.max(logits, 1, true))));
          ops.assign(correct, ops.add(correct, hit));
        });
      }
      out.loss.backward();
      strategy.optimizer.step();
      strategy.optimizer.zeroGrad();
      // Detached views: the step returns loss and terms without keeping the graph alive.
      const flat: Record<string, Tensor> = {[LOSS]: ops.detach(out.loss)};
      for (const [k, t] of Object.entries(out.terms ?? {})) flat[k] = ops.detach(t);
      return flat;
    }));
    const {[LOSS]: loss, ...terms} = step.output;
    this.outputs = {loss, terms};
    return step;
  }

  /** Saves model, optimizer and position (step, the strategy's data order and schedules) to the store. */
  async checkpoint(): Promise<void> {
    if (!this.o.store) throw new Error('webgpu-transfer: TrainingLoop.checkpoint: no checkpoint store');
    const accuracy: Position['accuracy'] = {fromStep: this.windowStart, correct: this.correct ? await this.correct.item() : 0};
    await this.o.store.save(this.strategy.model, this.strategy.optimizer, {step: this.step, strategy: this.strategy.state(), accuracy});
    this.emit('event', 'checkpoint', {step: this.step});
  }

  private async restore(): Promise<void> {
    if (this.resumed || !this.o.resume) return;
    this.resumed = true;
    if (!this.o.store) throw new Error('webgpu-transfer: TrainingLoop: resume needs a checkpoint store');
    const pos = await this.o.store.load(this.strategy.model, this.strategy.optimizer);
    if (!pos) return;
    if (pos.step > this.o.steps) throw new Error(`webgpu-transfer: TrainingLoop: the checkpoint is at step ${pos.step}, past the ${this.o.steps} steps asked for`);
    this.step = pos.step;
    this.strategy.setState(pos.strategy ?? {});
    // A checkpoint without the window (an older one) starts it afresh at its step.
    const w = pos.accuracy;
    const valid = w && Number.isInteger(w.fromStep) && w.fromStep >= 0 && w.fromStep <= pos.step &&
      Number.isFinite(w.correct) && w.correct >= 0;
    this.windowStart = valid ? w.fromStep : pos.step;
    this.correct?.dispose();
    this.correct = keep(fromData([valid ? w.correct : 0], [1]));
    this.emit('event', 'resume', {step: this.step});
  }

  /**
   * Trains up to the total step count (resuming first if asked) and returns the summary; after a stop, fit()
   * continues.
   */
  async fit(): Promise<LoopResult> {
    const {strategy, o} = this;
    await this.restore();
    strategy.model.train();
    const name = o.name ?? strategy.name;
    const logEvery = o.logEvery ?? 50;
    // Once per epoch, but at most about 20 times a run: a few-shot set has an epoch every step or two.
    const evalEvery = o.evalEvery ?? Math.max(1, strategy.stepsPerEpoch, Math.ceil(o.steps / 20));
    const epoch = () => strategy.epoch?.() ?? 0;
    this.emit('start', {name, steps: o.steps, startStep: this.step, epoch: epoch()});
    const evals: LoopResult['evals'] = [];
    const t0 = performance.now();
    const startStep = this.step;
    let lastLoss = NaN, lastTerms: Metrics = {};
    let stopped = false;
    while (this.step < o.steps) {
      if (o.shouldStop?.()) { stopped = true; break; }
      strategy.beforeStep?.(this.step, o.steps);
      const batch = strategy.nextBatch();
      if (this.compiled) this.compiled.run(batch);
      else if (!this.wantsTune()) this.compiled = this.build(batch);
      else this.toTune = recordCases(() => { this.compiled = this.build(batch); });
      const out = this.outputs!;
      this.step++;
      const last = this.step === o.steps;
      await this.pace();
      this.emit('tick', this.step);
      if (this.step % logEvery === 0 || last) {
        const names = Object.keys(out.terms);
        const values = await Promise.all([out.loss.item(), ...names.map((k) => out.terms[k].item())]);
        lastLoss = values[0];
        lastTerms = Object.fromEntries(names.map((k, i) => [k, values[i + 1]]));
        if (!Number.isFinite(lastLoss)) {
          throw new Error(`webgpu-transfer: training diverged: loss ${lastLoss} at step ${this.step} (lower the learning rate, or check labels are in range)${names.length ? `; terms ${names.map((k) => `${k}=${lastTerms[k]}`).join(', ')}` : ''}`);
        }
        const seen = (this.step - this.windowStart) * strategy.examplesPerStep;
        const trainAccuracy = this.hasLogits ? (await this.correct!.item()) / seen : undefined;
        // Only a record on the grid restarts the window: a run cut at another step resumes mid-window.
        if (this.step % logEvery === 0) {
          if (this.hasLogits) rt().write(this.correct!.buffer, new Float32Array(1));
          this.windowStart = this.step;
        }
        const examplesPerSecond = ((this.step - startStep) * strategy.examplesPerStep) / ((performance.now() - t0) / 1000);
        this.emit('record', {step: this.step, epoch: epoch(), loss: lastLoss, terms: lastTerms, trainAccuracy, lr: strategy.optimizer.lr, examplesPerSecond});
      }
      if (o.store && o.checkpointEvery && this.step % o.checkpointEvery === 0) await this.checkpoint();
      // A stop skips the evaluation due now (it can take many steps' time), not the last one.
      if (strategy.evaluate && ((this.step % evalEvery === 0 && !o.shouldStop?.()) || last)) {
        const metrics = await strategy.evaluate();
        strategy.model.train();
        evals.push({step: this.step, metrics});
        this.emit('evaluation', {step: this.step, epoch: epoch(), metrics});
      }
      if (o.yieldEvery && this.step % o.yieldEvery === 0) await macrotask();
      // After the first step is recorded and read: its outputs are not used again once it is compiled anew.
      if (this.toTune) await this.tuneKernels();
    }
    if (o.store && !stopped) await this.checkpoint();
    const seconds = (performance.now() - t0) / 1000;
    const summary = {step: this.step, seconds, examplesPerSecond: ((this.step - startStep) * strategy.examplesPerStep) / Math.max(seconds, 1e-9), stopped};
    this.emit('end', summary);
    return {...summary, lastLoss, lastTerms, evals};
  }

  /**
   * Ends each step with a macrotask (signal handlers and page events run, so shouldStop sees a stop now) and
   * keeps at most MAX_QUEUED_STEPS steps queued: Dawn's submit returns at once on SwiftShader, and a host running
   * dozens of steps ahead would make a stop, or a checkpoint's read-back, wait for all of them.
   */
  private async pace(): Promise<void> {
    this.queued.push(rt().workDone());
    while (this.queued.length > MAX_QUEUED_STEPS) await this.queued.shift();
    await nextTurn();
  }

  private wantsTune(): boolean {
    const t = this.o.tune ?? 'auto';
    return !this.tuned && measuring() && t !== false && (t !== 'auto' || !rt().ctx.report.isCpu);
  }

  /**
   * Times the recorded cases' variants; where a new measurement moved a case off the table's choice, the next step
   * compiles again and takes it.
   */
  private async tuneKernels(): Promise<void> {
    const cases = this.toTune!;
    this.toTune = null;
    this.tuned = true;
    const t0 = performance.now();
    const timings: KernelTiming[] = await tuneCases(cases, typeof this.o.tune === 'object' ? this.o.tune : {});
    const moved = timings.filter((t) => !t.cached && t.choice !== t.table);
    this.emit('event', 'tune', {shapes: timings.length, measured: timings.filter((t) => !t.cached).length,
      moved: moved.length, seconds: (performance.now() - t0) / 1000});
    if (!moved.length) return;
    await rt().sync();
    this.dropCompiled();
  }

  /** Frees the compiled step and its outputs; the next step compiles it again. */
  private dropCompiled(): void {
    if (this.compiled) {
      for (const t of Object.values(this.compiled.output)) t.dispose();
      this.compiled.dispose();
    }
    this.compiled = null;
    this.outputs = null;
  }

  /** Frees the compiled step and its outputs (the strategy, model and optimizer stay). */
  dispose(): void {
    this.queued = [];
    this.dropCompiled();
    this.correct?.dispose();
    this.correct = null;
  }
}
