// Command-line options on Node's util.parseArgs: one table per command (name, value placeholder, help line)
// gives both the parser's configuration and the command's --help text; unknown options and missing values
// are errors that name the option and end with the command's usage.
import { parseArgs as nodeParseArgs } from 'node:util';

export interface OptSpec {
  type: 'string' | 'boolean';
  /** Placeholder shown after a string option, e.g. N or DIR. */
  value?: string;
  help: string;
}

export type OptTable = Record<string, OptSpec>;

export interface Parsed { positional: string[]; opts: Map<string, string | true> }

/** A usage error (unknown option, missing value, no recipe): the CLI prints it with the usage and exits with code 2. */
export class UsageError extends Error {}

/** Parses `argv` against `table` (plus --help); throws a UsageError with `usage` appended for anything unknown. */
export function parseArgs(argv: string[], table: OptTable, usage: string): Parsed {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [k, s] of Object.entries(table)) options[k] = { type: s.type };
  let r: ReturnType<typeof nodeParseArgs>;
  try {
    r = nodeParseArgs({ args: argv, options, strict: true, allowPositionals: true });
  } catch (e) {
    const err = e as Error & { code?: string };
    const m = /'(-{1,2}[^' ]+)/.exec(err.message);
    const opt = m ? m[1] : '';
    let msg = err.message;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') msg = `unknown option ${opt}`;
    else if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing|ambiguous/.test(err.message)) msg = `option ${opt} needs a value (write ${opt}=VALUE for a value that starts with '-')`;
    else if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') msg = `option ${opt} takes no value`;
    throw new UsageError(`${msg}\n\n${usage}`);
  }
  const opts = new Map<string, string | true>();
  for (const [k, v] of Object.entries(r.values)) {
    if (v === undefined || v === false) continue;
    opts.set(k, v === true ? true : String(Array.isArray(v) ? v[v.length - 1] : v));
  }
  return { positional: r.positionals, opts };
}

/** Help lines for a table of options, aligned. */
export function optionLines(table: OptTable): string[] {
  const heads = Object.entries(table).map(([k, s]) => [`--${k}${s.type === 'string' ? ` ${s.value ?? 'X'}` : ''}`, s.help]);
  const w = Math.max(0, ...heads.map(([h]) => h.length));
  return heads.map(([h, t]) => `  ${h.padEnd(w)}  ${t}`);
}

export function str(p: Parsed, key: string): string | undefined {
  const v = p.opts.get(key);
  return typeof v === 'string' ? v : undefined;
}

export function num(p: Parsed, key: string, check: (v: number) => boolean = Number.isFinite, want = 'a number'): number | undefined {
  const v = str(p, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !check(n)) throw new Error(`--${key} must be ${want}, got '${v}'`);
  return n;
}

export const int = (p: Parsed, key: string, min = 0) =>
  num(p, key, (v) => Number.isInteger(v) && v >= min, `an integer >= ${min}`);
