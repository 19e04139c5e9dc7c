// Range checks for the numeric options of optimizers, schedules and strategies, with one wording for every
// error: "webgpu-transfer: <where>: <what> must be ..., got <value>". Undefined means "not given": no error.
// In optim, the lowest layer that needs them, so train, capsnet and transfer import them from one place.

/** Checks a hyper-parameter: a finite number >= min (or > min when strict). */
export function checkNumber(where: string, what: string, v: number | undefined, min = 0, strict = false): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isFinite(v) || (strict ? v <= min : v < min)) {
    throw new Error(`webgpu-transfer: ${where}: ${what} must be a finite number ${strict ? '>' : '>='} ${min}, got ${v}`);
  }
}

/** Checks a count: an integer >= min. */
export function checkInteger(where: string, what: string, v: number | undefined, min = 1): void {
  if (v === undefined) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    throw new Error(`webgpu-transfer: ${where}: ${what} must be an integer >= ${min}, got ${v}`);
  }
}

/** Checks a string option against its allowed values, named in the error. */
export function checkChoice<T extends string>(where: string, what: string, v: T | undefined, allowed: readonly T[]): void {
  if (v === undefined || allowed.includes(v)) return;
  const list = allowed.map((a) => `'${a}'`);
  const said = list.length > 1 ? `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}` : list[0];
  throw new Error(`webgpu-transfer: ${where}: ${what} must be ${said}, got '${v}'`);
}
