// The MLP GAN on MNIST (seed 003): G z(64) -> 256 -> 512 -> 1024 -> 784 with LeakyReLU(0.01) and Tanh;
// D 784 -> 1024 -> 512 -> 256 -> 1 with LeakyReLU(0.01) and Sigmoid; BCE; Adam; images in [-1, 1].
import { manualSeed, nn, optim } from '../index.js';
import { ImageDataset } from '../data/images.js';
import { MNIST_PIXELS } from '../data/mnist.js';
import { GANLoss, type GObjective } from './gan_loss.js';
import type { GanSetup } from './trainer.js';

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
  const data = new ImageDataset(o.images.map((v) => v * 2 - 1), [1, 28, 28], seed);
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
