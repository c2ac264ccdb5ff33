// Input checks whose verdict lives on the GPU (is every probability in [0, 1]?): each op folds a 0/1 flag
// into one pending flag per op, and the next readback reads the flags along with its data and throws the
// op's error, so a check never adds a GPU stall of its own.
import { backend, noGrad } from '../autograd/context.js';
import type { Tensor } from '../autograd/tensor.js';
import { ge, le, min, minimum, mul } from './functional.js';

const pending = new Map<string, { flag: Tensor; message: string }>();

/** Whether a compileStep capture is recording (a readback is refused there). */
function capturing(): boolean {
  try { backend().checkReadable(); return false; } catch { return true; }
}

/**
 * Checks lo <= x <= hi for every element (NaN fails). Host-backed tensors are checked at once; others at the
 * next readback. Inside a compileStep capture the check is skipped (the eager warm-up run checks the step).
 */
export function checkRange(op: string, x: Tensor, lo: number, hi: number, message: string): void {
  if (x.hostData) {
    for (const v of x.hostData) if (!(v >= lo && v <= hi)) throw new Error(`${op}: ${message}`);
    return;
  }
  if (x.numel === 0 || capturing()) return;
  noGrad(() => {
    const above = ge(x, lo);
    const below = le(x, hi);
    const inRange = mul(above, below);
    const ok = min(inRange);
    for (const t of [above, below, inRange]) t.dispose();
    const prev = pending.get(op);
    if (prev) {
      const both = minimum(prev.flag, ok).keep();
      prev.flag.dispose();
      ok.dispose();
      prev.flag = both;
    } else {
      pending.set(op, { flag: ok.keep(), message });
    }
  });
}

/**
 * Starts reading every pending flag (riding along with the caller's readback, which submits the work) and
 * returns a promise that rejects with the first failed op's error. Null when nothing is pending.
 */
export function readPendingChecks(): Promise<void> | null {
  if (pending.size === 0) return null;
  const b = backend();
  const entries = [...pending.entries()];
  pending.clear();
  const reads = entries.map(([, { flag }]) => b.read(flag.buffer, flag.byteOffset, 4, false));
  return Promise.all(reads).then((bufs) => {
    entries.forEach(([, { flag }]) => flag.dispose());
    bufs.forEach((buf, i) => {
      if (new Float32Array(buf)[0] !== 1) throw new Error(`${entries[i][0]}: ${entries[i][1].message}`);
    });
  });
}
