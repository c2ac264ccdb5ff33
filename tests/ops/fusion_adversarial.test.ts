// compileStep against the eager step, bit for bit, on programs built to trip the capture's rewrites: leaves
// read by several kinds of kernels, gradients accumulated over several backward calls and replays, .grad read
// between accumulations, stacks of values from different kernels at unaligned offsets, in-place writes to
// buffers the step also reads.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { expectNoGpuErrors, setup } from '../helpers.js';
import { expectSameBits, values } from './compare_steps.js';

const { F, nn } = kiln;
beforeAll(async () => { await setup(); });
afterEach(() => expectNoGpuErrors());

const leaf = (shape: number[], seed: number) => kiln.tensor(values(shape.reduce((p, q) => p * q, 1), seed), shape).requiresGrad_();

describe('compiled == eager, bit for bit, adversarial steps', () => {
  it('a leaf read by a matmul, a pointwise op and a broadcast; gradients accumulated over replays', async () => {
    await expectSameBits(() => {
      const W = leaf([5, 7], 1);
      const b = leaf([7], 2);
      const x = kiln.tensor(values(9 * 5, 3), [9, 5]);
      return {
        fn: () => {
          const h = x.matmul(W).add(b).tanh();
          const loss = h.mul(W.sum(0)).sum().add(W.mul(W).mean()).add(h.add(W.max(0)).pow(2).mean());
          loss.backward();
          return [loss.detach(), W.grad!.clone()];
        },
        state: () => [W, b],
        dispose: () => [W, b, x].forEach((t) => t.dispose()),
      };
    }, 6);
  });

  it('conv weights shared by two convs (one strided) and a pointwise penalty, never zeroed', async () => {
    await expectSameBits(() => {
      kiln.manualSeed(11);
      const conv = new nn.Conv2d(3, 5, 3, 1, 1);
      const x = kiln.tensor(values(2 * 3 * 7 * 7, 12), [2, 3, 7, 7]);
      return {
        fn: () => {
          const a = conv.forward(x).relu();
          const c = F.conv2d(x.mul(0.5), conv.weight, conv.bias, { stride: 2, padding: 1 }).leakyRelu(0.1);
          const loss = a.mean().add(c.pow(2).sum()).add(conv.weight.abs().sum().mul(1e-3));
          loss.backward();
          return loss.detach();
        },
        state: () => conv.parameters(),
        dispose: () => { conv.parameters().forEach((p) => p.dispose()); x.dispose(); },
      };
    }, 5);
  });

  it('several backward calls in one step, .grad cloned between them, no zeroGrad', async () => {
    await expectSameBits(() => {
      const W = leaf([6, 6], 21);
      const v = leaf([6], 22);
      const x = kiln.tensor(values(4 * 6, 23), [4, 6]);
      return {
        fn: () => {
          x.matmul(W).add(v).sigmoid().sum().backward();
          const g1 = W.grad!.clone();
          const gv = v.grad!.mul(2);
          F.mseLoss(x.matmul(W.transpose(0, 1)), x).backward();
          const g2 = W.grad!.clone();
          W.mul(v).sum().backward();
          return [g1, gv, g2, W.grad!.clone(), v.grad!.clone()];
        },
        state: () => [W, v],
        dispose: () => [W, v, x].forEach((t) => t.dispose()),
      };
    }, 5);
  });

  it('retainGraph: two backwards through one graph, then a third from a new root', async () => {
    await expectSameBits(() => {
      const W = leaf([4, 3], 31);
      const x = kiln.tensor(values(5 * 4, 32), [5, 4]);
      return {
        fn: () => {
          const h = x.matmul(W).tanh();
          const l = h.pow(2).sum();
          l.backward({ retainGraph: true });
          l.backward({ retainGraph: true });
          h.sum().backward();
          return [l.detach(), W.grad!.clone()];
        },
        state: () => [W],
        dispose: () => [W, x].forEach((t) => t.dispose()),
      };
    }, 5);
  });

  it('a parameter used as a weight and as an input (W W^T, W @ W, linear(W, W)), with Adam', async () => {
    await expectSameBits(() => {
      const W = leaf([6, 6], 41);
      const b = leaf([6], 42);
      const opt = new kiln.optim.Adam([W, b], { lr: 0.01 });
      return {
        fn: () => {
          opt.zeroGrad();
          const loss = F.linear(W, W, b).tanh().sum().add(W.matmul(W).pow(2).mean()).add(W.transpose(0, 1).matmul(W).sum().mul(0.01));
          loss.backward();
          opt.step();
          return loss.detach();
        },
        state: () => [W, b],
        dispose: () => [W, b].forEach((t) => t.dispose()),
      };
    }, 6);
  });

  it('stacked gradients: the .grad of many scalar leaves accumulated and stacked each step', async () => {
    await expectSameBits(() => {
      const ps = Array.from({ length: 9 }, (_, i) => leaf([1], 60 + i));
      const x = kiln.tensor(values(13, 70), [13]);
      return {
        fn: () => {
          const loss = ps.reduce((acc, p, i) => acc.add(x.mul(p).add(i).tanh().sum()), kiln.tensor(0));
          loss.backward();
          return kiln.stack(ps.map((p) => p.grad!.reshape([]))).mul(1);
        },
        state: () => ps,
        dispose: () => { ps.forEach((p) => p.dispose()); x.dispose(); },
      };
    }, 5);
  });

  it('in-place copy_ into a buffer the step reads before and after (running average, scratch reuse)', async () => {
    await expectSameBits(() => {
      const W = leaf([5, 4], 81);
      const avg = kiln.tensor(values(5 * 4, 82), [5, 4]);
      const scratch = kiln.zeros([3, 4]);
      const x = kiln.tensor(values(3 * 5, 83), [3, 5]);
      return {
        fn: () => {
          const before = x.matmul(avg).sum();
          const y = x.matmul(W);
          kiln.noGrad(() => {
            scratch.copy_(y.detach().tanh());
            avg.copy_(avg.mul(0.9).add(W.detach().mul(0.1)));
          });
          const loss = y.mul(scratch).sum().add(x.matmul(avg).mean());
          loss.backward();
          kiln.noGrad(() => { W.copy_(W.sub(W.grad!.mul(0.01))); W.grad!.zero_(); });
          return [before, loss.detach(), scratch.mul(1)];
        },
        state: () => [W, avg, scratch],
        dispose: () => [W, avg, scratch, x].forEach((t) => t.dispose()),
      };
    }, 6);
  });

  it('copy_ of a matmul into one of its own operands (its output is copied back over its input)', async () => {
    await expectSameBits(() => {
      const M = kiln.tensor(values(8 * 8, 91), [8, 8]).mul(0.3);
      const N = kiln.tensor(values(8 * 8, 92), [8, 8]).mul(0.3);
      return {
        fn: () => {
          kiln.noGrad(() => {
            M.copy_(N.matmul(M).tanh());
            N.copy_(N.matmul(M).add(N));
          });
          return [M.sum(), N.sum()];
        },
        state: () => [M, N],
        dispose: () => [M, N].forEach((t) => t.dispose()),
      };
    }, 5);
  });

  // The mean squared error's gradient (g d + g d, from d * d) added to another gradient of the same leaf: fused
  // into one kernel, the compiler may contract or reassociate across the ops (SPIR-V carries no NoContraction),
  // rounding differently from the eager kernels, which round after every op.
  it('a fused gradient sum (mse + sum) keeps the eager rounding', async () => {
    await expectSameBits(() => {
      const A = leaf([7, 3], 51);
      const t = kiln.tensor(Float32Array.from({ length: 21 }, (_, i) => (i % 4) / 3), [7, 3]);
      return {
        fn: () => { A.grad = null; A.sum().add(F.mseLoss(A, t)).backward(); return A.grad!.clone(); },
        state: () => [A],
        dispose: () => [A, t].forEach((x) => x.dispose()),
      };
    }, 4);
  });

  it('stack and cat of a reduction, losses, a matmul and an argmax-free max at odd sizes and offsets', async () => {
    await expectSameBits(() => {
      const A = leaf([7, 5], 51);
      const B = kiln.tensor(values(5 * 3, 52), [5, 3]);
      const labels = kiln.tensor(Int32Array.from({ length: 7 }, (_, i) => i % 3), [7], { dtype: 'int32' });
      const t = kiln.tensor(Float32Array.from({ length: 21 }, (_, i) => (i % 4) / 3), [7, 3]);
      return {
        fn: () => {
          const logits = A.matmul(B);
          const scalars = [
            logits.sum(), F.crossEntropy(logits, labels), F.binaryCrossEntropy(logits.sigmoid(), t), F.mseLoss(logits, t),
            logits.max(), A.mean(), F.l1Loss(logits, t), logits.exp().sum().log(),
          ];
          const s = kiln.stack(scalars);
          const c = kiln.cat([logits.sum(0), s, A.sum(1), logits.reshape([-1]).narrow(0, 3, 5)]);
          s.sum().add(c.pow(2).sum()).backward();
          return [s.detach(), c.detach(), A.grad!.clone()];
        },
        state: () => [A],
        dispose: () => [A, B, labels, t].forEach((x) => x.dispose()),
      };
    }, 5);
  });

  it('one fused kernel computing two leaves\' gradients, both accumulated in place; .grad read in the forward', async () => {
    const st = await expectSameBits(() => {
      const a = leaf([4, 6], 121);
      const b = leaf([4, 6], 122);
      a.grad = kiln.tensor(values(24, 123), [4, 6]);
      b.grad = kiln.tensor(values(24, 124), [4, 6]);
      return {
        fn: () => {
          // A look-ahead through the gradients accumulated so far (a constant to autograd).
          const ahead = a.sub(a.grad!.mul(0.1));
          const loss = a.mul(b).sum().add(a.add(b).pow(2).sum()).add(ahead.mul(b).tanh().sum());
          loss.backward();
          return loss.detach();
        },
        state: () => [a, b],
        dispose: () => [a, b].forEach((t) => t.dispose()),
      };
    }, 5);
    // At least one of the two in-place accumulations was stored by its producer, not copied.
    expect(st.stats!.kernels.copy ?? 0).toBeLessThan(2);
  });

  it('outputs that are .grad tensors themselves (not clones) stay alive and equal the eager ones', async () => {
    await expectSameBits(() => {
      const w = leaf([3], 101);
      const x = kiln.tensor([1, -2, 0.5]);
      return {
        fn: () => { w.mul(x).tanh().sum().backward(); return w.grad!; },
        state: () => [w],
        dispose: () => [w, x].forEach((t) => t.dispose()),
      };
    }, 5);
  });

  it('a parameter returned as an output of its own update step stays alive', async () => {
    await expectSameBits(() => {
      const w = leaf([4], 111);
      const opt = new kiln.optim.SGD([w], { lr: 0.1, momentum: 0.9 });
      return {
        fn: () => { opt.zeroGrad(); w.pow(2).sum().backward(); opt.step(); return [w]; },
        state: () => [w],
        dispose: () => w.dispose(),
      };
    }, 5);
  });

  it('an input returned as an output is not freed by the step', async () => {
    const x = kiln.tensor([1, 2, 3]);
    const step = kiln.compileStep((a: kiln.Tensor) => [a.mul(2), a]);
    for (let i = 0; i < 4; i++) {
      const [y, z] = step.run(x);
      expect(Array.from(await y.toArray())).toEqual([2, 4, 6]);
      expect(Array.from(await z.toArray())).toEqual([1, 2, 3]);
    }
    expect(x.isDisposed).toBe(false);
    step.dispose();
    x.dispose();
  });
});

describe('results stored straight into unaligned slices of a stack or cat', () => {
  const t = (shape: number[], seed: number) => kiln.tensor(values(shape.reduce((p, q) => p * q, 1), seed), shape);
  const noState = () => [];
  // [name, body, slices]: at least one slice is stored by its producer (fewer copies than slices).
  const slices: [string, () => () => kiln.Tensor, number][] = [
    ['four matmuls (three independent) stacked, 60-byte slices', () => {
      const [A, B, C, D] = [t([3, 5], 1), t([5, 5], 2), t([3, 5], 3), t([5, 5], 4)];
      return () => kiln.stack([A.matmul(B).relu(), C.matmul(D).relu(), A.matmul(D), C.matmul(B).sigmoid()]);
    }, 4],
    ['three convs of odd output sizes', () => {
      const [x, w1, w2] = [t([1, 2, 5, 5], 1), t([3, 2, 3, 3], 2), t([1, 2, 3, 3], 3)];
      return () => kiln.cat([F.conv2d(x, w1).reshape([-1]), F.conv2d(x, w2, null, { padding: 1 }).relu().reshape([-1]), F.conv2d(x.mul(2), w1).reshape([-1])]);
    }, 3],
    ['70 scalars (slices past the first 256 bytes)', () => {
      const xs = Array.from({ length: 70 }, (_, i) => t([5 + (i % 3)], 100 + i));
      return () => kiln.stack(xs.map((x, i) => x.sum().mul(i + 1).add(0.5)));
    }, 70],
    ['nine fused vectors of odd lengths', () => {
      const xs = Array.from({ length: 9 }, (_, i) => t([1 + 2 * i], 200 + i));
      return () => kiln.cat(xs.map((x, i) => x.mul(i + 1).tanh()));
    }, 9],
    ['two batch norms stacked', () => {
      const [x, y] = [t([4, 3, 5], 1), t([4, 3, 5], 2)];
      return () => kiln.stack([F.batchNorm(x, null, null, null, null, { training: true }), F.batchNorm(y, null, null, null, null, { training: true }).relu()]);
    }, 2],
  ];
  for (const [name, body, n] of slices) {
    it(name, async () => {
      const st = await expectSameBits(() => { const f = body(); return { fn: () => kiln.noGrad(f), state: noState }; }, 4);
      expect(st.stats!.kernels.copy ?? 0).toBeLessThan(n);
    });
  }
});

describe('inputs that require grad', () => {
  // The recording feeds a stand-in tensor for each input: gradients the eager step accumulates into an input's
  // .grad must reach it on replays too, or the step must refuse such an input with a clear error.
  it('x.grad of an input accumulates on replays as in the eager step (or the step raises)', async () => {
    const go = async (compile: boolean) => {
      const x = kiln.tensor([1, 2, 3]).requiresGrad_();
      const w = kiln.tensor([0.5, -1, 2]).requiresGrad_();
      const fn = (a: kiln.Tensor) => { a.mul(w).pow(2).sum().backward(); return w.grad!.clone(); };
      const step = kiln.compileStep(fn);
      for (let i = 0; i < 4; i++) {
        const r = compile ? step.run(x) : kiln.tidy(() => fn(x));
        await r.toArray();
        if (!compile) r.dispose();
      }
      const out = [Array.from(await x.grad!.toArray()), Array.from(await w.grad!.toArray())];
      step.dispose();
      [x, w].forEach((t) => { t.grad?.dispose(); t.dispose(); });
      return out;
    };
    const eager = await go(false);
    let compiled: number[][];
    try {
      compiled = await go(true);
    } catch (e) {
      expect(String(e)).toMatch(/compileStep: .*grad/);
      return;
    }
    expect(compiled[0], 'x.grad').toEqual(eager[0]);
    expect(compiled[1], 'w.grad').toEqual(eager[1]);
  });
});

// Last in the file: a validation error is kept in gpuErrors() for the rest of the device's life.
describe('grouped stores into one stacked buffer', () => {
  // Two independent matmuls whose outputs the step cats: each is stored into its slice, the second through a
  // binding from the aligned offset below it, and the grouping pass may run both as one dispatch, where WebGPU
  // forbids two writable bindings of overlapping ranges ([0, 60) and [0, 156) here).
  it('two independent matmuls cat at a 60-byte offset', async () => {
    const t = (shape: number[], seed: number) => kiln.tensor(values(shape.reduce((p, q) => p * q, 1), seed), shape);
    const [A, B, C, D] = [t([3, 5], 1), t([5, 5], 2), t([3, 8], 3), t([8, 8], 4)];
    await expectSameBits(() => ({ fn: () => kiln.noGrad(() => kiln.cat([A.matmul(B).reshape([-1]), C.matmul(D).reshape([-1])])), state: () => [] }), 4);
    [A, B, C, D].forEach((x) => x.dispose());
  });
});
