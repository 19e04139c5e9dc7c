// Tensors: a shape, a dtype and a reference-counted GPU buffer; views (reshape) share the buffer.
// The node records how the tensor was made, for reverse-mode autograd.
import {rt, track, untrack} from './engine.js';

export type DType = 'f32' | 'i32';
export type Shape = readonly number[];

export interface Storage {
  buffer: GPUBuffer;
  refs: number;
}

/** One recorded op: its name (a key of the gradient table), inputs, and what its gradient rule needs. */
export interface Node {
  op: string;
  inputs: Tensor[];
  /** Op attributes and saved tensors for the gradient rule. */
  saved: Record<string, unknown>;
  /** Custom gradient (overrides the table): returns one gradient (or null) per input. */
  backward?: (g: Tensor, node: Node, out: Tensor) => (Tensor | null)[];
}

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);
export const fmt = (shape: Shape): string => `[${shape.join(', ')}]`;

let nextId = 0;
/** The id the next tensor will get: tensors with ids at or above a mark were created after it. */
export const idMark = (): number => nextId;

export class Tensor {
  readonly __isTensor = true;
  readonly id = nextId++;
  readonly shape: number[];
  readonly size: number;
  storage: Storage | null;
  requiresGrad: boolean;
  grad: Tensor | null = null;
  node: Node | null;
  name = '';

  constructor(storage: Storage, shape: Shape, readonly dtype: DType = 'f32', node: Node | null = null, requiresGrad = false) {
    this.shape = [...shape];
    this.size = sizeOf(shape);
    this.storage = storage;
    this.node = node;
    this.requiresGrad = requiresGrad;
    track(this);
  }

  get rank(): number { return this.shape.length; }
  get disposed(): boolean { return this.storage === null; }

  get buffer(): GPUBuffer {
    if (!this.storage) throw new Error(`webgpu-transfer: tensor ${this.describe()} was disposed and used again`);
    return this.storage.buffer;
  }

  describe(): string { return `${this.name ? this.name + ' ' : ''}${this.dtype}${fmt(this.shape)}`; }

  /** Reads the values back (submits pending GPU work). */
  async data(): Promise<Float32Array | Int32Array> {
    const bytes = await rt().read(this.buffer, this.size * 4);
    return this.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** Reads a one-element tensor as a number. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`webgpu-transfer: item() needs a one-element tensor, got ${this.describe()}`);
    return (await this.data())[0];
  }

  /** Frees the buffer once no view uses it. Safe to call twice. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = null;
    this.node = null;
    untrack(this);
    if (--s.refs === 0) rt().release(s.buffer);
  }

  /** A tensor over the same buffer with another shape of the same size (no copy). */
  viewAs(shape: Shape, node: Node | null = null, requiresGrad = false): Tensor {
    const s = this.storage;
    if (!s) throw new Error(`webgpu-transfer: view of disposed tensor ${this.describe()}`);
    if (sizeOf(shape) !== this.size) throw new Error(`webgpu-transfer: reshape: cannot view ${this.describe()} as ${fmt(shape)} (${this.size} vs ${sizeOf(shape)} elements)`);
    s.refs++;
    return new Tensor(s, shape, this.dtype, node, requiresGrad);
  }

  /** A view with another shape that takes over this tensor's reference (this tensor is disposed). */
  viewAsDispose(shape: Shape): Tensor {
    const v = this.viewAs(shape);
    this.dispose();
    return v;
  }
}

/** A fresh tensor of the given shape backed by a pooled buffer (contents undefined until a kernel writes it). */
export function empty(shape: Shape, dtype: DType = 'f32'): Tensor {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`webgpu-transfer: invalid shape ${fmt(shape)}: dimensions must be non-negative integers`);
  }
  const buffer = rt().alloc(Math.max(1, sizeOf(shape)) * 4);
  return new Tensor({buffer, refs: 1}, shape, dtype);
}

/**
 * Host values as the typed array a buffer of `dtype` holds. Int32 values must be exact integers in range:
 * labels and indices of 1.5 or 3e9 would otherwise be truncated silently. `op` names the caller in errors.
 */
export function hostArray(data: ArrayLike<number>, dtype: DType, op: string): Float32Array | Int32Array {
  if (dtype === 'f32') return data instanceof Float32Array ? data : Float32Array.from(data);
  if (data instanceof Int32Array) return data;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw new Error(`webgpu-transfer: ${op}: int32 value ${v} at index ${i} is not an integer in int32 range`);
  }
  return Int32Array.from(data);
}

/** Uploads host data. Numbers outside int32 (for i32) or non-finite labels are rejected. */
export function fromData(data: ArrayLike<number>, shape: Shape, dtype: DType = 'f32', requiresGrad = false): Tensor {
  const n = sizeOf(shape);
  if (data.length !== n) throw new Error(`webgpu-transfer: tensor: ${data.length} values do not fill shape ${fmt(shape)} (${n} elements)`);
  const arr = hostArray(data, dtype, 'tensor');
  const t = empty(shape, dtype);
  if (n) rt().write(t.buffer, arr);
  t.requiresGrad = requiresGrad;
  return t;
}
