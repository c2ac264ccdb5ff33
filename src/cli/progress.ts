// A progress line: step, steps/s, losses, scores and ETA. Redrawn in place on a terminal; on a pipe or in CI
// a plain line at most every few seconds.
import type { StepRecord } from '../gan/trainer.js';

export function duration(sec: number): string {
  if (!Number.isFinite(sec)) return '?';
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  private readonly tty = Boolean(process.stdout.isTTY);
  private readonly t0 = performance.now();
  private lastPrint = 0;
  private readonly startStep: number;

  constructor(private readonly label: string, private readonly total: number, start: number) {
    this.startStep = start;
  }

  /** `last`: a GAN step's record, or a recipe's own metrics text. */
  update(step: number, last: StepRecord | string | undefined, force = false): void {
    const now = performance.now();
    if (!this.tty && !force && now - this.lastPrint < 5000) return;
    this.lastPrint = now;
    const sec = (now - this.t0) / 1000;
    const rate = (step - this.startStep) / Math.max(sec, 1e-9);
    const frac = step / this.total;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = `[${'='.repeat(Math.max(0, filled - 1))}${filled ? '>' : ''}${' '.repeat(width - filled)}]`;
    const m = typeof last === 'string' ? `  ${last}` : last ? `  D ${last.dLoss.toFixed(3)}  G ${last.gLoss.toFixed(3)}  D(x) ${last.realScore.toFixed(2)}  D(G(z)) ${last.fakeScore.toFixed(2)}` : '';
    const line = `${this.label} ${bar} ${step}/${this.total}  ${rate >= 10 ? rate.toFixed(0) : rate.toFixed(2)} steps/s${m}  ETA ${duration((this.total - step) / rate)}`;
    if (this.tty) process.stdout.write(`\r${line}\x1b[K`);
    else console.log(line);
  }

  done(): void { if (this.tty) process.stdout.write('\n'); }
}

/** What the training loop needs of a trainer (GanTrainer and CycleGanTrainer both fit). */
export interface LoopTrainer<R> { step: number; trainStep(): void; poll(): Promise<R[]>; metrics(): Promise<R[]> }

export interface LoopOptions<R> {
  trainer: LoopTrainer<R>;
  steps: number;
  /** Outputs and a checkpoint every `every` steps (and at the end, by the caller). */
  every: number;
  /** Lagged metrics are collected every `readEvery` steps. */
  readEvery: number;
  /** The run's metric rows; new ones are appended. */
  rows: R[];
  progress: Progress | null;
  /** The progress line's text for the newest row. */
  line: (r: R) => StepRecord | string;
  onStep?: (step: number) => void;
  /** Writes the run's outputs (samples, losses.csv, the plot) at step `s`. */
  outputs: (s: number) => Promise<void>;
  /** Writes checkpoints/`name`. */
  checkpoint: (name: string) => Promise<void>;
  pad: (s: number) => string;
}

/**
 * The loop both `kiln train` runners share: steps, lagged metrics into the rows and the progress line, and
 * every `every` steps the outputs, then a checkpoint. All rows up to the step are written to losses.csv before
 * the checkpoint, so a resume from it (after a crash or a lost device) continues the file without a hole.
 * Returns the wall time of the steps and the step the loop started from.
 */
export async function trainLoop<R>(o: LoopOptions<R>): Promise<{ wallSeconds: number; startStep: number }> {
  const { trainer, steps, rows } = o;
  const t0 = performance.now();
  const startStep = trainer.step;
  while (trainer.step < steps) {
    trainer.trainStep();
    const s = trainer.step;
    o.onStep?.(s);
    if (s % o.readEvery === 0 || s === steps) {
      // Lagged: the rows that have arrived; the GPU keeps working on the steps after them.
      rows.push(...(s === steps ? await trainer.metrics() : await trainer.poll()));
      if (rows.length) o.progress?.update(s, o.line(rows[rows.length - 1]), s === steps);
    }
    if (s % o.every === 0 && s !== steps) {
      rows.push(...(await trainer.metrics()));
      await o.outputs(s);
      await o.checkpoint(`step-${o.pad(s)}.safetensors`);
    }
  }
  rows.push(...(await trainer.metrics()));
  const wallSeconds = (performance.now() - t0) / 1000;
  o.progress?.done();
  return { wallSeconds, startStep };
}
