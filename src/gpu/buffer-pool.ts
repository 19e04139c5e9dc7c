// Reuses GPU buffers by size class, so a training loop stops allocating after its first step.

/** Size classes: 256-byte minimum, then steps of 2^k and 1.5 * 2^k (at most 33% slack). */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return 256;
  const p = 2 ** Math.ceil(Math.log2(bytes));
  return bytes <= p * 0.75 ? p * 0.75 : p;
}

// UNIFORM too: a kernel may read a small tensor (conv weights) as var<uniform> (runtime.ts, BufferBinding).
export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x40 /* UNIFORM */ | 0x04 /* COPY_SRC */ | 0x08 /* COPY_DST */;

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  /** Bytes of GPU memory this pool has created and not destroyed. */
  allocatedBytes = 0;
  /** Bytes handed out and not yet released. */
  inUseBytes = 0;
  /** Buffers created so far (capture/replay tests check that replays create none). */
  created = 0;
  /** The first out-of-memory error seen (Dawn reports it asynchronously); the runtime throws it at the next submit or read. */
  pendingError: string | null = null;
  /** Error scopes not yet answered; reads wait for them. */
  outstanding = new Set<Promise<unknown>>();
  /** Buffers whose allocation failed: never pooled for reuse. */
  private failed = new WeakSet<GPUBuffer>();

  constructor(private device: GPUDevice, private maxBufferSize: number) {}

  /** `what` names the request (op and tensor) in an out-of-memory error. */
  acquire(bytes: number, what?: () => string): GPUBuffer {
    const size = sizeClass(Math.max(4, bytes));
    if (size > this.maxBufferSize) {
      throw new Error(`webgpu-transfer: ${what ? what() + ': ' : ''}a buffer of ${bytes} bytes exceeds the device's maxBufferSize ${this.maxBufferSize}`);
    }
    this.inUseBytes += size;
    const list = this.free.get(size);
    if (list && list.length) return list.pop()!;
    this.created++;
    this.allocatedBytes += size;
    // Dawn reports a failed allocation asynchronously (or, uncaught, only at a later read with raw driver text):
    // the scope turns it into an error naming the request, thrown at the next submit or read.
    const held = this.allocatedBytes - size;
    this.device.pushErrorScope('out-of-memory');
    const buf = this.device.createBuffer({size, usage: STORAGE_USAGE});
    const done = this.device.popErrorScope().then((err) => {
      if (!err) return;
      this.failed.add(buf);
      this.pendingError ??= `webgpu-transfer: out of GPU memory: ${what ? what() : `a buffer of ${bytes} bytes`} could not be allocated ` +
        `(${held} bytes already held by the engine): ${err.message.split('\n')[0]}`;
    }).finally(() => this.outstanding.delete(done));
    this.outstanding.add(done);
    return buf;
  }

  release(buf: GPUBuffer): void {
    this.inUseBytes -= buf.size;
    if (this.failed.has(buf)) { this.allocatedBytes -= buf.size; buf.destroy(); return; }
    let list = this.free.get(buf.size);
    if (!list) this.free.set(buf.size, (list = []));
    list.push(buf);
  }

  /** Destroys every pooled (free) buffer. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) { this.allocatedBytes -= b.size; b.destroy(); }
    this.free.clear();
  }
}
