// Plain supervised training as a strategy: one loader of (images, labels), cross-entropy (or a given loss),
// an optional learning-rate schedule, evaluation on a test set.
import * as ops from '../graph/ops.js';
import type {InputSpec} from '../graph/capture.js';
import type {Tensor} from '../graph/tensor.js';
import type {Module} from '../nn/module.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import type {LRSchedule} from '../optim/schedules.js';
import type {DataLoader, LoaderState} from '../data/loader.js';
import type {ImageSet} from '../data/image-set.js';
import {evaluate, type EvalResult, type RowLoss} from './evaluate.js';
import type {Metrics, StepOutputs, Strategy} from './strategy.js';

/**
 * A custom loss for Supervised and Trainer: from the model and a batch (x, int32 labels y), the loss, or the loss
 * with logits (for train accuracy) and named terms to log.
 */
export type SupervisedLoss = (model: Module, x: Tensor, y: Tensor) => Tensor | {loss: Tensor; logits?: Tensor; terms?: Record<string, Tensor>};

/**
 * Options of Supervised: model, optimizer, loader, and optionally a schedule, a custom loss, a test set and a name.
 */
export interface SupervisedOptions {
  model: Module;
  optimizer: Optimizer<GroupOptions>;
  loader: DataLoader;
  schedule?: LRSchedule;
  /** Loss of one batch; default cross-entropy of model(x) against y. Return logits too for train accuracy. */
  loss?: SupervisedLoss;
  /** Per-example loss the test evaluation reports (default cross-entropy of model(x)), from scores and labels. */
  evalLoss?: RowLoss;
  test?: ImageSet;
  name?: string;
}

/** Batch images as the step input spec of a loader: [batch, C, H, W] floats and [batch] int32 labels. */
export function loaderInputs(loader: DataLoader): InputSpec[] {
  const s = loader.set;
  return [{shape: [loader.opts.batch, s.channels, s.height, s.width]}, {shape: [loader.opts.batch], dtype: 'i32'}];
}

/** Runs a learning-rate schedule from the loop's step count, so resuming needs no schedule state. */
export function applySchedule(schedule: LRSchedule | undefined, step: number): void {
  if (!schedule) return;
  schedule.steps = step;
  schedule.apply();
}

/**
 * Plain supervised training as a strategy for TrainingLoop: batches of (images, labels) from one loader,
 * cross-entropy (or a given loss), an optional learning-rate schedule, and test loss and accuracy when a test set
 * is given.
 */
export class Supervised implements Strategy {
  readonly name: string;
  readonly model: Module;
  readonly optimizer: Optimizer<GroupOptions>;
  /** The full result of the latest evaluation (per-class accuracy included). */
  lastEval: EvalResult | null = null;

  constructor(readonly o: SupervisedOptions) {
    this.name = o.name ?? 'supervised';
    this.model = o.model;
    this.optimizer = o.optimizer;
    const test = o.test;
    if (test) {
      this.evaluate = async () => {
        this.lastEval = await evaluate(this.model, test, 256, o.evalLoss);
        return {test_loss: this.lastEval.loss, test_accuracy: this.lastEval.accuracy};
      };
    }
  }

  get examplesPerStep(): number { return this.o.loader.opts.batch; }
  get stepsPerEpoch(): number { return this.o.loader.batchesPerEpoch; }
  epoch(): number { return this.o.loader.epoch; }
  inputs(): InputSpec[] { return loaderInputs(this.o.loader); }
  nextBatch(): ArrayLike<number>[] { return this.o.loader.next(); }
  beforeStep(step: number): void { applySchedule(this.o.schedule, step); }

  loss([x, y]: Tensor[]): StepOutputs {
    if (!this.o.loss) {
      const logits = this.model.forward(x);
      return {loss: ops.crossEntropy(logits, y), logits, labels: y};
    }
    const out = this.o.loss(this.model, x, y);
    return (out as Tensor).__isTensor ? {loss: out as Tensor} : {...(out as StepOutputs), labels: y};
  }

  /** Test loss and accuracy (present only when a test set was given). */
  readonly evaluate?: () => Promise<Metrics>;

  state(): Record<string, unknown> { return {loader: this.o.loader.state()}; }
  setState(s: Record<string, unknown>): void { if (s.loader) this.o.loader.setState(s.loader as LoaderState); }
}
