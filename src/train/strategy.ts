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

export type Metrics = Record<string, number>;

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
  setState(s: Record<string, unknown>): void;
  dispose?(): void;
}

/** Where checkpoints go: files in Node, memory or downloads in a browser. */
export interface CheckpointStore {
  save(model: Module, optimizer: Optimizer<GroupOptions>, position: Position): Promise<void>;
  /** Restores model and optimizer; null when there is nothing to resume from. */
  load(model: Module, optimizer: Optimizer<GroupOptions>): Promise<Position | null>;
}

export interface Position {
  step: number;
  strategy?: Record<string, unknown>;
  /** Train accuracy's running sums since the last logEvery record: a resumed run records what an uninterrupted one does. */
  accuracy?: {fromStep: number; correct: number};
  [k: string]: unknown;
}

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
  start?(info: {name: string; steps: number; startStep: number; epoch: number}): void;
  /** Every step (cheap: progress bars). */
  tick?(step: number): void;
  /** Every logEvery steps and the last step, after the loss was read back. */
  record?(r: StepRecord): void;
  evaluation?(r: {step: number; epoch: number; metrics: Metrics}): void;
  event?(name: string, data: Record<string, unknown>): void;
  end?(summary: {step: number; seconds: number; examplesPerSecond: number; stopped: boolean}): void;
}
