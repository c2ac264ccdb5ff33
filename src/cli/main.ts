#!/usr/bin/env node
// The `kiln` command: train the seeds' GANs, sample from and evaluate checkpoints.
import { join } from 'node:path';
import { init, shutdown, tune } from '../index.js';
import { decodeCheckpoint, loadSampler } from '../gan/checkpoint.js';
import { gaussianErrors, impliedGaussian } from '../gan/gaussian.js';
import { digitQuality } from '../gan/quality.js';
import { makeGenerator, RECIPES, type RecipeName, type RunConfig } from '../gan/recipes.js';
import { int, num, parseArgs, str, type Parsed } from './args.js';
import { asDigits, classifier, fixedLatent, generate, samplePng } from './common.js';
import { readBytes, writeFileAtomic } from './files.js';
import { train } from './train.js';

const USAGE = `kiln — GANs on a WebGPU tensor engine

  kiln train <gaussian|mnist-mlp|dcgan> [--preset needle|d2l] [--steps N] [--batch N] [--lr X] [--seed N]
             [--ema D] [--objective nonSaturating|minimax] [--latent N] [--size 32|64] [--channels 1|3]
             [--width N] [--data DIR] [--out DIR] [--every N] [--resume CKPT] [--eval] [--seeds N] [--tune]
  kiln sample --checkpoint F [--n 64] [--seed N] [--out grid.png]
  kiln eval --checkpoint F [--n 1000] [--classifier F]
  kiln classifier [--out F]       train (or load) the MNIST classifier and print its held-out accuracy

  --seeds N (gaussian): train seeds S..S+N-1 and report the median errors of the implied Gaussian.
  --tune: time the matmul kernel's workgroup shapes on this adapter first (a few seconds) and use the fastest.
  Outputs go to --out (default runs/<recipe>): samples/*.png, losses.csv, losses.svg,
  checkpoints/*.safetensors, summary.json.`;

const TRAIN_OPTS = {
  preset: 'string', steps: 'string', batch: 'string', lr: 'string', seed: 'string', ema: 'string', objective: 'string',
  latent: 'string', size: 'string', channels: 'string', width: 'string', data: 'string', out: 'string', every: 'string',
  resume: 'string', eval: 'flag', seeds: 'string', tune: 'flag',
} as const;

function configFrom(recipe: RecipeName, p: Parsed): RunConfig {
  const c: RunConfig = { recipe, seed: int(p, 'seed') ?? 0 };
  const preset = str(p, 'preset');
  if (preset !== undefined) c.preset = preset as RunConfig['preset'];
  if (recipe === 'gaussian' && preset !== undefined && preset !== 'needle' && preset !== 'd2l') {
    throw new Error(`gaussian: --preset must be needle or d2l, got '${preset}'`);
  }
  const set = <K extends keyof RunConfig>(k: K, v: RunConfig[K] | undefined) => { if (v !== undefined) c[k] = v; };
  set('batch', int(p, 'batch', 1));
  set('lr', num(p, 'lr', (v) => v > 0, 'a positive number'));
  set('ema', num(p, 'ema', (v) => v >= 0 && v < 1, 'in [0, 1)'));
  set('objective', str(p, 'objective') as RunConfig['objective']);
  set('latent', int(p, 'latent', 1));
  set('size', num(p, 'size', (v) => v === 32 || v === 64, '32 or 64') as 32 | 64 | undefined);
  set('channels', num(p, 'channels', (v) => v === 1 || v === 3, '1 or 3') as 1 | 3 | undefined);
  set('width', int(p, 'width', 1));
  set('data', str(p, 'data'));
  if (recipe === 'dcgan' && c.data && c.data !== 'mnist') { c.size ??= 64; c.channels ??= 3; }
  return c;
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

async function trainCommand(p: Parsed): Promise<void> {
  const recipe = p.positional[0] as RecipeName | undefined;
  if (!p.opts.has('resume') && (!recipe || !RECIPES.includes(recipe))) {
    throw new Error(`kiln train: name a recipe: ${RECIPES.join(', ')}${recipe ? ` (got '${recipe}')` : ''}`);
  }
  const config = configFrom(recipe ?? 'gaussian', p);
  const out = str(p, 'out') ?? join('runs', recipe ?? 'resumed');
  const steps = int(p, 'steps', 1);
  const every = int(p, 'every', 1);
  const seeds = int(p, 'seeds', 1);
  const info = await init();
  console.log(`adapter: ${info.description || info.device} (${info.source})`);
  if (p.opts.has('tune')) {
    const t = await tune();
    console.log(`tune: matmul workgroups ${(['NN', 'NT', 'TN'] as const).map((l) => `${l} ${t.matmul[l].workgroup.join('x')}`).join(', ')}`);
  }
  if (seeds !== undefined) {
    if (config.recipe !== 'gaussian' || p.opts.has('resume')) throw new Error('--seeds runs the gaussian seed experiment only');
    const rows: { seed: number; meanError: number; covRelError: number; stepsPerSecond: number }[] = [];
    for (let k = 0; k < seeds; k++) {
      const seed = config.seed + k;
      const { summary } = await train({ config: { ...config, seed }, steps, every, out: join(out, `seed-${seed}`), quiet: true });
      const g = summary.gaussian as { meanError: number; covRelError: number; mean: number[]; cov: number[][] };
      rows.push({ seed, meanError: g.meanError, covRelError: g.covRelError, stepsPerSecond: summary.stepsPerSecond as number });
      console.log(`seed ${seed}: mean error ${g.meanError.toFixed(3)}, covariance rel. error ${g.covRelError.toFixed(3)}, ` +
        `mean [${g.mean.map((v) => v.toFixed(3))}], cov [${g.cov.flat().map((v) => v.toFixed(3))}], ${(summary.stepsPerSecond as number).toFixed(0)} steps/s`);
    }
    const result = {
      recipe: 'gaussian', config, seeds: rows,
      medianMeanError: median(rows.map((r) => r.meanError)), medianCovRelError: median(rows.map((r) => r.covRelError)),
      worstMeanError: Math.max(...rows.map((r) => r.meanError)), worstCovRelError: Math.max(...rows.map((r) => r.covRelError)),
      reference: 'PyTorch, needle recipe, seeds 0-9: median mean error 0.09, median covariance error 0.08 (issue); scripts/gaussian_reference.py',
    };
    writeFileAtomic(join(out, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
    console.log(`median mean error ${result.medianMeanError.toFixed(3)}, median covariance rel. error ${result.medianCovRelError.toFixed(3)}, ` +
      `worst ${result.worstMeanError.toFixed(3)} / ${result.worstCovRelError.toFixed(3)} (${seeds} seeds; outputs in ${out})`);
    return;
  }
  const { summary } = await train({ config, steps, every, out, resume: str(p, 'resume'), evaluate: p.opts.has('eval') });
  const g = summary.gaussian as { meanError: number; covRelError: number } | undefined;
  if (g) console.log(`implied Gaussian: mean error ${g.meanError.toFixed(3)}, covariance rel. error ${g.covRelError.toFixed(3)}`);
  if (summary.quality) console.log(`quality: ${JSON.stringify(summary.quality)}`);
  console.log(`${summary.steps} steps in ${summary.wallSeconds} s (${summary.stepsPerSecond} steps/s); outputs in ${out}`);
}

async function sampleCommand(p: Parsed): Promise<void> {
  const path = str(p, 'checkpoint');
  if (!path) throw new Error('kiln sample: --checkpoint F is required');
  const ck = decodeCheckpoint(readBytes(path, 'checkpoint'), path);
  const n = int(p, 'n', 1) ?? 64;
  const out = str(p, 'out') ?? 'grid.png';
  await init();
  const G = loadSampler(makeGenerator(ck.config), ck);
  const z = fixedLatent(ck.config, n, int(p, 'seed') ?? 1234);
  writeFileAtomic(out, await samplePng(ck.config, G, z));
  console.log(`${n} samples of ${ck.config.recipe} (step ${ck.step}) written to ${out}`);
}

async function evalCommand(p: Parsed): Promise<void> {
  const path = str(p, 'checkpoint');
  if (!path) throw new Error('kiln eval: --checkpoint F is required');
  const ck = decodeCheckpoint(readBytes(path, 'checkpoint'), path);
  await init();
  const G = loadSampler(makeGenerator(ck.config), ck);
  if (ck.config.recipe === 'gaussian') {
    const g = await impliedGaussian(G);
    console.log(JSON.stringify({ step: ck.step, mean: g.mean, cov: g.cov, ...gaussianErrors(g.mean, g.cov) }, null, 2));
    return;
  }
  if (ck.config.data && ck.config.data !== 'mnist') throw new Error('kiln eval: the MNIST classifier scores MNIST runs only');
  const n = int(p, 'n', 2) ?? 1000;
  const cls = await classifier(str(p, 'classifier'));
  const z = fixedLatent(ck.config, n, 99);
  const v = await generate(G, z);
  const q = await digitQuality(cls.model, asDigits(ck.config, v, n), cls.heldOut);
  console.log(JSON.stringify({ step: ck.step, classifierHeldOutAccuracy: cls.accuracy, ...q }, null, 2));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === 'help' || cmd === '-h') { console.log(USAGE); return cmd ? 0 : 2; }
  if (cmd === 'train') await trainCommand(parseArgs(rest, TRAIN_OPTS));
  else if (cmd === 'sample') await sampleCommand(parseArgs(rest, { checkpoint: 'string', n: 'string', seed: 'string', out: 'string' }));
  else if (cmd === 'eval') await evalCommand(parseArgs(rest, { checkpoint: 'string', n: 'string', classifier: 'string' }));
  else if (cmd === 'classifier') {
    const p = parseArgs(rest, { out: 'string' });
    await init();
    const c = await classifier(str(p, 'out'));
    console.log(`MNIST classifier: held-out accuracy ${(c.accuracy * 100).toFixed(2)}%`);
  } else throw new Error(`unknown command '${cmd}'\n\n${USAGE}`);
  return 0;
}

main(process.argv.slice(2)).then((code) => { shutdown(); process.exit(code); }, (e: Error) => {
  console.error(`kiln: ${e.message}`);
  process.exit(1);
});
