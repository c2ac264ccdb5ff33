// Launchers: one function per WGSL kernel. Each takes validated tensors, allocates the output from the pool,
// packs the kernel's Params and records the dispatch. No graph, no checks beyond what the kernel needs.
import { ParamWriter } from '../backend/backend.js';
import { backend, rng } from '../autograd/context.js';
import { Tensor, type DType } from '../autograd/tensor.js';
import { broadcastStrides, contiguousStrides, MAX_RANK } from './shape.js';
import { bindScalars, eagerSource, f32Literal, indexMode, OPERANDS, pointwiseTable, renameOperands, SCALAR_SLOTS, type PointwiseName } from './pointwise.js';
import { wgslSources, type ShaderName } from '../backend/wgsl.gen.js';
import type { Binding } from '../backend/pipelines.js';

/** The backend's placeholder for an absent optional input (see Backend.dummy). */
function dummyBuffer(k = 0) {
  return backend().dummy(k);
}

function bind(t: Tensor) {
  return t.byteOffset ? { buffer: t.buffer, offset: t.byteOffset } : t.buffer;
}

/**
 * A heavy kernel whose every output element goes through `fn store(i, v)` in its shader (written once,
 * at flat index i): compileStep's fusion pass may replace store with a fused pointwise epilogue.
 */
export interface StoreWork {
  store: ShaderName; /** binding of the output */ out: number; numel: number;
  /** A TRANS_A matmul (one batch) that can also hand the sums over k of A (binding `a`, stored [K, M]) to
   * `fn store_row(m, sum)` under the ROW_SUM constant: where a bias gradient's reduce folds in. */
  rowSum?: { a: number; K: number; M: number };
  /** Further outputs written through their own store function (`fn <fn>(i, v)`). */
  more?: { fn: string; out: number; numel: number }[];
  /** The dispatched source when the launcher generated it from `store` (an epilogue already in place), and
   * the function that still writes binding `out` plainly (default `store`). */
  wgsl?: string; fn?: string;
}

/** A one-pass reduce of x viewed as [A, R, B] over R (what the fusion pass may fold into a matmul). */
export interface ReduceWork { reduce: ReduceCode; A: number; R: number; B: number }

/** What compileStep's fusion pass needs to inline a pointwise launch (see src/ops/fusion.ts). */
export interface PointwiseWork {
  /** The expression over the operand letters, scalars baked in as exact literals. */
  expr: string;
  /** Operand letter of each input binding, in order; the output is the binding after them. */
  letters: string[];
  /** Each input's strides over `shape` (0 on broadcast axes). */
  strides: number[][];
  shape: number[];
}

/**
 * out = expr over `operands` (letter, tensor), each broadcast to `outShape`; `scalars` are the values of
 * the expression's `$names`. One generated kernel per expression and index modes, cached by its source.
 */
export function elementwise(label: string, expr: string, operands: [string, Tensor][], names: readonly string[],
  scalars: readonly number[], outShape: readonly number[]): Tensor {
  const out = Tensor.empty(outShape);
  const n = out.numel;
  const be = backend();
  const strides = operands.map(([, t]) => broadcastStrides(t.shape, outShape));
  const modes = operands.map(([, t], k) => indexMode(strides[k], outShape, t.numel));
  const letters = operands.map(([l]) => l);
  const src = eagerSource(bindScalars(expr, names, SCALAR_SLOTS.slice(0, names.length)), letters, modes);
  const p = new ParamWriter().u32(n, outShape.length, 0, 0).u32Array(outShape, MAX_RANK);
  for (let k = 0; k < 4; k++) p.u32Array(strides[k] ?? [], MAX_RANK);
  p.f32(...[0, 1, 2, 3].map((k) => scalars[k] ?? 0));
  const work: PointwiseWork = {
    expr: bindScalars(expr, names, scalars.map(f32Literal)), letters, strides, shape: [...outShape],
  };
  be.dispatchSource(label, src, [...operands.map(([, t]) => bind(t)), bind(out)], p.bytes(), be.grid(n, 256), work);
  return out;
}

/** Runs a row of the pointwise table on `inputs` (its operands a, b, c) broadcast to `outShape`. */
export function pointwise(name: PointwiseName, inputs: Tensor[], scalars: readonly number[] = [],
  outShape: readonly number[] = inputs[0].shape): Tensor {
  const row = pointwiseTable[name];
  return elementwise(name, row.wgsl, inputs.map((t, k) => [OPERANDS[k], t]), row.scalars ?? [], scalars, outShape);
}

/** out = x read through `strides` from element `base` over `outShape` (permute: permuted strides;
 * expand: zero strides; narrow: a base offset; flip: negative strides from the far end). Strides and base
 * are taken mod 2^32, as the kernel's u32 arithmetic wraps. */
export function gatherStrided(x: Tensor, outShape: readonly number[], strides: readonly number[], base = 0): Tensor {
  const out = Tensor.empty(outShape, x.dtype);
  const n = out.numel;
  const be = backend();
  const p = new ParamWriter().u32(n, outShape.length, base >>> 0, 0).u32Array(outShape, MAX_RANK)
    .u32Array(strides.map((s) => s >>> 0), MAX_RANK).u32Array([], MAX_RANK).u32Array([], MAX_RANK);
  be.dispatch('gather_strided', { MODE: 0 }, [bind(x), bind(out)], p.bytes(), be.grid(n, 256));
  return out;
}

export type PadMode = 'constant' | 'reflect' | 'replicate';
const PAD_MODE = { constant: 1, reflect: 2, replicate: 3 } as const;

/**
 * Pads contiguous x into `outShape`, its element [0, ...] landing at `lo` (negative lo crops). Outside x:
 * `fillBits` (constant; the raw 32-bit word), the mirror image (reflect) or the edge (replicate).
 */
export function pad(x: Tensor, outShape: readonly number[], lo: readonly number[], mode: PadMode = 'constant',
  fillBits = 0): Tensor {
  const out = Tensor.empty(outShape, x.dtype);
  const n = out.numel;
  const be = backend();
  const p = new ParamWriter().u32(n, outShape.length, 0, fillBits >>> 0).u32Array(outShape, MAX_RANK)
    .u32Array(contiguousStrides(x.shape), MAX_RANK).u32Array(lo.map((v) => v >>> 0), MAX_RANK).u32Array(x.shape, MAX_RANK);
  be.dispatch('gather_strided', { MODE: PAD_MODE[mode] }, [bind(x), bind(out)], p.bytes(), be.grid(n, 256));
  return out;
}

/** The gradient of a reflect or replicate pad of an x of `xShape` (at most its last three dims padded). */
export function padBackward(g: Tensor, xShape: readonly number[], lo: readonly number[], hi: readonly number[],
  mode: 'reflect' | 'replicate'): Tensor {
  const out = Tensor.empty(xShape);
  const n = out.numel;
  const last3 = (a: readonly number[], fill: number) => [fill, fill, fill, ...a].slice(-3);
  const be = backend();
  const p = new ParamWriter().u32(n, 0, 0, 0).u32(...last3(xShape, 1), 0).u32(...last3(lo, 0), 0).u32(...last3(hi, 0), 0);
  be.dispatch('pad_backward', { MODE: PAD_MODE[mode] }, [bind(g), bind(out)], p.bytes(), be.grid(n, 256));
  return out;
}

/** Concatenates contiguous tensors along dim 0 with buffer copies (no kernel). */
export function cat0(parts: Tensor[], outShape: readonly number[]): Tensor {
  const out = Tensor.empty(outShape, parts[0].dtype);
  const be = backend();
  let offset = 0;
  for (const t of parts) {
    be.copy(t.buffer, t.byteOffset, out.buffer, out.byteOffset + offset, t.numel * 4);
    offset += t.numel * 4;
  }
  return out;
}

export function expand(x: Tensor, outShape: readonly number[]): Tensor {
  // int32 moves as raw words; float32 goes through the pointwise row, so a captured step can fuse it.
  if (x.dtype !== 'float32') return gatherStrided(x, outShape, broadcastStrides(x.shape, outShape));
  return pointwise('copy', [x], [], outShape);
}

export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const s = contiguousStrides(x.shape);
  return gatherStrided(x, perm.map((p) => x.shape[p]), perm.map((p) => s[p]));
}

const REDUCE = { sum: 0, max: 1, min: 2 } as const;
export type ReduceCode = keyof typeof REDUCE;

/** Reduces x viewed as [A, R, B] over R into a new tensor of A*B elements (flat; the caller reshapes). */
export function reduceARB(code: ReduceCode, x: Tensor, A: number, R: number, B: number): Tensor {
  const be = backend();
  const run = (src: Tensor, r: number, P: number): Tensor => {
    const L = Math.ceil(r / P);
    const out = Tensor.empty([A * P * B]);
    const p = new ParamWriter().u32(A, r, B, P, L, 0, r * B, B).u32(1, 0, 0, 0);
    const work: ReduceWork | undefined = P === 1 ? { reduce: code, A, R: r, B } : undefined;
    be.dispatch('reduce', { OP: REDUCE[code] }, [bind(src), bind(out)], p.bytes(), be.grid(A * P * B, 256), work);
    return out;
  };
  // Few outputs and a long reduction: fold R in two passes so thousands of threads share the work.
  const outputs = A * B;
  if (R >= 4096 && outputs < 4096) {
    const P = Math.min(Math.ceil(R / 256), Math.max(1, Math.floor(16384 / outputs)));
    if (P > 1) {
      const partial = run(x, R, P);
      const out = run(partial, P, 1);
      partial.dispose();
      return out;
    }
  }
  return run(x, R, 1);
}

export function argReduce(x: Tensor, A: number, R: number, B: number, min: boolean): Tensor {
  const be = backend();
  const out = Tensor.empty([A * B], 'int32');
  be.dispatch('argmax', { OP: min ? 1 : 0 }, [bind(x), bind(out)], new ParamWriter().u32(A, R, B, 0).bytes(),
    be.grid(A * B, 256));
  return out;
}

export function softmax(x: Tensor, A: number, R: number, B: number, log: boolean): Tensor {
  const be = backend();
  const out = Tensor.empty(x.shape);
  be.dispatch('softmax', { LOG: log ? 1 : 0 }, [bind(x), bind(out)], new ParamWriter().u32(A, R, B, 0).bytes(),
    be.grid(A * B, 256));
  return out;
}

/**
 * out[batch] = op(a) @ op(b). `aShape`/`bShape` are the stored shapes; batch dims (all but the last two)
 * broadcast to `batchShape`.
 */
export type MatmulLayout = 'NN' | 'NT' | 'TN' | 'TT';
export const matmulLayout = (transA: boolean, transB: boolean): MatmulLayout => `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}` as MatmulLayout;

/** Whether matmul_vec4 can run: every dim it reads as vec4 must be a multiple of 4 (see the shader). */
export function vec4Fits(layout: MatmulLayout, M: number, N: number, K: number): boolean {
  if (layout === 'NT') return K % 4 === 0;
  if (layout === 'NN') return K % 4 === 0 && N % 4 === 0;
  if (layout === 'TN') return M % 4 === 0 && N % 4 === 0;
  return false;
}

/** What tune() picked per backend and layout: the workgroup shape (default 8x8: a 32x32 tile), and whether
 * matmul_vec4's k loop runs unrolled by four (UNROLL_K; only TN has one). */
const tuned = new WeakMap<object, Map<MatmulLayout, { wg: [number, number]; unrollK: boolean }>>();

export function matmulWorkgroup(be: object, layout: MatmulLayout): [number, number] {
  return tuned.get(be)?.get(layout)?.wg ?? [8, 8];
}

export function matmulUnrollK(be: object, layout: MatmulLayout): boolean {
  return tuned.get(be)?.get(layout)?.unrollK ?? false;
}

export function setMatmulWorkgroup(be: object, layout: MatmulLayout, wg: [number, number], unrollK = false): void {
  let m = tuned.get(be);
  if (!m) { m = new Map(); tuned.set(be, m); }
  m.set(layout, { wg, unrollK });
}

export interface MatmulEpilogue { bias?: Tensor | null; act?: 'none' | 'relu' | 'leakyRelu'; slope?: number }

type MatmulShader = 'matmul' | 'matmul_vec4' | 'matmul_f16';

/**
 * A linear layer's bias and activation as the matmul kernel's store epilogue, the site compileStep's fusion
 * pass rewrites: `fn store(i, v)` applies the pointwise rows `add` and `relu` / `leakyRelu` and hands the
 * result to `fn store_out(i, v)`, the plain store, which a later fused epilogue may still take. The bias is
 * bound after the kernel's own bindings (3); leaky relu's slope is read from Params, so one pipeline serves
 * every slope, as an eager pointwise launch does. Null when there is nothing to apply.
 */
function matmulEpilogue(shader: MatmulShader, epi: MatmulEpilogue): string | null {
  const act = epi.act ?? 'none';
  if (!epi.bias && act === 'none') return null;
  const lines: string[] = [];
  let y = 'v';
  if (epi.bias) {
    lines.push('let bias_i = epi_bias[i % p.N];', `let y0 = ${renameOperands(pointwiseTable.add.wgsl, { a: y, b: 'bias_i' })};`);
    y = 'y0';
  }
  if (act !== 'none') {
    const row = pointwiseTable[act];
    lines.push(`let y1 = ${renameOperands(bindScalars(row.wgsl, row.scalars ?? [], ['p.slope']), { a: y })};`);
    y = 'y1';
  }
  const plain = 'fn store(i: u32, v: f32) { out[i] = v; }';
  const src: string = wgslSources[shader];
  if (!src.includes(plain)) throw new Error(`matmul epilogue: ${shader} has no plain ${plain}`);
  return src.replace(plain, () => [
    'fn store(i: u32, v: f32) {', ...lines.map((l) => `  ${l}`), `  store_out(i, ${y});`, '}',
    'fn store_out(i: u32, v: f32) { out[i] = v; }',
    ...(epi.bias ? ['@group(0) @binding(3) var<storage, read> epi_bias: array<f32>;'] : []),
  ].join('\n'));
}

/** Dispatches a matmul kernel, through its generated epilogue when `epi` asks for one. */
function dispatchMatmul(shader: MatmulShader, constants: Record<string, number>, a: GPUBuffer | Binding,
  b: GPUBuffer | Binding, out: Tensor, epi: MatmulEpilogue, params: ArrayBuffer, wg: [number, number, number],
  rowSum?: StoreWork['rowSum']): void {
  const be = backend();
  const work: StoreWork = { store: shader, out: 2, numel: out.numel, rowSum };
  const src = matmulEpilogue(shader, epi);
  if (!src) {
    be.dispatch(shader, constants, [a, b, bind(out)], params, wg, work);
    return;
  }
  const buffers = [a, b, bind(out), ...(epi.bias ? [bind(epi.bias)] : [])];
  be.dispatchSource(`${shader}+linear`, src, buffers, params, wg, { ...work, wgsl: src, fn: 'store_out' } satisfies StoreWork, constants);
}

/** Params of the matmul kernels (lib/matmul_tile.wgsl). */
function matmulParams(M: number, N: number, K: number, batchShape: readonly number[], aStrides: readonly number[],
  bStrides: readonly number[], slope: number): ArrayBuffer {
  return new ParamWriter().u32(M, N, K, batchShape.length)
    .u32Array(batchShape, 4).u32Array(aStrides, 4).u32Array(bStrides, 4).f32(slope).bytes();
}

export function matmul(a: Tensor, b: Tensor, M: number, N: number, K: number, batchShape: readonly number[],
  transA: boolean, transB: boolean, epi: MatmulEpilogue = {}): Tensor {
  const be = backend();
  const out = Tensor.empty([...batchShape, M, N]);
  const batch = batchShape.reduce((x, y) => x * y, 1);
  const bStrides = (t: Tensor) => {
    const lead = t.shape.slice(0, -2);
    const strides = broadcastStrides(lead, batchShape).map((s) => s * t.shape[t.ndim - 2] * t.shape[t.ndim - 1]);
    return strides;
  };
  const p = matmulParams(M, N, K, batchShape, bStrides(a), bStrides(b), epi.slope ?? 0);
  const constants = { TRANS_A: transA ? 1 : 0, TRANS_B: transB ? 1 : 0 };
  const layout = matmulLayout(transA, transB);
  const rowSum = transA && !transB && batch === 1 ? { a: 0, K, M } : undefined;
  if (vec4Fits(layout, M, N, K) && a.byteOffset % 16 === 0 && b.byteOffset % 16 === 0) {
    const [wgx, wgy] = matmulWorkgroup(be, layout);
    const unroll: Record<string, number> = matmulUnrollK(be, layout) ? { UNROLL_K: 1 } : {};
    dispatchMatmul('matmul_vec4', { ...constants, WGX: wgx, WGY: wgy, ...unroll }, bind(a), bind(b), out, epi, p,
      [Math.ceil(N / (4 * wgx)), Math.ceil(M / (4 * wgy)), batch], rowSum);
  } else {
    dispatchMatmul('matmul', constants, bind(a), bind(b), out, epi, p, [Math.ceil(N / 32), Math.ceil(M / 32), batch], rowSum);
  }
  return out;
}

export interface ConvGeom {
  N: number; Cx: number; H: number; W: number; Cy: number; OH: number; OW: number; groups: number;
  kH: number; kW: number; sH: number; sW: number; pH: number; pW: number; dH: number; dW: number;
}

function convParams(g: ConvGeom): ArrayBuffer {
  return new ParamWriter().u32(g.N, g.Cx, g.H, g.W, g.Cy, g.OH, g.OW, g.groups, g.kH, g.kW, g.sH, g.sW,
    g.pH, g.pW, g.dH, g.dW).bytes();
}

/** Channel block of the conv kernels: 4, or 1 when a block of 4 channels could straddle two groups. */
function channelBlock(g: ConvGeom, perGroup: number): 1 | 4 {
  return g.groups === 1 || perGroup % 4 === 0 ? 4 : 1;
}

/** conv2d forward: x [N, Cx, H, W], w [Cy, Cx/g, kH, kW] -> [N, Cy, OH, OW]. */
export function conv2d(x: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeom): Tensor {
  const be = backend();
  const out = Tensor.empty([g.N, g.Cy, g.OH, g.OW]);
  const cb = channelBlock(g, g.Cy / g.groups);
  const threads = g.N * Math.ceil(g.Cy / cb) * g.OH * Math.ceil(g.OW / 4);
  be.dispatch('conv2d', { HAS_BIAS: bias ? 1 : 0, CB: cb }, [bind(x), bind(w), bias ? bind(bias) : dummyBuffer(), bind(out)],
    convParams(g), be.grid(threads, 64), { store: 'conv2d', out: 3, numel: out.numel } satisfies StoreWork);
  return out;
}

/** conv2d's input gradient = convTranspose2d forward: dy [N, Cy, OH, OW] -> [N, Cx, H, W]. */
export function conv2dBackwardInput(dy: Tensor, w: Tensor, bias: Tensor | null, g: ConvGeom): Tensor {
  const be = backend();
  const out = Tensor.empty([g.N, g.Cx, g.H, g.W]);
  const cb = channelBlock(g, g.Cx / g.groups);
  const threads = Math.ceil(g.N / 4) * Math.ceil(g.Cx / cb) * g.H * g.W;
  be.dispatch('conv2d_backward_input', { HAS_BIAS: bias ? 1 : 0, CB: cb },
    [bind(dy), bind(w), bias ? bind(bias) : dummyBuffer(), bind(out)], convParams(g), be.grid(threads, 64),
    { store: 'conv2d_backward_input', out: 3, numel: out.numel } satisfies StoreWork);
  return out;
}

/** conv2d's weight gradient: x [N, Cx, H, W], dy [N, Cy, OH, OW] -> [Cy, Cx/g, kH, kW]. */
export function conv2dBackwardWeight(x: Tensor, dy: Tensor, g: ConvGeom): Tensor {
  const be = backend();
  const out = Tensor.empty([g.Cy, g.Cx / g.groups, g.kH, g.kW]);
  const cb = channelBlock(g, g.Cy / g.groups);
  const threads = Math.ceil(g.Cy / cb) * Math.ceil(g.Cx / g.groups / 4) * g.kH * g.kW;
  be.dispatch('conv2d_backward_weight', { CB: cb }, [bind(x), bind(dy), bind(out)], convParams(g), be.grid(threads, 64),
    { store: 'conv2d_backward_weight', out: 2, numel: out.numel } satisfies StoreWork);
  return out;
}

export interface BnGeom { N: number; C: number; S: number; eps: number }

/**
 * Training-mode batch norm in one dispatch (one workgroup per channel): y = (x - mean) * invstd * w + b with
 * the batch's mean and invstd (returned, saved for the backward), updating `running` as PyTorch does.
 */
export function batchNormTrain(x: Tensor, w: Tensor | null, b: Tensor | null, g: BnGeom,
  running: { mean: Tensor; var: Tensor; momentum: number } | null): { out: Tensor; mean: Tensor; invstd: Tensor } {
  const be = backend();
  const out = Tensor.empty(x.shape);
  const mean = Tensor.empty([g.C]);
  const invstd = Tensor.empty([g.C]);
  const p = new ParamWriter().u32(g.N, g.C, g.S, 0).f32(g.eps, running?.momentum ?? 0).u32(0, 0);
  be.dispatch('batch_norm_train', { UPDATE_RUNNING: running ? 1 : 0, AFFINE: w ? 1 : 0, WG: bnThreads(g) },
    [bind(x), w ? bind(w) : dummyBuffer(), b ? bind(b) : dummyBuffer(1), bind(out), bind(mean), bind(invstd),
      running ? bind(running.mean) : dummyBuffer(2), running ? bind(running.var) : dummyBuffer(3)],
    p.bytes(), be.grid(g.C, 1), { store: 'batch_norm_train', out: 3, numel: out.numel } satisfies StoreWork);
  if (running) { running.mean.hostData = null; running.var.hostData = null; }
  return { out, mean, invstd };
}

/**
 * Threads per channel of the one-workgroup-per-channel batch norm kernels. Software adapters: 16. Measured
 * on DCGAN's shapes (512 to 8192 elements a channel): SwiftShader ran them 2-3x slower with 64 to 256 threads
 * than with 4 to 16 (a workgroup's invocations meet at every barrier), lavapipe alike with 16 to 256. GPUs:
 * about 16 elements a thread, from 64 to 256 threads (not measured here).
 */
function bnThreads(g: BnGeom): number {
  if (backend().adapter.isFallbackAdapter) return 16;
  const m = g.N * g.S;
  return m >= 4096 ? 256 : m >= 2048 ? 128 : 64;
}

function bnParams(g: BnGeom): ArrayBuffer {
  return new ParamWriter().u32(g.N, g.C, g.S, 0).f32(g.eps).u32(0, 0, 0).bytes();
}

/** Eval-mode batch norm: y = (x - mean) / sqrt(var + eps) * w + b with the running statistics. */
export function batchNormApply(x: Tensor, mean: Tensor, runningVar: Tensor, w: Tensor | null, b: Tensor | null,
  g: BnGeom): Tensor {
  const be = backend();
  const out = Tensor.empty(x.shape);
  be.dispatch('batch_norm_apply', { AFFINE: w ? 1 : 0 },
    [bind(x), bind(mean), bind(runningVar), w ? bind(w) : dummyBuffer(), b ? bind(b) : dummyBuffer(1), bind(out)],
    bnParams(g), be.grid(out.numel, 256), { store: 'batch_norm_apply', out: 5, numel: out.numel } satisfies StoreWork);
  return out;
}

/**
 * Batch norm's input, weight and bias gradients in one dispatch (one workgroup per channel). `stat` is
 * invstd, or the running variance when fromVar (eval mode).
 */
export function batchNormBackward(x: Tensor, dy: Tensor, mean: Tensor, stat: Tensor, w: Tensor | null, g: BnGeom,
  training: boolean, fromVar: boolean): { dx: Tensor; dw: Tensor; db: Tensor } {
  const be = backend();
  const dx = Tensor.empty(x.shape);
  const dw = Tensor.empty([g.C]);
  const db = Tensor.empty([g.C]);
  be.dispatch('batch_norm_backward', { TRAINING: training ? 1 : 0, FROM_VAR: fromVar ? 1 : 0, AFFINE: w ? 1 : 0, WG: bnThreads(g) },
    [bind(x), bind(dy), bind(mean), bind(stat), w ? bind(w) : dummyBuffer(), bind(dx), bind(dw), bind(db)],
    bnParams(g), be.grid(g.C, 1), {
      store: 'batch_norm_backward', out: 5, numel: dx.numel,
      more: [{ fn: 'store_dw', out: 6, numel: g.C }, { fn: 'store_db', out: 7, numel: g.C }],
    } satisfies StoreWork);
  return { dx, dw, db };
}

/** start + i*step in every element (step 0: a constant). */
export function fill(shape: readonly number[], dtype: DType, start: number, step = 0): Tensor {
  const be = backend();
  const out = Tensor.empty(shape, dtype);
  const n = out.numel;
  be.dispatch('fill', { INT: dtype === 'int32' ? 1 : 0 }, [bind(out)], new ParamWriter().u32(n).f32(start, step).bytes(),
    be.grid(n, 256));
  return out;
}

export function cast(x: Tensor, to: DType): Tensor {
  const be = backend();
  const out = Tensor.empty(x.shape, to);
  be.dispatch('cast', { TO_INT: to === 'int32' ? 1 : 0 }, [bind(x), bind(out)], new ParamWriter().u32(x.numel).bytes(),
    be.grid(x.numel, 256));
  return out;
}

/** The device-side assert of an op whose int32 labels must lie in [0, bound). */
function labelAssert(op: string): number {
  return backend().asserts.code(`${op}.label`, (r) => `${op}: label ${r.int} at index ${r.index} is outside [0, ${r.bound})`);
}

export function oneHot(labels: Tensor, C: number): Tensor {
  const be = backend();
  const out = Tensor.empty([...labels.shape, C]);
  const code = labelAssert('oneHot');
  be.dispatch('one_hot', {}, [bind(labels), bind(out), be.asserts.buffer], new ParamWriter().u32(labels.numel, C, code).bytes(),
    be.grid(out.numel, 256));
  return out;
}

export function random(shape: readonly number[], normal: boolean, a: number, b: number): Tensor {
  const be = backend();
  const out = Tensor.empty(shape);
  const n = out.numel;
  // The counter advances when the params are made, so a captured step's replays draw fresh numbers.
  const w = new ParamWriter();
  const params = () => {
    const p = w.reset().u32(n, rng.seedLo, rng.seedHi, rng.offset).f32(a, b).u32(0, 0);
    rng.offset = (rng.offset + n) >>> 0;
    return p.bytes();
  };
  be.dispatch('random', { NORMAL: normal ? 1 : 0 }, [bind(out)], params, be.grid(n, 256));
  return out;
}

export interface AdamHyper { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number; step: number }

/** Adam's scalar params (lr, betas, eps, weight decay and the step's bias corrections) after `w`'s header. */
function adamScalars(w: ParamWriter, c: AdamHyper): ArrayBuffer {
  const bc1 = 1 - c.beta1 ** c.step;
  const bc2 = 1 - c.beta2 ** c.step;
  return w.f32(c.lr, c.beta1, c.beta2, c.eps, c.weightDecay, bc1, Math.sqrt(bc2)).u32(0).bytes();
}

/** `h` is read when the params are made, so a captured step's replays see the current lr and step count. */
export function adamStep(param: Tensor, grad: Tensor, m: Tensor, v: Tensor, h: () => AdamHyper): void {
  const be = backend();
  const n = param.numel;
  const w = new ParamWriter();
  const params = () => adamScalars(w.reset().u32(n, 0, 0, 0), h());
  be.dispatch('adam', {}, [bind(grad), bind(param), bind(m), bind(v)], params, be.grid(n, 256));
  param.hostData = null;
}

/** Parameters adamMulti updates per dispatch (10 storage bindings: four (grad, param) pairs and m, v). */
export const ADAM_MULTI_SLOTS = 4;

/** Whether the device allows adam_multi's 10 storage bindings. */
export function adamMultiFits(): boolean {
  return backend().limits.maxStorageBuffersPerShaderStage >= 2 * ADAM_MULTI_SLOTS + 2;
}

/**
 * One Adam step for up to four parameters in one dispatch; their moments live in the flat `m`, `v` at
 * element offsets `offs`. Same arithmetic as adamStep.
 */
export function adamMulti(params: Tensor[], grads: Tensor[], m: Tensor, v: Tensor, offs: number[], h: () => AdamHyper): void {
  const be = backend();
  const k = params.length;
  if (k < 1 || k > ADAM_MULTI_SLOTS) throw new Error(`adamMulti: takes 1 to ${ADAM_MULTI_SLOTS} parameters, got ${k}`);
  const ends: number[] = [];
  for (let j = 0; j < ADAM_MULTI_SLOTS; j++) ends.push((ends[j - 1] ?? 0) + (j < k ? params[j].numel : 0));
  const buffers = [];
  for (let j = 0; j < ADAM_MULTI_SLOTS; j++) {
    // Unused slots (no thread reads or writes them): the first gradient again (read-only, so grouping counts
    // no extra binding for it) and a distinct writable placeholder (writable bindings must not alias).
    buffers.push(bind(j < k ? grads[j] : grads[0]), j < k ? bind(params[j]) : dummyBuffer(1 + j));
  }
  buffers.push(bind(m), bind(v));
  // The slot header is fixed; only the scalars change between replays (one writer, refilled).
  const head = [...ends, ...offs, ...Array<number>(ADAM_MULTI_SLOTS - k).fill(0)];
  const w = new ParamWriter();
  const params_ = () => adamScalars(w.reset().u32Array(head, head.length), h());
  // Bytes the dispatch touches per binding: the moments only at these parameters' offsets, so compileStep's
  // grouping sees two optimizers' steps (disjoint ranges of the shared moment buffers) as independent.
  const lo = Math.min(...offs) * 4;
  const hi = Math.max(...offs.map((o, j) => o + params[j].numel)) * 4;
  const whole = (t: Tensor): [number, number] => [t.byteOffset, t.byteOffset + t.numel * 4];
  const touched: ([number, number] | null)[] = [];
  for (let j = 0; j < ADAM_MULTI_SLOTS; j++) touched.push(j < k ? whole(grads[j]) : null, j < k ? whole(params[j]) : null);
  touched.push([m.byteOffset + lo, m.byteOffset + hi], [v.byteOffset + lo, v.byteOffset + hi]);
  be.dispatch('adam_multi', {}, buffers, params_, be.grid(ends[ADAM_MULTI_SLOTS - 1], 256), { touched });
  for (const q of params) q.hostData = null;
}

export interface SgdHyper { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean; first: boolean }

export function sgdStep(param: Tensor, grad: Tensor, buf: Tensor | null, h: () => SgdHyper): void {
  const be = backend();
  const n = param.numel;
  const w = new ParamWriter();
  const params = () => {
    const c = h();
    return w.reset().u32(n, c.first ? 1 : 0, c.nesterov ? 1 : 0, 0).f32(c.lr, c.momentum, c.dampening, c.weightDecay).bytes();
  };
  be.dispatch('sgd', {}, [bind(grad), bind(param), buf ? bind(buf) : dummyBuffer()], params, be.grid(n, 256));
  param.hostData = null;
}

/** dst = dst * decay + src * (1 - decay), in place; `decay` is read when the params are made (EMA warm-up). */
export function lerpInto(dst: Tensor, src: Tensor, decay: () => number): void {
  const be = backend();
  const n = dst.numel;
  const w = new ParamWriter();
  const params = () => { const d = decay(); return w.reset().u32(n).f32(d, 1 - d).bytes(); };
  be.dispatch('lerp', {}, [bind(src), bind(dst)], params, be.grid(n, 256));
  dst.hostData = null;
}

/** Copies src's data into dst (same numel) in the command stream. */
export function copyInto(dst: Tensor, src: Tensor): void {
  backend().copy(src.buffer, src.byteOffset, dst.buffer, dst.byteOffset, src.numel * 4);
  dst.hostData = null;
}

export type LossReduction = 'none' | 'sum' | 'mean';
const REDUCTION = { none: 0, sum: 1, mean: 2 } as const;
/** One workgroup of 64 threads for a reduced loss; a single thread where the work is tiny (no barrier cost). */
const lossWg = (work: number) => (work <= 4096 ? 1 : 64);

export function crossEntropy(x: Tensor, labels: Tensor, reduction: LossReduction): Tensor {
  const be = backend();
  const [N, C] = x.shape;
  const out = Tensor.empty(reduction === 'none' ? [N] : []);
  const wg = reduction === 'none' ? 64 : lossWg(N * C);
  const code = labelAssert('crossEntropy');
  be.dispatch('cross_entropy', { REDUCE: REDUCTION[reduction], WG: wg }, [bind(x), bind(labels), bind(out), be.asserts.buffer],
    new ParamWriter().u32(N, C, code).bytes(), reduction === 'none' ? be.grid(N, wg) : [1],
    { store: 'cross_entropy', out: 2, numel: out.numel } satisfies StoreWork);
  return out;
}

export function crossEntropyBackward(x: Tensor, labels: Tensor, g: Tensor, reduction: LossReduction): Tensor {
  const be = backend();
  const [N, C] = x.shape;
  const out = Tensor.empty(x.shape);
  be.dispatch('cross_entropy_backward', { REDUCE: REDUCTION[reduction] }, [bind(x), bind(labels), bind(g), bind(out)],
    new ParamWriter().u32(N, C).bytes(), be.grid(N, 64));
  return out;
}

export function binaryCrossEntropy(p: Tensor, t: Tensor, reduction: LossReduction): Tensor {
  const be = backend();
  const n = p.numel;
  const out = Tensor.empty(reduction === 'none' ? p.shape : []);
  const wg = reduction === 'none' ? 64 : lossWg(n);
  const code = be.asserts.code('binaryCrossEntropy.range', (r) => `binaryCrossEntropy: all elements of input should be ` +
    `between 0 and 1, got ${r.float} at index ${r.index} (apply sigmoid first, or use binaryCrossEntropyWithLogits on logits)`);
  be.dispatch('binary_cross_entropy', { REDUCE: REDUCTION[reduction], WG: wg }, [bind(p), bind(t), bind(out), be.asserts.buffer],
    new ParamWriter().u32(n, code).bytes(), reduction === 'none' ? be.grid(n, wg) : [1],
    { store: 'binary_cross_entropy', out: 2, numel: out.numel } satisfies StoreWork);
  return out;
}

/** Gradients of binaryCrossEntropy for p and (when wantTarget) for t. */
export function binaryCrossEntropyBackward(p: Tensor, t: Tensor, g: Tensor, reduction: LossReduction,
  wantTarget: boolean): [Tensor, Tensor | null] {
  const be = backend();
  const n = p.numel;
  const dp = Tensor.empty(p.shape);
  const dt = wantTarget ? Tensor.empty(t.shape) : null;
  be.dispatch('binary_cross_entropy_backward', { REDUCE: REDUCTION[reduction], WANT_DT: wantTarget ? 1 : 0 },
    [bind(p), bind(t), bind(g), bind(dp), dt ? bind(dt) : dummyBuffer(1)], new ParamWriter().u32(n).bytes(), be.grid(n, 256),
    { store: 'binary_cross_entropy_backward', out: 3, numel: n } satisfies StoreWork);
  return [dp, dt];
}

/** f32 -> f16 storage (n halves in a scratch tensor of ceil(n / 2) words); needs shader-f16. */
function toF16(x: Tensor): Tensor {
  const be = backend();
  const n = x.numel;
  const out = Tensor.empty([Math.max(2, Math.ceil(n / 4) * 2)]);
  be.dispatch('to_f16', {}, [bind(x), bind(out)], new ParamWriter().u32(n).bytes(), be.grid(n, 256));
  return out;
}

/**
 * out = a @ b^T (+ bias, activation) with a [M, K] and b [N, K] rounded to f16 and products summed in f32
 * (K a multiple of 4; the device needs shader-f16).
 */
export function matmulF16(a: Tensor, b: Tensor, M: number, N: number, K: number, epi: MatmulEpilogue = {}): Tensor {
  const a16 = toF16(a);
  const b16 = toF16(b);
  const out = Tensor.empty([M, N]);
  dispatchMatmul('matmul_f16', {}, bind(a16), bind(b16), out, epi, matmulParams(M, N, K, [], [], [], epi.slope ?? 0),
    [Math.ceil(N / 32), Math.ceil(M / 32), 1]);
  a16.dispose();
  b16.dispose();
  return out;
}
