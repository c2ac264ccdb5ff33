// Checks one op-table row against its PyTorch fixture. Runs in Node (vitest) and inside Chromium (the
// browser suite bundles this file), so it uses no test-runner or Node APIs.
import type * as Kiln from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { Case } from './cases.js';

export interface FixtureInput { shape: number[]; dtype: 'float32' | 'int32'; data: number[]; grad: boolean }
export interface FixtureCase {
  name: string; op: string; inputs: FixtureInput[]; out: number[]; outShape: number[];
  cot?: number[]; grads?: (number[] | null)[]; fd64?: (number[] | null)[];
}

/** Throws with the worst offending element when |a - e| > atol + rtol |e| anywhere. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol = 1e-4, rtol = 1e-3): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  let bad = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === e || (Number.isNaN(a) && Number.isNaN(e))) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess <= 0) continue;
    bad++;
    if (worst < 0 || !(excess <= worstExcess)) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    throw new Error(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} ` +
      `(atol ${atol}, rtol ${rtol}); ${bad} of ${expected.length} elements differ`);
  }
}

/** The fixtures store NaN as null (JSON has no NaN). */
const nums = (a: readonly (number | null)[]): number[] => a.map((v) => (v === null ? NaN : v));

function inputsOf(k: typeof Kiln, f: FixtureCase): Tensor[] {
  return f.inputs.map((i) => k.tensor(i.dtype === 'int32' ? Int32Array.from(i.data) : Float32Array.from(nums(i.data)), i.shape,
    { dtype: i.dtype, requiresGrad: i.grad }));
}

/**
 * Forward against PyTorch, then (for differentiable rows) the gradients of sum(out * cot) against PyTorch's
 * autograd and against float64 central differences; optionally Kiln's own float32 finite differences of a
 * few elements, perturbing inputs on the GPU.
 */
export async function checkCase(k: typeof Kiln, c: Case, f: FixtureCase, opts: { gpuFiniteDifferences?: boolean } = {}): Promise<void> {
  const xs = inputsOf(k, f);
  const out = c.kiln(...xs);
  if (out.shape.join(',') !== f.outShape.join(',')) {
    throw new Error(`${c.name}: output shape [${out.shape.join(', ')}], expected [${f.outShape.join(', ')}]`);
  }
  assertClose(await out.toArray(), nums(f.out), `${c.name}: forward`);
  if (!f.grads) {
    if (out.requiresGrad) throw new Error(`${c.name}: a non-differentiable op returned a tensor that requires grad`);
    return;
  }
  const cot = k.tensor(Float32Array.from(f.cot!), f.outShape);
  out.mul(cot).sum().backward();
  for (let j = 0; j < xs.length; j++) {
    const want = f.grads[j];
    if (!want) continue;
    if (!xs[j].grad) throw new Error(`${c.name}: input ${j} got no gradient`);
    const got = await xs[j].grad!.toArray();
    assertClose(got, want, `${c.name}: grad of input ${j} vs PyTorch autograd`);
    assertClose(got, f.fd64![j]!, `${c.name}: grad of input ${j} vs float64 central differences`, 2e-4, 2e-3);
  }
  if (!opts.gpuFiniteDifferences) return;
  const h = 1e-3;
  const pending: { j: number; e: number; plus: Promise<number>; minus: Promise<number> }[] = [];
  for (let j = 0; j < xs.length; j++) {
    if (!f.grads[j]) continue;
    const n = f.inputs[j].data.length;
    for (const e of new Set([0, Math.floor(n / 2), n - 1])) {
      const at = (delta: number) => {
        const args = f.inputs.map((inp, q) => {
          if (inp.dtype === 'int32') return k.tensor(Int32Array.from(inp.data), inp.shape, { dtype: 'int32' });
          const d = Float32Array.from(nums(inp.data));
          if (q === j) d[e] += delta;
          return k.tensor(d, inp.shape);
        });
        return k.noGrad(() => c.kiln(...args).mul(cot).sum()).item();
      };
      pending.push({ j, e, plus: at(h), minus: at(-h) });
    }
  }
  for (const p of pending) {
    const fd = ((await p.plus) - (await p.minus)) / (2 * h);
    const an = f.grads[p.j]![p.e];
    if (!(Math.abs(fd - an) <= 3e-2 + 3e-2 * Math.abs(an))) {
      throw new Error(`${c.name}: float32 GPU finite difference of input ${p.j}[${p.e}] is ${fd}, gradient is ${an}`);
    }
  }
}
