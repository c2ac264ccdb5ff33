// Fixed latent batches, sampling without side effects, and the MNIST classifier's view of generated digits:
// what the CLI, the demo and the recipes' quality hooks share.
import { tensor, type nn, type Tensor } from '../index.js';
import { mulberry32 } from '../data/dataset.js';
import { digitQuality } from './quality.js';
import type { EvalEnv, QualityHook, RunConfig } from './recipe.js';
import { sampleGenerator } from './trainer.js';

/** A fixed latent batch [n, ...shape] from its own CPU generator (so it never shifts the training RNG). */
export function fixedLatent(shape: readonly number[], n: number, seed = 1234): Tensor {
  const per = shape.reduce((a, b) => a * b, 1);
  const r = mulberry32(seed);
  const v = new Float32Array(n * per);
  for (let i = 0; i < v.length; i += 2) {
    const u1 = Math.max(r(), 1e-12);
    const u2 = r();
    const rad = Math.sqrt(-2 * Math.log(u1));
    v[i] = rad * Math.cos(2 * Math.PI * u2);
    if (i + 1 < v.length) v[i + 1] = rad * Math.sin(2 * Math.PI * u2);
  }
  return tensor(v, [n, ...shape]);
}

/** Samples through G (batch statistics, running statistics untouched: see sampleGenerator) and reads them back. */
export async function generate(G: nn.Module, z: Tensor): Promise<Float32Array> {
  const out = sampleGenerator(G, z);
  const v = (await out.toArray()) as Float32Array;
  out.dispose();
  return v;
}

/** Generated images [n, 1, h, w] as [n, 784] digits in [-1, 1] for the classifier: larger samples are centre-cropped. */
export function asDigits(shape: readonly number[], v: Float32Array, n: number): Float32Array {
  const [ch, h, w] = shape;
  if (ch !== 1) throw new Error(`eval: the MNIST classifier scores single-channel digits; these samples have ${ch} channels`);
  if (h === 28) return v;
  const off = (h - 28) >> 1;
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) for (let y = 0; y < 28; y++) {
    out.set(v.subarray(i * h * w + (y + off) * w + off, i * h * w + (y + off) * w + off + 28), i * 784 + y * 28);
  }
  return out;
}

/**
 * The quality hook of the image GANs trained on MNIST: `n` samples from a fixed latent batch scored by the MNIST
 * classifier (class coverage, confidence, Fréchet distance to held-out digits).
 */
export function mnistGanQuality(shapes: { latent(c: RunConfig): number[]; sample(c: RunConfig): number[] }): QualityHook<nn.Module> {
  return {
    key: 'quality',
    n: 1000,
    async run(G: nn.Module, c: RunConfig, env: EvalEnv, n: number) {
      if (c.data && c.data !== 'mnist') throw new Error(`eval: the MNIST classifier scores MNIST runs only; this ${c.recipe} run trained on ${c.data}`);
      const cls = await env.classifier('plain');
      const z = fixedLatent(shapes.latent(c), n, 99);
      const v = await generate(G, z);
      z.dispose();
      return { classifierHeldOutAccuracy: cls.accuracy, ...(await digitQuality(cls.model, asDigits(shapes.sample(c), v, n), env.mnist().heldOut)) };
    },
  };
}
