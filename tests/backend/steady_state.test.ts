// A repeated eager step reaches a steady state in GPU objects: no new buffers in the pool and no new bind groups
// after the first steps. Each bind group lives natively until its wrapper is collected, which never happens in a
// loop that does not yield; on lavapipe ~62,000 of them exhausted the process's memory mappings and segfaulted.
import { beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../src/autograd/context.js';
import { CycleGanTrainer } from '../../src/gan/cyclegan.js';
import { buildCycleGan } from '../../src/gan/cyclegan_task.js';
import type { RunConfig } from '../../src/gan/recipes.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('steady state of an eager loop', () => {
  it('the pool hands out the oldest free buffer of a size class, whatever the release order', () => {
    const be = backend();
    const bs = Array.from({ length: 6 }, () => be.acquire(1000));
    for (const i of [3, 0, 5, 1, 4, 2]) be.release(bs[i]);
    const again = Array.from({ length: 6 }, () => be.acquire(1000));
    expect(again.map((b) => b.buffer)).toEqual(bs.map((b) => b.buffer));
    again.forEach((b) => be.release(b));
  });

  it('40 eager tiny-CycleGAN steps without a readback: no new bind groups once steady, no crash', async () => {
    const images = (n: number, seed: number) => new Float32Array(n * 1024).map((_, i) => Math.tanh(Math.sin(i * 0.37 + seed) * 2));
    const tiny: RunConfig = { recipe: 'cyclegan', seed: 3, ngf: 2, blocks: 1, ndf: 2, batch: 2, steps: 40 };
    const t = new CycleGanTrainer({
      ...buildCycleGan(tiny, { kind: 'images', a: images(6, 0), b: images(6, 1), channels: 1, side: 32 }, { poolSize: 3 }), compile: false,
    });
    const be = backend();
    const created: number[] = [];
    for (let i = 0; i < 40; i++) {
      const before = be.bindGroupsCreated;
      t.trainStep();
      created.push(be.bindGroupsCreated - before);
    }
    // Without the steady state each step made ~2,200 bind groups and the 29th step crashed the process.
    expect(created[0]).toBeGreaterThan(1000);
    expect(created.slice(30)).toEqual(new Array(10).fill(0));
    const records = await t.metrics();
    expect(records).toHaveLength(40);
    expect(records.every((r) => Number.isFinite(r.cycle_A) && Number.isFinite(r.D_A))).toBe(true);
    t.dispose();
    expectNoGpuErrors();
  }, 60_000);
});
