// Lagged metric readback shared by the trainers: each step's metrics tensor is copied into a row of one
// GPU ring of 16 rows (a buffer copy: no allocation, no kernel); every 16 steps the ring is read back without
// making the GPU wait (the copy rides with later steps' work) and reused at once (the queue keeps order).
import { flush, Tensor } from '../index.js';
import { backend } from '../autograd/context.js';

/** Steps whose metrics are read back together. */
const METRICS_BATCH = 16;
/** Readbacks allowed in flight before poll() waits for the oldest (keeps the CPU at most this far ahead). */
const MAX_IN_FLIGHT = 4;

/** Resolves after one turn of the event loop (setImmediate in Node; a zero timeout in browsers). */
const nextTurn = (): Promise<void> => new Promise<void>((r) => {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;
  if (immediate) immediate(r); else setTimeout(r, 0);
});

interface InFlight { steps: number[]; values: Promise<Float32Array | Int32Array>; data: Float32Array | Int32Array | null }

/** Turns one readback (the metrics of `steps`, concatenated) into records. */
export type ToRecords<R> = (steps: number[], values: Float32Array | Int32Array) => R[];

export class LaggedMetrics<R> {
  /** METRICS_BATCH rows of one step's metrics each (made at the first record). */
  private ring: Tensor | null = null;
  private rowBytes = 0;
  private steps: number[] = [];
  private inflight: InFlight[] = [];

  constructor(private readonly toRecords: ToRecords<R>) {}

  /** Copies step `step`'s metrics into the ring; starts a batched readback once 16 steps are pending. */
  record(step: number, metrics: Tensor): void {
    const r = this.ring;
    const bytes = metrics.numel * 4;
    if (r && (r.isDisposed || r.dtype !== metrics.dtype || this.rowBytes !== bytes)) {
      this.startRead(false);
      if (!r.isDisposed) r.dispose();
      this.ring = null;
    }
    if (!this.ring) { this.ring = Tensor.empty([METRICS_BATCH * (bytes / 4)], metrics.dtype).keep(); this.rowBytes = bytes; }
    const ring = this.ring;
    backend().copy(metrics.buffer, metrics.byteOffset, ring.buffer, ring.byteOffset + this.steps.length * bytes, bytes);
    this.steps.push(step);
    if (this.steps.length >= METRICS_BATCH) this.startRead(false);
  }

  private startRead(flushNow: boolean): void {
    const ring = this.ring;
    if (this.steps.length === 0 || !ring || ring.isDisposed) return;
    const steps = this.steps;
    this.steps = [];
    // toArray encodes its copy now: the ring's next rows are written after it in queue order.
    const entry: InFlight = { steps, values: ring.toArray({ flush: flushNow }), data: null };
    entry.values.then((v) => { entry.data = v; }, () => {});
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
    // One turn of the event loop (the GPU binding delivers finished readbacks from its immediates): not a
    // timer, whose millisecond the binding would spend polling the device on this thread.
    if (this.inflight.length && !this.inflight[0].data) await nextTurn();
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

  /** Frees the ring (metrics not yet read are dropped). */
  dispose(): void {
    this.ring?.dispose();
    this.ring = null;
    this.steps = [];
  }
}
