// Experiment outputs in Node: a run log that survives interruption (each finished run is one JSON line,
// reused when the experiment is run again with the same settings), file names keyed by a run's full settings,
// values derived from stored artefacts kept beside them, charts as SVG + PNG + the Vega-Lite spec, and Markdown
// tables. Every file is written atomically.
import {createHash} from 'node:crypto';
import {existsSync, readFileSync} from 'node:fs';
import {dirname, join} from 'node:path';
import type {TopLevelSpec} from 'vega-lite';
import {toSvg} from '../../src/analysis/charts.js';
import {cleanStaleTemps, ensureDir, writeFileAtomic} from '../../src/io/files.js';

/** A run's key: its settings as JSON, as stored in runs.jsonl. */
export const runKey = (spec: unknown): string => JSON.stringify(spec);
const shortHash = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);
/**
 * The file name (without extension) of an artefact of one run: a readable prefix and a short stable hash of the
 * run's full key, so runs that differ in any setting (steps, batch, width, ...) never share a file.
 */
export const keyedName = (prefix: string, spec: unknown): string => `${prefix}-${shortHash(runKey(spec))}`;
/** A short hash of a file's bytes: the key of what is derived from that file (a model's pictures). */
export const fileHash = (path: string): string => shortHash(readFileSync(path));

/** Writes a text file atomically (temp file, fsync, rename): a reader never sees half of it. */
export const writeTextAtomic = (path: string, text: string): void => writeFileAtomic(path, Buffer.from(text, 'utf8'));

/**
 * Finished runs, one JSON line each ({key, result}), reused when the experiment runs again with the same settings.
 * Every write replaces the whole file atomically, so it always parses and no stored run is ever lost to an
 * interruption. `fresh` redoes each run these settings ask for once, replacing its stored line when it finishes;
 * runs of other settings stay. One process per folder (the CLI locks it): two writers would drop each other's runs.
 */
export class RunLog<R> {
  private done = new Map<string, R>();
  private redone = new Set<string>();
  constructor(readonly path: string, private readonly fresh = false) {
    ensureDir(dirname(path));
    cleanStaleTemps(dirname(path));
    if (!existsSync(path)) return;
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const {key, result} = JSON.parse(line);
        this.done.set(key, result);
      } catch { /* a line that does not parse (cut by an appending writer, or edited by hand): that run is redone */ }
    }
  }
  /** Stored runs, including those `fresh` will redo. */
  get size(): number { return this.done.size; }
  /** What this log will do with its stored runs, for the experiment's log; null when it holds none. */
  get summary(): string | null {
    if (!this.done.size) return null;
    return this.fresh ? `${this.done.size} runs are stored in ${this.path}; --fresh redoes those of these settings ` +
      '(each replaces its line when it finishes) and keeps the rest'
      : `reusing ${this.done.size} finished runs from ${this.path} (--fresh to redo them)`;
  }
  /** The stored result for `spec`, or runs it and stores the result. */
  async get(spec: unknown, run: () => Promise<R>): Promise<{result: R; cached: boolean}> {
    const key = runKey(spec);
    const hit = this.done.get(key);
    if (hit !== undefined && (!this.fresh || this.redone.has(key))) return {result: hit, cached: true};
    const result = await run();
    this.done.set(key, result); // a replaced run keeps its line's place
    this.redone.add(key);
    writeTextAtomic(this.path, [...this.done].map(([k, r]) => JSON.stringify({key: k, result: r}) + '\n').join(''));
    return {result, cached: false};
  }
}

/**
 * A value derived from stored artefacts (a picture's numbers from a model file), computed once and kept as JSON in
 * `path`, whose name carries the inputs' key: the report then reads it instead of measuring again.
 */
export async function derived<T>(path: string, compute: () => Promise<T>): Promise<T> {
  if (existsSync(path)) return JSON.parse(readFileSync(path, 'utf8')) as T;
  const text = JSON.stringify(await compute());
  writeTextAtomic(path, text);
  return JSON.parse(text) as T; // as a later report reads it back, so both render alike
}

/** Writes <name>.svg, <name>.png (2x) and <name>.vl.json (the spec, for the browser page) into dir. */
export async function writeChart(dir: string, name: string, spec: TopLevelSpec): Promise<void> {
  const svg = await toSvg(spec);
  writeTextAtomic(join(dir, `${name}.svg`), svg);
  writeTextAtomic(join(dir, `${name}.vl.json`), JSON.stringify(spec, null, 1));
  const {Resvg} = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {font: {loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans'}, fitTo: {mode: 'zoom', value: 2}, background: 'white'}).render().asPng();
  writeFileAtomic(join(dir, `${name}.png`), png);
}

export const pct = (v: number) => (100 * v).toFixed(1);
/** "84.2 +- 1.3" from fractions. */
export const pm = (m: {mean: number; std: number}) => `${pct(m.mean)} ± ${pct(m.std)}`;

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
