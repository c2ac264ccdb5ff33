// The op table: every differentiable primitive with its checks, its forward (kernel launches) and its
// backward (composed of other ops), side by side. `OpAttrs` lists the ops; the table's type is a complete
// mapping over it, so an op without an entry does not compile (and tests/ops has the same check for rows).
import { Tensor } from '../autograd/tensor.js';
import { backend } from '../autograd/context.js';
import * as K from './kernels.js';
import * as F from './functional.js';
import { OPERANDS, pointwiseTable, reads, type PointwiseName, type PointwiseRow } from './pointwise.js';
import { broadcastShapes, checkShape, contiguousStrides, convOut, fmt, normAxes, normDim, reductionRuns, resolveReshape } from './shape.js';

export type CompareOp = 'gt' | 'ge' | 'lt' | 'le' | 'eq' | 'ne';

export interface ConvAttrs {
  stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number;
}

/** Every op in the table and the attributes it takes. */
export interface OpAttrs {
  neg: {}; exp: {}; log: {}; sqrt: {}; abs: {}; relu: {}; tanh: {}; sigmoid: {};
  leakyRelu: { slope: number };
  powScalar: { exponent: number };
  clamp: { min: number; max: number };
  affine: { scale: number; shift: number };
  rdivScalar: { numerator: number };
  logClamped: { min: number };
  sign: {};
  compareScalar: { op: CompareOp; value: number };
  add: {}; sub: {}; mul: {}; div: {}; maximum: {}; minimum: {}; pow: {};
  compare: { op: CompareOp };
  where: {};
  reshape: { shape: number[] };
  expand: { shape: number[] };
  permute: { perm: number[] };
  narrow: { dim: number; start: number; length: number };
  cat: {};
  sum: { axes?: number | number[]; keepdim: boolean };
  max: { axes?: number | number[]; keepdim: boolean };
  min: { axes?: number | number[]; keepdim: boolean };
  argmax: { dim?: number; keepdim: boolean };
  argmin: { dim?: number; keepdim: boolean };
  softmax: { dim: number };
  logSoftmax: { dim: number };
  matmul: { transA: boolean; transB: boolean };
  linear: { activation: 'none' | 'relu' | 'leakyRelu'; slope: number; precision: 'f32' | 'f16' };
  conv2d: ConvAttrs;
  convTranspose2d: ConvAttrs & { outputPadding: [number, number] };
  batchNorm: { training: boolean; momentum: number; eps: number; runningMean: Tensor | null; runningVar: Tensor | null };
  oneHot: { classes: number };
  cast: { dtype: 'float32' | 'int32' };
  crossEntropy: { reduction: K.LossReduction };
  binaryCrossEntropy: { reduction: K.LossReduction };
  flip: { dims: number[] };
  pad: { pads: number[]; mode: K.PadMode; value: number };
}
export type OpName = keyof OpAttrs;

export interface Ctx<A> {
  inputs: Tensor[];
  out: Tensor;
  attrs: A;
  /** What forward saved for backward (only these tensors' data may be read there). */
  saved: Tensor[];
}

export interface Forward {
  out: Tensor;
  /** Tensors backward reads. Those also listed in `aux` were made by forward for backward alone. */
  saved?: Tensor[];
  aux?: Tensor[];
}

export interface OpDef<A> {
  /** Checks arguments (throwing errors that name the op) and launches the kernels. */
  forward(inputs: Tensor[], attrs: A): Forward;
  /** Gradients for each input, composed of ops; null where an input gets none. Absent: not differentiable. */
  backward?: (g: Tensor, ctx: Ctx<A>) => (Tensor | null)[];
}

function f32(op: string, ...ts: (Tensor | null | undefined)[]): void {
  for (const t of ts) {
    if (t && t.dtype !== 'float32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype} of shape ${fmt(t.shape)}`);
  }
}

/**
 * An op that is one row of the pointwise table: forward launches the row's expression over the inputs
 * broadcast together; backward launches each operand's gradient expression and sums it back to the
 * operand's shape. What backward reads (inputs, output) is read off the gradient expressions.
 */
function pointwiseOp<A>(row: PointwiseName | ((a: A) => PointwiseName)): OpDef<A> {
  const rowOf = (a: A) => (typeof row === 'function' ? row(a) : row);
  return {
    forward(inputs, a) {
      const name = rowOf(a);
      f32(name, ...inputs);
      const r = pointwiseTable[name];
      const shape = inputs.slice(1).reduce((s, t) => broadcastShapes(name, s, t.shape), inputs[0].shape);
      const out = K.pointwise(name, inputs, scalarsOf(r, a), shape);
      const used = reads((r.grad ?? []).join(' '));
      const saved = [...inputs.filter((_, k) => used.has(OPERANDS[k])), ...(used.has('y') ? [out] : [])];
      return { out, saved };
    },
    backward(g, c) {
      const r = pointwiseTable[rowOf(c.attrs)];
      const used = reads((r.grad ?? []).join(' '));
      const savedAt = (k: number) => c.saved[OPERANDS.slice(0, k).filter((l, j) => j < c.inputs.length && used.has(l)).length];
      const operandsOf = (expr: string): [string, Tensor][] => {
        const uses = reads(expr);
        const ops: [string, Tensor][] = [['g', g]];
        c.inputs.forEach((_, k) => { if (uses.has(OPERANDS[k])) ops.push([OPERANDS[k], savedAt(k)]); });
        if (uses.has('y')) ops.push(['y', c.saved[c.saved.length - 1]]);
        return ops;
      };
      return c.inputs.map((t, k) => {
        const expr = r.grad?.[k];
        if (!expr || !t.requiresGrad) return null;
        const full = K.elementwise(`${rowOf(c.attrs)}_grad`, expr, operandsOf(expr), r.scalars ?? [], scalarsOf(r, c.attrs), g.shape);
        const reduced = sumTo(full, t.shape);
        if (reduced !== full) full.dispose();
        return reduced;
      });
    },
  };
}

function scalarsOf(r: PointwiseRow, a: unknown): number[] {
  return (r.scalars ?? []).map((n) => (a as Record<string, number>)[n]);
}

/** Sums a broadcast gradient back to `shape`. */
export function sumTo(g: Tensor, shape: readonly number[]): Tensor {
  if (g.shape.join(',') === shape.join(',')) return g;
  const lead = g.ndim - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.ndim; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? F.sum(g, axes, false) : g;
  const r = F.reshape(s, shape);
  if (s !== g) s.dispose();
  return r;
}

/** Runs `fn` and disposes its intermediates (backward-only temporaries). */
function tmp<T>(ts: Tensor[], r: T): T { ts.forEach((t) => t.dispose()); return r; }

function checkReduction(op: string, r: string): void {
  if (r !== 'mean' && r !== 'sum' && r !== 'none') throw new Error(`${op}: reduction must be 'mean', 'sum' or 'none', got ${String(r)}`);
}

function reduceForward(op: 'sum' | 'max' | 'min') {
  return ([x]: Tensor[], a: { axes?: number | number[]; keepdim: boolean }): Forward => {
    f32(op, x);
    const axes = normAxes(op, a.axes, x.ndim);
    const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const finalShape = a.keepdim ? outShape : x.shape.filter((_, i) => !axes.includes(i));
    if (op !== 'sum' && axes.some((ax) => x.shape[ax] === 0)) {
      throw new Error(`${op}: cannot reduce over a zero-size dimension (shape ${fmt(x.shape)}, dims ${JSON.stringify(axes)})`);
    }
    let cur = x;
    for (const { A, R, B } of reductionRuns(x.shape, axes)) {
      const next = K.reduceARB(op, cur, A, R, B);
      if (cur !== x) cur.dispose();
      cur = next;
    }
    const out = cur === x ? K.pointwise('copy', [x]) : cur;
    const shaped = F.reshapeInPlace(out, finalShape);
    return { out: shaped, saved: op === 'sum' ? [] : [x, shaped] };
  };
}

function reduceShapeKeep(x: Tensor, axes: number | number[] | undefined): number[] {
  const ax = normAxes('reduce', axes, x.ndim);
  return x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
}

/** Gradient of max/min: split evenly among the tied extreme elements, as torch.amax. */
function extremeBackward(g: Tensor, c: Ctx<{ axes?: number | number[]; keepdim: boolean }>): (Tensor | null)[] {
  const [x, out] = c.saved;
  const keep = reduceShapeKeep(x, c.attrs.axes);
  const outK = F.reshape(out, keep);
  const mask = F.eq(x, outK);
  const count = F.sum(mask, c.attrs.axes, true);
  const gk = F.reshape(g, keep);
  const share = F.div(gk, count);
  return tmp([outK, mask, count, gk, share], [F.mul(mask, share)]);
}

function argForward(op: 'argmax' | 'argmin') {
  return ([x]: Tensor[], a: { dim?: number; keepdim: boolean }): Forward => {
    f32(op, x);
    if (x.numel === 0) throw new Error(`${op}: cannot take ${op} of an empty tensor`);
    if (a.dim === undefined) {
      const out = K.argReduce(x, 1, x.numel, 1, op === 'argmin');
      return { out: F.reshapeInPlace(out, a.keepdim ? x.shape.map(() => 1) : []) };
    }
    const d = normDim(op, a.dim, x.ndim);
    const A = x.shape.slice(0, d).reduce((p, q) => p * q, 1);
    const B = x.shape.slice(d + 1).reduce((p, q) => p * q, 1);
    const out = K.argReduce(x, A, x.shape[d] ?? 1, B, op === 'argmin');
    const shape = a.keepdim ? x.shape.map((s, i) => (i === d ? 1 : s)) : x.shape.filter((_, i) => i !== d);
    return { out: F.reshapeInPlace(out, shape) };
  };
}

function arb(x: Tensor, d: number) {
  return {
    A: x.shape.slice(0, d).reduce((p, q) => p * q, 1),
    R: x.shape[d] ?? 1,
    B: x.shape.slice(d + 1).reduce((p, q) => p * q, 1),
  };
}

function convGeomOf(op: string, x: Tensor, w: Tensor, a: ConvAttrs, transposed: boolean, outPad: [number, number] = [0, 0]): K.ConvGeom {
  const what = transposed ? 'convTranspose2d' : 'conv2d';
  if (x.ndim !== 4) throw new Error(`${what}: input must be 4-D [N, C, H, W], got shape ${fmt(x.shape)}`);
  if (w.ndim !== 4) throw new Error(`${what}: weight must be 4-D, got shape ${fmt(w.shape)}`);
  const [N, C, H, W] = x.shape;
  const g = a.groups;
  if (!Number.isInteger(g) || g < 1) throw new Error(`${what}: groups must be a positive integer, got ${g}`);
  const [kH, kW] = [w.shape[2], w.shape[3]];
  const [sH, sW] = a.stride;
  const [pH, pW] = a.padding;
  const [dH, dW] = a.dilation;
  if (!transposed) {
    const [Cout, Cig] = [w.shape[0], w.shape[1]];
    if (C % g !== 0) throw new Error(`conv2d: input channels ${C} are not divisible by groups=${g}`);
    if (Cout % g !== 0) throw new Error(`conv2d: weight's out channels ${Cout} are not divisible by groups=${g}`);
    if (Cig * g !== C) {
      throw new Error(`conv2d: input has ${C} channels but weight ${fmt(w.shape)} expects ${Cig * g} (groups=${g})`);
    }
    const OH = convOut(H, kH, sH, pH, dH);
    const OW = convOut(W, kW, sW, pW, dW);
    if (OH < 1 || OW < 1) {
      throw new Error(`conv2d: input ${fmt(x.shape)} is too small for kernel ${kH}x${kW} with padding ${pH},${pW} ` +
        `and dilation ${dH},${dW} (output would be ${OH}x${OW})`);
    }
    return { N, Cx: C, H, W, Cy: Cout, OH, OW, groups: g, kH, kW, sH, sW, pH, pW, dH, dW };
  }
  const [Cin, Cog] = [w.shape[0], w.shape[1]];
  if (Cin !== C) {
    throw new Error(`convTranspose2d: input has ${C} channels but weight ${fmt(w.shape)} expects ${Cin} (weight is [Cin, Cout/groups, kH, kW])`);
  }
  if (C % g !== 0) throw new Error(`convTranspose2d: input channels ${C} are not divisible by groups=${g}`);
  for (const [o, s, d, ax] of [[outPad[0], sH, dH, 'H'], [outPad[1], sW, dW, 'W']] as const) {
    if (o >= s && o >= d) {
      throw new Error(`convTranspose2d: outputPadding (${o} along ${ax}) must be smaller than either stride (${s}) or dilation (${d})`);
    }
  }
  const OH = (H - 1) * sH - 2 * pH + dH * (kH - 1) + outPad[0] + 1;
  const OW = (W - 1) * sW - 2 * pW + dW * (kW - 1) + outPad[1] + 1;
  if (OH < 1 || OW < 1) throw new Error(`convTranspose2d: output size would be ${OH}x${OW}; reduce padding`);
  // In conv2d terms: the transposed conv's input is conv2d's output (Cy) and its output is conv2d's input (Cx).
  return { N, Cx: Cog * g, H: OH, W: OW, Cy: C, OH: H, OW: W, groups: g, kH, kW, sH, sW, pH, pW, dH, dW };
}

function checkBias(op: string, bias: Tensor | undefined, channels: number): void {
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== channels)) {
    throw new Error(`${op}: bias must have shape [${channels}], got ${fmt(bias.shape)}`);
  }
}

export const opTable: { [K in OpName]: OpDef<OpAttrs[K]> } = {
  neg: pointwiseOp('neg'),
  exp: pointwiseOp('exp'),
  log: pointwiseOp('log'),
  sqrt: pointwiseOp('sqrt'),
  abs: pointwiseOp('abs'),
  relu: pointwiseOp('relu'),
  tanh: pointwiseOp('tanh'),
  sigmoid: pointwiseOp('sigmoid'),
  leakyRelu: pointwiseOp((a) => (a.slope >= 0 ? 'leakyReluNonNeg' : 'leakyRelu')),
  powScalar: pointwiseOp('powScalar'),
  clamp: {
    ...pointwiseOp('clamp'),
    forward(inputs, a) {
      if (Number.isNaN(a.min) || Number.isNaN(a.max)) throw new Error('clamp: min and max must not be NaN');
      return pointwiseOp<OpAttrs['clamp']>('clamp').forward(inputs, a);
    },
  },
  affine: pointwiseOp('affine'),
  rdivScalar: pointwiseOp('rdivScalar'),
  logClamped: pointwiseOp('logClamped'),
  sign: pointwiseOp('sign'),
  compareScalar: pointwiseOp((a) => `${a.op}Scalar` as PointwiseName),
  add: pointwiseOp('add'),
  sub: pointwiseOp('sub'),
  mul: pointwiseOp('mul'),
  div: pointwiseOp('div'),
  maximum: pointwiseOp('maximum'),
  minimum: pointwiseOp('minimum'),
  pow: pointwiseOp('pow'),
  compare: pointwiseOp((a) => a.op),
  where: pointwiseOp('where'),
  reshape: {
    forward([x], a) {
      const shape = resolveReshape('reshape', x.shape, a.shape);
      return { out: new Tensor(x.storage.retain(), shape, x.dtype) };
    },
    backward: (g, c) => [F.reshape(g, c.inputs[0].shape)],
  },
  expand: {
    forward([x], a) {
      checkShape('expand', a.shape);
      const target = a.shape.map((d, i) => (d === -1 ? x.shape[i - (a.shape.length - x.ndim)] : d));
      const ok = target.length >= x.ndim && x.shape.every((d, i) => d === 1 || d === target[target.length - x.ndim + i]);
      if (!ok) throw new Error(`expand: cannot expand shape ${fmt(x.shape)} to ${fmt(a.shape)}`);
      return { out: K.expand(x, target) };
    },
    backward: (g, c) => [sumTo(g, c.inputs[0].shape)],
  },
  permute: {
    forward([x], a) {
      const p = a.perm.map((d) => normDim('permute', d, x.ndim));
      if (p.length !== x.ndim || new Set(p).size !== p.length) {
        throw new Error(`permute: ${JSON.stringify(a.perm)} is not a permutation of the ${x.ndim} dims of ${fmt(x.shape)}`);
      }
      return { out: K.permute(x, p) };
    },
    backward(g, c) {
      const p = c.attrs.perm.map((d) => (d < 0 ? d + c.inputs[0].ndim : d));
      const inv = new Array<number>(p.length);
      p.forEach((d, i) => { inv[d] = i; });
      return [F.permute(g, inv)];
    },
  },
  narrow: {
    forward([x], a) {
      if (x.ndim === 0) throw new Error('narrow: cannot narrow a 0-d tensor');
      const d = normDim('narrow', a.dim, x.ndim);
      const size = x.shape[d];
      const start = a.start < 0 ? a.start + size : a.start;
      if (!Number.isInteger(start) || !Number.isInteger(a.length) || start < 0 || a.length < 0 || start + a.length > size) {
        throw new Error(`narrow: start ${a.start} and length ${a.length} do not fit dim ${a.dim} of size ${size} (shape ${fmt(x.shape)})`);
      }
      const shape = x.shape.map((s, i) => (i === d ? a.length : s));
      const strides = x.shape.map((_, i) => x.shape.slice(i + 1).reduce((p, q) => p * q, 1));
      return { out: K.gatherStrided(x, shape, strides, start * strides[d]) };
    },
    backward(g, c) {
      const x = c.inputs[0]!;
      const d = normDim('narrow', c.attrs.dim, x.ndim);
      const start = c.attrs.start < 0 ? c.attrs.start + x.shape[d] : c.attrs.start;
      return [K.pad(g, x.shape, x.shape.map((_, i) => (i === d ? start : 0)))];
    },
  },
  cat: {
    forward(parts) {
      if (parts.length === 0) throw new Error('cat: expected a non-empty list of tensors');
      const [first] = parts;
      if (first.ndim === 0) throw new Error('cat: zero-dimensional tensors cannot be concatenated (use stack)');
      parts.forEach((t, i) => {
        if (t.dtype !== first.dtype) throw new Error(`cat: tensor ${i} is ${t.dtype} but tensor 0 is ${first.dtype}`);
        if (t.ndim !== first.ndim || t.shape.slice(1).join(',') !== first.shape.slice(1).join(',')) {
          throw new Error(`cat: tensor ${i} has shape ${fmt(t.shape)}, which does not match ${fmt(first.shape)} outside dim 0`);
        }
      });
      const rows = parts.reduce((p, t) => p + t.shape[0], 0);
      return { out: K.cat0(parts, [rows, ...first.shape.slice(1)]) };
    },
    backward(g, c) {
      let start = 0;
      return c.inputs.map((t) => {
        const len = t!.shape[0];
        const r = t!.requiresGrad ? F.narrow(g, 0, start, len) : null;
        start += len;
        return r;
      });
    },
  },
  sum: {
    forward: reduceForward('sum'),
    backward(g, c) {
      const x = c.inputs[0];
      const gk = F.reshape(g, reduceShapeKeep(x, c.attrs.axes));
      return tmp([gk], [F.expand(gk, x.shape)]);
    },
  },
  max: { forward: reduceForward('max'), backward: extremeBackward },
  min: { forward: reduceForward('min'), backward: extremeBackward },
  argmax: { forward: argForward('argmax') },
  argmin: { forward: argForward('argmin') },
  softmax: {
    forward([x], a) {
      f32('softmax', x);
      const { A, R, B } = arb(x, normDim('softmax', a.dim, x.ndim));
      const out = K.softmax(x, A, R, B, false);
      return { out, saved: [out] };
    },
    backward(g, c) {
      // y * (g - sum(g * y, dim))
      const [y] = c.saved;
      const gy = F.mul(g, y); const s = F.sum(gy, c.attrs.dim, true); const d = F.sub(g, s);
      return tmp([gy, s, d], [F.mul(y, d)]);
    },
  },
  logSoftmax: {
    forward([x], a) {
      f32('logSoftmax', x);
      const { A, R, B } = arb(x, normDim('logSoftmax', a.dim, x.ndim));
      const out = K.softmax(x, A, R, B, true);
      return { out, saved: [out] };
    },
    backward(g, c) {
      // g - exp(y) * sum(g, dim)
      const e = F.exp(c.saved[0]); const s = F.sum(g, c.attrs.dim, true); const es = F.mul(e, s);
      return tmp([e, s, es], [F.sub(g, es)]);
    },
  },
  matmul: {
    forward([a, b], at) {
      f32('matmul', a, b);
      if (a.ndim < 1 || b.ndim < 1) throw new Error(`matmul: both operands need at least 1 dim, got ${fmt(a.shape)} and ${fmt(b.shape)}`);
      // 1-D operands are promoted as in torch.matmul and the added dim removed from the result.
      const a2 = a.ndim === 1 ? (at.transA ? [a.shape[0], 1] : [1, a.shape[0]]) : a.shape;
      const b2 = b.ndim === 1 ? (at.transB ? [1, b.shape[0]] : [b.shape[0], 1]) : b.shape;
      const [M, Ka] = at.transA ? [a2[a2.length - 1], a2[a2.length - 2]] : [a2[a2.length - 2], a2[a2.length - 1]];
      const [Kb, N] = at.transB ? [b2[b2.length - 1], b2[b2.length - 2]] : [b2[b2.length - 2], b2[b2.length - 1]];
      if (Ka !== Kb) {
        throw new Error(`matmul: inner dimensions differ: ${fmt(a.shape)}${at.transA ? 'ᵀ' : ''} @ ` +
          `${fmt(b.shape)}${at.transB ? 'ᵀ' : ''} (${Ka} vs ${Kb})`);
      }
      const batch = broadcastShapes('matmul', a2.slice(0, -2), b2.slice(0, -2));
      if (batch.reduce((p, q) => p * q, 1) > 65535) throw new Error(`matmul: batch of ${batch.reduce((p, q) => p * q, 1)} is over the limit of 65535`);
      const va = a.ndim === 1 ? F.reshapeView(a, a2) : a;
      const vb = b.ndim === 1 ? F.reshapeView(b, b2) : b;
      let out = K.matmul(va, vb, M, N, Ka, batch, at.transA, at.transB);
      if (va !== a) va.dispose();
      if (vb !== b) vb.dispose();
      if (a.ndim === 1 || b.ndim === 1) {
        const shape = [...batch, ...(a.ndim === 1 ? [] : [M]), ...(b.ndim === 1 ? [] : [N])];
        out = F.reshapeInPlace(out, shape);
      }
      return { out, saved: [a, b] };
    },
    backward(g, c) {
      const [a, b] = c.saved;
      const { transA, transB } = c.attrs;
      if (a.ndim < 2 || b.ndim < 2 || g.ndim < 2) return matmulBackwardVector(g, a, b, transA, transB);
      return matmulGrads(g, a, b, transA, transB);
    },
  },
  // y = act(x W^T + b) in one dispatch (matmul with a bias and activation epilogue); backward: the fused
  // activation gradient, two matmuls and a column sum.
  linear: {
    forward([x, w, bias], a) {
      f32('linear', x, w, bias);
      if (w.ndim !== 2) throw new Error(`linear: weight must be [out, in], got ${fmt(w.shape)}`);
      if (x.ndim < 1 || x.shape[x.ndim - 1] !== w.shape[1]) {
        throw new Error(`linear: input ${fmt(x.shape)} has ${x.shape[x.ndim - 1]} features but weight ${fmt(w.shape)} expects ${w.shape[1]}`);
      }
      if (bias && (bias.ndim !== 1 || bias.shape[0] !== w.shape[0])) {
        throw new Error(`linear: bias must have shape [${w.shape[0]}], got ${fmt(bias.shape)}`);
      }
      if (a.activation !== 'none' && a.activation !== 'relu' && a.activation !== 'leakyRelu') {
        throw new Error(`linear: activation must be 'none', 'relu' or 'leakyRelu', got ${String(a.activation)}`);
      }
      if (a.activation === 'leakyRelu' && !(a.slope >= 0)) throw new Error(`linear: a fused leakyRelu needs a slope >= 0, got ${a.slope}`);
      const [O, I] = w.shape;
      const M = x.numel / I;
      const x2 = F.reshapeView(x, [M, I]);
      const epi = { bias: bias ?? null, act: a.activation, slope: a.slope };
      let y2: Tensor;
      if (a.precision === 'f16') {
        if (!backend().f16) throw new Error("linear: precision 'f16' needs the shader-f16 device feature, which this adapter lacks; use 'f32'");
        if (I % 4 !== 0) throw new Error(`linear: precision 'f16' needs in_features to be a multiple of 4, got ${I}`);
        y2 = K.matmulF16(x2, w, M, O, I, epi);
      } else if (a.precision === 'f32') {
        y2 = K.matmul(x2, w, M, O, I, [], false, true, epi);
      } else {
        throw new Error(`linear: precision must be 'f32' or 'f16', got ${String(a.precision)}`);
      }
      x2.dispose();
      const out = F.reshapeInPlace(y2, [...x.shape.slice(0, -1), O]);
      return { out, saved: a.activation === 'none' ? [x, w] : [x, w, out] };
    },
    backward(g, c) {
      const [x, w, y] = c.saved;
      const bias = c.inputs[2];
      const { activation, slope } = c.attrs;
      const [O, I] = w.shape;
      const M = x.numel / I;
      const g2 = F.reshapeView(g, [M, O]);
      // Leaky relu with slope >= 0 keeps the sign of its input, so the output decides the slope too.
      const y2 = activation === 'none' ? null : F.reshapeView(y, [M, O]);
      const gp = y2 ? activationGrad(activation as 'relu' | 'leakyRelu', g2, y2, slope) : g2;
      y2?.dispose();
      const x2 = F.reshapeView(x, [M, I]);
      const gx = x.requiresGrad ? F.reshapeInPlace(K.matmul(gp, w, M, I, O, [], false, false), x.shape) : null;
      const gw = w.requiresGrad ? K.matmul(gp, x2, O, I, M, [], true, false) : null;
      const gb = bias?.requiresGrad ? F.sum(gp, [0]) : null;
      for (const t of new Set([x2, g2, gp])) t.dispose();
      return [gx, gw, gb];
    },
  },
  conv2d: {
    forward([x, w, bias], a) {
      f32('conv2d', x, w, bias);
      const g = convGeomOf('conv2d', x, w, a, false);
      checkBias('conv2d', bias, g.Cy);
      return { out: K.conv2d(x, w, bias ?? null, g), saved: [x, w] };
    },
    backward(g, c) {
      const [x, w] = c.saved;
      const geom = convGeomOf('conv2d', x, w, c.attrs, false);
      const bias = c.inputs[2];
      return [
        x.requiresGrad ? K.conv2dBackwardInput(g, w, null, geom) : null,
        w.requiresGrad ? K.conv2dBackwardWeight(x, g, geom) : null,
        bias?.requiresGrad ? F.sum(g, [0, 2, 3]) : null,
      ];
    },
  },
  convTranspose2d: {
    forward([x, w, bias], a) {
      f32('convTranspose2d', x, w, bias);
      const g = convGeomOf('convTranspose2d', x, w, a, true, a.outputPadding);
      checkBias('convTranspose2d', bias, g.Cx);
      return { out: K.conv2dBackwardInput(x, w, bias ?? null, g), saved: [x, w] };
    },
    backward(g, c) {
      const [x, w] = c.saved;
      const geom = convGeomOf('convTranspose2d', x, w, c.attrs, true, c.attrs.outputPadding);
      const bias = c.inputs[2];
      // In conv2d terms the output gradient is conv2d's input and x is conv2d's output.
      return [
        x.requiresGrad ? K.conv2d(g, w, null, geom) : null,
        w.requiresGrad ? K.conv2dBackwardWeight(g, x, geom) : null,
        bias?.requiresGrad ? F.sum(g, [0, 2, 3]) : null,
      ];
    },
  },
  batchNorm: {
    forward([x, w, b], a) {
      f32('batchNorm', x, w, b, a.runningMean, a.runningVar);
      if (x.ndim < 2) throw new Error(`batchNorm: input must be [N, C] or [N, C, ...], got shape ${fmt(x.shape)}`);
      const C = x.shape[1];
      for (const [name, t] of [['weight', w], ['bias', b], ['runningMean', a.runningMean], ['runningVar', a.runningVar]] as const) {
        if (t && (t.ndim !== 1 || t.shape[0] !== C)) {
          throw new Error(`batchNorm: ${name} must have shape [${C}] for input ${fmt(x.shape)}, got ${fmt(t.shape)}`);
        }
      }
      if ((w === undefined) !== (b === undefined)) throw new Error('batchNorm: pass both weight and bias, or neither');
      if (!(a.eps > 0)) throw new Error(`batchNorm: eps must be > 0, got ${a.eps}`);
      const geom = { N: x.shape[0], C, S: x.shape.slice(2).reduce((p, q) => p * q, 1), eps: a.eps };
      if (a.training) {
        if (geom.N * geom.S < 2) {
          throw new Error(`batchNorm: expected more than 1 value per channel when training, got input ${fmt(x.shape)}`);
        }
        const running = a.runningMean && a.runningVar ? { mean: a.runningMean, var: a.runningVar, momentum: a.momentum } : null;
        const { out, mean, invstd } = K.batchNormTrain(x, w ?? null, b ?? null, geom, running);
        return { out, saved: [x, mean, invstd, ...(w ? [w] : [])], aux: [mean, invstd] };
      }
      if (!a.runningMean || !a.runningVar) throw new Error('batchNorm: eval mode needs runningMean and runningVar');
      const out = K.batchNormApply(x, a.runningMean, a.runningVar, w ?? null, b ?? null, geom);
      return { out, saved: [x, a.runningMean, a.runningVar, ...(w ? [w] : [])] };
    },
    backward(g, c) {
      const [x, mean, stat, w] = c.saved;
      const geom = { N: x.shape[0], C: x.shape[1], S: x.shape.slice(2).reduce((p, q) => p * q, 1), eps: c.attrs.eps };
      const r = K.batchNormBackward(x, g, mean, stat, w ?? null, geom, c.attrs.training, !c.attrs.training);
      const [, wi, bi] = c.inputs;
      const out = [x.requiresGrad ? r.dx : null, wi?.requiresGrad ? r.dw : null, bi?.requiresGrad ? r.db : null];
      for (const t of [r.dx, r.dw, r.db]) if (!out.includes(t)) t.dispose();
      return out;
    },
  },
  oneHot: {
    forward([labels], a) {
      if (labels.dtype !== 'int32') throw new Error(`oneHot: labels must be int32, got ${labels.dtype}`);
      if (!Number.isInteger(a.classes) || a.classes < 1) throw new Error(`oneHot: classes must be a positive integer, got ${a.classes}`);
      const h = labels.hostData;
      if (h) {
        for (let i = 0; i < h.length; i++) {
          if (h[i] < 0 || h[i] >= a.classes) {
            throw new Error(`oneHot: label ${h[i]} at index ${i} is out of range for ${a.classes} classes (expected 0..${a.classes - 1})`);
          }
        }
      }
      return { out: K.oneHot(labels, a.classes) };
    },
  },
  cast: {
    forward([x], a) {
      if (a.dtype !== 'float32' && a.dtype !== 'int32') throw new Error(`cast: unknown dtype ${String(a.dtype)}`);
      if (x.dtype === a.dtype) return { out: F.clone(x) };
      return { out: K.cast(x, a.dtype) };
    },
  },
  // Losses fused with their reduction (one dispatch) and both gradients (one dispatch).
  crossEntropy: {
    forward([x, labels], a) {
      f32('crossEntropy', x);
      if (x.ndim !== 2) throw new Error(`crossEntropy: logits must be [N, C], got ${fmt(x.shape)}`);
      if (labels.dtype !== 'int32') throw new Error(`crossEntropy: labels must be int32 class indices, got ${labels.dtype}`);
      if (labels.ndim !== 1 || labels.shape[0] !== x.shape[0]) {
        throw new Error(`crossEntropy: labels must have shape [${x.shape[0]}] for logits ${fmt(x.shape)}, got ${fmt(labels.shape)}`);
      }
      checkReduction('crossEntropy', a.reduction);
      if (labels.hostData) {
        const C = x.shape[1];
        const bad = labels.hostData.findIndex((l) => l < 0 || l >= C);
        if (bad >= 0) throw new Error(`crossEntropy: label ${labels.hostData[bad]} at index ${bad} is outside [0, ${C})`);
      }
      return { out: K.crossEntropy(x, labels, a.reduction), saved: [x, labels] };
    },
    backward(g, c) {
      const [x, labels] = c.saved;
      return [x.requiresGrad ? K.crossEntropyBackward(x, labels, g, c.attrs.reduction) : null, null];
    },
  },
  binaryCrossEntropy: {
    forward([p, t], a) {
      f32('binaryCrossEntropy', p, t);
      if (p.shape.join(',') !== t.shape.join(',')) {
        throw new Error(`binaryCrossEntropy: target shape ${fmt(t.shape)} differs from input shape ${fmt(p.shape)}; they must match`);
      }
      checkReduction('binaryCrossEntropy', a.reduction);
      return { out: K.binaryCrossEntropy(p, t, a.reduction), saved: [p, t] };
    },
    backward(g, c) {
      const [p, t] = c.saved;
      const [dp, dt] = K.binaryCrossEntropyBackward(p, t, g, c.attrs.reduction, t.requiresGrad);
      if (!p.requiresGrad) { dp.dispose(); return [null, dt]; }
      return [dp, dt];
    },
  },
  // Movement: one gather kernel reads x through (possibly negative) strides or a padded index map.
  flip: {
    forward([x], a) {
      if (!Array.isArray(a.dims)) throw new Error(`flip: dims must be an array of dims, got ${JSON.stringify(a.dims)}`);
      const dims = normAxes('flip', a.dims, x.ndim);
      const s = contiguousStrides(x.shape);
      // A flipped dim is read from its last element with a negative stride (empty dims read nothing).
      const base = dims.reduce((b, d) => b + Math.max(x.shape[d] - 1, 0) * s[d], 0);
      return { out: K.gatherStrided(x, x.shape, s.map((v, d) => (dims.includes(d) ? -v : v)), base) };
    },
    backward: (g, c) => [F.flip(g, c.attrs.dims)],
  },
  pad: {
    forward([x], a) {
      const { lo, hi } = padGeometry(x, a);
      const fill = a.mode === 'constant' ? fillBits(x, a.value) : 0;
      return { out: K.pad(x, x.shape.map((s, d) => s + lo[d] + hi[d]), lo, a.mode, fill) };
    },
    backward(g, c) {
      const x = c.inputs[0];
      const { lo, hi } = padGeometry(x, c.attrs);
      // Constant: the gradient is g cropped back (pads negated: a crop where forward padded and vice versa).
      if (c.attrs.mode === 'constant') return [F.pad(g, c.attrs.pads.map((p) => -p))];
      // Reflect and replicate: each input element gathers the gradient of every position that read it.
      return [K.padBackward(g, x.shape, lo, hi, c.attrs.mode)];
    },
  },
};

/** g * act'(·) from the activation's output y: its row's gradient with the operand read from y (for leaky
 * relu with slope >= 0 the output has the input's sign, which is all the gradient reads). */
function activationGrad(act: 'relu' | 'leakyRelu', g: Tensor, y: Tensor, slope: number): Tensor {
  const row = pointwiseTable[act];
  const expr = row.grad![0]!;
  const uses = reads(expr);
  const ops: [string, Tensor][] = [['g', g], ...[...uses].filter((l) => l !== 'g').map((l): [string, Tensor] => [l, y])];
  return K.elementwise(`${act}_grad`, expr, ops, row.scalars ?? [], [slope], g.shape);
}

/** Checks F.pad's arguments as PyTorch does and returns the padding before and after each dim. */
function padGeometry(x: Tensor, a: OpAttrs['pad']): { lo: number[]; hi: number[] } {
  const { pads, mode } = a;
  if (!Array.isArray(pads) || pads.some((p) => !Number.isInteger(p))) {
    throw new Error(`pad: pads must be an array of integers, got ${JSON.stringify(pads)}`);
  }
  if (pads.length % 2 !== 0) throw new Error(`pad: padding length must be divisible by 2, got ${pads.length} values`);
  if (pads.length / 2 > x.ndim) {
    throw new Error(`pad: padding length too large: ${pads.length} values pad ${pads.length / 2} dims but the input ${fmt(x.shape)} has ${x.ndim}`);
  }
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'replicate') {
    throw new Error(`pad: mode must be 'constant', 'reflect' or 'replicate', got ${String(mode)}`);
  }
  const k = pads.length / 2;
  const lo = x.shape.map(() => 0);
  const hi = x.shape.map(() => 0);
  for (let j = 0; j < k; j++) { lo[x.ndim - 1 - j] = pads[2 * j]; hi[x.ndim - 1 - j] = pads[2 * j + 1]; }
  if (mode === 'constant') {
    if (typeof a.value !== 'number') throw new Error(`pad: value must be a number, got ${typeof a.value}`);
    x.shape.forEach((s, d) => {
      if (s + lo[d] + hi[d] < 0) {
        throw new Error(`pad: padding (${lo[d]}, ${hi[d]}) at dim ${d} of input ${fmt(x.shape)} gives a negative size ${s + lo[d] + hi[d]}`);
      }
    });
    return { lo, hi };
  }
  if (k < 1 || k > 3 || (x.ndim !== k + 1 && x.ndim !== k + 2)) {
    throw new Error(`pad: mode '${mode}' pads the last 1, 2 or 3 dims of a 2-D to 5-D input, with one or two leading ` +
      `(batch, channel) dims; got ${pads.length} values for input ${fmt(x.shape)}`);
  }
  if (pads.some((p) => p < 0)) throw new Error(`pad: mode '${mode}' takes non-negative padding in Kiln, got ${JSON.stringify(pads)}`);
  x.shape.forEach((s, d) => {
    if (mode === 'reflect' && (lo[d] >= s || hi[d] >= s) && (lo[d] || hi[d])) {
      throw new Error(`pad: reflect padding must be less than the input size: padding (${lo[d]}, ${hi[d]}) at dim ${d} of input ${fmt(x.shape)}`);
    }
    if (mode === 'replicate' && d >= x.ndim - k - 1 && s === 0) {
      throw new Error(`pad: replicate padding needs non-zero sizes outside the batch dim, got input ${fmt(x.shape)}`);
    }
  });
  return { lo, hi };
}

/** The 32-bit word a constant pad writes: the float's bits, or the integer for int32 tensors. */
function fillBits(x: Tensor, value: number): number {
  if (x.dtype === 'int32') {
    if (!Number.isInteger(value)) throw new Error(`pad: an int32 tensor pads with an integer value, got ${value}`);
    return value | 0;
  }
  return new Uint32Array(Float32Array.of(value).buffer)[0];
}

/** C = op(A) op(B): dA = dC op(B)^T (stored transposed when transA), dB likewise; summed over broadcast batches. */
function matmulGrads(g: Tensor, a: Tensor, b: Tensor, transA: boolean, transB: boolean): [Tensor | null, Tensor | null] {
  const ga = a.requiresGrad
    ? (transA ? F.matmul(b, g, { transA: transB, transB: true }) : F.matmul(g, b, { transB: !transB }))
    : null;
  const gb = b.requiresGrad
    ? (transB ? F.matmul(g, a, { transA: true, transB: transA }) : F.matmul(a, g, { transA: !transA }))
    : null;
  const ra = ga ? sumTo(ga, a.shape) : null;
  const rb = gb ? sumTo(gb, b.shape) : null;
  if (ga && ra !== ga) ga.dispose();
  if (gb && rb !== gb) gb.dispose();
  return [ra, rb];
}

function matmulBackwardVector(g: Tensor, a: Tensor, b: Tensor, transA: boolean, transB: boolean): (Tensor | null)[] {
  // Promote the 1-D operands (and g) to matrices, reuse the matrix rule, then drop the added dims.
  const a2 = a.ndim === 1 ? F.reshape(a, transA ? [a.shape[0], 1] : [1, a.shape[0]]) : a;
  const b2 = b.ndim === 1 ? F.reshape(b, transB ? [1, b.shape[0]] : [b.shape[0], 1]) : b;
  const outShape = [...g.shape];
  if (a.ndim === 1) outShape.splice(outShape.length - (b.ndim === 1 ? 0 : 1), 0, 1);
  if (b.ndim === 1) outShape.push(1);
  const g2 = F.reshape(g, outShape);
  if (a2 !== a) a2.requiresGrad = a.requiresGrad;
  if (b2 !== b) b2.requiresGrad = b.requiresGrad;
  const [ra, rb] = matmulGrads(g2, a2, b2, transA, transB);
  const fa = ra ? F.reshape(ra, a.shape) : null;
  const fb = rb ? F.reshape(rb, b.shape) : null;
  for (const t of [ra, rb, g2, a2 !== a ? a2 : null, b2 !== b ? b2 : null]) if (t && t !== fa && t !== fb) t.dispose();
  return [fa, fb];
}
