// The 2-D Gaussian GAN: a short real run of the needle recipe (D-then-G through GANLoss) must move the
// generator toward the target: finite losses, scores in [0, 1], and the implied mean closer to mu.
import { beforeAll, describe, expect, it } from 'vitest';
import { gaussianErrors, gaussianSetup, impliedGaussian } from '../../src/gan/gaussian.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('gaussian GAN (needle recipe)', () => {
  it('trains: losses finite, scores in [0, 1], generator moves toward the target', async () => {
    const s = gaussianSetup({ preset: 'needle', seed: 1 });
    const t = new GanTrainer(s);
    const before = gaussianErrors(...Object.values(await impliedGaussian(s.G)) as [number[], number[][]]);
    const records = [];
    for (let i = 0; i < 600; i++) {
      t.trainStep();
      if ((i + 1) % 100 === 0) records.push(...await t.metrics());
    }
    expect(records.length).toBe(600);
    for (const r of records) {
      for (const v of [r.dLoss, r.gLoss]) expect(Number.isFinite(v)).toBe(true);
      for (const v of [r.realScore, r.fakeScore]) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); }
    }
    const g = await impliedGaussian(s.G);
    const after = gaussianErrors(g.mean, g.cov);
    expect(after.meanError).toBeLessThan(before.meanError);
    expect(after.meanError).toBeLessThan(before.meanError / 2);
    expectNoGpuErrors();
  }, 300_000);
});
