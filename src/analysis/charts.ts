// Chart specs (Vega-Lite) for the experiments, and their SVG rendering through Vega. The same specs render
// live in a page (vega-embed or vega's View in the DOM) and headless here; nothing in this file is Node-only.
import type {TopLevelSpec} from 'vega-lite';

export type Row = Record<string, string | number | null>;

/** mean and sample standard deviation of a list (std 0 for one value). */
export function meanStd(xs: number[]): {mean: number; std: number; n: number} {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(n, 1);
  const std = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return {mean, std, n};
}

const FONT = 'DejaVu Sans, sans-serif';
const config = {font: FONT, axis: {labelFontSize: 11, titleFontSize: 12}, legend: {labelFontSize: 11, titleFontSize: 12, labelLimit: 260}, header: {labelFontSize: 12, titleFontSize: 12}};

/**
 * Mean +- std lines: x numeric (log or linear), y a fraction shown as percent, one line per `series`, one panel
 * per `facet`. Rows carry mean, lo and hi.
 */
export function lineChart(o: {title: string; rows: Row[]; x: string; xTitle: string; yTitle: string; series: string; seriesTitle: string;
  facet?: string; logX?: boolean; rule?: Row[]; ruleLabel?: string; width?: number}): TopLevelSpec {
  const x = {field: o.x, type: 'quantitative' as const, title: o.xTitle, scale: o.logX ? {type: 'log' as const} : {zero: false}, axis: o.logX ? {values: [...new Set(o.rows.map((r) => r[o.x] as number))]} : {tickMinStep: 1}};
  const y = {field: 'mean', type: 'quantitative' as const, title: o.yTitle, axis: {format: '.0%'}, scale: {zero: false}};
  const color = {field: o.series, type: 'nominal' as const, title: o.seriesTitle};
  const layers: Record<string, unknown>[] = [
    {mark: {type: 'line', point: true}, encoding: {x, y, color}},
    {mark: {type: 'errorbar', ticks: true}, encoding: {x, y: {field: 'lo', type: 'quantitative', title: o.yTitle}, y2: {field: 'hi'}, color}},
  ];
  if (o.rule) {
    layers.push({data: {values: o.rule}, mark: {type: 'rule', strokeDash: [6, 4], color: 'black'}, encoding: {y: {field: 'mean', type: 'quantitative'}}});
    layers.push({data: {values: o.rule}, mark: {type: 'text', align: 'right', dx: -4, dy: 12, fontSize: 11}, encoding: {y: {field: 'mean', type: 'quantitative'}, x: {value: o.width ?? 300}, text: {value: o.ruleLabel ?? ''}}});
  }
  const inner = {width: o.width ?? 300, height: 230, layer: layers};
  return (o.facet
    ? {$schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: o.title, data: {values: o.rows}, facet: {column: {field: o.facet, type: 'nominal', title: null}}, spec: inner, resolve: {scale: {y: 'independent'}}, config}
    : {$schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: o.title, data: {values: o.rows}, ...inner, config}) as unknown as TopLevelSpec;
}

/** Renders a Vega-Lite spec to an SVG string (no DOM needed). */
export async function toSvg(spec: TopLevelSpec): Promise<string> {
  // Loaded on first use: every CLI start would otherwise pay for Vega (a quarter of a second).
  const [vega, {compile}] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), {renderer: 'none'});
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}
