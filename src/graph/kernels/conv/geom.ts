// A convolution's geometry, the uniforms and profiler labels every conv kernel shares, and how a generated tile
// binds its weights (storage, or a uniform array where they fit).
import {rt} from '../../engine.js';
import {fmt, type Shape, type Tensor} from '../../tensor.js';
import type {BufferBinding} from '../../../gpu/runtime.js';
import {kernelPrefs} from '../prefs.js';

export interface Conv2dGeom {
  N: number; C: number; H: number; W: number; K: number; OH: number; OW: number;
  KH: number; KW: number; SH: number; SW: number; PH: number; PW: number;
  /** Channel groups: input channel c meets only the K / groups outputs of its group (1: an ordinary conv). */
  groups: number;
}

export function convGeom(x: Shape, w: Shape, stride: [number, number], padding: [number, number],
  groups = 1): Conv2dGeom {
  const [N, C, H, W] = x;
  const [K, C2, KH, KW] = w;
  const [SH, SW] = stride;
  const [PH, PW] = padding;
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  if (groups !== 1) {
    const what = `input ${fmt(x)} and weight ${fmt(w)} with groups ${groups}`;
    const bad = (msg: string) => new Error(`webgpu-transfer: conv2d: ${what}: ${msg}`);
    if (C % groups) throw bad(`the ${C} input channels do not divide into ${groups} groups`);
    if (K % groups) throw bad(`the ${K} output channels do not divide into ${groups} groups`);
    if (C2 * groups !== C) throw bad(`the weight must have C / groups = ${C / groups} input channels, got ${C2}`);
  } else if (C !== C2) {
    throw new Error(`webgpu-transfer: conv2d: input ${fmt(x)} has ${C} channels but weight ${fmt(w)} expects ${C2}`);
  }
  if (OH < 1 || OW < 1) {
    throw new Error(`webgpu-transfer: conv2d: kernel ${KH}x${KW} (padding ${PH},${PW}) does not fit input ${fmt(x)}`);
  }
  return {N, C, H, W, K, OH, OW, KH, KW, SH, SW, PH, PW, groups};
}

export const convFlops = (g: Conv2dGeom) => 2 * g.N * g.K * g.OH * g.OW * g.C * g.KH * g.KW;
export const convNote = (g: Conv2dGeom): string =>
  `${g.N}x${g.C}x${g.H}x${g.W}*${g.K}x${g.KH}x${g.KW}${g.SH > 1 || g.SW > 1 ? ` s${g.SH}` : ''}` +
  `${g.PH || g.PW ? ` p${g.PH}` : ''}`;

/** CONV2D_UNIFORMS' values, for the hand-written kernels and the generated forward tiles alike. */
export const convParams = (g: Conv2dGeom, groups4: number, split = 1) => ({N: g.N, C: g.C, H: g.H, W: g.W, K: g.K,
  OH: g.OH, OW: g.OW, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, PH: g.PH, PW: g.PW, groups4, split});

/**
 * How many vec4s of `t` a generated conv tile reads as a uniform array (0: from storage): all of it, when the
 * preference allows and it fits the device's maxUniformBufferBindingSize.
 */
export function uniformWeightVec4s(t: Tensor): number {
  if (kernelPrefs.convUniformWeights !== 'auto') return 0;
  const bytes = t.size * 4;
  // At most 64 KiB even where a device allows more: each size is its own shader, and larger weights have enough
  // work per load that storage serves them.
  const limit = Math.min(UNIFORM_WEIGHTS_MAX_BYTES, rt().ctx.device.limits.maxUniformBufferBindingSize);
  // A binding covers whole vec4s: a tensor of another size is bound with its buffer's slack (pooled buffers come in
  // multiples of 256 bytes), and the kernel never reads past the tensor.
  const vec4s = Math.ceil(bytes / 16);
  return vec4s * 16 <= limit && vec4s * 16 <= t.buffer.size ? vec4s : 0;
}
export const UNIFORM_WEIGHTS_MAX_BYTES = 65536;
/** A tensor's binding as a generated tile reads it: its first `vec4s` vec4s as a uniform array, else storage. */
export const weightBinding = (t: Tensor, vec4s: number): BufferBinding =>
  (vec4s > 0 ? {buffer: t.buffer, bytes: vec4s * 16} : t.buffer);
