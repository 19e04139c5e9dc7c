// Pooling geometry: windows, strides and padding over NCHW, and adaptive pooling's output size.
import {fmt, type Shape} from '../../tensor.js';

export interface PoolGeom {
  N: number; C: number; H: number; W: number; OH: number; OW: number; KH: number; KW: number; SH: number; SW: number;
  PH: number; PW: number;
}

export interface AdaptiveGeom { N: number; C: number; H: number; W: number; OH: number; OW: number }

export function poolGeom(op: string, x: Shape, kernel: [number, number], stride: [number, number],
  padding: [number, number]): PoolGeom {
  if (x.length !== 4) throw new Error(`webgpu-transfer: ${op}: input must be NCHW (rank 4), got ${fmt(x)}`);
  const [N, C, H, W] = x;
  const [KH, KW] = kernel; const [SH, SW] = stride; const [PH, PW] = padding;
  if (PH * 2 > KH || PW * 2 > KW) {
    throw new Error(`webgpu-transfer: ${op}: padding ${PH},${PW} must be at most half the kernel ${KH}x${KW}`);
  }
  const OH = Math.floor((H + 2 * PH - KH) / SH) + 1;
  const OW = Math.floor((W + 2 * PW - KW) / SW) + 1;
  if (OH < 1 || OW < 1) throw new Error(`webgpu-transfer: ${op}: kernel ${KH}x${KW} does not fit input ${fmt(x)}`);
  return {N, C, H, W, OH, OW, KH, KW, SH, SW, PH, PW};
}
