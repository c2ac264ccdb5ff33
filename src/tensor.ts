// The Tensor users see: the core class from autograd with PyTorch-style methods attached, each a one-line
// call into the functional ops.
import { backend } from './autograd/context.js';
import { Tensor } from './autograd/tensor.js';
import * as F from './ops/functional.js';
import * as I from './ops/inplace.js';
import { optsArg, tensorArg } from './ops/args.js';
import { KilnGpuError } from './backend/errors.js';
import type { DType } from './autograd/tensor.js';
import type { BackwardOptions } from './autograd/graph.js';

type Operand = Tensor | number;

declare module './autograd/tensor.js' {
  interface Tensor {
    add(other: Operand): Tensor;
    sub(other: Operand): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    pow(exponent: Operand): Tensor;
    abs(): Tensor;
    sign(): Tensor;
    clamp(min?: number, max?: number): Tensor;
    maximum(other: Tensor): Tensor;
    minimum(other: Tensor): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    matmul(other: Tensor): Tensor;
    sum(dims?: number | number[], keepdim?: boolean): Tensor;
    mean(dims?: number | number[], keepdim?: boolean): Tensor;
    max(dims?: number | number[], keepdim?: boolean): Tensor;
    min(dims?: number | number[], keepdim?: boolean): Tensor;
    argmax(dim?: number, keepdim?: boolean): Tensor;
    argmin(dim?: number, keepdim?: boolean): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    view(...shape: number[] | [readonly number[]]): Tensor;
    expand(...shape: number[] | [readonly number[]]): Tensor;
    /** expand(other.shape) (PyTorch's expand_as). */
    expandAs(other: Tensor): Tensor;
    /** view(other.shape) (PyTorch's view_as). */
    viewAs(other: Tensor): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    permute(...dims: number[] | [readonly number[]]): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    unflatten(dim: number, sizes: readonly number[]): Tensor;
    relu(): Tensor;
    leakyRelu(slope?: number): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    to(dtype: DType): Tensor;
    clone(): Tensor;
    /**
     * Copies `src` into this tensor in place (broadcast to this shape, converted to this dtype). As every
     * in-place write: a leaf that requires grad only under noGrad (or through `.data`).
     */
    copy_(src: Tensor): Tensor;
    /** Sets every element to `value` in place. */
    fill_(value: number): Tensor;
    /** Sets every element to 0 in place. */
    zero_(): Tensor;
    /** Fills in place with normal(mean, std) samples from Kiln's seeded generator. */
    normal_(mean?: number, std?: number): Tensor;
    /** Fills in place with uniform samples in [from, to). */
    uniform_(from?: number, to?: number): Tensor;
    /** A view of the same storage without a graph, writable in place (PyTorch's `.data`). */
    readonly data: Tensor;
    /** The shape as a new array, or the size of one dimension (negative counts from the end). */
    size(): number[];
    size(dim: number): number;
    /** The number of dimensions (PyTorch's dim()). */
    dim(): number;
    narrow(dim: number, start: number, length: number): Tensor;
    /** A view of the same data cut from the graph. */
    detach(): Tensor;
    /** Reverses the order of elements along the given dims: x.flip(0), x.flip(0, 1) or x.flip([0, 1]). */
    flip(...dims: number[] | [readonly number[]]): Tensor;
    /** Removes size-1 dims (all, or those among `dim`); a view. */
    squeeze(dim?: number | readonly number[]): Tensor;
    /** Inserts a size-1 dim at `dim`; a view. */
    unsqueeze(dim: number): Tensor;
    /**
     * Backpropagates from this tensor into the .grad of the leaves that require grad, then frees the graph;
     * `{ retainGraph: true }` keeps it for another backward (PyTorch's retain_graph=True).
     */
    backward(grad?: Tensor | BackwardOptions, opts?: BackwardOptions): void;
    /** Sets requiresGrad on a leaf (like requires_grad_()). */
    requiresGrad_(flag?: boolean): Tensor;
    /**
     * Reads the data back: Float32Array for float32, Int32Array for int32. Submits Kiln's recorded work and
     * waits for it, unless `flush` is false: then the read rides along with the work recorded after it and
     * resolves once Kiln next submits (a later step, flush(), sync() or a flushing read) — a readback that never
     * makes the GPU wait.
     */
    toArray(opts?: { flush?: boolean }): Promise<Float32Array | Int32Array>;
    /** Reads the data back as nested arrays. */
    toNested(): Promise<unknown>;
    /** Reads a single-element tensor back as a number. */
    item(): Promise<number>;
    toString(): string;
  }
}

function dims(args: (number | readonly number[])[]): number[] {
  return args.length === 1 && Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]);
}

const P = Tensor.prototype;
P.add = function (o) { return F.add(this, o); };
P.sub = function (o) { return F.sub(this, o); };
P.mul = function (o) { return F.mul(this, o); };
P.div = function (o) { return F.div(this, o); };
P.neg = function () { return F.neg(this); };
P.exp = function () { return F.exp(this); };
P.log = function () { return F.log(this); };
P.sqrt = function () { return F.sqrt(this); };
P.pow = function (e) { return F.pow(this, e); };
P.abs = function () { return F.abs(this); };
P.sign = function () { return F.sign(this); };
P.clamp = function (lo, hi) { return F.clamp(this, lo, hi); };
P.maximum = function (o) { return F.maximum(this, o); };
P.minimum = function (o) { return F.minimum(this, o); };
P.gt = function (o) { return F.gt(this, o); };
P.ge = function (o) { return F.ge(this, o); };
P.lt = function (o) { return F.lt(this, o); };
P.le = function (o) { return F.le(this, o); };
P.eq = function (o) { return F.eq(this, o); };
P.ne = function (o) { return F.ne(this, o); };
P.matmul = function (o) { return F.matmul(this, o); };
P.sum = function (d, k) { return F.sum(this, d, k); };
P.mean = function (d, k) { return F.mean(this, d, k); };
P.max = function (d, k) { return F.max(this, d, k); };
P.min = function (d, k) { return F.min(this, d, k); };
P.argmax = function (d, k) { return F.argmax(this, d, k); };
P.argmin = function (d, k) { return F.argmin(this, d, k); };
P.softmax = function (d = -1) { return F.softmax(this, d); };
P.logSoftmax = function (d = -1) { return F.logSoftmax(this, d); };
P.reshape = function (...s) { return F.reshape(this, dims(s)); };
P.view = P.reshape;
P.expand = function (...s) { return F.expand(this, dims(s)); };
P.expandAs = function (o) { return F.expand(this, tensorArg('expandAs', 'other', o).shape); };
P.viewAs = function (o) { return F.reshape(this, tensorArg('viewAs', 'other', o).shape); };
P.transpose = function (a, b) { return F.transpose(this, a, b); };
P.permute = function (...p) { return F.permute(this, dims(p)); };
P.flatten = function (s, e) { return F.flattenDims(this, s, e); };
P.unflatten = function (d, s) { return F.unflatten(this, d, s); };
P.relu = function () { return F.relu(this); };
P.leakyRelu = function (s) { return F.leakyRelu(this, s); };
P.tanh = function () { return F.tanh(this); };
P.sigmoid = function () { return F.sigmoid(this); };
P.to = function (d) { return F.cast(this, d); };
P.clone = function () { return F.clone(this); };
P.copy_ = function (src) { return I.copy_(this, src); };
P.fill_ = function (v) { return I.fill_(this, v); };
P.zero_ = function () { return I.zero_(this); };
P.normal_ = function (m, s) { return I.normal_(this, m, s); };
P.uniform_ = function (a, b) { return I.uniform_(this, a, b); };
Object.defineProperty(P, 'data', {
  get(this: Tensor) {
    // The view shares the storage, so a host copy of the values may go stale once it is written.
    this.hostData = null;
    return F.detach(this);
  },
  set() { throw new Error('Tensor.data cannot be assigned in Kiln; write into it with t.data.copy_(src)'); },
  configurable: true,
});
P.size = function (this: Tensor, dim?: number): any {
  if (dim === undefined) return [...this.shape];
  if (!Number.isInteger(dim) || dim < -this.ndim || dim >= this.ndim) {
    throw new Error(`size: dimension out of range (expected to be in range of [${-this.ndim}, ${this.ndim - 1}], but got ${dim})`);
  }
  return this.shape[dim < 0 ? dim + this.ndim : dim];
} as Tensor['size'];
P.dim = function () { return this.ndim; };
P.narrow = function (d, s, l) { return F.narrow(this, d, s, l); };
P.detach = function () { return F.detach(this); };
P.flip = function (...d) { return F.flip(this, dims(d)); };
P.squeeze = function (d) { return F.squeeze(this, d); };
P.unsqueeze = function (d) { return F.unsqueeze(this, d); };
P.backward = function (g, o) { F.backward(this, g, o); };
P.requiresGrad_ = function (flag = true) {
  if (!this.isLeaf) throw new Error('requiresGrad_: only leaf tensors can change requiresGrad (use detach())');
  if (flag && this.dtype !== 'float32') throw new Error('requiresGrad_: only float32 tensors can require grad');
  this.requiresGrad = flag;
  return this;
};
P.toArray = function (opts = {}) {
  tensorArg('toArray', 'tensor', this);
  optsArg('toArray', opts, ['flush']);
  const b = backend();
  // Thrown here rather than from the promise, so a readback inside a captured step stops the capture.
  b.checkReadable();
  const int = this.dtype === 'int32';
  return b.read(this.buffer, this.byteOffset, this.numel * 4, opts.flush ?? true)
    .then((data) => {
      throwNewGpuErrors(b);
      return int ? new Int32Array(data) : new Float32Array(data);
    });
};

/** GPU validation errors already raised by a readback, per backend. */
const reportedGpuErrors = new WeakMap<object, number>();

/**
 * A validation error Dawn reports outside an error scope drops its whole command buffer: every result queued
 * with it is stale. The first readback after one fails with it, so it cannot pass unnoticed.
 */
function throwNewGpuErrors(b: ReturnType<typeof backend>): void {
  // A list the app cleared starts the count again.
  const seen = Math.min(reportedGpuErrors.get(b) ?? 0, b.gpuErrors.length);
  if (b.gpuErrors.length <= seen) return;
  reportedGpuErrors.set(b, b.gpuErrors.length);
  throw new KilnGpuError(`kiln: the GPU reported ${b.gpuErrors.length - seen === 1 ? 'a validation error' : `${b.gpuErrors.length - seen} validation errors`} ` +
    `since the previous readback, so the work submitted with it was discarded and this readback's values cannot be trusted: ${b.gpuErrors[seen]}`);
}
P.toNested = async function () {
  const flat = Array.from(await this.toArray());
  const build = (d: number, off: number): unknown => {
    if (d === this.ndim) return flat[off];
    const stride = this.shape.slice(d + 1).reduce((p, q) => p * q, 1);
    return Array.from({ length: this.shape[d] }, (_, i) => build(d + 1, off + i * stride));
  };
  return build(0, 0);
};
P.item = async function () {
  tensorArg('item', 'tensor', this);
  if (this.numel !== 1) throw new Error(`item: only a single-element tensor converts to a number, got shape [${this.shape.join(', ')}]`);
  return (await this.toArray())[0];
};
P.toString = function () {
  return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''}${this.isDisposed ? ', disposed' : ''})`;
};

export { Tensor };
