// Pieces shared by the CLI's commands: training images, the fixed latent batch, sample images, and the
// classifiers the quality hooks use (trained once by Kiln, cached as safetensors).
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { nn, Tensor } from '../index.js';
import { splitMnist, type MnistDigits } from '../data/mnist.js';
import { stateDictFromSafetensors, stateDictToSafetensors } from '../io/state_dict.js';
import { encodePng, imageGrid } from '../io/png.js';
import { dilatedDigits } from '../gan/cyclegan_task.js';
import type { EvalEnv } from '../gan/recipe.js';
import { asDigits as digitsOf, fixedLatent as latentBatch, generate } from '../gan/samples.js';
import { classifierAccuracy, mnistClassifier, trainClassifier } from '../gan/quality.js';
import { latentShape, recipeOf, sampleShape, type ImageSource, type RunConfig } from '../gan/recipes.js';
import { readBytes, writeFileAtomic } from '../node/files.js';
import { loadImageFolder } from '../node/images.js';
import { loadMnist } from '../node/mnist.js';

/** The training images a recipe asks for: MNIST's training split, or the user's folder. */
export function trainingImages(c: RunConfig): ImageSource | undefined {
  const need = recipeOf(c).data(c);
  if (need.kind === 'none') return undefined;
  if (need.kind === 'mnist') return { images: splitMnist(loadMnist()).train.images, channels: 1, side: 28 };
  if (need.kind !== 'folder') throw new Error(`${c.recipe}: needs two folders; its own runner reads them`);
  const f = withFlag('--data', () => loadImageFolder(need.dir, need.size, need.channels));
  console.log(`data: ${f.count} images from ${need.dir} at ${need.size}x${need.size}x${need.channels}` + (f.skipped.length ? `, skipped ${f.skipped.length}: ${f.skipped.slice(0, 3).join('; ')}` : ''));
  return { images: f.images, channels: need.channels, side: need.size };
}

/** Runs a folder read, naming the command-line option in its error. */
export function withFlag<T>(flag: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new Error(`${flag} ${(e as Error).message}`);
  }
}

/** A fixed latent batch of the run's latent shape from its own CPU generator (never shifts the training RNG). */
export function fixedLatent(c: RunConfig, n: number, seed = 1234): Tensor {
  return latentBatch(latentShape(c), n, seed);
}

export { generate };

/** A PNG of samples: the recipe's own picture (the Gaussian's scatter), else an image grid. */
export async function samplePng(c: RunConfig, G: nn.Module, z: Tensor): Promise<Uint8Array> {
  const v = await generate(G, z);
  const n = z.shape[0];
  const r = recipeOf(c);
  if (r.trainer === 'gan' && r.picture) {
    const img = await r.picture(c, v, n);
    return encodePng(img.pixels, img.width, img.height, img.channels);
  }
  const [ch, h, w] = sampleShape(c);
  const g = imageGrid(v, n, ch, h, w, Math.ceil(Math.sqrt(n)));
  return encodePng(g.pixels, g.width, g.height, g.channels);
}

export function defaultClassifierPath(): string {
  return join(process.env.KILN_CACHE ?? join(homedir(), '.cache', 'kiln'), 'mnist-classifier-v1.safetensors');
}

/** Where the dilated-digit classifier (domain B of the CycleGAN digit task) is cached. */
export function dilatedClassifierPath(): string {
  return defaultClassifierPath().replace('mnist-classifier', 'mnist-dilated-classifier');
}

/** The classifiers and digits the recipes' quality hooks ask for; `classifierPath` overrides the plain one's cache. */
export function evalEnv(classifierPath?: string): EvalEnv {
  return {
    mnist: () => splitMnist(loadMnist()),
    async classifier(kind) {
      if (kind === 'plain') return classifier(classifierPath);
      return { model: await dilatedClassifier(), accuracy: NaN };
    },
  };
}

/** Domain B's classifier (dilated digits; fed inverted B images), trained once and cached beside the MNIST one. */
export async function dilatedClassifier(path = dilatedClassifierPath()): Promise<nn.Sequential> {
  const model = mnistClassifier();
  if (existsSync(path)) {
    const { stateDict: sd } = stateDictFromSafetensors(readBytes(path, 'classifier'), path);
    model.loadStateDict(sd);
    for (const t of sd.values()) t.dispose();
    model.eval();
    return model;
  }
  console.log(`training the dilated-digit classifier (once; cached at ${path})`);
  const { train, heldOut } = splitMnist(loadMnist());
  const trained = await trainClassifier(dilatedDigits(train));
  const accuracy = await classifierAccuracy(trained, dilatedDigits(heldOut));
  console.log(`  held-out accuracy ${(accuracy * 100).toFixed(2)}%`);
  writeFileAtomic(path, await stateDictToSafetensors(trained.stateDict(), { heldOutAccuracy: String(accuracy) }));
  return trained;
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
  return digitsOf(sampleShape(c), v, n);
}
