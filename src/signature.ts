// PyTorch-style call signatures for constructors: positional arguments in PyTorch's order, or an options
// object for the rest (keyword arguments), never both for one argument. An unknown option, an extra argument
// or a wrongly typed value is an error naming the class and the argument; nothing is silently defaulted.

/** One parameter of a signature: its camelCase name, a type check and the default used when it is absent. */
export interface Arg<T = unknown> {
  name: string;
  /** What a valid value is, for the error message ("an int", "a pair of ints"). */
  expected: string;
  check: (v: unknown) => boolean;
  /** Absent means the argument is required. */
  default?: T;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

export const argTypes = {
  int: (min = -Infinity) => ({
    expected: min === -Infinity ? 'an integer' : min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer >= ${min}`,
    check: (v: unknown) => isInt(v) && v >= min,
  }),
  number: (ok: (v: number) => boolean = () => true, expected = 'a number') => ({
    expected,
    check: (v: unknown) => typeof v === 'number' && !Number.isNaN(v) && ok(v),
  }),
  boolean: () => ({ expected: 'true or false', check: (v: unknown) => typeof v === 'boolean' }),
  /** An int or a pair of ints (PyTorch's _pair), each >= min. */
  pair: (min = 0) => ({
    expected: `an integer >= ${min} or a pair of them`,
    check: (v: unknown) => (isInt(v) && v >= min) ||
      (Array.isArray(v) && v.length === 2 && v.every((x) => isInt(x) && x >= min)),
  }),
  oneOf: <T>(...values: T[]) => ({
    expected: values.map((v) => JSON.stringify(v)).join(' or '),
    check: (v: unknown) => values.includes(v as T),
  }),
  intList: () => ({
    expected: 'an array of integers',
    check: (v: unknown) => Array.isArray(v) && v.every((x) => isInt(x)),
  }),
};

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `[${v.map(describe).join(', ')}]`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'an object';
  return String(v);
}

function isOptionsObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** PyTorch options Kiln spells differently, for the hint of an unknown-option error. */
const RENAMED: Record<string, string> = {
  size_average: "PyTorch's deprecated size_average/reduce are spelled reduction: 'mean' | 'sum' | 'none' in Kiln",
  reduce: "PyTorch's deprecated size_average/reduce are spelled reduction: 'mean' | 'sum' | 'none' in Kiln",
  padding_mode: "Kiln's convolutions pad with zeros: pad first with F.pad(x, pads, { mode: 'reflect' }) or nn.ReflectionPad2d",
  paddingMode: "Kiln's convolutions pad with zeros: pad first with F.pad(x, pads, { mode: 'reflect' }) or nn.ReflectionPad2d",
  create_graph: 'higher-order gradients are not supported',
  use_lsgan: "the CycleGAN reference's use_lsgan is loss: 'lsgan' in Kiln",
  createGraph: 'higher-order gradients are not supported',
};

/**
 * The one check of an options object's keys used by every public entry point that takes options
 * (constructors through bindArgs, the functional API, factories): a key not in `known` is an error naming
 * `op`, the key and the known ones, with the camelCase spelling when a snake_case key matches one.
 */
export function checkOptionKeys(op: string, options: object, known: readonly string[]): void {
  for (const k of Object.keys(options)) {
    if (known.includes(k)) continue;
    const hint = known.find((s) => s === camel(k) || snake(s) === k || s.toLowerCase() === k.toLowerCase());
    throw new Error(`${op}: unknown option '${k}'` + (hint ? ` (did you mean '${hint}'?)` : RENAMED[k] ? ` (${RENAMED[k]})` : '') +
      (known.length ? `; its options are ${known.join(', ')}` : '; it takes no options'));
  }
}

/**
 * Binds `args` to `spec` as Python binds a call: positional values in order, then (optionally, as the last
 * argument) a plain object of the remaining ones by name. Returns every argument by name, defaults filled in.
 */
export function bindArgs<T extends object>(cls: string, spec: Arg[], args: readonly unknown[]): T {
  const out: Record<string, unknown> = {};
  let positional = args.length;
  let options: Record<string, unknown> | null = null;
  const last = args[args.length - 1];
  // A trailing plain object is the keyword arguments unless the next parameter itself takes such an object.
  if (args.length > 0 && isOptionsObject(last)) { options = last; positional--; }
  if (positional > spec.length) {
    throw new Error(`${cls}: takes at most ${spec.length} arguments (${spec.map((a) => a.name).join(', ')}) but got ` +
      `${positional} positional arguments; the extra value is ${describe(args[spec.length])}`);
  }
  for (let i = 0; i < positional; i++) {
    if (args[i] === undefined) continue;
    out[spec[i].name] = args[i];
  }
  if (options) {
    checkOptionKeys(cls, options, spec.map((s) => s.name));
    for (const [k, v] of Object.entries(options)) {
      if (k in out) throw new Error(`${cls}: got '${k}' both as a positional argument and as an option`);
      if (v !== undefined) out[k] = v;
    }
  }
  spec.forEach((a, i) => {
    if (!(a.name in out)) {
      if (!('default' in a)) throw new Error(`${cls}: missing required argument '${a.name}' (position ${i + 1})`);
      out[a.name] = a.default;
      return;
    }
    if (!a.check(out[a.name])) {
      throw new Error(`${cls}: argument '${a.name}' must be ${a.expected}, got ${describe(out[a.name])}`);
    }
  });
  return out as T;
}

/** Builds a spec entry: `arg('stride', argTypes.pair(1), 1)`; omit the default for a required argument. */
export function arg<T>(name: string, type: { expected: string; check: (v: unknown) => boolean }, ...dflt: [T?]): Arg<T> {
  return dflt.length ? { name, ...type, default: dflt[0] } : { name, ...type };
}

/**
 * The argument lists a PyTorch signature accepts after its required arguments: any prefix of the optional
 * positional arguments `P`, optionally followed by an options object `O` (Python's keyword arguments).
 */
export type PyArgs<P extends unknown[], O> =
  P extends [...infer H, unknown] ? P | [...P, O] | PyArgs<H, O> : [] | [O];
