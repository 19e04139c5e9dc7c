// Command-line flags from a table: each command (train, eval, each experiment, ...) declares its flags with typed,
// strict parsers. parseCommandFlags refuses unknown, repeated and misplaced flags, a list where one value belongs,
// a repeat inside a list and any bad value, with one line naming the flag, before the caller does any work.
import {parseArgs} from 'node:util';

/** A refused command line: the CLI prints its one-line message and exits 2. */
export class FlagError extends Error {}
const refuse = (msg: string): never => { throw new FlagError(msg); };

// ---- flag values: strict parsers (Number('') is 0 and Number('0x10') is 16; neither is a learning rate) ----
export type Parse = (v: string, flag: string) => unknown;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
/** "an integer", or "one integer" where the value is a list (a flag that takes one value given several). */
const one = (v: string, what: string) => (v.includes(',') ? `one ${what}` : `${/^[aeiou]/.test(what) ? 'an' : 'a'} ${what}`);
export const int = (min: number, max = 2 ** 31 - 1): Parse => (v, flag) => {
  const n = DECIMAL.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    refuse(`flag --${flag} expects ${one(v, 'integer')} >= ${min}${max < 2 ** 31 - 1 ? ` and <= ${max}` : ''}, got '${v}'`);
  }
  return n;
};
export const real = ({above, min, below}: {above?: number; min?: number; below?: number}): Parse => (v, flag) => {
  const n = DECIMAL.test(v) ? Number(v) : NaN;
  const ok = Number.isFinite(n) && (above === undefined || n > above) && (min === undefined || n >= min) &&
    (below === undefined || n < below);
  const range = [above !== undefined && `> ${above}`, min !== undefined && `>= ${min}`, below !== undefined && `< ${below}`]
    .filter(Boolean).join(' and ');
  if (!ok) refuse(`flag --${flag} expects ${one(v, 'decimal number')} ${range}, got '${v}'`);
  return n;
};
export const choice = (list: readonly string[]): Parse => (v, flag) =>
  (list.includes(v) ? v : refuse(`flag --${flag} expects one of ${list.join(', ')}, got '${v}'`));
export const text: Parse = (v, flag) => (v.trim() ? v : refuse(`flag --${flag} expects a value, got '${v}'`));
/**
 * A comma-separated list of `item` values: at least one, no blank item, and no value twice (a repeated seed or
 * learning rate would run the same setting twice); items compare by parsed value, so 0.002 and 2e-3 are the same.
 */
export const list = (item: Parse): Parse => (v, flag) => {
  const parts = v.split(',');
  const values = parts.map((p) => {
    try { return item(p, flag); } catch (e) {
      if (e instanceof FlagError) refuse(`${e.message} (in the list '${v}')`);
      throw e;
    }
  });
  const twice = values.findIndex((x, i) => values.indexOf(x) < i);
  if (twice >= 0) refuse(`flag --${flag} names ${parts[twice]} twice: '${v}'`);
  return values;
};

export const BACKENDS = ['auto', 'swiftshader', 'llvmpipe', 'vulkan', 'opengles'] as const;

/** `def`: the value a missing flag takes (parsed like a given one, and named in the help). */
export interface FlagSpec { arg?: string; parse?: Parse; help: string; def?: string }
export const flag = (arg: string, parse: Parse, help: string, def?: string): FlagSpec => ({arg, parse, help, def});
export const bool = (help: string): FlagSpec => ({help});
export interface CommandSpec {
  about: string; usage: string; flags: Record<string, FlagSpec>; more?: string;
  /** Names the operands a command takes after its flags (predict's IMAGE...); none when absent. */
  operands?: string;
}
export type FlagValues = Record<string, unknown>;

const HELP_COLUMN = 22;
/** One line per flag (a help text may continue on lines indented to its column), defaults named. */
export const flagLines = (c: CommandSpec): string[] => Object.entries(c.flags).map(([k, f]) =>
  `  ${`--${k}${f.arg ? ` ${f.arg}` : ''}`.padEnd(HELP_COLUMN)}${f.help}${f.def !== undefined ? ` (default ${f.def})` : ''}`);
export function helpText(c: CommandSpec, prog = 'webgpu-transfer'): string {
  const lines = [...flagLines(c), `  ${'--help'.padEnd(HELP_COLUMN)}this text`];
  return `usage: ${prog} ${c.usage}\n${c.about}\n\n${lines.join('\n')}${c.more ? `\n\n${c.more}` : ''}`;
}

/**
 * Parses the flags of `commands[cmd]`: unknown (naming the other commands that take it), repeated or misplaced
 * flags and bad values all throw a FlagError. Flags with a `def` are filled in; `help` is true for --help / -h.
 * `label` names the command in messages ("experiment dann"); value messages carry it only when it is given.
 */
export function parseCommandFlags(commands: Record<string, CommandSpec>, cmd: string, args: string[],
  {label}: {label?: string} = {}): FlagValues {
  const spec = commands[cmd].flags;
  const who = label ?? cmd;
  // `--epochs -1`: parseArgs reads `-1` as a short flag ("ambiguous"); join negative numbers to their flag so
  // the value reaches our range check.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([^=]+)$/.exec(args[i]);
    const negative = m && Object.hasOwn(spec, m[1]) && spec[m[1]].arg && /^-[\d.]/.test(args[i + 1] ?? '');
    joined.push(negative ? `${args[i]}=${args[++i]}` : args[i]);
  }
  const options: Record<string, {type: 'string' | 'boolean'; short?: string}> = {help: {type: 'boolean', short: 'h'}};
  for (const [k, f] of Object.entries(spec)) options[k] = {type: f.arg ? 'string' : 'boolean'};
  for (const a of joined) {
    const name = /^--([^=]+)/.exec(a)?.[1];
    if (!name || Object.hasOwn(options, name)) continue;
    const owners = Object.keys(commands).filter((c) => Object.hasOwn(commands[c].flags, name));
    refuse(`${who}: unknown flag --${name}${owners.length ? ` (a flag of ${owners.join(', ')}, not of ${cmd})` : ''}; ` +
      `${cmd} takes ${Object.keys(spec).map((k) => `--${k}`).join(' ') || 'no flags'} (see ${who} --help)`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({args: joined, options, strict: true, allowPositionals: !!commands[cmd].operands, tokens: true});
  } catch (e) {
    refuse(`${who}: ${(e as Error).message} (see ${who} --help)`);
  }
  const seen = new Set<string>();
  for (const t of parsed!.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) refuse(`${who}: flag --${t.name} given twice`);
    seen.add(t.name);
  }
  const values = parsed!.values as Record<string, string | boolean | undefined>;
  if (values.help) return {help: true};
  const out: FlagValues = commands[cmd].operands ? {_: parsed!.positionals} : {};
  try {
    for (const [k, v] of Object.entries(values)) out[k] = typeof v === 'string' ? spec[k].parse!(v, k) : v;
    for (const [k, f] of Object.entries(spec)) if (out[k] === undefined && f.def !== undefined) out[k] = f.parse!(f.def, k);
  } catch (e) {
    if (e instanceof FlagError && label) refuse(`${label}: ${e.message}`);
    throw e;
  }
  return out;
}

/** The signals a command handles, with the exit code of a process they ended (128 + the signal's number). */
export const SIGNALS = {SIGINT: 130, SIGTERM: 143, SIGHUP: 129} as const;

/** Ends the process with one line on stderr (`webgpu-transfer: ...`, exit 2): a command line's mistakes only. */
export function fail(msg: string): never {
  console.error(`webgpu-transfer: ${msg.replace(/^webgpu-transfer: /, '')}`);
  process.exit(2);
}

/**
 * parseCommandFlags for a process's own command line: `--help` prints the command's usage and exits 0, a refused
 * flag prints its one line and exits 2 (never a stack trace).
 */
export function parseFlags(commands: Record<string, CommandSpec>, cmd: string, args: string[]): FlagValues {
  let values: FlagValues;
  try { values = parseCommandFlags(commands, cmd, args); } catch (e) {
    if (e instanceof FlagError) fail(e.message);
    throw e;
  }
  if (values.help) { console.log(helpText(commands[cmd])); process.exit(0); }
  return values;
}
