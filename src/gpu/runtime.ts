// The dispatch scheduler: records kernel dispatches, batches them into one submit, reads back only when asked,
// and can capture a sequence of dispatches once and replay it with the same buffers and bind groups.
import {BufferPool, sizeClass} from './buffer-pool.js';
import {PipelineCache, type KernelSource} from './pipelines.js';
import type {GpuContext} from './device.js';
import type {Profiler} from './profiler.js';

export type Uniforms = ArrayBuffer | (() => ArrayBuffer);

/**
 * A buffer bound whole, or `size` bytes of it from `offset` (default 0): a kernel that reads a tensor as
 * `var<uniform>` (on llvmpipe far cheaper than storage loads) binds just the bytes it declares, since a pooled
 * buffer may be larger than maxUniformBufferBindingSize, or one window of it at a time.
 */
export type BufferBinding = GPUBuffer | {buffer: GPUBuffer; bytes: number; offset?: number} | {view: GPUTextureView};

/**
 * Texels per row of the staging textures (copyToTexture): a buffer's floats land 4 to a texel, row after row, so a
 * kernel finds float i at texel (i / 4 % TEXTURE_ROW, i / 4 / TEXTURE_ROW).
 */
export const TEXTURE_ROW = 4096;

/** Rows of the staging texture that holds `floats` floats: a power of two from 16, so it is replaced seldom. */
export const stagingTextureRows = (floats: number): number =>
  2 ** Math.ceil(Math.log2(Math.max(16, Math.ceil(Math.ceil(floats / 4) / TEXTURE_ROW))));

export interface Dispatch {
  kernel: KernelSource;
  entry: string;
  constants?: Record<string, number>;
  /** Buffers bound at @binding(1), @binding(2), ... in order (whole, or the first `size` bytes of one). */
  buffers: BufferBinding[];
  /** Bound at @binding(0) as a uniform; a function is re-evaluated at every replay of a capture. */
  uniforms: Uniforms;
  workgroups: [number, number, number];
  /** Floating-point operations of this dispatch, for the profiler's GFLOP/s. */
  flops?: number;
  /** Shapes or variant details the profiler shows next to the kernel name. */
  note?: string;
}

/** What the profiler shows for a dispatch: file:entry{constants} [note]. */
function labelOf(d: Dispatch): string {
  const c = d.constants ? Object.keys(d.constants).sort().map((k) => `${k}=${d.constants![k]}`).join(',') : '';
  return `${d.kernel.file.replace(/\.wgsl$/, '')}:${d.entry}${c ? `{${c}}` : ''}${d.note ? ` ${d.note}` : ''}`;
}

type Command =
  | {kind: 'dispatch'; pipeline: GPUComputePipeline; bindGroup: GPUBindGroup; wg: [number, number, number]; label: string; flops: number}
  | {kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number}
  | {kind: 'texture'; src: GPUBuffer; dst: GPUTexture; texels: number};

/** Records a copy command into an encoder (outside any pass). */
function encodeCopy(enc: GPUCommandEncoder, c: Exclude<Command, {kind: 'dispatch'}>): void {
  if (c.kind === 'copy') { enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size); return; }
  const rows = Math.floor(c.texels / TEXTURE_ROW), rest = c.texels - rows * TEXTURE_ROW, bytesPerRow = TEXTURE_ROW * 16;
  if (rows) enc.copyBufferToTexture({buffer: c.src, bytesPerRow}, {texture: c.dst}, [TEXTURE_ROW, rows]);
  if (rest) {
    enc.copyBufferToTexture({buffer: c.src, offset: rows * bytesPerRow, bytesPerRow}, {texture: c.dst, origin: [0, rows]},
      [rest, 1]);
  }
}

const SLOT = 256; // minUniformBufferOffsetAlignment
const ARENA_BYTES = 1 << 18;

/** A growable set of uniform slots backed by GPU buffers of ARENA_BYTES each. */
class UniformArena {
  chunks: {gpu: GPUBuffer; cpu: Uint8Array<ArrayBuffer>; used: number}[] = [];
  constructor(private device: GPUDevice) {}
  /** Returns where `data` will live; the bytes are copied now and uploaded by upload(). */
  put(data: ArrayBuffer): {buffer: GPUBuffer; offset: number; chunk: number} {
    const size = Math.ceil(Math.max(data.byteLength, 16) / SLOT) * SLOT;
    let c = this.chunks[this.chunks.length - 1];
    if (!c || c.used + size > ARENA_BYTES) {
      c = {gpu: this.device.createBuffer({size: ARENA_BYTES, usage: 0x40 /* UNIFORM */ | 0x08 /* COPY_DST */}), cpu: new Uint8Array(ARENA_BYTES), used: 0};
      this.chunks.push(c);
    }
    const offset = c.used;
    c.cpu.set(new Uint8Array(data), offset);
    c.used += size;
    return {buffer: c.gpu, offset, chunk: this.chunks.length - 1};
  }
  upload(rt: Runtime): void {
    for (const c of this.chunks) if (c.used) rt.queueWrite(c.gpu, 0, c.cpu.subarray(0, c.used));
  }
  reset(): void { for (const c of this.chunks) c.used = 0; }
  destroy(): void { for (const c of this.chunks) c.gpu.destroy(); this.chunks = []; }
}

/** A captured dispatch list: replays with the same buffers, pipelines and bind groups, in one submit. */
export class Capture {
  commands: Command[] = [];
  arena: UniformArena;
  dynamic: {chunk: number; offset: number; fn: () => ArrayBuffer}[] = [];
  hooks: (() => void)[] = [];
  /** Buffers released while capturing: reusable only inside this capture, returned to the pool on dispose(). */
  localFree = new Map<number, GPUBuffer[]>();
  /** Every buffer a recorded command binds or copies: what a replay reads and writes. */
  used = new Set<GPUBuffer>();
  disposed = false;
  constructor(private rt: Runtime) { this.arena = new UniformArena(rt.device); }

  /** Runs the recorded step again: hooks, then dynamic uniforms, then every dispatch in one submit. */
  replay(): void {
    if (this.disposed) throw new Error('webgpu-transfer: replay of a disposed capture');
    this.rt.flush();
    for (const h of this.hooks) h();
    for (const d of this.dynamic) {
      const bytes = new Uint8Array(d.fn());
      this.arena.chunks[d.chunk].cpu.set(bytes, d.offset);
    }
    if (this.dynamic.length) this.arena.upload(this.rt);
    this.rt.submitCommands(this.commands);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const list of this.localFree.values()) for (const b of list) { this.rt.pool.inUseBytes += b.size; this.rt.pool.release(b); this.rt.owner.delete(b); }
    this.localFree.clear();
    this.used.clear();
    for (const [b, c] of this.rt.owner) if (c === this) this.rt.owner.delete(b);
    this.arena.destroy();
  }
}

export class Runtime {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  private pending: Command[] = [];
  private arena: UniformArena;
  private capturing: Capture | null = null;
  private staging = new Map<number, GPUBuffer[]>();
  /** Counters for tests and benchmarks. */
  stats = {submits: 0, dispatches: 0};
  /** Set while wt.profile() or WGT_PROFILE=1 times kernels: every submit goes through it. */
  profiler: Profiler | null = null;

  constructor(readonly ctx: GpuContext) {
    this.device = ctx.device;
    this.pool = new BufferPool(ctx.device, ctx.device.limits.maxBufferSize);
    this.pipelines = new PipelineCache(ctx.device);
    this.arena = new UniformArena(ctx.device);
  }

  /** Buffers a live capture dispatches into: freed ones wait in that capture until it is disposed. */
  readonly owner = new Map<GPUBuffer, Capture>();

  /** True while compile() records a step. */
  get isCapturing(): boolean { return this.capturing !== null; }

  /**
   * The largest buffer a kernel can use: a storage binding is limited by maxStorageBufferBindingSize (128 MiB on
   * llvmpipe) as well as maxBufferSize.
   */
  get maxTensorBytes(): {bytes: number; name: string} {
    const l = this.device.limits;
    return l.maxStorageBufferBindingSize < l.maxBufferSize
      ? {bytes: l.maxStorageBufferBindingSize, name: 'maxStorageBufferBindingSize'}
      : {bytes: l.maxBufferSize, name: 'maxBufferSize'};
  }

  /** `what` describes the request for an out-of-memory error (the op and the tensor). */
  alloc(bytes: number, what?: () => string): GPUBuffer {
    const cap = this.capturing;
    if (!cap) return this.pool.acquire(bytes, what);
    const reuse = cap.localFree.get(sizeClass(Math.max(4, bytes)));
    let b: GPUBuffer;
    if (reuse?.length) { b = reuse.pop()!; this.pool.inUseBytes += b.size; } else b = this.pool.acquire(bytes, what);
    this.owner.set(b, cap);
    return b;
  }

  release(buf: GPUBuffer): void {
    const cap = this.capturing ?? this.owner.get(buf);
    if (cap && !cap.disposed) {
      let l = cap.localFree.get(buf.size);
      if (!l) cap.localFree.set(buf.size, (l = []));
      l.push(buf);
      this.pool.inUseBytes -= buf.size;
      return;
    }
    this.pool.release(buf);
  }

  dispatch(d: Dispatch): void {
    const pipeline = this.pipelines.get(d.kernel, d.entry, d.constants);
    const target = this.capturing ? this.capturing.arena : this.arena;
    const data = typeof d.uniforms === 'function' ? d.uniforms() : d.uniforms;
    const slot = target.put(data);
    if (this.capturing && typeof d.uniforms === 'function') this.capturing.dynamic.push({chunk: slot.chunk, offset: slot.offset, fn: d.uniforms});
    const entries: GPUBindGroupEntry[] = [{binding: 0, resource: {buffer: slot.buffer, offset: slot.offset, size: Math.ceil(Math.max(data.byteLength, 16) / 16) * 16}}];
    d.buffers.forEach((b, i) => entries.push({binding: i + 1, resource: 'view' in b ? b.view
      : 'buffer' in b ? {buffer: b.buffer, offset: b.offset ?? 0, size: b.bytes} : {buffer: b}}));
    if (this.capturing) for (const b of d.buffers) if (!('view' in b)) this.capturing.used.add('buffer' in b ? b.buffer : b);
    const bindGroup = this.device.createBindGroup({layout: pipeline.getBindGroupLayout(0), entries});
    const cmd: Command = {kind: 'dispatch', pipeline, bindGroup, wg: d.workgroups, label: labelOf(d), flops: d.flops ?? 0};
    this.stats.dispatches++;
    this.enqueue(cmd);
  }

  /** Records a command into the capture (whose run also executes now, so its results are real) or the queue. */
  private enqueue(cmd: Command): void {
    if (this.capturing) {
      this.capturing.commands.push(cmd);
      if (cmd.kind === 'copy') this.capturing.used.add(cmd.src).add(cmd.dst);
      if (cmd.kind === 'texture') this.capturing.used.add(cmd.src);
      return;
    }
    this.pending.push(cmd);
    if (this.pending.length >= 2048) this.flush();
  }

  /**
   * Copies `bytes` bytes between buffers, ordered with the dispatches around it (and recorded by a capture, so a
   * replay copies again). Offsets and size must be multiples of 4 (WebGPU's copyBufferToBuffer).
   */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (srcOffset % 4 || dstOffset % 4 || bytes % 4) {
      throw new Error(`webgpu-transfer: copy: offsets ${srcOffset}, ${dstOffset} and size ${bytes} must be multiples of 4`);
    }
    if (!bytes) return;
    this.enqueue({kind: 'copy', src, srcOffset, dst, dstOffset, size: bytes});
  }

  /**
   * The first `floats` floats of `src` copied into a staging texture (rgba32float, TEXTURE_ROW texels a row), ordered
   * with the dispatches around it; returns the view to bind. One texture per `slot` serves every copy: a copy is
   * queued after the dispatches that read the previous contents, and a kernel reading two sources through textures
   * takes them from two slots. A taller one replaces a slot's texture when needed; the old one is kept, as a captured
   * step may still bind it.
   */
  copyToTexture(src: GPUBuffer, floats: number, slot = 0): GPUTextureView {
    const texels = Math.ceil(floats / 4), rows = stagingTextureRows(floats);
    if (src.size < texels * 16) {
      throw new Error(`webgpu-transfer: copyToTexture: ${floats} floats need ${texels * 16} bytes, buffer has ${src.size}`);
    }
    const kept = (this.stagingTextures[slot] ??= []);
    let t = kept[kept.length - 1];
    if (!t || t.texture.height < rows) {
      const texture = this.device.createTexture({size: [TEXTURE_ROW, rows], format: 'rgba32float',
        usage: 0x04 /* TEXTURE_BINDING */ | 0x02 /* COPY_DST */});
      t = {texture, view: texture.createView()};
      kept.push(t);
    }
    this.enqueue({kind: 'texture', src, dst: t.texture, texels});
    return t.view;
  }
  private stagingTextures: {texture: GPUTexture; view: GPUTextureView}[][] = [];

  /** Writes host data into a buffer, ordered after every dispatch recorded so far. */
  write(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    if (this.capturing) throw new Error('webgpu-transfer: uploading data inside a captured step is not allowed: create the tensor before capture, or pass it as a capture input');
    this.flush();
    this.queueWrite(buf, offset, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  /** queue.writeBuffer, kept in order behind submits the profiler's serial method has not run yet. */
  queueWrite(buf: GPUBuffer, offset: number, data: Uint8Array): void {
    if (this.profiler?.defersWrites) this.profiler.write(buf, offset, data);
    else this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (this.capturing) return;
    try {
      this.throwPending();
    } catch (e) {
      // Work recorded after a failure would only fail again (e.g. bind groups of a buffer that was never
      // allocated): drop it with the error.
      this.pending = [];
      this.arena.reset();
      throw e;
    }
    if (!this.pending.length) return;
    this.arena.upload(this);
    const cmds = this.pending;
    this.pending = [];
    this.submitCommands(cmds);
    this.arena.reset();
  }

  submitCommands(cmds: Command[]): void {
    this.throwPending();
    if (this.profiler) {
      this.profiler.submit(cmds, (c): c is Extract<Command, {kind: 'dispatch'}> => c.kind === 'dispatch',
        (enc, c) => { if (c.kind !== 'dispatch') encodeCopy(enc, c); });
      this.stats.submits++;
      return;
    }
    const enc = this.device.createCommandEncoder();
    let pass: GPUComputePassEncoder | null = null;
    for (const c of cmds) {
      if (c.kind === 'dispatch') {
        pass ??= enc.beginComputePass();
        pass.setPipeline(c.pipeline);
        pass.setBindGroup(0, c.bindGroup);
        pass.dispatchWorkgroups(c.wg[0], c.wg[1], c.wg[2]);
      } else {
        if (pass) { pass.end(); pass = null; }
        encodeCopy(enc, c);
      }
    }
    if (pass) pass.end();
    this.device.queue.submit([enc.finish()]);
    this.stats.submits++;
  }

  /** Throws every GPU error seen since the last check as one error (pipeline verdicts first: they name the kernel). */
  private throwPending(): void {
    if (this.ctx.lostReason) throw new Error(`webgpu-transfer: ${this.ctx.lostReason}`);
    const msgs: string[] = [];
    // An allocation failure explains the validation errors that follow it (invalid buffer in a bind group).
    if (this.pool.pendingError) msgs.push(this.pool.pendingError);
    else {
      if (this.pipelines.pendingError) msgs.push(this.pipelines.pendingError.message);
      if (this.ctx.error) msgs.push(`webgpu-transfer: ${this.ctx.error}`);
    }
    this.pipelines.pendingError = null;
    this.pool.pendingError = null;
    this.ctx.error = null;
    if (msgs.length) throw new Error(msgs.join('\n'));
  }

  /** Reads `bytes` bytes of a buffer back to the host (submits pending work first). */
  async read(buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    if (this.capturing) throw new Error('webgpu-transfer: reading data inside a captured step is not allowed (capture functions must be synchronous)');
    // Dawn answers allocation error scopes within a tick: wait, so an out-of-memory error naming the op comes
    // first, instead of the validation errors it causes.
    if (this.pool.outstanding.size) await Promise.all([...this.pool.outstanding]);
    const size = Math.ceil(bytes / 4) * 4;
    const key = Math.max(256, 2 ** Math.ceil(Math.log2(size)));
    const list = this.staging.get(key) ?? [];
    const stage = list.pop() ?? this.device.createBuffer({size: key, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */});
    this.pending.push({kind: 'copy', src: buf, srcOffset: offset, dst: stage, dstOffset: 0, size});
    this.flush();
    if (this.profiler) await this.profiler.drained(); // the copy must be submitted before mapping
    try {
      await stage.mapAsync(0x01 /* GPUMapMode.READ */, 0, size);
    } catch (err) {
      throw new Error(`webgpu-transfer: reading ${bytes} bytes back from the GPU failed: ${(err as Error).message}${this.ctx.lostReason ? ` (${this.ctx.lostReason})` : ''}`);
    }
    const out = stage.getMappedRange(0, size).slice(0, bytes);
    stage.unmap();
    list.push(stage);
    this.staging.set(key, list);
    await this.settle();
    return out;
  }

  /**
   * Resolves when the GPU has finished what is submitted now, without checking for errors (the next flush or
   * read does): for pacing, so the host does not queue work far ahead of the GPU.
   */
  workDone(): Promise<void> {
    this.flush();
    return this.device.queue.onSubmittedWorkDone().then(() => undefined, () => undefined);
  }

  /** Waits until the GPU has finished everything submitted so far. */
  async sync(): Promise<void> {
    if (this.pool.outstanding.size) await Promise.all([...this.pool.outstanding]);
    this.flush();
    if (this.profiler) await this.profiler.drained();
    await this.device.queue.onSubmittedWorkDone();
    await this.settle();
  }

  /** Waits for pipeline validation verdicts, then throws the first GPU error seen, if any. */
  private async settle(): Promise<void> {
    if (this.pipelines.outstanding.size) await Promise.all([...this.pipelines.outstanding]);
    if (this.pool.outstanding.size) await Promise.all([...this.pool.outstanding]);
    this.throwPending();
  }

  /**
   * Runs fn eagerly even while a capture records: for one-time set-up inside a captured step
   * (optimizer state, constants) that must run once, not on every replay.
   */
  once<T>(fn: () => T): T {
    const cap = this.capturing;
    this.capturing = null;
    try { return fn(); } finally { this.capturing = cap; }
  }

  /** Runs `body` once, really executing it, and records its dispatches for replay. Body must be synchronous. */
  capture(body: () => void): Capture {
    if (this.capturing) throw new Error('webgpu-transfer: compile() inside a compiled step: captures cannot nest (compile the inner step separately, outside the body)');
    this.flush();
    const cap = new Capture(this);
    this.capturing = cap;
    try {
      body();
    } finally {
      this.capturing = null;
    }
    this.flush(); // one-time set-up from once() runs before the captured commands
    cap.arena.upload(this);
    this.submitCommands(cap.commands);
    return cap;
  }

  /** Registers a function to run before each replay of the capture being recorded (no-op otherwise). */
  onReplay(hook: () => void): void { this.capturing?.hooks.push(hook); }
}

/** Splits a 1-D thread count into a dispatch grid within the 65535-per-dimension limit. */
export function grid1d(threads: number, wgSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / wgSize));
  if (groups <= 65535) return [groups, 1, 1];
  const y = Math.ceil(groups / 65535);
  return [Math.ceil(groups / y), y, 1];
}
