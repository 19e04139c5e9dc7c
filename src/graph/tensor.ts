// Tensors: a shape, a dtype and a reference-counted GPU buffer; views (reshape) share the buffer.
// The node records how the tensor was made, for reverse-mode autograd.
import {deviceGeneration, rt, tensorFreed, tensorMade, track, untrack} from './engine.js';
import {currentOp} from './validate.js';

/** A tensor's element type: 32-bit float or 32-bit signed integer (labels and indices). */
export type DType = 'f32' | 'i32';
/** What callers may write: the short names, or TF.js / NumPy spellings normalised by dtypeOf(). */
export type DTypeName = DType | 'float32' | 'int32';
/** Dimensions of a tensor, outermost first: [] is a scalar, [N, C, H, W] an image batch. */
export type Shape = readonly number[];

const DTYPES: Record<string, DType> = {f32: 'f32', float32: 'f32', i32: 'i32', int32: 'i32'};
/** The one place dtype names are read: aliases map to 'f32'/'i32'; anything else is an error naming the valid ones. */
export function dtypeOf(name: unknown, op: string): DType {
  if (name === undefined) return 'f32';
  const d = typeof name === 'string' ? DTYPES[name] : undefined;
  if (!d) throw new Error(`webgpu-transfer: ${op}: unknown dtype ${JSON.stringify(name)}: use 'f32' (or 'float32') or 'i32' (or 'int32')`);
  return d;
}

/** Checks a shape argument: an array of non-negative integers. `op` names the caller. */
export function checkShape(op: string, shape: unknown, what = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new Error(`webgpu-transfer: ${op}: ${what} must be an array of dimensions, got ${typeof shape === 'object' ? String(shape) : JSON.stringify(shape)}`);
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) throw new Error(`webgpu-transfer: ${op}: invalid ${what} ${fmt(shape)}: dimensions must be non-negative integers`);
  }
  return shape as number[];
}

/** The GPU buffer behind a tensor, shared by its views and freed when the last reference goes. */
export interface Storage {
  buffer: GPUBuffer;
  refs: number;
  /** Live compiled steps whose replay uses this buffer (set by compile(), released by step.dispose()). */
  claims?: number;
  /** The tensor whose dispose() freed a claimed buffer, for the step's error. */
  freedBy?: string;
}

/** Counts frees of claimed buffers: a compiled step rechecks its buffers only when this has moved. */
let claimedFrees = 0;
export const claimedFreeCount = (): number => claimedFrees;

/**
 * While compile() records: every storage a tensor hands its buffer out of, with the op reading it (the step
 * keeps those its replay binds and did not allocate). Null otherwise, so the getter costs one test.
 */
let captureReads: Map<Storage, string> | null = null;
export function setCaptureReads(reads: Map<Storage, string> | null): void { captureReads = reads; }

/**
 * One recorded op: its name (for messages), inputs, what its gradient rule needs, and the rule. Ops record nodes
 * through ops.ts's record(), typed against the rule table (gradients.ts); customGrad nodes carry their own rule.
 */
export interface Node {
  op: string;
  inputs: Tensor[];
  /** Op attributes and saved tensors for the gradient rule. */
  saved: object;
  /** Returns one gradient (or null) per input. */
  backward: (g: Tensor, node: Node, out: Tensor) => (Tensor | null)[];
  /**
   * Tensors the op made for its rule alone (a max pool's argmax, a lowered conv's im2col matrix), freed with the
   * output: a graph dropped without backward (outputs disposed by hand, no tidy()) must not keep them alive.
   */
  owned?: Tensor[];
}

export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);
export const fmt = (shape: Shape): string => `[${shape.join(', ')}]`;

let nextId = 0;
/** The id the next tensor will get: tensors with ids at or above a mark were created after it. */
export const idMark = (): number => nextId;

/**
 * An n-dimensional array in a GPU buffer, with a dtype (f32 or i32), a shape and, when it requires a gradient, its
 * place in the autograd graph. Make tensors with tensor(), zeros(), randn() and the ops; read them back with data()
 * or item(); free them with dispose() or tidy().
 *
 * @example
 * ```ts
 * const x = wt.tensor([[1, 2], [3, 4]], undefined, {requiresGrad: true});   // f32[2, 2]
 * const loss = wt.sum(wt.mul(x, x));
 * loss.backward();
 * console.log(await loss.item(), await x.grad!.data());                     // 30, [2, 4, 6, 8]
 * ```
 */
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
  /** The device generation the buffer belongs to: a tensor does not survive shutdown() or a new init(). */
  readonly generation = deviceGeneration();
  /** The op that made this tensor, remembered when it is disposed (backward names it if it was still needed). */
  disposedOutputOf: string | null = null;

  constructor(storage: Storage, shape: Shape, readonly dtype: DType = 'f32', node: Node | null = null, requiresGrad = false) {
    this.shape = [...shape];
    this.size = sizeOf(shape);
    this.storage = storage;
    this.node = node;
    this.requiresGrad = requiresGrad;
    track(this);
    tensorMade();
  }

  get rank(): number { return this.shape.length; }
  get disposed(): boolean { return this.storage === null; }
  /** True when the device this tensor's buffer lives on was shut down (or replaced by a new init()). */
  get stale(): boolean { return this.generation !== deviceGeneration(); }

  get buffer(): GPUBuffer {
    if (!this.storage) throw new Error(`webgpu-transfer: ${currentOp() ?? 'op'}: tensor ${this.describe()} was disposed and used again`);
    if (this.stale) throw new Error(staleMessage(this, currentOp() ?? 'op'));
    const reads = captureReads;
    if (reads && !reads.has(this.storage) && rt().isCapturing) reads.set(this.storage, currentOp() ?? 'op');
    return this.storage.buffer;
  }

  /** Whether this tensor and `other` are views of one live buffer. */
  sharesBuffer(other: Tensor): boolean { return this.storage !== null && this.storage === other.storage; }

  /** The tensor's name (if any), dtype and shape, as messages print it: `weight f32[6, 1, 5, 5]`. */
  describe(): string { return `${this.name ? this.name + ' ' : ''}${this.dtype}${fmt(this.shape)}`; }

  /** Reads the values back (submits pending GPU work). */
  data(): Promise<Float32Array | Int32Array> {
    // Checked before any await: inside compile() an un-awaited data() must throw there, not become an
    // unhandled rejection later.
    if (this.disposed) throw new Error(`webgpu-transfer: data(): tensor ${this.describe()} was disposed`);
    if (this.stale) throw new Error(staleMessage(this, 'data()'));
    if (rt().isCapturing) throw new Error(`webgpu-transfer: data()/item() of ${this.describe()} inside a compiled step: a compiled body must be synchronous and read nothing back; read the outputs after step.run()`);
    return this.readBack();
  }

  private async readBack(): Promise<Float32Array | Int32Array> {
    // Nothing to copy for an empty tensor (a zero-size mapping fails on llvmpipe); still a read point.
    const bytes = this.size ? await rt().read(this.buffer, this.size * 4) : new ArrayBuffer(0);
    await afterRead();
    return this.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  /** Reads a one-element tensor as a number. */
  item(): Promise<number> {
    if (this.size !== 1) throw new Error(`webgpu-transfer: item() needs a one-element tensor, got ${this.describe()}`);
    return this.data().then((d) => d[0]);
  }

  /** Reverse-mode autograd from this tensor (a scalar, or pass the gradient of the output); fills leaves' `.grad`. */
  backward(grad?: Tensor): void { runBackward(this, grad); }

  /** Frees the buffer once no view uses it. Safe to call twice. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = null;
    if (this.node) {
      this.disposedOutputOf = this.node.op;
      for (const t of this.node.owned ?? []) t.dispose();
    }
    this.node = null;
    untrack(this);
    // A tensor of a device that is gone was already dropped from the count when its device shut down.
    if (!this.stale) tensorFreed();
    if (--s.refs !== 0) return;
    if (s.claims) { s.freedBy = this.describe(); claimedFrees++; }
    // A buffer of a device that is gone is not returned to the new device's pool.
    if (!this.stale) rt().release(s.buffer);
  }

  /** A tensor over the same buffer with another shape of the same size (no copy). */
  viewAs(shape: Shape, node: Node | null = null, requiresGrad = false): Tensor {
    const s = this.storage;
    if (!s) throw new Error(`webgpu-transfer: ${currentOp() ?? 'view'}: tensor ${this.describe()} was disposed`);
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
  const op = currentOp() ?? 'tensor';
  checkShape(op, shape);
  const bytes = Math.max(1, sizeOf(shape)) * 4;
  const r = rt();
  // Up front, naming the op: past these limits Dawn fails later with a raw validation or out-of-memory error.
  const limit = r.maxTensorBytes;
  if (bytes > limit.bytes) {
    throw new Error(`webgpu-transfer: ${op}: a ${dtype}${fmt(shape)} tensor needs ${bytes} bytes, more than this adapter allows per buffer (${limit.bytes} bytes, ${limit.name})`);
  }
  const buffer = r.alloc(bytes, () => `${op}: a ${dtype}${fmt(shape)} tensor (${bytes} bytes)`);
  return new Tensor({buffer, refs: 1}, shape, dtype);
}

function staleMessage(t: Tensor, op: string): string {
  return `webgpu-transfer: ${op}: tensor ${t.describe()} belongs to a device that was shut down (shutdown() or a new init()); tensors do not outlive their device: create it again after init()`;
}

/**
 * autograd.ts's backward(), registered when it loads. ops.ts imports autograd.ts, and every tensor with a graph
 * was made by an op, so backward() works from any entry point. (Importing autograd here instead would make a
 * cycle whose load order runs anomaly.ts's setAfterRead before this module's hooks exist.)
 */
let runBackward: (t: Tensor, grad?: Tensor) => void = (t) => {
  throw new Error(`webgpu-transfer: backward: ${t.describe()}: autograd is not loaded (import an op module, e.g. the package index)`);
};
export function setBackward(fn: (t: Tensor, grad?: Tensor) => void): void { runBackward = fn; }

/** Hook run after every read-back (anomaly mode checks its flags there); set by anomaly.ts. */
let afterRead: () => Promise<void> = async () => undefined;
export function setAfterRead(fn: () => Promise<void>): void { afterRead = fn; }

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
  checkShape('tensor', shape);
  const n = sizeOf(shape);
  if (data.length !== n) throw new Error(`webgpu-transfer: tensor: ${data.length} values do not fill shape ${fmt(shape)} (${n} elements)`);
  const arr = hostArray(data, dtype, 'tensor');
  const t = empty(shape, dtype);
  if (n) rt().write(t.buffer, arr);
  t.requiresGrad = requiresGrad;
  return t;
}
