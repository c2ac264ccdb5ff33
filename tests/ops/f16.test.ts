// The f16 linear path: operands rounded to f16, products summed in f32, within its stated bound; or, on an
// adapter without shader-f16, a clear error before any GPU work.
import { beforeAll, describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';
import { backend } from '../../src/autograd/context.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('linear precision f16', () => {
  it('stays within 2^-10 * sum |x W| of the f32 result, with f32 gradients', async () => {
    const x = k.randn([37, 64], { requiresGrad: true });
    const w = k.randn([20, 64], { requiresGrad: true });
    const b = k.randn([20]);
    if (!backend().f16) {
      expect(() => k.F.linear(x, w, b, { precision: 'f16' })).toThrow(/linear: precision 'f16' needs the shader-f16 device feature/);
      return;
    }
    const y16 = k.F.linear(x, w, b, { precision: 'f16' });
    const y32 = k.F.linear(x, w, b);
    const bound = k.F.matmul(x.abs(), w.abs(), { transB: true });
    const [a, r, bd] = await Promise.all([y16.toArray(), y32.toArray(), bound.toArray()]);
    let differs = false;
    for (let i = 0; i < a.length; i++) {
      expect(Math.abs(a[i] - r[i])).toBeLessThanOrEqual(2 ** -10 * bd[i] + 1e-5);
      if (a[i] !== r[i]) differs = true;
    }
    // The f16 rounding really happened (64-term sums of random values cannot all land on the f32 result).
    expect(differs).toBe(true);
    // Gradients come from the f32 backward: identical to the f32 layer's.
    const g = k.randn([37, 20]);
    y16.mul(g).sum().backward();
    const gx16 = await x.grad!.toArray();
    const gw16 = await w.grad!.toArray();
    x.grad = null; w.grad = null;
    y32.mul(g).sum().backward();
    expect(Array.from(gx16)).toEqual(Array.from(await x.grad!.toArray()));
    expect(Array.from(gw16)).toEqual(Array.from(await w.grad!.toArray()));
    expect(() => k.F.linear(k.randn([2, 6]), k.randn([3, 6]), null, { precision: 'f16' })).toThrow(/in_features to be a multiple of 4, got 6/);
    expectNoGpuErrors();
  });
});
