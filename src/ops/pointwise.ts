// The pointwise primitives: one row per op holding its WGSL expression, the scalar attributes it reads and
// the gradient of each operand as an expression; and the generator that turns expressions into kernels
// (shaders/pointwise.wgsl filled in). Eager launches and compileStep's fused kernels both come from here.
import { wgslSources } from '../backend/wgsl.gen.js';
import { contiguousStrides } from './shape.js';

/**
 * A pointwise primitive. Expressions are WGSL over the operands `a`, `b`, `c` (in order), the scalar
 * attributes as `$name`, and in gradients also `g` (the output's gradient) and `y` (the output).
 */
export interface PointwiseRow {
  arity: 1 | 2 | 3;
  wgsl: string;
  /** Names of the scalar attributes, read from the op's attributes in this order. */
  scalars?: readonly string[];
  /** g * d(out)/d(operand) per operand (null: no gradient flows there); absent: not differentiable. */
  grad?: readonly (string | null)[];
}

export type PointwiseName =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'relu' | 'leakyRelu' | 'leakyReluNonNeg' | 'tanh' | 'sigmoid' | 'powScalar' | 'clamp'
  | 'affine' | 'rdivScalar' | 'logClamped' | 'sign' | 'copy'
  | 'gtScalar' | 'geScalar' | 'ltScalar' | 'leScalar' | 'eqScalar' | 'neScalar'
  | 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow' | 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne'
  | 'where';

const cmpS = (op: string): PointwiseRow => ({ arity: 1, wgsl: `select(0.0, 1.0, a ${op} $value)`, scalars: ['value'] });
const cmp = (op: string): PointwiseRow => ({ arity: 2, wgsl: `select(0.0, 1.0, a ${op} b)` });
/** Share of the gradient maximum/minimum route to `a`: all where it wins, half on a tie. */
const winA = (op: string) => `(select(0.0, 1.0, a ${op} b) + select(0.0, 0.5, a == b))`;

/** Every pointwise primitive (the type requires a row for each name). NaN rules follow PyTorch. */
export const pointwiseTable: { readonly [N in PointwiseName]: PointwiseRow } = {
  neg: { arity: 1, wgsl: '-a', grad: ['-g'] },
  exp: { arity: 1, wgsl: 'exp(a)', grad: ['g * y'] },
  log: { arity: 1, wgsl: 'log(a)', grad: ['g / a'] },
  sqrt: { arity: 1, wgsl: 'sqrt(a)', grad: ['g / y * 0.5'] },
  abs: { arity: 1, wgsl: 'abs(a)', grad: ['g * sign(a)'] },
  // select, not max(a, 0): WGSL leaves max with NaN open; PyTorch keeps NaN.
  relu: { arity: 1, wgsl: 'select(a, 0.0, a < 0.0)', grad: ['select(0.0, g, y > 0.0)'] },
  leakyRelu: { arity: 1, wgsl: 'select(a * $slope, a, a > 0.0)', scalars: ['slope'], grad: ['g * select($slope, 1.0, a > 0.0)'] },
  // The same for a slope >= 0, whose output has the input's sign: the gradient reads the output, so the input
  // (a linear layer's pre-activation, say) need not be kept for backward.
  leakyReluNonNeg: { arity: 1, wgsl: 'select(a * $slope, a, a > 0.0)', scalars: ['slope'], grad: ['g * select($slope, 1.0, y > 0.0)'] },
  // tanh of large |a| is NaN on some drivers (inf/inf); tanh(±15) is ±1 in f32 already.
  tanh: { arity: 1, wgsl: 'select(tanh(clamp(a, -15.0, 15.0)), a, is_nan(a))', grad: ['g * (1.0 - y * y)'] },
  sigmoid: { arity: 1, wgsl: '1.0 / (1.0 + exp(-a))', grad: ['g * (y * (1.0 - y))'] },
  powScalar: {
    arity: 1, wgsl: 'kiln_pow(a, $exponent)', scalars: ['exponent'],
    grad: ['select(g * (kiln_pow(a, $exponent - 1.0) * $exponent), g * 0.0, $exponent == 0.0)'],
  },
  clamp: {
    arity: 1, wgsl: 'select(clamp(a, $min, $max), a, is_nan(a))', scalars: ['min', 'max'],
    grad: ['g * select(0.0, 1.0, a >= $min && a <= $max)'],
  },
  affine: { arity: 1, wgsl: '$scale * a + $shift', scalars: ['scale', 'shift'], grad: ['g * $scale'] },
  rdivScalar: { arity: 1, wgsl: '$numerator / a', scalars: ['numerator'], grad: ['g * (-$numerator / (a * a))'] },
  // log clamped from below (BCE's log clamp at -100, as PyTorch does); constant (no gradient) where clamped.
  logClamped: { arity: 1, wgsl: 'max(log(a), $min)', scalars: ['min'], grad: ['select(0.0, g / a, log(a) >= $min)'] },
  sign: { arity: 1, wgsl: 'sign(a)' },
  copy: { arity: 1, wgsl: 'a', grad: ['g'] },
  gtScalar: cmpS('>'), geScalar: cmpS('>='), ltScalar: cmpS('<'), leScalar: cmpS('<='), eqScalar: cmpS('=='), neScalar: cmpS('!='),
  add: { arity: 2, wgsl: 'a + b', grad: ['g', 'g'] },
  sub: { arity: 2, wgsl: 'a - b', grad: ['g', '-g'] },
  mul: { arity: 2, wgsl: 'a * b', grad: ['g * b', 'g * a'] },
  div: { arity: 2, wgsl: 'a / b', grad: ['g / b', '-(g / b / b * a)'] },
  // NaN in either operand gives NaN (a + b carries it), as torch.maximum / torch.minimum.
  maximum: { arity: 2, wgsl: 'select(max(a, b), a + b, is_nan(a) || is_nan(b))', grad: [`g * ${winA('>')}`, `g * (1.0 - ${winA('>')})`] },
  minimum: { arity: 2, wgsl: 'select(min(a, b), a + b, is_nan(a) || is_nan(b))', grad: [`g * ${winA('<')}`, `g * (1.0 - ${winA('<')})`] },
  // d/da a^b = b a^(b-1) (through pow, so a = 0 stays finite); d/db = a^b log(a)
  pow: { arity: 2, wgsl: 'kiln_pow(a, b)', grad: ['g * (kiln_pow(a, b - 1.0) * b)', 'g * (y * log(a))'] },
  gt: cmp('>'), ge: cmp('>='), lt: cmp('<'), le: cmp('<='), eq: cmp('=='), ne: cmp('!='),
  where: { arity: 3, wgsl: 'select(c, b, a != 0.0)', grad: [null, 'select(0.0, g, a != 0.0)', 'select(g, 0.0, a != 0.0)'] },
};

/** The operand letters of an expression, in binding order. */
export const OPERANDS = ['a', 'b', 'c'] as const;

/** Which of g, y, a, b, c an expression reads. */
export function reads(expr: string): Set<string> {
  return new Set([...expr.matchAll(/\b([abcgy])\b/g)].map((m) => m[1]));
}

/** The exact f32 value as a WGSL expression (bit pattern, so inf and NaN survive). */
export function f32Literal(v: number): string {
  const u = new Uint32Array(new Float32Array([v]).buffer)[0];
  return `bitcast<f32>(0x${u.toString(16)}u)`;
}

/** Replaces `$name` scalars by `values` (WGSL expressions). */
export function bindScalars(expr: string, names: readonly string[], values: readonly string[]): string {
  return expr.replace(/\$(\w+)/g, (_, n: string) => {
    const k = names.indexOf(n);
    if (k < 0) throw new Error(`pointwise: expression ${expr} reads $${n}, which is not one of its scalars`);
    return values[k];
  });
}

/** Renames the operand letters of an expression (for inlining it into a fused kernel). */
export function renameOperands(expr: string, names: Record<string, string>): string {
  return expr.replace(/\b([abcgy])\b/g, (m, l: string) => names[l] ?? m);
}

/** Fills the template: `inputs` read-only bindings, `outputs` writable ones, `n` the thread count. */
export function assemble(inputs: number, outputs: number, n: string, body: string[]): string {
  const bindings: string[] = [];
  for (let k = 0; k < inputs; k++) bindings.push(`@group(0) @binding(${k}) var<storage, read> in${k}: array<f32>;`);
  for (let j = 0; j < outputs; j++) bindings.push(`@group(0) @binding(${inputs + j}) var<storage, read_write> out${j}: array<f32>;`);
  return wgslSources.pointwise.replace('//@bindings', bindings.join('\n')).replace('/*@n*/', n)
    .replace('//@body', body.map((l) => `  ${l}`).join('\n'));
}

/** How an operand of an eager kernel is indexed: as the output, element 0, or the broadcast walk. */
export type IndexMode = 'same' | 'one' | 'walk';

export function indexMode(strides: readonly number[], shape: readonly number[], numel: number): IndexMode {
  if (numel === 1) return 'one';
  const c = contiguousStrides(shape);
  return strides.length === c.length && strides.every((s, i) => s === c[i] || shape[i] === 1) ? 'same' : 'walk';
}

/**
 * An eager kernel: out0 = expr over `letters` (bound in order), scalars read from Params.s, shapes and
 * strides from Params, so one pipeline serves every shape.
 */
export function eagerSource(expr: string, letters: readonly string[], modes: readonly IndexMode[]): string {
  const idx = (m: IndexMode, k: number) => (m === 'same' ? 'i' : m === 'one' ? '0u' : `walk(i, ${k}u)`);
  const body = letters.map((l, k) => `let ${l} = in${k}[${idx(modes[k], k)}];`);
  body.push(`out0[i] = ${expr};`);
  return assemble(letters.length, 1, 'p.n', body);
}

/** Names of the Params scalar slots in eager kernels. */
export const SCALAR_SLOTS = ['p.s.x', 'p.s.y', 'p.s.z', 'p.s.w'];

/**
 * The WGSL index of an operand read with `strides` over `shape` at flat index i, with the shape baked in
 * (the axis coordinates `c<d>` are declared by coordDecls).
 */
export function bakedIndex(strides: readonly number[], shape: readonly number[], used: Set<number>): string {
  const c = contiguousStrides(shape);
  if (strides.every((s, d) => s === c[d] || shape[d] === 1)) return 'i';
  const terms: string[] = [];
  strides.forEach((s, d) => {
    if (s === 0 || shape[d] === 1) return;
    used.add(d);
    terms.push(s === 1 ? `c${d}` : `c${d} * ${s}u`);
  });
  return terms.length ? terms.join(' + ') : '0u';
}

/** Declarations of the axis coordinates bakedIndex used. */
export function coordDecls(shape: readonly number[], used: Set<number>): string[] {
  const c = contiguousStrides(shape);
  return [...used].sort((x, y) => x - y).map((d) => {
    const q = c[d] === 1 ? 'i' : `(i / ${c[d]}u)`;
    return d === 0 ? `let c0 = ${q};` : `let c${d} = ${q} % ${shape[d]}u;`;
  });
}
