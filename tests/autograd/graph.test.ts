// The autodiff graph and memory: accumulation, detach, noGrad, tidy, and exact release of intermediates.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('gradients', () => {
  it('accumulate over backward calls until zeroed', async () => {
    const x = k.tensor([1, 2, 3], undefined, { requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    expectClose(await x.grad!.toArray(), [5, 7, 9], 'accumulated');
    x.grad!.dispose();
    x.grad = null;
    x.mul(3).sum().backward();
    expectClose(await x.grad!.toArray(), [3, 3, 3], 'after reset');
  });

  it('a tensor used twice gets both contributions', async () => {
    const x = k.tensor([2], undefined, { requiresGrad: true });
    const y = x.mul(x).add(x.exp()); // d/dx = 2x + e^x
    y.sum().backward();
    expectClose(await x.grad!.toArray(), [4 + Math.exp(2)], 'fan-out');
  });

  it('detach and noGrad cut the graph', async () => {
    const x = k.tensor([1, 2], undefined, { requiresGrad: true });
    const d = x.mul(2).detach();
    expect(d.requiresGrad).toBe(false);
    const n = k.noGrad(() => x.mul(5));
    expect(n.requiresGrad).toBe(false);
    expect(n.isLeaf).toBe(true);
    x.mul(d).add(n).sum().backward();
    expectClose(await x.grad!.toArray(), [2, 4], 'only the direct path');
  });

  it('an explicit output gradient', async () => {
    const x = k.tensor([1, 2, 3], undefined, { requiresGrad: true });
    const g = k.tensor([1, 0, -1]);
    x.mul(x).backward(g);
    expectClose(await x.grad!.toArray(), [2, 0, -6], 'vector-Jacobian product');
    expectClose(await g.toArray(), [1, 0, -1], 'the caller keeps its gradient');
  });
});

describe('memory', () => {
  it('reports live tensors and bytes exactly', () => {
    const m0 = k.memory();
    const a = k.zeros([10, 10]);
    const b = k.zeros([7]);
    const m1 = k.memory();
    expect(m1.liveTensors - m0.liveTensors).toBe(2);
    expect(m1.tensorBytes - m0.tensorBytes).toBe((100 + 7) * 4);
    expect(m1.totalBytes).toBe(m1.inUseBytes + m1.pooledBytes + m1.otherBytes);
    a.dispose();
    b.dispose();
    const m2 = k.memory();
    expect(m2.liveTensors).toBe(m0.liveTensors);
    expect(m2.tensorBytes).toBe(m0.tensorBytes);
  });

  it('backward frees every intermediate of a model: only the output, loss and grads stay', async () => {
    const { nn } = k;
    const m = new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.LeakyReLU(0.2), new nn.Linear(8, 1), new nn.Sigmoid());
    const x = k.randn([6, 4]);
    const t = k.ones([6, 1]);
    const before = k.memory().liveTensors;
    const y = m.forward(x);
    const l = k.F.binaryCrossEntropy(y, t);
    expect(k.memory().liveTensors).toBeGreaterThan(before + 2); // intermediates held for backward
    l.backward();
    const params = m.parameters().length;
    expect(k.memory().liveTensors).toBe(before + 2 + params);
    await l.item();
    expect(k.memory().liveTensors).toBe(before + 2 + params);
    // a second step reuses pooled buffers: nothing new is allocated
    y.dispose();
    l.dispose();
    m.zeroGrad();
    const total = k.memory().totalBytes;
    k.F.binaryCrossEntropy(m.forward(x), t).backward();
    await k.sync();
    expect(k.memory().totalBytes).toBe(total);
  });

  it('tidy disposes what it does not return', () => {
    const before = k.memory().liveTensors;
    const keep = k.tidy(() => {
      const a = k.ones([3]);
      const b = a.mul(2).add(1);
      return { b, list: [a.exp()] };
    });
    expect(k.memory().liveTensors).toBe(before + 2);
    keep.b.dispose();
    keep.list[0].dispose();
    expect(k.memory().liveTensors).toBe(before);
  });

  it('GPU work is batched: many ops, one submit at the readback', async () => {
    await k.sync();
    const s0 = k.stats();
    let x = k.ones([64]); // one dispatch (fill)
    for (let i = 0; i < 50; i++) { const y = x.mul(1.01).add(0.5).tanh(); x.dispose(); x = y; }
    const s1 = k.stats();
    expect(s1.dispatches - s0.dispatches).toBe(151);
    expect(s1.submits - s0.submits).toBe(0);
    await x.toArray();
    expect(k.stats().submits - s1.submits).toBe(1);
  });
});
