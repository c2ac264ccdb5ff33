// `kiln train <recipe>`: trains with a progress line and writes, in --out, sample grids from a fixed latent
// batch, losses.csv, losses.svg, periodic and final checkpoints (atomic) and summary.json.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { adapter, init, memory } from '../index.js';
import { currentBackend } from '../autograd/context.js';
import { decodeCheckpoint, encodeCheckpoint, restoreCheckpoint } from '../gan/checkpoint.js';
import { buildRun, checkConfig, recipeOf, sampleShape, type RunConfig } from '../gan/recipes.js';
import { GanTrainer, type StepRecord } from '../gan/trainer.js';
import { lineChartSvg } from '../io/plot.js';
import { evalEnv, fixedLatent, samplePng, trainingImages } from './common.js';
import { readBytes, writeFileAtomic } from '../node/files.js';
import { Progress, trainLoop } from './progress.js';

export interface TrainOptions extends RecoverableRun {
  config: RunConfig;
  steps?: number;
  out: string;
  /** Samples, plot and checkpoint every this many steps. */
  every?: number;
  resume?: string;
  /** Score samples with the MNIST classifier at the end (image recipes on MNIST). */
  evaluate?: boolean;
  quiet?: boolean;
  /** Called after every step (progress hooks, tests that disturb a run). */
  onStep?: (step: number) => void;
}

const CSV_HEAD = 'step,d_loss,g_loss,real_score,fake_score';

function csv(rows: StepRecord[]): string {
  return [CSV_HEAD, ...rows.map((r) => [r.step, r.dLoss, r.gLoss, r.realScore, r.fakeScore].join(','))].join('\n') + '\n';
}

/** Rows of an earlier run's losses.csv up to `step` (a resumed run continues the file). */
function previousRows(path: string, step: number): StepRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').trim().split('\n');
  if (lines[0] !== CSV_HEAD) return [];
  return lines.slice(1).map((l) => l.split(',').map(Number)).filter((v) => v.length === 5 && v[0] <= step)
    .map(([s, d, g, r, f]) => ({ step: s, dLoss: d, gLoss: g, realScore: r, fakeScore: f }));
}

function plot(rows: StepRecord[], recipe: string): string {
  // Thin very long runs to at most ~2000 points per series.
  const k = Math.max(1, Math.ceil(rows.length / 2000));
  const r = rows.filter((_, i) => i % k === 0);
  return lineChartSvg(`${recipe}: losses and scores`, r.map((x) => x.step), [
    { name: 'D loss', color: '#d62728', values: r.map((x) => x.dLoss) },
    { name: 'G loss', color: '#1f77b4', values: r.map((x) => x.gLoss) },
    { name: 'D(x)', color: '#2ca02c', values: r.map((x) => x.realScore) },
    { name: 'D(G(z))', color: '#ff7f0e', values: r.map((x) => x.fakeScore) },
  ]);
}

export interface TrainResult { summary: Record<string, unknown>; trainer: GanTrainer }

/** Whether the GPU device Kiln was using has been lost (the loss is reported asynchronously: wait up to 2 s, as a loaded machine may be slow to deliver it). */
async function deviceLost(): Promise<boolean> {
  for (let i = 0; i < 80 && !currentBackend()?.lost; i++) await new Promise((r) => setTimeout(r, 25));
  return Boolean(currentBackend()?.lost);
}

/** The newest checkpoint in `out`/checkpoints that decodes cleanly, or null. */
function latestCheckpoint(out: string): { path: string; step: number } | null {
  const dir = join(out, 'checkpoints');
  if (!existsSync(dir)) return null;
  let best: { path: string; step: number } | null = null;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.safetensors'))) {
    const path = join(dir, name);
    try {
      const { step } = decodeCheckpoint(readBytes(path, 'checkpoint'), path);
      if (!best || step > best.step) best = { path, step };
    } catch { /* a damaged file is not a place to resume from */ }
  }
  return best;
}

/** What the device-loss recovery needs of a runner's options. */
export interface RecoverableRun {
  out: string;
  resume?: string;
  quiet?: boolean;
  /** How many times a run re-initialises the GPU and resumes after losing its device (default 3). */
  maxRecoveries?: number;
}

/**
 * Runs `once`, and when the GPU device is lost mid-run (driver reset, device.destroy()), re-initialises Kiln on
 * a new device and runs it again from the run's newest checkpoint in `out`, losing only the steps since then.
 * Every trainer's runner goes through this loop (checkpoints share one format, so the newest is found the same way).
 */
export async function withDeviceRecovery<O extends RecoverableRun, R>(o: O, once: (o: O) => Promise<R>): Promise<R> {
  const max = o.maxRecoveries ?? 3;
  let opts = o;
  for (let attempt = 0; ; attempt++) {
    try {
      return await once(opts);
    } catch (e) {
      if (attempt >= max || !(await deviceLost())) throw e;
      const info = currentBackend()?.lost;
      await init();
      const last = latestCheckpoint(o.out);
      opts = { ...o, resume: last?.path ?? o.resume };
      if (!o.quiet) {
        console.log(`GPU device lost (${info?.reason ?? 'unknown'}${info?.message ? `: ${info.message}` : ''}); ` +
          `re-initialised on a new device, resuming from ${last ? `${last.path} (step ${last.step})` : o.resume ?? 'the start'}`);
      }
    }
  }
}

/** Trains a D-then-G recipe, recovering from a lost GPU device (see withDeviceRecovery). */
export function train(o: TrainOptions): Promise<TrainResult> {
  return withDeviceRecovery(o, trainOnce);
}

async function trainOnce(o: TrainOptions): Promise<TrainResult> {
  let config = checkConfig(o.config);
  let ck = null;
  if (o.resume) {
    ck = decodeCheckpoint(readBytes(o.resume, 'checkpoint'), o.resume);
    config = ck.config;
  }
  const run = buildRun(config, trainingImages(config));
  const steps = o.steps ?? run.steps;
  const trainer = new GanTrainer(run);
  if (ck) {
    restoreCheckpoint(trainer, ck);
    if (!o.quiet) console.log(`resumed from ${o.resume} at step ${ck.step}`);
  }
  if (steps < trainer.step) throw new Error(`--steps ${steps} is below the checkpoint's step ${trainer.step}`);
  const image = sampleShape(config).length === 3;
  const every = o.every ?? (image ? 200 : 500);
  const readEvery = image ? 10 : 100;
  const z = fixedLatent(config, image ? 64 : 1000).keep();
  const csvPath = join(o.out, 'losses.csv');
  const rows = ck ? previousRows(csvPath, trainer.step) : [];
  const recipe = recipeOf(config);
  const label = `${recipe.label?.(config) ?? config.recipe} seed ${config.seed}`;
  const progress = o.quiet ? null : new Progress(label, steps, trainer.step);
  const pad = (s: number) => String(s).padStart(String(steps).length, '0');
  const outputs = async (s: number) => {
    writeFileAtomic(join(o.out, 'samples', `step-${pad(s)}.png`), await samplePng(config, trainer.sampler, z));
    writeFileAtomic(csvPath, csv(rows));
    writeFileAtomic(join(o.out, 'losses.svg'), plot(rows, config.recipe));
  };
  const checkpoint = async (name: string) => {
    writeFileAtomic(join(o.out, 'checkpoints', name), await encodeCheckpoint(trainer, config));
  };
  const { wallSeconds: wall, startStep } = await trainLoop({
    trainer, steps, every, readEvery, rows, progress, line: (r) => r, onStep: o.onStep, outputs, checkpoint, pad,
  });
  await outputs(trainer.step);
  await checkpoint('final.safetensors');
  const tail = rows.slice(-Math.min(rows.length, image ? 50 : 100));
  const avg = (f: (r: StepRecord) => number) => tail.reduce((a, r) => a + f(r), 0) / Math.max(1, tail.length);
  const summary: Record<string, unknown> = {
    recipe: config.recipe, config, steps: trainer.step, stepsThisRun: trainer.step - startStep, wallSeconds: Number(wall.toFixed(2)),
    stepsPerSecond: Number(((trainer.step - startStep) / wall).toFixed(3)), adapter: adapter().description || adapter().device,
    lastSteps: { steps: tail.length, dLoss: avg((r) => r.dLoss), gLoss: avg((r) => r.gLoss), realScore: avg((r) => r.realScore), fakeScore: avg((r) => r.fakeScore) },
    gpuMemoryBytes: memory().inUseBytes, finished: new Date().toISOString(),
  };
  const q = recipe.trainer === 'gan' ? recipe.quality : undefined;
  if (q && (q.always || o.evaluate)) await scoreInto(summary, q.key, async () => ({ ...(await q.run(trainer.sampler, config, evalEnv(), q.n)), sampler: trainer.emaG ? 'ema' : 'G' }), o.quiet);
  writeFileAtomic(join(o.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  z.dispose();
  return { summary, trainer };
}

/**
 * Puts a recipe's quality scores into the summary under `key`; a run whose data the scores do not apply to
 * (a folder run scored by the MNIST classifier) keeps its outputs and records why instead.
 */
export async function scoreInto(summary: Record<string, unknown>, key: string, score: () => Promise<Record<string, unknown>>, quiet?: boolean): Promise<void> {
  try {
    summary[key] = await score();
  } catch (e) {
    summary[`${key}Error`] = (e as Error).message;
    if (!quiet) console.log(`not scored: ${(e as Error).message}`);
  }
}
