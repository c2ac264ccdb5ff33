// Pipelines and bind groups: compute pipelines cached by kernel and override constants, for the named
// kernels in shaders/ and for generated WGSL registered under a cache key; group 0's layout read from the
// kernel's declarations; bind groups cached by (kernel, buffers).
import { wgslSources, type ShaderName } from './wgsl.gen.js';
import { KilnGpuError } from './errors.js';

/** Well under the ~62,000 live bind groups at which lavapipe ran out of memory mappings (see bindGroups). */
const BIND_GROUP_CACHE = 32768;
const COMPUTE_STAGE = 0x4;

/** One binding of a dispatch: a buffer, optionally a sub-range. */
export interface Binding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

/** A kernel as the pipeline cache knows it. */
interface Kernel {
  group0: GPUBindGroupLayout;
  layout: GPUPipelineLayout;
  module: GPUShaderModule;
  /** Which group-0 bindings are read_write storage. */
  writes: boolean[];
}

/** A pipeline and what a recording needs to know about its kernel. */
export interface Pipeline { pipe: GPUComputePipeline; writes: readonly boolean[] }

export class PipelineCache {
  private kernels = new Map<string, Kernel>();
  /** Generated WGSL by key, and the key of each source (see source()). */
  private generated = new Map<string, string>();
  private keys = new Map<string, string>();
  private pipelines = new Map<string, Pipeline>();
  /**
   * Bind groups by (kernel layout, buffers). Pooled buffers recur step after step (the pool hands out the
   * oldest free buffer, so a repeated step gets the same ones), so a training loop reuses the same few
   * thousand bind groups instead of creating two per dispatch. This bounds native memory, not only JavaScript
   * time: Dawn frees a bind group only after its JS wrapper is garbage-collected and finalized, which never
   * happens while a loop runs without yielding to the event loop, and lavapipe backs every descriptor set with
   * its own memory mapping. Measured: a tiny eager CycleGAN step (2,400 dispatches) made 2,200 new bind groups
   * per step, and after ~62,000 the process met vm.max_map_count (65,530) and segfaulted inside
   * vkCreateDescriptorPool, at the 29th step without a readback. Clearing the cache frees nothing by itself.
   */
  private bindGroups = new Map<string, GPUBindGroup>();
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextBufferId = 1;
  bindGroupsCreated = 0;

  constructor(private readonly device: GPUDevice, private readonly paramsLayout: GPUBindGroupLayout) {}

  /**
   * Registers generated WGSL and returns the key to dispatch it with: the source itself is the cache key, and
   * its short name is `label#n` (label names the kernel in compileStep's stats, e.g. 'fused' or
   * 'matmul+epilogue'). The same source always gets the same key.
   */
  source(label: string, code: string): string {
    let key = this.keys.get(code);
    if (!key) {
      key = `${label}#${this.keys.size}`;
      this.keys.set(code, key);
      this.generated.set(key, code);
    }
    return key;
  }

  private code(name: string): string {
    const src = this.generated.get(name) ?? (wgslSources as Record<string, string>)[name];
    if (src === undefined) throw new KilnGpuError(`kiln: unknown kernel '${name}'`);
    return src;
  }

  private kernel(name: string): Kernel {
    let k = this.kernels.get(name);
    if (k) return k;
    const src = this.code(name);
    const entries: GPUBindGroupLayoutEntry[] = [];
    const writes: boolean[] = [];
    const re = /@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>/g;
    for (const m of src.matchAll(re)) {
      entries.push({ binding: Number(m[1]), visibility: COMPUTE_STAGE, buffer: { type: m[2] === 'read' ? 'read-only-storage' : 'storage' } });
      writes[Number(m[1])] = m[2] !== 'read';
    }
    const group0 = this.device.createBindGroupLayout({ entries });
    // `enable` directives must open the module, so they go ahead of the prelude.
    const enables = src.match(/^(\s*enable [^;]+;\s*)+/)?.[0] ?? '';
    const module = this.device.createShaderModule({ code: enables + wgslSources.prelude + '\n' + src.slice(enables.length), label: name });
    k = { group0, layout: this.device.createPipelineLayout({ bindGroupLayouts: [group0, this.paramsLayout] }), module, writes };
    this.kernels.set(name, k);
    return k;
  }

  /** The pipeline of kernel `name` (a ShaderName or a key from source()) with these override constants. */
  pipeline(name: ShaderName | string, constants: Record<string, number>): Pipeline {
    const key = name + JSON.stringify(constants);
    let p = this.pipelines.get(key);
    if (p) return p;
    const k = this.kernel(name);
    const pipe = this.device.createComputePipeline({ layout: k.layout, compute: { module: k.module, entryPoint: 'main', constants }, label: key });
    p = { pipe, writes: k.writes };
    this.pipelines.set(key, p);
    return p;
  }

  private bufferId(b: GPUBuffer): number {
    let id = this.bufferIds.get(b);
    if (id === undefined) { id = this.nextBufferId++; this.bufferIds.set(b, id); }
    return id;
  }

  /** Group 0 of a dispatch of `name` over `buffers` (bound in order), cached. */
  bindGroup(name: string, buffers: readonly (GPUBuffer | Binding)[]): GPUBindGroup {
    let key = name;
    for (const b of buffers) {
      key += 'buffer' in b ? `|${this.bufferId(b.buffer)}@${b.offset ?? 0}+${b.size ?? ''}` : `|${this.bufferId(b)}`;
    }
    let g = this.bindGroups.get(key);
    if (g) return g;
    if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
    const k = this.kernel(name);
    // A launcher binding more or fewer buffers than its shader declares would only surface as an uncaptured
    // validation error that drops the whole command buffer: refuse it here, naming the kernel.
    if (buffers.length !== k.writes.length) {
      throw new KilnGpuError(`kiln: kernel '${name}' declares ${k.writes.length} storage bindings but was given ${buffers.length} buffers`);
    }
    g = this.device.createBindGroup({
      layout: k.group0,
      entries: buffers.map((b, i) => ({ binding: i, resource: 'buffer' in b ? b : { buffer: b } })),
    });
    this.bindGroupsCreated++;
    this.bindGroups.set(key, g);
    return g;
  }

  /** Drops cached bind groups (their buffers are being destroyed). */
  clearBindGroups(): void { this.bindGroups.clear(); }
}
