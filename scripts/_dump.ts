import { init } from '../src/node.js';
import { buildRun, type RunConfig } from '../src/gan/recipes.js';
import { GanTrainer } from '../src/gan/trainer.js';
const fakeImages = (n: number, side: number) => new Float32Array(n * side * side).map((_, i) => ((i * 2654435761) % 1000) / 1000);
const which = process.argv[2] ?? 'gaussian';
const cfg: Record<string, [RunConfig, boolean]> = {
  gaussian: [{ recipe: 'gaussian', seed: 0 }, false],
  mlp: [{ recipe: 'mnist-mlp', seed: 0, batch: 64 }, true],
  dcgan: [{ recipe: 'dcgan', seed: 0, batch: 32, width: 16 }, true],
};
await init();
const [config, images] = cfg[which];
const t = new GanTrainer(buildRun(config, images ? { images: fakeImages(256, 28), channels: 1, side: 28 } : undefined));
for (let i = 0; i < 3; i++) t.trainStep();
await t.metrics();
const p = (t as any).compiled.program;
const ids = new Map<any, number>();
const id = (b: any) => { if (!ids.has(b)) ids.set(b, ids.size); return ids.get(b); };
for (const c of p.cmds) {
  if (c.kind === 'dispatch') console.log(c.shader.padEnd(34), 'wg', c.wg.join('x').padEnd(10), c.bindings.map((b: any, j: number) => `${c.writes[j] ? 'W' : 'r'}${id(b.buffer)}${b.offset ? '@' + b.offset : ''}`).join(' '));
  else if (c.kind === 'copy') console.log('copy'.padEnd(34), id(c.src), '->', id(c.dst), c.bytes);
  else if (c.kind === 'clear') console.log('clear', id(c.buffer));
}
process.exit(0);
