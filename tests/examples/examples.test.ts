// The three PyTorch ports in examples/ run a few real steps: losses finite, the generator's weights moved
// (the retain_graph loop would leave them unchanged if G got no gradient), sample images written.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterEach, describe, expect, it } from 'vitest';
import { expectNoGpuErrors } from '../helpers.js';
import type { nn } from '../../src/node.js';
import { main as gaussian } from '../../examples/gaussian_gan.js';
import { main as mlpGan } from '../../examples/mnist_mlp_gan.js';
import { main as dcgan } from '../../examples/dcgan.js';

afterEach(() => expectNoGpuErrors());

async function snapshot(m: nn.Module): Promise<Float32Array[]> {
  return Promise.all(m.parameters().map(async (p) => Float32Array.from(await p.toArray())));
}

async function changed(m: nn.Module, before: Float32Array[]): Promise<boolean[]> {
  const now = await snapshot(m);
  return now.map((a, i) => a.some((v, j) => v !== before[i][j]));
}

const quiet = () => {};

describe('examples', () => {
  it('d2l Gaussian GAN: 10 steps', async () => {
    let g0: Float32Array[] = [];
    const r = await gaussian({ numEpochs: 1, samples: 80, seed: 1, log: quiet, onStart: async (g) => { g0 = await snapshot(g); } });
    expect(r.dLossPoint.length).toBe(1);
    expect([...r.dLossPoint, ...r.gLossPoint].every(Number.isFinite)).toBe(true);
    // init: weight ~ N(0, 0.02), bias 0 (the port's normal_/zero_ through .data)
    expect(Array.from(g0[1])).toEqual([0, 0]);
    expect(Math.max(...Array.from(g0[0]).map(Math.abs))).toBeLessThan(0.1);
    expect((await changed(r.generator, g0)).every(Boolean)).toBe(true);
    expect(r.fakeX.length).toBe(200);
  });

  it('MNIST MLP GAN blog loop with retainGraph: G gets gradients and moves', async () => {
    let g0: Float32Array[] = [];
    const r = await mlpGan({ steps: 3, batchSize: 16, seed: 2, log: quiet, onStart: async (g) => { g0 = await snapshot(g); } });
    expect(r.losses.length).toBe(3);
    expect(r.losses.every((l) => Number.isFinite(l.lossD) && Number.isFinite(l.lossG))).toBe(true);
    expect((await changed(r.gen, g0)).every(Boolean)).toBe(true);
    expect(r.samples.shape).toEqual([16, 1, 28, 28]);
  });

  it('dcgan/main.py: 2 iterations on MNIST at 64x64, sample grids written', async () => {
    const outf = mkdtempSync(join(tmpdir(), 'kiln-dcgan-'));
    let g0: Float32Array[] = [];
    const lines: string[] = [];
    const r = await dcgan({ batchSize: 4, nz: 8, ngf: 4, ndf: 4, niter: 1, maxSteps: 2, outf, log: (l) => lines.push(l),
      onStart: async (g) => { g0 = await snapshot(g); } });
    expect(r.history.length).toBe(2);
    expect(r.history.every((h) => Object.values(h).every(Number.isFinite))).toBe(true);
    expect(r.history.every((h) => h.dX > 0 && h.dX < 1)).toBe(true);
    expect((await changed(r.netG, g0)).every(Boolean)).toBe(true);
    expect(lines.some((l) => l.startsWith('Generator(\n  (main): Sequential(\n    (0): ConvTranspose2d(8, 32, kernel_size=(4, 4), stride=(1, 1), bias=False)'))).toBe(true);
    const fake = PNG.sync.read(readFileSync(join(outf, 'fake_samples_epoch_000.png')));
    // 4 images of 64x64 in one row of 8 columns max: (64 + 2) * 4 + 2 wide
    expect([fake.width, fake.height]).toEqual([266, 68]);
    expect(PNG.sync.read(readFileSync(join(outf, 'real_samples.png'))).width).toBe(266);
  });
});
