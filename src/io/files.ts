// Node file I/O for checkpoints: atomic writes (temp file in the same folder, fsync, rename), so a crash
// mid-write never leaves a half-written checkpoint under the real name.
import {closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync} from 'node:fs';
import {dirname, resolve} from 'node:path';
import {decodeSafetensors, encodeSafetensors, type StFile} from './safetensors.js';

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const full = resolve(path);
  mkdirSync(dirname(full), {recursive: true});
  const tmp = `${full}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w');
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new Error(`webgpu-transfer: writing ${path} failed: ${(e as Error).message}`);
  }
  closeSync(fd);
  renameSync(tmp, full);
}

export function saveSafetensors(path: string, tensors: Parameters<typeof encodeSafetensors>[0], metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): StFile {
  let bytes: Uint8Array;
  try { bytes = readFileSync(path); } catch (e) { throw new Error(`webgpu-transfer: cannot read checkpoint ${path}: ${(e as Error).message}`); }
  return decodeSafetensors(bytes, path);
}
