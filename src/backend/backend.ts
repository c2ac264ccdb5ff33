// The backend facade: the one object ops talk to. It owns the device state (ready, lost, closed) and wires
// the parts that each do one job: pool.ts (buffers), pipelines.ts (pipelines and bind groups), uniforms.ts
// (Params), queue.ts (submit and readback), sink.ts (eager encoding or capture) and program.ts (replay).
import type { ShaderName } from './wgsl.gen.js';
import { DeviceAsserts } from './device_assert.js';
import { announceLost, KilnDeviceLostError, KilnGpuError, KilnStaleTensorError } from './errors.js';
import { PipelineCache, type Binding } from './pipelines.js';
import { BufferPool, Usage, type MemoryReport, type PooledBuffer } from './pool.js';
import { buildProgram, Program, type Command, type RecordedBinding, type ReplayOp } from './program.js';
import { Submitter } from './queue.js';
import { EagerSink, type CommandSink } from './sink.js';
import { PARAMS_BYTES, Uniforms, type StaticUniforms } from './uniforms.js';

export { Usage, type MemoryReport, type PooledBuffer } from './pool.js';
export { ParamWriter } from './uniforms.js';
export { Program } from './program.js';
export type { Binding } from './pipelines.js';
export { KilnGpuError, KilnDeviceLostError, KilnStaleTensorError } from './errors.js';
export { DeviceAssertError } from './device_assert.js';

/** Where the adapter came from and what it is. */
export interface AdapterReport {
  source: 'browser' | 'dawn-node' | 'adopted';
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software adapters (lavapipe, SwiftShader) and for adapters that say they are a fallback. */
  isFallbackAdapter: boolean;
  /** The Vulkan ICD Kiln pointed Dawn at, when it chose one (Node only). */
  icd?: string;
}

/** App buffers wrapped by Tensor.fromGPUBuffer may lack a usage a copy needs: say so before the GPU does. */
function needUsage(b: GPUBuffer, flag: number, name: string, what: string): void {
  if (!(b.usage & flag)) throw new KilnGpuError(`kiln: ${what} needs ${name} usage on its GPUBuffer (usage is 0x${b.usage.toString(16)}); create the app buffer with GPUBufferUsage.${name}`);
}

export class Backend {
  readonly device: GPUDevice;
  readonly adapter: AdapterReport;
  readonly owned: boolean;
  readonly limits: GPUSupportedLimits;
  /** Set when the device was lost (see KilnDeviceLostError). */
  lost: GPUDeviceLostInfo | null = null;
  /** 'ready'; 'lost' once the device is gone; 'closed' once Kiln let go of it (shutdown(), another init()). */
  state: 'ready' | 'lost' | 'closed' = 'ready';
  private closedBecause = '';
  /** Whether the device has shader-f16 (Kiln asks for it when the adapter offers it). */
  readonly f16: boolean;
  /** The device-side assert flag buffer: checking kernels bind it; read() reports what they recorded. */
  readonly asserts: DeviceAsserts;
  /** Validation errors the device raised (only when Kiln owns the device); tests assert this stays empty. */
  readonly gpuErrors: string[] = [];
  /** Objects that must live as long as the device (the GPU instance and adapter in Node). */
  keepAlive: unknown[] = [];
  /** Counts for the memory report, maintained by the tensor layer. */
  liveTensors = 0;
  tensorBytes = 0;

  private readonly pool: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly uniforms: Uniforms;
  private readonly queue: Submitter;
  private readonly eager: EagerSink;
  private sink: CommandSink;
  /** Buffers a captured program uses in place; releasing one invalidates the program. */
  private pins = new Map<GPUBuffer, Set<Program>>();

  constructor(device: GPUDevice, adapter: AdapterReport, owned: boolean) {
    this.device = device;
    this.adapter = adapter;
    this.owned = owned;
    this.limits = device.limits;
    this.f16 = device.features.has('shader-f16');
    this.queue = new Submitter(device, () => this.uniforms, () => this.pool, () => this.check());
    this.pool = new BufferPool(device, this.limits, (fn) => this.queue.later(fn));
    this.uniforms = new Uniforms(device, this.pool);
    this.pipelines = new PipelineCache(device, this.uniforms.layout);
    this.eager = new EagerSink(this.queue, this.pipelines, this.uniforms, this.pool);
    this.sink = this.eager;
    this.asserts = new DeviceAsserts(device);
    device.lost.then((info) => {
      // Kiln's own shutdown destroys an owned device: that is a close, not a loss.
      if (this.state === 'closed') return;
      this.lost = info;
      this.state = 'lost';
      announceLost(this.lostError());
    });
    if (owned) {
      device.addEventListener('uncapturederror', (ev) => {
        const msg = (ev as GPUUncapturedErrorEvent).error.message;
        this.gpuErrors.push(msg);
      });
    }
  }

  get submits(): number { return this.queue.submits; }
  get dispatches(): number { return this.eager.dispatches; }
  get buffersCreated(): number { return this.pool.buffersCreated; }
  get bindGroupsCreated(): number { return this.pipelines.bindGroupsCreated; }

  private lostError(): KilnDeviceLostError {
    return new KilnDeviceLostError(this.lost?.reason ?? 'unknown', this.lost?.message ?? '');
  }

  /** Throws a clear error when the device can take no work (lost, or closed by Kiln); every op calls this. */
  check(): void {
    if (this.state === 'ready') return;
    if (this.state === 'lost') throw this.lostError();
    throw new KilnGpuError(`kiln: Kiln no longer uses this GPU device (${this.closedBecause}); call init() and use ` +
      'tensors made after it');
  }

  /** Throws the error for using a tensor (`what`) whose storage is on this backend, unless it is ready. */
  checkStorage(what: string): void {
    if (this.state === 'closed') throw new KilnStaleTensorError(what, this.closedBecause);
    this.check();
  }

  /** Lets go of the device: tensors still on it raise KilnStaleTensorError at their next use. Frees Kiln's
   * pooled buffers; destroys the device only if Kiln created it. `because` says why, for those errors. */
  close(because: string): void {
    if (this.state === 'closed') return;
    const wasLost = this.state === 'lost';
    this.closedBecause = wasLost ? `the device was lost (${this.lost?.reason ?? 'unknown'}), then ${because}` : because;
    if (!wasLost) {
      try { this.queue.flush(); } catch { /* the device may be going away; nothing to submit to */ }
    }
    this.state = 'closed';
    this.queue.drop();
    this.pool.destroy();
    this.uniforms.destroy();
    this.asserts.destroy();
    this.pipelines.clearBindGroups();
    if (this.owned && !wasLost) this.device.destroy();
  }

  /** Frees Kiln's own buffers; destroys the device only if Kiln created it (shutdown()). */
  destroy(): void { this.close('shutdown() was called'); }

  /** A storage buffer of at least `bytes` bytes from the pool (contents undefined). */
  acquire(bytes: number): PooledBuffer {
    this.check();
    return this.pool.acquire(bytes);
  }

  /** A storage buffer holding `data`, written in order with the recorded work (it cannot race it). */
  upload(data: ArrayBufferView): PooledBuffer {
    this.check();
    return this.sink.upload(data);
  }

  /** Returns a buffer to the pool. Recorded work that still reads it stays correct: the queue is ordered. */
  release(b: PooledBuffer): void {
    if (this.state !== 'ready') {
      // The pool is gone: an adopted device's buffer is destroyed now, a lost or destroyed device took its own.
      if (this.state === 'closed' && !this.owned && !this.lost) b.buffer.destroy();
      return;
    }
    const pinned = this.pins.get(b.buffer);
    if (pinned) [...pinned].forEach((p) => p.invalidate(`a buffer it uses in place (${b.size} bytes) was released`));
    this.sink.released(b.buffer);
    this.pool.release(b);
  }

  /** A small buffer bound where a kernel's optional input is absent (`k` distinguishes several in one dispatch). */
  dummy(k = 0): GPUBuffer {
    this.check();
    return this.pool.dummy(k);
  }

  /** Destroys every pooled (unused) buffer, after the work already recorded has been submitted. */
  trimPool(): void {
    if (this.sink.keepsBuffers || this.state !== 'ready') return;
    this.pool.trim();
    this.pipelines.clearBindGroups();
  }

  memory(): MemoryReport {
    const p = this.pool;
    return {
      liveTensors: this.liveTensors,
      tensorBytes: this.tensorBytes,
      inUseBytes: p.inUseBytes,
      pooledBytes: p.pooledBytes,
      otherBytes: p.otherBytes,
      totalBytes: p.inUseBytes + p.pooledBytes + p.otherBytes,
    };
  }

  /**
   * Records one dispatch of a kernel in shaders/. `buffers` bind to group 0 in order (inputs, then outputs);
   * `params` is group 1's uniform, or a function computing it: run now, and rerun at every replay of a
   * captured step (params that depend on host state: an RNG offset, a step count). Workgroup counts above
   * the per-dimension limit must already be folded by the caller (see grid()).
   */
  dispatch(shader: ShaderName, constants: Record<string, number>, buffers: (GPUBuffer | Binding)[],
    params: ArrayBuffer | (() => ArrayBuffer), workgroups: [number, number?, number?], fuse?: unknown): void {
    this.launch(shader, constants, buffers, params, workgroups, fuse);
  }

  /**
   * Records one dispatch of generated WGSL (same bindings convention and prelude as shaders/). The source is
   * the pipeline's cache key; `label` names the kernel in compileStep's stats. `fuse` describes the work for
   * compileStep's fusion pass (kept on the recorded command, never read here); `constants` are its overrides.
   */
  dispatchSource(label: string, wgsl: string, buffers: (GPUBuffer | Binding)[], params: ArrayBuffer | (() => ArrayBuffer),
    workgroups: [number, number?, number?], fuse?: unknown, constants: Record<string, number> = {}): void {
    this.launch(this.pipelines.source(label, wgsl), constants, buffers, params, workgroups, fuse);
  }

  /** A recorded dispatch of generated WGSL, for a pass that rewrites a capture (see endRecording). */
  sourceCommand(label: string, wgsl: string, bindings: RecordedBinding[], params: ArrayBuffer, workgroups: [number, number, number],
    constants: Record<string, number> = {}): Command {
    const shader = this.pipelines.source(label, wgsl);
    const { pipe, writes } = this.pipelines.pipeline(shader, constants);
    return { kind: 'dispatch', shader, pipe, bindings, writes, params, wg: workgroups, constants };
  }

  private launch(shader: string, constants: Record<string, number>, buffers: (GPUBuffer | Binding)[],
    params: ArrayBuffer | (() => ArrayBuffer), workgroups: [number, number?, number?], fuse: unknown): void {
    this.check();
    const dyn = typeof params === 'function' ? params : undefined;
    const bytes = dyn ? dyn() : params as ArrayBuffer;
    if (bytes.byteLength > PARAMS_BYTES) throw new KilnGpuError(`kiln: kernel params of ${bytes.byteLength} bytes exceed ${PARAMS_BYTES}`);
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const lim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > lim || y > lim || z > lim) {
      throw new KilnGpuError(`kiln: ${shader} needs ${x}x${y}x${z} workgroups, over this device's limit of ${lim} ` +
        'per dimension');
    }
    const pipeline = this.pipelines.pipeline(shader, constants);
    checkAliasing(shader, buffers, pipeline.writes);
    this.sink.dispatch({ shader, pipeline, buffers, params: bytes, dyn, wg: [x, y, z], constants, fuse });
  }

  /** A 1-D launch of `n` threads in workgroups of `wg`, folded into 2-D when it exceeds the limit. */
  grid(n: number, wg: number): [number, number] {
    const groups = Math.ceil(n / wg);
    const lim = this.limits.maxComputeWorkgroupsPerDimension;
    if (groups <= lim) return [groups, 1];
    const x = lim;
    return [x, Math.ceil(groups / x)];
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.check();
    needUsage(src, Usage.COPY_SRC, 'COPY_SRC', 'copying from a tensor');
    needUsage(dst, Usage.COPY_DST, 'COPY_DST', 'copying into a tensor');
    if (bytes === 0) return;
    this.sink.copy(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Zero-fills a range (size rounded up to a multiple of 4). */
  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    this.check();
    needUsage(buffer, Usage.COPY_DST, 'COPY_DST', 'zero-filling a tensor');
    if (bytes === 0) return;
    this.sink.clear(buffer, offset, Math.ceil(bytes / 4) * 4);
  }

  /**
   * Writes host data into a buffer at this point of the command stream: the work recorded so far is submitted
   * first (it may still read the old contents), then the queue write, which later submissions see.
   */
  writeNow(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.check();
    this.sink.assertWritable();
    needUsage(buffer, Usage.COPY_DST, 'COPY_DST', 'writing host data into a tensor');
    this.queue.write(buffer, offset, data);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void { this.queue.flush(); }

  /**
   * Copies `bytes` from `src` back to the CPU. Submits pending work first and awaits the GPU, unless `flush`
   * is false: then the copy rides in the command stream and resolves after Kiln's next submission.
   */
  async read(src: GPUBuffer, offset: number, bytes: number, flush = true): Promise<ArrayBuffer> {
    this.checkReadable();
    needUsage(src, Usage.COPY_SRC, 'COPY_SRC', 'reading a tensor back');
    return this.queue.read(src, offset, bytes, flush, (encoder) => this.asserts.encodeCheck(encoder));
  }

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    this.check();
    return this.queue.sync();
  }

  /** Throws (synchronously, so a capture stops) where a readback cannot happen: lost device, or mid-capture. */
  checkReadable(): void {
    this.check();
    this.sink.assertReadable();
  }

  /** Starts recording GPU work instead of encoding it (compileStep's capture). Submits what was recorded. */
  beginRecording(): void {
    this.check();
    const capture = this.sink.capture();
    this.queue.flush();
    this.sink = capture;
  }

  /** Stops recording without keeping anything (the captured function threw). */
  abortRecording(): void {
    this.sink.abort();
    this.sink = this.eager;
  }

  /** Registers host state a replay must advance (recorded only while capturing; eager code does it itself). */
  onReplay(fn: () => void): void { this.sink.host(fn); }

  /**
   * Stops recording and turns the commands into a program (see buildProgram); pins what it uses in place.
   * `rewrite` may transform the recorded commands first (compileStep's fusion pass); its `spare(size)` gives
   * a fresh free pool buffer, where the planner may place a transient value.
   */
  endRecording(rewrite?: (cmds: Command[], spare: (size: number) => GPUBuffer) => Command[]): Program {
    const rec = this.sink.finish();
    this.sink = this.eager;
    if (rewrite) {
      try {
        rec.commands = rewrite(rec.commands, (size) => this.pool.spare(size));
      } catch (e) {
        rec.constants.forEach((b) => b.destroy());
        throw e;
      }
    }
    const program = buildProgram(this, rec, this.pool, this.pipelines, this.uniforms);
    for (const b of program.pinned) {
      let set = this.pins.get(b);
      if (!set) { set = new Set(); this.pins.set(b, set); }
      set.add(program);
    }
    return program;
  }

  /** @internal encodes a program (Program.run calls it). */
  replay(fresh: boolean, ops: readonly ReplayOp[]): void {
    this.check();
    this.sink.replay(fresh, ops);
  }

  /** @internal undoes a program's pins, claims and uniform buffer (Program.invalidate calls it). */
  releaseProgram(p: Program, owned: GPUBuffer[], pinned: GPUBuffer[], constants: GPUBuffer[], uniform: StaticUniforms | null): void {
    for (const b of pinned) {
      const set = this.pins.get(b);
      set?.delete(p);
      if (set && set.size === 0) this.pins.delete(b);
    }
    if (this.state !== 'ready') return;
    for (const b of owned) this.release({ buffer: b, size: this.pool.sizeOf(b) });
    constants.forEach((b) => this.pool.destroyLater(b));
    if (uniform) this.uniforms.freeFixed(uniform);
  }
}

/**
 * WebGPU's rule that a writable storage binding may not overlap another binding of the same dispatch, checked
 * before recording: Dawn reports a breach only as an uncaptured error that invalidates the whole command
 * buffer (all queued work is lost and readbacks return stale data), so it must never reach the device.
 */
function checkAliasing(shader: string, buffers: readonly (GPUBuffer | Binding)[], writes: readonly boolean[]): void {
  const range = (b: GPUBuffer | Binding): [GPUBuffer, number, number] => {
    if ('buffer' in b) { const o = b.offset ?? 0; return [b.buffer, o, o + (b.size ?? b.buffer.size - o)]; }
    return [b, 0, b.size];
  };
  for (let i = 0; i < buffers.length; i++) {
    if (!writes[i]) continue;
    const [bi, a0, a1] = range(buffers[i]);
    for (let j = 0; j < buffers.length; j++) {
      if (j === i) continue;
      const [bj, b0, b1] = range(buffers[j]);
      if (bi === bj && a0 < b1 && b0 < a1) {
        throw new KilnGpuError(`kiln: ${shader}: binding ${i} is written and overlaps binding ${j} (the same buffer, bytes ` +
          `[${a0}, ${a1}) and [${b0}, ${b1})): one tensor passed twice where one is written (a parameter listed twice in an optimizer?)`);
      }
    }
  }
}
