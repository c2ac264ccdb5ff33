// Issue 7's memory target, measured: GPU memory Kiln holds after 10 and after N (default 10,000) compiled
// steps of a trainer, with the number of GPU buffers created in between (0 means no allocation on replay).
// Usage: npx tsx scripts/step_memory.ts [recipe=gaussian] [steps=10000]
import { init, memory, stats, sync } from '../src/node.js';
import { buildRun, type RunConfig } from '../src/gan/recipes.js';
import { GanTrainer } from '../src/gan/trainer.js';
import { splitMnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/cli/files.js';

const recipe = (process.argv[2] ?? 'gaussian') as RunConfig['recipe'];
const steps = Number(process.argv[3] ?? 10000);
await init();
const src = recipe === 'gaussian' ? undefined : { images: splitMnist(loadMnist()).train.images.subarray(0, 1024 * 784), channels: 1 as const, side: 28 };
const t = new GanTrainer(buildRun({ recipe, seed: 0 }, src));
const snap = async () => { await t.metrics(); await sync(); return { ...memory(), buffersCreated: stats().buffersCreated }; };
for (let i = 0; i < 10; i++) t.trainStep();
const at10 = await snap();
const t0 = performance.now();
while (t.step < steps) {
  t.trainStep();
  if (t.step % 16 === 0) await t.poll();
}
const atN = await snap();
const s = t.compileStats!;
console.log(JSON.stringify({ recipe, steps, seconds: +((performance.now() - t0) / 1000).toFixed(1), at10, [`at${steps}`]: atN,
  equal: at10.totalBytes === atN.totalBytes, buffersCreatedBetween: atN.buffersCreated - at10.buffersCreated,
  replays: s.replays, dispatchesPerStep: s.dispatches, plan: s.memory }, null, 1));
process.exit(0);
