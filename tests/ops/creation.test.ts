// Tensor factories and the seeded on-GPU random generator.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('factories', () => {
  it('tensor from nested arrays, typed arrays and scalars', async () => {
    const a = k.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(a.shape).toEqual([2, 3]);
    expect(await a.toNested()).toEqual([[1, 2, 3], [4, 5, 6]]);
    const b = k.tensor(new Int32Array([7, -8]), [2, 1]);
    expect(b.dtype).toBe('int32');
    expect(Array.from(await b.toArray())).toEqual([7, -8]);
    expect(await k.tensor(3.5).item()).toBe(3.5);
    expect(k.tensor([]).shape).toEqual([0]);
  });

  it('zeros, ones, full, arange', async () => {
    expect(Array.from(await k.zeros([3]).toArray())).toEqual([0, 0, 0]);
    expect(Array.from(await k.ones([2, 2]).toArray())).toEqual([1, 1, 1, 1]);
    expect(Array.from(await k.full([2], -2.5).toArray())).toEqual([-2.5, -2.5]);
    expect(Array.from(await k.arange(5).toArray())).toEqual([0, 1, 2, 3, 4]);
    expectClose(await k.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75], 'float arange');
    const i = k.arange(10, 0, -3, { dtype: 'int32' });
    expect(i.dtype).toBe('int32');
    expect(Array.from(await i.toArray())).toEqual([10, 7, 4, 1]);
  });

  it('zero-size tensors flow through ops', async () => {
    const e = k.zeros([0, 3]);
    expect(e.add(1).shape).toEqual([0, 3]);
    expect(Array.from(await e.sum(0).toArray())).toEqual([0, 0, 0]);
  });
});

describe('random', () => {
  it('manualSeed reproduces a stream; other seeds differ', async () => {
    k.manualSeed(42);
    const a = await k.randn([64]).toArray();
    const b = await k.rand([8]).toArray();
    k.manualSeed(42);
    expect(Array.from(await k.randn([64]).toArray())).toEqual(Array.from(a));
    expect(Array.from(await k.rand([8]).toArray())).toEqual(Array.from(b));
    k.manualSeed(43);
    expect(Array.from(await k.randn([64]).toArray())).not.toEqual(Array.from(a));
  });

  it('consecutive draws differ and the RNG state round-trips', async () => {
    k.manualSeed(7);
    const s = k.getRngState();
    const a = Array.from(await k.randn([16]).toArray());
    const b = Array.from(await k.randn([16]).toArray());
    expect(a).not.toEqual(b);
    k.setRngState(s);
    expect(Array.from(await k.randn([16]).toArray())).toEqual(a);
  });

  it('normal and uniform have the right moments', async () => {
    k.manualSeed(1);
    const n = Array.from(await k.randn([200_000], { mean: 2, std: 3 }).toArray());
    const mean = n.reduce((p, q) => p + q, 0) / n.length;
    const sd = Math.sqrt(n.reduce((p, q) => p + (q - mean) ** 2, 0) / n.length);
    expect(Math.abs(mean - 2)).toBeLessThan(0.03);
    expect(Math.abs(sd - 3)).toBeLessThan(0.03);
    const u = Array.from(await k.rand([200_000], { low: -1, high: 3 }).toArray());
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of u) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect(lo).toBeGreaterThanOrEqual(-1);
    expect(hi).toBeLessThan(3);
    expect(Math.abs(u.reduce((p, q) => p + q, 0) / u.length - 1)).toBeLessThan(0.02);
  });
});
