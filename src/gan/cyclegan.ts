// CycleGAN (Zhu et al. 2017) as a plain consumer of the engine, following the reference's
// models/cycle_gan_model.py: G_A: A -> B and G_B: B -> A (the paper's G and F), D_A judging domain B and
// D_B judging domain A, each a GANLoss with the least-squares objective; cycle L1 (lambda 10 each way) and
// identity L1 (0.5 lambda). One step: both generators together (Adam over both), then each discriminator
// on real images vs fakes drawn from a 50-image history pool, its loss halved. The step is compiled.
import { cat, compileStep, F, noGrad, optim, stack, tidy, zeros, type CompiledStep, type HostInput, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import type { Dataset } from '../data/dataset.js';
import { GANLoss } from './gan_loss.js';
import { LaggedMetrics } from './metrics.js';

/** A seeded uint32 PRNG whose whole state is one number (so checkpoints can store it): mulberry32. */
export class HostRng {
  constructor(public state: number) { this.state >>>= 0; }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** Where each image a pool query returns comes from, and what the pool holds afterwards, as 0/1 matrices over
 * the rows of cat([pool, batch]): the query is then two matmuls on the GPU (exact: one 1 per row). */
export interface PoolPlan { returned: Float32Array; kept: Float32Array; batch: number }

/**
 * The reference's ImagePool: up to `size` earlier fakes. While it fills, each fake is stored and returned;
 * then each fake is, with probability 1/2, swapped with a random stored one (the stored one is returned), else
 * returned as is. The choices are made on the CPU (plan), the images move on the GPU (query).
 */
export class ImagePool {
  /** Images stored so far (the reference's num_imgs). */
  count = 0;
  readonly images: Tensor;
  readonly rng: HostRng;
  private readonly per: number;

  constructor(readonly size: number, readonly sampleShape: readonly number[], seed: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`ImagePool: size must be a positive integer, got ${size}`);
    this.per = sampleShape.reduce((a, b) => a * b, 1);
    this.images = zeros([size, this.per]).keep();
    this.rng = new HostRng(seed);
  }

  /** Decides the query of a batch of `batch` fakes (advances the pool's count and RNG). */
  plan(batch: number): PoolPlan {
    const P = this.size;
    const rows = P + batch;
    const slot = Array.from({ length: P }, (_, j) => j);
    const ret: number[] = [];
    for (let i = 0; i < batch; i++) {
      if (this.count < P) {
        slot[this.count++] = P + i;
        ret.push(P + i);
      } else if (this.rng.next() > 0.5) {
        const id = Math.min(P - 1, Math.floor(this.rng.next() * P));
        ret.push(slot[id]);
        slot[id] = P + i;
      } else {
        ret.push(P + i);
      }
    }
    const returned = new Float32Array(batch * rows);
    ret.forEach((r, i) => { returned[i * rows + r] = 1; });
    const kept = new Float32Array(P * rows);
    slot.forEach((r, j) => { kept[j * rows + r] = 1; });
    return { returned, kept, batch };
  }

  /** Applies a plan to `fakes` (detached): updates the stored images, returns the images for D. */
  query(fakes: Tensor, returned: Tensor, kept: Tensor): Tensor {
    return noGrad(() => {
      const b = fakes.shape[0];
      const all = cat([this.images, fakes.reshape([b, this.per])], 0);
      const out = returned.matmul(all).reshape([b, ...this.sampleShape]);
      this.images.copy_(kept.matmul(all));
      return out;
    });
  }

  dispose(): void { this.images.dispose(); }
}

/** Real samples of one domain; `hostBatch` feeds the compiled step without a GPU allocation. */
export type DomainData = Dataset & { hostBatch(index: number, batchSize: number): Float32Array };

export interface CycleGanSetup {
  /** G_A: A -> B (the paper's G) and G_B: B -> A (the paper's F). */
  GA: Module;
  GB: Module;
  /** D_A judges domain B (real B vs G_A's fakes); D_B judges domain A. */
  DA: Module;
  DB: Module;
  /** Builds a fresh generator of G_A's / G_B's architecture (for sampling from a checkpoint). */
  makeG: () => Module;
  optG: optim.Adam;
  optDA: optim.Adam;
  optDB: optim.Adam;
  lossA: GANLoss;
  lossB: GANLoss;
  poolA: ImagePool;
  poolB: ImagePool;
  dataA: DomainData;
  dataB: DomainData;
  batch: number;
  /** Total steps: the learning rate is constant for the first half, then decays linearly towards 0. */
  steps: number;
  lr: number;
  lambdaA: number;
  lambdaB: number;
  lambdaIdentity: number;
  compile?: boolean;
}

export interface CycleGanOptions {
  GA: Module; GB: Module; DA: Module; DB: Module; makeG: () => Module;
  dataA: DomainData; dataB: DomainData;
  batch?: number; steps: number; lr?: number; seed?: number; poolSize?: number;
  lambdaA?: number; lambdaB?: number; lambdaIdentity?: number;
}

/** Optimizers, losses and pools around four networks, with the reference's defaults. */
export function cycleGanSetup(o: CycleGanOptions): CycleGanSetup {
  const lr = o.lr ?? 2e-4;
  const betas: [number, number] = [0.5, 0.999];
  const batch = o.batch ?? 1;
  for (const [n, d] of [['A', o.dataA], ['B', o.dataB]] as const) {
    if (batch > d.size) throw new Error(`cyclegan: batch ${batch} is larger than domain ${n}'s ${d.size} images`);
  }
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new Error(`cyclegan: steps must be a positive integer, got ${o.steps}`);
  const optG = new optim.Adam([...o.GA.parameters(), ...o.GB.parameters()], { lr, betas });
  // The reference steps one Adam over both Ds; Adam is per parameter, so one per D is the same update.
  const optDA = new optim.Adam(o.DA.parameters(), { lr, betas });
  const optDB = new optim.Adam(o.DB.parameters(), { lr, betas });
  const seed = o.seed ?? 0;
  return {
    GA: o.GA, GB: o.GB, DA: o.DA, DB: o.DB, makeG: o.makeG, optG, optDA, optDB,
    lossA: new GANLoss(o.DA, optDA, { loss: 'lsgan', dReduction: 'mean' }),
    lossB: new GANLoss(o.DB, optDB, { loss: 'lsgan', dReduction: 'mean' }),
    poolA: new ImagePool(o.poolSize ?? 50, o.dataA.sampleShape, (seed * 2 + 1) >>> 0),
    poolB: new ImagePool(o.poolSize ?? 50, o.dataB.sampleShape, (seed * 2 + 2) >>> 0),
    dataA: o.dataA, dataB: o.dataB, batch, steps: o.steps, lr,
    lambdaA: o.lambdaA ?? 10, lambdaB: o.lambdaB ?? 10, lambdaIdentity: o.lambdaIdentity ?? 0.5,
  };
}

/** The reference's linear policy per step: lr for the first half, then down by equal steps to lr / (n + 1). */
export function cycleLr(lr: number, step: number, steps: number): number {
  const constant = Math.ceil(steps / 2);
  const decay = steps - constant;
  return lr * (1 - Math.max(0, step + 1 - constant) / (decay + 1));
}

/** The losses of one step, named as the reference logs them. */
export const CYCLE_LOSSES = ['D_A', 'D_B', 'G_A', 'G_B', 'cycle_A', 'cycle_B', 'idt_A', 'idt_B'] as const;
export type CycleRecord = { step: number } & Record<typeof CYCLE_LOSSES[number], number>;


export class CycleGanTrainer {
  step = 0;
  private readonly compiled: CompiledStep<Tensor[], Tensor> | null;
  private readonly reader = new LaggedMetrics<CycleRecord>((steps, v) => steps.map((step, i) => {
    const r = { step: step + 1 } as CycleRecord;
    CYCLE_LOSSES.forEach((k, j) => { r[k] = v[i * CYCLE_LOSSES.length + j]; });
    return r;
  }));

  constructor(readonly s: CycleGanSetup) {
    this.compiled = s.compile === false ? null : compileStep((...x: Tensor[]) => this.body(x[0], x[1], x[2], x[3], x[4], x[5]));
  }

  get compileStats() { return this.compiled?.stats ?? null; }

  /** One step: G_A and G_B together, then D_A and D_B. Metrics stay on the GPU until poll()/metrics(). */
  trainStep(): void {
    const s = this.s;
    const lr = cycleLr(s.lr, this.step, s.steps);
    for (const o of [s.optG, s.optDA, s.optDB]) o.lr = lr;
    const b = s.batch;
    const planB = s.poolB.plan(b);
    const planA = s.poolA.plan(b);
    const rows = s.poolA.size + b;
    const inputs: HostInput[] = [
      { data: s.dataA.hostBatch(this.step, b), shape: [b, ...s.dataA.sampleShape] },
      { data: s.dataB.hostBatch(this.step, b), shape: [b, ...s.dataB.sampleShape] },
      { data: planB.returned, shape: [b, rows] }, { data: planB.kept, shape: [s.poolB.size, rows] },
      { data: planA.returned, shape: [b, rows] }, { data: planA.kept, shape: [s.poolA.size, rows] },
    ];
    tidy(() => {
      const rec = this.compiled
        ? this.compiled.run(...inputs)
        : this.body(...(inputs.map((h) => hostTensor(h)) as [Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]));
      this.reader.record(this.step, rec);
    });
    this.step++;
  }

  private body(realA: Tensor, realB: Tensor, retB: Tensor, keepB: Tensor, retA: Tensor, keepA: Tensor): Tensor {
    const s = this.s;
    const { lambdaA: la, lambdaB: lb, lambdaIdentity: li } = s;
    s.optG.zeroGrad();
    const fakeB = s.GA.forward(realA);
    const recA = s.GB.forward(fakeB);
    const fakeA = s.GB.forward(realB);
    const recB = s.GA.forward(fakeA);
    const idtA = F.l1Loss(s.GA.forward(realB), realB).mul(lb * li);
    const idtB = F.l1Loss(s.GB.forward(realA), realA).mul(la * li);
    const gA = s.lossA.generatorLoss(fakeB);
    const gB = s.lossB.generatorLoss(fakeA);
    const cycA = F.l1Loss(recA, realA).mul(la);
    const cycB = F.l1Loss(recB, realB).mul(lb);
    gA.add(gB).add(cycA).add(cycB).add(idtA).add(idtB).backward();
    s.optG.step();
    const dA = s.lossA.updateD(s.poolB.query(fakeB.detach(), retB, keepB), realB);
    const dB = s.lossB.updateD(s.poolA.query(fakeA.detach(), retA, keepA), realA);
    return noGrad(() => stack([dA.dLoss, dB.dLoss, gA.detach(), gB.detach(), cycA.detach(), cycB.detach(), idtA.detach(), idtB.detach()]));
  }



  /** The metrics that have arrived, without stalling the GPU (see GanTrainer.poll). */
  async poll(): Promise<CycleRecord[]> {
    return this.reader.poll();
  }

  /** Every step's metrics since the last read, waiting for the GPU. */
  async metrics(): Promise<CycleRecord[]> {
    return this.reader.all();
  }

  /** Translates `x` with G_A (a2b) or G_B (b2a), and back: [x, G(x), F(G(x))] as host arrays. */
  async translate(x: Tensor, direction: 'a2b' | 'b2a'): Promise<{ fake: Float32Array; rec: Float32Array }> {
    const [there, back] = direction === 'a2b' ? [this.s.GA, this.s.GB] : [this.s.GB, this.s.GA];
    return translate(there, back, x);
  }

  dispose(): void {
    this.compiled?.dispose();
    this.reader.dispose();
    this.s.poolA.dispose();
    this.s.poolB.dispose();
    this.s.lossA.dispose();
    this.s.lossB.dispose();
  }
}

/** G(x) and, with `back`, F(G(x)), read back. */
export async function translate(G: Module, back: Module | null, x: Tensor): Promise<{ fake: Float32Array; rec: Float32Array }> {
  const [f, r] = tidy(() => noGrad(() => {
    const fake = G.forward(x);
    const rec = back ? back.forward(fake) : fake;
    return [fake.keep(), rec.keep()];
  }));
  const fake = Float32Array.from(await f.toArray());
  const rec = back ? Float32Array.from(await r.toArray()) : new Float32Array(0);
  f.dispose();
  if (r !== f) r.dispose();
  return { fake, rec };
}

function hostTensor(h: HostInput): Tensor {
  return noGrad(() => F.tensor(h.data, h.shape));
}
