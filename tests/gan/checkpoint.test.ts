// Checkpoints: bit-exact round trip, resume reproduces the uninterrupted run, damaged or mismatched files
// are refused with a clear error, and a generator exported from PyTorch samples the same images.
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { nn, tensor } from '../../src/index.js';
import { splitMnist } from '../../src/data/mnist.js';
import { decodeSafetensors } from '../../src/io/safetensors.js';
import { decodeCheckpoint, encodeCheckpoint, groupTensors, loadSampler, restoreCheckpoint } from '../../src/gan/checkpoint.js';
import { dcganGenerator } from '../../src/gan/dcgan.js';
import { buildRun, makeGenerator, type RunConfig } from '../../src/gan/recipes.js';
import { GanTrainer } from '../../src/gan/trainer.js';
import { loadMnist } from '../../src/node/mnist.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

beforeAll(async () => { await setup(); });

const config: RunConfig = { recipe: 'dcgan', seed: 5, batch: 4, width: 2, latent: 8, ema: 0.9 };
const images = () => ({ images: splitMnist(loadMnist()).train.images.subarray(0, 32 * 784), channels: 1 as const, side: 28 });

async function params(m: nn.Module): Promise<Float32Array[]> {
  return Promise.all([...m.stateDict().values()].map(async (t) => Float32Array.from(await t.toArray())));
}

function trainer(): GanTrainer { return new GanTrainer(buildRun(config, images())); }

describe('GAN checkpoints', () => {
  it('round-trip bit-exact: save, restore into a fresh run, save again gives the same bytes', async () => {
    const a = trainer();
    for (let i = 0; i < 2; i++) a.trainStep();
    await a.metrics();
    const bytes = await encodeCheckpoint(a, config);
    const ck = decodeCheckpoint(bytes);
    expect(ck.step).toBe(2);
    expect(ck.config).toEqual(config);
    expect([...ck.groups.keys()].sort()).toEqual(['D', 'G', 'G_ema', 'optD', 'optG']);
    expect(ck.groups.get('G')!.has('1.num_batches_tracked')).toBe(true);
    const b = trainer();
    restoreCheckpoint(b, ck);
    const again = await encodeCheckpoint(b, config);
    expect(Buffer.from(again).equals(Buffer.from(bytes))).toBe(true);
    expectNoGpuErrors();
  }, 120_000);

  it('resume reproduces the uninterrupted run exactly (and two resumes agree)', async () => {
    const straight = trainer();
    for (let i = 0; i < 4; i++) straight.trainStep();
    await straight.metrics();
    const part = trainer();
    for (let i = 0; i < 2; i++) part.trainStep();
    await part.metrics();
    const bytes = await encodeCheckpoint(part, config);
    const finals: Float32Array[][] = [];
    for (let k = 0; k < 2; k++) {
      const r = trainer();
      restoreCheckpoint(r, decodeCheckpoint(bytes));
      for (let i = 0; i < 2; i++) r.trainStep();
      const rec = await r.metrics();
      expect(rec.map((x) => x.step)).toEqual([3, 4]);
      finals.push([...(await params(r.s.G)), ...(await params(r.s.D)), ...(await params(r.emaG!))]);
    }
    const want = [...(await params(straight.s.G)), ...(await params(straight.s.D)), ...(await params(straight.emaG!))];
    for (const got of finals) {
      expect(got.length).toBe(want.length);
      got.forEach((g, i) => expect(Buffer.from(g.buffer).equals(Buffer.from(want[i].buffer))).toBe(true));
    }
    expectNoGpuErrors();
  }, 180_000);

  it('refuses truncated, corrupt, foreign and mismatched files with a clear error', async () => {
    const t = trainer();
    t.trainStep();
    await t.metrics();
    const bytes = await encodeCheckpoint(t, config);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 10), 'ck')).toThrow(/ck: .*truncated or corrupt/);
    expect(() => decodeCheckpoint(bytes.subarray(0, 5), 'ck')).toThrow(/too short/);
    const flipped = Uint8Array.from(bytes);
    flipped[flipped.length - 3] ^= 0x40;
    expect(() => decodeCheckpoint(flipped, 'ck')).toThrow(/fails its CRC-32 check/);
    const header = Uint8Array.from(bytes);
    header[12] = 0x7b;
    expect(() => decodeCheckpoint(header, 'ck')).toThrow(/not valid JSON|corrupt/);
    const foreign = readFileSync(new URL('../fixtures/dcgan_generator.safetensors', import.meta.url));
    expect(() => decodeCheckpoint(new Uint8Array(foreign), 'g.safetensors')).toThrow(/not a Kiln GAN checkpoint/);
    // A checkpoint of another architecture: nothing is loaded, the error names the mismatch.
    const other = new GanTrainer(buildRun({ ...config, width: 3 }, images()));
    const before = await params(other.s.G);
    expect(() => restoreCheckpoint(other, decodeCheckpoint(bytes))).toThrow(/checkpoint: G\.0\.weight has shape \[8, 8, 4, 4\] but the model's is \[8, 12, 4, 4\]/);
    const after = await params(other.s.G);
    after.forEach((a, i) => expect(Buffer.from(a.buffer).equals(Buffer.from(before[i].buffer))).toBe(true));
    const mlp = makeGenerator({ recipe: 'mnist-mlp', seed: 0 });
    expect(() => loadSampler(mlp, decodeCheckpoint(bytes))).toThrow(/G_ema does not match this model/);
  }, 120_000);

  it('a DCGAN generator exported from PyTorch produces the same images for the same latent batch', async () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/dcgan_generator.safetensors', import.meta.url)));
    const { tensors } = decodeSafetensors(bytes, 'dcgan_generator.safetensors');
    const sd = new Map([...tensors].filter(([k]) => k.startsWith('G.')).map(([k, v]) => [k.slice(2), v]));
    const G = dcganGenerator({ size: 32, channels: 1, latent: 16, width: 4 });
    G.loadStateDict(groupTensors(sd));
    G.eval();
    const z = tensors.get('z')!;
    const want = tensors.get('out')!.data;
    const out = await G.forward(tensor(z.data, z.shape)).toArray();
    expect(out.length).toBe(want.length);
    let worst = 0;
    out.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - want[i])); });
    expect(worst).toBeLessThan(1e-4);
    // num_batches_tracked came across from int64.
    const bn = G.at(1) as nn.BatchNorm2d;
    expect(bn.numBatchesTracked).toBe(3);
    expectNoGpuErrors();
  }, 60_000);
});
