// Node's sinks for the training loop: a progress bar on a TTY or plain lines, metrics as JSON lines, and
// checkpoints as safetensors files. The loop itself knows none of this.
import {appendFileSync} from 'node:fs';
import {dirname} from 'node:path';
import cliProgress from 'cli-progress';
import type {Module} from '../../nn/module.js';
import type {GroupOptions, Optimizer} from '../../optim/optimizer.js';
import {checkWritableDir} from '../../io/files.js';
import {loadCheckpoint, saveCheckpoint} from '../checkpoint.js';
import type {CheckpointStore, Metrics, Position, Sink, StepRecord} from '../strategy.js';

/** ConsoleSink's output: 'auto' (a bar on a TTY, lines otherwise), 'bar', 'lines' or 'none'. */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
const fmtMetrics = (m: Metrics) => Object.entries(m).map(([k, v]) => `${k.replace(/_/g, ' ')} ${/accuracy/.test(k) ? pct(v) : v.toFixed(4)}`).join(', ');
const fmtTerms = (t: Metrics) => Object.entries(t).map(([k, v]) => ` ${k} ${v.toFixed(4)}`).join('');

/** Progress on the terminal: a live bar on a TTY, a plain line per record otherwise. */
export class ConsoleSink implements Sink {
  private bar: cliProgress.SingleBar | null = null;
  private name = 'train';
  private steps = 0;
  readonly mode: 'bar' | 'lines' | 'none';
  constructor(mode: ProgressMode = 'auto') {
    this.mode = mode === 'auto' ? (process.stdout.isTTY ? 'bar' : 'lines') : mode;
  }
  start(i: {name: string; steps: number; startStep: number; epoch: number}): void {
    this.name = i.name;
    this.steps = i.steps;
    if (this.mode !== 'bar') return;
    this.bar = new cliProgress.SingleBar({format: `${i.name} [{bar}] {value}/{total} | loss {loss} | {ips} img/s | epoch {epoch}`, hideCursor: true}, cliProgress.Presets.shades_classic);
    this.bar.start(i.steps, i.startStep, {loss: '-', ips: '-', epoch: i.epoch});
  }
  tick(step: number): void { this.bar?.update(step); }
  record(r: StepRecord): void {
    if (this.bar) this.bar.update(r.step, {loss: r.loss.toFixed(4), ips: r.examplesPerSecond.toFixed(0), epoch: r.epoch});
    else if (this.mode === 'lines') {
      const acc = r.trainAccuracy === undefined ? '' : ` train acc ${(100 * r.trainAccuracy).toFixed(1)}%`;
      console.log(`${this.name} step ${r.step}/${this.steps} epoch ${r.epoch} loss ${r.loss.toFixed(4)}${fmtTerms(r.terms)}${acc} lr ${r.lr.toPrecision(3)} ${r.examplesPerSecond.toFixed(0)} img/s`);
    }
  }
  evaluation(r: {step: number; metrics: Metrics}): void {
    if (this.mode === 'lines' && Object.keys(r.metrics).length) console.log(`${this.name} step ${r.step}: ${fmtMetrics(r.metrics)}`);
  }
  event(name: string, d: Record<string, unknown>): void {
    if (name !== 'tune' || this.mode !== 'lines' || !d.measured) return;
    console.log(`${this.name}: measured the kernel variants of ${d.measured} shapes in ${Number(d.seconds).toFixed(1)} s ` +
      `(${d.moved} off the tables' choice; cached for this adapter)`);
  }
  end(): void { this.bar?.stop(); }
}

/**
 * Metrics as JSON lines. Every record carries the run id, and each run starts with a 'start' event, so runs
 * that share a file (a resumed run) stay apart.
 */
export class JsonlSink implements Sink {
  readonly run = `${Date.now().toString(36)}-${process.pid}`;
  constructor(readonly path: string, readonly name?: string, readonly info: Record<string, unknown> = {}) {
    // Fails now, naming the folder, rather than at the first record after training has started.
    checkWritableDir(dirname(path));
  }
  private write(rec: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify({name: this.name, run: this.run, time: new Date().toISOString(), ...rec}) + '\n');
  }
  // The run's settings first: the loop's step count wins over a recorded plan of the same name.
  start(i: {steps: number; startStep: number}): void { this.write({event: 'start', ...this.info, steps: i.steps, from_step: i.startStep}); }
  record(r: StepRecord): void {
    this.write({step: r.step, epoch: r.epoch, loss: r.loss, ...(Object.keys(r.terms).length ? {terms: r.terms} : {}), train_accuracy: r.trainAccuracy, lr: r.lr, imagesPerSecond: r.examplesPerSecond});
  }
  evaluation(r: {step: number; epoch: number; metrics: Metrics}): void { this.write({step: r.step, epoch: r.epoch, ...r.metrics}); }
  event(name: string, data: Record<string, unknown>): void { if (name !== 'checkpoint') this.write({event: name, ...data}); }
}

/**
 * Checkpoints as safetensors files at `path` (model) and beside it (optimizer and position); resume reads
 * `resumeFrom` (default `path`). Without a path nothing is saved (a run that only resumes).
 */
export class FileCheckpointStore implements CheckpointStore {
  constructor(readonly o: {path?: string; resumeFrom?: string; metadata?: Record<string, string>}) {
    // A folder that cannot take the checkpoint fails before training, not at the first save.
    if (o.path) checkWritableDir(dirname(o.path));
  }
  async save(model: Module, optimizer: Optimizer<GroupOptions>, position: Position): Promise<void> {
    if (this.o.path) await saveCheckpoint(this.o.path, model, optimizer, position, this.o.metadata);
  }
  async load(model: Module, optimizer: Optimizer<GroupOptions>): Promise<Position | null> {
    const from = this.o.resumeFrom ?? this.o.path;
    return from ? loadCheckpoint(from, model, optimizer) : null;
  }
}
