// Replays of a captured training step make no GPU objects: no buffers, no bind groups, no uniform chunks, and
// the trainer's loop around the replay (batch feed, metrics ring) none either; replay encodes the same
// work as the capture (a pipeline or bind group equal to the previous dispatch's is not set again).
import { beforeAll, describe, expect, it } from 'vitest';
import { backend } from '../../src/autograd/context.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import { buildRun } from '../../src/gan/recipes.js';
import * as k from '../../src/index.js';
import { ParamWriter } from '../../src/backend/uniforms.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

describe('replayed steps', () => {
  it('a Gaussian trainer step, replayed 40 times: no GPU buffer, bind group or uniform memory made; metrics all arrive', async () => {
    const t = new GanTrainer(buildRun({ recipe: 'gaussian', seed: 1 }));
    // Metrics read to the end every 16 steps, so one readback is in flight at a time and its staging buffer
    // is reused (poll() lets up to five fly, and how many depends on the GPU's speed).
    const records = [];
    for (let i = 0; i < 32; i++) { t.trainStep(); if (t.step % 16 === 0) records.push(...await t.metrics()); }
    const be = backend();
    const before = { buffers: be.buffersCreated, groups: be.bindGroupsCreated, other: be.memory().otherBytes, dispatches: be.dispatches };
    for (let i = 0; i < 40; i++) { t.trainStep(); if (t.step % 16 === 0) records.push(...await t.metrics()); }
    expect(be.buffersCreated - before.buffers).toBe(0);
    expect(be.bindGroupsCreated - before.groups).toBe(0);
    expect(be.memory().otherBytes).toBe(before.other);
    expect(be.dispatches - before.dispatches).toBe(40 * t.compileStats!.dispatches);
    expect(t.compileStats).toMatchObject({ captures: 1 });
    records.push(...await t.metrics());
    expect(records.map((r) => r.step)).toEqual(Array.from({ length: 72 }, (_, i) => i + 1));
    expect(records.every((r) => Number.isFinite(r.dLoss) && Number.isFinite(r.gLoss))).toBe(true);
    t.dispose();
    expectNoGpuErrors();
  }, 60_000);

  it('a step whose consecutive dispatches share a pipeline and bind group replays to the eager values bit for bit', async () => {
    // Four SGD updates of one parameter in a row: the same pipeline and buffers four times, momentum making
    // each depend on the last.
    const run = (compiled: boolean) => {
      const p = k.tensor([0.5, -1, 2, 3, -0.25, 7, 1, -2]).requiresGrad_().keep();
      const opt = new k.optim.SGD([p], { lr: 0.1, momentum: 0.9 });
      const body = (d: k.Tensor) => { opt.zeroGrad(); p.mul(d).sum().backward(); for (let i = 0; i < 4; i++) opt.step(); return p.sum(); };
      const step = k.compileStep(body);
      const d = k.tensor([1, 2, 3, 4, 5, 6, 7, 8]).keep();
      for (let i = 0; i < 6; i++) { if (compiled) step.run(d); else k.tidy(() => body(d)); }
      return { p, step };
    };
    const c = run(true);
    const e = run(false);
    expect(c.step.stats).toMatchObject({ captures: 1, replays: 4 });
    expect(Array.from(await c.p.toArray())).toEqual(Array.from(await e.p.toArray()));
    c.step.dispose();
    expectNoGpuErrors();
  });

  it('a ParamWriter refilled after reset() hands back the same buffer with the new words (padded to 16 bytes)', () => {
    const w = new ParamWriter();
    const a = w.u32(7, 2 ** 32 - 1).f32(0.1).bytes();
    expect(Array.from(new Uint32Array(a))).toEqual([7, 2 ** 32 - 1, new Uint32Array(new Float32Array([0.1]).buffer)[0], 0]);
    const b = w.reset().f32(-2).u32(5).bytes();
    expect(b).toBe(a);
    expect(Array.from(new Float32Array(b)).slice(0, 1)).toEqual([-2]);
    expect(Array.from(new Uint32Array(b)).slice(1)).toEqual([5, 0, 0]);
    // A different size gets a new buffer; a fresh writer never shares one.
    expect(w.reset().u32(1, 2, 3, 4, 5).bytes().byteLength).toBe(32);
    expect(new ParamWriter().u32(1).bytes()).not.toBe(new ParamWriter().u32(1).bytes());
  });
});
