// Pieces shared by the CLI's commands: run configuration from options, training images, the fixed latent
// batch, sample images, and the MNIST classifier (trained once by Kiln, cached as safetensors).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { getRngState, manualSeed, nn, noGrad, setRngState, tensor, type Tensor } from '../index.js';
import { mulberry32 } from '../data/dataset.js';
import { splitMnist, type MnistDigits } from '../data/mnist.js';
import { stateDictFromSafetensors, stateDictToSafetensors } from '../io/state_dict.js';
import { encodePng, imageGrid } from '../io/png.js';
import { scatterRgba } from '../io/plot.js';
import { GaussianData } from '../gan/gaussian.js';
import { sampleGenerator } from '../gan/trainer.js';
import { classifierAccuracy, mnistClassifier, trainClassifier } from '../gan/quality.js';
import { latentShape, recipeOf, sampleShape, type ImageSource, type RunConfig } from '../gan/recipes.js';
import { loadImageFolder, loadMnist, readBytes, writeFileAtomic } from './files.js';

/** The training images a recipe asks for: MNIST's training split, or the user's folder. */
export function trainingImages(c: RunConfig): ImageSource | undefined {
  const need = recipeOf(c).data(c);
  if (need.kind === 'none') return undefined;
  if (need.kind === 'mnist') return { images: splitMnist(loadMnist()).train.images, channels: 1, side: 28 };
  if (need.kind !== 'folder') throw new Error(`${c.recipe}: needs two folders; its own runner reads them`);
  const f = loadImageFolder(need.dir, need.size, need.channels);
  console.log(`data: ${f.count} images from ${need.dir} at ${need.size}x${need.size}x${need.channels}` + (f.skipped.length ? `, skipped ${f.skipped.length}: ${f.skipped.slice(0, 3).join('; ')}` : ''));
  return { images: f.images, channels: need.channels, side: need.size };
}

/** A fixed latent batch from its own CPU generator (so it never shifts the training RNG). */
export function fixedLatent(c: RunConfig, n: number, seed = 1234): Tensor {
  const shape = latentShape(c);
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

/** A PNG of samples: an image grid, or for the Gaussian a scatter of generated (red) over real (blue) points. */
export async function samplePng(c: RunConfig, G: nn.Module, z: Tensor): Promise<Uint8Array> {
  const v = await generate(G, z);
  const n = z.shape[0];
  if (c.recipe === 'gaussian') {
    // The real points come from the same seeded generator as the run's data; the RNG state is restored so that
    // drawing a sample never shifts the training run's random stream.
    const rng = getRngState();
    manualSeed(c.seed);
    const real = new GaussianData();
    setRngState(rng);
    const r = (await real.x.narrow(0, 0, Math.min(n, real.size)).toArray()) as Float32Array;
    real.x.dispose();
    const img = scatterRgba([{ points: r, color: [40, 90, 220] }, { points: v, color: [230, 50, 40] }]);
    return encodePng(img.pixels, img.width, img.height, 4);
  }
  const [ch, h, w] = sampleShape(c);
  const g = imageGrid(v, n, ch, h, w, Math.ceil(Math.sqrt(n)));
  return encodePng(g.pixels, g.width, g.height, g.channels);
}

export function defaultClassifierPath(): string {
  return join(process.env.KILN_CACHE ?? join(homedir(), '.cache', 'kiln'), 'mnist-classifier-v1.safetensors');
}

/** The MNIST classifier: loaded from `path`, or trained with Kiln (and saved there) when missing. */
export async function classifier(path = defaultClassifierPath()): Promise<{ model: nn.Sequential; accuracy: number; heldOut: MnistDigits }> {
  const { train, heldOut } = splitMnist(loadMnist());
  const model = mnistClassifier();
  if (existsSync(path)) {
    const { stateDict: sd, metadata } = stateDictFromSafetensors(readBytes(path, 'classifier'), path);
    model.loadStateDict(sd);
    for (const t of sd.values()) t.dispose();
    model.eval();
    return { model, accuracy: Number(metadata.heldOutAccuracy), heldOut };
  }
  console.log(`training the MNIST classifier (once; cached at ${path})`);
  const t0 = performance.now();
  const trained = await trainClassifier(train, { onEpoch: (e, l) => console.log(`  epoch ${e}: loss ${l.toFixed(4)} (${((performance.now() - t0) / 1000).toFixed(0)} s)`) });
  const accuracy = await classifierAccuracy(trained, heldOut);
  console.log(`  held-out accuracy ${(accuracy * 100).toFixed(2)}% on ${heldOut.labels.length} digits no GAN trains on`);
  writeFileAtomic(path, await stateDictToSafetensors(trained.stateDict(), { heldOutAccuracy: String(accuracy), trainedOn: `${train.labels.length} MNIST digits` }));
  return { model: trained, accuracy, heldOut };
}

/** Generated images as [n, 784] digits in [-1, 1] for the classifier: 32x32 samples are centre-cropped. */
export function asDigits(c: RunConfig, v: Float32Array, n: number): Float32Array {
  const [ch, h, w] = sampleShape(c);
  if (ch !== 1) throw new Error(`eval: the MNIST classifier scores single-channel digits; this ${c.recipe} makes ${ch} channels`);
  if (h === 28) return v;
  const off = (h - 28) >> 1;
  const out = new Float32Array(n * 784);
  for (let i = 0; i < n; i++) for (let y = 0; y < 28; y++) {
    out.set(v.subarray(i * h * w + (y + off) * w + off, i * h * w + (y + off) * w + off + 28), i * 784 + y * 28);
  }
  return out;
}
