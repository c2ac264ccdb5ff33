// What one replayed Gaussian GAN step costs on the CPU: the JavaScript inside trainStep (encoding the replay,
// feeding the batch, recording the metrics) against the wall time per step when the steps are queued and
// awaited once, so the GPU's share shows as the difference. Usage: npx tsx scripts/replay_cost.ts [steps]
import { init } from '../src/node.js';
import { buildRun } from '../src/gan/recipes.js';
import { GanTrainer } from '../src/gan/trainer.js';

const steps = Number(process.argv[2] ?? 400);
await init();
const t = new GanTrainer(buildRun({ recipe: 'gaussian', seed: 0 }));
for (let i = 0; i < 50; i++) t.trainStep();
await t.metrics();
for (let rep = 0; rep < 3; rep++) {
  const t0 = performance.now();
  let js = 0;
  for (let i = 0; i < steps; i++) {
    const a = performance.now();
    t.trainStep();
    js += performance.now() - a;
  }
  await t.metrics();
  const wall = performance.now() - t0;
  console.log(`${steps} steps: wall ${(wall / steps * 1000).toFixed(0)} µs a step, JavaScript in trainStep ${(js / steps * 1000).toFixed(0)} µs a step`);
}
t.dispose();
process.exit(0);
