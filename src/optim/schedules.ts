// Learning-rate schedules: each scales every group's base lr (captured at construction) by a factor of
// the step count, so a fine-tuning setup with a smaller backbone lr keeps its ratio.
import type {GroupOptions, Optimizer} from './optimizer.js';

/**
 * Base of the learning-rate schedules: each scales every group's base lr (read at construction) by factor(step), so
 * groups keep their ratios. Call step() once per optimizer step.
 */
export abstract class LRSchedule {
  readonly baseLrs: number[];
  /** Number of step() calls so far. */
  steps = 0;
  constructor(readonly optimizer: Optimizer<GroupOptions>) {
    this.baseLrs = optimizer.groups.map((g) => g.options.lr ?? 0);
  }
  /** The multiplier of the base learning rates after `step` steps. */
  abstract factor(step: number): number;
  /** Advances one step and writes each group's lr. */
  step(): void {
    this.steps++;
    this.apply();
  }
  /** Writes each group's lr for the current step count (step() calls it). */
  apply(): void {
    const f = this.factor(this.steps);
    this.optimizer.groups.forEach((g, i) => { g.options.lr = this.baseLrs[i] * f; });
  }
}

/** lr * gamma^floor(step / stepSize) (torch StepLR). */
export class StepLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, readonly stepSize: number, readonly gamma = 0.1) {
    super(opt);
    if (!(gamma > 0 && Number.isFinite(gamma))) throw new Error(`webgpu-transfer: StepLR: gamma must be a finite number > 0, got ${gamma}`);
    if (!(stepSize >= 1)) throw new Error(`webgpu-transfer: StepLR: stepSize must be >= 1, got ${stepSize}`);
  }
  factor(s: number): number { return this.gamma ** Math.floor(s / this.stepSize); }
}

/** lr * gamma^step (torch ExponentialLR). */
export class ExponentialLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, readonly gamma: number) {
    super(opt);
    if (!(gamma > 0 && Number.isFinite(gamma))) throw new Error(`webgpu-transfer: ExponentialLR: gamma must be a finite number > 0, got ${gamma}`);
  }
  factor(s: number): number { return this.gamma ** s; }
}

/** Cosine from lr down to etaMin over tMax steps (torch CosineAnnealingLR, without restarts). */
export class CosineLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, readonly tMax: number, readonly etaMinFactor = 0) {
    super(opt);
    if (!(tMax >= 1)) throw new Error(`webgpu-transfer: CosineLR: tMax must be >= 1, got ${tMax}`);
  }
  factor(s: number): number {
    const t = Math.min(s, this.tMax);
    return this.etaMinFactor + (1 - this.etaMinFactor) * (1 + Math.cos(Math.PI * t / this.tMax)) / 2;
  }
}

/** DANN annealing (Ganin & Lempitsky 2015): lr0 / (1 + alpha p)^beta with progress p = step / totalSteps. */
export class DannLR extends LRSchedule {
  constructor(opt: Optimizer<GroupOptions>, readonly totalSteps: number, readonly alpha = 10, readonly beta = 0.75) {
    super(opt);
    if (!(totalSteps >= 1)) throw new Error(`webgpu-transfer: DannLR: totalSteps must be >= 1, got ${totalSteps}`);
  }
  factor(s: number): number { return 1 / (1 + this.alpha * Math.min(1, s / this.totalSteps)) ** this.beta; }
}
