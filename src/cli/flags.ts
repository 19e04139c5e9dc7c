// The CLI's flag parsing, shared by every command (src/cli/main.ts) and by `npm run serve` (src/cli/serve.ts):
// each command accepts only its own flags, every value is checked by a strict parser, and any mistake ends the
// process with one line on stderr (`webgpu-transfer: ...`, exit 2), never a stack trace.
import {parseArgs} from 'node:util';

export function fail(msg: string): never {
  console.error(`webgpu-transfer: ${msg.replace(/^webgpu-transfer: /, '')}`);
  process.exit(2);
}

// ---- flag values: strict parsers (Number('') is 0 and Number('0x10') is 16; neither is a learning rate) ----
export type Parse = (v: string, flag: string) => string | number;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
export const int = (min: number, max = 2 ** 31 - 1): Parse => (v, flag) => {
  const n = DECIMAL.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    fail(`flag --${flag} expects an integer >= ${min}${max < 2 ** 31 - 1 ? ` and <= ${max}` : ''}, got '${v}'`);
  }
  return n;
};
export const real = ({above, min, below}: {above?: number; min?: number; below?: number}): Parse => (v, flag) => {
  const n = DECIMAL.test(v) ? Number(v) : NaN;
  const ok = Number.isFinite(n) && (above === undefined || n > above) && (min === undefined || n >= min) &&
    (below === undefined || n < below);
  const range = [above !== undefined && `> ${above}`, min !== undefined && `>= ${min}`, below !== undefined && `< ${below}`]
    .filter(Boolean).join(' and ');
  if (!ok) fail(`flag --${flag} expects a decimal number ${range}, got '${v}'`);
  return n;
};
export const choice = (list: readonly string[]): Parse => (v, flag) =>
  (list.includes(v) ? v : fail(`flag --${flag} expects one of ${list.join(', ')}, got '${v}'`));
export const text: Parse = (v, flag) => (v.trim() ? v : fail(`flag --${flag} expects a value, got '${v}'`));

export interface FlagSpec { arg?: string; parse?: Parse; help: string }
export const flag = (arg: string, parse: Parse, help: string): FlagSpec => ({arg, parse, help});
export const bool = (help: string): FlagSpec => ({help});

export interface CommandSpec { about: string; usage: string; flags: Record<string, FlagSpec>; more?: string }
export type FlagValues = Record<string, string | number | boolean | undefined>;

export function helpFor(c: CommandSpec): string {
  const lines = Object.entries(c.flags).map(([k, f]) => `  ${`--${k}${f.arg ? ` ${f.arg}` : ''}`.padEnd(22)}${f.help}`);
  lines.push(`  ${'--help'.padEnd(22)}this text`);
  return `usage: webgpu-transfer ${c.usage}\n${c.about}\n\n${lines.join('\n')}${c.more ? `\n\n${c.more}` : ''}`;
}

/**
 * Parses the flags of `cmd`, one of `commands`: unknown, repeated or misplaced flags and bad values all fail here
 * (an unknown flag that another command of the table takes is named as such); `--help` prints the usage and exits.
 */
export function parseFlags(commands: Record<string, CommandSpec>, cmd: string, args: string[]): FlagValues {
  const spec = commands[cmd].flags;
  // `--epochs -1`: parseArgs reads `-1` as a short flag ("ambiguous"); join negative numbers to their flag so
  // the value reaches our range check.
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--([^=]+)$/.exec(args[i]);
    if (m && Object.hasOwn(spec, m[1]) && spec[m[1]].arg && /^-[\d.]/.test(args[i + 1] ?? '')) joined.push(`${args[i]}=${args[++i]}`);
    else joined.push(args[i]);
  }
  const options: Record<string, {type: 'string' | 'boolean'; short?: string}> = {help: {type: 'boolean', short: 'h'}};
  for (const [k, f] of Object.entries(spec)) options[k] = {type: f.arg ? 'string' : 'boolean'};
  for (const a of joined) {
    const name = /^--([^=]+)/.exec(a)?.[1];
    if (!name || Object.hasOwn(options, name)) continue;
    const owners = Object.keys(commands).filter((c) => Object.hasOwn(commands[c].flags, name));
    fail(`${cmd}: unknown flag --${name}${owners.length ? ` (a flag of ${owners.join(', ')}, not of ${cmd})` : ''}; ` +
      `${cmd} takes ${Object.keys(spec).map((k) => `--${k}`).join(' ') || 'no flags'} (see ${cmd} --help)`);
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({args: joined, options, strict: true, allowPositionals: false, tokens: true});
  } catch (e) {
    fail(`${cmd}: ${(e as Error).message} (see ${cmd} --help)`);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) fail(`${cmd}: flag --${t.name} given twice`);
    seen.add(t.name);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  if (values.help) { console.log(helpFor(commands[cmd])); process.exit(0); }
  const out: FlagValues = {};
  for (const [k, v] of Object.entries(values)) out[k] = typeof v === 'string' ? spec[k].parse!(v, k) : v;
  return out;
}
