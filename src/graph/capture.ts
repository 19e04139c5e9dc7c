// Capture a training step once and replay it: same buffers, bind groups and dispatch list, one submit,
// no new GPU allocations. Inputs are tensors whose buffers are rewritten before each replay.
import {rt} from './engine.js';
import {Capture} from '../gpu/runtime.js';
import {empty, fmt, sizeOf, type DType, type Shape, type Tensor} from './tensor.js';

export interface InputSpec { shape: Shape; dtype?: DType }

export class CompiledStep<Out> {
  constructor(private cap: Capture, readonly inputs: Tensor[], readonly output: Out) {}

  /** Uploads new input data and replays the step. Returns the same output tensors, now holding new values. */
  run(data: ArrayLike<number>[]): Out {
    if (data.length !== this.inputs.length) throw new Error(`webgpu-transfer: compiled step: ${data.length} inputs given, ${this.inputs.length} expected`);
    data.forEach((d, i) => {
      const t = this.inputs[i];
      if (d.length !== t.size) throw new Error(`webgpu-transfer: compiled step: input ${i} has ${d.length} values, expected ${fmt(t.shape)} = ${t.size}`);
      rt().write(t.buffer, t.dtype === 'i32' ? (d instanceof Int32Array ? d : Int32Array.from(d)) : (d instanceof Float32Array ? d : Float32Array.from(d)));
    });
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
  const inputs = specs.map((s) => {
    const t = empty(s.shape, s.dtype ?? 'f32');
    return t;
  });
  first.forEach((d, i) => {
    if (d.length !== sizeOf(specs[i].shape)) throw new Error(`webgpu-transfer: compile: input ${i} has ${d.length} values, expected ${fmt(specs[i].shape)}`);
    rt().write(inputs[i].buffer, inputs[i].dtype === 'i32' ? Int32Array.from(d) : Float32Array.from(d));
  });
  let out!: Out;
  const cap = rt().capture(() => { out = body(...inputs); });
  return new CompiledStep(cap, inputs, out);
}
