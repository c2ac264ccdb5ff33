// A recorded program: the dispatches, copies and clears of one training step, captured once and replayed
// by re-encoding prebuilt pipelines and bind groups. Also the liveness planner that gives the step's
// intermediate buffers a fixed, shared arena.
import type { ShaderName } from './wgsl.gen.js';

/** One binding of a recorded dispatch, normalised to a full range description. */
export interface RecordedBinding { buffer: GPUBuffer; offset?: number; size?: number }

export type Command =
  | {
    kind: 'dispatch'; shader: ShaderName; pipe: GPUComputePipeline; bindings: RecordedBinding[];
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
