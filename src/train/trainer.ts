// Node's one-call trainer: the Supervised strategy driven by the shared TrainingLoop, with a progress bar or
// plain lines, JSON-lines metrics and safetensors checkpoints. Other strategies use TrainingLoop directly.
import type {Module} from '../nn/module.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import type {LRSchedule} from '../optim/schedules.js';
import type {DataLoader} from '../data/loader.js';
import type {ImageSet} from '../data/image-set.js';
import type {EvalResult, RowLoss} from './evaluate.js';
import {TrainingLoop, type LoopOptions} from './loop.js';
import {Supervised, type SupervisedLoss} from './supervised.js';
import {ConsoleSink, FileCheckpointStore, JsonlSink, type ProgressMode} from './sinks/node.js';
import type {Sink, Strategy} from './strategy.js';

/**
 * Options of Trainer: model, optimizer, loader and steps, and optionally a schedule, a loss, a test set, metrics
 * and checkpoint files, resume, progress output.
 */
export interface TrainerOptions {
  /** What to train: a strategy (a transfer setup, say), or else model, optimizer and loader (plain supervised). */
  strategy?: Strategy;
  model?: Module;
  optimizer?: Optimizer<GroupOptions>;
  loader?: DataLoader;
  /** Total training steps (batches). */
  steps: number;
  schedule?: LRSchedule;
  /** Loss of one batch; default cross-entropy of model(x) against y. Return logits too for train accuracy. */
  loss?: SupervisedLoss;
  /** Per-example loss the test evaluation reports (default cross-entropy). */
  evalLoss?: RowLoss;
  test?: ImageSet;
  /** Evaluate on `test` every this many steps (default: each epoch and at the end). */
  evalEvery?: number;
  metricsPath?: string;
  checkpointPath?: string;
  checkpointEvery?: number;
  /** Written into the checkpoint's header: what the run trained on (dataset, split seed, model, ...). */
  runInfo?: Record<string, string>;
  /** Resume from this checkpoint before training. */
  resume?: string;
  name?: string;
  /** Progress: 'auto' (bar on a TTY, lines otherwise), 'bar', 'lines' or 'none'. */
  progress?: ProgressMode;
  /** Steps between plain progress lines / loss read-backs (default 50). */
  logEvery?: number;
  /** More sinks (besides the console and metrics file). */
  sinks?: Sink[];
  /** Polled between steps: true stops after the current step (fit() then reports stopped; no checkpoint is saved). */
  shouldStop?: () => boolean;
  /** Measure the step's kernel variants after its first step (LoopOptions.tune; default 'auto': hardware GPUs). */
  tune?: LoopOptions['tune'];
}

/**
 * What Trainer.fit() returns: steps done, time, images/s, the last loss, every evaluation, whether it stopped
 * early.
 */
export interface TrainResult {
  step: number; seconds: number; imagesPerSecond: number; lastLoss: number; evals: (EvalResult & {step: number})[];
  /** True when shouldStop ended the run before its last step. */
  stopped: boolean;
}

/**
 * Node's one-call trainer: the Supervised strategy in a TrainingLoop with a progress bar or plain lines on the
 * terminal, JSON-lines metrics and safetensors checkpoints (with resume).
 *
 * @example
 * ```ts
 * await wt.init();
 * const {train, test} = wt.loadDataset('mnist');
 * const model = wt.leNet5();
 * const trainer = new wt.Trainer({model, optimizer: new wt.Adam(model.parameters(), {lr: 0.002}),
 *   loader: new wt.DataLoader(train, {batch: 64, seed: 1}), steps: 600, test,
 *   checkpointPath: 'run/model.safetensors', checkpointEvery: 200, metricsPath: 'run/metrics.jsonl'});
 * const result = await trainer.fit();   // {step, seconds, imagesPerSecond, lastLoss, evals, stopped}
 * ```
 */
export class Trainer {
  readonly strategy: Strategy & {lastEval?: EvalResult | null};
  readonly loop: TrainingLoop;

  constructor(readonly o: TrainerOptions) {
    if (!(o.steps >= 1)) throw new Error(`webgpu-transfer: Trainer: steps must be >= 1, got ${o.steps}`);
    if (o.strategy) this.strategy = o.strategy;
    else if (o.model && o.optimizer && o.loader) {
      this.strategy = new Supervised({model: o.model, optimizer: o.optimizer, loader: o.loader, schedule: o.schedule,
        loss: o.loss, evalLoss: o.evalLoss, test: o.test, name: o.name});
    } else throw new Error('webgpu-transfer: Trainer: give a strategy, or a model, an optimizer and a loader');
    const sinks: Sink[] = [new ConsoleSink(o.progress ?? 'auto'), ...(o.sinks ?? [])];
    if (o.metricsPath) sinks.push(new JsonlSink(o.metricsPath, o.name, o.runInfo));
    const store = o.checkpointPath || o.resume ? new FileCheckpointStore({path: o.checkpointPath, resumeFrom: o.resume, metadata: o.runInfo}) : undefined;
    this.loop = new TrainingLoop(this.strategy, {
      steps: o.steps, sinks, logEvery: o.logEvery, evalEvery: o.evalEvery, checkpointEvery: o.checkpointPath ? o.checkpointEvery : undefined, store,
      resume: !!o.resume, name: o.name, shouldStop: o.shouldStop, tune: o.tune,
    });
  }

  get step(): number { return this.loop.step; }

  /** Saves a checkpoint now (checkpointPath must be set). */
  checkpoint(): Promise<void> { return this.loop.checkpoint(); }

  /** Trains for the configured steps (after resuming, if asked) and returns the summary. */
  async fit(): Promise<TrainResult> {
    const evals: TrainResult['evals'] = [];
    // Keep each full evaluation (per-class accuracy included) for callers that read r.evals.
    const collect: Sink = {evaluation: ({step, metrics}) => {
      const e = this.strategy.lastEval;
      if (e) evals.push({...e, step});
      else if (metrics.test_accuracy !== undefined) {
        evals.push({step, accuracy: metrics.test_accuracy, loss: metrics.test_loss ?? NaN, n: 0, perClass: []});
      }
    }};
    (this.loop.o.sinks ??= []).push(collect);
    try {
      const r = await this.loop.fit();
      return {step: r.step, seconds: r.seconds, imagesPerSecond: r.examplesPerSecond, lastLoss: r.lastLoss, evals, stopped: r.stopped};
    } finally {
      this.loop.o.sinks.splice(this.loop.o.sinks.indexOf(collect), 1);
    }
  }

  /** Frees the compiled step (the model and optimizer stay). */
  dispose(): void { this.loop.dispose(); }
}
