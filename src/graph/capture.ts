// Capture a training step once and replay it: same buffers, bind groups and dispatch list, one submit,
// no new GPU allocations. Inputs are tensors whose buffers are rewritten before each replay.
import {isPromise, keep, rt} from './engine.js';
import type {Capture} from '../gpu/runtime.js';
import {checkShape, claimedFreeCount, dtypeOf, empty, fmt, hostArray, setCaptureReads,
  type DTypeName, type Shape, type Storage, type Tensor} from './tensor.js';
import {setCurrentOp} from './validate.js';

export interface InputSpec { shape: Shape; dtype?: DTypeName }
/** A buffer the replay uses that the step did not allocate (a parameter, optimizer state, a constant); its op. */
interface External { storage: Storage; op: string }

/** Writes host values into a compiled step's input tensor, checking the count. */
function upload(t: Tensor, d: ArrayLike<number>, i: number): void {
  if (d.length !== t.size) throw new Error(`webgpu-transfer: compiled step: input ${i} has ${d.length} values, expected ${fmt(t.shape)} = ${t.size}`);
  rt().write(t.buffer, hostArray(d, t.dtype, `compiled step input ${i}`));
}

export class CompiledStep<Out> {
  /** claimedFreeCount() when the external buffers were last found alive. */
  private checkedAt = claimedFreeCount();
  private released = false;

  constructor(private cap: Capture, readonly inputs: Tensor[], readonly output: Out, private externals: External[] = []) {
    for (const e of externals) e.storage.claims = (e.storage.claims ?? 0) + 1;
  }

  /** Uploads new input data and replays the step. Returns the same output tensors, now holding new values. */
  run(data: ArrayLike<number>[]): Out {
    // One compare per replay; the buffers are scanned only after some step's claimed buffer was freed.
    if (claimedFreeCount() !== this.checkedAt) this.checkExternals();
    if (data.length !== this.inputs.length) throw new Error(`webgpu-transfer: compiled step: ${data.length} inputs given, ${this.inputs.length} expected`);
    data.forEach((d, i) => upload(this.inputs[i], d, i));
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
 */
export function compile<Out>(specs: InputSpec[], first: ArrayLike<number>[], body: (...inputs: Tensor[]) => Out): CompiledStep<Out> {
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
    first.forEach((d, i) => upload(inputs[i], d, i));
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
