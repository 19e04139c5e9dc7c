// Batches of an ImageSet: seeded shuffling per epoch, optional seeded random shifts (up to `shift` pixels,
// as CapsNet training uses), fixed-size host buffers reused every batch, and a state for exact resume.
import type {ImageSet} from './image-set.js';
import {shuffled} from './split.js';
import {mulberry32} from '../rng.js';

/**
 * Options of DataLoader: batch size, shuffling (default on, seeded by `seed`), and random shifts of up to `shift`
 * pixels.
 */
export interface LoaderOptions { batch: number; shuffle?: boolean; seed?: number; shift?: number }
/** Where a loader stands (epoch and batch within it), for exact resume. */
export interface LoaderState { epoch: number; cursor: number }

/**
 * Batches of an ImageSet for training: a seeded shuffle per epoch, optional seeded random shifts (as CapsNet
 * training uses), full batches only, and fixed host buffers reused for every batch.
 *
 * @example
 * ```ts
 * const loader = new wt.DataLoader(train, {batch: 64, seed: 1});
 * const [x, y] = loader.next();   // Float32Array [64 * C * H * W], Int32Array [64]
 * ```
 */
export class DataLoader {
  readonly x: Float32Array;
  readonly y: Int32Array;
  epoch = 0;
  cursor = 0;
  private order: Int32Array;
  readonly batchesPerEpoch: number;

  constructor(readonly set: ImageSet, readonly opts: LoaderOptions) {
    if (!(opts.batch >= 1) || opts.batch > set.n) throw new Error(`webgpu-transfer: DataLoader: batch ${opts.batch} must be between 1 and the set size ${set.n}`);
    this.x = new Float32Array(opts.batch * set.channels * set.height * set.width);
    this.y = new Int32Array(opts.batch);
    this.batchesPerEpoch = Math.floor(set.n / opts.batch);
    this.order = this.orderFor(0);
  }

  private orderFor(epoch: number): Int32Array {
    return this.opts.shuffle === false ? Int32Array.from({length: this.set.n}, (_, i) => i) : shuffled(this.set.n, (this.opts.seed ?? 0) * 1000003 + epoch);
  }

  /** The position for a checkpoint (epoch and batch). */
  state(): LoaderState { return {epoch: this.epoch, cursor: this.cursor}; }
  /** Continues from a position state() returned: the same order and the same batches follow. */
  setState(s: LoaderState): void { this.epoch = s.epoch; this.cursor = s.cursor; this.order = this.orderFor(s.epoch); }

  /** Fills x / y with the next batch (full batches only; a new epoch reshuffles). */
  next(): [Float32Array, Int32Array] {
    if (this.cursor >= this.batchesPerEpoch) { this.epoch++; this.cursor = 0; this.order = this.orderFor(this.epoch); }
    const {set, x, y} = this;
    const b = this.opts.batch, px = set.channels * set.height * set.width;
    // Augmentation draws depend only on (seed, epoch, batch), so a resumed run sees the same images.
    const r = mulberry32(((this.opts.seed ?? 0) * 7919 + this.epoch) * 65537 + this.cursor);
    for (let i = 0; i < b; i++) {
      const k = this.order[this.cursor * b + i];
      y[i] = set.labels[k];
      this.fill(k, x, i * px, r);
    }
    this.cursor++;
    return [x, y];
  }

  /**
   * Writes example k into x at `at`, shifted by draws from r when `shift` is set; r is the batch's seeded stream.
   * Subclasses that read examples from elsewhere (transformed photos, features on disk) override it.
   */
  protected fill(k: number, x: Float32Array, at: number, r: () => number): void {
    const {set} = this;
    const C = set.channels, H = set.height, W = set.width, px = C * H * W;
    const src = set.images.subarray(k * px, (k + 1) * px);
    const shift = this.opts.shift ?? 0;
    if (!shift) { x.set(src, at); return; }
    const dx = Math.floor(r() * (2 * shift + 1)) - shift, dy = Math.floor(r() * (2 * shift + 1)) - shift;
    for (let c = 0; c < C; c++) for (let yy = 0; yy < H; yy++) for (let xx = 0; xx < W; xx++) {
      const sx = xx - dx, sy = yy - dy;
      x[at + (c * H + yy) * W + xx] = sx < 0 || sy < 0 || sx >= W || sy >= H ? 0 : src[(c * H + sy) * W + sx];
    }
  }
}

/** A seeded subset with exactly n images of each class (fewer only where a class has fewer). */
export function perClass(set: ImageSet, n: number, seed = 0): number[] {
  const order = shuffled(set.n, seed * 31 + 1);
  const taken = new Array(set.classes).fill(0);
  const out: number[] = [];
  for (const k of order) if (taken[set.labels[k]] < n) { taken[set.labels[k]]++; out.push(k); }
  return out.sort((a, b) => a - b);
}

