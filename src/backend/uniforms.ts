// Uniforms: each kernel's Params struct (group 1, binding 0). ParamWriter packs one; eager dispatches take a
// slot of a chunked ring that is written to the GPU once per submit; a captured step gets its own buffer of
// static slots, written once.
import type { BufferPool } from './pool.js';
import { Usage } from './pool.js';

const UNIFORM_CHUNK = 64 * 1024;
/** Bytes bound for each kernel's Params struct (the largest is 144). */
export const PARAMS_BYTES = 256;
const COMPUTE_STAGE = 0x4;

/** Scratch for turning an f32 into its bits. */
const F32 = new Float32Array(1);
const F32_BITS = new Uint32Array(F32.buffer);

/** Builds a uniform Params struct with WGSL layout rules (4-byte scalars, 16-byte aligned arrays/vec4). */
export class ParamWriter {
  /** The struct's words as u32 bits (f32s converted as they come); the first `n` are written. */
  private words: number[] = [];
  private n = 0;
  private out: Uint32Array<ArrayBuffer> | null = null;
  private push(x: number): void { this.words[this.n++] = x; }
  u32(...v: number[]): this { for (let i = 0; i < v.length; i++) this.push(v[i] >>> 0); return this; }
  f32(...v: number[]): this {
    for (let i = 0; i < v.length; i++) { F32[0] = v[i]; this.push(F32_BITS[0]); }
    return this;
  }
  /** Pads to the next 16-byte boundary (what a vec4 or array<vec4> field requires). */
  align16(): this { while (this.n % 4) this.push(0); return this; }
  /** A u32 array of `slots` entries (a multiple of 4) starting on a 16-byte boundary. */
  u32Array(values: readonly number[], slots: number): this {
    this.align16();
    for (let i = 0; i < slots; i++) this.push((values[i] ?? 0) >>> 0);
    return this;
  }
  /** The block written so far (padded to 16 bytes). A writer refilled after reset() hands back the same
   * ArrayBuffer when the size is unchanged (a dynamic-params function's, rebuilt at every replay without
   * allocating): its consumers copy it at once. */
  bytes(): ArrayBuffer {
    this.align16();
    const n = this.n;
    if (this.out?.length !== n) this.out = new Uint32Array(n);
    const out = this.out;
    for (let i = 0; i < n; i++) out[i] = this.words[i];
    return out.buffer;
  }
  /** Empties the writer for refilling (its storage and output buffer are reused). */
  reset(): this { this.n = 0; return this; }
}

/** A uniform buffer of static Params slots and a bind group per slot (a captured step's). */
export interface StaticUniforms { buffer: GPUBuffer; groups: GPUBindGroup[] }

export class Uniforms {
  /**
   * Group 1 of every kernel: one uniform Params struct at a fixed offset, one bind group per slot of a chunk.
   * Not a dynamic offset: on lavapipe a dispatch with a dynamic offset cost about twice one without (55-80
   * vs 26-36 µs for a 1-workgroup relu, measured back to back), and tiny dispatches are most of a small step.
   */
  readonly layout: GPUBindGroupLayout;
  readonly stride: number;
  private chunks: { buffer: GPUBuffer; data: Uint8Array<ArrayBuffer>; groups: GPUBindGroup[] }[] = [];
  private chunk = 0;
  private offset = 0;

  constructor(private readonly device: GPUDevice, private readonly pool: BufferPool) {
    this.layout = device.createBindGroupLayout({
      entries: [{ binding: 0, visibility: COMPUTE_STAGE, buffer: { type: 'uniform', minBindingSize: PARAMS_BYTES } }],
    });
    const align = Math.max(256, device.limits.minUniformBufferOffsetAlignment);
    this.stride = Math.ceil(PARAMS_BYTES / align) * align;
  }

  /** Bind groups for every PARAMS_BYTES slot of a uniform buffer (slot i at offset i * stride). */
  private slotGroups(buffer: GPUBuffer, slots: number): GPUBindGroup[] {
    return Array.from({ length: slots }, (_, i) => this.device.createBindGroup({
      layout: this.layout, entries: [{ binding: 0, resource: { buffer, offset: i * this.stride, size: PARAMS_BYTES } }],
    }));
  }

  /** Copies params into the next slot of the ring; returns the slot's bind group (valid until the submit). */
  slot(params: ArrayBuffer | Uint8Array): GPUBindGroup {
    if (this.offset + PARAMS_BYTES > UNIFORM_CHUNK) { this.chunk++; this.offset = 0; }
    if (this.chunk >= this.chunks.length) {
      const buffer = this.pool.newBuffer({ size: UNIFORM_CHUNK, usage: Usage.UNIFORM | Usage.COPY_DST });
      this.pool.otherBytes += UNIFORM_CHUNK;
      this.chunks.push({ buffer, data: new Uint8Array(UNIFORM_CHUNK), groups: this.slotGroups(buffer, Math.floor(UNIFORM_CHUNK / this.stride)) });
    }
    const c = this.chunks[this.chunk];
    c.data.set(params instanceof Uint8Array ? params : new Uint8Array(params), this.offset);
    const slot = this.offset / this.stride;
    this.offset += this.stride;
    return c.groups[slot];
  }

  /** Writes the slots used since the last submit into their buffers (ahead of the submit) and rewinds. */
  writeUsed(queue: GPUQueue): void {
    for (let i = 0; i <= this.chunk && i < this.chunks.length; i++) {
      const c = this.chunks[i];
      const used = i < this.chunk ? UNIFORM_CHUNK : this.offset;
      if (used > 0) queue.writeBuffer(c.buffer, 0, c.data, 0, used);
    }
    this.chunk = 0;
    this.offset = 0;
  }

  /** A buffer holding `params[i]` at slot i, written once (a captured step's static params). */
  fixed(params: ArrayBuffer[]): StaticUniforms {
    const bytes = params.length * this.stride;
    const buffer = this.pool.newBuffer({ size: bytes, usage: Usage.UNIFORM | Usage.COPY_DST, mappedAtCreation: true });
    const data = new Uint8Array(buffer.getMappedRange());
    params.forEach((p, i) => data.set(new Uint8Array(p), i * this.stride));
    buffer.unmap();
    this.pool.otherBytes += bytes;
    return { buffer, groups: this.slotGroups(buffer, params.length) };
  }

  /** Frees a buffer made by fixed(). */
  freeFixed(u: StaticUniforms): void {
    this.pool.destroyLater(u.buffer);
    this.pool.otherBytes -= u.buffer.size;
  }

  destroy(): void {
    this.chunks.forEach((c) => c.buffer.destroy());
    this.chunks = [];
  }
}
