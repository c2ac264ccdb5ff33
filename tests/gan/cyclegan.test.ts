// CycleGAN: networks against the PyTorch reference (keys, shapes, outputs), LSGAN and the image pool against
// hand-computed values, compiled == eager, bit-exact resume, and a short run that lowers the cycle loss.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { F, getRngState, nn, noGrad, optim, setRngState, tensor } from '../../src/index.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { groupTensors } from '../../src/gan/checkpoint.js';
import { GANLoss } from '../../src/gan/gan_loss.js';
import { CycleGanTrainer, cycleLr, HostRng, ImagePool } from '../../src/gan/cyclegan.js';
import { nLayerDiscriminator, resnetGenerator } from '../../src/gan/cyclegan_nets.js';
import { buildCycleGan, styleB } from '../../src/gan/cyclegan_task.js';
import { decodeCycleGanCheckpoint, encodeCycleGanCheckpoint, restoreCycleGanCheckpoint } from '../../src/gan/cyclegan_checkpoint.js';
import type { RunConfig } from '../../src/gan/recipes.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

async function values(m: nn.Module): Promise<number[][]> {
  return Promise.all([...m.stateDict().values()].map(async (t) => Array.from(await t.toArray())));
}

describe('CycleGAN networks', () => {
  it('ResNet generator and PatchGAN keys and shapes are the reference\'s', () => {
    const g = resnetGenerator({ inputNc: 3, outputNc: 3 });
    const keys = [...g.stateDict().keys()];
    // ReflectionPad, conv, norm, ReLU, 2 x (conv, norm, ReLU), 9 blocks (model.10 .. model.18), 2 x (convT, norm, ReLU), pad, conv, tanh.
    expect(keys.length).toBe(2 * (1 + 2 + 9 * 2 + 2 + 1));
    expect(keys.slice(0, 4)).toEqual(['model.1.weight', 'model.1.bias', 'model.4.weight', 'model.4.bias']);
    expect(keys).toContain('model.10.conv_block.1.weight');
    expect(keys).toContain('model.18.conv_block.5.bias');
    expect(g.stateDict().get('model.19.weight')!.shape).toEqual([256, 128, 3, 3]);
    expect(g.stateDict().get('model.22.weight')!.shape).toEqual([128, 64, 3, 3]);
    expect(g.stateDict().get('model.26.weight')!.shape).toEqual([3, 64, 7, 7]);
    const d = nLayerDiscriminator({ inputNc: 3 });
    expect([...d.stateDict()].map(([k, t]) => `${k}:${t.shape.join('x')}`)).toEqual([
      'model.0.weight:64x3x4x4', 'model.0.bias:64', 'model.2.weight:128x64x4x4', 'model.2.bias:128',
      'model.5.weight:256x128x4x4', 'model.5.bias:256', 'model.8.weight:512x256x4x4', 'model.8.bias:512',
      'model.11.weight:1x512x4x4', 'model.11.bias:1']);
    expect(() => resnetGenerator({ inputNc: 3, outputNc: 3, nBlocks: -1 })).toThrow(/nBlocks must be an integer >= 0, got -1/);
  });

  it('networks exported from the PyTorch reference load and give its outputs within 1e-4', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/cyclegan_nets.safetensors', import.meta.url)));
    const { tensors } = decodeSafetensors(bytes, 'cyclegan_nets.safetensors');
    const group = (p: string) => new Map([...tensors].filter(([k]) => k.startsWith(p)).map(([k, v]) => [k.slice(p.length), v]));
    const G = resnetGenerator({ inputNc: 3, outputNc: 3, ngf: 4, nBlocks: 2 });
    const D = nLayerDiscriminator({ inputNc: 3, ndf: 4 });
    G.loadStateDict(groupTensors(group('G.')));
    D.loadStateDict(groupTensors(group('D.')));
    const x = tensors.get('x')!;
    const out = G.forward(tensor(x.data, x.shape));
    expect(out.shape).toEqual([2, 3, 32, 32]);
    const dOut = D.forward(out);
    expect(dOut.shape).toEqual([2, 1, 2, 2]);
    for (const [got, want] of [[await out.toArray(), tensors.get('G_out')!.data], [await dOut.toArray(), tensors.get('D_out')!.data]] as const) {
      let worst = 0;
      got.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - want[i])); });
      expect(worst).toBeLessThan(1e-4);
    }
    expectNoGpuErrors();
  }, 60_000);
});

describe('LSGAN and the image pool', () => {
  it('LSGAN: D loss is half of MSE(real, 1) + MSE(fake, 0); G loss is MSE(D(G(z)), 1)', async () => {
    // D = Linear(1, 1) with weight 1 and bias 0 (lr 0: it stays so), so D's scores are its inputs.
    const D = new nn.Linear(1, 1);
    noGrad(() => { F.copy_(D.weight, tensor([[1]])); F.copy_(D.bias!, tensor([0])); });
    const loss = new GANLoss(D, new optim.Adam(D.parameters(), { lr: 0 }), { loss: 'lsgan', dReduction: 'mean' });
    const fake = tensor([[0.5], [-1]]);
    const real = tensor([[2], [1]]);
    const d = loss.updateD(fake, real);
    // ((0.25 + 1) / 2 + (1 + 0) / 2) / 2 = 0.5625
    expect(await d.dLoss.item()).toBeCloseTo(0.5625, 6);
    // ((0.5 - 1)^2 + (-1 - 1)^2) / 2 = 2.125
    expect(await loss.generatorLoss(fake).item()).toBeCloseTo(2.125, 6);
    expect(() => new GANLoss(D, new optim.Adam(D.parameters()), { loss: 'lsgan', objective: 'minimax' })).toThrow(/minimax' does not apply/);
  });

  it('the pool returns the fakes while it fills, then swaps half of them with stored ones', async () => {
    const pool = new ImagePool(2, [1], 7);
    const q = async (v: number[]) => {
      const p = pool.plan(v.length);
      const out = pool.query(tensor(v, [v.length, 1]), tensor(p.returned, [v.length, 2 + v.length]), tensor(p.kept, [2, 2 + v.length]));
      return { out: Array.from(await out.toArray()), stored: Array.from(await pool.images.toArray()) };
    };
    expect(await q([10])).toEqual({ out: [10], stored: [10, 0] });
    expect(await q([20])).toEqual({ out: [20], stored: [10, 20] });
    // From here each image draws u; u > 0.5 swaps it with slot floor(u' * 2). The same seed replays the draws.
    const rng = new HostRng(7);
    const want: number[] = [];
    const slots = [10, 20];
    for (const v of [30, 40, 50]) {
      if (rng.next() > 0.5) { const id = Math.floor(rng.next() * 2); want.push(slots[id]); slots[id] = v; } else want.push(v);
    }
    const got = await q([30, 40, 50]);
    expect(got.out).toEqual(want);
    expect(got.stored).toEqual(slots);
    // With 3 draws from seed 7 at least one swap and one pass-through happen (the test would not notice otherwise).
    expect(want.some((v, i) => v !== [30, 40, 50][i])).toBe(true);
    pool.dispose();
  });

  it('the learning rate is constant for the first half, then falls linearly', () => {
    const lrs = Array.from({ length: 10 }, (_, s) => cycleLr(1, s, 10));
    expect(lrs.slice(0, 4)).toEqual([1, 1, 1, 1]);
    expect(lrs[9]).toBeCloseTo(1 / 6, 12);
    for (let s = 5; s < 10; s++) expect(lrs[s - 1] - lrs[s]).toBeCloseTo(1 / 6, 12);
  });

  it('domain B digits are dilated and inverted', () => {
    const img = new Float32Array(784);
    img[14 * 28 + 14] = 1;
    const b = styleB(img);
    expect(b[14 * 28 + 14]).toBe(0);
    expect(b[13 * 28 + 13]).toBe(0);
    expect(b[12 * 28 + 14]).toBe(1);
  });
});

const images = (n: number, seed: number) => new Float32Array(n * 1024).map((_, i) => Math.tanh(Math.sin(i * 0.37 + seed) * 2));
const tiny: RunConfig = { recipe: 'cyclegan', seed: 3, ngf: 2, blocks: 1, ndf: 2, batch: 2, steps: 40 };
// A 3-image pool so that the swap path of the pool runs within a few steps.
const tinyRun = (compile = true) => new CycleGanTrainer({
  ...buildCycleGan(tiny, { kind: 'images', a: images(6, 0), b: images(6, 1), channels: 1, side: 32 }, { poolSize: 3 }), compile,
});

async function state(t: CycleGanTrainer): Promise<number[][]> {
  return [...(await values(t.s.GA)), ...(await values(t.s.GB)), ...(await values(t.s.DA)), ...(await values(t.s.DB)),
    Array.from(await t.s.poolA.images.toArray()), Array.from(await t.s.poolB.images.toArray())];
}

/** What the networks compute on a fixed batch, and the pools. */
async function outputs(t: CycleGanTrainer): Promise<number[][]> {
  const x = tensor(images(2, 5), [2, 1, 32, 32]);
  const out = noGrad(() => [t.s.GA.forward(x), t.s.GB.forward(x), t.s.DA.forward(x), t.s.DB.forward(x)]);
  const v = await Promise.all([...out, t.s.poolA.images, t.s.poolB.images].map(async (y) => Array.from(await y.toArray())));
  [x, ...out].forEach((y) => y.dispose());
  return v;
}

describe('CycleGAN training', () => {
  it('each of 20 compiled steps equals an eager step from the same state (pools swapping, lr decaying)', async () => {
    // Step by step from one shared state: a replayed step (fused kernels) must give the eager step's bits for
    // everything (capture, inputs, pools, RNG, lr schedule): parameters, optimizer state, what the networks compute.
    const comp = tinyRun(true);
    const eager = tinyRun(false);
    for (let i = 0; i < 20; i++) {
      await comp.metrics();
      restoreCycleGanCheckpoint(eager, decodeCycleGanCheckpoint(await encodeCycleGanCheckpoint(comp, tiny)));
      const rng = getRngState();
      comp.trainStep();
      const rc = await comp.metrics();
      const after = getRngState();
      setRngState(rng);
      eager.trainStep();
      const re = await eager.metrics();
      expect(getRngState()).toEqual(after);
      expect(rc).toEqual(re);
      expect(Buffer.from(await encodeCycleGanCheckpoint(comp, tiny)).equals(Buffer.from(await encodeCycleGanCheckpoint(eager, tiny)))).toBe(true);
      expect(await outputs(comp)).toEqual(await outputs(eager));
      expect([comp.s.poolA.count, comp.s.poolA.rng.state]).toEqual([eager.s.poolA.count, eager.s.poolA.rng.state]);
    }
    expect(comp.compileStats).toMatchObject({ eagerRuns: 1, captures: 1, replays: 18 });
    expect(comp.s.poolA.count).toBe(3);
    comp.dispose();
    eager.dispose();
    expectNoGpuErrors();
  }, 240_000);

  it('resume from a checkpoint continues bit for bit (networks, optimizers, pools, RNG)', async () => {
    // Eager steps on both sides: bit for bit. (A compiled run's first step after a restore is its eager warm-up,
    // so against an uninterrupted compiled run it matches to the fused kernels' rounding; see the test above.)
    const straight = tinyRun(false);
    for (let i = 0; i < 6; i++) straight.trainStep();
    await straight.metrics();
    const want = await state(straight);
    straight.dispose();
    const part = tinyRun(false);
    for (let i = 0; i < 3; i++) part.trainStep();
    await part.metrics();
    const bytes = await encodeCycleGanCheckpoint(part, tiny);
    part.dispose();
    const ck = decodeCycleGanCheckpoint(bytes, 'ck');
    expect(ck.step).toBe(3);
    expect([...ck.groups.keys()].sort()).toEqual(['D_A', 'D_B', 'G_A', 'G_B', 'optD_A', 'optD_B', 'optG', 'pool_A', 'pool_B']);
    const r = tinyRun(false);
    restoreCycleGanCheckpoint(r, ck);
    expect(Buffer.from(await encodeCycleGanCheckpoint(r, tiny)).equals(Buffer.from(bytes))).toBe(true);
    for (let i = 0; i < 3; i++) r.trainStep();
    expect((await r.metrics()).map((x) => x.step)).toEqual([4, 5, 6]);
    expect(await state(r)).toEqual(want);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 5] ^= 0x10;
    expect(() => decodeCycleGanCheckpoint(flipped, 'ck')).toThrow(/CRC-32/);
    r.dispose();
    expectNoGpuErrors();
  }, 240_000);

  it('the 2-D toy lowers the cycle loss within a few hundred steps', async () => {
    const t = new CycleGanTrainer(buildCycleGan({ recipe: 'cyclegan', seed: 1, task: 'toy', steps: 200 }, { kind: 'toy' }));
    for (let i = 0; i < 200; i++) t.trainStep();
    const rec = await t.metrics();
    const cyc = (r: typeof rec) => r.reduce((a, x) => a + x.cycle_A + x.cycle_B, 0) / r.length;
    expect(rec.every((r) => Object.values(r).every(Number.isFinite))).toBe(true);
    expect(cyc(rec.slice(-20))).toBeLessThan(0.3 * cyc(rec.slice(0, 20)));
    t.dispose();
  }, 120_000);

  it('refuses bad configurations before any GPU work', () => {
    const src = { kind: 'images' as const, a: images(2, 0), b: images(2, 1), channels: 1 as const, side: 32 };
    expect(() => buildCycleGan({ ...tiny, batch: 3 }, src)).toThrow(/batch 3 is larger than domain A's 2 images/);
    expect(() => buildCycleGan({ ...tiny, dataA: 'x' }, src)).toThrow(/both --data-a and --data-b/);
    expect(() => buildCycleGan({ ...tiny, size: 48 }, src)).toThrow(/size must be 32, 64, 128 or 256, got 48/);
    expect(() => buildCycleGan({ ...tiny, task: 'toy' }, { kind: 'toy' })).toThrow(/--ngf, --blocks and --ndf shape the image networks/);
  });
});
