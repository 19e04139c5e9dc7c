// Node file I/O for checkpoints and run folders: atomic writes (temp file in the same folder, fsync, rename), so
// a crash mid-write never leaves a half-written file under the real name; folder creation that cannot hang;
// clean-up of temp files a crashed process left; a lock file so two runs never share a folder.
import {
  closeSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, statSync, unlinkSync,
  writeSync,
} from 'node:fs';
import {hostname} from 'node:os';
import {dirname, join, resolve} from 'node:path';
import {
  decodeSafetensors, encodeSafetensors, headerLength, headerMetadata, parseHeader, SafetensorsError, type StFile,
} from './safetensors.js';

const errText = (e: unknown) => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/**
 * mkdir -p, one level at a time. Node's recursive mkdirSync never returns on procfs (`/proc/x` answers ENOENT
 * while `/proc` exists, and it retries forever), so each level is created alone and any refusal is an error.
 */
export function ensureDir(path: string): void {
  const full = resolve(path);
  const missing: string[] = [];
  for (let p = full; ; p = dirname(p)) {
    let st;
    try { st = statSync(p); } catch { missing.push(p); if (dirname(p) === p) break; continue; }
    if (!st.isDirectory()) {
      throw new Error(`webgpu-transfer: cannot create folder ${path}: ${p} is a file, not a folder`);
    }
    break;
  }
  for (const p of missing.reverse()) {
    try { mkdirSync(p); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(p).isDirectory()) continue;
      throw new Error(`webgpu-transfer: cannot create folder ${path}: mkdir ${p}: ${errText(e)}`);
    }
  }
}

/** Creates `dir` if needed and proves it writable by writing, syncing and removing a probe file. */
export function checkWritableDir(dir: string): void {
  ensureDir(dir);
  const probe = join(dir, `.write-probe-${process.pid}-${Date.now()}`);
  try {
    const fd = openSync(probe, 'wx');
    try { writeSync(fd, 'ok'); fsyncSync(fd); } finally { closeSync(fd); }
    unlinkSync(probe);
  } catch (e) {
    throw new Error(`webgpu-transfer: folder ${dir} is not writable: ${errText(e)}`);
  }
}

/** Whether process `pid` is alive on this machine (EPERM: alive, owned by another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

const TMP = /\.tmp-(\d+)-\d+$/;

/** Removes `*.tmp-PID-TS` files in `dir` whose writer process is gone (a crash mid-write); returns their names. */
export function cleanStaleTemps(dir: string): string[] {
  let names: string[];
  try { names = readdirSync(dir); } catch { return []; }
  const removed: string[] = [];
  for (const n of names) {
    const m = TMP.exec(n);
    if (!m || pidAlive(Number(m[1]))) continue;
    try { unlinkSync(join(dir, n)); removed.push(n); } catch { /* raced with another cleaner */ }
  }
  return removed;
}

export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const full = resolve(path);
  ensureDir(dirname(full));
  const tmp = `${full}.tmp-${process.pid}-${Date.now()}`;
  let fd: number;
  try { fd = openSync(tmp, 'w'); } catch (e) {
    throw new Error(`webgpu-transfer: writing ${path} failed: ${errText(e)}`);
  }
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, full);
  } catch (e) {
    try { closeSync(fd); } catch { /* already closed */ }
    try { unlinkSync(tmp); } catch { /* already gone */ }
    throw new Error(`webgpu-transfer: writing ${path} failed: ${(e as Error).message}`);
  }
  // The rename is durable only once the folder's entry is on disk.
  try {
    const d = openSync(dirname(full), 'r');
    try { fsyncSync(d); } finally { closeSync(d); }
  } catch { /* folders cannot be synced on every file system */ }
}

/**
 * Writes tensors (and header metadata) as a safetensors file, atomically: a crash leaves the old file or the new
 * one.
 */
export function saveSafetensors(path: string, tensors: Parameters<typeof encodeSafetensors>[0], metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

/** Reads and validates a safetensors file. */
export function loadSafetensors(path: string): StFile {
  let bytes: Uint8Array;
  try { bytes = readFileSync(path); } catch (e) { throw new Error(`webgpu-transfer: cannot read checkpoint ${path}: ${(e as Error).message}`); }
  return decodeSafetensors(bytes, path);
}

export interface FolderLock { path: string; release(): void }

/**
 * Locks `dir` for this process with `<dir>/run.lock` (JSON: pid, host, start time), created exclusively. A lock
 * left by a dead process on this host is taken over; a live one (or one from another host, whose pid cannot be
 * checked) is an error naming its holder. release() removes the file if it is still ours; the caller ties it
 * to process exit. Two processes taking over the same stale lock at once is the one race left: both read it
 * dead, one's new lock may be removed by the other; the window is a few microseconds.
 */
export function lockFolder(dir: string, what = 'run'): FolderLock {
  ensureDir(dir);
  const path = join(dir, 'run.lock');
  const me = JSON.stringify({pid: process.pid, host: hostname(), started: new Date().toISOString(), what});
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try { writeSync(fd, me); fsyncSync(fd); } finally { closeSync(fd); }
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          try { if (readFileSync(path, 'utf8') === me) unlinkSync(path); } catch { /* already gone */ }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new Error(`webgpu-transfer: cannot lock folder ${dir}: ${errText(e)}`);
      }
    }
    let holder: {pid?: number; host?: string; started?: string} = {};
    try { holder = JSON.parse(readFileSync(path, 'utf8')); } catch { /* empty or torn: its writer died mid-write */ }
    const sameHost = holder.host === undefined || holder.host === hostname();
    if (!sameHost || pidAlive(Number(holder.pid))) {
      throw new Error(`webgpu-transfer: folder ${dir} is in use by process ${holder.pid}${sameHost ? '' : ` on ${holder.host}`}` +
        ` (since ${holder.started}; lock file ${path}): wait for it to finish, choose another --out,` +
        ` or delete the lock file if that process is gone`);
    }
    try { unlinkSync(path); } catch { /* another process took it over first: the retry sees its lock */ }
  }
  throw new Error(`webgpu-transfer: cannot lock folder ${dir}: another process took over its stale lock ${path}`);
}

/**
 * The `__metadata__` of a safetensors file, read from its header alone (a checkpoint's id, step and run settings
 * without reading the tensors). The full validation happens when the file is loaded.
 */
export function readSafetensorsMetadata(path: string): Record<string, string> {
  let fd: number;
  try { fd = openSync(path, 'r'); } catch (e) {
    throw new Error(`webgpu-transfer: cannot read checkpoint ${path}: ${errText(e)}`);
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(8);
    const n = headerLength(path, size, size >= 8 && readSync(fd, head, 0, 8, 0) === 8 ? head.readBigUInt64LE(0) : undefined);
    const json = Buffer.alloc(n);
    if (readSync(fd, json, 0, n, 8) !== n) throw new SafetensorsError(path, 'changed while it was read');
    return headerMetadata(path, parseHeader(path, json));
  } finally {
    closeSync(fd);
  }
}
