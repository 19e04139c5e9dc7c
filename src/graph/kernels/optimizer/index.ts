// Optimizer update launchers (shaders/optimizer.wgsl): SGD and Adam, per parameter or per group over state arenas
// (the layout: optim/optimizer.ts). Which of the two runs: select.ts. Uniforms are read when the step runs, so a
// replayed step sees the current learning rate and step count.
import {OPTIMIZER} from '../../shaders.js';
import {grid1d} from '../../../gpu/runtime.js';

export {OPTIMIZER_BLOCK} from '../../shaders.js';

export {OPTIMIZER_VARIANTS, type OptimizerCase, type OptimizerVariant} from './select.js';

/** SGD's uniforms for one parameter of n floats (first: 1 on its first update). */
export interface SgdParams { n: number; lr: number; momentum: number; dampening: number; weight_decay: number;
  nesterov: number; first: number }
/** SGD's uniforms for a group: `blocks` workgroups over `segs` segments; step: the optimizer's step count. */
export interface SgdMultiParams { blocks: number; segs: number; step: number; lr: number; momentum: number;
  dampening: number; weight_decay: number; nesterov: number }
/** Adam's uniforms for one parameter (bc1, bc2: the bias corrections of its step). */
export interface AdamParams { n: number; lr: number; beta1: number; beta2: number; eps: number; weight_decay: number;
  decoupled: number; bc1: number; bc2: number }
/** Adam's uniforms for a group. */
export interface AdamMultiParams { blocks: number; segs: number; lr: number; beta1: number; beta2: number; eps: number;
  weight_decay: number; decoupled: number; bc1: number; bc2: number }

/** SGD on one parameter: param, grad and momentum buffers. */
export function sgdStepK(param: GPUBuffer, grad: GPUBuffer, momentum: GPUBuffer, n: number, params: () => SgdParams): void {
  OPTIMIZER.launch('sgd_main', {buffers: [param, grad, momentum], threads: n, params});
}

/** SGD on a group packed in arenas: params, grads, momentum arena and the layout's meta buffer. */
export function sgdGroupK(params: GPUBuffer, grads: GPUBuffer, momentum: GPUBuffer, meta: GPUBuffer, blocks: number,
  uniforms: () => SgdMultiParams): void {
  OPTIMIZER.launch('sgd_multi', {buffers: [params, grads, momentum, meta], workgroups: grid1d(blocks, 1), params: uniforms});
}

/** Adam on one parameter: param, grad, first and second moment buffers. */
export function adamStepK(param: GPUBuffer, grad: GPUBuffer, m: GPUBuffer, v: GPUBuffer, n: number,
  params: () => AdamParams): void {
  OPTIMIZER.launch('adam_main', {buffers: [param, grad, m, v], threads: n, params});
}

/** Adam on a group packed in arenas (the meta buffer between the moments, as the shader binds them). */
export function adamGroupK(params: GPUBuffer, grads: GPUBuffer, m: GPUBuffer, meta: GPUBuffer, v: GPUBuffer,
  blocks: number, uniforms: () => AdamMultiParams): void {
  OPTIMIZER.launch('adam_multi', {buffers: [params, grads, m, meta, v], workgroups: grid1d(blocks, 1), params: uniforms});
}
