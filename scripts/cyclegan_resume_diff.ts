// Where a resumed compiled CycleGAN digit-task run parts from the uninterrupted one, bit for bit:
//   npx tsx scripts/cyclegan_resume_diff.ts
// 1. Runs 6 compiled steps straight and 3 + 3 resumed from the step-3 checkpoint (the resumed run's step 4 is
//    the compiled step's eager warm-up, the straight run's a replay) and lists the state tensors that differ.
// 2. From the same inputs and state, compares compiled runs (eager warm-up, capture, replay) of the PatchGAN
//    discriminator's pieces with eager runs, to name the first op chain whose fused form rounds differently.
import { cat, compileStep, init, manualSeed, noGrad, ones, F, tensor, tidy, type nn, type Tensor } from '../src/index.js';
import { splitMnist } from '../src/data/mnist.js';
import { loadMnist } from '../src/node/mnist.js';
import { CycleGanTrainer } from '../src/gan/cyclegan.js';
import { decodeCycleGanCheckpoint, encodeCycleGanCheckpoint, restoreCycleGanCheckpoint } from '../src/gan/cyclegan_checkpoint.js';
import { nLayerDiscriminator } from '../src/gan/cyclegan_nets.js';
import { buildCycleGan, digitTask } from '../src/gan/cyclegan_task.js';
import type { RunConfig } from '../src/gan/recipes.js';

await init();
const c: RunConfig = { recipe: 'cyclegan', seed: 3, ngf: 2, blocks: 1, ndf: 2, steps: 6 };
const { train, heldOut } = splitMnist(loadMnist());
const d = digitTask(train, heldOut);
const src = { kind: 'images' as const, a: d.trainA.images, b: d.trainB.images, channels: 1 as const, side: 32 };
const snap = async (t: CycleGanTrainer) => { await t.metrics(); return decodeCycleGanCheckpoint(await encodeCycleGanCheckpoint(t, c)); };
const straight = new CycleGanTrainer(buildCycleGan(c, src));
const states = [];
for (let i = 0; i < 6; i++) { straight.trainStep(); states.push(await snap(straight)); }
const r = new CycleGanTrainer(buildCycleGan(c, src));
restoreCycleGanCheckpoint(r, states[2]);
for (let i = 3; i < 6; i++) {
  r.trainStep();
  const s = await snap(r);
  const diffs: string[] = [];
  for (const [g, group] of states[i].groups) for (const [k, t] of group) {
    const u = s.groups.get(g)!.get(k)!;
    let n = 0; let worst = 0;
    for (let j = 0; j < t.data.length; j++) if (t.data[j] !== u.data[j]) { n++; worst = Math.max(worst, Math.abs(t.data[j] - u.data[j])); }
    if (n) diffs.push(`${g}.${k} (${n}/${t.data.length}, max ${worst.toExponential(2)})`);
  }
  console.log(`step ${i + 1}: ${diffs.length ? `${diffs.length} tensors differ, first ${diffs.slice(0, 3).join('; ')}` : 'bit-identical'}`);
}
straight.dispose();
r.dispose();

const x = new Float32Array(1024).map((_, i) => Math.sin(i * 0.37));
const bits = async (t: Tensor) => Float32Array.from(await t.toArray());
async function probe(name: string, make: () => (inp: Tensor) => Tensor): Promise<boolean> {
  const f = make();
  const g = make();
  const step = compileStep((inp: Tensor) => f(inp));
  const notes: string[] = [];
  let differs = false;
  for (const phase of ['eager warm-up', 'capture', 'replay']) {
    const got = await bits(tidy(() => step.run({ data: x, shape: [1, 1, 32, 32] }).keep()));
    const want = await bits(tidy(() => g(tensor(x, [1, 1, 32, 32])).keep()));
    let n = 0; let worst = 0;
    for (let i = 0; i < want.length; i++) if (want[i] !== got[i]) { n++; worst = Math.max(worst, Math.abs(want[i] - got[i])); }
    differs ||= n > 0;
    notes.push(`${phase} ${n ? `${n}/${want.length} differ (max ${worst.toExponential(2)})` : 'same'}`);
  }
  step.dispose();
  console.log(`${name}: ${notes.join(', ')}`);
  return differs;
}
const D = () => { manualSeed(3); return nLayerDiscriminator({ inputNc: 1, ndf: 2 }); };
const layers = (m: nn.Module) => [...(m as unknown as { model: nn.Sequential }).model.children()];
const n = layers(D()).length;
for (let k = 1; k <= n; k++) {
  const name = `d(sum of D's model.0..${k - 1}, ending ${layers(D())[k - 1].constructor.name})/d(input, params), grads zeroed`;
  const differs = await probe(name, () => {
    const m = layers(D());
    return (inp) => {
      m.forEach((l) => l.zeroGrad());
      const xin = inp.detach().requiresGrad_();
      let h: Tensor = xin;
      for (let i = 0; i < k; i++) h = m[i].forward(h);
      h.sum().backward();
      return noGrad(() => cat([xin.grad!.reshape([-1]), ...m.slice(0, k).flatMap((l) => l.parameters().map((p) => p.grad!.reshape([-1])))]));
    };
  });
  if (differs) break;
}
await probe('LSGAN grads: d mseLoss(D(x), 1)/d(input, params)', () => {
  const m = D();
  return (inp) => { m.zeroGrad(); const xin = inp.detach().requiresGrad_(); const s = m.forward(xin); F.mseLoss(s, ones(s.shape)).backward(); return noGrad(() => cat([xin.grad!.reshape([-1]), ...m.parameters().map((p) => p.grad!.reshape([-1]))])); };
});
await probe('grads accumulated across runs (no zeroGrad): d sum(conv D.model.0)/d(input, params)', () => {
  const m = layers(D());
  return (inp) => { const xin = inp.detach().requiresGrad_(); m[0].forward(xin).sum().backward(); return noGrad(() => cat([xin.grad!.reshape([-1]), ...m[0].parameters().map((p) => p.grad!.reshape([-1]))])); };
});
