// The movement ops and image layers beyond their fixture rows: PyTorch's argument rules for pad, dropout's
// statistics and its fresh masks under compileStep, InstanceNorm2d's state and running statistics, views.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';

const { F, nn } = k;

beforeAll(async () => { await setup(); });
afterEach(() => expectNoGpuErrors());

describe('pad follows PyTorch rules', () => {
  it('rejects what PyTorch rejects, with the reason', () => {
    const x = k.zeros([1, 1, 3, 3]);
    expect(() => F.pad(x, [1])).toThrow(/divisible by 2/);
    expect(() => F.pad(x, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1])).toThrow(/too large/);
    expect(() => F.pad(x, [3, 3, 0, 0], { mode: 'reflect' })).toThrow(/less than the input size.*dim 3/);
    expect(() => F.pad(x, [0, 0, 2, 3], { mode: 'reflect' })).toThrow(/less than the input size.*dim 2/);
    expect(() => F.pad(x, [1, 1], { mode: 'reflect' })).toThrow(/last 1, 2 or 3 dims/);
    expect(() => F.pad(k.zeros([3]), [1, 1], { mode: 'replicate' })).toThrow(/last 1, 2 or 3 dims/);
    expect(() => F.pad(k.zeros([1, 0, 3]), [1, 1], { mode: 'replicate' })).toThrow(/non-zero sizes/);
    expect(() => F.pad(x, [-4, 0])).toThrow(/negative size/);
    expect(() => F.pad(x, [1, 1], { mode: 'circular' as never })).toThrow(/mode must be/);
    expect(() => F.pad(x, [0.5, 1])).toThrow(/integers/);
    x.dispose();
  });

  it('pads int32 tensors and an empty batch', async () => {
    const t = k.tensor([1, 2, 3], undefined, { dtype: 'int32' });
    expect(Array.from(await F.pad(t, [1, 2], { value: 7 }).toArray())).toEqual([7, 1, 2, 3, 7, 7]);
    expect(Array.from(await F.pad(t.reshape(1, 3), [2, 1], { mode: 'reflect' }).toArray())).toEqual([3, 2, 1, 2, 3, 2]);
    expect(F.pad(k.zeros([0, 2, 3]), [1, 1], { mode: 'reflect' }).shape).toEqual([0, 2, 5]);
  });

  it('padding modules take an int or [left, right, top, bottom]', () => {
    expect(new nn.ReflectionPad2d(2).padding).toEqual([2, 2, 2, 2]);
    expect(new nn.ZeroPad2d([1, 2, 3, 4]).forward(k.zeros([1, 1, 2, 2])).shape).toEqual([1, 1, 9, 5]);
    expect(new nn.ReplicationPad2d(1).forward(k.zeros([2, 2, 2])).shape).toEqual([2, 4, 4]);
    expect(() => new nn.ReflectionPad2d([1, 2] as never)).toThrow(/ReflectionPad2d: padding must be/);
  });
});

describe('squeeze, unsqueeze, flip', () => {
  it('squeeze and unsqueeze are views of the same storage', async () => {
    const x = k.tensor([[1], [2], [3]]);
    const s = x.squeeze(1);
    expect(s.shape).toEqual([3]);
    expect(s.storage).toBe(x.storage);
    expect(x.unsqueeze(0).shape).toEqual([1, 3, 1]);
    expect(x.unsqueeze(-1).shape).toEqual([3, 1, 1]);
    expect(k.tensor(5).unsqueeze(0).shape).toEqual([1]);
    expect(() => x.unsqueeze(3)).toThrow(/unsqueeze: dim 3 is out of range/);
    expect(() => x.squeeze(2)).toThrow(/squeeze: dim 2 is out of range/);
    expect(F.squeeze(k.zeros([1, 2, 1]), [0, 2]).shape).toEqual([2]);
  });

  it('flip takes dims as arguments or an array, and repeated dims are an error', async () => {
    const x = k.tensor([[1, 2], [3, 4]]);
    expect(Array.from(await x.flip(0, 1).toArray())).toEqual([4, 3, 2, 1]);
    expect(Array.from(await x.flip([1]).toArray())).toEqual([2, 1, 4, 3]);
    expect(() => x.flip(0, -2)).toThrow(/repeated dims/);
  });
});

describe('dropout', () => {
  it('zeroes about p of the elements, scales the rest by 1/(1-p), and routes the gradient through the mask', async () => {
    k.manualSeed(3);
    const x = k.ones([200, 100], { requiresGrad: true });
    const y = F.dropout(x, { p: 0.3 });
    y.sum().backward();
    const v = await y.toArray();
    const g = await x.grad!.toArray();
    let zeros = 0;
    for (let i = 0; i < v.length; i++) {
      if (v[i] === 0) zeros++;
      else expect(v[i]).toBeCloseTo(1 / 0.7, 6);
      expect(g[i]).toBe(v[i]);
    }
    // 20,000 Bernoulli(0.3) draws: 6 standard deviations is about +-390.
    expect(Math.abs(zeros - 6000)).toBeLessThan(390);
  });

  it('checks p and is the identity in eval mode', async () => {
    expect(() => F.dropout(k.zeros([2]), { p: 1.5 })).toThrow(/between 0 and 1/);
    expect(() => new nn.Dropout(-0.1)).toThrow(/between 0 and 1/);
    const d = new nn.Dropout(0.5).eval();
    expect(Array.from(await d.forward(k.tensor([1, 2, 3])).toArray())).toEqual([1, 2, 3]);
  });

  it('draws a fresh mask on every replay of a compiled step', async () => {
    k.manualSeed(11);
    const x = k.ones([64]).keep();
    const step = k.compileStep(() => F.dropout(x, { p: 0.5 }));
    const masks: string[] = [];
    for (let i = 0; i < 4; i++) masks.push(Array.from(await step.run().toArray()).join(','));
    expect(step.stats.replays).toBeGreaterThan(0);
    expect(new Set(masks).size).toBe(4);
    step.dispose();
    x.dispose();
  });
});

describe('InstanceNorm2d', () => {
  it('has PyTorch defaults and state dict keys', () => {
    const plain = new nn.InstanceNorm2d(4);
    expect([plain.eps, plain.momentum, plain.affine, plain.trackRunningStats]).toEqual([1e-5, 0.1, false, false]);
    expect([...plain.stateDict().keys()]).toEqual([]);
    expect(plain.parameters()).toEqual([]);
    const full = new nn.InstanceNorm2d(4, { affine: true, trackRunningStats: true });
    expect([...full.stateDict().keys()]).toEqual(['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']);
    expect(() => plain.forward(k.zeros([2, 3, 4, 4]))).toThrow(/3 channels but the layer was built for 4/);
    expect(() => plain.forward(k.zeros([2, 4, 1, 1]))).toThrow(/more than 1 spatial element/);
  });

  it('updates running statistics with the unbiased variance and uses them in eval mode', async () => {
    const N = 2; const C = 2; const S = 4;
    const data = Array.from({ length: N * C * S }, (_, i) => Math.sin(i * 1.7) * 2 + (i % 3));
    const x = k.tensor(data, [N, C, 2, 2]);
    const m = new nn.InstanceNorm2d(C, { trackRunningStats: true, momentum: 0.2 });
    m.forward(x);
    const rm = [0, 0]; const rv = [0, 0];
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < C; c++) {
        const v = data.slice((n * C + c) * S, (n * C + c + 1) * S);
        const mu = v.reduce((p, q) => p + q, 0) / S;
        rm[c] += mu / N;
        rv[c] += v.reduce((p, q) => p + (q - mu) ** 2, 0) / (S - 1) / N;
      }
    }
    expectClose(await m.runningMean!.toArray(), rm.map((v) => 0.2 * v), 'running mean');
    expectClose(await m.runningVar!.toArray(), rv.map((v) => 0.8 + 0.2 * v), 'running var');
    expect(m.numBatchesTracked).toBe(1);
    m.eval();
    const y = await m.forward(x).toArray();
    const rmv = await m.runningMean!.toArray(); const rvv = await m.runningVar!.toArray();
    const want = data.map((v, i) => { const c = Math.floor(i / S) % C; return (v - rmv[c]) / Math.sqrt(rvv[c] + 1e-5); });
    expectClose(y, want, 'eval output');
  });
});

describe('interpolate and Upsample', () => {
  it('rejects what Kiln cannot do exactly, with the reason', () => {
    const x = k.zeros([1, 1, 2, 3]);
    expect(() => F.interpolate(x, { scaleFactor: 1.5 })).toThrow(/integers/);
    expect(() => F.interpolate(x, { size: [4, 7] })).toThrow(/integer multiple/);
    expect(() => F.interpolate(x, { scaleFactor: 2, size: 4 })).toThrow(/exactly one/);
    expect(() => F.interpolate(x, { scaleFactor: 2, mode: 'bilinear' as never })).toThrow(/not supported/);
    expect(() => F.interpolate(k.zeros([2, 3]), { scaleFactor: 2 })).toThrow(/3-D, 4-D or 5-D/);
    expect(new nn.Upsample({ size: [4, 9] }).forward(x).shape).toEqual([1, 1, 4, 9]);
  });
});
