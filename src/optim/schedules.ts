// Learning-rate schedules: each scales every group's base lr (captured at construction) by a factor of
// the step count, so a fine-tuning setup with a smaller backbone lr keeps its ratio. The DANN schedules
// (lr_p and lambda_p of Ganin and Lempitsky 2015) and their training progress p are defined here only.
import type {GroupOptions, Optimizer} from './optimizer.js';
import {checkNumber} from './validate.js';

/** Options every schedule takes besides its own settings. */
export interface ScheduleOptions {
  /** Indices of the groups the schedule sets (default every group); the others keep their lr. */
  groups?: number[];
}

/**
 * Base of the learning-rate schedules: each scales every group's base lr (read at construction) by factor(step), so
 * groups keep their ratios. Call step() once per optimizer step.
 */
export abstract class LRSchedule {
  readonly baseLrs: number[];
  /** Number of step() calls so far. */
  steps = 0;
  /** Indices of the groups this schedule sets. */
  readonly groups: number[];
  constructor(readonly optimizer: Optimizer<GroupOptions>, opts: ScheduleOptions = {}) {
    this.baseLrs = optimizer.groups.map((g) => g.options.lr ?? 0);
    const all = optimizer.groups.map((_, i) => i);
    this.groups = opts.groups ?? all;
    const bad = this.groups.find((i) => !all.includes(i));
    if (bad !== undefined) {
      throw new Error(`webgpu-transfer: ${this.constructor.name}: no parameter group ${bad} (the optimizer has ` +
        `${all.length})`);
    }
  }
  /** The multiplier of the base learning rates after `step` steps. */
  abstract factor(step: number): number;
  /** The lr of a group whose base lr is `base` at step `step`: base times the factor. */
  lrAt(base: number, step: number): number { return base * this.factor(step); }
  /** Advances one step and writes each group's lr. */
  step(): void {
    this.steps++;
    this.apply();
  }
  /** Writes each group's lr for the current step count (step() calls it). */
  apply(): void {
    for (const i of this.groups) this.optimizer.groups[i].options.lr = this.lrAt(this.baseLrs[i], this.steps);
  }
}

/** lr * gamma^floor(step / stepSize) (torch StepLR). */
export class StepLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, readonly stepSize: number, readonly gamma = 0.1, opts: ScheduleOptions = {}) {
    super(opt, opts);
    checkNumber('StepLR', 'gamma', gamma, 0, true);
    checkNumber('StepLR', 'stepSize', stepSize, 1);
  }
  factor(s: number): number { return this.gamma ** Math.floor(s / this.stepSize); }
}

/** lr * gamma^step (torch ExponentialLR). */
export class ExponentialLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, readonly gamma: number, opts: ScheduleOptions = {}) {
    super(opt, opts);
    checkNumber('ExponentialLR', 'gamma', gamma, 0, true);
  }
  factor(s: number): number { return this.gamma ** s; }
}

/**
 * Cosine from lr down to etaMin over tMax steps (torch CosineAnnealingLR, without restarts): progress is
 * step / tMax, so step 0 runs at lr. A strategy that learns the run's length from the loop sets tMax before
 * each step.
 */
export class CosineLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, public tMax: number, readonly etaMinFactor = 0, opts: ScheduleOptions = {}) {
    super(opt, opts);
    checkNumber('CosineLR', 'tMax', tMax, 1);
  }
  factor(s: number): number {
    const t = Math.min(s, this.tMax);
    return this.etaMinFactor + (1 - this.etaMinFactor) * (1 + Math.cos(Math.PI * t / this.tMax)) / 2;
  }
}

/**
 * DANN's training progress p of step `step` (0-based) of a `total`-step run: step / (total - 1), so the first
 * step runs at p = 0 and the last at p = 1 (a one-step run: 1), clamped to 0..1. The published DANN figures
 * (apps/experiments/dann.ts) were trained with it.
 */
export function dannProgress(step: number, total: number): number {
  return total > 1 ? Math.min(1, Math.max(0, step / (total - 1))) : 1;
}

/** lambda_p of the paper: max * (2 / (1 + exp(-gamma p)) - 1), 0 at p = 0, rising to ~max; p clamped to 0..1. */
export function dannLambda(p: number, gamma = 10, max = 1): number {
  const q = Math.min(1, Math.max(0, p));
  return max * (2 / (1 + Math.exp(-gamma * q)) - 1);
}

/** lr_p of the paper: lr0 / (1 + alpha p)^beta; p clamped to 0..1. */
export function dannLr(lr0: number, p: number, alpha = 10, beta = 0.75): number {
  return lr0 / (1 + alpha * Math.min(1, Math.max(0, p))) ** beta;
}

/**
 * DANN annealing (Ganin and Lempitsky 2015): lr_p = lr0 / (1 + alpha p)^beta with p = dannProgress(step,
 * totalSteps). A strategy that learns the run's length from the loop sets totalSteps before each step.
 */
export class DannLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, public totalSteps: number, readonly alpha = 10, readonly beta = 0.75,
    opts: ScheduleOptions = {}) {
    super(opt, opts);
    checkNumber('DannLR', 'totalSteps', totalSteps, 1);
  }
  factor(s: number): number { return dannLr(1, dannProgress(s, this.totalSteps), this.alpha, this.beta); }
  /** lr0 divided by (1 + alpha p)^beta as the paper writes it, not lr0 times the factor (one rounding fewer). */
  override lrAt(base: number, s: number): number {
    return dannLr(base, dannProgress(s, this.totalSteps), this.alpha, this.beta);
  }
}
