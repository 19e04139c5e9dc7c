// Experiment outputs in Node: a run log that survives interruption (each finished run is one JSON line,
// reused when the experiment is run again with the same settings), charts as SVG + PNG + the Vega-Lite spec,
// and Markdown tables.
import {appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import type {TopLevelSpec} from 'vega-lite';
import {toSvg} from '../analysis/charts.js';

export class RunLog<R> {
  private done = new Map<string, R>();
  constructor(readonly path: string, fresh = false) {
    mkdirSync(join(path, '..'), {recursive: true});
    if (fresh || !existsSync(path)) { writeFileSync(path, ''); return; }
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        const {key, result} = JSON.parse(line);
        this.done.set(key, result);
      } catch { /* a line cut by a crash: that run is simply redone */ }
    }
  }
  get size(): number { return this.done.size; }
  /** The stored result for `spec`, or runs it and stores the result. */
  async get(spec: unknown, run: () => Promise<R>): Promise<{result: R; cached: boolean}> {
    const key = JSON.stringify(spec);
    const hit = this.done.get(key);
    if (hit) return {result: hit, cached: true};
    const result = await run();
    this.done.set(key, result);
    appendFileSync(this.path, JSON.stringify({key, result}) + '\n');
    return {result, cached: false};
  }
}

/** Writes <name>.svg, <name>.png (2x) and <name>.vl.json (the spec, for the browser page) into dir. */
export async function writeChart(dir: string, name: string, spec: TopLevelSpec): Promise<void> {
  const svg = await toSvg(spec);
  writeFileSync(join(dir, `${name}.svg`), svg);
  writeFileSync(join(dir, `${name}.vl.json`), JSON.stringify(spec, null, 1));
  const {Resvg} = await import('@resvg/resvg-js');
  const png = new Resvg(svg, {font: {loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans'}, fitTo: {mode: 'zoom', value: 2}, background: 'white'}).render().asPng();
  writeFileSync(join(dir, `${name}.png`), png);
}

export const pct = (v: number) => (100 * v).toFixed(1);
/** "84.2 +- 1.3" from fractions. */
export const pm = (m: {mean: number; std: number}) => `${pct(m.mean)} ± ${pct(m.std)}`;

export function markdownTable(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
