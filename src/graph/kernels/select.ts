// The form of every family's selection table: an ordered list of variants, each with the case it applies to and
// the reason it is chosen there; the first that applies runs. Later steps may reorder a table per measured shape.

/** One row of a selection table. */
export interface Choice<V extends string, C> {
  variant: V;
  /** Whether the variant runs for this case (shapes, adapter, preferences). */
  when: (c: C) => boolean;
  /** Why it is chosen here, with the measurement behind it where there is one. */
  why: string;
}

/** The first variant of `table` that applies to `c`; the last row of a table applies to every case. */
export function select<V extends string, C>(table: readonly Choice<V, C>[], c: C): V {
  for (const row of table) if (row.when(c)) return row.variant;
  throw new Error(`webgpu-transfer: no kernel variant applies (${table.map((r) => r.variant).join(', ')})`);
}
