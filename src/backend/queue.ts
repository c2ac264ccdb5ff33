// Submit and readback: the one command encoder eager work is encoded into, submitted in batches (at a
// readback, an explicit flush, or every MAX_PENDING commands), and the staged copies that read results back.
import type { BufferPool } from './pool.js';
import type { Uniforms } from './uniforms.js';

const MAP_MODE_READ = 0x1;
/** Submit anyway after this many recorded dispatches, so one long eager loop cannot grow without bound. */
const MAX_PENDING = 512;

export class Submitter {
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private afterSubmit: (() => void)[] = [];
  /** Number of queue submissions so far (for tests of batching). */
  submits = 0;

  /** `check()` throws when the device can take no more work (lost or closed). */
  constructor(private readonly device: GPUDevice, private readonly uniforms: () => Uniforms,
    private readonly pool: () => BufferPool, private readonly check: () => void) {}

  /** The open compute pass, begun if needed. */
  computePass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  /** The encoder outside any pass (for copies and clears). */
  commands(): GPUCommandEncoder {
    if (this.pass) { this.pass.end(); this.pass = null; }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /** Counts `n` encoded commands; submits when the batch is full. */
  encoded(n: number): void {
    this.pending += n;
    if (this.pending >= MAX_PENDING) this.flush();
  }

  /** Runs `fn` after the next submit, or now when nothing is waiting to be submitted. */
  later(fn: () => void): void {
    if (this.encoder) this.afterSubmit.push(fn);
    else fn();
  }

  /** Submits everything encoded so far as one command buffer. */
  flush(): void {
    if (!this.encoder) return;
    this.check();
    if (this.pass) { this.pass.end(); this.pass = null; }
    this.uniforms().writeUsed(this.device.queue);
    this.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = null;
    this.pending = 0;
    const after = this.afterSubmit;
    this.afterSubmit = [];
    after.forEach((f) => f());
  }

  /** Forgets unsubmitted work (the device is gone). */
  drop(): void {
    this.encoder = null;
    this.pass = null;
    this.pending = 0;
    const after = this.afterSubmit;
    this.afterSubmit = [];
    after.forEach((f) => f());
  }

  /** Writes host data at this point of the stream: encoded work (which may read the old contents) first. */
  write(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /**
   * Copies `bytes` from `src` back to the CPU through a pooled staging buffer. Submits pending work first and
   * awaits the GPU, unless `flush` is false: then the copy rides in the command stream and the mapping starts
   * after Kiln's next submission, so the GPU never waits for JavaScript (metrics read a few steps late).
   * `check` may encode more copies after this one (the device-side assert flags) and returns what to await
   * once the data is back (it throws on a recorded violation).
   */
  async read(src: GPUBuffer, offset: number, bytes: number, flush: boolean,
    check?: (encoder: GPUCommandEncoder) => (() => Promise<void>) | null): Promise<ArrayBuffer> {
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.pool().takeStaging(size);
    this.commands().copyBufferToBuffer(src, offset, staging, 0, size);
    const checked = check?.(this.commands()) ?? null;
    this.pending++;
    if (flush) this.flush();
    else await new Promise<void>((resolve) => this.afterSubmit.push(resolve));
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, size);
    } catch (e) {
      this.check();
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    this.pool().returnStaging(staging);
    await checked?.();
    return out;
  }

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }
}
