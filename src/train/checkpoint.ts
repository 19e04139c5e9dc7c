// Checkpoints as two safetensors files written atomically:
//   <path>               the model's state dict with PyTorch names (safetensors.torch.load_file + load_state_dict
//                        read it as is; num_batches_tracked is stored as I64 like PyTorch's)
//   <path minus .safetensors>.train.safetensors   optimizer state and trainer position, for exact resume
// Both carry the same checkpoint id, checked on load so a mismatched pair is refused.
import {loadSafetensors, saveSafetensors} from '../io/files.js';
import type {StTensor} from '../io/safetensors.js';
import type {HostTensor, Module} from '../nn/module.js';
import {BatchNorm} from '../nn/layers.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import type {Tensor} from '../graph/tensor.js';

export const trainStatePath = (path: string) => path.replace(/\.safetensors$/, '') + '.train.safetensors';

async function hostEntries(state: Map<string, Tensor>): Promise<Map<string, {dtype: 'F32' | 'I32' | 'I64'; shape: number[]; data: Float32Array | Int32Array}>> {
  const out = new Map<string, {dtype: 'F32' | 'I32' | 'I64'; shape: number[]; data: Float32Array | Int32Array}>();
  for (const [k, t] of state) {
    const data = await t.data();
    out.set(k, {dtype: t.dtype === 'i32' ? (k.endsWith('num_batches_tracked') ? 'I64' : 'I32') : 'F32', shape: t.shape, data});
  }
  return out;
}

function toHost(st: Map<string, StTensor>, source: string): Map<string, HostTensor> {
  const out = new Map<string, HostTensor>();
  for (const [k, t] of st) {
    if (!(t.data instanceof Float32Array || t.data instanceof Int32Array)) throw new Error(`webgpu-transfer: ${source}: tensor '${k}' has dtype ${t.dtype}; checkpoints hold F32, I32 or I64`);
    out.set(k, {shape: t.shape, dtype: t.data instanceof Int32Array ? 'i32' : 'f32', data: t.data});
  }
  return out;
}

export async function saveModel(path: string, model: Module, metadata: Record<string, string> = {}): Promise<void> {
  for (const [, m] of model.namedModules()) if (m instanceof BatchNorm) m.syncCounters();
  saveSafetensors(path, await hostEntries(model.stateDict()), {format: 'pt', ...metadata});
}

export async function loadModel(path: string, model: Module, strict = true): Promise<Record<string, string>> {
  const file = loadSafetensors(path);
  model.loadStateDict(toHost(file.tensors, path), strict);
  for (const [, m] of model.namedModules()) if (m instanceof BatchNorm) await m.loadCounters();
  return file.metadata;
}

export interface TrainPosition { step: number; [k: string]: unknown }

/** Each parameter's state-dict name: the optimizer keys its state by these. */
const parameterNames = (model: Module) => new Map([...model.namedParameters()].map(([n, p]) => [p, n] as [Tensor, string]));

/** `metadata` goes into the model file's header (what the run was trained on, for eval to reuse). */
export async function saveCheckpoint(path: string, model: Module, opt: Optimizer<GroupOptions>, position: TrainPosition, metadata: Record<string, string> = {}): Promise<void> {
  const id = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  const names = parameterNames(model);
  const {tensors, meta} = opt.stateDict(names);
  const entries = await hostEntries(new Map([...tensors].map(([k, t]) => [`optimizer.${k}`, t])));
  // Train state first: a crash before the model file lands leaves the previous model file, whose id no
  // longer matches, and resume refuses the pair instead of silently mixing steps.
  saveSafetensors(trainStatePath(path), entries, {checkpoint_id: id, optimizer: JSON.stringify(meta), position: JSON.stringify(position)});
  await saveModel(path, model, {...metadata, checkpoint_id: id, step: String(position.step)});
}

export async function loadCheckpoint(path: string, model: Module, opt: Optimizer<GroupOptions>): Promise<TrainPosition> {
  const meta = await loadModel(path, model);
  const tpath = trainStatePath(path);
  const train = loadSafetensors(tpath);
  if (train.metadata.checkpoint_id !== meta.checkpoint_id) {
    throw new Error(`webgpu-transfer: checkpoint ${path} (id ${meta.checkpoint_id}) and ${tpath} (id ${train.metadata.checkpoint_id}) are not from the same save`);
  }
  const names = parameterNames(model);
  const optTensors = new Map([...train.tensors].filter(([k]) => k.startsWith('optimizer.')).map(([k, t]) => [k.slice('optimizer.'.length), t]));
  let optMeta: Record<string, number>, position: TrainPosition;
  try {
    optMeta = JSON.parse(train.metadata.optimizer ?? '{}');
    position = JSON.parse(train.metadata.position ?? '{}');
  } catch (e) {
    throw new Error(`webgpu-transfer: ${tpath}: unreadable trainer metadata: ${(e as Error).message}`);
  }
  opt.loadStateDict(names, optTensors as Map<string, {data: ArrayLike<number>}>, optMeta);
  if (typeof position.step !== 'number') throw new Error(`webgpu-transfer: ${tpath}: no step in the trainer metadata`);
  return position;
}
