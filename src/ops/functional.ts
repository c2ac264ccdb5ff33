// The functional API (torch.nn.functional style) and tensor factories: thin wrappers that normalise
// arguments and run ops from the table; composite ops (losses, linear, mean) are built from them.
import { backend, isGradEnabled, withGrad } from '../autograd/context.js';
import { needsGrad, record, runBackward, type BackwardOptions } from '../autograd/graph.js';
import { captureScope, currentScope, freeOnThrow, Storage, Tensor, type DType } from '../autograd/tensor.js';
import {
  boolArg, choiceArg, dtypeArg, finiteArg, int32Value, numberArg, optsArg, show, tensorArg, tensorListArg,
} from './args.js';
import * as K from './kernels.js';
import { opTable, type CompareOp, type OpAttrs, type OpName } from './table.js';
import { broadcastShapes, checkShape, fmt, normAxes, normDim, pair } from './shape.js';
import { arg, argTypes as T, bindArgs, type PyArgs } from '../signature.js';

/** Inputs an op may be given as undefined (a conv or linear without bias, batch norm without affine). */
const OPTIONAL_INPUTS: Partial<Record<OpName, number[]>> = { linear: [2], conv2d: [2], convTranspose2d: [2], batchNorm: [1, 2] };

/** Runs an op from the table: checks, forward kernels, and (when needed) a graph node. */
export function run<N extends OpName>(name: N, inputs: (Tensor | undefined)[], attrs: OpAttrs[N]): Tensor {
  backend();
  const optional = OPTIONAL_INPUTS[name];
  inputs.forEach((t, i) => {
    if (t === undefined && optional?.includes(i)) return;
    tensorArg(name, inputs.length === 1 ? 'input' : `input ${i}`, t);
  });
  const present = inputs.filter((t): t is Tensor => t !== undefined);
  const def = opTable[name] as (typeof opTable)[OpName];
  // Forward checks come before its kernels; should one fail after some work, nothing it made survives.
  const r = freeOnThrow(() => (def.forward as (i: Tensor[], a: unknown) => ReturnType<typeof def.forward>)(inputs as Tensor[], attrs));
  if (def.backward && needsGrad(present)) {
    const saved = r.saved ?? [];
    for (const t of r.aux ?? []) t.graphOwned = true;
    const bw = def.backward as (g: Tensor, c: unknown) => (Tensor | null)[];
    record(r.out, name, inputs as Tensor[], saved, (g) => bw(g, { inputs, out: r.out, attrs, saved }));
  } else {
    for (const t of r.aux ?? []) t.dispose();
  }
  return r.out;
}

/**
 * Runs a composite op: tensors it creates besides its result are released at once, or, where the graph
 * saved them for backward, handed to the graph, which frees them as soon as backward has used them.
 */
export function composite<T extends Tensor>(fn: () => T): T {
  const { result, created } = captureScope(fn);
  const parent = currentScope();
  for (const t of created) {
    if (t === result) { t._moveTo(parent); continue; }
    if (t.savedBy > 0 && isGradEnabled()) { t.graphOwned = true; t._moveTo(parent); } else t.dispose();
  }
  return result;
}

// ---------------------------------------------------------------- factories

type Nested = number | Nested[];
export interface TensorOptions { dtype?: DType; requiresGrad?: boolean }

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) { shape.push(cur.length); cur = cur[0] as Nested; if (cur === undefined) break; }
  return shape;
}

function flatten(data: Nested, shape: number[], depth: number, out: number[]): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new Error(`tensor: expected a number at depth ${depth}, got ${typeof data}`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new Error(`tensor: ragged nested array: expected ${shape[depth]} entries at depth ${depth} (shape ${fmt(shape)})`);
  }
  for (const d of data) flatten(d, shape, depth + 1, out);
}

const HOST_COPY_LIMIT = 1 << 16;

/** A tensor from nested arrays, a flat array or a typed array (with `shape`). Like torch.tensor. */
export function tensor(data: Nested | Float32Array | Int32Array | readonly number[], shape?: readonly number[],
  opts: TensorOptions = {}): Tensor {
  const b = backend();
  if (shape !== undefined && shape !== null && !Array.isArray(shape)) {
    throw new Error(`tensor: shape must be an array of dims (or undefined to infer it), got ${show(shape)}`);
  }
  opts = optsArg('tensor', opts, ['dtype', 'requiresGrad']);
  const requiresGrad = boolArg('tensor', 'requiresGrad', opts.requiresGrad, false);
  let flat: number[] | Float32Array | Int32Array;
  let inferred: number[];
  if (data instanceof Float32Array || data instanceof Int32Array) {
    flat = data;
    inferred = [data.length];
  } else if (typeof data === 'number') {
    flat = [data];
    inferred = [];
  } else if (Array.isArray(data)) {
    inferred = inferShape(data as Nested);
    flat = [];
    flatten(data as Nested, inferred, 0, flat);
  } else {
    throw new Error(`tensor: data must be a number, a (nested) array or a Float32Array/Int32Array, got ${typeof data}`);
  }
  const finalShape = shape ? [...shape] : inferred;
  checkShape('tensor', finalShape);
  const n = finalShape.reduce((p, q) => p * q, 1);
  if (n !== flat.length) {
    throw new Error(`tensor: ${flat.length} values do not fill shape ${fmt(finalShape)} (${n} elements)`);
  }
  const dtype: DType = dtypeArg('tensor', opts.dtype, data instanceof Int32Array ? 'int32' : 'float32');
  let typed: Float32Array | Int32Array;
  if (dtype === 'float32') typed = flat instanceof Float32Array ? flat : Float32Array.from(flat as ArrayLike<number>);
  else {
    if (!(flat instanceof Int32Array)) {
      for (let i = 0; i < flat.length; i++) {
        if (!Number.isInteger(flat[i])) throw new Error(`tensor: int32 data must be integers, got ${flat[i]} at index ${i}`);
        int32Value('tensor', `value at index ${i}:`, flat[i]);
      }
    }
    typed = flat instanceof Int32Array ? flat : Int32Array.from(flat as ArrayLike<number>);
  }
  if (requiresGrad && dtype !== 'float32') throw new Error('tensor: only float32 tensors can require grad');
  const t = new Tensor(new Storage(b, b.upload(typed)), finalShape, dtype, requiresGrad);
  if (n <= HOST_COPY_LIMIT) t.hostData = typed.slice();
  return t;
}

function shapeArg(op: string, shape: readonly number[]): number[] {
  if (!Array.isArray(shape)) throw new Error(`${op}: shape must be an array of dims, got ${show(shape)}`);
  checkShape(op, shape);
  const bytes = shape.reduce((p, q) => p * q, 1) * 4;
  const max = backend().limits.maxStorageBufferBindingSize;
  if (bytes > max) throw new Error(`${op}: shape ${fmt(shape)} needs ${bytes} bytes, which exceeds this device's maxStorageBufferBindingSize (${max} bytes)`);
  return [...shape];
}

/** dtype and requiresGrad of a factory's options, checked. */
function factoryOpts(op: string, opts: TensorOptions | undefined, floatOnly = false, extra: string[] = []): { dtype: DType; requiresGrad: boolean } {
  const o = optsArg(op, opts, ['dtype', 'requiresGrad', ...extra] as (keyof TensorOptions)[]);
  const dtype = dtypeArg(op, o.dtype);
  if (floatOnly && dtype !== 'float32') throw new Error(`${op}: makes float32 samples, got dtype ${show(o.dtype)}`);
  const requiresGrad = boolArg(op, 'requiresGrad', o.requiresGrad, false);
  if (requiresGrad && dtype !== 'float32') throw new Error(`${op}: only float32 tensors can require grad`);
  return { dtype, requiresGrad };
}

function fullOf(op: string, shape: readonly number[], value: number, opts: TensorOptions | undefined): Tensor {
  const s = shapeArg(op, shape);
  const { dtype, requiresGrad } = factoryOpts(op, opts);
  numberArg(op, 'value', value);
  if (dtype === 'int32') int32Value(op, 'value', value);
  const t = K.fill(s, dtype, value, 0);
  t.requiresGrad = requiresGrad;
  return t;
}

export const full = (shape: readonly number[], value: number, opts: TensorOptions = {}) => fullOf('full', shape, value, opts);
export const zeros = (shape: readonly number[], opts: TensorOptions = {}) => fullOf('zeros', shape, 0, opts);
export const ones = (shape: readonly number[], opts: TensorOptions = {}) => fullOf('ones', shape, 1, opts);
export const zerosLike = (t: Tensor) => { tensorArg('zerosLike', 'input', t); return fullOf('zerosLike', t.shape, 0, { dtype: t.dtype }); };
export const onesLike = (t: Tensor) => { tensorArg('onesLike', 'input', t); return fullOf('onesLike', t.shape, 1, { dtype: t.dtype }); };

/** Values start, start+step, ... below end (like torch.arange). */
export function arange(start: number, end?: number, step = 1, opts: TensorOptions = {}): Tensor {
  if (end === undefined) { end = start; start = 0; }
  finiteArg('arange', 'start', start);
  finiteArg('arange', 'end', end);
  if (typeof step !== 'number' || step === 0 || !Number.isFinite(step)) throw new Error(`arange: step must be a non-zero finite number, got ${show(step)}`);
  if ((step > 0 && end < start) || (step < 0 && end > start)) {
    throw new Error(`arange: upper bound and larger bound inconsistent with step sign (start ${start}, end ${end}, step ${step})`);
  }
  const { dtype, requiresGrad } = factoryOpts('arange', opts);
  const n = Math.max(0, Math.ceil((end - start) / step));
  if (dtype === 'int32') {
    if ([start, end, step].some((v) => !Number.isInteger(v))) {
      throw new Error(`arange: int32 needs integer start, end and step, got ${start}, ${end}, ${step}`);
    }
    int32Value('arange', 'start', start);
    if (n > 0) int32Value('arange', 'last value', start + (n - 1) * step);
  }
  const max = backend().limits.maxStorageBufferBindingSize;
  if (n * 4 > max) throw new Error(`arange: ${n} values need ${n * 4} bytes, which exceeds this device's maxStorageBufferBindingSize (${max} bytes)`);
  const t = K.fill([n], dtype, start, step);
  t.requiresGrad = requiresGrad;
  return t;
}

/** Standard normal samples (or normal(mean, std)) from the seeded on-GPU generator. */
export function randn(shape: readonly number[], opts: TensorOptions & { mean?: number; std?: number } = {}): Tensor {
  const s = shapeArg('randn', shape);
  const { requiresGrad } = factoryOpts('randn', opts, true, ['mean', 'std']);
  const mean = finiteArg('randn', 'mean', opts.mean ?? 0);
  const std = finiteArg('randn', 'std', opts.std ?? 1);
  if (std < 0) throw new Error(`randn: std must be >= 0, got ${std}`);
  const t = K.random(s, true, mean, std);
  t.requiresGrad = requiresGrad;
  return t;
}

/** Uniform samples in [low, high) (default [0, 1)) from the seeded on-GPU generator. */
export function rand(shape: readonly number[], opts: TensorOptions & { low?: number; high?: number } = {}): Tensor {
  const s = shapeArg('rand', shape);
  const { requiresGrad } = factoryOpts('rand', opts, true, ['low', 'high']);
  const low = finiteArg('rand', 'low', opts.low ?? 0);
  const high = finiteArg('rand', 'high', opts.high ?? 1);
  if (!(low < high)) throw new Error(`rand: low (${low}) must be less than high (${high})`);
  const t = K.random(s, false, low, high);
  t.requiresGrad = requiresGrad;
  return t;
}

// ---------------------------------------------------------------- elementwise

type Operand = Tensor | number;

function scalarCheck(op: string, v: number): void {
  if (typeof v !== 'number') throw new Error(`${op}: expected a Tensor or a number, got ${typeof v}`);
}

export const neg = (x: Tensor) => run('neg', [x], {});
export const exp = (x: Tensor) => run('exp', [x], {});
export const log = (x: Tensor) => run('log', [x], {});
export const sqrt = (x: Tensor) => run('sqrt', [x], {});
export const abs = (x: Tensor) => run('abs', [x], {});
export const relu = (x: Tensor) => run('relu', [x], {});
export const tanh = (x: Tensor) => run('tanh', [x], {});
export const sigmoid = (x: Tensor) => run('sigmoid', [x], {});
export const sign = (x: Tensor) => run('sign', [x], {});

export function leakyRelu(x: Tensor, slope = 0.01): Tensor {
  if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`leakyRelu: slope must be a finite number, got ${slope}`);
  return run('leakyRelu', [x], { slope });
}

export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  for (const [name, v] of [['min', min], ['max', max]] as const) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`clamp: ${name} must be a number (not NaN), got ${show(v)}`);
  }
  if (min > max) throw new Error(`clamp: min (${min}) is greater than max (${max})`);
  return run('clamp', [x], { min, max });
}

export const mulScalar = (x: Tensor, s: number) => run('affine', [x], { scale: s, shift: 0 });
export const addScalar = (x: Tensor, s: number) => run('affine', [x], { scale: 1, shift: s });

export function add(a: Tensor, b: Operand): Tensor {
  tensorArg('add', 'input', a);
  if (typeof b === 'number') return addScalar(a, b);
  return run('add', [a, b], {});
}
export function sub(a: Tensor, b: Operand): Tensor {
  tensorArg('sub', 'input', a);
  if (typeof b === 'number') return addScalar(a, -b);
  return run('sub', [a, b], {});
}
export function mul(a: Tensor, b: Operand): Tensor {
  tensorArg('mul', 'input', a);
  if (typeof b === 'number') return mulScalar(a, b);
  return run('mul', [a, b], {});
}
export function div(a: Tensor, b: Operand): Tensor {
  tensorArg('div', 'input', a);
  if (typeof b === 'number') { scalarCheck('div', b); return mulScalar(a, 1 / b); }
  return run('div', [a, b], {});
}
/** number - tensor */
export const rsub = (s: number, x: Tensor) => run('affine', [x], { scale: -1, shift: s });
/** number / tensor */
export const rdiv = (s: number, x: Tensor) => run('rdivScalar', [x], { numerator: s });

export function pow(a: Tensor, b: Operand): Tensor {
  tensorArg('pow', 'input', a);
  if (typeof b === 'number') {
    if (!Number.isFinite(b)) throw new Error(`pow: exponent must be finite, got ${b}`);
    return run('powScalar', [a], { exponent: b });
  }
  return run('pow', [a, b], {});
}
export const maximum = (a: Tensor, b: Tensor) => run('maximum', [a, b], {});
export const minimum = (a: Tensor, b: Tensor) => run('minimum', [a, b], {});

function compare(op: CompareOp, a: Tensor, b: Operand): Tensor {
  tensorArg(op, 'input', a);
  if (typeof b !== 'number') tensorArg(op, 'other', b);
  // int32 operands (argmax output, labels: PyTorch's pred.eq(target)) compare by value, exact below 2^24.
  if (a.dtype === 'int32' || (typeof b !== 'number' && b.dtype === 'int32')) {
    return composite(() => compare(op, a.dtype === 'int32' ? cast(a, 'float32') : a,
      typeof b !== 'number' && b.dtype === 'int32' ? cast(b, 'float32') : b));
  }
  if (typeof b === 'number') return run('compareScalar', [a], { op, value: b });
  return run('compare', [a, b], { op });
}
/** Comparisons return float32 masks of 0 and 1. */
export const gt = (a: Tensor, b: Operand) => compare('gt', a, b);
export const ge = (a: Tensor, b: Operand) => compare('ge', a, b);
export const lt = (a: Tensor, b: Operand) => compare('lt', a, b);
export const le = (a: Tensor, b: Operand) => compare('le', a, b);
export const eq = (a: Tensor, b: Operand) => compare('eq', a, b);
export const ne = (a: Tensor, b: Operand) => compare('ne', a, b);

/** cond != 0 ? a : b, broadcasting all three. */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  tensorArg('where', 'condition', cond);
  for (const [name, v] of [['input', a], ['other', b]] as const) {
    if (typeof v !== 'number') tensorArg('where', name, v);
  }
  return composite(() => {
    const ta = typeof a === 'number' ? full([], a) : a;
    const tb = typeof b === 'number' ? full([], b) : b;
    return run('where', [cond, ta, tb], {});
  });
}

// ---------------------------------------------------------------- shape

function dimsArg(op: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw new Error(`${op}: expected an array of dims, got ${show(v)}`);
  return [...v] as number[];
}
export const reshape = (x: Tensor, shape: readonly number[]) => run('reshape', [x], { shape: dimsArg('reshape', shape) });
/** @internal a view with no graph (ops use it on tensors they own). */
export function reshapeView(x: Tensor, shape: readonly number[]): Tensor {
  return new Tensor(x.storage.retain(), shape, x.dtype);
}
/** @internal renames an op-owned tensor to a new shape. */
export function reshapeInPlace(x: Tensor, shape: readonly number[]): Tensor {
  if (x.shape.join(',') === shape.join(',')) return x;
  const v = reshapeView(x, shape);
  x.dispose();
  return v;
}
export const expand = (x: Tensor, shape: readonly number[]) => run('expand', [x], { shape: dimsArg('expand', shape) });
export const permute = (x: Tensor, perm: readonly number[]) => run('permute', [x], { perm: dimsArg('permute', perm) });

/** The slice [start, start + length) of `dim` (torch.narrow); a copy. */
export const narrow = (x: Tensor, dim: number, start: number, length: number) => run('narrow', [x], { dim, start, length });

/** Concatenates along `dim` (torch.cat). */
export function cat(tensors: Tensor[], dim = 0): Tensor {
  tensorListArg('cat', tensors);
  const rank = tensors[0].ndim;
  const d = normDim('cat', dim, rank);
  if (d === 0) return run('cat', tensors, {});
  // move dim to the front, concatenate, move it back
  const perm = [d, ...[...Array(rank).keys()].filter((i) => i !== d)];
  const inv = perm.map((_, i) => perm.indexOf(i));
  return composite(() => permute(run('cat', tensors.map((t) => permute(t, perm)), {}), inv));
}

/** Stacks same-shape tensors along a new leading dim (torch.stack with dim 0). */
export function stack(tensors: Tensor[]): Tensor {
  tensorListArg('stack', tensors);
  const s = tensors[0].shape;
  tensors.forEach((t, i) => {
    if (t.shape.join(',') !== s.join(',')) throw new Error(`stack: tensor ${i} has shape ${fmt(t.shape)} but tensor 0 has ${fmt(s)}`);
  });
  return composite(() => run('cat', tensors.map((t) => reshape(t, [1, ...s])), {}));
}

export function transpose(x: Tensor, dim0 = -2, dim1 = -1): Tensor {
  tensorArg('transpose', 'input', x);
  if (x.ndim < 2 && arguments.length === 1) return reshape(x, x.shape);
  const perm = [...x.shape.keys()];
  const ok = (d: number) => Number.isInteger(d) && d >= -x.ndim && d < x.ndim;
  if (!ok(dim0) || !ok(dim1)) {
    throw new Error(`transpose: dims ${show(dim0)}, ${show(dim1)} are out of range for shape ${fmt(x.shape)} (expected integers in [${-x.ndim}, ${x.ndim - 1}])`);
  }
  const a = dim0 < 0 ? dim0 + x.ndim : dim0;
  const b = dim1 < 0 ? dim1 + x.ndim : dim1;
  [perm[a], perm[b]] = [perm[b], perm[a]];
  return permute(x, perm);
}

export function flattenDims(x: Tensor, startDim = 0, endDim = -1): Tensor {
  tensorArg('flatten', 'input', x);
  const s = normDim('flatten', startDim, x.ndim);
  const e = normDim('flatten', endDim, x.ndim);
  if (x.ndim === 0) return reshape(x, [1]);
  if (e >= x.ndim || s > e) throw new Error(`flatten: dims ${startDim}..${endDim} are invalid for shape ${fmt(x.shape)}`);
  const mid = x.shape.slice(s, e + 1).reduce((p, q) => p * q, 1);
  return reshape(x, [...x.shape.slice(0, s), mid, ...x.shape.slice(e + 1)]);
}

export function unflatten(x: Tensor, dim: number, sizes: readonly number[]): Tensor {
  tensorArg('unflatten', 'input', x);
  const d = normDim('unflatten', dim, x.ndim);
  if (x.ndim === 0) throw new Error('unflatten: cannot unflatten a 0-d tensor');
  if (!Array.isArray(sizes) || sizes.some((v) => !Number.isInteger(v) || v < -1) || sizes.filter((v) => v === -1).length > 1) {
    throw new Error(`unflatten: sizes must be an array of non-negative integers (one may be -1), got ${show(sizes)}`);
  }
  const known = sizes.filter((v) => v !== -1).reduce((p, q) => p * q, 1);
  const fits = sizes.includes(-1) ? known > 0 && x.shape[d] % known === 0 : known === x.shape[d];
  if (!fits) throw new Error(`unflatten: sizes ${fmt(sizes)} do not multiply to dim ${dim} of size ${x.shape[d]} (shape ${fmt(x.shape)})`);
  return reshape(x, [...x.shape.slice(0, d), ...sizes, ...x.shape.slice(d + 1)]);
}

// ---------------------------------------------------------------- reductions

const keep = (op: string, v: unknown) => boolArg(op, 'keepdim', v, false);
export const sum = (x: Tensor, axes?: number | number[], keepdim = false) => run('sum', [x], { axes, keepdim: keep('sum', keepdim) });
export const max = (x: Tensor, axes?: number | number[], keepdim = false) => run('max', [x], { axes, keepdim: keep('max', keepdim) });
export const min = (x: Tensor, axes?: number | number[], keepdim = false) => run('min', [x], { axes, keepdim: keep('min', keepdim) });
export const argmax = (x: Tensor, dim?: number, keepdim = false) => run('argmax', [x], { dim, keepdim: keep('argmax', keepdim) });
export const argmin = (x: Tensor, dim?: number, keepdim = false) => run('argmin', [x], { dim, keepdim: keep('argmin', keepdim) });

export function mean(x: Tensor, axes?: number | number[], keepdim = false): Tensor {
  tensorArg('mean', 'input', x);
  keep('mean', keepdim);
  const ax = normAxes('mean', axes, x.ndim);
  const count = ax.reduce((p, a) => p * x.shape[a], 1);
  return composite(() => mulScalar(sum(x, axes, keepdim), 1 / count));
}

export const softmax = (x: Tensor, dim = -1) => run('softmax', [x], { dim });
export const logSoftmax = (x: Tensor, dim = -1) => run('logSoftmax', [x], { dim });

// ---------------------------------------------------------------- linear algebra and layers

/** Batched matrix product; `transA`/`transB` read an operand transposed without copying it. */
export function matmul(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}): Tensor {
  const o = optsArg('matmul', opts, ['transA', 'transB']);
  return run('matmul', [a, b], { transA: boolArg('matmul', 'transA', o.transA, false), transB: boolArg('matmul', 'transB', o.transB, false) });
}

/**
 * y = x W^T + b, W: [out, in] (torch.nn.functional.linear), optionally followed by an activation fused into
 * the same kernel (`{ activation: 'relu' }`, or `'leakyRelu'` with `slope` >= 0). `precision: 'f16'` rounds
 * x and W to f16 for the forward product (sums stay f32; needs shader-f16 and in_features % 4 == 0); the
 * gradients are computed in f32. Error bound: |y - y_f32| <= 2^-10 * sum_k |x_k W_k| (plus f32 rounding).
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor | null,
  o: { activation?: 'none' | 'relu' | 'leakyRelu'; slope?: number; precision?: 'f32' | 'f16' } = {}): Tensor {
  o = optsArg('linear', o, ['activation', 'slope', 'precision']);
  const activation = choiceArg('linear', 'activation', o.activation, ['none', 'relu', 'leakyRelu'] as const, 'none');
  const precision = choiceArg('linear', 'precision', o.precision, ['f32', 'f16'] as const, 'f32');
  const slope = finiteArg('linear', 'slope', o.slope ?? 0.01);
  return run('linear', [x, weight, bias ?? undefined], { activation, slope, precision });
}

export interface Conv2dOptions {
  stride?: number | [number, number]; padding?: number | [number, number];
  dilation?: number | [number, number]; groups?: number;
}

const anyValue = { expected: 'a value', check: () => true };
type Pair = number | [number, number];

/** `conv2d(x, weight, bias?, stride = 1, padding = 0, dilation = 1, groups = 1)` as PyTorch, or those as options. */
export function conv2d(x: Tensor, weight: Tensor, bias?: Tensor | null,
  ...args: PyArgs<[stride: Pair, padding: Pair, dilation: Pair, groups: number], Conv2dOptions>): Tensor {
  const op = 'conv2d';
  const o = bindArgs<Conv2dOptions>(op, [arg('stride', anyValue, undefined), arg('padding', anyValue, undefined),
    arg('dilation', anyValue, undefined), arg('groups', anyValue, undefined)], args);
  return run(op, [x, weight, bias ?? undefined], {
    stride: pair(op, 'stride', o.stride, 1, 1), padding: pair(op, 'padding', o.padding, 0, 0),
    dilation: pair(op, 'dilation', o.dilation, 1, 1), groups: o.groups ?? 1,
  });
}

export type ConvTranspose2dOptions = Conv2dOptions & { outputPadding?: Pair };

/**
 * `convTranspose2d(x, weight, bias?, stride = 1, padding = 0, outputPadding = 0, groups = 1, dilation = 1)`
 * in PyTorch's order, or those as options.
 */
export function convTranspose2d(x: Tensor, weight: Tensor, bias?: Tensor | null,
  ...args: PyArgs<[stride: Pair, padding: Pair, outputPadding: Pair, groups: number, dilation: Pair], ConvTranspose2dOptions>): Tensor {
  const op = 'convTranspose2d';
  const o = bindArgs<ConvTranspose2dOptions>(op, [arg('stride', anyValue, undefined), arg('padding', anyValue, undefined),
    arg('outputPadding', anyValue, undefined), arg('groups', anyValue, undefined), arg('dilation', anyValue, undefined)], args);
  return run(op, [x, weight, bias ?? undefined], {
    stride: pair(op, 'stride', o.stride, 1, 1), padding: pair(op, 'padding', o.padding, 0, 0),
    dilation: pair(op, 'dilation', o.dilation, 1, 1), groups: o.groups ?? 1,
    outputPadding: pair(op, 'outputPadding', o.outputPadding, 0, 0),
  });
}

export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight?: Tensor | null,
  bias?: Tensor | null, o: { training?: boolean; momentum?: number; eps?: number } = {}): Tensor {
  o = optsArg('batchNorm', o, ['training', 'momentum', 'eps']);
  const training = boolArg('batchNorm', 'training', o.training, false);
  // PyTorch's F.batch_norm takes a float momentum; the cumulative average (momentum=None) is the module's job.
  if (o.momentum === null) throw new Error('batchNorm: momentum must be a number in [0, 1], got null (Kiln has no cumulative average)');
  const momentum = finiteArg('batchNorm', 'momentum', o.momentum ?? 0.1);
  if (momentum < 0 || momentum > 1) throw new Error(`batchNorm: momentum must be in [0, 1], got ${momentum}`);
  const eps = finiteArg('batchNorm', 'eps', o.eps ?? 1e-5);
  if (eps <= 0) throw new Error(`batchNorm: eps must be > 0, got ${eps}`);
  if (runningMean != null) tensorArg('batchNorm', 'runningMean', runningMean);
  if (runningVar != null) tensorArg('batchNorm', 'runningVar', runningVar);
  return run('batchNorm', [x, weight ?? undefined, bias ?? undefined], {
    training, momentum, eps, runningMean: runningMean ?? null, runningVar: runningVar ?? null,
  });
}

export function oneHot(labels: Tensor, classes: number): Tensor { return run('oneHot', [labels], { classes }); }
export function cast(x: Tensor, dtype: DType): Tensor { return run('cast', [x], { dtype }); }

/** A copy with its own storage and no graph. */
export function clone(x: Tensor): Tensor {
  tensorArg('clone', 'input', x);
  const out = Tensor.empty(x.shape, x.dtype);
  K.copyInto(out, x);
  return out;
}

/** Copies src's values into dst in place (same shape and dtype), like torch's copy_ under no_grad. */
export function copy_(dst: Tensor, src: Tensor): Tensor {
  tensorArg('copy_', 'destination', dst);
  tensorArg('copy_', 'source', src);
  if (dst.shape.join(',') !== src.shape.join(',')) throw new Error(`copy_: source shape ${fmt(src.shape)} differs from destination ${fmt(dst.shape)}`);
  if (dst.dtype !== src.dtype) throw new Error(`copy_: source is ${src.dtype} but destination is ${dst.dtype}`);
  if (isGradEnabled() && dst.requiresGrad) {
    throw new Error('copy_: an in-place write to a tensor that requires grad must run under noGrad()');
  }
  void dst.storage;
  K.copyInto(dst, src);
  return dst;
}

/** A view of the same storage, cut from the graph. */
export function detach(x: Tensor): Tensor { tensorArg('detach', 'input', x); return reshapeView(x, x.shape); }

// ---------------------------------------------------------------- losses

export type Reduction = 'mean' | 'sum' | 'none';

function reduce(op: string, l: Tensor, r: Reduction): Tensor {
  if (r === 'none') return l;
  if (r === 'sum') return sum(l);
  if (r === 'mean') return mean(l);
  throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
}

const REDUCTIONS = ['mean', 'sum', 'none'] as const;

/** Checks a loss's tensors and options (reduction plus `extra` keys) before any work; returns the reduction. */
function lossArgs<O extends { reduction?: Reduction }>(op: string, input: Tensor, target: Tensor, o: O | undefined,
  extra: (keyof O & string)[] = []): Reduction {
  tensorArg(op, 'input', input);
  tensorArg(op, 'target', target);
  return choiceArg(op, 'reduction', optsArg<O>(op, o, ['reduction', ...extra]).reduction, REDUCTIONS, 'mean');
}

function sameShape(op: string, input: Tensor, target: Tensor): void {
  if (input.shape.join(',') !== target.shape.join(',')) {
    throw new Error(`${op}: target shape ${fmt(target.shape)} differs from input shape ${fmt(input.shape)}; they must match`);
  }
}

/** A float32 tensor that broadcasts to `shape` (a loss's weight), or an error naming the option. */
function weightArg(op: string, name: string, w: unknown, shape: readonly number[]): Tensor {
  const t = tensorArg(op, name, w);
  if (t.dtype !== 'float32') throw new Error(`${op}: ${name} must be float32, got ${t.dtype}`);
  let ok = t.ndim <= shape.length;
  for (let i = 1; ok && i <= t.ndim; i++) {
    const a = t.shape[t.ndim - i];
    if (a !== 1 && a !== shape[shape.length - i]) ok = false;
  }
  if (!ok) throw new Error(`${op}: ${name} of shape ${fmt(t.shape)} does not broadcast to the input's shape ${fmt(shape)}`);
  return t;
}

export interface BCEOptions { reduction?: Reduction; weight?: Tensor | null }

/** BCE on probabilities, log clamped at -100 as in PyTorch; one fused kernel (each way) without a weight. */
export function binaryCrossEntropy(p: Tensor, target: Tensor, o: BCEOptions = {}): Tensor {
  const reduction = lossArgs('binaryCrossEntropy', p, target, o, ['weight']);
  sameShape('binaryCrossEntropy', p, target);
  const weight = o?.weight == null ? null : weightArg('binaryCrossEntropy', 'weight', o.weight, p.shape);
  // PyTorch raises on probabilities outside [0, 1]: at once for host data; for GPU data the kernel raises the
  // device-side assert, reported at the next readback.
  if (p.hostData && p.hostData.some((v) => !(v >= 0 && v <= 1))) {
    throw new Error('binaryCrossEntropy: all elements of input should be between 0 and 1');
  }
  if (!weight) return run('binaryCrossEntropy', [p, target], { reduction });
  return composite(() => reduce('binaryCrossEntropy', mul(run('binaryCrossEntropy', [p, target], { reduction: 'none' }), weight), reduction));
}

export interface BCEWithLogitsOptions { reduction?: Reduction; weight?: Tensor | null; posWeight?: Tensor | null }

/**
 * BCE on logits, stable for any x: max(x,0) - x t + log(1 + exp(-|x|)); with posWeight (broadcast over the
 * last dim, as PyTorch's pos_weight) (1 - t) x + (1 + (posWeight - 1) t) (log(1 + exp(-|x|)) + max(-x, 0)).
 */
export function binaryCrossEntropyWithLogits(x: Tensor, target: Tensor, o: BCEWithLogitsOptions = {}): Tensor {
  const op = 'binaryCrossEntropyWithLogits';
  const reduction = lossArgs(op, x, target, o, ['weight', 'posWeight']);
  sameShape(op, x, target);
  const weight = o?.weight == null ? null : weightArg(op, 'weight', o.weight, x.shape);
  const posWeight = o?.posWeight == null ? null : weightArg(op, 'posWeight', o.posWeight, x.shape);
  return composite(() => {
    const softplus = log(addScalar(exp(neg(abs(x))), 1));
    let l = posWeight
      ? add(mul(rsub(1, target), x), mul(addScalar(mul(addScalar(posWeight, -1), target), 1), add(softplus, relu(neg(x)))))
      : add(sub(relu(x), mul(x, target)), softplus);
    if (weight) l = mul(l, weight);
    return reduce(op, l, reduction);
  });
}

export interface CrossEntropyOptions {
  reduction?: Reduction;
  /** A rescaling weight per class, float32 [C]. */
  weight?: Tensor | null;
  /** Targets equal to it contribute nothing (PyTorch's ignore_index; the mean is over the others). */
  ignoreIndex?: number;
  /** In [0, 1]: the target mixes the true class (1 - s) with the uniform distribution (s). */
  labelSmoothing?: number;
}

/** Checks nllLoss/crossEntropy's class options against input [N, C] and labels [N]. */
function classLossArgs(op: string, x: Tensor, labels: Tensor, o: CrossEntropyOptions, smoothing: boolean): void {
  if (x.dtype !== 'float32') throw new Error(`${op}: input must be float32, got ${x.dtype}`);
  if (x.ndim !== 2) throw new Error(`${op}: input must be [N, C], got ${fmt(x.shape)}`);
  if (labels.dtype !== 'int32') throw new Error(`${op}: target must be int32 class indices, got ${labels.dtype}`);
  if (labels.ndim !== 1 || labels.shape[0] !== x.shape[0]) {
    throw new Error(`${op}: target must have shape [${x.shape[0]}] for input ${fmt(x.shape)}, got ${fmt(labels.shape)}`);
  }
  if (o.weight != null) {
    const w = tensorArg(op, 'weight', o.weight);
    if (w.dtype !== 'float32' || w.ndim !== 1 || w.shape[0] !== x.shape[1]) {
      throw new Error(`${op}: weight must be a float32 tensor of shape [${x.shape[1]}] (one per class), got ${w.dtype} ${fmt(w.shape)}`);
    }
  }
  if (o.ignoreIndex !== undefined) int32Value(op, 'ignoreIndex', o.ignoreIndex);
  if (smoothing && o.labelSmoothing !== undefined) {
    const s = finiteArg(op, 'labelSmoothing', o.labelSmoothing);
    if (s < 0 || s > 1) throw new Error(`${op}: labelSmoothing must be between 0.0 and 1.0, got ${s}`);
  }
}

/**
 * PyTorch's nll_loss (and cross_entropy's weight / ignore_index / label_smoothing) composed of ops: the
 * per-row loss -weight[y] logp[y] (0 where y is ignored); 'mean' divides by the summed weights of the rows
 * kept; smoothing adds s / C times -sum_c weight[c] logp[c], normalised the same way.
 */
function nllComposite(logp: Tensor, labels: Tensor, reduction: Reduction, o: CrossEntropyOptions): Tensor {
  const [N, C] = logp.shape;
  const s = o.labelSmoothing ?? 0;
  const w = o.weight ? reshape(o.weight, [1, C]) : null;
  let keepMask: Tensor | null = null;
  let safe = labels;
  if (o.ignoreIndex !== undefined) {
    const lf = cast(labels, 'float32');
    keepMask = ne(lf, o.ignoreIndex);
    safe = cast(mul(lf, keepMask), 'int32');
  }
  const hot = oneHot(safe, C);
  const rowW = w ? sum(mul(hot, w), 1) : null;
  let per = neg(sum(mul(hot, logp), 1));
  if (rowW) per = mul(per, rowW);
  if (keepMask) per = mul(per, keepMask);
  const norm = (l: Tensor): Tensor => {
    if (reduction === 'none') return l;
    if (reduction === 'sum') return sum(l);
    if (!rowW && !keepMask) return mulScalar(sum(l), 1 / N);
    const denom = rowW ? sum(keepMask ? mul(rowW, keepMask) : rowW) : sum(keepMask!);
    return div(sum(l), denom);
  };
  const nll = norm(per);
  if (s === 0) return nll;
  let smooth = neg(sum(w ? mul(logp, w) : logp, 1));
  if (keepMask) smooth = mul(smooth, keepMask);
  return add(mulScalar(nll, 1 - s), mulScalar(norm(smooth), s / C));
}

/**
 * Cross-entropy of logits [N, C] against int32 class labels [N]: one fused kernel, or with `weight`,
 * `ignoreIndex` or `labelSmoothing` (PyTorch's weight, ignore_index, label_smoothing) log-softmax then
 * nllLoss's composite.
 */
export function crossEntropy(logits: Tensor, labels: Tensor, o: CrossEntropyOptions = {}): Tensor {
  const op = 'crossEntropy';
  const reduction = lossArgs(op, logits, labels, o, ['weight', 'ignoreIndex', 'labelSmoothing']);
  o = o ?? {};
  const plain = o.weight == null && o.ignoreIndex === undefined && (o.labelSmoothing === undefined || o.labelSmoothing === 0);
  if (plain) return run('crossEntropy', [logits, labels], { reduction });
  classLossArgs(op, logits, labels, o, true);
  return composite(() => nllComposite(logSoftmax(logits, 1), labels, reduction, o));
}

export type NLLLossOptions = Omit<CrossEntropyOptions, 'labelSmoothing'>;

/** Negative log-likelihood of log-probabilities [N, C] (e.g. logSoftmax's) against int32 labels [N] (torch's nll_loss). */
export function nllLoss(logp: Tensor, labels: Tensor, o: NLLLossOptions = {}): Tensor {
  const op = 'nllLoss';
  const reduction = lossArgs(op, logp, labels, o, ['weight', 'ignoreIndex']);
  o = o ?? {};
  classLossArgs(op, logp, labels, o, false);
  return composite(() => nllComposite(logp, labels, reduction, o));
}

/**
 * PyTorch's rule for mse_loss and l1_loss: shapes that differ but broadcast are broadcast with a warning
 * (shown once per pair of shapes); shapes that do not broadcast are an error.
 */
const warnedShapes = new Set<string>();
function broadcastWarn(op: string, input: Tensor, target: Tensor): void {
  if (input.shape.join(',') === target.shape.join(',')) return;
  const n = Math.max(input.ndim, target.ndim);
  for (let i = 1; i <= n; i++) {
    const a = input.shape[input.ndim - i] ?? 1;
    const b = target.shape[target.ndim - i] ?? 1;
    if (a !== b && a !== 1 && b !== 1) {
      throw new Error(`${op}: the size of input ${fmt(input.shape)} must match the size of target ${fmt(target.shape)} ` +
        `or broadcast with it (dimension ${-i}: ${a} vs ${b})`);
    }
  }
  const key = `${op}|${fmt(input.shape)}|${fmt(target.shape)}`;
  if (warnedShapes.has(key)) return;
  warnedShapes.add(key);
  console.warn(`kiln: ${op}: using a target size ${fmt(target.shape)} that is different to the input size ` +
    `${fmt(input.shape)}. This will likely lead to incorrect results due to broadcasting. Please ensure they have the same size.`);
}

function floatLoss(op: string, input: Tensor, target: Tensor): void {
  for (const [name, t] of [['input', input], ['target', target]] as const) {
    if (t.dtype !== 'float32') throw new Error(`${op}: ${name} must be float32, got ${t.dtype} (cast it with .to('float32'))`);
  }
}

export function mseLoss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  const reduction = lossArgs('mseLoss', input, target, o);
  floatLoss('mseLoss', input, target);
  broadcastWarn('mseLoss', input, target);
  return composite(() => { const d = sub(input, target); return reduce('mseLoss', mul(d, d), reduction); });
}

export function l1Loss(input: Tensor, target: Tensor, o: { reduction?: Reduction } = {}): Tensor {
  const reduction = lossArgs('l1Loss', input, target, o);
  floatLoss('l1Loss', input, target);
  broadcastWarn('l1Loss', input, target);
  return composite(() => reduce('l1Loss', abs(sub(input, target)), reduction));
}

// ---------------------------------------------------------------- pooling

function poolPair(v: unknown, name: string): [number, number] {
  return pair('maxPool2d', name, v as number | [number, number], 1, 1);
}

/**
 * Max pooling over non-overlapping windows (torch.nn.functional.max_pool2d with stride = kernel size, no
 * padding): a reshape into windows and a max over them, so its gradient goes to each window's maximum.
 * H and W must be multiples of the kernel (PyTorch would drop the remainder; Kiln refuses it).
 */
export function maxPool2d(x: Tensor, kernelSize: number | [number, number], stride?: number | [number, number] | null): Tensor {
  const [kh, kw] = maxPool2d.check(kernelSize, stride ?? kernelSize);
  tensorArg('maxPool2d', 'input', x);
  if (x.ndim !== 4 && x.ndim !== 3) throw new Error(`maxPool2d: input must be [N, C, H, W] or [C, H, W], got ${fmt(x.shape)}`);
  const [H, W] = x.shape.slice(-2);
  if (H % kh !== 0 || W % kw !== 0) {
    throw new Error(`maxPool2d: input ${fmt(x.shape)} is not a whole number of ${kh}x${kw} windows; Kiln pools H and W that ` +
      'the kernel divides (crop or pad the input first)');
  }
  const lead = x.shape.slice(0, -2);
  const r = lead.length;
  return composite(() => reshape(max(reshape(x, [...lead, H / kh, kh, W / kw, kw]), [r + 1, r + 3]), [...lead, H / kh, W / kw]));
}
/** The kernel and stride maxPool2d accepts (non-overlapping windows), checked; returns the kernel. */
maxPool2d.check = (kernelSize: unknown, stride: unknown): [number, number] => {
  const k = poolPair(kernelSize, 'kernelSize');
  const s = poolPair(stride, 'stride');
  if (k[0] !== s[0] || k[1] !== s[1]) {
    throw new Error(`maxPool2d: stride ${JSON.stringify(stride)} differs from kernelSize ${JSON.stringify(kernelSize)}; Kiln pools ` +
      'non-overlapping windows only (stride = kernel size)');
  }
  return k;
};

// ---------------------------------------------------------------- autograd entry

/**
 * Backpropagates from `t` (see Tensor.backward): `backward(t)`, `backward(t, grad)`,
 * `backward(t, { retainGraph: true })` or `backward(t, grad, { retainGraph: true })`.
 */
export function backward(t: Tensor, grad?: Tensor | BackwardOptions, opts?: BackwardOptions): void {
  tensorArg('backward', 'tensor', t);
  let g: Tensor | undefined;
  let o: BackwardOptions = {};
  if (grad instanceof Tensor || grad === undefined || grad === null) { g = grad ?? undefined; o = opts ?? {}; }
  else if (opts === undefined && typeof grad === 'object') o = grad;
  else throw new Error(`backward: expected a gradient tensor and/or { retainGraph }, got ${String(grad)}`);
  if (g !== undefined) tensorArg('backward', 'gradient', g);
  o = optsArg('backward', o, ['retainGraph']);
  if (o.retainGraph !== undefined && typeof o.retainGraph !== 'boolean') {
    throw new Error(`backward: retainGraph must be true or false, got ${String(o.retainGraph)}`);
  }
  const addInto = (dst: Tensor, x: Tensor) => {
    const sum = run('add', [dst, x], {});
    K.copyInto(dst, sum);
    sum.dispose();
  };
  runBackward(t, g, { ones: (s) => ones(s), add: (a, b) => run('add', [a, b], {}), clone, addInto }, o);
}

// ---------------------------------------------------------------- movement and image layers

/** Reverses the order of elements along `dims` (torch.flip); a copy. */
export function flip(x: Tensor, dims: number | readonly number[]): Tensor {
  return run('flip', [x], { dims: typeof dims === 'number' ? [dims] : Array.isArray(dims) ? [...dims] : (dims as number[]) });
}

export interface PadOptions { mode?: 'constant' | 'reflect' | 'replicate'; value?: number }

/**
 * Pads x (torch.nn.functional.pad): `pads` runs from the last dim backwards, [left, right, top, bottom,
 * front, back]. 'constant' pads any dims with `value` (default 0; negative pads crop); 'reflect' (mirror
 * without repeating the edge; each pad < that dim's size) and 'replicate' (repeat the edge) pad the last 1,
 * 2 or 3 dims of a 2-D..5-D input, as PyTorch.
 */
export function pad(x: Tensor, pads: readonly number[], ...args: PyArgs<[mode: PadOptions['mode'], value: number], PadOptions>): Tensor {
  if (!Array.isArray(pads)) throw new Error(`pad: pads must be an array of integers, got ${JSON.stringify(pads)}`);
  const o = bindArgs<PadOptions>('pad', [arg('mode', anyValue, 'constant'), arg('value', anyValue, 0)], args);
  numberArg('pad', 'value', o.value);
  if (o.value !== undefined) numberArg('pad', 'value', o.value);
  return run('pad', [x], { pads: [...pads], mode: o.mode ?? 'constant', value: o.value ?? 0 });
}

function dimList(op: string, dims: number | readonly number[], rank: number): number[] {
  if (typeof dims !== 'number' && !Array.isArray(dims)) throw new Error(`${op}: dim must be an integer or an array of them, got ${String(dims)}`);
  return normAxes(op, dims as number | number[], rank);
}

/** Removes size-1 dims: all of them, or those among `dim` (other dims are left as they are, as PyTorch). A view. */
export function squeeze(x: Tensor, dim?: number | readonly number[]): Tensor {
  tensorArg('squeeze', 'input', x);
  const drop = dim === undefined ? [...x.shape.keys()] : dimList('squeeze', dim, x.ndim);
  return reshape(x, x.shape.filter((s, i) => !(s === 1 && drop.includes(i))));
}

/** Inserts a size-1 dim at `dim` (in [-rank-1, rank], as PyTorch). A view. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  tensorArg('unsqueeze', 'input', x);
  const d = normDim('unsqueeze', dim, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, d), 1, ...x.shape.slice(d)]);
}

export interface InstanceNormOptions {
  eps?: number; weight?: Tensor | null; bias?: Tensor | null;
  runningMean?: Tensor | null; runningVar?: Tensor | null; useInputStats?: boolean; momentum?: number;
}

/**
 * Instance normalisation (torch.nn.functional.instance_norm) of x [N, C, *]: each sample's channel is
 * normalised over its spatial elements with the biased variance, then scaled by weight[C] and shifted by
 * bias[C]. With running statistics and useInputStats (default true), they are updated in place with
 * `momentum` (the unbiased variance, as PyTorch); with useInputStats false, they normalise instead.
 */
export function instanceNorm(x: Tensor, o: InstanceNormOptions = {}): Tensor {
  const op = 'instanceNorm';
  o = optsArg(op, o, ['eps', 'weight', 'bias', 'runningMean', 'runningVar', 'useInputStats', 'momentum']);
  if (!(x instanceof Tensor)) throw new Error(`${op}: expected a Tensor input, got ${typeof x}`);
  if (x.ndim < 3) throw new Error(`${op}: input must be [N, C, ...] with at least one spatial dim, got shape ${fmt(x.shape)}`);
  const eps = o.eps ?? 1e-5;
  const momentum = o.momentum ?? 0.1;
  const useInput = o.useInputStats ?? true;
  if (!(eps > 0)) throw new Error(`${op}: eps must be > 0, got ${eps}`);
  if (!(momentum >= 0 && momentum <= 1)) throw new Error(`${op}: momentum must be in [0, 1], got ${momentum}`);
  const C = x.shape[1];
  const S = x.shape.slice(2).reduce((p, q) => p * q, 1);
  for (const [name, t] of [['weight', o.weight], ['bias', o.bias], ['runningMean', o.runningMean], ['runningVar', o.runningVar]] as const) {
    if (t && (!(t instanceof Tensor) || t.ndim !== 1 || t.shape[0] !== C)) {
      throw new Error(`${op}: ${name} must have shape [${C}] for input ${fmt(x.shape)}, got ${t instanceof Tensor ? fmt(t.shape) : typeof t}`);
    }
  }
  if (!o.runningMean !== !o.runningVar) throw new Error(`${op}: pass both runningMean and runningVar, or neither`);
  if (!useInput && !o.runningMean) throw new Error(`${op}: useInputStats false needs runningMean and runningVar`);
  if (useInput && S < 2) throw new Error(`${op}: expected more than 1 spatial element when normalising with input statistics, got input ${fmt(x.shape)}`);
  const axes = [...Array(x.ndim - 2).keys()].map((i) => i + 2);
  const perChannel = [1, C, ...axes.map(() => 1)];
  return composite(() => {
    let y: Tensor;
    if (useInput) {
      const m = mean(x, axes, true);
      const d = sub(x, m);
      const v = mean(mul(d, d), axes, true);
      y = mul(d, pow(addScalar(v, eps), -0.5));
      if (o.runningMean && o.runningVar) {
        const rm = o.runningMean; const rv = o.runningVar;
        withGrad(false, () => {
          const bm = reshape(mean(m, 0), [C]);
          const bv = reshape(mean(mulScalar(v, S / (S - 1)), 0), [C]);
          copy_(rm, add(mulScalar(rm, 1 - momentum), mulScalar(bm, momentum)));
          copy_(rv, add(mulScalar(rv, 1 - momentum), mulScalar(bv, momentum)));
        });
      }
    } else {
      const m = reshape(o.runningMean!, perChannel);
      const istd = pow(addScalar(reshape(o.runningVar!, perChannel), eps), -0.5);
      y = mul(sub(x, m), istd);
    }
    if (o.weight) y = mul(y, reshape(o.weight, perChannel));
    if (o.bias) y = add(y, reshape(o.bias, perChannel));
    return y;
  });
}

export interface InterpolateOptions {
  size?: number | readonly number[]; scaleFactor?: number | readonly number[]; mode?: 'nearest';
}

/**
 * Resizes the spatial dims of x [N, C, *] (torch.nn.functional.interpolate) by nearest neighbour, for integer
 * scale factors (or sizes that are integer multiples of the input's): each element is repeated, so the
 * result is a broadcast of x and its gradient sums each block.
 */
export function interpolate(x: Tensor, o: InterpolateOptions = {}): Tensor {
  const op = 'interpolate';
  o = optsArg(op, o, ['size', 'scaleFactor', 'mode']);
  if (!(x instanceof Tensor)) throw new Error(`${op}: expected a Tensor input, got ${typeof x}`);
  const mode = o.mode ?? 'nearest';
  if (mode !== 'nearest') throw new Error(`${op}: mode '${String(mode)}' is not supported; Kiln has 'nearest'`);
  if (x.ndim < 3 || x.ndim > 5) throw new Error(`${op}: input must be 3-D, 4-D or 5-D [N, C, *spatial], got shape ${fmt(x.shape)}`);
  if ((o.size === undefined) === (o.scaleFactor === undefined)) throw new Error(`${op}: give exactly one of size and scaleFactor`);
  const spatial = x.shape.slice(2);
  const list = (name: string, v: number | readonly number[]): number[] => {
    const l = typeof v === 'number' ? spatial.map(() => v) : Array.isArray(v) ? [...v] : [];
    if (l.length !== spatial.length || l.some((q) => typeof q !== 'number' || !(q > 0))) {
      throw new Error(`${op}: ${name} must be a positive number or ${spatial.length} of them for input ${fmt(x.shape)}, got ${JSON.stringify(v)}`);
    }
    return l;
  };
  const scales = o.scaleFactor !== undefined
    ? list('scaleFactor', o.scaleFactor)
    : list('size', o.size!).map((s, i) => {
      if (!Number.isInteger(s) || s % spatial[i] !== 0) {
        throw new Error(`${op}: size ${s} is not an integer multiple of the input's ${spatial[i]} (dim ${i + 2}); Kiln's nearest mode repeats elements a whole number of times`);
      }
      return s / spatial[i];
    });
  if (scales.some((s) => !Number.isInteger(s))) {
    throw new Error(`${op}: scaleFactor must be integers in Kiln's nearest mode, got ${JSON.stringify(o.scaleFactor)}`);
  }
  // [N, C, H, W] -> [N, C, H, 1, W, 1] -> expand to [N, C, H, sH, W, sW] -> [N, C, H*sH, W*sW]
  const split = [...x.shape.slice(0, 2), ...spatial.flatMap((s) => [s, 1])];
  const wide = [...x.shape.slice(0, 2), ...spatial.flatMap((s, i) => [s, scales[i]])];
  return composite(() => reshape(expand(reshape(x, split), wide), [...x.shape.slice(0, 2), ...spatial.map((s, i) => s * scales[i])]));
}

export interface DropoutOptions { p?: number; training?: boolean }

/**
 * Inverted dropout (torch.nn.functional.dropout): in training, each element is zeroed with probability p
 * and the rest scaled by 1 / (1 - p); the mask comes from Kiln's counter-based generator, so a compiled
 * step draws a fresh one on every replay. Not training (or p = 0): x itself, as a view.
 */
export function dropout(x: Tensor, ...args: PyArgs<[p: number, training: boolean], DropoutOptions>): Tensor {
  const a = bindArgs<Required<DropoutOptions>>('dropout', [arg('p', T.number(), 0.5), arg('training', T.boolean(), true)], args);
  const p = a.p;
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability has to be between 0 and 1, but got ${p}`);
  tensorArg('dropout', 'input', x);
  if (!a.training || p === 0) return reshape(x, x.shape);
  if (p === 1) return mulScalar(x, 0);
  return composite(() => mul(x, mulScalar(lt(rand(x.shape), 1 - p), 1 / (1 - p))));
}
