// Runtime values: numbers that may change between replays of a compiled step (a loss weight ramped over
// training, gradient reversal's lambda, a regulariser strength). A JS number used by an op is written into the
// kernel's uniforms once, at capture, and every replay keeps it; a RuntimeValue lives in a one-element GPU
// tensor that the host rewrites before each step, so the replayed kernels read the current value.
import {keep, rt} from './engine.js';
import {fromData, type Tensor} from './tensor.js';

/**
 * A number that a compiled step reads from a one-element GPU tensor, so setting it between replays changes what the
 * next replay computes (a JS number would be a constant of the recording).
 */
export class RuntimeValue {
  /** The one-element f32 tensor ops read (broadcasts against any shape). */
  readonly tensor: Tensor;
  private current: number;

  constructor(value: number, readonly name = 'value') {
    RuntimeValue.check(name, value);
    this.current = value;
    this.tensor = rt().once(() => keep(fromData([value], [1])));
    this.tensor.name = name;
  }

  private static check(name: string, v: number): void {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`webgpu-transfer: runtime value '${name}': expected a finite number, got ${v}`);
  }

  get value(): number { return this.current; }

  /** Sets the value the next step reads. Call it between steps (not inside a compiled body). */
  set(v: number): void {
    RuntimeValue.check(this.name, v);
    if (v === this.current) return;
    this.current = v;
    rt().write(this.tensor.buffer, new Float32Array([v]));
  }

  /** Frees the tensor (a compiled step that reads it must be disposed first, or not run again). */
  dispose(): void { this.tensor.dispose(); }
}

/** A number a compiled step re-reads on every replay: `const lam = runtimeValue(0); lam.set(0.3)`. */
export const runtimeValue = (value: number, name?: string): RuntimeValue => new RuntimeValue(value, name);
