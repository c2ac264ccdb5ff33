// Every recipe runs real steps on the GPU: losses finite, scores in [0, 1], both players' parameters moved.
import { beforeAll, describe, expect, it } from 'vitest';
import { splitMnist } from '../../src/data/mnist.js';
import { buildRun, type ImageSource, type RunConfig } from '../../src/gan/recipes.js';
import { getRngState, randn } from '../../src/index.js';
import { GanTrainer, sampleGenerator } from '../../src/gan/trainer.js';
import { loadMnist } from '../../src/node/mnist.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

const digits = () => ({ images: splitMnist(loadMnist()).train.images.subarray(0, 64 * 784), channels: 1 as const, side: 28 });

async function snapshot(t: GanTrainer): Promise<Float32Array[]> {
  return Promise.all([...t.s.G.parameters(), ...t.s.D.parameters()].map(async (p) => Float32Array.from(await p.toArray())));
}

const cases: [string, RunConfig, boolean][] = [
  ['gaussian needle', { recipe: 'gaussian', seed: 3 }, false],
  ['gaussian d2l', { recipe: 'gaussian', seed: 3, preset: 'd2l' }, false],
  ['mnist-mlp', { recipe: 'mnist-mlp', seed: 3, batch: 8 }, true],
  ['dcgan 32x32x1', { recipe: 'dcgan', seed: 3, batch: 4, width: 4, latent: 16 }, true],
  ['dcgan 64x64x3 minimax', { recipe: 'dcgan', seed: 3, batch: 2, width: 2, latent: 8, size: 64, channels: 3, objective: 'minimax' }, true],
];

describe('GAN recipes train', () => {
  for (const [name, config, images] of cases) {
    it(name, async () => {
      let src: ImageSource | undefined = images ? digits() : undefined;
      if (config.channels === 3) src = { images: new Float32Array(8 * 3 * 64 * 64).map((_, i) => (i % 97) / 97), channels: 3, side: 64 };
      const run = buildRun(config, src);
      const t = new GanTrainer(run);
      const before = await snapshot(t);
      for (let i = 0; i < 3; i++) t.trainStep();
      const rec = await t.metrics();
      expect(rec.map((r) => r.step)).toEqual([1, 2, 3]);
      for (const r of rec) {
        for (const v of [r.dLoss, r.gLoss]) expect(Number.isFinite(v)).toBe(true);
        for (const v of [r.realScore, r.fakeScore]) { expect(v).toBeGreaterThanOrEqual(0); expect(v).toBeLessThanOrEqual(1); }
      }
      const after = await snapshot(t);
      const nG = t.s.G.parameters().length;
      const moved = after.map((a, i) => a.some((v, j) => v !== before[i][j]));
      expect(moved.slice(0, nG).every(Boolean)).toBe(true);
      expect(moved.slice(nG).every(Boolean)).toBe(true);
      // Generated samples have the recipe's shape and Tanh's range.
      const z = t.sample(randn([4, ...run.latent]));
      expect(z.shape[0]).toBe(4);
      if (images) for (const v of await z.toArray()) { expect(v).toBeGreaterThanOrEqual(-1); expect(v).toBeLessThanOrEqual(1); }
      expectNoGpuErrors();
    }, 120_000);
  }

  // The compiled (captured, replayed) step against the eager one: same parameters, EMA, metrics, state.
  const compiled: [string, RunConfig, boolean][] = [
    ['gaussian needle', { recipe: 'gaussian', seed: 5, ema: 0.99 }, false],
    ['mnist-mlp', { recipe: 'mnist-mlp', seed: 5, batch: 4 }, true],
    ['dcgan', { recipe: 'dcgan', seed: 5, batch: 4, width: 2, latent: 8 }, true],
  ];
  for (const [name, config, images] of compiled) {
    it(`${name}: 20 captured steps equal 20 eager steps bit for bit`, async () => {
      const go = async (compile: boolean) => {
        const t = new GanTrainer({ ...buildRun(config, images ? digits() : undefined), compile });
        for (let i = 0; i < 20; i++) t.trainStep();
        const rec = await t.metrics();
        const state = [t.s.G, t.s.D, ...(t.emaG ? [t.emaG] : [])].map((m) => [...m.stateDict().values()]).flat();
        const values = await Promise.all(state.map(async (x) => Array.from(await x.toArray())));
        const out = { rec, values, steps: [t.s.optG.stepCount, t.s.optD.stepCount], rng: getRngState(), stats: t.compileStats };
        t.dispose();
        return out;
      };
      const eager = await go(false);
      const comp = await go(true);
      expect(comp.stats).toMatchObject({ eagerRuns: 1, captures: 1, replays: 18 });
      expect(comp.rec).toEqual(eager.rec);
      expect(comp.values).toEqual(eager.values);
      expect(comp.steps).toEqual(eager.steps);
      expect(comp.rng).toEqual(eager.rng);
      expectNoGpuErrors();
    }, 120_000);
  }

  it('sampleGenerator uses batch statistics and leaves the running statistics untouched', async () => {
    const run = buildRun({ recipe: 'dcgan', seed: 1, batch: 4, width: 2, latent: 8 }, digits());
    const t = new GanTrainer(run);
    t.trainStep();
    await t.metrics();
    const G = t.s.G;
    const before = await Promise.all([...G.stateDict().values()].map(async (x) => Array.from(await x.toArray())));
    const z = randn([6, 8, 1, 1]);
    const a = await sampleGenerator(G, z).toArray();
    const after = await Promise.all([...G.stateDict().values()].map(async (x) => Array.from(await x.toArray())));
    expect(after).toEqual(before);
    expect(G.training).toBe(true);
    G.eval();
    const evalOut = await G.forward(z).toArray();
    G.train();
    expect(Array.from(a)).not.toEqual(Array.from(evalOut));
    expect(Array.from(await sampleGenerator(G, z).toArray())).toEqual(Array.from(a));
  }, 60_000);

  it('rejects bad configurations before any GPU work', () => {
    expect(() => buildRun({ recipe: 'dcgan', seed: 0, size: 48 as 32 })).toThrow(/size must be 32 or 64, got 48/);
    expect(() => buildRun({ recipe: 'gaussian', seed: 0, batch: 0 })).toThrow(/batch must be a positive integer, got 0/);
    expect(() => buildRun({ recipe: 'mnist-mlp', seed: 0 })).toThrow(/needs training images/);
    expect(() => buildRun({ recipe: 'gaussian', seed: 0, batch: 30 }).data.batch(0, 30)).toThrow(/batch size 30 must divide the 3200 samples/);
    expect(() => buildRun({ recipe: 'nope' as 'dcgan', seed: 0 })).toThrow(/unknown recipe 'nope'/);
    expect(() => buildRun({ recipe: 'dcgan', seed: 0, channels: 3 }, { images: new Float32Array(784), channels: 1, side: 28 })).toThrow(/1 channel\(s\) but the model has 3/);
  });
});
