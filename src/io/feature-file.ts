// Feature vectors on disk, for folders whose features outgrow memory: one scratch file of float32 vectors, written
// once in order and read at any offset; removed by dispose() and at process exit. Structurally a FeatureStore.
import {closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';

/** What extractFeatures stores vectors in (transfer.FeatureStore, restated here: io depends on none of ours). */
export interface VectorStore {
  readonly n: number;
  readonly dim: number;
  /** The vectors as one array when they are in memory, else null. */
  readonly array: Float32Array | null;
  /** Writes `count` vectors starting at vector i. */
  write(i: number, data: Float32Array, count: number): void;
  /** Copies vector i into out at `at`. */
  read(i: number, out: Float32Array, at: number): void;
  /** Frees the store (removes a scratch file). */
  dispose(): void;
}

/** n vectors of dim float32 values in a scratch file (a FeatureStore that spills to disk). */
export class FileFeatureStore implements VectorStore {
  readonly array = null;
  private readonly dir: string;
  private fd: number;
  private readonly bytes: Uint8Array;
  private readonly cleanup = () => this.dispose();

  constructor(readonly n: number, readonly dim: number, parent = tmpdir()) {
    this.dir = mkdtempSync(join(parent, 'wgt-features-'));
    this.fd = openSync(join(this.dir, 'features.f32'), 'w+');
    this.bytes = new Uint8Array(dim * 4);
    process.once('exit', this.cleanup);
  }

  /** Writes `count` vectors starting at vector i. */
  write(i: number, data: Float32Array, count: number): void {
    const view = new Uint8Array(data.buffer, data.byteOffset, count * this.dim * 4);
    writeSync(this.fd, view, 0, view.length, i * this.dim * 4);
  }

  /** Copies vector i into out at `at`. */
  read(i: number, out: Float32Array, at: number): void {
    const got = readSync(this.fd, this.bytes, 0, this.bytes.length, i * this.dim * 4);
    if (got !== this.bytes.length) throw new Error(`webgpu-transfer: feature file ${this.dir}: vector ${i} is missing`);
    out.set(new Float32Array(this.bytes.buffer), at);
  }

  /** Closes and removes the scratch file. */
  dispose(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
    rmSync(this.dir, {recursive: true, force: true});
    process.off('exit', this.cleanup);
  }
}

/**
 * Makes the store for extractFeatures: in memory up to `memoryBytes` (default 1 GiB) of vectors, else a scratch file.
 */
export function featureStoreFor(memoryBytes = 2 ** 30): (n: number, dim: number) => VectorStore {
  return (n, dim) => {
    if (n * dim * 4 > memoryBytes) return new FileFeatureStore(n, dim);
    const array = new Float32Array(n * dim);
    return {
      n, dim, array,
      write: (i, data, count) => array.set(data.subarray(0, count * dim), i * dim),
      read: (i, out, at) => out.set(array.subarray(i * dim, (i + 1) * dim), at),
      dispose: () => undefined,
    };
  };
}
