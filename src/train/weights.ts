// A model's weights as safetensors entries, platform-free: what Node's checkpoints write to a file and the page
// offers as a download. PyTorch's names; num_batches_tracked as I64, as PyTorch stores it.
import type {Module} from '../nn/module.js';
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
