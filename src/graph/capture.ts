// Capture a training step once and replay it: same buffers, bind groups and dispatch list, one submit,
// no new GPU allocations. Inputs are tensors whose buffers are rewritten before each replay.
import {isPromise, keep, rt} from './engine.js';
import type {Capture} from '../gpu/runtime.js';
import {checkShape, claimedFreeCount, dtypeOf, empty, fmt, hostArray, setCaptureReads,
  type DTypeName, type Shape, type Storage, type Tensor} from './tensor.js';
import {setCurrentOp} from './validate.js';

/** Shape and dtype (default float32) of one input of a compiled step. */
export interface InputSpec { shape: Shape; dtype?: DTypeName }
/** One input's values for compile() or run(): host numbers, or a tensor of the input's shape and dtype. */
export type StepInput = ArrayLike<number> | Tensor;

/** A buffer the replay uses that the step did not allocate (a parameter, optimizer state, a constant); its op. */
interface External { storage: Storage; op: string }

const isTensor = (d: unknown): d is Tensor => !!d && typeof d === 'object' && (d as Tensor).__isTensor === true;
const isHostArray = (d: unknown): d is ArrayLike<number> =>
  !!d && typeof d === 'object' && typeof (d as ArrayLike<number>).length === 'number';
/** A value that is neither host numbers nor a tensor, for errors: 'undefined', 'number 3', 'Object (no length)'. */
const describeValue = (d: unknown): string => d === undefined || d === null ? String(d)
  : typeof d !== 'object' ? `${typeof d} ${String(d)}` : `${d.constructor?.name ?? 'an object'} (no length)`;

/**
 * Writes one input into the step's input tensor `t`: host values after a count check, or a tensor of the same shape
 * and dtype by a GPU copy (no read-back). `where` names the caller in errors.
 */
function upload(t: Tensor, d: StepInput, i: number, where: string): void {
  const want = `${t.dtype}${fmt(t.shape)}`;
  if (isTensor(d)) {
    if (d.disposed) throw new Error(`webgpu-transfer: ${where}: input ${i} is tensor ${d.describe()}, which was disposed`);
    const sameShape = d.shape.length === t.shape.length && d.shape.every((n, k) => n === t.shape[k]);
    if (d.dtype !== t.dtype || !sameShape) {
      throw new Error(`webgpu-transfer: ${where}: input ${i} is tensor ${d.describe()}, but the input spec is ${want}: ` +
        'pass a tensor of that shape and dtype, or its values');
    }
    setCurrentOp(where);
    const src = d.buffer; // a tensor of a device that was shut down throws here, naming `where`
    setCurrentOp(null);
    if (src !== t.buffer) rt().copy(src, 0, t.buffer, 0, t.size * 4); // step.inputs[i] itself needs no copy
    return;
  }
  if (!isHostArray(d)) {
    throw new Error(`webgpu-transfer: ${where}: input ${i} must be a Float32Array, Int32Array, number[] or a Tensor of ${want}, ` +
      `got ${describeValue(d)}`);
  }
  if (d.length !== t.size) {
    throw new Error(`webgpu-transfer: ${where}: input ${i} has ${d.length} values, expected ${fmt(t.shape)} = ${t.size}`);
  }
  rt().write(t.buffer, hostArray(d, t.dtype, `${where} input ${i}`));
}

/**
 * A training step recorded by compile(): run(inputs) replays its dispatches on new inputs in one submit, with no
 * new allocations, and returns the same output tensors, rewritten. dispose() frees its inputs and recording.
 */
export class CompiledStep<Out> {
  /** claimedFreeCount() when the external buffers were last found alive. */
  private checkedAt = claimedFreeCount();
  private released = false;

  /** @internal Made by compile(). */
  constructor(private cap: Capture, readonly inputs: Tensor[], readonly output: Out, private externals: External[] = []) {
    for (const e of externals) e.storage.claims = (e.storage.claims ?? 0) + 1;
  }

  /**
   * Uploads new input data (host values, or tensors copied on the GPU) and replays the step. Returns the same
   * output tensors, now holding new values.
   */
  run(data: StepInput[]): Out {
    // One compare per replay; the buffers are scanned only after some step's claimed buffer was freed.
    if (claimedFreeCount() !== this.checkedAt) this.checkExternals();
    const n = this.inputs.length;
    if (!Array.isArray(data)) {
      throw new Error(`webgpu-transfer: compiled step: run(inputs) takes an array of ${n} inputs, got ${describeValue(data)}`);
    }
    if (data.length !== n) throw new Error(`webgpu-transfer: compiled step: ${data.length} inputs given, ${n} expected`);
    data.forEach((d, i) => upload(this.inputs[i], d, i, 'compiled step'));
    this.cap.replay();
    return this.output;
  }

  /**
   * A tensor the step uses but did not make, disposed after compile(), has put its buffer back in the pool,
   * where another tensor may hold it now: a replay would read and write that tensor. Refused, naming both.
   */
  private checkExternals(): void {
    for (const {storage, op} of this.externals) {
      if (storage.refs > 0) continue;
      throw new Error(`webgpu-transfer: compiled step: tensor ${storage.freedBy} (used by '${op}' in the step) was disposed after ` +
        'compile(); a replay would use its freed buffer. Keep the tensors a step uses (parameters, optimizer state, constants) ' +
        'until step.dispose(), or compile the step again');
    }
    this.checkedAt = claimedFreeCount();
  }

  /** Kernel dispatches per replay. */
  get dispatchCount(): number { return this.cap.commands.filter((c) => c.kind === 'dispatch').length; }
  /** Buffer-to-buffer copies per replay (the multi-tensor optimizer's arena copies). */
  get copyCount(): number { return this.cap.commands.filter((c) => c.kind === 'copy').length; }
  /** Copies into staging textures per replay (the kernels that read their inputs through textures). */
  get textureCopyCount(): number { return this.cap.commands.filter((c) => c.kind === 'texture').length; }

  /** Frees the step's buffers and inputs, and releases its claim on the tensors it used (free to dispose after). */
  dispose(): void {
    if (!this.released) {
      this.released = true;
      for (const e of this.externals) e.storage.claims!--;
    }
    this.cap.dispose();
    for (const t of this.inputs) t.dispose();
  }
}

/**
 * Runs `body` once on the given first inputs (really computing it) while recording its dispatches.
 * The body must be synchronous, create no tensors from host data, and read nothing back. JS numbers the body
 * uses (a learning-rate factor, a loss weight) are constants of the recording: every replay uses the value
 * they had at capture. A value that must change per step belongs in a RuntimeValue (runtimeValue()).
 *
 * @example
 * ```ts
 * const model = wt.leNet5(), opt = new wt.Adam(model.parameters());
 * const loader = new wt.DataLoader(train, {batch: 64});
 * const specs = [{shape: [64, 1, 28, 28]}, {shape: [64], dtype: 'i32' as const}];
 * const step = wt.compile(specs, loader.next(), (x, y) => wt.tidy(() => {
 *   const loss = wt.crossEntropy(model.forward(x), y);
 *   loss.backward();
 *   opt.step();
 *   opt.zeroGrad();
 *   return loss;
 * }));
 * for (let i = 0; i < 100; i++) step.run(loader.next());   // replays: no new allocations, one submit each
 * console.log(await step.output.item());                   // the loss of the last replay
 * ```
 */
export function compile<Out>(specs: InputSpec[], first: StepInput[], body: (...inputs: Tensor[]) => Out): CompiledStep<Out> {
  if (rt().isCapturing) throw new Error('webgpu-transfer: compile: called inside another compiled step\'s body; compiled steps cannot nest (compile each step separately)');
  if (typeof body !== 'function') throw new Error(`webgpu-transfer: compile: body must be a function, got ${typeof body}`);
  if (body.constructor?.name === 'AsyncFunction') {
    throw new Error('webgpu-transfer: compile: the body is an async function; a compiled step must be synchronous (its dispatches are recorded as it runs, and nothing can be read back inside it)');
  }
  if (!Array.isArray(specs) || !Array.isArray(first)) throw new Error('webgpu-transfer: compile(specs, firstInputs, body): specs and firstInputs must be arrays');
  if (first.length !== specs.length) throw new Error(`webgpu-transfer: compile: ${first.length} first inputs given for ${specs.length} input specs`);
  setCurrentOp('compile');
  // The step owns its inputs (step.dispose() frees them): a tidy() around compile() must not.
  const inputs = specs.map((s, i) =>
    keep(empty(checkShape('compile', s.shape, `input ${i} shape`), dtypeOf(s.dtype, `compile input ${i}`))));
  try {
    first.forEach((d, i) => upload(inputs[i], d, i, 'compile'));
  } catch (e) {
    for (const t of inputs) t.dispose();
    throw e;
  }
  setCurrentOp(null);
  let out!: Out;
  let cap: Capture;
  const reads = new Map<Storage, string>();
  setCaptureReads(reads);
  try {
    cap = rt().capture(() => { out = body(...inputs); });
  } catch (e) {
    for (const t of inputs) t.dispose();
    throw e;
  } finally {
    setCaptureReads(null);
  }
  if (isPromise(out)) {
    (out as unknown as Promise<unknown>).catch(() => undefined); // superseded by this error
    cap.dispose();
    for (const t of inputs) t.dispose();
    throw new Error('webgpu-transfer: compile: the body returned a Promise; a compiled step must be synchronous (no async, no await, no data()/item() inside)');
  }
  // What the replay binds but this capture did not allocate, and still alive: it must outlive the step.
  const externals = [...reads].filter(([s]) => s.refs > 0 && cap.used.has(s.buffer) && rt().owner.get(s.buffer) !== cap)
    .map(([storage, op]) => ({storage, op}));
  return new CompiledStep(cap, inputs, out, externals);
}
