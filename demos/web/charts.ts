// Live Vega-Lite charts for the page: one spec per chart, rows streamed into its named data set 'rows'.
import * as vega from 'vega';
import {compile, type TopLevelSpec} from 'vega-lite';

export class LiveChart {
  private view: vega.View;
  /** A Vega-Lite spec whose data is the named set 'rows'; rows stream in with add() or replace(). */
  constructor(el: HTMLElement, spec: Record<string, unknown>) {
    this.view = new vega.View(vega.parse(compile(spec as unknown as TopLevelSpec).spec), {renderer: 'svg', container: el, hover: true});
    void this.view.runAsync();
  }
  add(rows: Record<string, unknown>[]): void { void this.view.insert('rows', rows).runAsync(); }
  replace(rows: Record<string, unknown>[]): Promise<unknown> { return this.view.change('rows', vega.changeset().remove(() => true).insert(rows)).runAsync(); }
  clear(): void { void this.view.remove('rows', () => true).runAsync(); }
}

/** A line chart of {step, value, series} rows. A fixed layout: sizing from the marks' bounds ('pad', 'fit') breaks
 *  on the empty data set before the first record (unbounded marks); axes, title and legend live in the padding.
 *  `series`, when known in advance, fixes the legend's entries: an empty legend has no bounds, and the title is
 *  placed from them, so an empty chart would otherwise write infinite coordinates the browser reports as errors. */
export const lineSpec = (title: string, y: string, yFormat?: string, series?: string[]) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title, width: 360, height: 220, autosize: {type: 'none'},
  padding: {left: 60, top: 34, right: 190, bottom: 48}, data: {name: 'rows'}, mark: {type: 'line', point: {size: 12}},
  encoding: {x: {field: 'step', type: 'quantitative', title: 'step'}, y: {field: 'value', type: 'quantitative', title: y, ...(yFormat ? {axis: {format: yFormat}} : {})},
    color: {field: 'series', type: 'nominal', title: null, ...(series ? {scale: {domain: series}} : {})}},
});
/** The DANN picture: features of source and target test images projected on their first two principal components. */
export const pcaSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json', title: 'Features (PCA): source vs target', width: 360, height: 260,
  autosize: {type: 'none'}, padding: {left: 60, top: 34, right: 190, bottom: 48}, data: {name: 'rows'},
  mark: {type: 'point', filled: true, size: 18, opacity: 0.5},
  encoding: {x: {field: 'x', type: 'quantitative', title: 'PC 1', scale: {zero: false}}, y: {field: 'y', type: 'quantitative', title: 'PC 2', scale: {zero: false}},
    color: {field: 'domain', type: 'nominal', title: 'domain', scale: {range: ['#1f77b4', '#d62728']}}, tooltip: [{field: 'class'}, {field: 'domain'}]},
};
