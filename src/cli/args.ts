// A small argument parser: `cmd positional --key value --flag`, with every unknown option an error.

export interface Parsed { positional: string[]; opts: Map<string, string | true> }

export function parseArgs(argv: string[], known: Record<string, 'string' | 'flag'>): Parsed {
  const positional: string[] = [];
  const opts = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { positional.push(a); continue; }
    const eq = a.indexOf('=');
    const key = a.slice(2, eq < 0 ? undefined : eq);
    const kind = known[key];
    if (!kind) throw new Error(`unknown option --${key} (known: ${Object.keys(known).map((k) => `--${k}`).join(' ')})`);
    if (kind === 'flag') { opts.set(key, true); continue; }
    const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
    if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new Error(`option --${key} needs a value`);
    opts.set(key, v);
  }
  return { positional, opts };
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
