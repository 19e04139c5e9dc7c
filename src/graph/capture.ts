// Capture a training step once and replay it: same buffers, bind groups and dispatch list, one submit,
// no new GPU allocations. Inputs are tensors whose buffers are rewritten before each replay.
import {rt} from './engine.js';
import type {Capture} from '../gpu/runtime.js';
import {empty, fmt, hostArray, type DType, type Shape, type Tensor} from './tensor.js';

export interface InputSpec { shape: Shape; dtype?: DType }

/** Writes host values into a compiled step's input tensor, checking the count. */
function upload(t: Tensor, d: ArrayLike<number>, i: number): void {
  if (d.length !== t.size) throw new Error(`webgpu-transfer: compiled step: input ${i} has ${d.length} values, expected ${fmt(t.shape)} = ${t.size}`);
  rt().write(t.buffer, hostArray(d, t.dtype, `compiled step input ${i}`));
}

export class CompiledStep<Out> {
  constructor(private cap: Capture, readonly inputs: Tensor[], readonly output: Out) {}

  /** Uploads new input data and replays the step. Returns the same output tensors, now holding new values. */
  run(data: ArrayLike<number>[]): Out {
    if (data.length !== this.inputs.length) throw new Error(`webgpu-transfer: compiled step: ${data.length} inputs given, ${this.inputs.length} expected`);
    data.forEach((d, i) => upload(this.inputs[i], d, i));
    this.cap.replay();
    return this.output;
  }

  get dispatchCount(): number { return this.cap.commands.length; }
  dispose(): void { this.cap.dispose(); for (const t of this.inputs) t.dispose(); }
}

/**
 * Runs `body` once on the given first inputs (really computing it) while recording its dispatches.
 * The body must be synchronous, create no tensors from host data, and read nothing back.
 */
export function compile<Out>(specs: InputSpec[], first: ArrayLike<number>[], body: (...inputs: Tensor[]) => Out): CompiledStep<Out> {
  if (first.length !== specs.length) throw new Error(`webgpu-transfer: compile: ${first.length} first inputs given for ${specs.length} input specs`);
  const inputs = specs.map((s) => empty(s.shape, s.dtype ?? 'f32'));
  first.forEach((d, i) => upload(inputs[i], d, i));
  let out!: Out;
  const cap = rt().capture(() => { out = body(...inputs); });
  return new CompiledStep(cap, inputs, out);
}
