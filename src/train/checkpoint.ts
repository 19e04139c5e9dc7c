// Checkpoints as safetensors files, each written atomically:
//   <base>.safetensors                 the model's state dict with PyTorch names (safetensors.torch.load_file +
//                                      load_state_dict read it as is; num_batches_tracked is stored as I64 like
//                                      PyTorch's), plus the step and the run's settings in the header metadata
//   <base>.train.safetensors           optimizer state and position, for exact resume
//   <base>.train.pending.safetensors   the train state of a save in progress
// Every file of one save carries the same checkpoint id. A save writes the pending train state, then the model
// file (the commit point), then renames pending -> train. A crash at any point leaves a complete pair: the
// model file's id matches either the train file (crash before the model landed: the previous pair) or the
// pending one (crash after), and resume picks whichever matches. The next save first finishes or discards
// what a crashed save left, so the pair the model file points to is never overwritten.
import {existsSync, renameSync, unlinkSync} from 'node:fs';
import {dirname} from 'node:path';
import {cleanStaleTemps, loadSafetensors, readSafetensorsMetadata, saveSafetensors} from '../io/files.js';
import type {Module} from '../nn/module.js';
import type {GroupOptions, Optimizer} from '../optim/optimizer.js';
import type {Tensor} from '../graph/tensor.js';
import {hostEntries, loadEntries, modelEntries} from './weights.js';

const base = (path: string) => path.replace(/\.safetensors$/, '');
/**
 * The optimizer-state file that goes with a checkpoint's model file: `run/model.safetensors` ->
 * `run/model.train.safetensors`.
 */
export const trainStatePath = (path: string) => `${base(path)}.train.safetensors`;
export const pendingTrainStatePath = (path: string) => `${base(path)}.train.pending.safetensors`;

/** Test hook: called after each file of a save lands; a test throws here to simulate a crash between files. */
export const checkpointHooks: {afterWrite?: (file: 'pending' | 'model') => void} = {};

/** Metadata keys the checkpoint writes itself; everything else in the model header is the run's settings. */
const OWN_KEYS = new Set(['format', 'checkpoint_id', 'step']);

/**
 * What a checkpoint's model-file header says: its id, the step it was saved at, and the run's recorded settings.
 */
export interface CheckpointInfo {
  path: string;
  id?: string;
  /** The step the checkpoint was saved at (undefined for a plain saveModel file). */
  step?: number;
  /** What the run recorded (TrainerOptions.runInfo): dataset, seed, model, optimizer, lr, ... */
  run: Record<string, string>;
}

/** The id, step and run settings of a checkpoint, from its model file's header (no device, no tensors read). */
export function readCheckpointInfo(path: string): CheckpointInfo {
  const meta = readSafetensorsMetadata(path);
  if (meta.position !== undefined) {
    const model = path.replace(/\.train(\.pending)?\.safetensors$/, '.safetensors');
    throw new Error(`webgpu-transfer: ${path} is the trainer state of a checkpoint, not its model: use ${model}`);
  }
  const run = Object.fromEntries(Object.entries(meta).filter(([k]) => !OWN_KEYS.has(k)));
  const step = meta.step === undefined ? undefined : Number(meta.step);
  if (step !== undefined && !(Number.isInteger(step) && step >= 0)) {
    throw new Error(`webgpu-transfer: ${path}: bad step '${meta.step}' in the header`);
  }
  return {path, id: meta.checkpoint_id, step, run};
}

/**
 * Names the tensors holding NaN or Inf, with counts ('' when all finite). A diverged model still evaluates to a
 * finite-looking loss, so loading one must say so.
 */
export function nonFiniteReport(tensors: Iterable<[string, {data: ArrayLike<number>}]>): string {
  const bad: string[] = [];
  for (const [k, t] of tensors) {
    if (!(t.data instanceof Float32Array)) continue;
    let nan = 0, inf = 0;
    for (const v of t.data) if (v !== v) nan++; else if (v === Infinity || v === -Infinity) inf++;
    const counts = [nan && `${nan} NaN`, inf && `${inf} Inf`].filter(Boolean).join(', ');
    if (counts) bad.push(`${k} (${counts} of ${t.data.length})`);
  }
  return bad.join(', ');
}

function warnNonFinite(source: string, tensors: Iterable<[string, {data: ArrayLike<number>}]>): void {
  const r = nonFiniteReport(tensors);
  if (r) console.warn(`webgpu-transfer: warning: ${source} holds non-finite values: ${r}`);
}


/**
 * Writes the model's state dict (parameters and buffers with PyTorch's dotted names) to a safetensors file;
 * `metadata` goes into its header. PyTorch reads it with safetensors.torch.load_file and load_state_dict.
 *
 * @example
 * ```ts
 * const model = wt.leNet5();
 * await wt.saveModel('lenet5.safetensors', model, {dataset: 'mnist'});
 * const copy = wt.leNet5();
 * const meta = await wt.loadModel('lenet5.safetensors', copy);   // {format: 'pt', dataset: 'mnist'}
 * ```
 */
export async function saveModel(path: string, model: Module, metadata: Record<string, string> = {}): Promise<void> {
  saveSafetensors(path, await modelEntries(model), {format: 'pt', ...metadata});
}

/**
 * Loads a safetensors state dict (saveModel's, or PyTorch's) into `model` and returns the file's header metadata.
 * strict (default): the keys must match exactly; shapes and dtypes must always agree. Warns about NaN/Inf weights.
 */
export async function loadModel(path: string, model: Module, strict = true): Promise<Record<string, string>> {
  const file = loadSafetensors(path);
  warnNonFinite(path, file.tensors);
  try {
    await loadEntries(model, file.tensors, path, strict);
  } catch (e) {
    const why = (e as Error).message.replace(/^webgpu-transfer: (loadStateDict: )?/, '');
    throw new Error(`webgpu-transfer: ${path} does not fit the model, which is left unchanged: ${why}`);
  }
  return file.metadata;
}

/** Where a checkpointed run stood: its step, plus what the loop and strategy saved to resume exactly. */
export interface TrainPosition { step: number; [k: string]: unknown }

/** Each parameter's state-dict name: the optimizer keys its state by these. */
const parameterNames = (model: Module) => new Map([...model.namedParameters()].map(([n, p]) => [p, n] as [Tensor, string]));

/**
 * Finishes or discards what a crashed save left at `path`: a pending train state whose model file landed becomes
 * the train state; one whose model never landed is dropped. Temp files of dead writers are removed.
 */
function recoverSave(path: string): void {
  cleanStaleTemps(dirname(path));
  const pending = pendingTrainStatePath(path);
  if (!existsSync(pending)) return;
  let pendingId: string | undefined, modelId: string | undefined;
  try { pendingId = readSafetensorsMetadata(pending).checkpoint_id; } catch { /* torn: cannot be the committed one */ }
  try { modelId = existsSync(path) ? readSafetensorsMetadata(path).checkpoint_id : undefined; } catch { /* unreadable */ }
  if (pendingId !== undefined && pendingId === modelId) renameSync(pending, trainStatePath(path));
  else unlinkSync(pending);
}

/**
 * Saves a resumable checkpoint: the model file at `path` (as saveModel, plus the step) and the optimizer state and
 * position beside it, written so that a crash at any point leaves a complete earlier or later pair. `metadata` goes
 * into the model file's header (what the run was trained on, for eval and resume to check).
 */
export async function saveCheckpoint(path: string, model: Module, opt: Optimizer<GroupOptions>, position: TrainPosition, metadata: Record<string, string> = {}): Promise<void> {
  const id = `${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
  const names = parameterNames(model);
  const {tensors, meta} = opt.stateDict(names);
  let entries: Awaited<ReturnType<typeof hostEntries>>;
  try {
    entries = await hostEntries(new Map([...tensors].map(([k, t]) => [`optimizer.${k}`, t])));
  } finally {
    for (const t of tensors.values()) t.dispose(); // stateDict's copies
  }
  const weights = await modelEntries(model);
  // From here on no await: the three file steps run back to back, so only a real crash (not a signal handler
  // or another task) can come between them.
  recoverSave(path);
  const pending = pendingTrainStatePath(path);
  const header = {checkpoint_id: id, optimizer: JSON.stringify(meta), position: JSON.stringify(position)};
  saveSafetensors(pending, entries, header);
  checkpointHooks.afterWrite?.('pending');
  saveSafetensors(path, weights, {format: 'pt', ...metadata, checkpoint_id: id, step: String(position.step)});
  checkpointHooks.afterWrite?.('model');
  renameSync(pending, trainStatePath(path));
}

/** The train-state file of the same save as the model file (id `id`): the train file, or a pending one. */
function matchingTrainState(path: string, id: string | undefined): string {
  const problems: string[] = [];
  for (const f of [trainStatePath(path), pendingTrainStatePath(path)]) {
    if (!existsSync(f)) continue;
    let other: string | undefined;
    try { other = readSafetensorsMetadata(f).checkpoint_id; } catch (e) {
      problems.push((e as Error).message.replace(/^webgpu-transfer: /, ''));
      continue;
    }
    if (id !== undefined && other === id) return f;
    problems.push(`${path} (id ${id}) and ${f} (id ${other}) are not from the same save`);
  }
  if (!problems.length) {
    throw new Error(`webgpu-transfer: checkpoint ${path} has no trainer state beside it (${trainStatePath(path)}): ` +
      'it holds a model only, so it cannot be resumed');
  }
  throw new Error(`webgpu-transfer: checkpoint ${path} cannot be resumed: ${problems.join('; ')}`);
}

/**
 * Restores a checkpoint saved by saveCheckpoint into `model` and `opt` (which must have the same structure) and
 * returns the saved position.
 */
export async function loadCheckpoint(path: string, model: Module, opt: Optimizer<GroupOptions>): Promise<TrainPosition> {
  const tpath = matchingTrainState(path, readSafetensorsMetadata(path).checkpoint_id);
  const meta = await loadModel(path, model);
  const train = loadSafetensors(tpath);
  if (train.metadata.checkpoint_id !== meta.checkpoint_id) {
    // The files changed between the two reads (another process saving here).
    throw new Error(`webgpu-transfer: checkpoint ${path} (id ${meta.checkpoint_id}) and ${tpath} ` +
      `(id ${train.metadata.checkpoint_id}) are not from the same save`);
  }
  warnNonFinite(tpath, train.tensors);
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
