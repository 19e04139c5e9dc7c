// Anomaly mode (as torch.autograd.detect_anomaly): every op's float output, and every gradient backward()
// computes, is scanned on the GPU for NaN/Inf; the next read-back (data(), item(), or checkAnomalies())
// throws naming the first op that produced one, with its input and output shapes. WebGPU cannot read back
// synchronously, so the error comes at that read, not inside the op; the order of ops is kept exactly.
// Off by default (each op then costs one more small dispatch); on with setAnomalyMode(true) or WGT_ANOMALY=1.
import {rt} from './engine.js';
import {LAYOUT} from './shaders.js';
import {setAfterRead, type Tensor} from './tensor.js';

const env = typeof process !== 'undefined' && process.env ? process.env : {};
let enabled = env.WGT_ANOMALY === '1';

/**
 * Turns anomaly mode on or off (default: env WGT_ANOMALY=1). Turning it off drops pending checks and those
 * recorded in compiled steps (their scans still run on replay, into buffers no one reads).
 */
export function setAnomalyMode(on: boolean): void {
  enabled = on;
  if (!on) state = null;
}
/** Whether anomaly mode is on (setAnomalyMode, or WGT_ANOMALY=1). */
export function isAnomalyMode(): boolean { return enabled; }

const SLOTS = 4096; // u32 flags per GPU buffer
const KIND_BITS: [number, string][] = [[1, 'NaN'], [2, '+Inf'], [4, '-Inf']];

/** Per device: flag buffers and what each slot checked, in program order. */
interface State {
  rtRef: unknown;
  chunks: GPUBuffer[];
  descs: string[];
  /** Flags known on the host (values uploaded from JS), by slot. */
  hostFlags: Map<number, number>;
  /** Slots below this belong to compiled steps: they are checked again after every replay and never reused. */
  pinned: number;
}
let state: State | null = null;

function st(): State {
  const r = rt();
  if (!state || state.rtRef !== r) state = {rtRef: r, chunks: [], descs: [], hostFlags: new Map(), pinned: 0};
  return state;
}

function nextSlot(desc: string): number {
  const s = st();
  const slot = s.descs.length;
  s.descs.push(desc);
  if (rt().isCapturing) s.pinned = slot + 1;
  if (Math.floor(slot / SLOTS) >= s.chunks.length) {
    // Created outside any capture; zero-initialised by WebGPU.
    s.chunks.push(rt().device.createBuffer({size: SLOTS * 4, usage: 0x80 /* STORAGE */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */}));
  }
  return slot;
}

const shapes = (ts: Tensor[]) => ts.map((t) => t.describe()).join(', ') || 'none';

/** Queues a non-finite scan of each float output of `op` (no-op unless anomaly mode is on). */
export function anomalyCheck(op: string, inputs: Tensor[], outputs: Tensor[]): void {
  if (!enabled) return;
  for (const out of outputs) {
    if (out.dtype !== 'f32' || !out.size || out.disposed) continue;
    const slot = nextSlot(`'${op}' gave ${out.describe()} from inputs ${shapes(inputs)}`);
    const s = st();
    LAYOUT.launch('nonfinite_main', {buffers: [out.buffer, s.chunks[Math.floor(slot / SLOTS)]], params: {n: out.size, slot: slot % SLOTS}, threads: out.size});
  }
}

/** Records non-finite values uploaded from the host (tensor(), full()) in program order. */
export function anomalyHost(op: string, values: ArrayLike<number>, shape: string): void {
  if (!enabled) return;
  let bits = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== v) bits |= 1; else if (v === Infinity) bits |= 2; else if (v === -Infinity) bits |= 4;
  }
  if (!bits) return;
  const slot = nextSlot(`'${op}' made ${shape} from host values`);
  st().hostFlags.set(slot, bits);
}

/** Reads the flags of every check queued so far; throws naming the first op with a non-finite output. */
export async function checkAnomalies(): Promise<void> {
  const s = state;
  if (!s || s.rtRef !== rt() || !s.descs.length) return;
  const used = s.descs.length;
  const flags = new Uint32Array(used);
  for (let c = 0; c * SLOTS < used; c++) {
    const n = Math.min(SLOTS, used - c * SLOTS);
    flags.set(new Uint32Array(await rt().read(s.chunks[c], n * 4)), c * SLOTS);
  }
  for (const [slot, bits] of s.hostFlags) flags[slot] |= bits;
  // Clear for the next round; a compiled step's slots stay assigned (its replays set them again).
  const zero = new Uint32Array(SLOTS);
  for (let c = 0; c * SLOTS < used; c++) rt().write(s.chunks[c], zero);
  for (const slot of [...s.hostFlags.keys()]) if (slot >= s.pinned) s.hostFlags.delete(slot);
  const first = flags.findIndex((f) => f !== 0);
  const desc = first >= 0 ? s.descs[first] : '';
  s.descs.length = s.pinned;
  if (first >= 0) {
    const kinds = KIND_BITS.filter(([b]) => flags[first] & b).map(([, k]) => k).join('/');
    throw new Error(`webgpu-transfer: anomaly mode: ${desc} containing ${kinds}: the first op since the last ` +
      `read-back with a non-finite output${first < s.pinned ? ' (in a compiled step)' : ''}`);
  }
}

setAfterRead(async () => { if (enabled || state?.descs.length) await checkAnomalies(); });
