// Optimizers and layers end to end: Kiln trains the same small models as PyTorch did (same initial state
// dict, same data, 10 steps) and must land on the same losses and parameters, running stats included.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/index.js';
import { expectClose, expectNoGpuErrors, fixture, setup } from '../helpers.js';

interface Arr { shape: number[]; data: number[]; dtype?: 'float32' | 'int32' }
interface Run { name: string; init: Record<string, Arr>; x: Arr; y: Arr; losses: number[]; final: Record<string, Arr> }

const fx = fixture<{ runs: Run[] }>('optim.json');
let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

function toTensor(a: Arr, key = ''): Tensor {
  if (key.endsWith('num_batches_tracked') || a.dtype === 'int32') return k.tensor(Int32Array.from(a.data), a.shape, { dtype: 'int32' });
  return k.tensor(Float32Array.from(a.data), a.shape);
}

function build(name: string) {
  const { nn, optim } = k;
  switch (name) {
    case 'adam mlp': {
      const m = new nn.Sequential(new nn.Linear(3, 4), new nn.Tanh(), new nn.Linear(4, 2));
      return { m, opt: new optim.Adam(m.parameters(), { lr: 0.01, weightDecay: 0.01 }), loss: new nn.MSELoss() };
    }
    case 'sgd nesterov mlp': {
      const m = new nn.Sequential(new nn.Linear(3, 5), new nn.ReLU(), new nn.Linear(5, 2));
      return { m, opt: new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.001 }), loss: new nn.MSELoss() };
    }
    case 'sgd momentum dampening mlp': {
      const m = new nn.Sequential(new nn.Linear(3, 5), new nn.LeakyReLU(0.2), new nn.Linear(5, 2));
      return { m, opt: new optim.SGD(m.parameters(), { lr: 0.05, momentum: 0.5, dampening: 0.1 }), loss: new nn.MSELoss() };
    }
    case 'adam batchnorm1d cross-entropy': {
      const m = new nn.Sequential(new nn.Linear(3, 4, { bias: false }), new nn.BatchNorm1d(4), new nn.ReLU(), new nn.Linear(4, 3));
      return { m, opt: new optim.Adam(m.parameters(), { lr: 0.02 }), loss: new nn.SoftmaxLoss() };
    }
    case 'adam dcgan-style conv discriminator': {
      const m = new nn.Sequential(new nn.Conv2d(2, 3, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(3), new nn.LeakyReLU(0.2),
        new nn.Conv2d(3, 4, 4, { stride: 2, padding: 1 }), new nn.Flatten(), new nn.Linear(16, 1), new nn.Sigmoid());
      return { m, opt: new optim.Adam(m.parameters(), { lr: 0.01, betas: [0.5, 0.999] }), loss: new nn.BCELoss() };
    }
    case 'adam dcgan-style generator': {
      const m = new nn.Sequential(new nn.ConvTranspose2d(3, 4, 4, { stride: 1, padding: 0, bias: false }), new nn.BatchNorm2d(4),
        new nn.ReLU(), new nn.ConvTranspose2d(4, 1, 4, { stride: 2, padding: 1, bias: false }), new nn.Tanh());
      return { m, opt: new optim.Adam(m.parameters(), { lr: 0.01, betas: [0.5, 0.999] }), loss: new nn.MSELoss() };
    }
  }
  throw new Error(`unknown run ${name}`);
}

describe.each(fx.runs.map((r) => [r.name, r] as const))('%s', (_n, run) => {
  it('10 steps match PyTorch: losses, parameters and buffers', async () => {
    const { m, opt, loss } = build(run.name);
    expect([...m.stateDict().keys()]).toEqual(Object.keys(run.init));
    m.loadStateDict(new Map(Object.entries(run.init).map(([key, a]) => [key, toTensor(a, key)])));
    const x = toTensor(run.x);
    const y = toTensor(run.y);
    const losses: Tensor[] = [];
    for (let s = 0; s < run.losses.length; s++) {
      opt.zeroGrad();
      const l = loss.forward(m.forward(x), y);
      l.backward();
      opt.step();
      losses.push(l);
    }
    const got = await Promise.all(losses.map((l) => l.item()));
    expectClose(got, run.losses, `${run.name}: losses`, 1e-4, 1e-3);
    const sd = m.stateDict();
    for (const [key, want] of Object.entries(run.final)) {
      const t = sd.get(key)!;
      expectClose(Array.from(await t.toArray()), want.data, `${run.name}: ${key}`, 2e-4, 2e-3);
    }
  });
});

describe('optimizer arguments', () => {
  it('rejects bad hyper-parameters and parameters clearly', () => {
    const p = k.zeros([2], { requiresGrad: true });
    expect(() => new k.optim.Adam([p], { lr: -1 })).toThrow(/Adam: invalid lr -1/);
    expect(() => new k.optim.Adam([p], { betas: [1, 0.999] })).toThrow(/Adam: invalid beta1 1/);
    expect(() => new k.optim.SGD([p], { lr: 0.1, nesterov: true })).toThrow(/nesterov momentum requires/);
    expect(() => new k.optim.Adam([k.zeros([2])])).toThrow(/does not require grad/);
    expect(() => new k.optim.Adam([])).toThrow(/empty parameter list/);
  });

  it('the multi-tensor Adam kernel matches the per-parameter one bit for bit', async () => {
    const K = await import('../../src/ops/kernels.js');
    const shapes = [[3, 5], [7], [130], [2, 2, 2], [1]];
    const make = () => {
      k.manualSeed(9);
      return shapes.map((s) => ({ p: k.randn(s), g: k.randn(s), m: k.randn(s).abs(), v: k.randn(s).abs() }));
    };
    const h = () => ({ lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, step: 3 });
    const a = make();
    for (const t of a) K.adamStep(t.p, t.g, t.m, t.v, h);
    const b = make();
    // Flat moments with 64-element alignment, as the optimizer lays them out; two dispatches (4 + 1 slots).
    const offs: number[] = [];
    let total = 0;
    for (const t of b) { offs.push(total); total += Math.ceil(t.p.numel / 64) * 64; }
    const flat = (key: 'm' | 'v') => k.cat(b.flatMap((t, i) => {
      const pad = (i + 1 < b.length ? offs[i + 1] : total) - offs[i] - t.p.numel;
      return pad ? [t[key].reshape([t.p.numel]), k.zeros([pad])] : [t[key].reshape([t.p.numel])];
    }));
    const m = flat('m');
    const v = flat('v');
    K.adamMulti(b.slice(0, 4).map((t) => t.p), b.slice(0, 4).map((t) => t.g), m, v, offs.slice(0, 4), h);
    K.adamMulti(b.slice(4).map((t) => t.p), b.slice(4).map((t) => t.g), m, v, offs.slice(4), h);
    for (let i = 0; i < a.length; i++) {
      expect(Array.from(await b[i].p.toArray())).toEqual(Array.from(await a[i].p.toArray()));
      expect(Array.from(await k.F.narrow(m, 0, offs[i], a[i].p.numel).toArray())).toEqual(Array.from(await a[i].m.toArray()));
      expect(Array.from(await k.F.narrow(v, 0, offs[i], a[i].p.numel).toArray())).toEqual(Array.from(await a[i].v.toArray()));
    }
  });

  it('skips parameters without a gradient and leaves them unchanged', async () => {
    const a = k.tensor([1, 2], undefined, { requiresGrad: true });
    const b = k.tensor([3, 4], undefined, { requiresGrad: true });
    const opt = new k.optim.Adam([a, b], { lr: 0.1 });
    a.mul(a).sum().backward();
    opt.step();
    expect(Array.from(await b.toArray())).toEqual([3, 4]);
    const av = await a.toArray();
    expectClose(av, [0.9, 1.9], 'adam first step moves by lr');
  });
});
