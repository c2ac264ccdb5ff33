// CycleGAN on the built-in digit task, measured: label preservation per direction, Fréchet distance and cycle L1
// on held-out digits at a few step counts, wall time, and the compiled step's dispatch count and speed against
// the eager step. With --torch DIR it also scores the generators that scripts/cyclegan_torch.py saved there.
//   npx tsx scripts/cyclegan_measure.ts [--steps 1000] [--at 250,500,1000] [--ngf 8] [--blocks 2] [--ndf 8] [--n 500]
//   npx tsx scripts/cyclegan_measure.ts --export /tmp/cyclegan-digits   (the digits for the PyTorch script)
//   npx tsx scripts/cyclegan_measure.ts --torch /tmp/cyclegan-torch      (score PyTorch's G_A / G_B)
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { adapter, init, stats } from '../src/index.js';
import { splitMnist } from '../src/data/mnist.js';
import { CycleGanTrainer } from '../src/gan/cyclegan.js';
import { buildCycleGan, cycleGenerator, digitTask, directionQuality } from '../src/gan/cyclegan_task.js';
import { stateDictFromSafetensors } from '../src/io/state_dict.js';
import { classifier } from '../src/cli/common.js';
import { dilatedClassifier } from '../src/cli/common.js';
import { loadMnist } from '../src/node/mnist.js';
import type { RunConfig } from '../src/gan/recipes.js';

const { values: a } = parseArgs({ options: {
  steps: { type: 'string', default: '1000' }, at: { type: 'string' }, ngf: { type: 'string', default: '8' }, blocks: { type: 'string', default: '2' },
  ndf: { type: 'string', default: '8' }, n: { type: 'string', default: '500' }, export: { type: 'string' }, torch: { type: 'string' }, seed: { type: 'string', default: '0' },
  speed: { type: 'string', default: '30' },
} });
const { train, heldOut } = splitMnist(loadMnist());
const digits = digitTask(train, heldOut);

if (a.export) {
  mkdirSync(a.export, { recursive: true });
  for (const [k, d] of Object.entries(digits)) {
    writeFileSync(join(a.export, `${k}.f32`), Buffer.from(d.images.buffer, d.images.byteOffset, d.images.byteLength));
    writeFileSync(join(a.export, `${k}.labels.i32`), Buffer.from(d.labels.buffer, d.labels.byteOffset, d.labels.byteLength));
  }
  console.log(`wrote ${Object.keys(digits).join(', ')} ([n, 1, 32, 32] float32 in [-1, 1], int32 labels) to ${a.export}`);
  process.exit(0);
}

await init();
console.log(`adapter: ${adapter().description || adapter().device}`);
const n = Number(a.n);
const clsA = (await classifier()).model;
const clsB = await dilatedClassifier();
const config: RunConfig = { recipe: 'cyclegan', seed: Number(a.seed), ngf: Number(a.ngf), blocks: Number(a.blocks), ndf: Number(a.ndf), steps: Number(a.steps) };
const source = { kind: 'images' as const, a: digits.trainA.images, b: digits.trainB.images, channels: 1 as const, side: 32 };
const score = async (GA: CycleGanTrainer['s']['GA'], GB: CycleGanTrainer['s']['GB']) => ({
  a2b: await directionQuality(GA, GB, digits.heldA, digits.heldB, clsB, true, n),
  b2a: await directionQuality(GB, GA, digits.heldB, digits.heldA, clsA, false, n),
});
const fmt = (q: Awaited<ReturnType<typeof score>>) => ['a2b', 'b2a'].map((d) => {
  const x = q[d as 'a2b' | 'b2a'];
  return `${d}: labels kept ${(100 * x.labelPreservation).toFixed(1)}%, FD ${x.frechet.toFixed(2)}, cycle L1 ${x.cycleL1.toFixed(4)}`;
}).join(' | ');

if (a.torch) {
  for (const step of (a.at ?? a.steps).split(',')) {
    const load = (w: string) => {
      const G = cycleGenerator(config);
      const path = join(a.torch!, `step-${step}-${w}.safetensors`);
      if (!existsSync(path)) throw new Error(`missing ${path}`);
      const { stateDict } = stateDictFromSafetensors(new Uint8Array(readFileSync(path)), path);
      G.loadStateDict(stateDict);
      return G;
    };
    console.log(`pytorch step ${step}: ${fmt(await score(load('G_A'), load('G_B')))}`);
  }
  process.exit(0);
}

// Compiled vs eager: the same steps, timed after a warm-up (capture) phase.
const speedSteps = Number(a.speed);
for (const compile of [false, true]) {
  const t = new CycleGanTrainer({ ...buildCycleGan(config, source), compile });
  for (let i = 0; i < 3; i++) t.trainStep();
  await t.metrics();
  const d0 = stats().dispatches;
  const t0 = performance.now();
  for (let i = 0; i < speedSteps; i++) t.trainStep();
  await t.metrics();
  const sec = (performance.now() - t0) / 1000;
  console.log(`${compile ? 'compiled' : 'eager   '}: ${(speedSteps / sec).toFixed(2)} steps/s, ${((stats().dispatches - d0) / speedSteps).toFixed(0)} dispatches/step` +
    (compile ? ` (one replay encodes ${t.compileStats!.dispatches} dispatches)` : ''));
  t.dispose();
}

const at = (a.at ?? `${Math.round(config.steps! / 4)},${Math.round(config.steps! / 2)},${config.steps}`).split(',').map(Number);
const t = new CycleGanTrainer(buildCycleGan(config, source));
console.log(`step 0: ${fmt(await score(t.s.GA, t.s.GB))}`);
const t0 = performance.now();
let trainSec = 0;
while (t.step < config.steps!) {
  const s0 = performance.now();
  t.trainStep();
  if (at.includes(t.step)) {
    const rec = await t.metrics();
    trainSec += (performance.now() - s0) / 1000;
    const last = rec.slice(-50);
    const m = (k: 'cycle_A' | 'cycle_B' | 'D_A' | 'G_A') => (last.reduce((x, r) => x + r[k], 0) / last.length).toFixed(3);
    console.log(`step ${t.step} (${((performance.now() - t0) / 1000).toFixed(0)} s wall): ${fmt(await score(t.s.GA, t.s.GB))}  [train cycle_A ${m('cycle_A')} cycle_B ${m('cycle_B')} D_A ${m('D_A')} G_A ${m('G_A')}]`);
  } else {
    if (t.step % 10 === 0) await t.poll();
    trainSec += (performance.now() - s0) / 1000;
  }
}
console.log(`training time ${trainSec.toFixed(0)} s for ${config.steps} steps (${(config.steps! / trainSec).toFixed(2)} steps/s), total wall ${((performance.now() - t0) / 1000).toFixed(0)} s`);
