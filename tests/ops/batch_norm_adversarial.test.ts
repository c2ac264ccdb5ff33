// Batch norm's one-kernel forward and backward inside compiled steps, against the same steps run eagerly from
// the same initial state, bit for bit: a layer applied twice a step (a GAN discriminator's real and fake
// halves), gradients accumulated without zeroGrad, no affine parameters, no running statistics, momentum 0 and
// 1, tiny and odd channel counts, and train/eval switched between runs.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { expectNoGpuErrors, setup } from '../helpers.js';
import { expectSameBits, values } from './compare_steps.js';

const { F, nn } = kiln;
beforeAll(async () => { await setup(); });
afterEach(() => expectNoGpuErrors());

type BnOpts = { affine?: boolean; trackRunningStats?: boolean; momentum?: number };

/** conv -> BN2d -> leakyReLU -> linear, applied to two batches in one step; Adam on everything. */
function discriminator(C: number, hw: number, bn: BnOpts, zero: boolean) {
  return () => {
    kiln.manualSeed(C * 100 + hw);
    const conv = new nn.Conv2d(2, C, 3, 2, 1);
    const norm = new nn.BatchNorm2d(C, { ...bn });
    const side = Math.ceil(hw / 2);
    const head = new nn.Linear(C * side * side, 1);
    const net = new nn.Sequential(conv, norm, new nn.LeakyReLU(0.2), new nn.Flatten(), head);
    if (norm.weight) kiln.noGrad(() => { norm.weight!.copy_(kiln.tensor(values(C, 7)).add(2)); norm.bias!.copy_(kiln.tensor(values(C, 8))); });
    const opt = new kiln.optim.Adam(net.parameters(), { lr: 0.01, betas: [0.5, 0.999] });
    const real = kiln.tensor(values(3 * 2 * hw * hw, 9), [3, 2, hw, hw]).mul(2).add(1);
    return {
      fn: () => {
        if (zero) opt.zeroGrad();
        const fake = kiln.randn([3, 2, hw, hw]);
        const loss = F.binaryCrossEntropyWithLogits(net.forward(real), kiln.ones([3, 1]))
          .add(F.binaryCrossEntropyWithLogits(net.forward(fake), kiln.zeros([3, 1])));
        loss.backward();
        opt.step();
        return loss.detach();
      },
      state: () => [...net.stateDict().values()].filter((t) => t.dtype === 'float32' && !t.hostData),
      dispose: () => { net.parameters().forEach((p) => p.dispose()); real.dispose(); },
    };
  };
}

describe('batch norm in compiled steps, bit for bit with the eager step', () => {
  const cases: [number, number, BnOpts, boolean][] = [
    [1, 3, {}, true],
    [3, 5, {}, false],
    [5, 7, { momentum: 0 }, true],
    [7, 2, { momentum: 1 }, true],
    [3, 5, { affine: false }, true],
    [2, 3, { trackRunningStats: false }, false],
    [3, 5, { affine: false, trackRunningStats: false }, true],
  ];
  for (const [C, hw, bn, zero] of cases) {
    it(`a layer used on two batches: C=${C}, ${hw}x${hw}, ${JSON.stringify(bn)}${zero ? '' : ', gradients never zeroed'}`, async () => {
      await expectSameBits(discriminator(C, hw, bn, zero), 5);
    });
  }

  it('BatchNorm1d over [N, C] and [N, C, L] at two values a channel, gradients accumulated over backward calls', async () => {
    await expectSameBits(() => {
      kiln.manualSeed(3);
      const a = new nn.BatchNorm1d(5);
      const b = new nn.BatchNorm1d(3, { momentum: 0.5 });
      const x = kiln.tensor(values(2 * 5, 31), [2, 5]).requiresGrad_();
      const y = kiln.tensor(values(2 * 3 * 1, 32), [1, 3, 2]).requiresGrad_();
      return {
        fn: () => {
          a.forward(x).pow(2).sum().backward();
          a.forward(x.mul(3)).tanh().sum().backward();
          b.forward(y).mul(kiln.tensor([1, 2, 3], [1, 3, 1])).sum().backward();
          return [x.grad!.clone(), y.grad!.clone()];
        },
        state: () => [...a.parameters(), ...b.parameters(), a.runningMean!, a.runningVar!, b.runningMean!, b.runningVar!, x, y],
        dispose: () => [...a.parameters(), ...b.parameters(), x, y].forEach((t) => t.dispose()),
      };
    }, 5);
  });

  it('retainGraph: two backwards through a training-mode batch norm, and an eval-mode layer\'s gradients', async () => {
    await expectSameBits(() => {
      kiln.manualSeed(4);
      const train = new nn.BatchNorm2d(3);
      const frozen = new nn.BatchNorm2d(3);
      kiln.noGrad(() => { frozen.runningMean!.copy_(kiln.tensor([0.5, -1, 2])); frozen.runningVar!.copy_(kiln.tensor([2, 0.5, 1])); });
      frozen.eval();
      const x = kiln.tensor(values(2 * 3 * 3 * 5, 51), [2, 3, 3, 5]).requiresGrad_();
      return {
        fn: () => {
          const y = frozen.forward(train.forward(x)).tanh();
          const l = y.pow(2).mean();
          l.backward({ retainGraph: true });
          l.backward({ retainGraph: true });
          y.sum().backward();
          return [l.detach(), x.grad!.clone()];
        },
        state: () => [...train.parameters(), ...frozen.parameters(), train.runningMean!, train.runningVar!, frozen.runningMean!, frozen.runningVar!, x],
        dispose: () => [...train.parameters(), ...frozen.parameters(), x].forEach((t) => t.dispose()),
      };
    }, 5);
  });

  it('F.batchNorm in training mode without running statistics, weight from a matmul (a non-leaf weight)', async () => {
    await expectSameBits(() => {
      const W = kiln.tensor(values(4 * 3, 41), [4, 3]).requiresGrad_();
      const v = kiln.tensor(values(4, 42), [1, 4]).requiresGrad_();
      const x = kiln.tensor(values(6 * 3 * 5, 43), [6, 3, 5]);
      return {
        fn: () => {
          const w = v.matmul(W).reshape([3]);
          F.batchNorm(x, null, null, w, w.mul(0.5), { training: true }).pow(2).mean().backward();
          return [W.grad!.clone(), v.grad!.clone()];
        },
        state: () => [W, v],
        dispose: () => [W, v, x].forEach((t) => t.dispose()),
      };
    }, 5);
  });
});

describe('batch norm and conv results copied over their own inputs', () => {
  // The producer reads every element of its input (channel sums, a 3x3 window): storing its result straight
  // into the input's buffer would read values already overwritten, so the copy must stay.
  it('x.copy_(batchNorm(x)), x.copy_(conv2d(x)) inside a step', async () => {
    await expectSameBits(() => {
      const x = kiln.tensor(values(2 * 3 * 5 * 5, 61), [2, 3, 5, 5]);
      const w = kiln.tensor(values(3 * 3 * 3 * 3, 62), [3, 3, 3, 3]).mul(0.3);
      return {
        fn: () => kiln.noGrad(() => {
          x.copy_(F.batchNorm(x, null, null, null, null, { training: true }));
          x.copy_(F.conv2d(x, w, null, { padding: 1 }).tanh());
          return x.sum();
        }),
        state: () => [x],
        dispose: () => [x, w].forEach((t) => t.dispose()),
      };
    }, 5);
  });
});

describe('batch norm mode switches between compiled runs', () => {
  // The layer's training flag is host state the recording bakes in: switching it between runs must capture
  // again (or raise), never replay the other mode's recording.
  it('net.eval() / net.train() between runs give what the eager step gives', async () => {
    const make = () => {
      kiln.manualSeed(5);
      const net = new nn.Sequential(new nn.Linear(3, 4), new nn.BatchNorm1d(4), new nn.Tanh());
      const x = kiln.tensor(values(6 * 3, 51), [6, 3]);
      return {
        net,
        world: {
          fn: () => kiln.noGrad(() => net.forward(x).sum(1)),
          state: () => [...net.stateDict().values()].filter((t) => t.dtype === 'float32' && !t.hostData),
          dispose: () => { net.parameters().forEach((p) => p.dispose()); x.dispose(); },
        },
      };
    };
    // train, train, train (captured), eval, eval, train, eval
    const modes = [true, true, true, true, false, false, true, false];
    const runs = async (compile: boolean) => {
      const { net, world } = make();
      const step = kiln.compileStep(world.fn);
      const out: number[][] = [];
      for (const m of modes) {
        if (m) net.train(); else net.eval();
        const r = compile ? step.run() : kiln.tidy(() => world.fn());
        out.push(Array.from(await r.toArray()));
        if (!compile) r.dispose();
      }
      const bn = net.namedModules().map(([, m]) => m).find((m) => m instanceof nn.BatchNorm1d) as InstanceType<typeof nn.BatchNorm1d>;
      const stats = [Array.from(await bn.runningMean!.toArray()), Array.from(await bn.runningVar!.toArray()), bn.numBatchesTracked];
      step.dispose();
      world.dispose();
      return { out, stats };
    };
    const eager = await runs(false);
    let compiled: Awaited<ReturnType<typeof runs>> | null = null;
    try {
      compiled = await runs(true);
    } catch (e) {
      // Raising is acceptable; it must name the mode change.
      expect(String(e)).toMatch(/train|eval|mode/i);
      return;
    }
    compiled.out.forEach((o, r) => expect(o, `run ${r} (${modes[r] ? 'train' : 'eval'})`).toEqual(eager.out[r]));
    expect(compiled.stats).toEqual(eager.stats);
  });
});
