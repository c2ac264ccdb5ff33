// Lagged metric readback shared by the trainers: each step's metrics tensor stays on the GPU; every 16 steps
// they are concatenated and read back without making the GPU wait (the copy rides with later steps' work).
import { cat, flush, noGrad, type Tensor } from '../index.js';

/** Steps whose metrics are read back together. */
const METRICS_BATCH = 16;
/** Readbacks allowed in flight before poll() waits for the oldest (keeps the CPU at most this far ahead). */
const MAX_IN_FLIGHT = 4;

interface InFlight { steps: number[]; values: Promise<Float32Array | Int32Array>; data: Float32Array | Int32Array | null }

/** Turns one readback (the metrics of `steps`, concatenated) into records. */
export type ToRecords<R> = (steps: number[], values: Float32Array | Int32Array) => R[];

export class LaggedMetrics<R> {
  private pending: { step: number; t: Tensor }[] = [];
  private inflight: InFlight[] = [];

  constructor(private readonly toRecords: ToRecords<R>) {}

  /** Keeps a copy of step `step`'s metrics; starts a batched readback once 16 steps are pending. */
  record(step: number, metrics: Tensor): void {
    this.pending.push({ step, t: noGrad(() => metrics.clone()).keep() });
    if (this.pending.length >= METRICS_BATCH) this.startRead(false);
  }

  private startRead(flushNow: boolean): void {
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    const all = cat(batch.map((p) => p.t));
    const entry: InFlight = { steps: batch.map((p) => p.step), values: all.toArray({ flush: flushNow }), data: null };
    entry.values.then((v) => { entry.data = v; }, () => {});
    all.dispose();
    batch.forEach((p) => p.t.dispose());
    this.inflight.push(entry);
  }

  /**
   * The metrics that have arrived, without making the GPU wait: readbacks ride with later steps' work. Waits
   * only when more than a few readbacks are outstanding (the CPU is far ahead of the GPU). Await it every few
   * steps so the event loop can deliver the readbacks.
   */
  async poll(): Promise<R[]> {
    const out: R[] = [];
    if (this.inflight.length > MAX_IN_FLIGHT) flush();
    while (this.inflight.length > MAX_IN_FLIGHT) {
      const e = this.inflight.shift()!;
      out.push(...this.toRecords(e.steps, await e.values));
    }
    if (this.inflight.length && !this.inflight[0].data) await new Promise<void>((r) => setTimeout(r, 0));
    while (this.inflight.length && this.inflight[0].data) {
      const e = this.inflight.shift()!;
      out.push(...this.toRecords(e.steps, e.data!));
    }
    return out;
  }

  /** Every step's metrics recorded since the last read, waiting for the GPU to finish them. */
  async all(): Promise<R[]> {
    this.startRead(true);
    flush();
    const out: R[] = [];
    while (this.inflight.length) {
      const e = this.inflight.shift()!;
      out.push(...this.toRecords(e.steps, await e.values));
    }
    return out;
  }

  /** Frees the metrics not yet read. */
  dispose(): void {
    this.pending.forEach((p) => p.t.dispose());
    this.pending = [];
  }
}
