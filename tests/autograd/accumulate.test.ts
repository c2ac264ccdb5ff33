// Gradients accumulate into an existing .grad in place (PyTorch's AccumulateGrad), so a compiled step that
// does not zero them between runs keeps accumulating on every replay exactly as the eager step does.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectNoGpuErrors, setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('gradient accumulation', () => {
  it('keeps the .grad tensor and adds into it', async () => {
    const w = k.tensor([1, 2, 3], undefined, { requiresGrad: true });
    w.mul(2).sum().backward();
    const g = w.grad!;
    w.mul(3).sum().backward();
    expect(w.grad).toBe(g);
    expect(Array.from(await g.toArray())).toEqual([5, 5, 5]);
    w.dispose();
    g.dispose();
  });

  for (const conv of [false, true]) {
    it(`a compiled step without zeroGrad accumulates as the eager one, bit for bit (${conv ? 'conv + instance norm' : 'MLP'})`, async () => {
      const { nn, F } = k;
      const go = async (compile: boolean) => {
        k.manualSeed(1);
        const net = conv
          ? new nn.Sequential(new nn.Conv2d(1, 2, 3, 1, 1), new nn.InstanceNorm2d(2), new nn.LeakyReLU(0.2), new nn.Flatten(), new nn.Linear(32, 1))
          : new nn.Sequential(new nn.Linear(3, 4), new nn.LeakyReLU(0.2), new nn.Linear(4, 1));
        const x = conv ? k.randn([2, 1, 4, 4]) : k.randn([5, 3]);
        const target = k.zeros(conv ? [2, 1] : [5, 1]);
        const fn = () => { const l = F.mseLoss(net.forward(x), target); l.backward(); return l.detach(); };
        const step = k.compileStep(fn);
        for (let i = 0; i < 6; i++) {
          if (compile) step.run();
          else k.tidy(() => { fn(); });
        }
        const grads = await Promise.all(net.parameters().map(async (p) => Array.from(await p.grad!.toArray())));
        if (compile) expect(step.stats.replays).toBe(4);
        step.dispose();
        net.parameters().forEach((p) => { p.grad?.dispose(); p.dispose(); });
        x.dispose();
        target.dispose();
        return grads;
      };
      const eager = await go(false);
      expect(await go(true)).toEqual(eager);
    });
  }
});
