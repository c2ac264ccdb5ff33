// Command recording: where the work ops issue goes. One interface, two implementations: the eager sink
// encodes each command into the shared encoder at once; the capture sink appends it to a recording that
// endRecording() turns into a Program. The backend swaps sinks; nothing else knows which one is active.
import { KilnGpuError } from './errors.js';
import type { PipelineCache, Binding, Pipeline } from './pipelines.js';
import type { BufferPool, PooledBuffer } from './pool.js';
import { OP_CLEAR, OP_COPY, OP_DISPATCH, OP_HOST, type ReplayOp } from './program.js';
import type { Command, DispatchCommand, RecordedBinding } from './program.js';
import type { Submitter } from './queue.js';
import type { Uniforms } from './uniforms.js';

/** One dispatch as an op issues it: the pipeline resolved, params computed (and `dyn` to recompute them). */
export interface DispatchRequest {
  shader: string;
  pipeline: Pipeline;
  buffers: readonly (GPUBuffer | Binding)[];
  params: ArrayBuffer;
  dyn?: () => ArrayBuffer;
  wg: [number, number, number];
  constants: Record<string, number>;
  /** What compileStep's fusion pass may fuse (opaque to the backend). */
  fuse?: unknown;
}

/** What a capture hands over when it ends. */
export interface Recording { commands: Command[]; constants: GPUBuffer[] }

export interface CommandSink {
  dispatch(d: DispatchRequest): void;
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void;
  /** Zero-fills a range (bytes a multiple of 4). */
  clear(buffer: GPUBuffer, offset: number, bytes: number): void;
  /** A storage buffer holding host data (a tensor from host values), in order with the recorded work. */
  upload(data: ArrayBufferView): PooledBuffer;
  /** A buffer went back to the pool. */
  released(buffer: GPUBuffer): void;
  /** Whether the pool must keep released buffers alive (a recording still refers to them). */
  readonly keepsBuffers: boolean;
  /** Host state a replay must advance (eager code advances it itself). */
  host(fn: () => void): void;
  /** Throws where a readback cannot happen. */
  assertReadable(): void;
  /** Throws where host data cannot be written into a buffer at this point of the stream. */
  assertWritable(): void;
  /** Encodes a captured program. */
  replay(fresh: boolean, ops: readonly ReplayOp[]): void;
  /** Starts a capture: the sink to swap in. */
  capture(): CaptureSink;
  /** Ends a capture and hands over its recording. */
  finish(): Recording;
  /** Ends a capture, keeping nothing. */
  abort(): void;
}

/** Encodes every command into the shared encoder as it comes. */
export class EagerSink implements CommandSink {
  readonly keepsBuffers = false;
  dispatches = 0;

  constructor(private readonly queue: Submitter, private readonly pipelines: PipelineCache,
    private readonly uniforms: Uniforms, private readonly pool: BufferPool) {}

  dispatch(d: DispatchRequest): void {
    const g0 = this.pipelines.bindGroup(d.shader, d.buffers);
    const u = this.uniforms.slot(d.params);
    const pass = this.queue.computePass();
    pass.setPipeline(d.pipeline.pipe);
    pass.setBindGroup(0, g0);
    pass.setBindGroup(1, u);
    pass.dispatchWorkgroups(d.wg[0], d.wg[1], d.wg[2]);
    this.dispatches++;
    this.queue.encoded(1);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.queue.commands().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.queue.encoded(1);
  }

  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    this.queue.commands().clearBuffer(buffer, offset, bytes);
    this.queue.encoded(1);
  }

  /**
   * A pooled buffer, filled by a copy recorded from a fresh mapped-at-creation source (destroyed after the
   * submit). Not a fresh storage buffer per upload: pooled buffers recur step after step, so their bind groups
   * are cache hits, and every bind group a loop creates stays alive natively until its wrapper is collected
   * (see PipelineCache.bindGroup).
   */
  upload(data: ArrayBufferView): PooledBuffer {
    const b = this.pool.acquire(Math.max(4, data.byteLength));
    if (data.byteLength === 0) return b;
    const src = this.pool.constant(data);
    this.queue.commands().copyBufferToBuffer(src, 0, b.buffer, 0, src.size);
    this.queue.encoded(1);
    this.pool.destroyLater(src);
    return b;
  }

  released(): void {}
  host(): void {}
  assertReadable(): void {}
  assertWritable(): void {}

  /**
   * Encodes a program: no op code runs, only the prebuilt pipelines, bind groups and params. `fresh` (the
   * capture's own run) uses the params the capture computed; later replays rerun the host functions and
   * dynamic params in recorded order, as the eager step would have.
   */
  replay(fresh: boolean, ops: readonly ReplayOp[]): void {
    const queue = this.queue;
    let pass: GPUComputePassEncoder | null = null;
    // Pass state persists within a pass: a pipeline or group 0 equal to the previous dispatch's is not set again.
    let pipe: GPUComputePipeline | null = null;
    let group: GPUBindGroup | null = null;
    let n = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      switch (op.kind) {
        case OP_DISPATCH: {
          if (pass === null) { pass = queue.computePass(); pipe = null; group = null; }
          if (op.pipe !== pipe) { pipe = op.pipe; pass.setPipeline(pipe!); }
          if (op.group !== group) { group = op.group; pass.setBindGroup(0, group); }
          pass.setBindGroup(1, op.uniform ?? this.uniforms.slot(fresh ? op.params! : op.dyn!()));
          pass.dispatchWorkgroups(op.x, op.y, op.z);
          n++;
          break;
        }
        case OP_COPY: pass = null; queue.commands().copyBufferToBuffer(op.src!, op.srcOffset, op.dst!, op.dstOffset, op.bytes); break;
        case OP_CLEAR: pass = null; queue.commands().clearBuffer(op.dst!, op.dstOffset, op.bytes); break;
        // Host code may encode eager work: the pass is looked up again after it.
        case OP_HOST: pass = null; if (!fresh) op.fn!(); break;
        default: break;
      }
    }
    this.dispatches += n;
    queue.encoded(n + 1);
  }

  capture(): CaptureSink { return new CaptureSink(this.pool); }

  finish(): Recording { throw new KilnGpuError('kiln: endRecording() without beginRecording()'); }

  abort(): void {}
}

/** Appends every command to a recording (compileStep's capture). */
export class CaptureSink implements CommandSink {
  readonly keepsBuffers = true;
  private commands: Command[] = [];
  /** Private copies of host data uploaded inside the capture. */
  private constants: GPUBuffer[] = [];

  constructor(private readonly pool: BufferPool) {}

  dispatch(d: DispatchRequest): void {
    const bindings: RecordedBinding[] = d.buffers.map((b) => ('buffer' in b ? { ...b } : { buffer: b }));
    // Dynamic params may come in a buffer their function refills at every call: the recording keeps a copy.
    const cmd: DispatchCommand = { kind: 'dispatch', shader: d.shader, pipe: d.pipeline.pipe, bindings, writes: d.pipeline.writes,
      params: d.dyn ? d.params.slice(0) : d.params, dyn: d.dyn, wg: d.wg, constants: d.constants, fuse: d.fuse };
    this.commands.push(cmd);
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes });
  }

  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    this.commands.push({ kind: 'clear', buffer, offset, bytes });
  }

  /** A new buffer written at creation (the capture's own run); replays must write the same values at the same
   * point, so the program keeps a private copy and records copying it in. */
  upload(data: ArrayBufferView): PooledBuffer {
    const b = this.pool.upload(data);
    if (data.byteLength === 0) return b;
    const src = this.pool.constant(data);
    this.constants.push(src);
    this.commands.push({ kind: 'copy', src, srcOffset: 0, dst: b.buffer, dstOffset: 0, bytes: Math.ceil(data.byteLength / 4) * 4 });
    return b;
  }

  released(buffer: GPUBuffer): void { this.commands.push({ kind: 'release', buffer }); }

  host(fn: () => void): void { this.commands.push({ kind: 'host', fn }); }

  assertReadable(): void {
    throw new KilnGpuError('kiln: cannot read a tensor back inside a step being captured by compileStep; ' +
      'return it from the step and read it after run()');
  }

  assertWritable(): void {
    throw new KilnGpuError('kiln: cannot write host data into a buffer while a step is being captured');
  }

  replay(): void {
    throw new KilnGpuError('kiln: cannot run a compiled step inside a step being captured by compileStep');
  }

  capture(): CaptureSink {
    throw new KilnGpuError('kiln: a step is already being captured (compileStep captures cannot nest)');
  }

  finish(): Recording {
    const r = { commands: this.commands, constants: this.constants };
    this.commands = [];
    this.constants = [];
    return r;
  }

  abort(): void {
    this.constants.forEach((b) => b.destroy());
    this.constants = [];
    this.commands = [];
  }
}
