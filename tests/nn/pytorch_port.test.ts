// PyTorch code ported line by line: positional signatures, strict options, field registration, module
// idioms (apply, modules, printing), in-place writes and retain_graph, each as PyTorch behaves or a clear error.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';
import type { Tensor } from '../../src/index.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('PyTorch signatures', () => {
  it('Conv2d takes stride, padding, dilation, groups, bias by position', () => {
    const c = new k.nn.Conv2d(1, 8, 4, 2, 1);
    expect(c.stride).toEqual([2, 2]);
    expect(c.padding).toEqual([1, 1]);
    expect(c.forward(k.zeros([1, 1, 8, 8])).shape).toEqual([1, 8, 4, 4]);
    const g = new k.nn.Conv2d(4, 8, 3, 1, 0, 2, 2, false);
    expect(g.dilation).toEqual([2, 2]);
    expect(g.groups).toBe(2);
    expect(g.bias).toBeNull();
    expect(g.weight.shape).toEqual([8, 2, 3, 3]);
  });

  it('ConvTranspose2d follows PyTorch order: outputPadding, groups, bias, dilation', () => {
    const t = new k.nn.ConvTranspose2d(4, 2, 3, 2, 1, 1, 1, false, 1);
    expect(t.outputPadding).toEqual([1, 1]);
    expect(t.bias).toBeNull();
    expect(t.forward(k.zeros([1, 4, 5, 5])).shape).toEqual([1, 2, 10, 10]);
    const o = new k.nn.ConvTranspose2d(100, 64, 4, 1, 0, { bias: false });
    expect(o.bias).toBeNull();
    expect(o.stride).toEqual([1, 1]);
  });

  it('Linear(in, out, false) has no bias; BatchNorm2d and LeakyReLU take positional arguments', () => {
    expect(new k.nn.Linear(2, 3, false).bias).toBeNull();
    expect(new k.nn.Linear(2, 3, { bias: false }).bias).toBeNull();
    expect(new k.nn.Linear(2, 3).bias).not.toBeNull();
    const bn = new k.nn.BatchNorm2d(4, 1e-3, 0.2, false, false);
    expect([bn.eps, bn.momentum, bn.weight, bn.runningMean]).toEqual([1e-3, 0.2, null, null]);
    expect(new k.nn.LeakyReLU(0.2, true).negativeSlope).toBe(0.2);
    expect(new k.nn.ReLU(true).inplace).toBe(true);
  });

  it('optimizers take lr, betas, eps, weightDecay by position', () => {
    const p = k.zeros([2], { requiresGrad: true });
    const a = new k.optim.Adam([p], 0.1, [0.5, 0.9], 1e-6, 0.01);
    expect([a.lr, a.betas, a.eps, a.weightDecay]).toEqual([0.1, [0.5, 0.9], 1e-6, 0.01]);
    const s = new k.optim.SGD([p], 0.05, 0.9);
    expect([s.lr, s.momentum]).toEqual([0.05, 0.9]);
    expect(new k.optim.SGD([p]).lr).toBe(1e-3);
  });

  it('Adam(params, 0.1) trains with lr 0.1', async () => {
    const p = k.tensor([1, 1], [2]).requiresGrad_();
    const opt = new k.optim.Adam([p], 0.1);
    p.mul(p).sum().backward();
    opt.step();
    // Adam's first step moves each parameter by lr in the gradient's sign.
    expectClose(await p.toArray(), [0.9, 0.9], 'after one step', 1e-5);
  });

  it('unknown options, extra arguments and wrong types throw, naming class and argument', () => {
    const { nn, optim } = k;
    const p = k.zeros([2], { requiresGrad: true });
    expect(() => new nn.Conv2d(1, 8, 4, { strides: 2 } as never)).toThrow(/Conv2d: unknown option 'strides'/);
    expect(() => new nn.Conv2d(1, 8, 4, 2, 1, 1, 1, true, 'zeros', 5 as never)).toThrow(/Conv2d: takes at most 9 arguments/);
    expect(() => new nn.Conv2d(1, 8, 4, '2' as never)).toThrow(/Conv2d: argument 'stride' must be an integer >= 1.*"2"/);
    expect(() => new nn.Linear(2, 3, 'no' as never)).toThrow(/Linear: argument 'bias' must be true or false/);
    expect(() => new nn.Linear(2.5, 3)).toThrow(/Linear: argument 'inFeatures' must be a positive integer/);
    // @ts-expect-error a missing argument, as untyped JavaScript may write it
    expect(() => new nn.Linear(2)).toThrow(/Linear: missing required argument 'outFeatures'/);
    expect(() => new nn.Linear(2, 3, true, { bias: false } as never)).toThrow(/Linear: got 'bias' both/);
    expect(() => new nn.BatchNorm2d(4, { track_running_stats: false } as never)).toThrow(/did you mean 'trackRunningStats'/);
    // @ts-expect-error an extra argument
    expect(() => new nn.Tanh(1)).toThrow(/Tanh: takes at most 0 arguments/);
    expect(() => new nn.LeakyReLU('0.2' as never)).toThrow(/LeakyReLU: argument 'negativeSlope'/);
    expect(() => new nn.MSELoss({ reduce: false } as never)).toThrow(/MSELoss: unknown option 'reduce'/);
    expect(new nn.Conv2d(3, 8, 4, 2, 1, { bias: false }).bias).toBeNull();
    expect(() => new optim.Adam([p], { lr: 0.1, weight_decay: 0.1 } as never)).toThrow(/Adam: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/);
    expect(() => new optim.Adam([p], 0.1, 0.9 as never)).toThrow(/Adam: argument 'betas' must be a pair of numbers/);
    expect(() => new optim.Adam([p], '0.1' as never)).toThrow(/Adam: argument 'lr' must be a number/);
    expect(() => new optim.Adam([p], 0.1, [0.5, 0.9], 1e-8, 0, true as never)).toThrow(/Adam: argument 'amsgrad'/);
    expect(() => new optim.SGD([p], 0.1, 0.9, 0, 0, false, 1 as never)).toThrow(/SGD: takes at most 5 arguments/);
    expect(() => new nn.Sequential(new nn.Tanh(), 3 as never)).toThrow(/Sequential: argument 2 .* is not a Module/);
  });
});

class Generator extends k_nn_Module() {
  main: InstanceType<Awaited<ReturnType<typeof setup>>['nn']['Sequential']>;
  constructor(nn: Awaited<ReturnType<typeof setup>>['nn']) {
    super();
    this.main = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU(true), new nn.Linear(3, 1, false));
  }
  forward(x: Tensor) { return this.main.forward(x); }
}
// The base class comes from the library loaded by setup(); tests import the same module instance.
function k_nn_Module() { return kilnNn.Module; }
import { nn as kilnNn } from '../../src/index.js';

describe('image layers as PyTorch', () => {
  it('take PyTorch positional arguments, refuse bad ones naming the argument, and print as PyTorch', () => {
    const { nn } = k;
    const m = new nn.Sequential(new nn.ReflectionPad2d(3), new nn.InstanceNorm2d(8, 1e-3, 0.1, true),
      new nn.Upsample({ scaleFactor: 2 }), new nn.Dropout(0.25), new nn.ZeroPad2d([1, 2, 3, 4]));
    expect(String(m)).toBe([
      'Sequential(',
      '  (0): ReflectionPad2d((3, 3, 3, 3))',
      '  (1): InstanceNorm2d(8, eps=0.001, momentum=0.1, affine=True, track_running_stats=False)',
      "  (2): Upsample(scale_factor=2.0, mode='nearest')",
      '  (3): Dropout(p=0.25, inplace=False)',
      '  (4): ZeroPad2d((1, 2, 3, 4))',
      ')'].join('\n'));
    expect([...m.stateDict().keys()]).toEqual(['1.weight', '1.bias']);
    expect(() => new nn.Dropout(2)).toThrow(/Dropout: argument 'p' must be a probability between 0 and 1, got 2/);
    expect(() => new nn.InstanceNorm2d(4, { affine: 1 as unknown as boolean })).toThrow(/InstanceNorm2d: argument 'affine' must be true or false/);
    expect(() => new nn.Upsample({ scale_factor: 2 } as never)).toThrow(/Upsample: unknown option 'scale_factor' \(did you mean 'scaleFactor'\?\)/);
    expect(() => new (nn.ReflectionPad2d as unknown as new (...a: unknown[]) => unknown)(1, 2)).toThrow(/ReflectionPad2d: takes at most 1 arguments/);
    expect(() => new nn.Upsample({ mode: 'bilinear' as never, scaleFactor: 2 })).toThrow(/Upsample: argument 'mode' must be 'nearest'/);
    m.stateDict().forEach((t) => t.dispose());
    m.parameters().forEach((t) => t.dispose());
  });
});

describe('field registration', () => {
  it('a submodule assigned to a field registers under its name (PyTorch keys)', () => {
    const g = new Generator(k.nn);
    expect(g.namedParameters().map(([n]) => n)).toEqual(['main.0.weight', 'main.0.bias', 'main.2.weight']);
    expect([...g.stateDict().keys()]).toEqual(['main.0.weight', 'main.0.bias', 'main.2.weight']);
    expect(g.parameters().length).toBe(3);
    expect(() => new k.optim.Adam(g.parameters(), 2e-4)).not.toThrow();
  });

  it('registers in assignment order, mixing fields, parameters and registerModule; reassignment replaces', () => {
    const { nn } = k;
    class Net extends nn.Module {
      scale: Tensor;
      enc: InstanceType<typeof nn.Linear>;
      fixed: Tensor;
      dec: InstanceType<typeof nn.Linear> | null;
      constructor() {
        super();
        this.enc = new nn.Linear(2, 2);
        this.scale = nn.Parameter(k.ones([2]));
        this.fixed = k.zeros([2]); // a plain tensor is not a parameter, as in PyTorch
        this.registerModule('extra', new nn.Tanh());
        this.dec = new nn.Linear(2, 1);
      }
      forward(x: Tensor) { return this.dec!.forward(this.enc.forward(x).mul(this.scale)); }
    }
    const n = new Net();
    // PyTorch lists a module's own parameters before its children's.
    expect(n.namedParameters().map(([p]) => p)).toEqual(['scale', 'enc.weight', 'enc.bias', 'dec.weight', 'dec.bias']);
    expect(n.namedChildren().map(([c]) => c)).toEqual(['enc', 'extra', 'dec']);
    n.enc = new nn.Linear(2, 2, false);
    expect(n.namedParameters().map(([p]) => p)).toEqual(['scale', 'enc.weight', 'dec.weight', 'dec.bias']);
    n.dec = null;
    expect(n.namedChildren().map(([c]) => c)).toEqual(['enc', 'extra']);
    // A module kept in a second field is not registered (or updated) twice.
    const shared = new nn.Linear(2, 2);
    class Tied extends nn.Module {
      a = shared;
      b = shared;
      forward(x: Tensor) { return this.b.forward(this.a.forward(x)); }
    }
    expect(new Tied().parameters().length).toBe(2);
    expect(() => { (n as unknown as { enc: number }).enc = 3; }).toThrow(/cannot assign number to 'enc', which holds a submodule/);
  });

  it('modules(), children(), apply() and weights_init as dcgan/main.py writes it', async () => {
    const { nn } = k;
    const d = new nn.Sequential(new nn.Conv2d(3, 8, 4, 2, 1, { bias: false }), new nn.BatchNorm2d(8), new nn.LeakyReLU(0.2, true));
    expect(d.modules().map((m) => m.constructor.name)).toEqual(['Sequential', 'Conv2d', 'BatchNorm2d', 'LeakyReLU']);
    expect(d.children().length).toBe(3);
    const order: string[] = [];
    d.apply((m) => {
      order.push(m.constructor.name);
      const name = m.constructor.name;
      if (name.includes('Conv')) nn.init.normal_((m as InstanceType<typeof nn.Conv2d>).weight.data, 0.0, 0.02);
      else if (name.includes('BatchNorm')) {
        const bn = m as InstanceType<typeof nn.BatchNorm2d>;
        nn.init.normal_(bn.weight!.data, 1.0, 0.02);
        nn.init.constant_(bn.bias!.data, 0);
      }
    });
    expect(order).toEqual(['Conv2d', 'BatchNorm2d', 'LeakyReLU', 'Sequential']);
    const w = Array.from(await (d.at(0) as InstanceType<typeof nn.Conv2d>).weight.toArray());
    const sd = Math.sqrt(w.reduce((p, q) => p + q * q, 0) / w.length);
    expect(Math.abs(sd - 0.02)).toBeLessThan(0.004);
    const bw = Array.from(await (d.at(1) as InstanceType<typeof nn.BatchNorm2d>).weight!.toArray());
    expect(bw.every((v) => Math.abs(v - 1) < 0.1) && bw.some((v) => v !== 1)).toBe(true);
  });

  it('prints like PyTorch', () => {
    const { nn } = k;
    const s = new nn.Sequential(new nn.Linear(2, 3), new nn.Tanh(), new nn.Linear(3, 1, false), new nn.Sigmoid());
    expect(String(s)).toBe('Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n  (1): Tanh()\n' +
      '  (2): Linear(in_features=3, out_features=1, bias=False)\n  (3): Sigmoid()\n)');
    const g = new Generator(nn);
    expect(g.toString()).toBe('Generator(\n  (main): Sequential(\n    (0): Linear(in_features=2, out_features=3, bias=True)\n' +
      '    (1): ReLU(inplace=True)\n    (2): Linear(in_features=3, out_features=1, bias=False)\n  )\n)');
    expect(String(new nn.ConvTranspose2d(100, 512, 4, 1, 0, { bias: false }))).toBe('ConvTranspose2d(100, 512, kernel_size=(4, 4), stride=(1, 1), bias=False)');
    expect(String(new nn.Conv2d(3, 64, 4, 2, 1))).toBe('Conv2d(3, 64, kernel_size=(4, 4), stride=(2, 2), padding=(1, 1))');
    expect(String(new nn.BatchNorm2d(64))).toBe('BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)');
    expect(String(new nn.LeakyReLU(0.2, true))).toBe('LeakyReLU(negative_slope=0.2, inplace=True)');
    expect(String(new nn.Flatten())).toBe('Flatten(start_dim=1, end_dim=-1)');
  });
});

describe('in-place writes and tensor idioms', () => {
  it('fill_, zero_, normal_, uniform_, copy_ write in place', async () => {
    const t = k.zeros([2, 3]);
    expect(t.fill_(2.5)).toBe(t);
    expectClose(await t.toArray(), [2.5, 2.5, 2.5, 2.5, 2.5, 2.5], 'fill_');
    t.zero_();
    expectClose(await t.toArray(), [0, 0, 0, 0, 0, 0], 'zero_');
    const u = k.zeros([4096]).uniform_(-2, -1);
    const uv = Array.from(await u.toArray());
    expect(Math.min(...uv)).toBeGreaterThanOrEqual(-2);
    expect(Math.max(...uv)).toBeLessThan(-1);
    const n = k.zeros([4096]).normal_(3, 0.5);
    const nv = Array.from(await n.toArray());
    expect(Math.abs(nv.reduce((p, q) => p + q, 0) / nv.length - 3)).toBeLessThan(0.05);
    t.copy_(k.tensor([1, 2, 3]));
    expectClose(await t.toArray(), [1, 2, 3, 1, 2, 3], 'copy_ broadcasts');
  });

  it('a leaf that requires grad is written only under noGrad or through .data', async () => {
    const w = k.zeros([3], { requiresGrad: true });
    expect(() => w.fill_(1)).toThrow(/a leaf Variable that requires grad is being used in an in-place operation/);
    expect(() => w.normal_(0, 0.02)).toThrow(/normal_: a leaf Variable/);
    expect(() => w.copy_(k.ones([3]))).toThrow(/copy_: a leaf Variable/);
    k.noGrad(() => w.fill_(1));
    expectClose(await w.toArray(), [1, 1, 1], 'under noGrad');
    w.data.fill_(2);
    expectClose(await w.toArray(), [2, 2, 2], 'through .data');
    const y = w.mul(2);
    expect(() => y.zero_()).toThrow(/zero_: .*live autograd graph/);
    // a tensor saved for backward cannot be overwritten before that backward runs
    const x = k.ones([3]);
    const z = w.mul(x).sum();
    expect(() => x.fill_(5)).toThrow(/saved for a backward/);
    z.backward();
  });

  it('size(dim), size(), dim(), numel and view', () => {
    const t = k.zeros([2, 3, 4]);
    expect(t.size()).toEqual([2, 3, 4]);
    expect(t.size(1)).toBe(3);
    expect(t.size(-1)).toBe(4);
    expect(() => t.size(3)).toThrow(/size: dimension out of range/);
    expect(t.dim()).toBe(3);
    expect(t.numel).toBe(24);
    expect(t.view(-1, 4).shape).toEqual([6, 4]);
  });
});

describe('retainGraph', () => {
  it("the blog's loop: lossD.backward({ retainGraph: true }) then G's step through the same fake", async () => {
    const { nn, F } = k;
    k.manualSeed(1);
    const gen = new nn.Sequential(new nn.Linear(4, 8), new nn.LeakyReLU(0.01), new nn.Linear(8, 6), new nn.Tanh());
    const disc = new nn.Sequential(new nn.Linear(6, 8), new nn.LeakyReLU(0.01), new nn.Linear(8, 1), new nn.Sigmoid());
    const optD = new k.optim.Adam(disc.parameters(), 3e-4);
    const optG = new k.optim.Adam(gen.parameters(), 3e-4);
    const before = Array.from(await gen.parameters()[0].toArray());
    const real = k.rand([5, 6]);
    const fake = gen.forward(k.randn([5, 4]));
    const discReal = disc.forward(real).view(-1);
    const lossDReal = F.binaryCrossEntropy(discReal, k.onesLike(discReal));
    const discFake = disc.forward(fake).view(-1);
    const lossDFake = F.binaryCrossEntropy(discFake, k.zerosLike(discFake));
    const lossD = lossDReal.add(lossDFake).div(2);
    disc.zeroGrad();
    lossD.backward({ retainGraph: true });
    optD.step();
    const output = disc.forward(fake).view(-1);
    const lossG = F.binaryCrossEntropy(output, k.onesLike(output));
    gen.zeroGrad();
    lossG.backward();
    const g = gen.parameters()[0].grad;
    expect(g).not.toBeNull();
    expect(Array.from(await g!.toArray()).some((v) => v !== 0)).toBe(true);
    optG.step();
    const after = Array.from(await gen.parameters()[0].toArray());
    expect(after.some((v, i) => v !== before[i])).toBe(true);
  });

  it('without retainGraph the second backward through the freed graph throws, naming the tensor', () => {
    const { nn, F } = k;
    const gen = new nn.Linear(2, 2);
    const disc = new nn.Sequential(new nn.Linear(2, 1), new nn.Sigmoid());
    const fake = gen.forward(k.randn([3, 2]));
    const lossD = F.binaryCrossEntropy(disc.forward(fake), k.zeros([3, 1]));
    lossD.backward();
    const lossG = F.binaryCrossEntropy(disc.forward(fake), k.ones([3, 1]));
    gen.zeroGrad();
    const dGrad = disc.parameters()[0].grad;
    expect(() => lossG.backward()).toThrow(new RegExp(`backward through the graph a second time: tensor #${fake.id} \\(shape \\[3, 2\\], made by linear\\).*retainGraph: true`));
    // nothing was accumulated by the failed call
    expect(disc.parameters()[0].grad).toBe(dGrad);
    expect(gen.parameters()[0].grad).toBeNull();
    expect(() => lossD.backward()).toThrow(/second time/);
  });

  it('retained graphs give the same gradients twice (accumulated)', async () => {
    const x = k.tensor([1, 2, 3]).requiresGrad_();
    const y = x.mul(x).sum();
    y.backward({ retainGraph: true });
    y.backward();
    expectClose(await x.grad!.toArray(), [4, 8, 12], 'accumulated grad');
    expect(() => y.backward({ retain_graph: true } as never)).toThrow(/unknown option 'retain_graph' \(did you mean 'retainGraph'\?\)/);
  });
});
