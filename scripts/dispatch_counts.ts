// Dispatches one compiled training step encodes, per trainer (the benchmark configurations), with the
// kernels behind them and the Gaussian step's planned arena. Usage: npx tsx scripts/dispatch_counts.ts [--kernels]
import { init } from '../src/node.js';
import { buildRun, type RunConfig } from '../src/gan/recipes.js';
import { GanTrainer } from '../src/gan/trainer.js';

const fakeImages = (n: number, side: number) => new Float32Array(n * side * side).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const cases: [string, RunConfig, boolean][] = [
  ['gaussian', { recipe: 'gaussian', seed: 0 }, false],
  ['mnist-mlp (batch 64)', { recipe: 'mnist-mlp', seed: 0, batch: 64 }, true],
  ['dcgan 32x32 (width 16, batch 32)', { recipe: 'dcgan', seed: 0, batch: 32, width: 16 }, true],
];
await init();
for (const [name, config, images] of cases) {
  const t = new GanTrainer(buildRun(config, images ? { images: fakeImages(256, 28), channels: 1, side: 28 } : undefined));
  for (let i = 0; i < 3; i++) t.trainStep();
  await t.metrics();
  const s = t.compileStats!;
  console.log(`${name}: ${s.dispatches} dispatches, arena ${s.memory!.arenaBytes} B`);
  if (process.argv.includes('--kernels')) console.log('  ', JSON.stringify(s.kernels));
  t.dispose();
}
process.exit(0);
