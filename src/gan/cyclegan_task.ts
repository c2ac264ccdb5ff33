// CycleGAN's data and recipe: the built-in digit task (domain A = MNIST digits as they are; domain B = a
// disjoint set of other MNIST digits with strokes thickened by a 3x3 dilation and tones inverted, so the
// translation must change both shape and tone), the 2-D toy (a Gaussian <-> a ring), folders of images, and
// the recipe table's entry. Quality of the digit task: label preservation through a classifier per domain,
// Fréchet distance in that classifier's feature space, and cycle L1 on held-out digits.
import { manualSeed, tensor, type nn } from '../index.js';
import { ImageDataset, mapSamples } from '../data/images.js';
import type { HostArray } from '../data/loader.js';
import { Compose, Normalize, Pad } from '../data/transforms.js';
import { MNIST_PIXELS, type MnistDigits } from '../data/mnist.js';
import { classifyAll, frechetDistance, meanCov } from './quality.js';
import { cycleGanSetup, translate, type CycleGanOptions, type CycleGanSetup, type DomainData } from './cyclegan.js';
import { nLayerDiscriminator, resnetGenerator, toyDiscriminator, toyGenerator } from './cyclegan_nets.js';
import { checkChoice, checkInt, checkOnly, type CheckpointLayout, type OwnRecipe, type RunConfig } from './recipe.js';

// ---------------------------------------------------------------- the digit task

/** Domain B's style of a 28x28 digit in [0, 1]: strokes dilated by a 3x3 maximum, then inverted. */
export function styleB(img: Float32Array): Float32Array {
  const out = new Float32Array(MNIST_PIXELS);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    let m = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const yy = y + dy; const xx = x + dx;
      if (yy >= 0 && yy < 28 && xx >= 0 && xx < 28) m = Math.max(m, img[yy * 28 + xx]);
    }
    out[y * 28 + x] = 1 - m;
  }
  return out;
}

/** Domain B's style as a transform of a [1, 28, 28] digit in [0, 1] (see styleB). */
export const StyleB = (x: HostArray): HostArray => ({ data: styleB(x.data as Float32Array), shape: [1, 28, 28] });

/** One domain's digits: [n, 1, 32, 32] in [-1, 1] and their labels. */
export interface Domain { images: Float32Array; labels: Int32Array }

export interface DigitTask { trainA: Domain; trainB: Domain; heldA: Domain; heldB: Domain }

/** Splits digits alternately between the domains (so A and B are disjoint and class-balanced), then through the
 * transforms: B styled, both padded to 32 (B with its white background) and normalised to [-1, 1]. */
function toDomains(d: MnistDigits): { a: Domain; b: Domain } {
  const ia: number[] = [];
  const ib: number[] = [];
  const seen = new Array(10).fill(0);
  d.labels.forEach((l, i) => { (seen[l]++ % 2 === 0 ? ia : ib).push(i); });
  const make = (idx: number[], styled: boolean): Domain => {
    const px = new Float32Array(idx.length * MNIST_PIXELS);
    idx.forEach((s, k) => px.set(d.images.subarray(s * MNIST_PIXELS, (s + 1) * MNIST_PIXELS), k * MNIST_PIXELS));
    const prepare = Compose<HostArray, HostArray>([...(styled ? [StyleB] : []), Pad(2, styled ? 1 : 0), Normalize([0.5], [0.5])]);
    return { images: mapSamples(px, [1, 28, 28], prepare).data, labels: Int32Array.from(idx, (s) => d.labels[s]) };
  };
  return { a: make(ia, false), b: make(ib, true) };
}

/** The digit task from MNIST's training and held-out splits (splitMnist). */
export function digitTask(train: MnistDigits, heldOut: MnistDigits): DigitTask {
  const t = toDomains(train);
  const h = toDomains(heldOut);
  return { trainA: t.a, trainB: t.b, heldA: h.a, heldB: h.b };
}

/** 28x28 digits in [-1, 1] for a classifier of domain A's style from [n, 1, 32, 32] images (centre crop);
 * with `invert`, tones flipped (domain B's classifier is trained on dilated digits in A's tone). */
export function classifierInput(images: Float32Array, invert: boolean): Float32Array {
  const n = images.length / 1024;
  const out = new Float32Array(n * MNIST_PIXELS);
  for (let i = 0; i < n; i++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) {
    const v = images[i * 1024 + (y + 2) * 32 + x + 2];
    out[i * MNIST_PIXELS + y * 28 + x] = invert ? -v : v;
  }
  return out;
}

/** Dilated (un-inverted) training digits for domain B's classifier, in [0, 1]. */
export function dilatedDigits(d: MnistDigits): MnistDigits {
  const images = new Float32Array(d.images.length);
  for (let i = 0; i < d.labels.length; i++) {
    const s = styleB(d.images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS));
    for (let k = 0; k < MNIST_PIXELS; k++) images[i * MNIST_PIXELS + k] = 1 - s[k];
  }
  return { images, labels: d.labels };
}

export interface DirectionQuality {
  /** Fraction of translated digits the target domain's classifier reads as the source digit's label. */
  labelPreservation: number;
  /** Fréchet distance between classifier features of translated and real held-out target-domain digits. */
  frechet: number;
  /** Mean |F(G(x)) - x| over pixels in [-1, 1]. */
  cycleL1: number;
}

/** Scores one direction on held-out digits: `clsTarget` reads target-domain images after `classifierInput(., invertTarget)`. */
export async function directionQuality(G: nn.Module, back: nn.Module, source: Domain, target: Domain,
  clsTarget: nn.Sequential, invertTarget: boolean, n = 500): Promise<DirectionQuality> {
  const m = Math.min(n, source.labels.length);
  const chunk = 100;
  let correct = 0;
  let l1 = 0;
  const feats: Float32Array[] = [];
  for (let s = 0; s < m; s += chunk) {
    const k = Math.min(chunk, m - s);
    const xs = source.images.subarray(s * 1024, (s + k) * 1024);
    const x = tensor(xs, [k, 1, 32, 32]);
    const { fake, rec } = await translate(G, back, x);
    x.dispose();
    for (let i = 0; i < rec.length; i++) l1 += Math.abs(rec[i] - xs[i]);
    const c = await classifyAll(clsTarget, classifierInput(fake, invertTarget));
    for (let i = 0; i < k; i++) {
      let best = 0;
      for (let j = 1; j < 10; j++) if (c.probs[i * 10 + j] > c.probs[i * 10 + best]) best = j;
      if (best === source.labels[s + i]) correct++;
    }
    feats.push(c.features);
  }
  const f = new Float32Array(m * 64);
  let o = 0;
  for (const x of feats) { f.set(x, o); o += x.length; }
  const mt = Math.min(m, target.labels.length);
  const real = await classifyAll(clsTarget, classifierInput(target.images.subarray(0, mt * 1024), invertTarget));
  return {
    labelPreservation: correct / m,
    frechet: frechetDistance(meanCov(f, m, 64), meanCov(real.features, mt, 64), 64),
    cycleL1: l1 / (m * 1024),
  };
}

// ---------------------------------------------------------------- the 2-D toy

/** Domain A: N(0, 0.5^2 I); domain B: a ring of radius 2 with radial noise 0.1. */
export function toyDomains(n: number, seed: number): { a: Float32Array; b: Float32Array } {
  let st = (seed * 9301 + 49297) >>> 0;
  const r = () => { st = (st + 0x6d2b79f5) >>> 0; let t = st; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const gauss = () => Math.sqrt(-2 * Math.log(Math.max(r(), 1e-12))) * Math.cos(2 * Math.PI * r());
  const a = new Float32Array(n * 2);
  const b = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    a[2 * i] = 0.5 * gauss(); a[2 * i + 1] = 0.5 * gauss();
    const th = 2 * Math.PI * r();
    const rad = 2 + 0.1 * gauss();
    b[2 * i] = rad * Math.cos(th); b[2 * i + 1] = rad * Math.sin(th);
  }
  return { a, b };
}

// ---------------------------------------------------------------- the recipe

export const CYCLEGAN_DEFAULTS = { size: 32, ngf: 64, blocks: 9, ndf: 64, batch: 1, lr: 2e-4, steps: 2000, toySteps: 2000, toyBatch: 64 };

/** The data of a CycleGAN run: two image domains [n, c, s, s] in [-1, 1], or the toy's points. */
export type CycleSource =
  | { kind: 'images'; a: Float32Array; b: Float32Array; channels: 1 | 3; side: number }
  | { kind: 'toy' };

function isToy(c: RunConfig): boolean { return c.task === 'toy'; }

/** The batch size of a run (the recipe's default when unset). */
export function cycleBatch(c: RunConfig): number { return c.batch ?? (isToy(c) ? CYCLEGAN_DEFAULTS.toyBatch : CYCLEGAN_DEFAULTS.batch); }

/** Each pool's fill count and PRNG state: { A: [count, state], B: [count, state] }. */
export type PoolStates = Record<'A' | 'B', [number, number]>;

/**
 * A CycleGAN checkpoint: the four networks under the reference's names, the Adam of both generators and one
 * per discriminator, both image pools' images, and the pools' fill counts and PRNG states. A pool stores every
 * fake until it is full, so its count must be min(pool size, step x batch).
 */
export const CYCLEGAN_CHECKPOINT: CheckpointLayout = {
  groups: ['G_A', 'G_B', 'D_A', 'D_B', 'pool_A', 'pool_B'].map((name) => ({ name, required: true }))
    .concat(['optG', 'optD_A', 'optD_B'].map((name) => ({ name, required: false }))),
  optimizers: [{ name: 'G', group: 'optG', key: 'optG_step' }, { name: 'D_A', group: 'optD_A', key: 'optD_A_step' }, { name: 'D_B', group: 'optD_B', key: 'optD_B_step' }],
  extra: [{
    key: 'pools',
    check(raw, { config, step, groups }): PoolStates {
      const v = JSON.parse(raw) as unknown;
      if (v === null || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).sort().join() !== 'A,B') {
        throw new Error(`is ${raw}, expected { A: [count, state], B: [count, state] }`);
      }
      for (const d of ['A', 'B'] as const) {
        const e = (v as Record<string, unknown>)[d];
        const rows = groups.get(`pool_${d}`)?.get('images')?.shape[0];
        if (rows === undefined) throw new Error(`pool ${d} has no images tensor`);
        if (!Array.isArray(e) || e.length !== 2 || !e.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32)) {
          throw new Error(`pool ${d} is ${JSON.stringify(e)}, expected [count, state] of integers in [0, 2^32)`);
        }
        const want = Math.min(rows, step * cycleBatch(config));
        if (e[0] !== want) throw new Error(`pool ${d} holds ${e[0]} images but after ${step} steps of batch ${cycleBatch(config)} a pool of ${rows} holds ${want}`);
      }
      return v as PoolStates;
    },
  }],
};

export const cycleganRecipe: OwnRecipe = {
  name: 'cyclegan',
  trainer: 'cyclegan',
  checkpoint: CYCLEGAN_CHECKPOINT,
  summary: 'CycleGAN: unpaired translation between two folders (default: plain MNIST digits <-> thick inverted digits)',
  options: [
    { name: 'data-a', key: 'dataA', kind: 'string', value: 'DIR', help: "domain A's folder of PNG/JPEG images (with --data-b; default: the built-in digit task)" },
    { name: 'data-b', key: 'dataB', kind: 'string', value: 'DIR', help: "domain B's folder" },
    { name: 'task', key: 'task', kind: 'choice', choices: ['digits', 'toy'], value: 'T', help: 'built-in task: digits (default) or toy (2-D Gaussian <-> ring, MLPs, seconds)' },
    { name: 'size', key: 'size', kind: 'choice', choices: [32, 64, 128, 256], value: 'S', help: 'image side for folders (default 32; the digit task is 32)' },
    { name: 'channels', key: 'channels', kind: 'choice', choices: [1, 3], value: 'C', help: 'image channels for folders (default 3)' },
    { name: 'ngf', key: 'ngf', kind: 'int', min: 1, value: 'N', help: `generator width (default ${CYCLEGAN_DEFAULTS.ngf})` },
    { name: 'blocks', key: 'blocks', kind: 'int', min: 0, value: 'N', help: `residual blocks (default ${CYCLEGAN_DEFAULTS.blocks})` },
    { name: 'ndf', key: 'ndf', kind: 'int', min: 1, value: 'N', help: `discriminator width (default ${CYCLEGAN_DEFAULTS.ndf})` },
  ],
  check(c) {
    checkOnly(c, ['dataA', 'dataB', 'task', 'size', 'channels', 'ngf', 'blocks', 'ndf', 'steps']);
    checkChoice(c, 'task', ['digits', 'toy']);
    checkChoice(c, 'size', [32, 64, 128, 256]);
    checkChoice(c, 'channels', [1, 3]);
    checkInt(c, 'ngf', 1);
    checkInt(c, 'blocks', 0);
    checkInt(c, 'ndf', 1);
    checkInt(c, 'steps', 1);
    if ((c.dataA === undefined) !== (c.dataB === undefined)) throw new Error('cyclegan: give both --data-a and --data-b, or neither (the built-in digit task)');
    if (c.dataA !== undefined && c.task !== undefined) throw new Error('cyclegan: --task is for the built-in tasks; drop it with --data-a/--data-b');
    if (c.dataA === undefined && (c.channels !== undefined || (c.size !== undefined && c.size !== 32))) {
      throw new Error('cyclegan: the built-in tasks are 32x32 digits or 2-D points; --size and --channels apply to --data-a/--data-b');
    }
    if (isToy(c) && (c.ngf !== undefined || c.blocks !== undefined || c.ndf !== undefined)) throw new Error('cyclegan: --ngf, --blocks and --ndf shape the image networks, not the toy');
  },
  label: (c) => `cyclegan${isToy(c) ? '/toy' : ''}`,
  quality: {
    key: 'quality',
    n: 500,
    async run({ GA, GB }, c, env, n) {
      if (isToy(c) || c.dataA) throw new Error('eval: cyclegan runs are scored on the built-in digit task only (its domains are labelled digits)');
      const held = toDomains(env.mnist().heldOut);
      const clsA = (await env.classifier('plain')).model;
      const clsB = (await env.classifier('dilated')).model;
      return {
        a2b: await directionQuality(GA, GB, held.a, held.b, clsB, true, n),
        b2a: await directionQuality(GB, GA, held.b, held.a, clsA, false, n),
      };
    },
    line: (q) => (['a2b', 'b2a'] as const).map((d) => {
      const x = q[d] as DirectionQuality;
      return `${d}: label preservation ${(x.labelPreservation * 100).toFixed(1)}%, Fréchet ${x.frechet.toFixed(2)}, cycle L1 ${x.cycleL1.toFixed(4)}`;
    }).join('; '),
  },
  defaultSteps: (c) => c.steps ?? (isToy(c) ? CYCLEGAN_DEFAULTS.toySteps : CYCLEGAN_DEFAULTS.steps),
  sampleShape(c) {
    if (isToy(c)) return [2];
    const s = c.size ?? CYCLEGAN_DEFAULTS.size;
    return [c.dataA ? (c.channels ?? 3) : 1, s, s];
  },
  data(c) {
    if (isToy(c)) return { kind: 'none' };
    if (c.dataA && c.dataB) return { kind: 'folders', a: c.dataA, b: c.dataB, size: c.size ?? CYCLEGAN_DEFAULTS.size, channels: c.channels ?? 3 };
    return { kind: 'mnist' };
  },
};

/** A generator of the run's architecture (G_A and G_B share it). */
export function cycleGenerator(c: RunConfig): nn.Module {
  if (isToy(c)) return toyGenerator();
  const ch = cycleganRecipe.sampleShape(c)[0];
  return resnetGenerator({ inputNc: ch, outputNc: ch, ngf: c.ngf ?? CYCLEGAN_DEFAULTS.ngf, nBlocks: c.blocks ?? CYCLEGAN_DEFAULTS.blocks });
}

/** Builds a CycleGAN run: the four networks (seeded), optimizers, losses, pools and both domains' data.
 * `extra` sets what the recipe keeps fixed (pool size, loss weights), for experiments and tests. */
export function buildCycleGan(c: RunConfig, src: CycleSource,
  extra: Pick<CycleGanOptions, 'poolSize' | 'lambdaA' | 'lambdaB' | 'lambdaIdentity'> = {}): CycleGanSetup {
  cycleganRecipe.check(c);
  const steps = cycleganRecipe.defaultSteps(c);
  const toy = isToy(c);
  manualSeed(c.seed);
  let dataA: DomainData;
  let dataB: DomainData;
  if (toy) {
    const t = toyDomains(2048, c.seed);
    dataA = new ImageDataset(t.a, [2], c.seed);
    dataB = new ImageDataset(t.b, [2], c.seed + 1);
  } else {
    if (src.kind !== 'images') throw new Error('cyclegan: needs images for both domains');
    const shape = cycleganRecipe.sampleShape(c);
    if (src.side !== shape[1] || src.channels !== shape[0]) {
      throw new Error(`cyclegan: images are ${src.channels}x${src.side}x${src.side} but the run is ${shape.join('x')}`);
    }
    dataA = new ImageDataset(src.a, shape, c.seed);
    dataB = new ImageDataset(src.b, shape, c.seed + 1);
  }
  const ch = cycleganRecipe.sampleShape(c)[0];
  const makeG = () => cycleGenerator(c);
  const makeD = () => (toy ? toyDiscriminator() : nLayerDiscriminator({ inputNc: ch, ndf: c.ndf ?? CYCLEGAN_DEFAULTS.ndf }));
  const GA = makeG();
  const GB = makeG();
  const DA = makeD();
  const DB = makeD();
  return cycleGanSetup({
    GA, GB, DA, DB, makeG, dataA, dataB, steps, seed: c.seed,
    batch: cycleBatch(c),
    lr: c.lr ?? CYCLEGAN_DEFAULTS.lr,
    // The toy's two clouds share one plane, so the identity term (G_B(a) = a) pins G to the identity map: with
    // 0.5 lambda G stayed there for 2000 steps (D losses ~0.01, zero-length arrows); without it G(x) spreads to
    // the ring (radius percentiles 0.64 / 1.62 / 2.82 at p10 / p50 / p90, ring at 2).
    ...(toy ? { lambdaIdentity: 0 } : {}),
    ...extra,
  });
}
