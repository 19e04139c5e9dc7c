// What the training loop drives. A strategy owns its models, optimizer and data; the loop owns the compiled
// step, the step counter, logging, evaluation timing and checkpoints. Plain supervised training is the
// simplest strategy; each transfer setup (src/transfer/) is another. Nothing here knows Node or a browser.
import type {InputSpec} from '../graph/capture.js';
import type {Tensor} from '../graph/tensor.js';
import type {Module} from '../nn/module.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';

/** What one step's loss function returns: the loss to minimise and what the loop should log. */
export interface StepOutputs {
  loss: Tensor;
  /** Named loss terms logged beside the loss (e.g. ce, l2sp, kl): one-element tensors. */
  terms?: Record<string, Tensor>;
  /** Logits and int32 labels of the supervised part, for train accuracy (counted on the GPU). */
  logits?: Tensor;
  labels?: Tensor;
}

/** Named numbers a strategy or evaluation reports (test_loss, test_accuracy, ...). */
export type Metrics = Record<string, number>;

/**
 * What a TrainingLoop trains: the strategy owns the model, optimizer and data and builds each step's loss from ops;
 * the loop owns the compiled step, the step counter, logging, evaluation and checkpoints. Supervised is the plain
 * one; transfer.FineTune, transfer.Dann and the others are strategies too.
 */
export interface Strategy {
  readonly name: string;
  /** Everything trained and checkpointed (a container module when the strategy has several parts). */
  readonly model: Module;
  readonly optimizer: Optimizer<GroupOptions>;
  /** Examples per step, for images/s. */
  readonly examplesPerStep: number;
  /** Steps in one pass over the (main) training data: evaluation defaults to once per epoch. */
  readonly stepsPerEpoch: number;
  /** Shapes and dtypes of the step's inputs (any number: DANN takes source images, labels, target images). */
  inputs(): InputSpec[];
  /** Host data of the next batch, one array per input. */
  nextBatch(): ArrayLike<number>[];
  /** The loss of one batch, built from ops; runs inside a compiled step (synchronous, no read-back). */
  loss(inputs: Tensor[]): StepOutputs;
  /** Host-side schedules before step `step` (0-based) of `total`: learning rates, runtime values. */
  beforeStep?(step: number, total: number): void;
  /** Evaluation (e.g. test loss and accuracy); the loop calls it every evalEvery steps and at the end. */
  evaluate?(): Promise<Metrics>;
  /** The epoch the data is in (for logs). */
  epoch?(): number;
  /** Host state for exact resume (data order, schedules), JSON-serialisable. */
  state(): Record<string, unknown>;
  /** Restores the host state that state() returned (on resume). */
  setState(s: Record<string, unknown>): void;
  /** Frees what the strategy allocated (not the model or optimizer it was given). */
  dispose?(): void;
}

/** Where checkpoints go: files in Node, memory or downloads in a browser. */
export interface CheckpointStore {
  /** Saves model, optimizer and the loop position. */
  save(model: Module, optimizer: Optimizer<GroupOptions>, position: Position): Promise<void>;
  /** Restores model and optimizer; null when there is nothing to resume from. */
  load(model: Module, optimizer: Optimizer<GroupOptions>): Promise<Position | null>;
}

/** Where a run stands, as checkpoints store it: the step, the strategy's host state, and train-accuracy sums. */
export interface Position {
  step: number;
  strategy?: Record<string, unknown>;
  /** Train accuracy's running sums since the last logEvery record: a resumed run records what an uninterrupted one does. */
  accuracy?: {fromStep: number; correct: number};
  [k: string]: unknown;
}

/** One logged step: loss and loss terms, train accuracy, learning rate and throughput. */
export interface StepRecord {
  step: number;
  epoch: number;
  loss: number;
  terms: Metrics;
  /** Fraction of the examples since the previous record on the logEvery grid whose logits ranked their label first. */
  trainAccuracy?: number;
  lr: number;
  examplesPerSecond: number;
}

/** Receives what the loop reports. Every method is optional. */
export interface Sink {
  /** Before the first step: the run name, its total steps, where it starts and the epoch. */
  start?(info: {name: string; steps: number; startStep: number; epoch: number}): void;
  /** Every step (cheap: progress bars). */
  tick?(step: number): void;
  /** Every logEvery steps and the last step, after the loss was read back. */
  record?(r: StepRecord): void;
  /** After each evaluation, with the strategy's metrics. */
  evaluation?(r: {step: number; epoch: number; metrics: Metrics}): void;
  /** Anything else worth a line in a log (resume, checkpoint saved, ...), with its data. */
  event?(name: string, data: Record<string, unknown>): void;
  /** After the last step (or a stop): steps done, seconds, throughput, and whether it stopped early. */
  end?(summary: {step: number; seconds: number; examplesPerSecond: number; stopped: boolean}): void;
}
