// The form of every family's selection table: an ordered list of variants, each with the case it applies to and
// the reason it is chosen there; the first that applies and can run the case runs. Where a family's variants were
// measured on this adapter for a case's shape (tune.ts), or for a shape of its class within 2x, the fastest one that
// fits runs instead, unless a preference forces a variant.
import {kernelPrefs} from './prefs.js';

/** One row of a selection table. */
export interface Choice<V extends string, C> {
  variant: V;
  /** Whether the table picks the variant for this case (shapes, adapter, preferences). */
  when: (c: C) => boolean;
  /**
   * Whether the variant can run this case correctly at all (shapes, binding limits, llvmpipe's loop limit), whatever
   * the preferences: what a measured choice must meet. Absent: `when`.
   */
  fits?: (c: C) => boolean;
  /** Why it is chosen here, with the measurement behind it where there is one. */
  why: string;
}

/** Whether a row's variant can run `c`: its fits, else its when. */
const rowFits = <V extends string, C>(row: Choice<V, C>, c: C): boolean => (row.fits ?? row.when)(c);

/**
 * The first variant of `table` that applies to `c` and can run it: a row that applies but cannot (a preference
 * forcing a kernel past llvmpipe's loop limit, say) gives way to the next. Where none is left, an error naming the
 * case (`name`: the family and its shape), never a wrong result.
 */
export function select<V extends string, C>(table: readonly Choice<V, C>[], c: C, name = 'kernel'): V {
  for (const row of table) if (row.when(c) && rowFits(row, c)) return row.variant;
  const applying = table.filter((row) => row.when(c)).map((row) => row.variant);
  throw new Error(`webgpu-transfer: ${name}: ${applying.length ? `${applying.join(', ')} ` +
    `${applying.length > 1 ? 'apply' : 'applies'} but cannot run this case on this adapter (a loop or binding limit), ` +
    'and no other variant applies under the kernel preferences in force' : 'no kernel variant applies'}`);
}

/** A kernel family's choice: its table, how a case's shape is named for measured choices, and its preferences. */
export interface Family<V extends string = string, C = never> {
  /** e.g. 'conv.forward': measured choices and the tune report are keyed by it. */
  name: string;
  table: readonly Choice<V, C>[];
  /**
   * The case's shape: its sizes as numbers, and what else decides which variants fit and run best (transposes,
   * strides, flags) as the rest of the text; keys equal but for their sizes are one class (MeasuredChoices.near).
   */
  key: (c: C) => string;
  /** Whether the preferences leave the choice open (all at their defaults): a forced preference wins. */
  open: () => boolean;
}

/** Whether `variant` of family `f` can run case `c`. */
export function fitsCase<V extends string, C>(f: Family<V, C>, variant: string, c: C): boolean {
  const row = f.table.find((r) => r.variant === variant);
  return !!row && rowFits(row, c);
}

/** The variants of `f` that can run `c`, in table order. */
export const fittingVariants = <V extends string, C>(f: Family<V, C>, c: C): V[] =>
  f.table.filter((r) => rowFits(r, c)).map((r) => r.variant);

/** How measured choices, forced variants and recorded cases name a case: its family and its shape key. */
export const caseId = (family: string, key: string): string => `${family}|${key}`;

/** A key's sizes (its runs of digits) and the rest of it, which names its class: `2x3x9x8>6x3x3` -> `#x#x#x#>#x#x#`. */
const sizesOf = (key: string): number[] => (key.match(/\d+/g) ?? []).map(Number);
const classOf = (id: string): string => id.replace(/\d+/g, '#');
/** How far apart two keys of one class are: summed |log2| of their sizes' ratios; Infinity past 2x on any size. */
function distance(a: number[], b: number[]): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    const r = Math.abs(Math.log2(a[i] / b[i]));
    if (!(r <= 1)) return Infinity;
    d += r;
  }
  return d;
}

/**
 * Measured choices for the current device, by caseId; installed by tune.ts. A case no one measured takes the choice
 * of the nearest measured case of its class (`near`): same family and key but for the sizes, every size within 2x
 * (a batch of 48 where 32 was measured). The caller still checks that the variant fits.
 */
class MeasuredChoices extends Map<string, string> {
  private nearest = new Map<string, string | null>();
  override set(id: string, variant: string): this { this.nearest.clear(); return super.set(id, variant); }
  override delete(id: string): boolean { this.nearest.clear(); return super.delete(id); }
  override clear(): void { this.nearest.clear(); super.clear(); }
  /** The choice for `id`: measured for it, else the nearest of its class, else undefined. */
  near(id: string): string | undefined {
    const exact = this.get(id);
    if (exact !== undefined) return exact;
    let hit = this.nearest.get(id);
    if (hit === undefined) {
      const cls = classOf(id), sizes = sizesOf(id);
      let best = Infinity;
      hit = null;
      for (const [other, variant] of this) {
        if (classOf(other) !== cls) continue;
        const d = distance(sizes, sizesOf(other));
        if (d < best) { best = d; hit = variant; }
      }
      this.nearest.set(id, hit);
    }
    return hit ?? undefined;
  }
}
export const measuredChoices = new MeasuredChoices();
/** While measuring: the one case whose launches take a given variant, and how many did. */
let forced: {id: string; variant: string; hits: number} | null = null;
/** While recording a model's step: every case launched, by caseId (tune.ts measures them). */
let recorder: Map<string, {family: Family<string, unknown>; c: unknown}> | null = null;

/** The variant family `f` runs for case `c`: forced, else measured, else the table's. */
export function choose<V extends string, C>(f: Family<V, C>, c: C): V {
  if (forced || recorder || measuredChoices.size) {
    const id = caseId(f.name, f.key(c));
    if (forced?.id === id) { forced.hits++; return forced.variant as V; }
    if (recorder && !recorder.has(id)) recorder.set(id, {family: f as Family<string, unknown>, c});
    const m = kernelPrefs.measured ? measuredChoices.near(id) : undefined;
    if (m && f.open() && fitsCase(f, m, c)) return m as V;
  }
  return select(f.table, c, `${f.name} ${f.key(c)}`);
}

/**
 * Runs `fn` with the launches of one case (family name and shape key) forced to `variant`; fn is synchronous. Throws
 * where fn launched no such case: a measurement or test of it would time or check something else.
 */
export function withForcedVariant<T>(family: string, key: string, variant: string, fn: () => T): T {
  const saved = forced;
  const mine = {id: caseId(family, key), variant, hits: 0};
  forced = mine;
  let out: T;
  try {
    out = fn();
  } finally {
    forced = saved;
  }
  if (!mine.hits) throw new Error(`webgpu-transfer: nothing launched ${family} ${key} to run as ${variant}`);
  return out;
}

/** Runs `fn` and returns every case it launched (fn is synchronous: the launches of a graph are). */
export function recordCases(fn: () => void): {family: Family<string, unknown>; c: unknown}[] {
  const saved = recorder;
  recorder = new Map();
  const mine = recorder;
  try {
    fn();
  } finally {
    recorder = saved;
  }
  return [...mine.values()];
}
