// In-place writes users make to tensors (fill_, zero_, normal_, uniform_, copy_), with PyTorch's rule: a leaf
// that requires grad may be written only under noGrad, since autograd cannot see the write.
import { isGradEnabled, noGrad } from '../autograd/context.js';
import { Tensor } from '../autograd/tensor.js';
import * as K from './kernels.js';
import { cast, clone, expand, full, rand, randn, reshape } from './functional.js';
import { fmt } from './shape.js';

/** Throws where an in-place write would make a gradient silently wrong. */
export function checkInPlace(op: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new Error(`${op}: expected a Tensor, got ${String(t)}`);
  void t.storage; // a clear error if disposed
  if (!isGradEnabled()) return;
  if (t.requiresGrad && t.isLeaf) {
    throw new Error(`${op}: a leaf Variable that requires grad is being used in an in-place operation ` +
      `(tensor #${t.id}, shape ${fmt(t.shape)}). Wrap the write in noGrad(() => ...) or write to t.data.`);
  }
  if (t.requiresGrad) {
    throw new Error(`${op}: tensor #${t.id} (shape ${fmt(t.shape)}) is the output of an op in a live autograd ` +
      'graph; Kiln does not record in-place ops in the graph. Use the out-of-place op instead.');
  }
  if (t.savedBy > 0) {
    throw new Error(`${op}: tensor #${t.id} (shape ${fmt(t.shape)}) is saved for a backward that has not run yet; ` +
      'writing it in place would make those gradients wrong (PyTorch raises at backward: "one of the variables ' +
      'needed for gradient computation has been modified by an inplace operation")');
  }
}

function assign(op: string, t: Tensor, make: () => Tensor): Tensor {
  checkInPlace(op, t);
  noGrad(() => { const v = make(); K.copyInto(t, v); v.dispose(); });
  return t;
}

function finite(op: string, name: string, v: number): void {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${op}: ${name} must be a finite number, got ${String(v)}`);
}

function floatOnly(op: string, t: Tensor): void {
  if (t.dtype !== 'float32') throw new Error(`${op}: expected a float32 tensor, got ${t.dtype}`);
}

export function fill_(t: Tensor, value: number): Tensor {
  if (typeof value !== 'number') throw new Error(`fill_: value must be a number, got ${String(value)}`);
  return assign('fill_', t, () => full(t.shape, value, { dtype: t.dtype }));
}

export const zero_ = (t: Tensor): Tensor => assign('zero_', t, () => full(t.shape, 0, { dtype: t.dtype }));

export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  finite('normal_', 'mean', mean); finite('normal_', 'std', std);
  if (std < 0) throw new Error(`normal_: std must be >= 0, got ${std}`);
  floatOnly('normal_', t);
  return assign('normal_', t, () => randn(t.shape, { mean, std }));
}

export function uniform_(t: Tensor, low = 0, high = 1): Tensor {
  finite('uniform_', 'from', low); finite('uniform_', 'to', high);
  if (low > high) throw new Error(`uniform_: expects from <= to, got from=${low} to=${high}`);
  floatOnly('uniform_', t);
  return assign('uniform_', t, () => rand(t.shape, { low, high }));
}

/** Copies `src` into `t`, broadcasting src to t's shape and converting its dtype, as torch's copy_. */
export function copy_(t: Tensor, src: Tensor): Tensor {
  if (!(src instanceof Tensor)) throw new Error(`copy_: source must be a Tensor, got ${String(src)}`);
  void src.storage;
  checkInPlace('copy_', t);
  if (src === t) return t;
  const same = src.shape.length === t.shape.length && src.shape.every((d, i) => d === t.shape[i]);
  if (same && src.dtype === t.dtype) { K.copyInto(t, src); return t; }
  if (src.shape.length > t.shape.length || src.shape.some((d, i) => d !== 1 && d !== t.shape[t.shape.length - src.shape.length + i])) {
    throw new Error(`copy_: source shape ${fmt(src.shape)} does not broadcast to the destination shape ${fmt(t.shape)}`);
  }
  return assign('copy_', t, () => {
    let b = clone(src);
    const swap = (next: Tensor) => { if (next !== b) { b.dispose(); b = next; } };
    if (!same) {
      swap(reshape(b, [...Array(t.shape.length - src.shape.length).fill(1), ...src.shape]));
      swap(expand(b, t.shape));
    }
    if (b.dtype !== t.dtype) swap(cast(b, t.dtype));
    return b;
  });
}
