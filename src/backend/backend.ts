// The one place that talks to a GPUDevice: buffer pool, pipeline cache, and the scheduler that records
// dispatches into a command encoder and submits them in batches (at a readback or an explicit flush).
import { DeviceAsserts } from './device_assert.js';
import { wgslSources, type ShaderName } from './wgsl.gen.js';
import { planBuffers, type Command, type ProgramMemory, type RecordedBinding } from './program.js';

/** WebGPU usage flags, spelled out so the library does not depend on the host defining GPUBufferUsage. */
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;
const MAP_MODE_READ = 0x1;
const UNIFORM_CHUNK = 64 * 1024;
/** Bytes bound for each kernel's Params struct (the largest is 144). */
const PARAMS_BYTES = 256;
const BIND_GROUP_CACHE = 8192;
const COMPUTE_STAGE = 0x4;
/** Submit anyway after this many recorded dispatches, so one long eager loop cannot grow without bound. */
const MAX_PENDING_DISPATCHES = 512;
/** Free buffers kept per size class; beyond this a released buffer is destroyed (after pending work is
 * submitted), so a loop that uploads a fresh batch every step cannot grow the pool without bound. */
const POOL_CAP = 32;

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

/** Exact accounting of GPU memory Kiln holds. */
export interface MemoryReport {
  liveTensors: number;
  /** Logical bytes of live tensors (numel * 4). */
  tensorBytes: number;
  /** Bytes of storage buffers currently backing tensors or optimizer state. */
  inUseBytes: number;
  /** Bytes of storage buffers kept in the pool for reuse. */
  pooledBytes: number;
  /** Bytes of uniform and staging buffers. */
  otherBytes: number;
  /** Every GPUBuffer Kiln created and has not destroyed: inUse + pooled + other. */
  totalBytes: number;
}

/** A pooled storage buffer. `size` is the allocated (size-class) byte size. */
/** App buffers wrapped by Tensor.fromGPUBuffer may lack a usage a copy needs: say so before the GPU does. */
function needUsage(b: GPUBuffer, flag: number, name: string, what: string): void {
  if (!(b.usage & flag)) throw new KilnGpuError(`kiln: ${what} needs ${name} usage on its GPUBuffer (usage is 0x${b.usage.toString(16)}); create the app buffer with GPUBufferUsage.${name}`);
}

export interface PooledBuffer {
  buffer: GPUBuffer;
  size: number;
}

/** One binding of a dispatch: a buffer, optionally a sub-range. */
export interface Binding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** Builds a uniform Params struct with WGSL layout rules (4-byte scalars, 16-byte aligned arrays/vec4). */
export class ParamWriter {
  private words: number[] = [];
  private kinds: ('u' | 'f' | 'i')[] = [];
  u32(...v: number[]): this { for (const x of v) { this.words.push(x >>> 0); this.kinds.push('u'); } return this; }
  f32(...v: number[]): this { for (const x of v) { this.words.push(x); this.kinds.push('f'); } return this; }
  /** Pads to the next 16-byte boundary (what a vec4 or array<vec4> field requires). */
  align16(): this { while (this.words.length % 4) this.u32(0); return this; }
  /** A u32 array of `slots` entries (a multiple of 4) starting on a 16-byte boundary. */
  u32Array(values: readonly number[], slots: number): this {
    this.align16();
    for (let i = 0; i < slots; i++) this.u32(values[i] ?? 0);
    return this;
  }
  bytes(): ArrayBuffer {
    this.align16();
    const buf = new ArrayBuffer(this.words.length * 4);
    const u = new Uint32Array(buf);
    const f = new Float32Array(buf);
    this.words.forEach((w, i) => { if (this.kinds[i] === 'f') f[i] = w; else u[i] = w; });
    return buf;
  }
}

function sizeClass(bytes: number): number {
  // Powers of two with four steps in between: at most 25% slack, good reuse across nearby sizes.
  const b = Math.max(256, bytes);
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

/** A captured step (see compileStep): replay it with run(); it holds its arena until disposed. */
export class Program {
  valid = true;
  invalidReason = '';
  readonly dispatchCount: number;

  constructor(private readonly be: Backend, private readonly cmds: Command[], readonly memory: ProgramMemory,
    private readonly uniform: { buffer: GPUBuffer; groups: GPUBindGroup[] } | null, private readonly owned: GPUBuffer[],
    private readonly pinned: GPUBuffer[], private readonly constants: GPUBuffer[]) {
    this.dispatchCount = cmds.filter((c) => c.kind === 'dispatch').length;
    for (const c of cmds) {
      if (c.kind === 'host') continue;
      const name = c.kind === 'dispatch' ? c.shader.split('#')[0] : c.kind;
      this.kernels[name] = (this.kernels[name] ?? 0) + 1;
    }
  }

  /** Commands one replay encodes, by kernel (and 'copy' / 'clear'). */
  readonly kernels: Record<string, number> = {};

  /** Encodes one run of the step (see Backend.replay). */
  run(fresh: boolean): void {
    if (!this.valid) throw new KilnGpuError(`kiln: this captured step is no longer valid (${this.invalidReason}); capture it again`);
    this.be.replay(fresh, this.cmds, this.uniform?.groups ?? null);
  }

  /** Gives the arena back to the pool and unpins; later run() calls throw. */
  invalidate(reason: string): void {
    if (!this.valid) return;
    this.valid = false;
    this.invalidReason = reason;
    const bytes = this.uniform ? this.uniform.buffer.size : 0;
    this.be.releaseProgram(this, this.owned, this.pinned, this.constants, this.uniform?.buffer ?? null, bytes);
  }
}

export { DeviceAssertError } from './device_assert.js';

export class KilnGpuError extends Error {
  constructor(message: string) { super(message); this.name = 'KilnGpuError'; }
}

export class Backend {
  readonly device: GPUDevice;
  readonly adapter: AdapterReport;
  readonly owned: boolean;
  readonly limits: GPUSupportedLimits;
  lost: GPUDeviceLostInfo | null = null;
  /** Whether the device has shader-f16 (Kiln asks for it when the adapter offers it). */
  readonly f16: boolean;
  /** Validation errors the device raised (only when Kiln owns the device); tests assert this stays empty. */
  readonly gpuErrors: string[] = [];
  /** The device-side assert flag buffer: checking kernels bind it; read() reports what they recorded. */
  readonly asserts: DeviceAsserts;

  private pool = new Map<number, GPUBuffer[]>();
  private pooledBytes = 0;
  private inUseBytes = 0;
  private otherBytes = 0;
  private pipelines = new Map<string, GPUComputePipeline>();
  private modules = new Map<string, GPUShaderModule>();
  private layouts = new Map<string, { group0: GPUBindGroupLayout; pipeline: GPUPipelineLayout }>();
  private uniformLayout: GPUBindGroupLayout | null = null;
  /**
   * Bind groups by (kernel layout, buffers). Pooled buffers recur step after step, so a training loop reuses
   * the same few hundred bind groups instead of creating two per dispatch: creation costs JavaScript time,
   * and Dawn frees a bind group only when its JS wrapper is garbage-collected, which lets native descriptor
   * pools grow without bound (lavapipe crashed in vkAllocateDescriptorSets after ~80k of them).
   */
  private bindGroups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  bindGroupsCreated = 0;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private pending = 0;
  private uniformChunks: { buffer: GPUBuffer; data: Uint8Array<ArrayBuffer>; groups: GPUBindGroup[] }[] = [];
  private uniformChunk = 0;
  private uniformOffset = 0;
  private afterSubmit: (() => void)[] = [];
  private stagingPool = new Map<number, GPUBuffer[]>();
  private freeBuffers = new Set<GPUBuffer>();
  private sizes = new WeakMap<GPUBuffer, number>();
  /** Buffers a recorded program uses in place; releasing one invalidates the program. */
  private pins = new Map<GPUBuffer, Set<Program>>();
  private recording: Command[] | null = null;
  private recordingConstants: GPUBuffer[] = [];
  private shaderWrites = new Map<string, boolean[]>();
  private generated = new Map<string, string>();
  private generatedKeys = new Map<string, string>();
  /** Objects that must live as long as the device (the GPU instance and adapter in Node). */
  keepAlive: unknown[] = [];
  /** Counts for the memory report, maintained by the tensor layer. */
  liveTensors = 0;
  tensorBytes = 0;
  /** Number of queue submissions so far (for tests of batching). */
  submits = 0;
  dispatches = 0;
  buffersCreated = 0;

  constructor(device: GPUDevice, adapter: AdapterReport, owned: boolean) {
    this.device = device;
    this.adapter = adapter;
    this.owned = owned;
    this.limits = device.limits;
    this.f16 = device.features.has('shader-f16');
    this.asserts = new DeviceAsserts(device);
    device.lost.then((info) => { this.lost = info; });
    if (owned) {
      device.addEventListener('uncapturederror', (ev) => {
        const msg = (ev as GPUUncapturedErrorEvent).error.message;
        this.gpuErrors.push(msg);
      });
    }
  }

  /** Throws a clear error when the device has been lost; every op calls this before any work. */
  check(): void {
    if (this.lost) {
      throw new KilnGpuError(`kiln: the GPU device was lost (${this.lost.reason}): ${this.lost.message}. ` +
        'Call init() again to get a new device; tensors from the old one cannot be used.');
    }
  }

  /** Every buffer Kiln creates goes through here, so tests can assert a replayed step allocates nothing. */
  private newBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    this.buffersCreated++;
    return this.device.createBuffer(desc);
  }

  /** A storage buffer of at least `bytes` bytes from the pool (contents undefined). */
  acquire(bytes: number): PooledBuffer {
    const size = sizeClass(bytes);
    const max = this.limits.maxStorageBufferBindingSize;
    if (size > max && bytes <= max) return this.acquireExact(bytes);
    if (bytes > max) {
      throw new KilnGpuError(`kiln: a tensor of ${bytes} bytes exceeds this device's maxStorageBufferBindingSize ` +
        `(${max} bytes); split the work into smaller tensors`);
    }
    const free = this.pool.get(size);
    const buffer = free?.pop();
    this.inUseBytes += size;
    if (buffer) {
      this.pooledBytes -= size;
      this.freeBuffers.delete(buffer);
      return { buffer, size };
    }
    return { buffer: this.create(size), size };
  }

  private create(size: number): GPUBuffer {
    const buffer = this.newBuffer({ size, usage: STORAGE_USAGE });
    this.sizes.set(buffer, size);
    return buffer;
  }

  private acquireExact(bytes: number): PooledBuffer {
    const size = Math.ceil(bytes / 4) * 4;
    this.inUseBytes += size;
    return { buffer: this.create(size), size };
  }

  /** A storage buffer holding `data` (written at creation, so it cannot race recorded work). */
  upload(data: ArrayBufferView): PooledBuffer {
    const bytes = Math.max(4, data.byteLength);
    const size = Math.min(sizeClass(bytes), Math.max(this.limits.maxStorageBufferBindingSize, bytes));
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new KilnGpuError(`kiln: a tensor of ${bytes} bytes exceeds this device's maxStorageBufferBindingSize ` +
        `(${this.limits.maxStorageBufferBindingSize} bytes)`);
    }
    const buffer = this.newBuffer({ size, usage: STORAGE_USAGE, mappedAtCreation: true });
    const bytesOf = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    new Uint8Array(buffer.getMappedRange(0, data.byteLength)).set(bytesOf);
    buffer.unmap();
    this.sizes.set(buffer, size);
    this.inUseBytes += size;
    if (this.recording && data.byteLength > 0) {
      // A tensor made from host data inside a captured step: replays must write the same values at the same
      // point, so the program keeps a private copy and records copying it in.
      const src = this.newBuffer({ size: Math.ceil(data.byteLength / 4) * 4, usage: Usage.COPY_SRC, mappedAtCreation: true });
      new Uint8Array(src.getMappedRange(0, data.byteLength)).set(bytesOf);
      src.unmap();
      this.recordingConstants.push(src);
      this.recording.push({ kind: 'copy', src, srcOffset: 0, dst: buffer, dstOffset: 0, bytes: Math.ceil(data.byteLength / 4) * 4 });
    }
    return { buffer, size };
  }

  /** Returns a buffer to the pool. Recorded work that still reads it stays correct: the queue is ordered. */
  release(b: PooledBuffer): void {
    this.inUseBytes -= b.size;
    const pinned = this.pins.get(b.buffer);
    if (pinned) [...pinned].forEach((p) => p.invalidate(`a buffer it uses in place (${b.size} bytes) was released`));
    if (this.recording) this.recording.push({ kind: 'release', buffer: b.buffer });
    let list = this.pool.get(b.size);
    if (!list) { list = []; this.pool.set(b.size, list); }
    if (list.length >= POOL_CAP && !this.recording) {
      this.destroyLater(b.buffer);
      return;
    }
    list.push(b.buffer);
    this.freeBuffers.add(b.buffer);
    this.pooledBytes += b.size;
  }

  private destroyLater(buffer: GPUBuffer): void {
    if (this.encoder) this.afterSubmit.push(() => buffer.destroy());
    else buffer.destroy();
  }

  /** Destroys every pooled (unused) buffer, after the work already recorded has been submitted. */
  trimPool(): void {
    if (this.recording) return;
    const doomed = [...this.pool.values()].flat();
    this.pool.clear();
    this.freeBuffers.clear();
    this.bindGroups.clear();
    this.pooledBytes = 0;
    if (this.encoder) this.afterSubmit.push(() => doomed.forEach((b) => b.destroy()));
    else doomed.forEach((b) => b.destroy());
  }

  memory(): MemoryReport {
    return {
      liveTensors: this.liveTensors,
      tensorBytes: this.tensorBytes,
      inUseBytes: this.inUseBytes,
      pooledBytes: this.pooledBytes,
      otherBytes: this.otherBytes,
      totalBytes: this.inUseBytes + this.pooledBytes + this.otherBytes,
    };
  }

  /**
   * Group 1 of every kernel: one uniform Params struct at a fixed offset, one bind group per slot of a chunk.
   * Not a dynamic offset: on lavapipe a dispatch with a dynamic offset cost about twice one without (55-80
   * vs 26-36 µs for a 1-workgroup relu, measured back to back), and tiny dispatches are most of a small step.
   */
  private paramsLayout(): GPUBindGroupLayout {
    this.uniformLayout ??= this.device.createBindGroupLayout({
      entries: [{ binding: 0, visibility: COMPUTE_STAGE, buffer: { type: 'uniform', minBindingSize: PARAMS_BYTES } }],
    });
    return this.uniformLayout;
  }

  /** Bind groups for every PARAMS_BYTES slot of a uniform buffer (slot i at offset i * stride). */
  private slotGroups(buffer: GPUBuffer, slots: number, stride: number): GPUBindGroup[] {
    const layout = this.paramsLayout();
    return Array.from({ length: slots }, (_, i) => this.device.createBindGroup({
      layout, entries: [{ binding: 0, resource: { buffer, offset: i * stride, size: PARAMS_BYTES } }],
    }));
  }

  private get uniformStride(): number {
    const align = Math.max(256, this.limits.minUniformBufferOffsetAlignment);
    return Math.ceil(PARAMS_BYTES / align) * align;
  }

  /** Group 0's layout read from the shader's declarations: read-only or read-write storage buffers. */
  private layout(shader: string) {
    let l = this.layouts.get(shader);
    if (l) return l;
    const entries: GPUBindGroupLayoutEntry[] = [];
    const re = /@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g;
    const writes: boolean[] = [];
    for (const m of this.sourceOf(shader).matchAll(re)) {
      entries.push({ binding: Number(m[1]), visibility: COMPUTE_STAGE, buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage' } });
      writes[Number(m[1])] = m[2] !== 'read';
    }
    this.shaderWrites.set(shader, writes);
    const group0 = this.device.createBindGroupLayout({ entries });
    l = { group0, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group0, this.paramsLayout()] }) };
    this.layouts.set(shader, l);
    return l;
  }

  /** A kernel's WGSL: a file of shaders/, or a generated source registered by dispatchSource. */
  private sourceOf(shader: string): string {
    return this.generated.get(shader) ?? wgslSources[shader as ShaderName];
  }

  private pipeline(shader: string, constants: Record<string, number>): GPUComputePipeline {
    const key = shader + JSON.stringify(constants);
    let pipe = this.pipelines.get(key);
    if (pipe) return pipe;
    let module = this.modules.get(shader);
    if (!module) {
      // `enable` directives must open the module, so they go ahead of the prelude.
      const src: string = this.sourceOf(shader);
      const enables = src.match(/^(\s*enable [^;]+;\s*)+/)?.[0] ?? '';
      module = this.device.createShaderModule({ code: enables + wgslSources.prelude + '\n' + src.slice(enables.length), label: shader });
      this.modules.set(shader, module);
    }
    pipe = this.device.createComputePipeline({
      layout: this.layout(shader).pipeline,
      compute: { module, entryPoint: 'main', constants },
      label: key,
    });
    this.pipelines.set(key, pipe);
    return pipe;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) { id = this.nextBufferId++; this.bufferIds.set(b, id); }
    return id;
  }

  private bindGroup(shader: string, buffers: (GPUBuffer | Binding)[]): GPUBindGroup {
    let key = shader;
    for (const b of buffers) {
      key += 'buffer' in b ? `|${this.bufferId(b.buffer)}@${b.offset ?? 0}+${b.size ?? ''}` : `|${this.bufferId(b)}`;
    }
    let g = this.bindGroups.get(key);
    if (g) return g;
    if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
    g = this.device.createBindGroup({
      layout: this.layout(shader).group0,
      entries: buffers.map((b, i) => ({ binding: i, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    this.bindGroupsCreated++;
    this.bindGroups.set(key, g);
    return g;
  }

  /** Copies params into the next slot of the current uniform chunk; returns the slot's bind group. */
  private uniform(params: ArrayBuffer): GPUBindGroup {
    const stride = this.uniformStride;
    if (this.uniformOffset + PARAMS_BYTES > UNIFORM_CHUNK) { this.uniformChunk++; this.uniformOffset = 0; }
    if (this.uniformChunk >= this.uniformChunks.length) {
      const buffer = this.newBuffer({ size: UNIFORM_CHUNK, usage: Usage.UNIFORM | Usage.COPY_DST });
      this.otherBytes += UNIFORM_CHUNK;
      this.uniformChunks.push({ buffer, data: new Uint8Array(UNIFORM_CHUNK), groups: this.slotGroups(buffer, Math.floor(UNIFORM_CHUNK / stride), stride) });
    }
    const chunk = this.uniformChunks[this.uniformChunk];
    chunk.data.set(new Uint8Array(params), this.uniformOffset);
    const slot = this.uniformOffset / stride;
    this.uniformOffset += stride;
    return chunk.groups[slot];
  }

  private ensurePass(): GPUComputePassEncoder {
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    if (!this.pass) this.pass = this.encoder.beginComputePass();
    return this.pass;
  }

  private ensureEncoder(): GPUCommandEncoder {
    if (this.pass) { this.pass.end(); this.pass = null; }
    if (!this.encoder) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /**
   * Records one dispatch. `buffers` bind to group 0 in order (inputs, then outputs); `params` is group 1's
   * uniform. Workgroup counts above the per-dimension limit must already be folded by the caller.
   */
  dispatch(shader: ShaderName, constants: Record<string, number>, buffers: (GPUBuffer | Binding)[],
    params: ArrayBuffer | (() => ArrayBuffer), workgroups: [number, number?, number?], fuse?: unknown): void {
    this.check();
    // Params that depend on host state (an RNG offset, a step count) come as a function: run now, and rerun at
    // every replay of a captured step.
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
    const pipe = this.pipeline(shader, constants);
    if (this.recording) {
      const bindings: RecordedBinding[] = buffers.map((b) => ('buffer' in b ? { ...b } : { buffer: b }));
      this.recording.push({ kind: 'dispatch', shader, pipe, bindings, writes: this.shaderWrites.get(shader)!, params: bytes, dyn, wg: [x, y, z], fuse, constants });
      return;
    }
    const g0 = this.bindGroup(shader, buffers);
    const u = this.uniform(bytes);
    const pass = this.ensurePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, g0);
    pass.setBindGroup(1, u);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    if (++this.pending >= MAX_PENDING_DISPATCHES) this.flush();
  }

  /**
   * Records a dispatch of generated WGSL (see src/ops/pointwise.ts), with the same bindings convention as
   * dispatch. The source is the pipeline's cache key; `label` names the kernel in program statistics.
   * `fuse` describes the work for compileStep's fusion pass (kept on the recorded command, never read here).
   */
  dispatchSource(label: string, wgsl: string, buffers: (GPUBuffer | Binding)[], params: ArrayBuffer,
    workgroups: [number, number?, number?], fuse?: unknown): void {
    this.dispatch(this.registerSource(label, wgsl), {}, buffers, params, workgroups, fuse);
  }

  /** A recorded dispatch command of generated WGSL, for a pass that rewrites a capture (see endRecording). */
  sourceCommand(label: string, wgsl: string, bindings: RecordedBinding[], params: ArrayBuffer, workgroups: [number, number, number],
    constants: Record<string, number> = {}): Command {
    const shader = this.registerSource(label, wgsl);
    const pipe = this.pipeline(shader, constants);
    return { kind: 'dispatch', shader, pipe, bindings, writes: this.shaderWrites.get(shader)!, params, wg: workgroups };
  }

  /** Generated sources get a short key (label#n) for the caches and the program's kernel counts. */
  private registerSource(label: string, wgsl: string): ShaderName {
    let key = this.generatedKeys.get(wgsl);
    if (!key) {
      key = `${label}#${this.generatedKeys.size}`;
      this.generatedKeys.set(wgsl, key);
      this.generated.set(key, wgsl);
    }
    return key as ShaderName;
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
    if (this.recording) { this.recording.push({ kind: 'copy', src, srcOffset, dst, dstOffset, bytes }); return; }
    this.ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pending++;
  }

  /** Zero-fills a range (size a multiple of 4). */
  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    this.check();
    needUsage(buffer, Usage.COPY_DST, 'COPY_DST', 'zero-filling a tensor');
    if (bytes === 0) return;
    if (this.recording) { this.recording.push({ kind: 'clear', buffer, offset, bytes: Math.ceil(bytes / 4) * 4 }); return; }
    this.ensureEncoder().clearBuffer(buffer, offset, Math.ceil(bytes / 4) * 4);
    this.pending++;
  }

  /**
   * Writes host data into a buffer at this point of the command stream: the work recorded so far is submitted
   * first (it may still read the old contents), then the queue write, which later submissions see.
   */
  writeNow(buffer: GPUBuffer, offset: number, data: ArrayBufferView): void {
    this.check();
    if (this.recording) throw new KilnGpuError('kiln: cannot write host data into a buffer while a step is being captured');
    needUsage(buffer, Usage.COPY_DST, 'COPY_DST', 'writing host data into a tensor');
    this.flush();
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits everything recorded so far as one command buffer. */
  flush(): void {
    if (!this.encoder) return;
    this.check();
    if (this.pass) { this.pass.end(); this.pass = null; }
    for (let i = 0; i <= this.uniformChunk && i < this.uniformChunks.length; i++) {
      const c = this.uniformChunks[i];
      const used = i < this.uniformChunk ? UNIFORM_CHUNK : this.uniformOffset;
      if (used > 0) this.device.queue.writeBuffer(c.buffer, 0, c.data, 0, used);
    }
    this.device.queue.submit([this.encoder.finish()]);
    this.submits++;
    this.encoder = null;
    this.pending = 0;
    this.uniformChunk = 0;
    this.uniformOffset = 0;
    const after = this.afterSubmit;
    this.afterSubmit = [];
    after.forEach((f) => f());
  }

  /**
   * Copies `bytes` from `src` back to the CPU through a pooled staging buffer. Submits pending work first and
   * awaits the GPU, unless `flush` is false: then the copy rides in the command stream and the mapping starts
   * after Kiln's next submission, so the GPU never waits for JavaScript (metrics read a few steps late).
   */
  async read(src: GPUBuffer, offset: number, bytes: number, flush = true): Promise<ArrayBuffer> {
    this.checkReadable();
    needUsage(src, Usage.COPY_SRC, 'COPY_SRC', 'reading a tensor back');
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const cls = sizeClass(size);
    let staging = this.stagingPool.get(cls)?.pop();
    if (!staging) {
      staging = this.newBuffer({ size: cls, usage: Usage.MAP_READ | Usage.COPY_DST });
      this.otherBytes += cls;
    }
    this.ensureEncoder().copyBufferToBuffer(src, offset, staging, 0, size);
    const asserted = this.asserts.encodeCheck(this.ensureEncoder());
    this.pending++;
    if (flush) this.flush();
    else await new Promise<void>((resolve) => this.afterSubmit.push(resolve));
    try {
      await staging!.mapAsync(MAP_MODE_READ, 0, size);
    } catch (e) {
      this.check();
      throw e;
    }
    const out = staging!.getMappedRange(0, size).slice(0, bytes);
    staging!.unmap();
    let list = this.stagingPool.get(cls);
    if (!list) { list = []; this.stagingPool.set(cls, list); }
    list.push(staging!);
    await asserted?.();
    return out;
  }

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Starts recording GPU work instead of encoding it (compileStep's capture). Submits what was recorded. */
  beginRecording(): void {
    this.check();
    if (this.recording) throw new KilnGpuError('kiln: a step is already being captured (compileStep captures cannot nest)');
    this.flush();
    this.recording = [];
    this.recordingConstants = [];
  }

  /** Stops recording without keeping anything (the captured function threw). */
  abortRecording(): void {
    if (!this.recording) return;
    this.recording = null;
    this.recordingConstants.forEach((b) => b.destroy());
    this.recordingConstants = [];
  }

  /** Registers host state a replay must advance (recorded only while capturing; eager code does it itself). */
  onReplay(fn: () => void): void {
    if (this.recording) this.recording.push({ kind: 'host', fn });
  }

  /** Throws (synchronously, so a capture stops) where a readback cannot happen: lost device, or mid-capture. */
  checkReadable(): void {
    this.check();
    if (this.recording) {
      throw new KilnGpuError('kiln: cannot read a tensor back inside a step being captured by compileStep; ' +
        'return it from the step and read it after run()');
    }
  }

  /**
   * Stops recording and turns the commands into a program: intermediate buffers get a planned arena (taken
   * out of the pool, so nothing else can write them), the buffers the step uses in place are pinned, bind
   * groups and a uniform buffer of the static params are built once.
   */
  endRecording(rewrite?: (cmds: Command[], spare: (size: number) => GPUBuffer) => Command[]): Program {
    if (!this.recording) throw new KilnGpuError('kiln: endRecording() without beginRecording()');
    // `spare` gives the rewrite a fresh pool buffer (free, so the planner may place a transient value in it).
    const spare = (size: number) => {
      const buffer = this.create(size);
      let list = this.pool.get(size);
      if (!list) { list = []; this.pool.set(size, list); }
      list.push(buffer);
      this.freeBuffers.add(buffer);
      this.pooledBytes += size;
      return buffer;
    };
    const all = rewrite ? rewrite(this.recording, spare) : this.recording;
    const constants = this.recordingConstants;
    this.recording = null;
    this.recordingConstants = [];
    const plan = planBuffers(all, (b) => this.freeBuffers.has(b), (b) => this.sizes.get(b) ?? b.size, (size) => this.create(size));
    const owned = new Set<GPUBuffer>(plan.arena);
    for (const b of plan.fixed) if (this.freeBuffers.has(b)) owned.add(b);
    const created = new Set(plan.created);
    for (const b of owned) {
      if (created.has(b)) this.inUseBytes += this.sizes.get(b)!;
      else this.claim(b);
    }
    const referenced = new Set<GPUBuffer>();
    const cmds: Command[] = [];
    let slots = 0;
    all.forEach((c, i) => {
      if (c.kind === 'release') return;
      if (c.kind === 'dispatch') {
        const bindings = c.bindings.map((b) => ({ ...b, buffer: plan.map(i, b.buffer) }));
        bindings.forEach((b) => referenced.add(b.buffer));
        cmds.push({ ...c, bindings, group: this.bindGroup(c.shader, bindings), slot: c.dyn ? undefined : slots++ });
      } else if (c.kind === 'copy') {
        const src = plan.map(i, c.src), dst = plan.map(i, c.dst);
        referenced.add(src).add(dst);
        cmds.push({ ...c, src, dst });
      } else if (c.kind === 'clear') {
        const buffer = plan.map(i, c.buffer);
        referenced.add(buffer);
        cmds.push({ ...c, buffer });
      } else {
        cmds.push(c);
      }
    });
    const constantSet = new Set(constants);
    const pinned = [...referenced].filter((b) => !owned.has(b) && !constantSet.has(b));
    const stride = this.uniformStride;
    let uniform: { buffer: GPUBuffer; groups: GPUBindGroup[] } | null = null;
    if (slots > 0) {
      const buffer = this.newBuffer({ size: slots * stride, usage: Usage.UNIFORM | Usage.COPY_DST, mappedAtCreation: true });
      const data = new Uint8Array(buffer.getMappedRange());
      for (const c of cmds) if (c.kind === 'dispatch' && c.slot !== undefined) data.set(new Uint8Array(c.params), c.slot * stride);
      buffer.unmap();
      this.otherBytes += slots * stride;
      uniform = { buffer, groups: this.slotGroups(buffer, slots, stride) };
    }
    const bytesOf = (bs: Iterable<GPUBuffer>) => { let n = 0; for (const b of bs) n += this.sizes.get(b) ?? b.size; return n; };
    const arenaBytes = bytesOf(plan.arena);
    const persistentBytes = bytesOf(pinned);
    const constantBytes = bytesOf([...owned].filter((b) => !plan.arena.includes(b))) + bytesOf(constants);
    const memory: ProgramMemory = {
      eagerTransientBytes: plan.eagerTransientBytes, arenaBytes, persistentBytes, constantBytes,
      peakBytes: arenaBytes + persistentBytes + constantBytes,
    };
    const program = new Program(this, cmds, memory, uniform, [...owned], pinned, constants);
    for (const b of pinned) {
      let set = this.pins.get(b);
      if (!set) { set = new Set(); this.pins.set(b, set); }
      set.add(program);
    }
    return program;
  }

  /** Takes a free buffer out of the pool for a program's exclusive use. */
  private claim(b: GPUBuffer): void {
    const size = this.sizes.get(b) ?? b.size;
    const list = this.pool.get(size);
    const i = list ? list.indexOf(b) : -1;
    if (i < 0) throw new KilnGpuError('kiln: internal error: a captured step\'s buffer is not in the pool');
    list!.splice(i, 1);
    this.freeBuffers.delete(b);
    this.pooledBytes -= size;
    this.inUseBytes += size;
  }

  /** @internal undoes a program's pins, claims and uniform buffer (Program.invalidate calls it). */
  releaseProgram(p: Program, owned: GPUBuffer[], pinned: GPUBuffer[], constants: GPUBuffer[], uniform: GPUBuffer | null, uniformBytes: number): void {
    for (const b of pinned) {
      const set = this.pins.get(b);
      set?.delete(p);
      if (set && set.size === 0) this.pins.delete(b);
    }
    for (const b of owned) this.release({ buffer: b, size: this.sizes.get(b) ?? b.size });
    constants.forEach((b) => this.destroyLater(b));
    if (uniform) { this.destroyLater(uniform); this.otherBytes -= uniformBytes; }
  }

  /**
   * Encodes a program into the current command stream: no op code runs, only the prebuilt pipelines, bind
   * groups and params. `fresh` (the capture's own run) uses the params the capture computed; later replays
   * rerun the host functions and dynamic params in recorded order, as the eager step would have.
   */
  replay(fresh: boolean, cmds: readonly Command[], uniform: GPUBindGroup[] | null): void {
    this.check();
    let n = 0;
    for (const c of cmds) {
      switch (c.kind) {
        case 'dispatch': {
          const pass = this.ensurePass();
          pass.setPipeline(c.pipe);
          pass.setBindGroup(0, c.group!);
          pass.setBindGroup(1, c.slot !== undefined ? uniform![c.slot] : this.uniform(fresh ? c.params : c.dyn!()));
          pass.dispatchWorkgroups(c.wg[0], c.wg[1], c.wg[2]);
          n++;
          break;
        }
        case 'copy': this.ensureEncoder().copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes); break;
        case 'clear': this.ensureEncoder().clearBuffer(c.buffer, c.offset, c.bytes); break;
        case 'host': if (!fresh) c.fn(); break;
        default: break;
      }
    }
    this.dispatches += n;
    this.pending += n + 1;
    if (this.pending >= MAX_PENDING_DISPATCHES) this.flush();
  }

  /** Frees Kiln's own buffers; destroys the device only if Kiln created it. */
  destroy(): void {
    if (!this.lost) this.flush();
    this.encoder = null;
    this.pass = null;
    for (const list of this.pool.values()) list.forEach((b) => b.destroy());
    for (const list of this.stagingPool.values()) list.forEach((b) => b.destroy());
    this.uniformChunks.forEach((c) => c.buffer.destroy());
    this.pool.clear();
    this.stagingPool.clear();
    this.bindGroups.clear();
    this.uniformChunks = [];
    this.asserts.destroy();
    if (this.owned) this.device.destroy();
  }
}
