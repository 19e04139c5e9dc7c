// Checks an op forward against its float64 reference and backward against float64 finite differences.
// Loss used for gradients: sum(out * R) with a fixed random R, so every output element matters.
import * as assert from 'uvu/assert';
import * as wt from '../../src/index.js';
import {closeness, finiteDiff, nd, randomNd, size, type Nd} from './reference.js';

export interface OpCase {
  name: string;
  inputs: Nd[];
  /** Inputs that are int32 (labels, indices) get no gradient. */
  intInputs?: number[];
  gpu: (xs: wt.Tensor[]) => wt.Tensor;
  ref: (xs: Nd[]) => Nd;
  /** Forward tolerance (defaults 1e-5 abs, 1e-4 rel: float32 kernels against float64). */
  atol?: number; rtol?: number;
  /** Gradient tolerance against finite differences (defaults 1e-4 abs, 1e-3 rel). */
  gatol?: number; grtol?: number;
  /** Check gradients of these inputs (default: all float inputs). */
  gradOf?: number[];
  /** Check at most this many sampled elements per input (large cases). */
  sample?: number;
  /**
   * Analytic float64 gradient of sum(out * R) for each input (null where not given). When present, GPU
   * gradients are checked against it on every element, and it is checked against the finite differences.
   */
  refGrad?: (xs: Nd[], R: Nd) => (Nd | null)[];
  /**
   * Cases that check the same op on the same inputs under several kernel variants share a key: their float64
   * references and finite differences (most of a case's CPU time) are computed once. The key must name everything
   * the references depend on besides the inputs (strides, padding, ...); the inputs are hashed into it.
   */
  refKey?: string;
}

interface References { expected: Nd; grads: Map<number, {fd: Float64Array; idx?: number[]; exact?: Nd | null}> }
const referenceCache = new Map<string, References>();
const fingerprint = (xs: Nd[]) => xs.map((x) => {
  let h = 2166136261;
  for (let i = 0; i < x.data.length; i++) h = Math.imul(h ^ Math.round(x.data[i] * 1e6), 16777619);
  return `${x.shape.join('x')}:${(h >>> 0).toString(16)}`;
}).join(',');

/** The float64 references of a case: computed, checked against each other, and kept under c.refKey. */
function references(c: OpCase, gradOf: number[]): References {
  const key = c.refKey === undefined ? undefined : `${c.name}|${c.refKey}|${fingerprint(c.inputs)}|${gradOf}|${c.sample}`;
  const hit = key === undefined ? undefined : referenceCache.get(key);
  if (hit) return hit;
  const expected = c.ref(c.inputs);
  const grads: References['grads'] = new Map();
  const r: References = {expected, grads};
  if (gradOf.length) {
    const Rv = randomNd(expected.shape, 99);
    const refLoss = (xs: Nd[]) => { const y = c.ref(xs); let s = 0; for (let i = 0; i < y.data.length; i++) s += y.data[i] * Rv.data[i]; return s; };
    const analytic = c.refGrad?.(c.inputs, Rv);
    for (const i of gradOf) {
      const n = size(c.inputs[i].shape);
      const idx = c.sample && n > c.sample ? Array.from({length: c.sample}, (_, k) => Math.floor((k * 7919 + 13) % n)) : undefined;
      const fd = finiteDiff(refLoss, c.inputs.map((x) => nd(x.shape, x.data)), i, idx);
      const exact = analytic?.[i];
      if (exact) {
        // The two references must agree closely (float64 both): guards the references themselves.
        const ex = idx ? idx.map((k) => exact.data[k]) : Array.from(exact.data);
        const rr = closeness(fd, ex, 1e-6, 1e-5);
        assert.ok(rr.ok, `${c.name} input ${i}: analytic reference disagrees with finite differences: ${rr.msg}`);
      }
      grads.set(i, {fd, idx, exact});
    }
  }
  if (key !== undefined) referenceCache.set(key, r);
  return r;
}

export const toTensor = (x: Nd, dtype: 'f32' | 'i32' = 'f32', requiresGrad = false) =>
  wt.tensor(dtype === 'i32' ? Int32Array.from(x.data) : Float32Array.from(x.data), x.shape, {dtype, requiresGrad});

export async function checkOp(c: OpCase): Promise<void> {
  const ints = new Set(c.intInputs ?? []);
  const gradOf = c.gradOf ?? c.inputs.map((_, i) => i).filter((i) => !ints.has(i));
  const ts = c.inputs.map((x, i) => toTensor(x, ints.has(i) ? 'i32' : 'f32', gradOf.includes(i)));
  const out = c.gpu(ts);
  const refs = references(c, gradOf);
  const expected = refs.expected;
  assert.equal(out.shape, expected.shape, `${c.name}: output shape`);
  const got = await out.data();
  const fwd = closeness(got, expected.data, c.atol ?? 1e-5, c.rtol ?? 1e-4);
  assert.ok(fwd.ok, `${c.name} forward: ${fwd.msg}`);
  if (!gradOf.length) { ts.forEach((t) => t.dispose()); out.dispose(); return; }

  const rT = toTensor(randomNd(expected.shape, 99));
  const loss = wt.sum(wt.mul(out, rT));
  loss.backward();
  for (const i of gradOf) {
    const g = ts[i].grad;
    assert.ok(g, `${c.name}: input ${i} got no gradient`);
    const all = await g!.data();
    const {fd, idx, exact} = refs.grads.get(i)!;
    if (exact) {
      const ra = closeness(all, exact.data, c.gatol ?? 1e-4, c.grtol ?? 1e-3);
      assert.ok(ra.ok, `${c.name} gradient of input ${i} vs the analytic reference: ${ra.msg}`);
    }
    const mine = idx ? idx.map((k) => all[k]) : Array.from(all);
    const r = closeness(mine, fd, c.gatol ?? 1e-4, c.grtol ?? 1e-3);
    assert.ok(r.ok, `${c.name} gradient of input ${i} vs finite differences: ${r.msg}`);
  }
  for (const t of ts) { t.grad?.dispose(); t.dispose(); }
}

/** Throws unless got matches want within atol + rtol * |want| elementwise. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, atol = 1e-5, rtol = 1e-4, what = 'values'): void {
  const r = closeness(got, want, atol, rtol);
  assert.ok(r.ok, `${what}: ${r.msg}`);
}

/** Throws an error whose message contains `text`. */
export function throwsWith(f: () => unknown, text: string): void {
  try { f(); } catch (e) {
    const msg = (e as Error).message;
    assert.ok(msg.includes(text), `message "${msg}" lacks "${text}"`);
    return;
  }
  assert.unreachable(`no error; expected one containing "${text}"`);
}

/** Rejects with an error whose message contains `text`. */
export async function rejectsWith(f: () => Promise<unknown>, text: string): Promise<void> {
  try { await f(); } catch (e) {
    const msg = (e as Error).message;
    assert.ok(msg.includes(text), `message "${msg}" lacks "${text}"`);
    return;
  }
  assert.unreachable(`no error; expected one containing "${text}"`);
}
