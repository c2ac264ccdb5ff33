// The D-then-G training loop shared by every GAN recipe: one step = sample a real batch and a latent batch,
// GANLoss updates D, G steps on the returned loss; optional EMA of G's weights; per-step metrics kept on the
// GPU and read back in batches so the loop never waits on a readback.
import { cat, noGrad, randn, stack, tidy, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Dataset } from '../data/dataset.js';
import type { GANLoss } from './gan_loss.js';

export type { Dataset };

export interface GanSetup {
  G: Module;
  D: Module;
  /** Builds a fresh generator of the same architecture (for the EMA copy and for loading checkpoints). */
  makeG: () => Module;
  optG: Optimizer;
  optD: Optimizer;
  loss: GANLoss;
  /** Latent shape of one sample, e.g. [2] or [100, 1, 1]. */
  latent: number[];
  batch: number;
  data: Dataset;
  /** EMA decay of G's weights (0 or undefined: off). */
  ema?: number;
}

export interface StepRecord { step: number; dLoss: number; gLoss: number; realScore: number; fakeScore: number }

export class GanTrainer {
  /** Steps completed. */
  step = 0;
  /** An exponential moving average of G (used for sampling and evaluation when enabled). */
  readonly emaG: Module | null;
  private pending: { step: number; t: Tensor }[] = [];

  constructor(readonly s: GanSetup) {
    if (s.ema !== undefined && s.ema !== 0 && !(s.ema > 0 && s.ema < 1)) throw new Error(`GanTrainer: ema must be in (0, 1), got ${s.ema}`);
    this.emaG = s.ema ? s.makeG() : null;
    if (this.emaG) this.emaG.loadStateDict(s.G.stateDict());
  }

  /** The generator to sample from: the EMA copy when enabled. */
  get sampler(): Module { return this.emaG ?? this.s.G; }

  /** One D-then-G step. Records the step's metrics on the GPU; read them with metrics(). */
  trainStep(): void {
    const s = this.s;
    const rec = tidy(() => {
      s.optG.zeroGrad();
      const real = s.data.batch(this.step, s.batch);
      const z = randn([s.batch, ...s.latent]);
      const fake = s.G.forward(z);
      const gLoss = s.loss.forward(fake, real);
      gLoss.backward();
      s.optG.step();
      this.updateEma();
      const d = s.loss.last!;
      return noGrad(() => stack([d.dLoss, gLoss.detach(), d.realScore, d.fakeScore]));
    });
    this.pending.push({ step: this.step, t: rec.keep() });
    this.step++;
  }

  private updateEma(): void {
    const e = this.emaG;
    if (!e) return;
    // Warm-up as in TensorFlow's ExponentialMovingAverage(num_updates): early on the average follows G
    // closely instead of staying anchored at the random initialisation.
    const d = Math.min(this.s.ema!, (1 + this.step) / (10 + this.step));
    noGrad(() => {
      const own = this.s.G.namedParameters();
      e.namedParameters().forEach(([, pe], i) => { pe.copy_(pe.mul(d).add(own[i][1].mul(1 - d))); });
      const buffers = this.s.G.namedBuffers();
      e.namedBuffers().forEach(([, be], i) => { be.copy_(buffers[i][1]); });
    });
  }

  /** Reads back every step's metrics recorded since the last call (one readback for all of them). */
  async metrics(): Promise<StepRecord[]> {
    if (this.pending.length === 0) return [];
    const batch = this.pending;
    this.pending = [];
    const all = cat(batch.map((p) => p.t));
    const v = await all.toArray();
    all.dispose();
    batch.forEach((p) => p.t.dispose());
    return batch.map((p, i) => ({ step: p.step + 1, dLoss: v[i * 4], gLoss: v[i * 4 + 1], realScore: v[i * 4 + 2], fakeScore: v[i * 4 + 3] }));
  }

  /** Samples `z` through the sampler (see sampleGenerator). */
  sample(z: Tensor): Tensor {
    return sampleGenerator(this.sampler, z);
  }
}

/**
 * Samples `z` through G as the lecture and PyTorch's DCGAN example do — in training mode, so batch norm uses
 * the batch's statistics — but without PyTorch's side effect: running statistics and num_batches_tracked are
 * restored, so sampling never changes the model (or a resumed run).
 */
export function sampleGenerator(G: Module, z: Tensor): Tensor {
  const buffers = G.namedBuffers().map(([, b]) => [b, noGrad(() => b.clone()).keep()] as const);
  const counts = G.namedModules().map(([, m]) => [m, (m as { numBatchesTracked?: number }).numBatchesTracked] as const);
  const was = G.training;
  G.train();
  try {
    return noGrad(() => G.forward(z));
  } finally {
    G.train(was);
    noGrad(() => { for (const [b, saved] of buffers) { b.copy_(saved); saved.dispose(); } });
    for (const [m, n] of counts) if (n !== undefined) (m as { numBatchesTracked?: number }).numBatchesTracked = n;
  }
}
