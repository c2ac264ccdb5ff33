// The one place that talks to a GPUDevice: buffer pool, pipeline cache, and the scheduler that records
// dispatches into a command encoder and submits them in batches (at a readback or an explicit flush).
import { wgslSources, type ShaderName } from './wgsl.gen.js';

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

export class KilnGpuError extends Error {
  constructor(message: string) { super(message); this.name = 'KilnGpuError'; }
}

export class Backend {
  readonly device: GPUDevice;
  readonly adapter: AdapterReport;
  readonly owned: boolean;
  readonly limits: GPUSupportedLimits;
  lost: GPUDeviceLostInfo | null = null;
  /** Validation errors the device raised (only when Kiln owns the device); tests assert this stays empty. */
  readonly gpuErrors: string[] = [];

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
  private uniformChunks: { buffer: GPUBuffer; data: Uint8Array<ArrayBuffer>; group: GPUBindGroup }[] = [];
  private uniformChunk = 0;
  private uniformOffset = 0;
  private afterSubmit: (() => void)[] = [];
  private stagingPool = new Map<number, GPUBuffer[]>();
  /** Objects that must live as long as the device (the GPU instance and adapter in Node). */
  keepAlive: unknown[] = [];
  /** Counts for the memory report, maintained by the tensor layer. */
  liveTensors = 0;
  tensorBytes = 0;
  /** Number of queue submissions so far (for tests of batching). */
  submits = 0;
  dispatches = 0;

  constructor(device: GPUDevice, adapter: AdapterReport, owned: boolean) {
    this.device = device;
    this.adapter = adapter;
    this.owned = owned;
    this.limits = device.limits;
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
      return { buffer, size };
    }
    return { buffer: this.device.createBuffer({ size, usage: STORAGE_USAGE }), size };
  }

  private acquireExact(bytes: number): PooledBuffer {
    const size = Math.ceil(bytes / 4) * 4;
    this.inUseBytes += size;
    return { buffer: this.device.createBuffer({ size, usage: STORAGE_USAGE }), size };
  }

  /** A storage buffer holding `data` (written at creation, so it cannot race recorded work). */
  upload(data: ArrayBufferView): PooledBuffer {
    const bytes = Math.max(4, data.byteLength);
    const size = Math.min(sizeClass(bytes), Math.max(this.limits.maxStorageBufferBindingSize, bytes));
    if (bytes > this.limits.maxStorageBufferBindingSize) {
      throw new KilnGpuError(`kiln: a tensor of ${bytes} bytes exceeds this device's maxStorageBufferBindingSize ` +
        `(${this.limits.maxStorageBufferBindingSize} bytes)`);
    }
    const buffer = this.device.createBuffer({ size, usage: STORAGE_USAGE, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange(0, data.byteLength)).set(
      new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    buffer.unmap();
    this.inUseBytes += size;
    return { buffer, size };
  }

  /** Returns a buffer to the pool. Recorded work that still reads it stays correct: the queue is ordered. */
  release(b: PooledBuffer): void {
    this.inUseBytes -= b.size;
    let list = this.pool.get(b.size);
    if (!list) { list = []; this.pool.set(b.size, list); }
    list.push(b.buffer);
    this.pooledBytes += b.size;
  }

  /** Destroys every pooled (unused) buffer, after the work already recorded has been submitted. */
  trimPool(): void {
    const doomed = [...this.pool.values()].flat();
    this.pool.clear();
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

  /** Group 1 of every kernel: one uniform Params struct, bound with a dynamic offset into a chunk. */
  private paramsLayout(): GPUBindGroupLayout {
    this.uniformLayout ??= this.device.createBindGroupLayout({
      entries: [{ binding: 0, visibility: COMPUTE_STAGE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: PARAMS_BYTES } }],
    });
    return this.uniformLayout;
  }

  /** Group 0's layout read from the shader's declarations: read-only or read-write storage buffers. */
  private layout(shader: ShaderName) {
    let l = this.layouts.get(shader);
    if (l) return l;
    const entries: GPUBindGroupLayoutEntry[] = [];
    const re = /@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g;
    for (const m of wgslSources[shader].matchAll(re)) {
      entries.push({ binding: Number(m[1]), visibility: COMPUTE_STAGE, buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage' } });
    }
    const group0 = this.device.createBindGroupLayout({ entries });
    l = { group0, pipeline: this.device.createPipelineLayout({ bindGroupLayouts: [group0, this.paramsLayout()] }) };
    this.layouts.set(shader, l);
    return l;
  }

  private pipeline(shader: ShaderName, constants: Record<string, number>): GPUComputePipeline {
    const key = shader + JSON.stringify(constants);
    let pipe = this.pipelines.get(key);
    if (pipe) return pipe;
    let module = this.modules.get(shader);
    if (!module) {
      module = this.device.createShaderModule({ code: wgslSources.prelude + '\n' + wgslSources[shader], label: shader });
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

  private bindGroup(shader: ShaderName, buffers: (GPUBuffer | Binding)[]): GPUBindGroup {
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

  /** Copies params into the current uniform chunk; returns the chunk's bind group and the dynamic offset. */
  private uniform(params: ArrayBuffer): { group: GPUBindGroup; offset: number } {
    const align = Math.max(256, this.limits.minUniformBufferOffsetAlignment);
    if (params.byteLength > PARAMS_BYTES) throw new KilnGpuError(`kiln: kernel params of ${params.byteLength} bytes exceed ${PARAMS_BYTES}`);
    if (this.uniformOffset + PARAMS_BYTES > UNIFORM_CHUNK) { this.uniformChunk++; this.uniformOffset = 0; }
    if (this.uniformChunk >= this.uniformChunks.length) {
      const buffer = this.device.createBuffer({ size: UNIFORM_CHUNK, usage: Usage.UNIFORM | Usage.COPY_DST });
      this.otherBytes += UNIFORM_CHUNK;
      const group = this.device.createBindGroup({
        layout: this.paramsLayout(),
        entries: [{ binding: 0, resource: { buffer, offset: 0, size: PARAMS_BYTES } }],
      });
      this.uniformChunks.push({ buffer, data: new Uint8Array(UNIFORM_CHUNK), group });
    }
    const chunk = this.uniformChunks[this.uniformChunk];
    chunk.data.set(new Uint8Array(params), this.uniformOffset);
    const offset = this.uniformOffset;
    this.uniformOffset += Math.ceil(PARAMS_BYTES / align) * align;
    return { group: chunk.group, offset };
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
    params: ArrayBuffer, workgroups: [number, number?, number?]): void {
    this.check();
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const lim = this.limits.maxComputeWorkgroupsPerDimension;
    if (x > lim || y > lim || z > lim) {
      throw new KilnGpuError(`kiln: ${shader} needs ${x}x${y}x${z} workgroups, over this device's limit of ${lim} ` +
        'per dimension');
    }
    const pipe = this.pipeline(shader, constants);
    const g0 = this.bindGroup(shader, buffers);
    const u = this.uniform(params);
    const pass = this.ensurePass();
    pass.setPipeline(pipe);
    pass.setBindGroup(0, g0);
    pass.setBindGroup(1, u.group, [u.offset]);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatches++;
    if (++this.pending >= MAX_PENDING_DISPATCHES) this.flush();
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
    this.ensureEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.pending++;
  }

  /** Zero-fills a range (size a multiple of 4). */
  clear(buffer: GPUBuffer, offset: number, bytes: number): void {
    this.check();
    needUsage(buffer, Usage.COPY_DST, 'COPY_DST', 'zero-filling a tensor');
    if (bytes === 0) return;
    this.ensureEncoder().clearBuffer(buffer, offset, Math.ceil(bytes / 4) * 4);
    this.pending++;
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

  /** Copies `bytes` from `src` back to the CPU. Submits pending work first; awaits the GPU. */
  async read(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    this.check();
    needUsage(src, Usage.COPY_SRC, 'COPY_SRC', 'reading a tensor back');
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const cls = sizeClass(size);
    let staging = this.stagingPool.get(cls)?.pop();
    if (!staging) {
      staging = this.device.createBuffer({ size: cls, usage: Usage.MAP_READ | Usage.COPY_DST });
      this.otherBytes += cls;
    }
    this.ensureEncoder().copyBufferToBuffer(src, offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ, 0, size);
    } catch (e) {
      this.check();
      throw e;
    }
    const out = staging.getMappedRange(0, size).slice(0, bytes);
    staging.unmap();
    let list = this.stagingPool.get(cls);
    if (!list) { list = []; this.stagingPool.set(cls, list); }
    list.push(staging);
    return out;
  }

  /** Resolves when all submitted work has finished. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
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
    if (this.owned) this.device.destroy();
  }
}
