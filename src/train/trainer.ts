// The training loop every demo uses: a captured step replayed per batch, train/eval metrics, a live progress
// bar on a TTY (plain lines otherwise), throughput, metrics as JSON lines, checkpoints every N steps, resume.
import {appendFileSync, mkdirSync} from 'node:fs';
import {dirname} from 'node:path';
import cliProgress from 'cli-progress';
import {compile, type CompiledStep} from '../graph/capture.js';
import {keep, noGrad, rt, tidy} from '../graph/engine.js';
import * as O from '../graph/ops.js';
import type {Tensor} from '../graph/tensor.js';
import type {Module} from '../nn/module.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import type {LRSchedule} from '../optim/schedules.js';
import type {DataLoader, LoaderState} from '../data/loader.js';
import type {ImageSet} from '../data/mnist.js';
import {evaluate, type EvalResult} from './evaluate.js';
import {loadCheckpoint, saveCheckpoint} from './checkpoint.js';

export interface TrainerOptions {
  model: Module;
  optimizer: Optimizer<GroupOptions>;
  loader: DataLoader;
  /** Total training steps (batches). */
  steps: number;
  schedule?: LRSchedule;
  /** Loss of one batch; default cross-entropy of model(x) against y. Return logits too for train accuracy. */
  loss?: (model: Module, x: Tensor, y: Tensor) => Tensor | {loss: Tensor; logits: Tensor};
  test?: ImageSet;
  /** Evaluate on `test` every this many steps (default: each epoch and at the end). */
  evalEvery?: number;
  metricsPath?: string;
  checkpointPath?: string;
  checkpointEvery?: number;
  /** Resume from this checkpoint before training. */
  resume?: string;
  name?: string;
  /** Progress: 'auto' (bar on a TTY, lines otherwise), 'bar', 'lines' or 'none'. */
  progress?: 'auto' | 'bar' | 'lines' | 'none';
  /** Steps between plain progress lines / loss read-backs (default 50). */
  logEvery?: number;
}

export interface TrainResult { step: number; seconds: number; imagesPerSecond: number; lastLoss: number; evals: (EvalResult & {step: number})[] }

const defaultLoss = (model: Module, x: Tensor, y: Tensor) => {
  const logits = model.forward(x);
  return {loss: O.crossEntropy(logits, y), logits};
};

export class Trainer {
  step = 0;
  private compiled: CompiledStep<Tensor> | null = null;
  /** Correct predictions since the last log line, counted on the GPU inside the step. */
  private correct: Tensor | null = null;
  constructor(readonly o: TrainerOptions) {
    if (!(o.steps >= 1)) throw new Error(`webgpu-transfer: Trainer: steps must be >= 1, got ${o.steps}`);
  }

  private metric(rec: Record<string, unknown>): void {
    if (!this.o.metricsPath) return;
    mkdirSync(dirname(this.o.metricsPath), {recursive: true});
    appendFileSync(this.o.metricsPath, JSON.stringify({name: this.o.name, time: new Date().toISOString(), ...rec}) + '\n');
  }

  private buildStep(first: [Float32Array, Int32Array]): CompiledStep<Tensor> {
    const {model, optimizer, loader} = this.o;
    const set = loader.set;
    const lossFn = this.o.loss ?? defaultLoss;
    this.correct ??= keep(O.zeros([1]));
    const correct = this.correct;
    return compile([{shape: [loader.opts.batch, set.channels, set.height, set.width]}, {shape: [loader.opts.batch], dtype: 'i32'}], first, (x, y) => tidy(() => {
      const out = lossFn(model, x, y);
      const loss = (out as Tensor).__isTensor ? (out as Tensor) : (out as {loss: Tensor}).loss;
      const logits = (out as {logits?: Tensor}).logits;
      if (logits) noGrad(() => {
        // A row counts as correct when its label's logit equals the row maximum.
        const hit = O.sum(O.mul(O.oneHot(y, logits.shape[1]), O.ge(logits, O.max(logits, 1, true))));
        O.assign(correct, O.add(correct, hit));
      });
      loss.backward();
      optimizer.step();
      optimizer.zeroGrad();
      return loss;
    }));
  }

  async checkpoint(path = this.o.checkpointPath): Promise<void> {
    if (!path) throw new Error('webgpu-transfer: Trainer.checkpoint: no checkpointPath');
    await saveCheckpoint(path, this.o.model, this.o.optimizer, {step: this.step, loader: this.o.loader.state(), schedule: this.o.schedule?.steps ?? 0});
  }

  async fit(): Promise<TrainResult> {
    const {model, loader, schedule, test} = this.o;
    if (this.o.resume) {
      const pos = await loadCheckpoint(this.o.resume, model, this.o.optimizer);
      this.step = pos.step;
      loader.setState(pos.loader as LoaderState);
      if (schedule) { schedule.steps = Number(pos.schedule ?? 0); schedule.apply(); }
      this.metric({event: 'resume', from: this.o.resume, step: this.step});
    }
    model.train();
    const logEvery = this.o.logEvery ?? 50;
    const evalEvery = this.o.evalEvery ?? loader.batchesPerEpoch;
    const mode = this.o.progress === 'auto' || !this.o.progress ? (process.stdout.isTTY ? 'bar' : 'lines') : this.o.progress;
    const bar = mode === 'bar' ? new cliProgress.SingleBar({format: `${this.o.name ?? 'train'} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | epoch {epoch}`, hideCursor: true}, cliProgress.Presets.shades_classic) : null;
    bar?.start(this.o.steps, this.step, {loss: '-', ips: '-', epoch: loader.epoch});
    const evals: TrainResult['evals'] = [];
    const t0 = performance.now();
    const startStep = this.step;
    let lastLoss = NaN;
    let lastLogStep = this.step;
    while (this.step < this.o.steps) {
      const batch = loader.next();
      let loss: Tensor;
      if (!this.compiled) { this.compiled = this.buildStep(batch); loss = this.compiled.output; } else loss = this.compiled.run(batch);
      this.step++;
      schedule?.step();
      const last = this.step === this.o.steps;
      if (this.step % logEvery === 0 || last) {
        lastLoss = await loss.item();
        if (!Number.isFinite(lastLoss)) throw new Error(`webgpu-transfer: training diverged: loss ${lastLoss} at step ${this.step} (lower the learning rate, or check labels are in range)`);
        const ips = ((this.step - startStep) * loader.opts.batch) / ((performance.now() - t0) / 1000);
        const trainAcc = (await this.correct!.item()) / ((this.step - lastLogStep) * loader.opts.batch);
        rt().write(this.correct!.buffer, new Float32Array(1));
        lastLogStep = this.step;
        this.metric({step: this.step, epoch: loader.epoch, loss: lastLoss, train_accuracy: trainAcc, lr: this.o.optimizer.lr, imagesPerSecond: ips});
        if (bar) bar.update(this.step, {loss: lastLoss.toFixed(4), ips: ips.toFixed(0), epoch: loader.epoch});
        else if (mode === 'lines') console.log(`${this.o.name ?? 'train'} step ${this.step}/${this.o.steps} epoch ${loader.epoch} loss ${lastLoss.toFixed(4)} train acc ${(100 * trainAcc).toFixed(1)}% lr ${this.o.optimizer.lr.toPrecision(3)} ${ips.toFixed(0)} img/s`);
      } else bar?.update(this.step);
      if (this.o.checkpointPath && this.o.checkpointEvery && this.step % this.o.checkpointEvery === 0) await this.checkpoint();
      if (test && (this.step % evalEvery === 0 || last)) {
        const r = await evaluate(model, test);
        model.train();
        evals.push({...r, step: this.step});
        this.metric({step: this.step, epoch: loader.epoch, test_loss: r.loss, test_accuracy: r.accuracy});
        if (mode === 'lines') console.log(`${this.o.name ?? 'train'} step ${this.step}: test loss ${r.loss.toFixed(4)}, accuracy ${(100 * r.accuracy).toFixed(2)}%`);
      }
    }
    bar?.stop();
    if (this.o.checkpointPath) await this.checkpoint();
    const seconds = (performance.now() - t0) / 1000;
    return {step: this.step, seconds, imagesPerSecond: ((this.step - startStep) * loader.opts.batch) / seconds, lastLoss, evals};
  }

  dispose(): void { this.compiled?.dispose(); this.compiled = null; this.correct?.dispose(); this.correct = null; }
}
