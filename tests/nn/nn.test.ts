// nn modules: PyTorch key names, default initialisation ranges, train/eval behaviour, state dicts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';
import type { Tensor } from '../../src/index.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('modules', () => {
  it('state dict keys follow PyTorch', () => {
    const { nn } = k;
    const g = new nn.Sequential(new nn.ConvTranspose2d(8, 4, 4, { bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(),
      new nn.ConvTranspose2d(4, 1, 4, { stride: 2, padding: 1 }), new nn.Tanh());
    expect([...g.stateDict().keys()]).toEqual(['0.weight', '1.weight', '1.bias', '1.running_mean', '1.running_var',
      '1.num_batches_tracked', '3.weight', '3.bias']);
    expect(g.namedParameters().map(([n]) => n)).toEqual(['0.weight', '1.weight', '1.bias', '3.weight', '3.bias']);
    expect(g.stateDict().get('0.weight')!.shape).toEqual([8, 4, 4, 4]);
  });

  it('default init: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in))', async () => {
    k.manualSeed(3);
    const l = new k.nn.Linear(64, 32);
    const w = Array.from(await l.weight.toArray());
    const bound = 1 / 8;
    expect(Math.max(...w)).toBeLessThanOrEqual(bound);
    expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
    expect(Math.max(...w)).toBeGreaterThan(bound * 0.9);
    const c = new k.nn.ConvTranspose2d(16, 8, 4);
    const cw = Array.from(await c.weight.toArray());
    expect(Math.max(...cw.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8 * 16));
  });

  it('DCGAN init: conv weights ~ N(0, 0.02), BN weights ~ N(1, 0.02), BN bias 0', async () => {
    const { nn } = k;
    const d = new nn.Sequential(new nn.Conv2d(3, 64, 4, { stride: 2, padding: 1, bias: false }), new nn.BatchNorm2d(64));
    nn.init.dcgan(d);
    const w = Array.from(await (d.at(0) as InstanceType<typeof nn.Conv2d>).weight.toArray());
    const mean = w.reduce((p, q) => p + q, 0) / w.length;
    const sd = Math.sqrt(w.reduce((p, q) => p + (q - mean) ** 2, 0) / w.length);
    expect(Math.abs(mean)).toBeLessThan(0.003);
    expect(Math.abs(sd - 0.02)).toBeLessThan(0.002);
    const bn = d.at(1) as InstanceType<typeof nn.BatchNorm2d>;
    expect(Array.from(await bn.bias!.toArray()).every((v) => v === 0)).toBe(true);
    const bw = Array.from(await bn.weight!.toArray());
    expect(Math.abs(bw.reduce((p, q) => p + q, 0) / bw.length - 1)).toBeLessThan(0.01);
  });

  it('batch norm uses batch statistics in train() and running statistics in eval()', async () => {
    const bn = new k.nn.BatchNorm1d(3);
    const x = k.tensor([[1, 2, 3], [3, 6, 9], [5, 10, 15]]);
    bn.forward(x);
    // running_mean = 0.9 * 0 + 0.1 * [3, 6, 9]; running_var = 0.9 * 1 + 0.1 * unbiased var [4, 16, 36]
    expectClose(await bn.runningMean!.toArray(), [0.3, 0.6, 0.9], 'running mean');
    expectClose(await bn.runningVar!.toArray(), [1.3, 2.5, 4.5], 'running var');
    bn.eval();
    const y = await bn.forward(x).toArray();
    const want = [1, 2, 3, 3, 6, 9, 5, 10, 15].map((v, i) => (v - [0.3, 0.6, 0.9][i % 3]) / Math.sqrt([1.3, 2.5, 4.5][i % 3] + 1e-5));
    expectClose(y, want, 'eval output');
    expect(bn.numBatchesTracked).toBe(1);
  });

  it('Sequential runs its layers as written; a compiled step folds the activations into the matmul stores', async () => {
    const { nn } = k;
    k.manualSeed(4);
    const net = new nn.Sequential(new nn.Linear(5, 9), new nn.ReLU(), new nn.Linear(9, 7), new nn.LeakyReLU(0.2),
      new nn.Linear(7, 3), new nn.LeakyReLU(-0.5), new nn.Linear(3, 2));
    const x = k.randn([6, 5]);
    const w = k.randn([6, 2]);
    const step = (seq: boolean, input = x) => {
      const y = seq ? net.forward(input) : net.layers.reduce((h, m) => m.forward(h), input);
      net.zeroGrad();
      y.mul(w).sum().backward();
      return [y, ...net.parameters().map((p) => p.grad!.clone())];
    };
    const d0 = k.stats().dispatches;
    const a = step(false);
    const d1 = k.stats().dispatches;
    const b = step(true);
    // No peephole: the container launches what its layers launch.
    expect(k.stats().dispatches - d1).toBe(d1 - d0);
    const want = await Promise.all(a.map((t) => t.toArray()));
    for (const [i, t] of b.entries()) expect(Array.from(await t.toArray()), `tensor ${i}`).toEqual(Array.from(want[i]));
    const compiled = k.compileStep((input: Tensor) => step(true, input));
    for (let i = 0; i < 3; i++) compiled.run(x);
    const got = compiled.run(x);
    for (const [i, t] of got.entries()) expect(Array.from(await t.toArray()), `compiled tensor ${i}`).toEqual(Array.from(want[i]));
    const kernels = Object.keys(compiled.stats.kernels);
    // The three activations went into the stores of the matmuls producing their inputs.
    expect(kernels.filter((n) => /^(relu|leakyRelu)/.test(n))).toEqual([]);
    expect(kernels.some((n) => n.includes('+epilogue'))).toBe(true);
    compiled.dispose();
  });

  it('state dict round-trips into a fresh module', async () => {
    const { nn } = k;
    const a = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    a.forward(k.randn([5, 3]));
    const b = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4));
    b.loadStateDict(a.stateDict());
    for (const [key, t] of a.stateDict()) {
      expect(Array.from(await b.stateDict().get(key)!.toArray()), key).toEqual(Array.from(await t.toArray()));
    }
  });

  it('loss modules and SoftmaxLoss alias', async () => {
    const { nn } = k;
    expect(nn.SoftmaxLoss).toBe(nn.CrossEntropyLoss);
    const l = new nn.SoftmaxLoss().forward(k.tensor([[0, 0]]), k.tensor([1], undefined, { dtype: 'int32' }));
    expectClose([await l.item()], [Math.log(2)], 'cross-entropy of uniform logits');
    const s = new nn.MSELoss('sum').forward(k.tensor([1, 2]), k.tensor([0, 0]));
    expect(await s.item()).toBe(5);
  });
});
