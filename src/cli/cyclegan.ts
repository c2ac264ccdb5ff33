// `kiln train cyclegan` and `kiln sample` for CycleGAN checkpoints: reads the two domains (folders, the
// built-in digit task or the 2-D toy), trains with a progress line and writes, in --out, sample grids
// (x | G(x) | F(G(x)) rows for both directions, or a scatter for the toy), losses.csv, losses.svg,
// checkpoints (atomic) and summary.json; `sample` translates a folder of images with one generator.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { adapter, init, memory, nn, tensor, tune } from '../index.js';
import { splitMnist } from '../data/mnist.js';
import { CYCLE_LOSSES, CycleGanTrainer, translate, type CycleRecord } from '../gan/cyclegan.js';
import type { Checkpoint } from '../gan/checkpoint.js';
import { decodeCycleGanCheckpoint, encodeCycleGanCheckpoint, loadCycleGenerator, restoreCycleGanCheckpoint } from '../gan/cyclegan_checkpoint.js';
import { buildCycleGan, cycleGenerator, cycleganRecipe, digitTask, dilatedDigits, directionQuality, type CycleSource, type DigitTask } from '../gan/cyclegan_task.js';
import { checkConfig, type RunConfig } from '../gan/recipes.js';
import { mnistClassifier, trainClassifier, classifierAccuracy } from '../gan/quality.js';
import { encodePng, imageGrid } from '../io/png.js';
import { lineChartSvg, scatterRgba } from '../io/plot.js';
import { stateDictFromSafetensors, stateDictToSafetensors } from '../io/state_dict.js';
import { evalEnv, withFlag } from './common.js';
import { readBytes, writeFileAtomic } from '../node/files.js';
import { loadImageFolder } from '../node/images.js';
import { loadMnist } from '../node/mnist.js';
import type { ImageDataset } from '../data/images.js';
import { Progress, trainLoop } from './progress.js';
import { scoreInto, withDeviceRecovery, type RecoverableRun } from './train.js';

/** Both domains of a run, read from disk where the config names folders. */
function readSource(c: RunConfig): { source: CycleSource; digits: DigitTask | null } {
  const need = cycleganRecipe.data(c);
  if (need.kind === 'none') return { source: { kind: 'toy' }, digits: null };
  if (need.kind === 'mnist') {
    const { train, heldOut } = splitMnist(loadMnist());
    const digits = digitTask(train, heldOut);
    return { source: { kind: 'images', a: digits.trainA.images, b: digits.trainB.images, channels: 1, side: 32 }, digits };
  }
  if (need.kind !== 'folders') throw new Error('cyclegan: unexpected data request');
  const read = (flag: string, dir: string) => {
    const f = withFlag(flag, () => loadImageFolder(dir, need.size, need.channels));
    console.log(`${flag}: ${f.count} images from ${dir} at ${need.size}x${need.size}x${need.channels}` + (f.skipped.length ? `, skipped ${f.skipped.length}: ${f.skipped.slice(0, 3).join('; ')}` : ''));
    return f.images.map((v) => v * 2 - 1);
  };
  const a = read('--data-a', need.a);
  const b = read('--data-b', need.b);
  const per = need.channels * need.size * need.size;
  const batch = c.batch ?? 1;
  for (const [flag, dir, x] of [['--data-a', need.a, a], ['--data-b', need.b, b]] as const) {
    if (batch > x.length / per) throw new Error(`${flag} ${dir}: --batch ${batch} is larger than the folder's ${x.length / per} images`);
  }
  return { source: { kind: 'images', a, b, channels: need.channels, side: need.size }, digits: null };
}

/** Fixed batches for the sample grids: 8 images of each domain spread over the set (points: 512 of each). */
function fixedBatches(t: CycleGanTrainer, toy: boolean): { a: Float32Array; b: Float32Array; n: number } {
  const n = toy ? 512 : 8;
  const take = (d: CycleGanTrainer['s']['dataA']) => {
    const per = d.sampleShape.reduce((x, y) => x * y, 1);
    const src = (d as ImageDataset).images;
    const m = Math.min(n, d.size);
    const out = new Float32Array(m * per);
    for (let i = 0; i < m; i++) {
      const s = Math.floor((i * d.size) / m);
      out.set(src.subarray(s * per, (s + 1) * per), i * per);
    }
    return out;
  };
  return { a: take(t.s.dataA), b: take(t.s.dataB), n };
}

/** The sample PNG: rows x | G_A(x) | G_B(G_A(x)) then y | G_B(y) | G_A(G_B(y)); for the toy a scatter
 * of A (blue), B (green) and G_A(A) (red). */
async function samplePng(t: CycleGanTrainer, fixed: { a: Float32Array; b: Float32Array }, toy: boolean): Promise<Uint8Array> {
  const shape = t.s.dataA.sampleShape;
  const per = shape.reduce((x, y) => x * y, 1);
  const na = fixed.a.length / per;
  const nb = fixed.b.length / per;
  const xa = tensor(fixed.a, [na, ...shape]);
  const xb = tensor(fixed.b, [nb, ...shape]);
  const ab = await translate(t.s.GA, t.s.GB, xa);
  const ba = await translate(t.s.GB, t.s.GA, xb);
  xa.dispose(); xb.dispose();
  if (toy) {
    const img = scatterRgba([{ points: fixed.a, color: [40, 90, 220] }, { points: fixed.b, color: [40, 170, 60] }, { points: ab.fake, color: [230, 50, 40] }]);
    return encodePng(img.pixels, img.width, img.height, 4);
  }
  const rows = [fixed.a, ab.fake, ab.rec, fixed.b, ba.fake, ba.rec];
  const all = new Float32Array(rows.reduce((s, r) => s + r.length, 0));
  let o = 0;
  for (const r of rows) { all.set(r, o); o += r.length; }
  const [c, h, w] = shape;
  const g = imageGrid(all, 3 * (na + nb), c, h, w, na);
  return encodePng(g.pixels, g.width, g.height, g.channels);
}

const CSV_HEAD = ['step', ...CYCLE_LOSSES].join(',');
const csv = (rows: CycleRecord[]) => [CSV_HEAD, ...rows.map((r) => [r.step, ...CYCLE_LOSSES.map((k) => r[k])].join(','))].join('\n') + '\n';

function previousRows(path: string, step: number): CycleRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  if (lines[0] !== CSV_HEAD) return [];
  return lines.slice(1).map((l) => l.split(',').map(Number)).filter((v) => v.length === CYCLE_LOSSES.length + 1 && v[0] <= step).map((v) => {
    const r = { step: v[0] } as CycleRecord;
    CYCLE_LOSSES.forEach((k, i) => { r[k] = v[i + 1]; });
    return r;
  });
}

const COLORS = ['#d62728', '#ff7f0e', '#1f77b4', '#17becf', '#2ca02c', '#98df8a', '#9467bd', '#c5b0d5'];
function plot(rows: CycleRecord[]): string {
  const k = Math.max(1, Math.ceil(rows.length / 2000));
  const r = rows.filter((_, i) => i % k === 0);
  return lineChartSvg('cyclegan: losses', r.map((x) => x.step), CYCLE_LOSSES.map((name, i) => ({ name, color: COLORS[i], values: r.map((x) => x[name]) })));
}

export interface CycleTrainOptions extends RecoverableRun {
  config: RunConfig; steps?: number; every?: number; tune?: boolean; evaluate?: boolean; compile?: boolean;
  /** Called after every step (progress hooks, tests that disturb a run). */
  onStep?: (step: number) => void;
}

/** Trains a CycleGAN run, recovering from a lost GPU device as every runner does (withDeviceRecovery). */
export function trainCycleGan(o: CycleTrainOptions): Promise<{ summary: Record<string, unknown>; trainer: CycleGanTrainer }> {
  return withDeviceRecovery(o, trainCycleGanOnce);
}

async function trainCycleGanOnce(o: CycleTrainOptions): Promise<{ summary: Record<string, unknown>; trainer: CycleGanTrainer }> {
  let config = o.config;
  let ck = null;
  if (o.resume) {
    ck = decodeCycleGanCheckpoint(readBytes(o.resume, 'checkpoint'), o.resume);
    config = ck.config;
  } else {
    config = checkConfig({ ...config, steps: o.steps ?? config.steps ?? cycleganRecipe.defaultSteps(config) });
  }
  const steps = o.steps ?? config.steps!;
  const { source, digits } = readSource(config);
  const info = await init();
  if (!o.quiet) console.log(`adapter: ${info.description || info.device} (${info.source})`);
  if (o.tune) await tune();
  const setup = buildCycleGan(config, source);
  const trainer = new CycleGanTrainer({ ...setup, compile: o.compile });
  if (ck) {
    restoreCycleGanCheckpoint(trainer, ck);
    if (!o.quiet) console.log(`resumed from ${o.resume} at step ${ck.step}`);
  }
  if (steps < trainer.step) throw new Error(`--steps ${steps} is below the checkpoint's step ${trainer.step}`);
  const toy = config.task === 'toy';
  const every = o.every ?? (toy ? 500 : 200);
  const readEvery = toy ? 50 : 5;
  const fixed = fixedBatches(trainer, toy);
  const csvPath = join(o.out, 'losses.csv');
  const rows = ck ? previousRows(csvPath, trainer.step) : [];
  const progress = o.quiet ? null : new Progress(`${cycleganRecipe.label!(config)} seed ${config.seed}`, steps, trainer.step);
  const pad = (s: number) => String(s).padStart(String(steps).length, '0');
  const text = (r: CycleRecord) => `D_A ${r.D_A.toFixed(3)} D_B ${r.D_B.toFixed(3)} G_A ${r.G_A.toFixed(3)} G_B ${r.G_B.toFixed(3)} cyc ${r.cycle_A.toFixed(3)}/${r.cycle_B.toFixed(3)}`;
  const outputs = async (s: number) => {
    writeFileAtomic(join(o.out, 'samples', `step-${pad(s)}.png`), await samplePng(trainer, fixed, toy));
    writeFileAtomic(csvPath, csv(rows));
    writeFileAtomic(join(o.out, 'losses.svg'), plot(rows));
  };
  const checkpoint = async (name: string) => {
    writeFileAtomic(join(o.out, 'checkpoints', name), await encodeCycleGanCheckpoint(trainer, config));
  };
  const { wallSeconds: wall, startStep } = await trainLoop({
    trainer, steps, every, readEvery, rows, progress, line: text, onStep: o.onStep, outputs, checkpoint, pad,
  });
  await outputs(trainer.step);
  await checkpoint('final.safetensors');
  const tail = rows.slice(-Math.min(rows.length, 50));
  const avg = Object.fromEntries(CYCLE_LOSSES.map((k) => [k, tail.reduce((a, r) => a + r[k], 0) / Math.max(1, tail.length)]));
  const summary: Record<string, unknown> = {
    recipe: 'cyclegan', config, steps: trainer.step, stepsThisRun: trainer.step - startStep, wallSeconds: Number(wall.toFixed(2)),
    stepsPerSecond: Number(((trainer.step - startStep) / wall).toFixed(3)), adapter: adapter().description || adapter().device,
    lastSteps: { steps: tail.length, ...avg }, compiled: trainer.compileStats, gpuMemoryBytes: memory().inUseBytes, finished: new Date().toISOString(),
  };
  const q = cycleganRecipe.quality!;
  if (o.evaluate) await scoreInto(summary, q.key, () => q.run({ GA: trainer.s.GA, GB: trainer.s.GB }, config, evalEnv(), q.n), o.quiet);
  writeFileAtomic(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  if (!o.quiet) {
    if (summary.quality) console.log(q.line!(summary.quality as Record<string, unknown>));
    console.log(`${summary.steps} steps in ${summary.wallSeconds} s (${summary.stepsPerSecond} steps/s); outputs in ${o.out}`);
  }
  return { summary, trainer };
}

export interface CycleSampleOptions { ck: Checkpoint; direction: string; input?: string; out: string }

/** Translates a folder (or, for the digit task, 64 held-out digits) with G_A (a2b) or G_B (b2a); one PNG per image. */
export async function sampleCycleGan(o: CycleSampleOptions): Promise<void> {
  if (o.direction !== 'a2b' && o.direction !== 'b2a') throw new Error(`kiln sample: --direction must be a2b or b2a, got '${o.direction}'`);
  const ck = o.ck;
  const c = ck.config;
  if (c.task === 'toy') throw new Error('kiln sample: the toy translates points, not images; its samples are in the run\'s samples/ folder');
  const [ch, side] = cycleganRecipe.sampleShape(c);
  let images: Float32Array;
  let names: string[];
  if (o.input) {
    const f = withFlag('--input', () => loadImageFolder(o.input!, side, ch as 1 | 3));
    images = f.images.map((v) => v * 2 - 1);
    names = f.names;
  } else {
    if (c.dataA) throw new Error('kiln sample: --input DIR is required for a run trained on folders');
    const { train, heldOut } = splitMnist(loadMnist());
    const d = digitTask(train, heldOut);
    const dom = o.direction === 'a2b' ? d.heldA : d.heldB;
    images = dom.images.subarray(0, 64 * 1024);
    names = Array.from({ length: 64 }, (_, i) => `held-out-${String(i).padStart(2, '0')}.png`);
  }
  await init();
  const which = o.direction === 'a2b' ? 'G_A' : 'G_B';
  const G = loadCycleGenerator(cycleGenerator(c), ck, which);
  const per = ch * side * side;
  const n = images.length / per;
  for (let s = 0; s < n; s += 16) {
    const k = Math.min(16, n - s);
    const x = tensor(images.subarray(s * per, (s + k) * per), [k, ch, side, side]);
    const { fake } = await translate(G, null, x);
    x.dispose();
    for (let i = 0; i < k; i++) {
      const g = imageGrid(fake.subarray(i * per, (i + 1) * per), 1, ch, side, side, 1);
      writeFileAtomic(join(o.out, `${basename(names[s + i], extname(names[s + i]))}.png`), encodePng(g.pixels, g.width, g.height, g.channels));
    }
  }
  console.log(`${n} images translated ${o.direction} with ${which} (step ${ck.step}) into ${o.out}`);
}
