// The op suite: every row of tests/ops/cases.ts runs on real WebGPU (Dawn) and is compared with PyTorch's
// forward values and autograd gradients, with float64 central differences of the same loss, and with
// Kiln's own float32 finite differences on the GPU.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import { OP_NAMES } from '../../src/index.js';
import { expectClose, expectNoGpuErrors, fixture, setup } from '../helpers.js';
import { allCases, opCases } from './cases.js';

interface FixtureInput { shape: number[]; dtype: 'float32' | 'int32'; data: number[]; grad: boolean }
interface FixtureCase {
  name: string; op: string; inputs: FixtureInput[]; out: number[]; outShape: number[];
  cot?: number[]; grads?: (number[] | null)[]; fd64?: (number[] | null)[];
}

const fx = fixture<{ cases: FixtureCase[] }>('ops.json');
const byName = new Map(fx.cases.map((c) => [c.name, c]));
let k: Awaited<ReturnType<typeof setup>>;

beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

function inputsOf(c: FixtureCase): Tensor[] {
  return c.inputs.map((i) => k.tensor(i.dtype === 'int32' ? Int32Array.from(i.data) : Float32Array.from(i.data), i.shape,
    { dtype: i.dtype, requiresGrad: i.grad }));
}

describe('op table coverage', () => {
  it('every op in the table has at least one test row', () => {
    const missing = OP_NAMES.filter((n) => !(opCases[n]?.length > 0));
    expect(missing).toEqual([]);
  });
  it('every row has a PyTorch fixture (run npm run fixtures after adding rows)', () => {
    const missing = allCases.filter(({ c }) => !byName.has(c.name)).map(({ c }) => c.name);
    expect(missing).toEqual([]);
  });
});

describe.each(allCases.map(({ op, c }) => [`${op}: ${c.name}`, c] as const))('%s', (_label, c) => {
  it('forward and gradients match PyTorch and finite differences', async () => {
    const f = byName.get(c.name)!;
    const xs = inputsOf(f);
    const out = c.kiln(...xs);
    expect([...out.shape]).toEqual(f.outShape);
    expectClose(await out.toArray(), f.out, `${c.name}: forward`);
    if (!f.grads) {
      expect(out.requiresGrad && f.inputs.some((i) => i.grad)).toBe(false);
      return;
    }
    const cot = k.tensor(Float32Array.from(f.cot!), f.outShape);
    const loss = out.mul(cot).sum();
    loss.backward();
    for (let j = 0; j < xs.length; j++) {
      const want = f.grads[j];
      if (!want) continue;
      expect(xs[j].grad, `${c.name}: input ${j} has a gradient`).not.toBeNull();
      const got = await xs[j].grad!.toArray();
      expectClose(got, want, `${c.name}: grad of input ${j} vs PyTorch autograd`);
      expectClose(got, f.fd64![j]!, `${c.name}: grad of input ${j} vs float64 central differences`, 2e-4, 2e-3);
    }
    // Kiln's own forward, perturbed on the GPU: a float32 finite-difference check of a few elements.
    const h = 1e-3;
    const pending: { j: number; e: number; plus: Promise<number>; minus: Promise<number> }[] = [];
    for (let j = 0; j < xs.length; j++) {
      if (!f.grads[j]) continue;
      const n = f.inputs[j].data.length;
      const picks = [...new Set([0, Math.floor(n / 2), n - 1])];
      for (const e of picks) {
        const at = (delta: number) => {
          const args = f.inputs.map((inp, q) => {
            const d = Float32Array.from(inp.data);
            if (q === j) d[e] += delta;
            return k.tensor(inp.dtype === 'int32' ? Int32Array.from(inp.data) : d, inp.shape, { dtype: inp.dtype });
          });
          const v = k.noGrad(() => c.kiln(...args).mul(cot).sum());
          return v.item();
        };
        pending.push({ j, e, plus: at(h), minus: at(-h) });
      }
    }
    for (const p of pending) {
      const fd = ((await p.plus) - (await p.minus)) / (2 * h);
      const an = f.grads[p.j]![p.e];
      expect(Math.abs(fd - an), `${c.name}: float32 GPU finite difference of input ${p.j}[${p.e}]: ${fd} vs ${an}`)
        .toBeLessThanOrEqual(3e-2 + 3e-2 * Math.abs(an));
    }
  });
});
