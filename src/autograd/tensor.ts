// The core Tensor: GPU storage (reference counted, shared by views), shape, dtype and its place in the
// autodiff graph. User-facing methods are added by src/tensor.ts; ops live in src/ops.
import { Storage } from '../backend/storage.js';
import { backend } from './context.js';

export { Storage };

export type DType = 'float32' | 'int32';

/** GPUBufferUsage.STORAGE (the global is absent in Node before Dawn loads). */
const GPUBufferUsage_STORAGE = 0x80;

/** Frees storage of tensors the program dropped without dispose(): a safety net, not the main mechanism. */
const finalizer = new FinalizationRegistry<{ storage: Storage; bytes: number }>(({ storage, bytes }) => {
  storage.backend.liveTensors--;
  storage.backend.tensorBytes -= bytes;
  storage.release();
});

/** A recorded op: how to route the output gradient back to `inputs`. */
export interface GraphNode {
  op: string;
  /** The op's inputs in order; absent optional inputs (a conv without bias) are undefined. */
  inputs: (Tensor | undefined)[];
  /** Tensors whose data backward() reads; released as soon as this node has run. */
  saved: Tensor[];
  backward: (grad: Tensor) => (Tensor | null)[];
}

let nextId = 1;
const scopes: Set<Tensor>[] = [];

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  requiresGrad: boolean;
  /** Accumulated gradient (leaves only), as in PyTorch. */
  grad: Tensor | null = null;
  /** The op that produced this tensor, while the graph is alive. */
  node: GraphNode | null = null;
  /** Host copy of the values this tensor was created from (small uploads only), for host-side checks. */
  hostData: Float32Array | Int32Array | null = null;
  /** Set for intermediates of a composite op: disposed once no graph node needs them. */
  graphOwned = false;
  /** How many graph nodes hold this tensor in `saved`. */
  savedBy = 0;
  /** Set after backward() consumed this tensor's graph. */
  graphFreed = false;
  private _storage: Storage | null;
  private scope: Set<Tensor> | null = null;

  constructor(storage: Storage, shape: readonly number[], dtype: DType, requiresGrad = false) {
    this._storage = storage;
    this.shape = Object.freeze([...shape]);
    this.dtype = dtype;
    this.requiresGrad = requiresGrad;
    const b = storage.backend;
    b.liveTensors++;
    b.tensorBytes += this.numel * 4;
    finalizer.register(this, { storage, bytes: this.numel * 4 }, this);
    const top = scopes[scopes.length - 1];
    if (top) { top.add(this); this.scope = top; }
  }

  /** A new tensor on fresh pooled storage (contents undefined until a kernel writes them). */
  static empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
    const b = backend();
    return new Tensor(new Storage(b, b.acquire(shapeSize(shape) * 4)), shape, dtype);
  }

  /**
   * Wraps a GPUBuffer the app owns as a tensor, without a copy. The buffer must come from Kiln's device
   * (`init({ device })`), have STORAGE usage (COPY_SRC to read it back, COPY_DST to copy_() into it), and
   * hold `shape`'s elements from `offset` (a multiple of the device's minStorageBufferOffsetAlignment).
   * Lifetime: the app keeps owning the buffer; dispose() only drops Kiln's reference, and the app must not
   * destroy the buffer while Kiln work that uses it may still be pending (call sync() first). The app's own
   * queue writes are seen by Kiln work recorded afterwards.
   */
  static fromGPUBuffer(buffer: GPUBuffer, shape: readonly number[], opts: { dtype?: DType; offset?: number } = {}): Tensor {
    const b = backend();
    const dtype = opts.dtype ?? 'float32';
    const offset = opts.offset ?? 0;
    const what = 'Tensor.fromGPUBuffer';
    if (!buffer || typeof (buffer as GPUBuffer).usage !== 'number') throw new Error(`${what}: expected a GPUBuffer, got ${String(buffer)}`);
    if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`${what}: dtype must be float32 or int32, got ${String(dtype)}`);
    if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new Error(`${what}: shape must be non-negative integers, got [${String(shape)}]`);
    }
    if (!(buffer.usage & GPUBufferUsage_STORAGE)) {
      throw new Error(`${what}: the buffer's usage (0x${buffer.usage.toString(16)}) lacks STORAGE (0x80), which every Kiln kernel needs`);
    }
    const align = b.limits.minStorageBufferOffsetAlignment;
    if (!Number.isInteger(offset) || offset < 0 || offset % align !== 0) {
      throw new Error(`${what}: offset ${offset} must be a non-negative multiple of minStorageBufferOffsetAlignment (${align})`);
    }
    const bytes = shapeSize(shape) * 4;
    if (offset + bytes > buffer.size) {
      throw new Error(`${what}: shape [${shape.join(', ')}] needs ${bytes} bytes from offset ${offset}, but the buffer holds ${buffer.size}`);
    }
    return new Tensor(new Storage(b, { buffer, size: buffer.size }, offset, true), shape, dtype);
  }

  /**
   * This tensor's storage, for the app's own passes: the buffer, the byte offset and size of this tensor's
   * elements (row-major, 4 bytes each). Kiln submits its recorded work first, so an app submission made after
   * this call sees the values. Valid until dispose(): then Kiln may reuse the buffer for other tensors.
   */
  gpuBuffer(): { buffer: GPUBuffer; offset: number; size: number } {
    const s = this.storage;
    s.backend.flush();
    return { buffer: s.buf.buffer, offset: s.byteOffset, size: this.numel * 4 };
  }

  get storage(): Storage {
    const s = this._storage;
    if (!s) {
      throw new Error(`kiln: tensor #${this.id} (shape [${this.shape.join(', ')}]) was used after dispose()`);
    }
    // A device Kiln closed, left or lost: a clear error naming the tensor instead of GPU validation errors.
    if (s.backend.state !== 'ready') s.backend.checkStorage(`tensor #${this.id} (shape [${this.shape.join(', ')}], ${this.dtype})`);
    return s;
  }

  get buffer(): GPUBuffer { return this.storage.buf.buffer; }
  get byteOffset(): number { return this.storage.byteOffset; }
  get numel(): number { return shapeSize(this.shape); }
  get ndim(): number { return this.shape.length; }
  get isLeaf(): boolean { return this.node === null; }
  get isDisposed(): boolean { return this._storage === null; }

  /** Frees the GPU storage now (and this tensor's .grad). Using the tensor afterwards is an error. */
  dispose(): void {
    if (!this._storage) return;
    const s = this._storage;
    this._storage = null;
    finalizer.unregister(this);
    s.backend.liveTensors--;
    s.backend.tensorBytes -= this.numel * 4;
    s.release();
    this.hostData = null;
    if (this.scope) { this.scope.delete(this); this.scope = null; }
    if (this.grad) { this.grad.dispose(); this.grad = null; }
  }

  /** Exempts this tensor from the enclosing tidy() scopes (parameters, optimizer state, grads). */
  keep(): this {
    if (this.scope) { this.scope.delete(this); this.scope = null; }
    return this;
  }

  /** @internal whether the tensor belongs to the innermost tidy() scope: made inside it and not kept. */
  get _inInnermostScope(): boolean { return this.scope !== null && this.scope === scopes[scopes.length - 1]; }

  /** @internal moves the tensor into the given scope (tidy's return values go to the parent scope). */
  _moveTo(scope: Set<Tensor> | null): void {
    if (this.scope) this.scope.delete(this);
    this.scope = scope;
    scope?.add(this);
  }
}

function collect(value: unknown, out: Set<Tensor>, seen = new Set<unknown>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (value instanceof Tensor) { out.add(value); return; }
  if (Array.isArray(value)) { value.forEach((v) => collect(v, out, seen)); return; }
  if (value instanceof Map) { value.forEach((v) => collect(v, out, seen)); return; }
  if (Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach((v) => collect(v, out, seen));
}

/**
 * Runs `fn` and disposes every tensor it created except those it returns (in a Tensor, array, Map or plain
 * object) and those marked with keep(). Like tf.tidy; `fn` must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('kiln: tidy(fn) takes a synchronous function');
  } catch (e) {
    // An error leaves nothing behind: what fn made so far is freed before the error propagates.
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  const keep = new Set<Tensor>();
  collect(result, keep);
  const parent = scopes[scopes.length - 1] ?? null;
  for (const t of scope) {
    if (keep.has(t)) t._moveTo(parent);
    else if (t.graphOwned && t.savedBy > 0 && reachableFrom(keep, t)) t._moveTo(parent);
    else t.dispose();
  }
  return result;
}

/** Whether `target` is saved somewhere in the graphs of `roots` (so disposing it would break backward). */
function reachableFrom(roots: Set<Tensor>, target: Tensor): boolean {
  const stack = [...roots];
  const seen = new Set<Tensor>();
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    const n = t.node;
    if (!n) continue;
    if (n.saved.includes(target)) return true;
    for (const i of n.inputs) if (i) stack.push(i);
  }
  return false;
}

/**
 * @internal runs `fn` in a scope and returns the tensors it created besides the result. When `fn` throws,
 * the tensors it created are freed before the error propagates (so a composite op that fails midway, or a
 * check that fails after some work, leaves nothing behind).
 */
export function captureScope<T>(fn: () => T): { result: T; created: Set<Tensor> } {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  return { result, created: scope };
}

/** @internal runs `fn`; if it throws, frees every tensor it created (none escape an error). */
export function freeOnThrow<T>(fn: () => T): T {
  const { result, created } = captureScope(fn);
  const parent = scopes[scopes.length - 1] ?? null;
  for (const t of created) t._moveTo(parent);
  return result;
}

/** @internal the innermost tidy scope, if any. */
export function currentScope(): Set<Tensor> | null {
  return scopes[scopes.length - 1] ?? null;
}
