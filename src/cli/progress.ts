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
