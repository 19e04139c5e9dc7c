// Shape arithmetic the launchers of every family share: strides, broadcasting, rounding to vec4s.
import {fmt, type Shape} from '../tensor.js';

export const contiguousStrides = (shape: Shape): number[] => {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
};

/** NumPy broadcasting of two shapes; throws naming the op. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`webgpu-transfer: ${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast ` +
        `(dim ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Strides of `shape` read in the index space of `out` (0 along broadcast dims). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const cs = contiguousStrides(shape);
  return out.map((d, i) => {
    const j = i - (out.length - shape.length);
    return j < 0 || shape[j] === 1 ? 0 : cs[j];
  });
}

export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/** n rounded up to a multiple of 4 (whole vec4s). */
export const ceil4 = (n: number): number => Math.ceil(n / 4) * 4;
