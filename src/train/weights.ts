// A model's weights as safetensors entries, platform-free: what Node's checkpoints write to a file and the page
// offers as a download. PyTorch's names; num_batches_tracked as I64, as PyTorch stores it.
import type {HostTensor, Module} from '../nn/module.js';
import {BatchNorm} from '../nn/layers.js';
import type {Tensor} from '../graph/tensor.js';
import {encodeSafetensors} from '../io/safetensors.js';

/** One tensor as a safetensors entry. */
export interface WeightEntry { dtype: 'F32' | 'I32' | 'I64'; shape: number[]; data: Float32Array | Int32Array }

/** Named tensors read back to the host as safetensors entries. */
export async function hostEntries(state: Map<string, Tensor>): Promise<Map<string, WeightEntry>> {
  const out = new Map<string, WeightEntry>();
  for (const [k, t] of state) {
    const data = await t.data();
    out.set(k, {dtype: t.dtype === 'i32' ? (k.endsWith('num_batches_tracked') ? 'I64' : 'I32') : 'F32', shape: t.shape, data});
  }
  return out;
}

/** A model's state dict as safetensors entries (batch-norm counters synced to the device first). */
export async function modelEntries(model: Module): Promise<Map<string, WeightEntry>> {
  for (const [, m] of model.namedModules()) if (m instanceof BatchNorm) m.syncCounters();
  return hostEntries(model.stateDict());
}

/** A model's weights as the bytes of a safetensors file (format 'pt', plus `metadata` in the header). */
export async function modelSafetensors(model: Module, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  return encodeSafetensors(await modelEntries(model), {format: 'pt', ...metadata});
}

/** A decoded safetensors entry, as io.decodeSafetensors gives it. */
export interface DecodedEntry { dtype: string; shape: number[]; data: Float32Array | Int32Array | Float64Array | Uint8Array }

/**
 * Loads decoded safetensors entries into a model by name (F32, and I32 or I64 as i32), then reads the batch-norm
 * counters back. Throws loadStateDict's reason; an entry of another dtype is refused, naming `source`.
 */
export async function loadEntries(model: Module, entries: Map<string, DecodedEntry>, source: string, strict = true): Promise<void> {
  const host = new Map<string, HostTensor>();
  for (const [k, t] of entries) {
    if (!(t.data instanceof Float32Array || t.data instanceof Int32Array)) {
      throw new Error(`webgpu-transfer: ${source}: tensor '${k}' has dtype ${t.dtype}; weights hold F32, I32 or I64`);
    }
    host.set(k, {shape: t.shape, dtype: t.data instanceof Int32Array ? 'i32' : 'f32', data: t.data});
  }
  model.loadStateDict(host, strict);
  for (const [, m] of model.namedModules()) if (m instanceof BatchNorm) await m.loadCounters();
}
