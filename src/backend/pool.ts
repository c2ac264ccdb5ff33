// The buffer pool: every GPUBuffer Kiln creates, storage buffers reused by size class, staging buffers for
// readbacks, and the exact byte accounting behind memory().
import { KilnGpuError } from './errors.js';

/** WebGPU usage flags, spelled out so the library does not depend on the host defining GPUBufferUsage. */
export const Usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;

/** A pooled storage buffer. `size` is the allocated (size-class) byte size. */
export interface PooledBuffer {
  buffer: GPUBuffer;
  size: number;
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

export function sizeClass(bytes: number): number {
  // Powers of two with four steps in between: at most 25% slack, good reuse across nearby sizes.
  const b = Math.max(256, bytes);
  const p = 2 ** Math.floor(Math.log2(b));
  const step = p / 4;
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private free = new Map<number, GPUBuffer[]>();
  private freeSet = new Set<GPUBuffer>();
  private sizes = new WeakMap<GPUBuffer, number>();
  /** Creation order of storage buffers: a free list is kept sorted by it (see putFree). */
  private order = new WeakMap<GPUBuffer, number>();
  private staging = new Map<number, GPUBuffer[]>();
  private dummies: GPUBuffer[] = [];
  pooledBytes = 0;
  inUseBytes = 0;
  otherBytes = 0;
  buffersCreated = 0;

  /** `later(fn)` runs fn once the work recorded so far has been submitted (now, if there is none). */
  constructor(private readonly device: GPUDevice, private readonly limits: GPUSupportedLimits,
    private readonly later: (fn: () => void) => void) {}

  /** Every buffer Kiln creates goes through here, so tests can assert a replayed step allocates nothing. */
  newBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    this.buffersCreated++;
    const buffer = this.device.createBuffer(desc);
    this.order.set(buffer, this.buffersCreated);
    return buffer;
  }

  /** A storage buffer of exactly `size` bytes, counted as in use. */
  create(size: number): GPUBuffer {
    const buffer = this.newBuffer({ size, usage: STORAGE_USAGE });
    this.sizes.set(buffer, size);
    return buffer;
  }

  private tooBig(bytes: number): KilnGpuError {
    return new KilnGpuError(`kiln: a tensor of ${bytes} bytes exceeds this device's maxStorageBufferBindingSize ` +
      `(${this.limits.maxStorageBufferBindingSize} bytes); split the work into smaller tensors`);
  }

  /** A storage buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number): PooledBuffer {
    const max = this.limits.maxStorageBufferBindingSize;
    if (bytes > max) throw this.tooBig(bytes);
    let size = sizeClass(bytes);
    if (size > max) {
      size = Math.ceil(bytes / 4) * 4;
      this.inUseBytes += size;
      return { buffer: this.create(size), size };
    }
    const buffer = this.free.get(size)?.pop();
    this.inUseBytes += size;
    if (buffer) {
      this.pooledBytes -= size;
      this.freeSet.delete(buffer);
      return { buffer, size };
    }
    return { buffer: this.create(size), size };
  }

  /** A new storage buffer holding `data`, written at creation so it cannot race recorded work. */
  upload(data: ArrayBufferView): PooledBuffer {
    const bytes = Math.max(4, data.byteLength);
    const max = this.limits.maxStorageBufferBindingSize;
    if (bytes > max) throw this.tooBig(bytes);
    const size = Math.min(sizeClass(bytes), Math.max(max, bytes));
    const buffer = this.newBuffer({ size, usage: STORAGE_USAGE, mappedAtCreation: true });
    new Uint8Array(buffer.getMappedRange(0, data.byteLength)).set(bytesOf(data));
    buffer.unmap();
    this.sizes.set(buffer, size);
    this.inUseBytes += size;
    return { buffer, size };
  }

  /** A copy-source buffer holding `data` (a captured step's private copy of an upload it made). */
  constant(data: ArrayBufferView): GPUBuffer {
    const src = this.newBuffer({ size: Math.ceil(data.byteLength / 4) * 4, usage: Usage.COPY_SRC, mappedAtCreation: true });
    new Uint8Array(src.getMappedRange(0, data.byteLength)).set(bytesOf(data));
    src.unmap();
    return src;
  }

  /**
   * Returns a buffer to the pool. Recorded work that still reads it stays correct: the queue is ordered.
   * There is no cap per size class: a released buffer destroyed here was created again by the next step,
   * and every bind group that named it had to be created again too (see PipelineCache.bindGroup); eager
   * uploads come from the pool (EagerSink.upload), so the pool never holds more than a loop's peak use.
   * trimMemory() hands the free buffers back.
   */
  release(b: PooledBuffer): void {
    this.inUseBytes -= b.size;
    this.putFree(b.buffer, b.size);
  }

  /**
   * Free lists are sorted so that acquire() always hands out the oldest free buffer of a class. The same
   * sequence of acquires and releases (one eager training step after another) then gets the same buffers every
   * time, so its bind groups are cache hits. With a LIFO list the assignment permuted from step to step and
   * nearly every dispatch created a bind group (2,200 per tiny CycleGAN step).
   */
  private putFree(buffer: GPUBuffer, size: number): void {
    let list = this.free.get(size);
    if (!list) { list = []; this.free.set(size, list); }
    const key = this.order.get(buffer) ?? 0;
    // Descending by creation order, so pop() takes the oldest.
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.order.get(list[mid]) ?? 0) > key) lo = mid + 1; else hi = mid;
    }
    list.splice(lo, 0, buffer);
    this.freeSet.add(buffer);
    this.pooledBytes += size;
  }

  destroyLater(buffer: GPUBuffer): void { this.later(() => buffer.destroy()); }

  /** A new buffer of `size` bytes (a size class) put straight into the pool as free. */
  spare(size: number): GPUBuffer {
    const buffer = this.create(size);
    this.putFree(buffer, size);
    return buffer;
  }

  /** Whether `b` is back in the pool. */
  isFree(b: GPUBuffer): boolean { return this.freeSet.has(b); }

  /** The allocated size of a buffer Kiln created (its own size for app buffers). */
  sizeOf(b: GPUBuffer): number { return this.sizes.get(b) ?? b.size; }

  /** Takes a free buffer out of the pool for a captured step's exclusive use. */
  claim(b: GPUBuffer): void {
    const size = this.sizeOf(b);
    const list = this.free.get(size);
    const i = list ? list.indexOf(b) : -1;
    if (i < 0) throw new KilnGpuError('kiln: internal error: a captured step\'s buffer is not in the pool');
    list!.splice(i, 1);
    this.freeSet.delete(b);
    this.pooledBytes -= size;
    this.inUseBytes += size;
  }

  /** Destroys every free buffer, after the work already recorded has been submitted. */
  trim(): void {
    const doomed = [...this.free.values()].flat();
    this.free.clear();
    this.freeSet.clear();
    this.pooledBytes = 0;
    this.later(() => doomed.forEach((b) => b.destroy()));
  }

  /** A mappable buffer of at least `size` bytes for a readback; give it back with returnStaging. */
  takeStaging(size: number): GPUBuffer {
    const cls = sizeClass(size);
    const b = this.staging.get(cls)?.pop();
    if (b) return b;
    this.otherBytes += cls;
    const buffer = this.newBuffer({ size: cls, usage: Usage.MAP_READ | Usage.COPY_DST });
    this.sizes.set(buffer, cls);
    return buffer;
  }

  returnStaging(b: GPUBuffer): void {
    const cls = this.sizeOf(b);
    let list = this.staging.get(cls);
    if (!list) { list = []; this.staging.set(cls, list); }
    list.push(b);
  }

  /**
   * Small buffers bound where a kernel's optional input is absent. Distinct ones (k = 0, 1, ...): two writable
   * bindings of one buffer in a dispatch are a validation error. They live as long as the device.
   */
  dummy(k = 0): GPUBuffer {
    while (this.dummies.length <= k) this.dummies.push(this.acquire(16).buffer);
    return this.dummies[k];
  }

  /** Destroys the free and staging buffers (the device is going away or being handed back). */
  destroy(): void {
    for (const list of this.free.values()) list.forEach((b) => b.destroy());
    for (const list of this.staging.values()) list.forEach((b) => b.destroy());
    this.free.clear();
    this.freeSet.clear();
    this.staging.clear();
    this.pooledBytes = 0;
  }
}

function bytesOf(data: ArrayBufferView): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
