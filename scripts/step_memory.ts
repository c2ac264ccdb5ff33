// Flat memory, measured: GPU memory Kiln holds (memory().totalBytes) and GPU buffers created so
// far after 10, 100, 1000 and N (default 10,000) compiled steps of a trainer, metrics read as the CLI reads them.
// Usage: npx tsx scripts/step_memory.ts [recipe=gaussian] [steps=10000]
import { init, memory, stats, sync } from '../src/node.js';
import { buildRun, type RunConfig } from '../src/gan/recipes.js';
import { GanTrainer } from '../src/gan/trainer.js';
import { splitMnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/mnist.js';

const recipe = (process.argv[2] ?? 'gaussian') as RunConfig['recipe'];
const steps = Number(process.argv[3] ?? 10000);
await init();
const src = recipe === 'gaussian' ? undefined : { images: splitMnist(loadMnist()).train.images.subarray(0, 1024 * 784), channels: 1 as const, side: 28 };
const t = new GanTrainer(buildRun({ recipe, seed: 0 }, src));
const snap = async () => { await t.metrics(); await sync(); return { ...memory(), buffersCreated: stats().buffersCreated }; };
const marks = [10, 100, 1000, steps].filter((m, i, a) => m <= steps && a.indexOf(m) === i);
const at: Record<number, Awaited<ReturnType<typeof snap>>> = {};
const t0 = performance.now();
for (const mark of marks) {
  while (t.step < mark) {
    t.trainStep();
    if (t.step % 16 === 0) await t.poll();
  }
  at[mark] = await snap();
}
const s = t.compileStats!;
const last = at[steps];
console.log(JSON.stringify({
  recipe, steps, seconds: +((performance.now() - t0) / 1000).toFixed(1),
  totalBytes: Object.fromEntries(marks.map((m) => [m, at[m].totalBytes])),
  buffersCreated: Object.fromEntries(marks.map((m) => [m, at[m].buffersCreated])),
  [`at${steps}`]: last, replays: s.replays, dispatchesPerStep: s.dispatches, plan: s.memory,
}, null, 1));
process.exit(0);
