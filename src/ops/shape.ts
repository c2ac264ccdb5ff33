// Shape logic shared by the ops: broadcasting, strides, axis normalisation and argument checks. Pure
// TypeScript, no GPU.

export const MAX_RANK = 8;

export function fmt(shape: readonly number[]): string { return `[${shape.join(', ')}]`; }

export function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]; }
  return s;
}

/** NumPy broadcasting of two shapes, or an error naming the op. */
export function broadcastShapes(op: string, a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(`${op}: shapes ${fmt(a)} and ${fmt(b)} cannot be broadcast together ` +
        `(dimension ${i} of the result: ${da} vs ${db})`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides that read a contiguous `shape` as if broadcast to `out` (0 on broadcast axes). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const s = contiguousStrides(shape);
  const offset = out.length - shape.length;
  return out.map((d, i) => {
    const j = i - offset;
    if (j < 0) return 0;
    return shape[j] === 1 && d !== 1 ? 0 : s[j];
  });
}

/** A dim in [-rank, rank) as a non-negative index, or an error naming the op. */
export function normDim(op: string, dim: number, rank: number): number {
  if (!Number.isInteger(dim) || dim < -Math.max(rank, 1) || dim >= Math.max(rank, 1)) {
    throw new Error(`${op}: dim ${dim} is out of range for a tensor of rank ${rank} ` +
      `(expected an integer in [${-Math.max(rank, 1)}, ${Math.max(rank, 1) - 1}])`);
  }
  return dim < 0 ? dim + rank : dim;
}

/** Sorted unique non-negative axes; undefined means all axes. */
export function normAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return [...Array(rank).keys()];
  if (typeof axes !== 'number' && !Array.isArray(axes)) {
    throw new Error(`${op}: dims must be an integer or an array of integers, got ${axes === null ? 'null' : typeof axes === 'string' ? JSON.stringify(axes) : typeof axes}`);
  }
  const list = typeof axes === 'number' ? [axes] : [...axes];
  const out = [...new Set(list.map((a) => normDim(op, a, rank)))].sort((x, y) => x - y);
  if (out.length !== list.length) throw new Error(`${op}: repeated dims in ${JSON.stringify(list)}`);
  return out;
}

export function checkShape(op: string, shape: readonly number[]): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new Error(`${op}: invalid shape ${fmt(shape)}: dimensions must be non-negative integers`);
    }
  }
  if (shape.length > MAX_RANK) throw new Error(`${op}: rank ${shape.length} is over Kiln's limit of ${MAX_RANK}`);
}

/** Resolves a reshape target with at most one -1. */
export function resolveReshape(op: string, from: readonly number[], to: readonly number[]): number[] {
  const n = from.reduce((a, b) => a * b, 1);
  const neg = to.filter((d) => d === -1).length;
  if (neg > 1) throw new Error(`${op}: only one dimension can be -1, got ${fmt(to)}`);
  for (const d of to) {
    if (!Number.isInteger(d) || d < -1) throw new Error(`${op}: invalid target shape ${fmt(to)}`);
  }
  const known = to.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (out.reduce((a, b) => a * b, 1) !== n || out.some((d) => !Number.isInteger(d))) {
    throw new Error(`${op}: cannot reshape a tensor of shape ${fmt(from)} (${n} elements) into ${fmt(to)}`);
  }
  checkShape(op, out);
  return out;
}

/**
 * Splits `shape` around the reduced axes into runs: a reduction over a contiguous run of axes is a
 * reduction over the middle of [A, R, B]. Returns the runs innermost first (each reduced independently).
 */
export function reductionRuns(shape: readonly number[], axes: readonly number[]): { A: number; R: number; B: number }[] {
  const runs: { start: number; end: number }[] = [];
  for (const a of axes) {
    const last = runs[runs.length - 1];
    if (last && last.end === a) last.end = a + 1;
    else runs.push({ start: a, end: a + 1 });
  }
  // Reduce from the innermost run outward; each reduction removes its axes from the working shape.
  const work = [...shape];
  const out: { A: number; R: number; B: number }[] = [];
  for (let i = runs.length - 1; i >= 0; i--) {
    const { start, end } = runs[i];
    const A = work.slice(0, start).reduce((x, y) => x * y, 1);
    const R = work.slice(start, end).reduce((x, y) => x * y, 1);
    const B = work.slice(end).reduce((x, y) => x * y, 1);
    out.push({ A, R, B });
    work.splice(start, end - start);
  }
  return out;
}

/** Output size of a convolution along one axis. */
export function convOut(size: number, k: number, s: number, p: number, d: number): number {
  return Math.floor((size + 2 * p - d * (k - 1) - 1) / s) + 1;
}

export function pair(op: string, name: string, v: number | readonly number[] | undefined, dflt: number,
  min: number): [number, number] {
  const out: [number, number] = v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if ((typeof v === 'object' && v.length !== 2) || out.some((x) => !Number.isInteger(x) || x < min)) {
    throw new Error(`${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return out;
}
