// Finding non-finite weights: a model with a NaN weight can still train with a falling loss and evaluate to a
// finite loss (a NaN in a ReLU's dead half, a max-pool that drops it), so evaluation and checkpoint loading
// look at the weights themselves.
import type {Tensor} from '../graph/tensor.js';
import type {Module} from './module.js';

/** A tensor holding NaN or Inf: its name and shape, the counts of each, and where the first one is. */
export interface NonFiniteReport {
  /** State-dict name ('features.0.weight'). */
  name: string;
  shape: number[];
  nan: number;
  posInf: number;
  negInf: number;
  /** Index of the first non-finite element (flat). */
  first: number;
}

/** Counts NaN/+Inf/-Inf in each float tensor; lists only those that have any. Reads every tensor back. */
export async function nonFiniteTensors(entries: Iterable<[string, Tensor]>): Promise<NonFiniteReport[]> {
  const out: NonFiniteReport[] = [];
  for (const [name, t] of entries) {
    if (t.dtype !== 'f32' || !t.size) continue;
    const d = await t.data();
    let nan = 0, posInf = 0, negInf = 0, first = -1;
    for (let i = 0; i < d.length; i++) {
      const v = d[i];
      if (v - v === 0) continue; // finite
      if (first < 0) first = i;
      if (v !== v) nan++; else if (v > 0) posInf++; else negInf++;
    }
    if (first >= 0) out.push({name, shape: [...t.shape], nan, posInf, negInf, first});
  }
  return out;
}

/** Parameters and buffers (running statistics) of `module` holding NaN or Inf, by state-dict name. */
export function nonFiniteParameters(module: Module): Promise<NonFiniteReport[]> {
  return nonFiniteTensors(module.stateDict());
}

/** One line per tensor, for a warning or an error: "features.0.weight [6, 1, 5, 5]: 3 NaN, 1 +Inf (first at 7)". */
export function formatNonFinite(reports: NonFiniteReport[]): string {
  return reports.map((r) => {
    const parts = [[r.nan, 'NaN'], [r.posInf, '+Inf'], [r.negInf, '-Inf']].filter(([n]) => n).map(([n, k]) => `${n} ${k}`);
    return `${r.name} [${r.shape.join(', ')}]: ${parts.join(', ')} (first at flat index ${r.first})`;
  }).join('\n');
}
