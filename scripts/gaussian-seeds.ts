// Runs the 2-D Gaussian GAN recipe over several seeds and prints the implied mean/covariance errors per seed
// and their medians (the reference: PyTorch needle recipe, 10 seeds, medians 0.09 and 0.08).
// Usage: npx tsx scripts/gaussian-seeds.ts [--preset needle|d2l] [--seeds 10] [--ema 0.999] [--steps N]
import { init } from '../src/index.js';
import { gaussianErrors, gaussianSetup, impliedGaussian } from '../src/gan/gaussian.js';
import { GanTrainer } from '../src/gan/trainer.js';

const args = process.argv.slice(2);
const opt = (name: string, d?: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : d; };
const preset = opt('preset', 'needle') as 'needle' | 'd2l';
const seeds = Number(opt('seeds', '10'));
const ema = opt('ema') ? Number(opt('ema')) : undefined;
const info = await init();
console.log(`adapter: ${info.description || info.device} | preset ${preset} | ema ${ema ?? 'off'}`);
const rows: { seed: number; meanError: number; covRelError: number; stepsPerSec: number }[] = [];
for (let seed = 0; seed < seeds; seed++) {
  const s = gaussianSetup({ preset, seed, ema });
  const steps = Number(opt('steps', String(s.steps)));
  const t = new GanTrainer(s);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    t.trainStep();
    if ((i + 1) % 100 === 0) await t.metrics();
  }
  await t.metrics();
  const sec = (performance.now() - t0) / 1000;
  const g = await impliedGaussian(t.sampler);
  const e = gaussianErrors(g.mean, g.cov);
  rows.push({ seed, ...e, stepsPerSec: steps / sec });
  console.log(`seed ${seed}: mean error ${e.meanError.toFixed(3)}, covariance rel. error ${e.covRelError.toFixed(3)}, ` +
    `mean [${g.mean.map((v) => v.toFixed(3))}], cov [${g.cov.flat().map((v) => v.toFixed(3))}], ${(steps / sec).toFixed(0)} steps/s`);
}
const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
console.log(`median mean error ${median(rows.map((r) => r.meanError)).toFixed(3)}, median covariance rel. error ` +
  `${median(rows.map((r) => r.covRelError)).toFixed(3)}, worst ${Math.max(...rows.map((r) => r.meanError)).toFixed(3)} / ` +
  `${Math.max(...rows.map((r) => r.covRelError)).toFixed(3)}`);
process.exit(0);
