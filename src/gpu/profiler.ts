// Per-kernel profiler. While active, the runtime hands it every submit; it times each dispatch by one of two
// methods and aggregates by kernel (file:entry{override constants} plus the launcher's shape note):
//  - 'timestamp': each dispatch in its own compute pass with timestamp writes (adapters with the
//    'timestamp-query' feature, e.g. SwiftShader). The step runs as one submit, as without the profiler.
//  - 'serial': adapters without timestamps (llvmpipe in compatibility mode). Each dispatch is submitted alone
//    and waited for, in order (writes to buffers are queued in order with them), and the time of an empty
//    submit + wait, measured at start, is subtracted. Kernels run exactly once, so state (optimizer moments)
//    is not perturbed; per-dispatch times carry the noise of one submit + wait each (tens of microseconds).
/**
 * How kernels are timed: 'timestamp' (GPU timestamp queries inside one submit) or 'serial' (each dispatch submitted
 * alone and waited for).
 */
export type ProfileMethod = 'timestamp' | 'serial';

export interface ProfiledCommand {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  wg: [number, number, number];
  /** file:entry{constants} [shape note] */
  label: string;
  flops: number;
}

/** One kernel in a profile: dispatches and milliseconds per step, share of kernel time, GFLOP/s. */
export interface ProfileRow {
  kernel: string;
  /** Dispatches per step. */
  count: number;
  /** Milliseconds per step. */
  ms: number;
  /** Share of the summed kernel time. */
  share: number;
  /** GFLOP/s where the launcher states its FLOPs, else NaN. */
  gflops: number;
}

/** A per-kernel profile of a step (profile(), profileReport()): rows sorted by time, and the totals. */
export interface ProfileResult {
  method: ProfileMethod;
  adapter: string;
  steps: number;
  /** Summed kernel time per step (ms). */
  kernelMs: number;
  /** Wall time per step while profiling (ms; the serial method inflates it). */
  wallMs: number;
  /** Time of an empty submit + wait subtracted from each dispatch (serial method; ms). */
  overheadMs: number;
  dispatches: number;
  rows: ProfileRow[];
}

type Op = {kind: 'write'; buf: GPUBuffer; offset: number; data: Uint8Array<ArrayBuffer>} | {kind: 'encoder'; run: (enc: GPUCommandEncoder) => void; label?: string; flops?: number};

const QUERIES = 4096;

export class Profiler {
  readonly method: ProfileMethod;
  private totals = new Map<string, {count: number; ns: number; flops: number}>();
  private pending: Promise<void>[] = [];
  private queue: Op[] = [];
  private draining: Promise<void> | null = null;
  private running = false;
  overheadNs = 0;
  dispatches = 0;

  constructor(private device: GPUDevice, force?: ProfileMethod) {
    this.method = force ?? (device.features.has('timestamp-query') ? 'timestamp' : 'serial');
  }

  /** Measures the empty submit + wait the serial method subtracts (median of 15). */
  async calibrate(): Promise<void> {
    if (this.method !== 'serial') return;
    const ts: number[] = [];
    for (let i = 0; i < 15; i++) {
      const t = performance.now();
      this.device.queue.submit([this.device.createCommandEncoder().finish()]);
      await this.device.queue.onSubmittedWorkDone();
      ts.push(performance.now() - t);
    }
    this.overheadNs = [...ts].sort((a, b) => a - b)[7] * 1e6;
  }

  private add(label: string, ns: number, flops: number): void {
    let t = this.totals.get(label);
    if (!t) this.totals.set(label, (t = {count: 0, ns: 0, flops: 0}));
    t.count++; t.ns += ns; t.flops += flops;
  }

  /** True when buffer writes must be queued behind deferred submits (serial method). */
  get defersWrites(): boolean { return this.method === 'serial'; }

  write(buf: GPUBuffer, offset: number, data: Uint8Array): void {
    this.queue.push({kind: 'write', buf, offset, data: new Uint8Array(data)});
    this.kick();
  }

  /**
   * Submits one list of commands: `copies` are encoded as they come; each dispatch is timed.
   * `encodeCopy` encodes a non-dispatch command.
   */
  submit<C>(cmds: C[], isDispatch: (c: C) => c is C & ProfiledCommand, encodeCopy: (enc: GPUCommandEncoder, c: C) => void): void {
    if (this.method === 'timestamp') return this.submitTimestamped(cmds, isDispatch, encodeCopy);
    for (const c of cmds) {
      if (isDispatch(c)) {
        this.dispatches++;
        this.queue.push({kind: 'encoder', label: c.label, flops: c.flops, run: (enc) => {
          const pass = enc.beginComputePass();
          pass.setPipeline(c.pipeline); pass.setBindGroup(0, c.bindGroup); pass.dispatchWorkgroups(...c.wg);
          pass.end();
        }});
      } else this.queue.push({kind: 'encoder', run: (enc) => encodeCopy(enc, c)});
    }
    this.kick();
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    const run = async () => {
      // Writes and copies run in order without waiting; each dispatch is submitted alone and waited for.
      try {
        while (this.queue.length) {
          const op = this.queue.shift()!;
          if (op.kind === 'write') { this.device.queue.writeBuffer(op.buf, op.offset, op.data); continue; }
          const enc = this.device.createCommandEncoder();
          op.run(enc);
          const t = performance.now();
          this.device.queue.submit([enc.finish()]);
          if (op.label === undefined) continue;
          await this.device.queue.onSubmittedWorkDone();
          this.add(op.label, Math.max(0, (performance.now() - t) * 1e6 - this.overheadNs), op.flops ?? 0);
        }
      } finally {
        // Cleared as the queue empties (synchronously when nothing was awaited), so the next kick() drains again.
        this.running = false;
      }
    };
    this.draining = run();
  }

  private submitTimestamped<C>(cmds: C[], isDispatch: (c: C) => c is C & ProfiledCommand, encodeCopy: (enc: GPUCommandEncoder, c: C) => void): void {
    const dev = this.device;
    let i = 0;
    while (i < cmds.length) {
      const enc = dev.createCommandEncoder();
      const qs = dev.createQuerySet({type: 'timestamp', count: QUERIES});
      const labels: ProfiledCommand[] = [];
      for (; i < cmds.length && labels.length * 2 < QUERIES; i++) {
        const c = cmds[i];
        if (!isDispatch(c)) { encodeCopy(enc, c); continue; }
        const q = labels.length * 2;
        const pass = enc.beginComputePass({timestampWrites: {querySet: qs, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1}});
        pass.setPipeline(c.pipeline); pass.setBindGroup(0, c.bindGroup); pass.dispatchWorkgroups(...c.wg);
        pass.end();
        labels.push(c);
      }
      const bytes = Math.max(16, labels.length * 16);
      const resolve = dev.createBuffer({size: bytes, usage: 0x200 /* QUERY_RESOLVE */ | 0x04 /* COPY_SRC */});
      const read = dev.createBuffer({size: bytes, usage: 0x01 /* MAP_READ */ | 0x08 /* COPY_DST */});
      if (labels.length) {
        enc.resolveQuerySet(qs, 0, labels.length * 2, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, read, 0, bytes);
      }
      dev.queue.submit([enc.finish()]);
      this.dispatches += labels.length;
      if (!labels.length) { qs.destroy(); resolve.destroy(); read.destroy(); continue; }
      this.pending.push(read.mapAsync(0x01).then(() => {
        const t = new BigInt64Array(read.getMappedRange());
        labels.forEach((c, j) => this.add(c.label, Math.max(0, Number(t[2 * j + 1] - t[2 * j])), c.flops));
        read.unmap();
      }).finally(() => { qs.destroy(); resolve.destroy(); read.destroy(); }));
    }
  }

  /** Waits until every profiled submit has run and been accounted. */
  async drained(): Promise<void> {
    for (;;) {
      if (this.draining) await this.draining;
      if (!this.queue.length && !this.running) break;
      if (!this.running) this.kick();
    }
    const p = this.pending;
    this.pending = [];
    await Promise.all(p);
  }

  /** Rows per step, slowest first. */
  report(steps: number, adapter: string, wallMs: number): ProfileResult {
    let total = 0;
    for (const t of this.totals.values()) total += t.ns;
    const rows = [...this.totals.entries()].map(([kernel, t]) => ({
      kernel, count: t.count / steps, ms: t.ns / 1e6 / steps, share: total ? t.ns / total : 0,
      gflops: t.flops && t.ns ? t.flops / t.ns : NaN,
    })).sort((a, b) => b.ms - a.ms);
    return {method: this.method, adapter, steps, kernelMs: total / 1e6 / steps, wallMs, overheadMs: this.overheadNs / 1e6,
      dispatches: this.dispatches / steps, rows};
  }
}

/** A markdown table of a profile (top `limit` rows, the rest summed). */
export function formatProfile(p: ProfileResult, limit = 25): string {
  const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const lines = [
    `profile: ${p.adapter}; method ${p.method}${p.method === 'serial' ? ` (each dispatch submitted and waited for alone, minus an empty submit of ${f(p.overheadMs)} ms)` : ' (timestamp queries around each dispatch)'}`,
    `per step over ${p.steps} steps: ${f(p.dispatches, 0)} dispatches, kernel time ${f(p.kernelMs, 2)} ms, wall ${f(p.wallMs, 2)} ms while profiling`,
    '| kernel | count | ms/step | share | GFLOP/s |', '|---|---|---|---|---|',
  ];
  const shown = p.rows.slice(0, limit);
  for (const r of shown) lines.push(`| ${r.kernel} | ${f(r.count, 0)} | ${f(r.ms)} | ${(100 * r.share).toFixed(1)}% | ${f(r.gflops, 2)} |`);
  const rest = p.rows.slice(limit);
  if (rest.length) {
    const ms = rest.reduce((s, r) => s + r.ms, 0), sh = rest.reduce((s, r) => s + r.share, 0), n = rest.reduce((s, r) => s + r.count, 0);
    lines.push(`| (${rest.length} more kernels) | ${f(n, 0)} | ${f(ms)} | ${(100 * sh).toFixed(1)}% | - |`);
  }
  return lines.join('\n');
}
