// PyTorch's loss options as composites (crossEntropy weight / ignoreIndex / labelSmoothing, nllLoss,
// BCE-with-logits weight / posWeight) and max pooling, against PyTorch (float64) values and gradients from
// scripts/make_loss_option_fixtures.py; plus int32 comparisons, lr schedulers, initialisers and expandAs/viewAs.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors, fixture, setup } from '../helpers.js';
import type { Tensor } from '../../src/index.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

interface Arr { data: number[]; shape: number[]; int: boolean }
interface Case {
  name: string; x: number[]; xShape: number[]; extra: Record<string, Arr>; out: number[]; outShape: number[];
  cot: number[]; grad: number[];
  kiln: { op: string; reduction?: 'mean' | 'sum' | 'none'; weight?: boolean; posWeight?: boolean; ignoreIndex?: number;
    labelSmoothing?: number; scale?: number; kernel?: number | [number, number] };
}
const { cases } = fixture<{ cases: Case[] }>('loss_options.json');

describe('loss options and pooling against PyTorch', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const live = k.memory().liveTensors;
      const x = k.tensor(c.x, c.xShape, { requiresGrad: true });
      const e: Record<string, Tensor> = {};
      for (const [name, a] of Object.entries(c.extra)) e[name] = k.tensor(a.data, a.shape, { dtype: a.int ? 'int32' : 'float32' });
      const o = c.kiln;
      const run = (): Tensor => {
        switch (o.op) {
          case 'crossEntropy': return k.F.crossEntropy(x, e.labels, { reduction: o.reduction, weight: o.weight ? e.weight : undefined, ignoreIndex: o.ignoreIndex, labelSmoothing: o.labelSmoothing });
          case 'nllLoss': return k.F.nllLoss(k.F.logSoftmax(x, 1), e.labels, { reduction: o.reduction, weight: o.weight ? e.weight : undefined, ignoreIndex: o.ignoreIndex });
          case 'bceWithLogits': return k.F.binaryCrossEntropyWithLogits(x.mul(o.scale!), e.target, { reduction: o.reduction, weight: o.weight ? e.weight : undefined, posWeight: o.posWeight ? e.posWeight : undefined });
          case 'maxPool2d': return k.F.maxPool2d(x, o.kernel!);
          default: throw new Error(`unknown op ${o.op}`);
        }
      };
      const cot = k.tensor(c.cot, c.outShape);
      // Forward and backward in one scope: intermediates the caller made (x * scale, logSoftmax) live until backward.
      const y = k.tidy(() => { const out = run(); out.mul(cot).sum().backward(); return out; });
      expect(y.shape).toEqual(c.outShape);
      expectClose(await y.toArray(), c.out, `${c.name} forward`, 1e-5, 1e-4);
      expectClose(await x.grad!.toArray(), c.grad, `${c.name} gradient`, 1e-5, 1e-4);
      for (const t of [x, y, cot, ...Object.values(e)]) t.dispose();
      expect(k.memory().liveTensors).toBe(live);
    });
  }

  it('the module forms take the same options: CrossEntropyLoss({ weight, ignoreIndex, labelSmoothing }), NLLLoss, BCEWithLogitsLoss({ posWeight })', async () => {
    const c = cases.find((q) => q.name === 'crossEntropy all three mean')!;
    const x = k.tensor(c.x, c.xShape);
    const labels = k.tensor(c.extra.labels.data, c.extra.labels.shape, { dtype: 'int32' });
    const w = k.tensor(c.extra.weight.data, c.extra.weight.shape);
    const loss = new k.nn.CrossEntropyLoss({ weight: w, ignoreIndex: 2, labelSmoothing: 0.1 });
    const y = loss.forward(x, labels);
    expectClose(await y.toArray(), c.out, 'CrossEntropyLoss', 1e-5, 1e-4);
    expect(() => new k.nn.CrossEntropyLoss({ label_smoothing: 0.1 } as never)).toThrow(/CrossEntropyLoss: unknown option 'label_smoothing' \(did you mean 'labelSmoothing'\?\)/);
    expect(() => new k.nn.NLLLoss({ labelSmoothing: 0.1 } as never)).toThrow(/NLLLoss: unknown option 'labelSmoothing'/);
    expect(() => new k.nn.MSELoss({ weight: w } as never)).toThrow(/MSELoss: unknown option 'weight'/);
    for (const t of [x, labels, w, y]) t.dispose();
  });

  it('bad class options are refused before any work', () => {
    const x = k.zeros([3, 4]);
    const l = k.tensor([0, 1, 2], undefined, { dtype: 'int32' });
    const live = k.memory().liveTensors;
    expect(() => k.F.crossEntropy(x, l, { weight: k.ones([3]) })).toThrow(/crossEntropy: weight must be a float32 tensor of shape \[4\] \(one per class\), got float32 \[3\]/);
    expect(() => k.F.crossEntropy(x, l, { labelSmoothing: 1.5 })).toThrow(/crossEntropy: labelSmoothing must be between 0.0 and 1.0, got 1.5/);
    expect(() => k.F.crossEntropy(x, l, { ignoreIndex: 0.5 })).toThrow(/crossEntropy: ignoreIndex 0.5 is not an int32/);
    expect(() => k.F.nllLoss(x, k.zeros([3]))).toThrow(/nllLoss: target must be int32 class indices, got float32/);
    expect(() => k.F.binaryCrossEntropyWithLogits(x, x, { posWeight: k.ones([3]) })).toThrow(/binaryCrossEntropyWithLogits: posWeight of shape \[3\] does not broadcast to the input's shape \[3, 4\]/);
    expect(k.memory().liveTensors).toBe(live + 3);
    k.tidy(() => undefined);
  });

  it('maxPool2d refuses overlapping windows and sizes the kernel does not divide; MaxPool2d prints as PyTorch', () => {
    const x = k.zeros([1, 1, 5, 4]);
    expect(() => k.F.maxPool2d(x, 2)).toThrow(/maxPool2d: input \[1, 1, 5, 4\] is not a whole number of 2x2 windows/);
    expect(() => k.F.maxPool2d(x, 3, 1)).toThrow(/maxPool2d: stride 1 differs from kernelSize 3; Kiln pools non-overlapping windows only/);
    expect(() => new k.nn.MaxPool2d(2, 2, 1)).toThrow(/MaxPool2d: argument 'padding' must be 0 \(Kiln's MaxPool2d has no padding\), got 1/);
    expect(new k.nn.MaxPool2d(2).toString()).toBe('MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)');
    x.dispose();
  });
});

describe('int32 comparisons, schedulers, initialisers, expandAs and viewAs', () => {
  it("pred.eq(target) on argmax output and int labels, as PyTorch's accuracy idiom", async () => {
    const logits = k.tensor([[0.1, 2, 0.3], [3, 0, 1], [0, 0, 5], [1, 4, 0]]);
    const labels = k.tensor([1, 0, 1, 1], undefined, { dtype: 'int32' });
    const pred = logits.argmax(1);
    const hit = pred.eq(labels);
    expect(Array.from(await hit.toArray())).toEqual([1, 1, 0, 1]);
    const miss = pred.ne(labels);
    expect(Array.from(await miss.toArray())).toEqual([0, 0, 1, 0]);
    const two = pred.eq(2);
    expect(Array.from(await two.toArray())).toEqual([0, 0, 1, 0]);
    for (const t of [logits, labels, pred, hit, miss, two]) t.dispose();
  });

  it('StepLR and LambdaLR set the lr PyTorch sets, and a compiled step reads it on every replay', async () => {
    const p = k.zeros([1], { requiresGrad: true });
    const opt = new k.optim.SGD([p], 1);
    const sched = new k.optim.lr_scheduler.StepLR(opt, 2, 0.5);
    const lrs: number[] = [];
    for (let i = 0; i < 5; i++) { lrs.push(opt.lr); sched.step(); }
    expect(lrs).toEqual([1, 1, 0.5, 0.5, 0.25]);
    expect(sched.getLastLr()).toEqual([0.25]);
    const opt2 = new k.optim.SGD([p], 0.1);
    const lam = new k.optim.lrScheduler.LambdaLR(opt2, (e) => 1 / (e + 1));
    expect(opt2.lr).toBe(0.1);
    lam.step();
    expect(opt2.lr).toBe(0.05);
    expect(() => new k.optim.lrScheduler.StepLR(opt, 0)).toThrow(/StepLR: argument 'stepSize' must be a positive integer, got 0/);
    expect(() => new k.optim.lrScheduler.LambdaLR(opt, 0.5 as never)).toThrow(/LambdaLR: argument 'lrLambda' must be a function of the epoch/);
    // p <- p - lr * 1 each step, compiled: the replays see the scheduler's lr.
    const step = k.compileStep(() => {
      const loss = p.sum();
      loss.backward();
      opt2.step();
      opt2.zeroGrad();
      return loss;
    });
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      seen.push(opt2.lr);
      k.tidy(() => { step.run(); });
      lam.step();
    }
    const expected = -seen.reduce((a, b) => a + b, 0);
    expectClose(await p.toArray(), [expected], 'p after four compiled steps', 1e-6, 1e-5);
    step.dispose();
    p.dispose();
  });

  it('kaimingNormal_ and xavierNormal_ draw with the std PyTorch uses', async () => {
    const w = k.zeros([256, 64, 1, 1]);
    k.nn.init.kaimingNormal_(w, 0, 'fan_in', 'relu');
    const v = Array.from(await w.toArray());
    const std = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / v.length);
    expect(Math.abs(std / (Math.SQRT2 / 8) - 1)).toBeLessThan(0.03);
    const u = k.zeros([100, 200]);
    k.nn.init.xavierNormal_(u, 2);
    const a = Array.from(await u.toArray());
    const std2 = Math.sqrt(a.reduce((s, x) => s + x * x, 0) / a.length);
    expect(Math.abs(std2 / (2 * Math.sqrt(2 / 300)) - 1)).toBeLessThan(0.03);
    expect(() => k.nn.init.kaimingNormal_(k.zeros([3]))).toThrow(/kaimingNormal_: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions/);
    expect(() => k.nn.init.kaimingNormal_(w, { mode: 'fan_avg' } as never)).toThrow(/kaimingNormal_: argument 'mode' must be "fan_in" or "fan_out"/);
    k.tidy(() => undefined);
    w.dispose(); u.dispose();
  });

  it('expandAs and viewAs', async () => {
    const a = k.tensor([[1], [2]]);
    const b = k.zeros([2, 3]);
    const e = a.expandAs(b);
    expect(e.shape).toEqual([2, 3]);
    expect(Array.from(await e.toArray())).toEqual([1, 1, 1, 2, 2, 2]);
    const v = b.viewAs(k.tidy(() => k.zeros([3, 2])));
    expect(v.shape).toEqual([3, 2]);
    expect(() => a.expandAs(3 as never)).toThrow(/expandAs: other must be a Tensor, got 3/);
    for (const t of [a, b, e, v]) t.dispose();
  });
});
