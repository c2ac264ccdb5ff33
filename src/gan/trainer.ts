// The D-then-G training loop shared by every GAN recipe: one step = sample a real batch and a latent batch,
// GANLoss updates D, G steps on the returned loss; optional EMA of G's weights. The step is compiled
// (captured once, then replayed with no per-op JavaScript) and its metrics come back through lagged,
// non-flushing readbacks, so the loop never waits on the GPU.
import { compileStep, noGrad, optim, randn, stack, tidy, type CompiledStep, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import type { Optimizer } from '../optim/optimizer.js';
import type { Dataset } from '../data/dataset.js';
import type { GANLoss } from './gan_loss.js';
import { LaggedMetrics } from './metrics.js';

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
  /** Capture the step once and replay it (default true); false runs every op eagerly (same results). */
  compile?: boolean;
}

export interface StepRecord { step: number; dLoss: number; gLoss: number; realScore: number; fakeScore: number }


export class GanTrainer {
  /** Steps completed. */
  step = 0;
  /** An exponential moving average of G (used for sampling and evaluation when enabled). */
  readonly emaG: Module | null;
  private readonly compiled: CompiledStep<[Tensor], Tensor> | null;
  private batchShape: number[] | null = null;
  private readonly reader = new LaggedMetrics<StepRecord>((steps, v) => steps.map((step, i) => (
    { step: step + 1, dLoss: v[i * 4], gLoss: v[i * 4 + 1], realScore: v[i * 4 + 2], fakeScore: v[i * 4 + 3] })));

  constructor(readonly s: GanSetup) {
    if (s.ema !== undefined && s.ema !== 0 && !(s.ema > 0 && s.ema < 1)) throw new Error(`GanTrainer: ema must be in (0, 1), got ${s.ema}`);
    this.emaG = s.ema ? s.makeG() : null;
    if (this.emaG) this.emaG.loadStateDict(s.G.stateDict());
    this.compiled = s.compile === false ? null : compileStep((real: Tensor) => this.body(real));
  }

  /** The generator to sample from: the EMA copy when enabled. */
  get sampler(): Module { return this.emaG ?? this.s.G; }

  /** The compiled step's counters and buffer plan (null when compile is off). */
  get compileStats() { return this.compiled?.stats ?? null; }

  /** One D-then-G step. Records the step's metrics on the GPU; read them with poll() or metrics(). */
  trainStep(): void {
    const s = this.s;
    if (this.compiled) {
      // Host-held data goes straight into the compiled step's input buffer, GPU-held data is copied there (a
      // range of rows needs no tensor); a replay makes no tensors, so no tidy scope.
      const shape = this.batchShape ??= [s.batch, ...s.data.sampleShape];
      let rec: Tensor;
      if (s.data.hostBatch) rec = this.compiled.run({ data: s.data.hostBatch(this.step, s.batch), shape });
      else if (s.data.batchRange) { const r = s.data.batchRange(this.step, s.batch); rec = this.compiled.run({ source: r.source, offset: r.offset, shape }); }
      else rec = tidy(() => this.compiled!.run(s.data.batch(this.step, s.batch)));
      this.reader.record(this.step, rec);
    } else {
      tidy(() => { this.reader.record(this.step, this.body(s.data.batch(this.step, s.batch))); });
    }
    this.step++;
  }

  /** The step itself: everything that changes between steps comes from `real`, the RNG and the optimizers. */
  private body(real: Tensor): Tensor {
    const s = this.s;
    s.optG.zeroGrad();
    const z = randn([s.batch, ...s.latent]);
    const fake = s.G.forward(z);
    const gLoss = s.loss.forward(fake, real);
    gLoss.backward();
    s.optG.step();
    this.updateEma();
    const d = s.loss.last!;
    return noGrad(() => stack([d.dLoss, gLoss.detach(), d.realScore, d.fakeScore]));
  }

  private updateEma(): void {
    const e = this.emaG;
    if (!e) return;
    // Warm-up as in TensorFlow's ExponentialMovingAverage(num_updates): early on the average follows G
    // closely instead of staying anchored at the random initialisation. Read at every replay.
    noGrad(() => {
      optim.emaUpdate(e.parameters(), this.s.G.parameters(), () => Math.min(this.s.ema!, (1 + this.step) / (10 + this.step)));
      const buffers = this.s.G.namedBuffers();
      e.namedBuffers().forEach(([, be], i) => { be.copy_(buffers[i][1]); });
    });
  }



  /**
   * The metrics that have arrived, without making the GPU wait: readbacks ride with later steps' work. Waits
   * only when more than a few readbacks are outstanding (the CPU is far ahead of the GPU). Await it every few
   * steps so the event loop can deliver the readbacks.
   */
  async poll(): Promise<StepRecord[]> {
    return this.reader.poll();
  }

  /** Every step's metrics recorded since the last read, waiting for the GPU to finish them. */
  async metrics(): Promise<StepRecord[]> {
    return this.reader.all();
  }

  /** Frees the compiled step's arena and any unread metrics. */
  dispose(): void {
    this.compiled?.dispose();
    this.reader.dispose();
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
