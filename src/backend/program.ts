// A recorded program: the dispatches, copies and clears of one training step, captured once and replayed
// by re-encoding prebuilt pipelines and bind groups. Also the liveness planner that gives the step's
// intermediate buffers a fixed, shared arena, and build(), which turns a capture's recording into a Program.
import { KilnGpuError } from './errors.js';
import type { PipelineCache } from './pipelines.js';
import type { BufferPool } from './pool.js';
import type { Recording } from './sink.js';
import type { StaticUniforms, Uniforms } from './uniforms.js';

/** One binding of a recorded dispatch, normalised to a full range description. */
export interface RecordedBinding { buffer: GPUBuffer; offset?: number; size?: number }

export interface DispatchCommand {
  kind: 'dispatch';
  /** The kernel: a shader in shaders/, or a generated kernel's key (`label#n`, see PipelineCache.source). */
  shader: string;
  pipe: GPUComputePipeline;
  bindings: RecordedBinding[];
  /** Which bindings the kernel may write (read_write storage). */
  writes: readonly boolean[];
  /** The params the capture ran with; `dyn` recomputes them (and any host state) at each replay. */
  params: ArrayBuffer; dyn?: () => ArrayBuffer;
  wg: [number, number, number];
  /** What a rewriting pass may fuse (set by launchers of generated pointwise kernels; opaque here). */
  fuse?: unknown;
  /** The pipeline's override constants (a rewriting pass rebuilding the kernel needs them). */
  constants?: Record<string, number>;
  /** Filled in when the program is finalised. */
  group?: GPUBindGroup; slot?: number;
}

export type Command =
  | DispatchCommand
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; bytes: number }
  | { kind: 'clear'; buffer: GPUBuffer; offset: number; bytes: number }
  /** Host state a replay must advance the way the eager code did (a step counter, an RNG offset). */
  | { kind: 'host'; fn: () => void }
  /** Not replayed: marks where the capture returned a buffer to the pool, so liveness can split its uses. */
  | { kind: 'release'; buffer: GPUBuffer };

/** What the planner reports and the program holds. */
export interface ProgramMemory {
  /** Intermediate buffers as the eager pool allocated them during the capture (bytes). */
  eagerTransientBytes: number;
  /** The planned arena that replaces them (bytes); no allocation happens on replay. */
  arenaBytes: number;
  /** Buffers the step reads or writes that live outside it: parameters, optimizer state, inputs, outputs. */
  persistentBytes: number;
  /** Buffers read before written and freed inside the step (values captured at capture time), and
   * constant sources of uploads made inside the step. */
  constantBytes: number;
  /** arena + persistent + constants: the most GPU memory one replay touches. */
  peakBytes: number;
}

interface Segment { buffer: GPUBuffer; first: number; last: number; size: number }

/**
 * Assigns each transient segment (a stretch of a buffer's life between the capture acquiring and releasing
 * it) a physical buffer of the same size class, sharing buffers between segments whose command ranges do
 * not overlap. `free(b)` tells whether a buffer was back in the pool when the capture ended; `size(b)` gives
 * its size class. Returns the mapping per command index and what stays fixed.
 */
export function planBuffers(cmds: readonly Command[], free: (b: GPUBuffer) => boolean, size: (b: GPUBuffer) => number,
  create: (size: number) => GPUBuffer) {
  // Walk the commands once, cutting each buffer's uses into segments at the capture's releases.
  const open = new Map<GPUBuffer, Segment & { readFirst: boolean; index: number }>();
  const segments: (Segment & { readFirst: boolean; index: number })[] = [];
  const fixed = new Set<GPUBuffer>();
  /** The segment each (command, buffer) access belongs to. */
  const accessSeg = new Map<number, Map<GPUBuffer, number>>();
  const touch = (i: number, b: GPUBuffer, write: boolean) => {
    let s = open.get(b);
    if (!s) {
      s = { buffer: b, first: i, last: i, size: size(b), readFirst: !write, index: segments.length };
      segments.push(s);
      open.set(b, s);
    }
    s.last = i;
    let m = accessSeg.get(i);
    if (!m) { m = new Map(); accessSeg.set(i, m); }
    m.set(b, s.index);
  };
  cmds.forEach((c, i) => {
    if (c.kind === 'dispatch') {
      // Reads first, so a buffer bound both ways in one dispatch (not allowed by WebGPU anyway) reads first.
      c.bindings.forEach((b, j) => { if (!c.writes[j]) touch(i, b.buffer, false); });
      c.bindings.forEach((b, j) => { if (c.writes[j]) touch(i, b.buffer, true); });
    } else if (c.kind === 'copy') {
      touch(i, c.src, false);
      touch(i, c.dst, true);
    } else if (c.kind === 'clear') {
      touch(i, c.buffer, true);
    } else if (c.kind === 'release') {
      open.delete(c.buffer);
    }
  });
  // A segment that starts with a read sees data from outside the step: keep its buffer as it is.
  for (const s of segments) if (s.readFirst || !free(s.buffer)) fixed.add(s.buffer);
  const physicalOf = new Map<number, GPUBuffer>();
  const bySize = new Map<number, { buffer: GPUBuffer; busyUntil: number }[]>();
  const transient = segments.filter((s) => !fixed.has(s.buffer)).sort((a, b) => a.first - b.first);
  const eager = new Set<GPUBuffer>();
  const used = new Set<GPUBuffer>();
  const created: GPUBuffer[] = [];
  // Candidates for new physical buffers: the capture's own transient buffers, then fresh ones.
  const spare = new Map<number, GPUBuffer[]>();
  for (const s of transient) {
    if (eager.has(s.buffer)) continue;
    eager.add(s.buffer);
    let l = spare.get(s.size);
    if (!l) { l = []; spare.set(s.size, l); }
    l.push(s.buffer);
  }
  for (const s of transient) {
    let list = bySize.get(s.size);
    if (!list) { list = []; bySize.set(s.size, list); }
    // Strictly after: two segments sharing a command must not share a buffer.
    let p = list.find((x) => x.busyUntil < s.first);
    if (!p) {
      let buffer = used.has(s.buffer) ? undefined : s.buffer;
      const l = spare.get(s.size)!;
      while (!buffer && l.length) { const b = l.pop()!; if (!used.has(b)) buffer = b; }
      if (!buffer) { buffer = create(s.size); created.push(buffer); }
      used.add(buffer);
      p = { buffer, busyUntil: -1 };
      list.push(p);
    }
    p.busyUntil = s.last;
    physicalOf.set(s.index, p.buffer);
  }
  const arena = [...bySize.values()].flat().map((p) => p.buffer);
  /** The buffer to use for `b` at command `i`. */
  const map = (i: number, b: GPUBuffer): GPUBuffer => {
    const seg = accessSeg.get(i)?.get(b);
    return seg === undefined ? b : physicalOf.get(seg) ?? b;
  };
  let eagerTransientBytes = 0;
  for (const b of eager) eagerTransientBytes += size(b);
  return { map, arena, fixed, created, eagerTransientBytes };
}

export const OP_DISPATCH = 0, OP_COPY = 1, OP_CLEAR = 2, OP_HOST = 3;

/**
 * One command of a finalised program, flattened for replay: one class (every field set), so the replay loop
 * reads monomorphic objects and allocates nothing. Dispatches carry their bind groups (`uniform`: the static
 * params' slot; null where `dyn` recomputes the params at each replay).
 */
export class ReplayOp {
  constructor(
    readonly kind: number,
    readonly pipe: GPUComputePipeline | null,
    readonly group: GPUBindGroup | null,
    readonly uniform: GPUBindGroup | null,
    readonly params: ArrayBuffer | null,
    readonly dyn: (() => ArrayBuffer) | null,
    readonly x: number, readonly y: number, readonly z: number,
    readonly src: GPUBuffer | null, readonly srcOffset: number,
    readonly dst: GPUBuffer | null, readonly dstOffset: number, readonly bytes: number,
    readonly fn: (() => void) | null,
  ) {}

  /** The replay form of a finalised command (null for commands a replay skips). */
  static of(c: Command, uniform: readonly GPUBindGroup[] | null): ReplayOp | null {
    switch (c.kind) {
      case 'dispatch': {
        const u = c.slot !== undefined ? uniform![c.slot] : null;
        if (!u && !c.dyn) throw new KilnGpuError(`kiln: ${c.shader}: a recorded dispatch has neither static nor dynamic params`);
        return new ReplayOp(OP_DISPATCH, c.pipe, c.group!, u, c.params, c.dyn ?? null, c.wg[0], c.wg[1], c.wg[2], null, 0, null, 0, 0, null);
      }
      case 'copy': return new ReplayOp(OP_COPY, null, null, null, null, null, 0, 0, 0, c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes, null);
      case 'clear': return new ReplayOp(OP_CLEAR, null, null, null, null, null, 0, 0, 0, null, 0, c.buffer, c.offset, c.bytes, null);
      case 'host': return new ReplayOp(OP_HOST, null, null, null, null, null, 0, 0, 0, null, 0, null, 0, 0, c.fn);
      default: return null;
    }
  }
}

/** What a Program needs from the backend that built it. */
export interface ProgramHost {
  /** Encodes the commands into the current stream (throws if the device is gone or a capture is open). */
  replay(fresh: boolean, ops: readonly ReplayOp[]): void;
  /** Gives a program's buffers back (see Program.invalidate). */
  releaseProgram(p: Program, owned: GPUBuffer[], pinned: GPUBuffer[], constants: GPUBuffer[], uniform: StaticUniforms | null): void;
}

/** A captured step (see compileStep): replay it with run(); it holds its arena until disposed. */
export class Program {
  valid = true;
  invalidReason = '';
  readonly dispatchCount: number;
  /** Commands one replay encodes, by kernel (generated kernels by label) and 'copy' / 'clear'. */
  readonly kernels: Record<string, number> = {};
  /** The commands as a replay encodes them. */
  readonly ops: readonly ReplayOp[];

  constructor(private readonly host: ProgramHost, private readonly cmds: Command[], readonly memory: ProgramMemory,
    private readonly uniform: StaticUniforms | null, private readonly owned: GPUBuffer[],
    readonly pinned: GPUBuffer[], private readonly constants: GPUBuffer[]) {
    this.dispatchCount = cmds.filter((c) => c.kind === 'dispatch').length;
    for (const c of cmds) {
      if (c.kind === 'host') continue;
      const name = c.kind === 'dispatch' ? c.shader.split('#')[0] : c.kind;
      this.kernels[name] = (this.kernels[name] ?? 0) + 1;
    }
    const ops: ReplayOp[] = [];
    for (const c of cmds) { const op = ReplayOp.of(c, uniform?.groups ?? null); if (op) ops.push(op); }
    this.ops = ops;
  }

  /** Encodes one run of the step. */
  run(fresh: boolean): void {
    if (!this.valid) throw new KilnGpuError(`kiln: this captured step is no longer valid (${this.invalidReason}); capture it again`);
    this.host.replay(fresh, this.ops);
  }

  /** Gives the arena back to the pool and unpins; later run() calls throw. */
  invalidate(reason: string): void {
    if (!this.valid) return;
    this.valid = false;
    this.invalidReason = reason;
    this.host.releaseProgram(this, this.owned, this.pinned, this.constants, this.uniform);
  }
}

/**
 * Turns a capture's recording into a program: intermediate buffers get a planned arena (taken out of the
 * pool, so nothing else can write them), bind groups and a uniform buffer of the static params are built
 * once. The caller pins `program.pinned`, the buffers the step uses in place.
 */
export function buildProgram(host: ProgramHost, rec: Recording, pool: BufferPool, pipelines: PipelineCache, uniforms: Uniforms): Program {
  const { commands: all, constants } = rec;
  const plan = planBuffers(all, (b) => pool.isFree(b), (b) => pool.sizeOf(b), (size) => pool.create(size));
  const owned = new Set<GPUBuffer>(plan.arena);
  for (const b of plan.fixed) if (pool.isFree(b)) owned.add(b);
  const created = new Set(plan.created);
  for (const b of owned) {
    if (created.has(b)) pool.inUseBytes += pool.sizeOf(b);
    else pool.claim(b);
  }
  const referenced = new Set<GPUBuffer>();
  const cmds: Command[] = [];
  const staticParams: ArrayBuffer[] = [];
  all.forEach((c, i) => {
    if (c.kind === 'release') return;
    if (c.kind === 'dispatch') {
      const bindings = c.bindings.map((b) => ({ ...b, buffer: plan.map(i, b.buffer) }));
      bindings.forEach((b) => referenced.add(b.buffer));
      const slot = c.dyn ? undefined : staticParams.push(c.params) - 1;
      cmds.push({ ...c, bindings, group: pipelines.bindGroup(c.shader, bindings), slot });
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
  const uniform = staticParams.length > 0 ? uniforms.fixed(staticParams) : null;
  const bytesOf = (bs: Iterable<GPUBuffer>) => { let n = 0; for (const b of bs) n += pool.sizeOf(b); return n; };
  const arenaBytes = bytesOf(plan.arena);
  const persistentBytes = bytesOf(pinned);
  const constantBytes = bytesOf([...owned].filter((b) => !plan.arena.includes(b))) + bytesOf(constants);
  const memory: ProgramMemory = {
    eagerTransientBytes: plan.eagerTransientBytes, arenaBytes, persistentBytes, constantBytes,
    peakBytes: arenaBytes + persistentBytes + constantBytes,
  };
  return new Program(host, cmds, memory, uniform, [...owned], pinned, constants);
}
