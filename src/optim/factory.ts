// The optimizer choice by name, in one place: the transfer strategies, the CLI and the page build their
// optimizer from a kind and its settings here, or take the caller's own factory of the parameter groups.
import type {Tensor} from '../graph/tensor.js';
import {Adam, AdamW} from './adam.js';
import {Optimizer, type GroupOptions} from './optimizer.js';
import {SGD} from './sgd.js';
import {checkChoice, checkNumber} from './validate.js';

/** The optimizers createOptimizer builds by name. */
export const OPTIMIZER_KINDS = ['adam', 'adamw', 'sgd'] as const;
/** One of OPTIMIZER_KINDS. */
export type OptimizerKind = typeof OPTIMIZER_KINDS[number];

/** SGD's momentum when none is given: 0.9, the value the transfer recipes (and DANN's paper) use. */
export const SGD_MOMENTUM = 0.9;

/** What createOptimizer builds: the kind and the settings given (the rest keep the optimizer's defaults). */
export interface OptimizerSpec {
  kind: OptimizerKind;
  /** Learning rate of the groups that set none (default: the optimizer's, 1e-3 for Adam and AdamW, 0.01 for SGD). */
  lr?: number;
  /** SGD momentum (default SGD_MOMENTUM); Adam and AdamW ignore it. */
  momentum?: number;
  /** Weight decay (default: the optimizer's, 0 for Adam and SGD, 0.01 for AdamW). */
  weightDecay?: number;
}

/** A parameter group as a strategy hands it out: its tensors and, where the strategy sets one, its own lr. */
export interface ParamGroupSpec { params: Tensor[]; lr?: number }

/** Builds a strategy's optimizer from the parameter groups it trains (as Supervised takes a ready one). */
export type OptimizerFactory = (groups: ParamGroupSpec[]) => Optimizer<GroupOptions>;

/** How a strategy gets its optimizer: a kind, built by createOptimizer with the strategy's settings, or a factory. */
export type OptimizerChoice = OptimizerKind | OptimizerFactory;

/** An optimizer of `spec.kind` over `groups`; `where` names the caller in errors. */
export function createOptimizer(groups: Tensor[] | ParamGroupSpec[], spec: OptimizerSpec, where = 'optimizer'):
  Optimizer<GroupOptions> {
  checkChoice(where, 'optimizer', spec.kind, OPTIMIZER_KINDS);
  checkNumber(where, 'lr', spec.lr, 0, true);
  checkNumber(where, 'momentum', spec.momentum);
  checkNumber(where, 'weightDecay', spec.weightDecay);
  // Only the settings given: an undefined one would override the optimizer's own default (AdamW's weight decay).
  const given: {lr?: number; weightDecay?: number} = {};
  if (spec.lr !== undefined) given.lr = spec.lr;
  if (spec.weightDecay !== undefined) given.weightDecay = spec.weightDecay;
  if (spec.kind === 'sgd') return new SGD(groups, {...given, momentum: spec.momentum ?? SGD_MOMENTUM});
  return spec.kind === 'adamw' ? new AdamW(groups, given) : new Adam(groups, given);
}

/** A strategy's optimizer: `choice` as a kind (built with `settings`) or as the caller's factory. */
export function resolveOptimizer(choice: OptimizerChoice, groups: ParamGroupSpec[], settings: Omit<OptimizerSpec, 'kind'>,
  where: string): Optimizer<GroupOptions> {
  if (typeof choice !== 'function') return createOptimizer(groups, {...settings, kind: choice}, where);
  const opt = choice(groups);
  if (!(opt instanceof Optimizer)) {
    throw new Error(`webgpu-transfer: ${where}: the optimizer factory must return an Optimizer, got ${String(opt)}`);
  }
  return opt;
}
