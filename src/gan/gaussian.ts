// The 2-D Gaussian GAN of the seeds: data N(mu, A^T A), a linear generator, and two recipes:
// 'needle' (CMU lecture: D 2-20-10-2 with SoftmaxLoss, Adam 0.01, batch 32, 2000 steps) and
// 'd2l' (Dive into Deep Learning: D 2-5-3-1 Tanh + Sigmoid with BCE, normal(0, 0.02) init,
// lr_D 0.05, lr_G 0.005, batch 8, 20 epochs).
import { getRngState, manualSeed, nn, optim, randn, setRngState, tensor, type Tensor } from '../index.js';
import { scatterRgba } from '../io/plot.js';
import { GANLoss, type GObjective } from './gan_loss.js';
import type { Dataset, GanSetup } from './trainer.js';
import { checkChoice, checkOnly, type GanRecipe, GAN_CHECKPOINT, GAN_COMMON } from './recipe.js';

export const GAUSSIAN_A = [[1, 2], [-0.2, 0.5]];
export const GAUSSIAN_MU = [2, 1];
export const GAUSSIAN_SAMPLES = 3200;
/** A^T A, the target covariance. */
export const GAUSSIAN_COV = [
  [GAUSSIAN_A[0][0] ** 2 + GAUSSIAN_A[1][0] ** 2, GAUSSIAN_A[0][0] * GAUSSIAN_A[0][1] + GAUSSIAN_A[1][0] * GAUSSIAN_A[1][1]],
  [GAUSSIAN_A[0][0] * GAUSSIAN_A[0][1] + GAUSSIAN_A[1][0] * GAUSSIAN_A[1][1], GAUSSIAN_A[0][1] ** 2 + GAUSSIAN_A[1][1] ** 2],
];

export type GaussianPreset = 'needle' | 'd2l';

export interface GaussianOptions {
  preset?: GaussianPreset;
  seed?: number;
  batch?: number;
  /** One learning rate for both players (overrides the preset's). */
  lr?: number;
  ema?: number;
  objective?: GObjective;
}

/** The dataset on the GPU; batches are consecutive rows, wrapping around, as the seeds iterate it. */
export class GaussianData implements Dataset {
  readonly size = GAUSSIAN_SAMPLES;
  readonly sampleShape = [2];
  readonly x: Tensor;
  constructor() {
    const z = randn([GAUSSIAN_SAMPLES, 2]);
    const a = tensor(GAUSSIAN_A);
    const mu = tensor(GAUSSIAN_MU);
    this.x = z.matmul(a).add(mu).keep();
    z.dispose(); a.dispose(); mu.dispose();
  }
  batch(index: number, batchSize: number): Tensor {
    return this.x.narrow(0, this.firstRow(index, batchSize), batchSize);
  }
  batchRange(index: number, batchSize: number): { source: Tensor; offset: number } {
    return { source: this.x, offset: this.firstRow(index, batchSize) * 2 };
  }
  /** The row batch `index` starts at. */
  private firstRow(index: number, batchSize: number): number {
    if (this.size % batchSize !== 0) throw new Error(`gaussian: batch size ${batchSize} must divide the ${this.size} samples`);
    return (index * batchSize) % this.size;
  }
}

/** Steps of a preset's run: 2000 (needle) or 20 epochs of 3200 samples (d2l). */
function presetSteps(preset: GaussianPreset, batch?: number): number {
  return preset === 'needle' ? 2000 : (20 * GAUSSIAN_SAMPLES) / (batch ?? 8);
}

/** The generator of both presets: Linear(2, 2) (normal(0, 0.02) init in d2l). */
function presetGenerator(preset: GaussianPreset): nn.Module {
  return preset === 'needle' ? new nn.Sequential(new nn.Linear(2, 2)) : d2lInit(new nn.Sequential(new nn.Linear(2, 2)));
}

function d2lInit(m: nn.Module): nn.Module {
  for (const [name, p] of m.namedParameters()) {
    if (name.endsWith('weight')) nn.init.normal_(p, 0, 0.02); else nn.init.zeros_(p);
  }
  return m;
}

export function gaussianSetup(o: GaussianOptions = {}): GanSetup & { steps: number; preset: GaussianPreset } {
  const preset = o.preset ?? 'needle';
  if (preset !== 'needle' && preset !== 'd2l') throw new Error(`gaussian: unknown preset '${String(preset)}' (expected needle or d2l)`);
  manualSeed(o.seed ?? 0);
  const data = new GaussianData();
  if (preset === 'needle') {
    const makeG = () => presetGenerator('needle');
    const G = makeG();
    const D = new nn.Sequential(new nn.Linear(2, 20), new nn.ReLU(), new nn.Linear(20, 10), new nn.ReLU(), new nn.Linear(10, 2));
    const lr = o.lr ?? 0.01;
    const optG = new optim.Adam(G.parameters(), { lr });
    const optD = new optim.Adam(D.parameters(), { lr });
    const loss = new GANLoss(D, optD, { loss: 'softmax', objective: o.objective });
    return { preset, G, D, makeG, optG, optD, loss, latent: [2], batch: o.batch ?? 32, data, ema: o.ema, steps: presetSteps(preset) };
  }
  const makeG = () => presetGenerator('d2l');
  const G = makeG();
  const D = d2lInit(new nn.Sequential(new nn.Linear(2, 5), new nn.Tanh(), new nn.Linear(5, 3), new nn.Tanh(), new nn.Linear(3, 1), new nn.Sigmoid()));
  const optG = new optim.Adam(G.parameters(), { lr: o.lr ?? 0.005 });
  const optD = new optim.Adam(D.parameters(), { lr: o.lr ?? 0.05 });
  const loss = new GANLoss(D, optD, { loss: 'bce', objective: o.objective, dReduction: 'mean' });
  const batch = o.batch ?? 8;
  return { preset, G, D, makeG, optG, optD, loss, latent: [2], batch, data, ema: o.ema, steps: presetSteps(preset, batch) };
}
gaussianSetup.steps = presetSteps;
gaussianSetup.generator = presetGenerator;

/** For G = Linear(2, 2) fed z ~ N(0, I): mean = b, covariance = W W^T. */
export async function impliedGaussian(G: nn.Module): Promise<{ mean: number[]; cov: number[][] }> {
  const sd = G.stateDict();
  const w = await sd.get('0.weight')!.toArray();
  const b = await sd.get('0.bias')!.toArray();
  const cov = [[w[0] * w[0] + w[1] * w[1], w[0] * w[2] + w[1] * w[3]], [w[2] * w[0] + w[3] * w[1], w[2] * w[2] + w[3] * w[3]]];
  return { mean: [b[0], b[1]], cov };
}

/** L2 error of the mean and relative Frobenius error of the covariance against the target. */
export function gaussianErrors(mean: number[], cov: number[][]): { meanError: number; covRelError: number } {
  const meanError = Math.hypot(mean[0] - GAUSSIAN_MU[0], mean[1] - GAUSSIAN_MU[1]);
  let num = 0;
  let den = 0;
  for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) { num += (cov[i][j] - GAUSSIAN_COV[i][j]) ** 2; den += GAUSSIAN_COV[i][j] ** 2; }
  return { meanError, covRelError: Math.sqrt(num / den) };
}

/** The 2-D Gaussian of the seeds (recipe table entry). */
export const gaussianRecipe: GanRecipe = {
  name: 'gaussian',
  trainer: 'gan',
  checkpoint: GAN_CHECKPOINT,
  summary: 'a linear G learns a 2-D Gaussian (the CMU lecture\'s and d2l\'s examples)',
  options: [
    { name: 'preset', key: 'preset', kind: 'choice', choices: ['needle', 'd2l'], value: 'P', help: 'needle (SoftmaxLoss D, Adam 0.01, 2000 steps; default) or d2l (BCE, 20 epochs)' },
    ...GAN_COMMON,
  ],
  check(c) {
    checkOnly(c, ['preset', 'ema', 'objective']);
    checkChoice(c, 'preset', ['needle', 'd2l']);
  },
  defaultSteps: (c) => presetSteps(c.preset ?? 'needle', c.batch),
  sampleShape: () => [2],
  latentShape: () => [2],
  data: () => ({ kind: 'none' }),
  label: (c) => `gaussian/${c.preset ?? 'needle'}`,
  async picture(c, v, n) {
    // Generated (red) over real (blue) points. The real points come from the same seeded generator as the run's
    // data; the RNG state is restored so that drawing a picture never shifts the training run's random stream.
    const rng = getRngState();
    manualSeed(c.seed);
    const real = new GaussianData();
    setRngState(rng);
    const r = (await real.x.narrow(0, 0, Math.min(n, real.size)).toArray()) as Float32Array;
    real.x.dispose();
    const img = scatterRgba([{ points: r, color: [40, 90, 220] }, { points: v, color: [230, 50, 40] }]);
    return { pixels: img.pixels, width: img.width, height: img.height, channels: 4 };
  },
  quality: {
    key: 'gaussian',
    always: true,
    n: 0,
    async run(G) {
      const g = await impliedGaussian(G);
      return { mean: g.mean, cov: g.cov, ...gaussianErrors(g.mean, g.cov) };
    },
    line: (q) => `implied Gaussian: mean error ${(q.meanError as number).toFixed(3)}, covariance rel. error ${(q.covRelError as number).toFixed(3)}`,
    reference: 'PyTorch, needle recipe, seeds 0-9: median mean error 0.09, median covariance error 0.08; scripts/gaussian_reference.py',
  },
  generator: (c) => presetGenerator(c.preset ?? 'needle'),
  build(c) {
    const s = gaussianSetup({ seed: c.seed, batch: c.batch, lr: c.lr, ema: c.ema || undefined, objective: c.objective, preset: c.preset });
    return { ...s, config: c, steps: s.steps };
  },
};
