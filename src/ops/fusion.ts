// compileStep's fusion pass: rewrites a captured step's commands so that chains of pointwise launches
// (unary, binary, where, activation and loss gradients, expand, scale/shift) become one generated kernel per
// group. A group writes only the values still alive when it ends (read later by another kernel, a copy, or
// never released by the capture: outputs, parameters); intermediates released inside the group are never
// stored, so the liveness planner never sees their buffers and the arena shrinks.
//
// Why on the recorded commands rather than on lazy tensors: the capture already is the step's op graph with
// exact lifetimes (the release commands), so fusion needs no pending state in Tensor and eager execution
// stays as it is. A group is emitted where it is closed; commands in between that neither read nor write its
// buffers keep their place, so the move is safe.
import type { Backend } from '../backend/backend.js';
import type { Command, RecordedBinding } from '../backend/program.js';
import type { PointwiseWork, ReduceWork, StoreWork } from './kernels.js';
import type { ShaderName } from '../backend/wgsl.gen.js';
import { wgslSources } from '../backend/wgsl.gen.js';
import { assemble, bakedIndex, coordDecls, renameOperands } from './pointwise.js';
import { contiguousStrides } from './shape.js';
import { bindingBytes, touchedBytes } from './fusion_group.js';

type Dispatch = Extract<Command, { kind: 'dispatch' }>;

interface Value { member: number; binding: RecordedBinding; dropped: boolean }

class Group {
  readonly cmds: Dispatch[] = [];
  readonly lines: string[] = [];
  readonly loads: { key: string; binding: RecordedBinding; index: string }[] = [];
  readonly values = new Map<string, Value>();
  readonly coords = new Set<number>();
  readonly deferred: Command[] = [];
  constructor(readonly shape: number[]) {}

  /** Buffers the fused kernel would bind: external inputs and values not yet dropped. */
  bound(): Set<GPUBuffer> {
    const s = new Set(this.loads.map((l) => l.binding.buffer));
    for (const v of this.values.values()) if (!v.dropped) s.add(v.binding.buffer);
    return s;
  }

  live(): Value[] { return [...this.values.values()].filter((v) => !v.dropped); }
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
const isIdentity = (strides: readonly number[], shape: readonly number[]) => {
  const c = contiguousStrides(shape);
  return strides.every((s, d) => s === c[d] || shape[d] === 1);
};

/** What a capture's fusion pass reports (for tests and statistics). */
export interface FusionReport { groups: number; fusedLaunches: number; droppedValues: number; epilogues: number; reductions: number }

/** One place a heavy kernel writes its results through: `fn <fn>(i, v)` storing into `<name>[i]`. */
interface Site { fn: string; name: string; /** binding */ out: number; numel: number; fused: boolean }

/** A heavy kernel's state under rewriting (kept in the command's `fuse` field, so later folds continue it). */
interface Heavy {
  base: ShaderName; src: string; constants: Record<string, number>; sites: Site[]; folds: number;
  rowSum?: StoreWork['rowSum'];
}

/**
 * A zero the WGSL compiler cannot see through: the first u32 field of the kernel's Params shifted right by
 * 31 (every such field is a size or a count below 2^31; a fused pointwise kernel's Params are all zero).
 */
function opaqueZero(src: string): string {
  const field = /struct Params\s*\{[^}]*?(\w+)\s*:\s*u32/.exec(src)?.[1];
  if (!field) throw new Error('fusion: kernel has no u32 field in its Params');
  return `(p.${field} >> 31u)`;
}

/**
 * Makes an expression's baked scalars opaque to the compiler. An eager launch reads its scalars from a
 * uniform, so its compiler cannot fold them; with literals, a fused kernel's compiler would (reassociating
 * g * c1 * c2 into g * (c1 * c2), for instance) and round differently from the eager ops. Each value a line
 * computes goes through the same opaque OR, so the compiler cannot contract or reassociate across lines either
 * (x + (g * d + g * d) rounded once as an fma, say, where the eager kernels round after every op).
 */
function opaqueScalars(line: string, zero: string): string {
  const l = line.replace(/bitcast<f32>\(0x([0-9a-f]+)u\)/g, (_, h: string) => `bitcast<f32>(0x${h}u | ${zero})`);
  return l.replace(/^let (v\d+) = (.*);$/, (_, v: string, e: string) => `let ${v} = bitcast<f32>(bitcast<u32>(${e}) | ${zero});`);
}

/** The name a kernel's source gives storage binding `at` of group 0 declared with `access` (undefined if none). */
function bindingName(src: string, at: number, access: 'read' | 'read_write'): string | undefined {
  return new RegExp(`@binding\\(${at}\\) var<storage, ${access}> (\\w+)`).exec(src)?.[1];
}

/** Replaces the body of `fn <name>(i: u32, v: f32)` in a kernel's source. */
function replaceFn(src: string, name: string, body: string[]): string {
  const re = new RegExp(`fn ${name}\\(i: u32, v: f32\\) \\{[^}]*\\}`);
  if (!re.test(src)) throw new Error(`fusion: kernel has no fn ${name}(i: u32, v: f32)`);
  return src.replace(re, () => `fn ${name}(i: u32, v: f32) {\n${body.map((l) => `  ${l}`).join('\n')}\n}`);
}

/** A command as a heavy kernel whose stores may take epilogues (null for anything else). */
function heavyOf(c: Command): Heavy | null {
  if (c.kind !== 'dispatch' || c.dyn || !c.fuse) return null;
  const f = c.fuse as Partial<Heavy & StoreWork>;
  if (f.sites) return f as Heavy;
  if (f.store === undefined || f.out === undefined || f.numel === undefined) return null;
  // A launcher may have generated the source with an epilogue in place (f.wgsl), storing plainly in f.fn.
  const src: string = f.wgsl ?? wgslSources[f.store];
  const site = (fn: string, at: number, numel: number): Site => {
    const name = bindingName(src, at, 'read_write');
    if (!name) throw new Error(`fusion: ${f.store} has no writable binding ${at}`);
    return { fn, name, out: at, numel, fused: false };
  };
  return {
    base: f.store, src, constants: { ...c.constants }, folds: 0, rowSum: f.rowSum,
    sites: [site(f.fn ?? 'store', f.out, f.numel), ...(f.more ?? []).map((m) => site(m.fn, m.out, m.numel))],
  };
}

/**
 * Largest value renameSegments moves out of its pool buffer. A renamed value that fusion moves across its
 * old neighbours needs arena space of its own; for weight-sized values that outweighs a saved dispatch
 * (measured with scripts/dispatch_counts.ts: renaming everything took the MLP GAN's arena from 9.0 to 15.3 MB
 * for 3 dispatches; up to 1 MiB it costs 0.5 MB there and nothing on the Gaussian and DCGAN steps).
 */
const RENAME_MAX_BYTES = 1 << 20;

/**
 * Gives every transient value of the capture up to RENAME_MAX_BYTES (written first, released later) a stand-in buffer of its own:
 * the eager pool hands a released buffer to the next allocation, which makes a value and an unrelated later
 * one look dependent and blocks folds across them. `resolveSegments` maps the stand-ins back afterwards.
 */
export function renameSegments(cmds: Command[]): { cmds: Command[]; origin: Map<GPUBuffer, GPUBuffer> } {
  const releaseAt = new Map<GPUBuffer, number[]>();
  cmds.forEach((c, i) => { if (c.kind === 'release') (releaseAt.get(c.buffer) ?? releaseAt.set(c.buffer, []).get(c.buffer)!).push(i); });
  const origin = new Map<GPUBuffer, GPUBuffer>();
  const current = new Map<GPUBuffer, GPUBuffer>();
  const open = new Set<GPUBuffer>();
  const name = (b: GPUBuffer, i: number, write: boolean): GPUBuffer => {
    if (!open.has(b)) {
      open.add(b);
      // A new segment: renamed when it starts with a write and ends with a release.
      const ends = write && b.size <= RENAME_MAX_BYTES && (releaseAt.get(b) ?? []).some((r) => r > i);
      const id = ends ? ({ size: b.size, label: 'stand-in' } as GPUBuffer) : b;
      if (ends) origin.set(id, b);
      current.set(b, id);
    }
    return current.get(b)!;
  };
  const out = cmds.map((c, i): Command => {
    if (c.kind === 'dispatch') {
      // Reads first, as the planner orders them.
      const bindings = c.bindings.map((b) => ({ ...b }));
      c.bindings.forEach((b, j) => { if (!c.writes[j]) bindings[j].buffer = name(b.buffer, i, false); });
      c.bindings.forEach((b, j) => { if (c.writes[j]) bindings[j].buffer = name(b.buffer, i, true); });
      return { ...c, bindings };
    }
    if (c.kind === 'copy') {
      const src = name(c.src, i, false);
      return { ...c, src, dst: name(c.dst, i, true) };
    }
    if (c.kind === 'clear') return { ...c, buffer: name(c.buffer, i, true) };
    if (c.kind === 'release') {
      const buffer = open.has(c.buffer) ? current.get(c.buffer)! : c.buffer;
      open.delete(c.buffer);
      return { ...c, buffer };
    }
    return c;
  });
  return { cmds: out, origin };
}

/**
 * Puts each stand-in of renameSegments back into its original buffer where the rewritten order still keeps
 * it apart from that buffer's other values (so the memory plan keeps the sharing the pool found), and into
 * a fresh pool buffer (`spare`) where fusion moved work across.
 */
export function resolveSegments(cmds: Command[], origin: Map<GPUBuffer, GPUBuffer>, spare: (size: number) => GPUBuffer): Command[] {
  const span = new Map<GPUBuffer, [number, number]>();
  const see = (b: GPUBuffer, i: number) => {
    const s = span.get(b);
    if (s) s[1] = i; else span.set(b, [i, i]);
  };
  cmds.forEach((c, i) => {
    if (c.kind === 'dispatch') c.bindings.forEach((b) => see(b.buffer, i));
    else if (c.kind === 'copy') { see(c.src, i); see(c.dst, i); }
    else if (c.kind === 'clear' || c.kind === 'release') see(c.buffer, i);
  });
  // Intervals already taken in each original buffer (its own, un-renamed uses first).
  const taken = new Map<GPUBuffer, [number, number][]>();
  const takenOf = (b: GPUBuffer) => taken.get(b) ?? taken.set(b, []).get(b)!;
  // A buffer the capture does not release at its last use (a step output, a parameter) holds its value past
  // the end of the step: taken to the end, even where rewrites removed its last access (a copy into it).
  const lastIsRelease = new Set<GPUBuffer>();
  cmds.forEach((c, i) => { if (c.kind === 'release' && span.get(c.buffer)?.[1] === i) lastIsRelease.add(c.buffer); });
  for (const [b, s] of span) if (!origin.has(b)) takenOf(b).push(lastIsRelease.has(b) ? s : [s[0], cmds.length]);
  const target = new Map<GPUBuffer, GPUBuffer>();
  const standIns = [...origin.keys()].filter((b) => span.has(b)).sort((x, y) => span.get(x)![0] - span.get(y)![0]);
  for (const id of standIns) {
    const [a, z] = span.get(id)!;
    const o = origin.get(id)!;
    const t = takenOf(o);
    if (t.every(([p, q]) => q < a || p > z)) { t.push([a, z]); target.set(id, o); } else target.set(id, spare(o.size));
  }
  const map = (b: GPUBuffer) => target.get(b) ?? b;
  return cmds.map((c): Command => {
    if (c.kind === 'dispatch') return { ...c, bindings: c.bindings.map((b) => ({ ...b, buffer: map(b.buffer) })) };
    if (c.kind === 'copy') return { ...c, src: map(c.src), dst: map(c.dst) };
    if (c.kind === 'clear' || c.kind === 'release') return { ...c, buffer: map(c.buffer) };
    return c;
  });
}

/**
 * Fuses the pointwise launches of a captured command list (see the file comment). `report`, when given,
 * receives counts.
 */
export function fusePointwise(recorded: Command[], be: Backend, report?: FusionReport): Command[] {
  // Copy forwarding (see forward below) rewrites commands not yet visited.
  const cmds = [...recorded];
  const ids = new Map<GPUBuffer, number>();
  const keyOf = (b: RecordedBinding) => {
    let id = ids.get(b.buffer);
    if (id === undefined) { id = ids.size; ids.set(b.buffer, id); }
    return `${id}@${b.offset ?? 0}`;
  };
  const maxBindings = be.limits.maxStorageBuffersPerShaderStage;
  const out: Command[] = [];
  let g = null as Group | null;

  const touched = (c: Command): GPUBuffer[] => {
    if (c.kind === 'dispatch') return c.bindings.map((b) => b.buffer);
    if (c.kind === 'copy') return [c.src, c.dst];
    if (c.kind === 'clear') return [c.buffer];
    return [];
  };

  const access = (c: Command): { reads: GPUBuffer[]; writes: GPUBuffer[] } => {
    if (c.kind === 'dispatch') {
      return { reads: c.bindings.filter((_, j) => !c.writes[j]).map((b) => b.buffer), writes: c.bindings.filter((_, j) => c.writes[j]).map((b) => b.buffer) };
    }
    if (c.kind === 'copy') return { reads: [c.src], writes: [c.dst] };
    if (c.kind === 'clear') return { reads: [], writes: [c.buffer] };
    return { reads: [], writes: [] };
  };

  /** Whether the value in `buffer` is released at or after command `from` before anything touches it. */
  const deadFrom = (buffer: GPUBuffer, from: number): boolean => {
    for (let j = from; j < cmds.length; j++) {
      const c = cmds[j];
      if (c.kind === 'release' && c.buffer === buffer) return true;
      if (touched(c).includes(buffer)) return false;
    }
    return false;
  };
  let cursor = 0;

  /**
   * A fused value that is a plain copy of one of its group's inputs (an upstream gradient of ones passed on
   * unchanged) is not stored: the commands up to its release read the input instead, when nothing writes or
   * releases the input before then (the input then lives until the copy's release). Returns whether it did.
   */
  const forward = (v: Value, from: RecordedBinding): boolean => {
    // The input's release may wait on the group (its last reader so far): it moves to the copy's release.
    const held = g!.deferred.findIndex((c) => c.kind === 'release' && c.buffer === from.buffer);
    let end = -1;
    for (let j = cursor; j < cmds.length && end < 0; j++) {
      const c = cmds[j];
      if (c.kind === 'release' && c.buffer === v.binding.buffer) { end = j; break; }
      if (c.kind === 'release' && c.buffer === from.buffer) return false;
      const { writes } = access(c);
      if (writes.includes(from.buffer) || writes.includes(v.binding.buffer)) return false;
    }
    if (end < 0) return false;
    const base = (from.offset ?? 0) - (v.binding.offset ?? 0);
    const moved = (b: RecordedBinding): RecordedBinding => (b.buffer === v.binding.buffer ? { ...b, buffer: from.buffer, offset: (b.offset ?? 0) + base } : b);
    for (let j = cursor; j < end; j++) {
      const c = cmds[j];
      if (c.kind === 'dispatch') cmds[j] = { ...c, bindings: c.bindings.map(moved) };
      else if (c.kind === 'copy' && c.src === v.binding.buffer) cmds[j] = { ...c, src: from.buffer, srcOffset: c.srcOffset + base };
    }
    if (held >= 0) { cmds[end] = g!.deferred[held]; g!.deferred.splice(held, 1); } else cmds.splice(end, 1);
    return true;
  };

  const flush = () => {
    if (!g) return;
    for (const v of g.values.values()) {
      const copy = /^let v\d+ = x(\d+);$/.exec(g.lines[v.member]);
      const load = copy ? g.loads[Number(copy[1])] : undefined;
      if (!v.dropped && load && load.index === 'i' && (v.binding.offset ?? 0) === 0 && forward(v, load.binding)) v.dropped = true;
    }
    // Values the rest of the step releases before touching them are never stored either.
    for (const v of g.values.values()) if (!v.dropped && deadFrom(v.binding.buffer, cursor)) v.dropped = true;
    const live = g.live();
    if (live.length > 0 && foldIntoStore(g, live)) {
      if (report) { report.epilogues++; report.fusedLaunches += g.cmds.length; }
    } else if (g.cmds.length === 1 && live.length === 1) {
      out.push(g.cmds[0]);
    } else if (live.length > 0) {
      const n = g.shape.reduce((p, q) => p * q, 1);
      const body = [
        ...coordDecls(g.shape, g.coords),
        ...g.loads.map((l, k) => `let x${k} = in${k}[${l.index}];`),
        ...g.lines.map((l) => opaqueScalars(l, opaqueZero(wgslSources.pointwise))),
        ...live.map((v, j) => `out${j}[i] = v${v.member};`),
      ];
      const src = assemble(g.loads.length, live.length, `${n}u`, body);
      const [x, y] = be.grid(n, 256);
      const fused = be.sourceCommand('fused', src, [...g.loads.map((l) => l.binding), ...live.map((v) => v.binding)],
        new ArrayBuffer(16), [x, y, 1]) as Dispatch;
      fused.fuse = { wgsl: src };
      out.push(fused);
      if (report) { report.groups++; report.fusedLaunches += g.cmds.length; }
    }
    if (report) report.droppedValues += g.values.size - live.length;
    out.push(...g.deferred);
    g = null;
  };

  /** The command at `h` as a heavy kernel whose stores may take epilogues (null for anything else). */
  const heavyAt = (h: number): Heavy | null => heavyOf(out[h]);

  /** Whether moving a write of `writes` (reading `reads`) back to just after out[h] changes no result. */
  const clearAfter = (h: number, reads: Set<GPUBuffer>, writes: Set<GPUBuffer>): boolean => {
    for (let j = h + 1; j < out.length; j++) {
      // A release of a buffer to be written ends an older value of it: writing earlier would land in that one.
      const c = out[j];
      if (c.kind === 'release' && writes.has(c.buffer)) return false;
      const { reads: r, writes: w } = access(c);
      if (w.some((b) => reads.has(b) || writes.has(b)) || r.some((b) => writes.has(b))) return false;
    }
    return true;
  };

  /** Rebuilds out[h] from its heavy state with `bindings`. */
  const rebuild = (h: number, hv: Heavy, bindings: RecordedBinding[]) => {
    const prev = out[h] as Dispatch;
    const c = be.sourceCommand(`${hv.base}+epilogue`, hv.src, bindings, prev.params, prev.wg, hv.constants) as Dispatch;
    c.fuse = hv;
    out[h] = c;
  };

  /**
   * Folds the group into a store of the heavy kernel emitted before it, when the group reads that store's
   * output element for element (so the thread storing element i has everything element i needs).
   */
  const foldIntoStore = (grp: Group, live: Value[]): boolean => {
    const inputs = new Set(grp.loads.map((l) => l.binding.buffer));
    const outputs = new Set(live.map((v) => v.binding.buffer));
    const n = grp.shape.reduce((p, q) => p * q, 1);
    for (let h = out.length - 1; h >= 0 && h >= out.length - 64; h--) {
      const hv = heavyAt(h);
      const prev = out[h] as Dispatch;
      const site = hv?.sites.find((x) => !x.fused && inputs.has(prev.bindings[x.out].buffer));
      if (hv && site) {
        // Its output must be read by nothing in between, and the group must be movable back to here.
        const v = prev.bindings[site.out];
        if (site.numel !== n || !clearAfter(h, new Set([...inputs, v.buffer]), outputs)) return false;
        const at = grp.loads.findIndex((l) => l.key === keyOf(v) && l.index === 'i');
        if (at < 0 || grp.loads.some((l, k) => k !== at && l.binding.buffer === v.buffer)) return false;
        // Not stored at all when the step releases it with the group and nothing in between reads it
        const readBetween = out.slice(h + 1).some((c) => access(c).reads.includes(v.buffer));
        // (or releases it later, with nothing reading it before: a value nobody reads, such as a linear layer's
        // output before its activation, whose tensor lives on until the step ends).
        const released = !readBetween && (grp.deferred.some((r) => r.kind === 'release' && r.buffer === v.buffer) || deadFrom(v.buffer, cursor));
        const extraIn = grp.loads.filter((_, k) => k !== at);
        const extraOut = released ? live.slice(1) : live;
        if (prev.bindings.length + extraIn.length + extraOut.length > maxBindings) return false;
        // An extra input the kernel already reads may be bound again read-only; nothing written may be.
        const bound = new Set(prev.bindings.map((b) => b.buffer));
        const written = new Set(prev.bindings.filter((_, j) => prev.writes[j]).map((b) => b.buffer));
        if (extraIn.some((l) => written.has(l.binding.buffer) && l.binding.buffer !== v.buffer)) return false;
        if (extraOut.some((x) => bound.has(x.binding.buffer) && x.binding.buffer !== v.buffer)) return false;
        const base = prev.bindings.length;
        const f = hv.folds++;
        const decls = [
          ...extraIn.map((_, k) => `@group(0) @binding(${base + k}) var<storage, read> e${f}_in${k}: array<f32>;`),
          ...extraOut.map((_, j) => `@group(0) @binding(${base + extraIn.length + j}) var<storage, read_write> e${f}_out${j}: array<f32>;`),
        ];
        let e = 0;
        const body = [
          ...coordDecls(grp.shape, grp.coords),
          ...grp.loads.map((l, k) => (k === at ? `let x${k} = v;` : `let x${k} = e${f}_in${e++}[${l.index}];`)),
          ...grp.lines.map((l) => opaqueScalars(l, opaqueZero(hv.src))),
          ...(released ? [`${site.name}[i] = v${live[0].member};`] : [`${site.name}[i] = v;`]),
          ...extraOut.map((x, j) => `e${f}_out${j}[i] = v${x.member};`),
        ];
        site.fused = true;
        hv.src = replaceFn(hv.src, site.fn, body) + '\n' + decls.join('\n') + '\n';
        const bindings = [...prev.bindings];
        if (released) bindings[site.out] = live[0].binding;
        bindings.push(...extraIn.map((l) => l.binding), ...extraOut.map((x) => x.binding));
        rebuild(h, hv, bindings);
        return true;
      }
      // Reading the group's inputs is harmless; writing them, or touching what the epilogue would write, is not.
      const { reads: r, writes: w } = access(out[h]);
      if (w.some((b) => inputs.has(b) || outputs.has(b)) || r.some((b) => outputs.has(b))) return false;
    }
    return false;
  };

  /**
   * Folds a one-pass column sum (a bias gradient: g [K, M] summed over K) into the weight-gradient matmul
   * g^T x emitted before it, which reads the same g: its ROW_SUM threads write the sums.
   */
  const foldReduce = (c: Dispatch, rw: ReduceWork): boolean => {
    if (rw.reduce !== 'sum' || rw.A !== 1) return false;
    const src = c.bindings[0];
    const dst = c.bindings[1];
    for (let h = out.length - 1; h >= 0 && h >= out.length - 64; h--) {
      const hv = heavyAt(h);
      const prev = out[h] as Dispatch;
      const rs = hv?.rowSum;
      if (hv && rs && hv.constants.ROW_SUM !== 1 && keyOf(prev.bindings[rs.a]) === keyOf(src) && rs.K === rw.R && rs.M === rw.B) {
        if (!clearAfter(h, new Set([src.buffer]), new Set([dst.buffer]))) return false;
        if (prev.bindings.some((b) => b.buffer === dst.buffer) || prev.bindings.length + 1 > maxBindings) return false;
        const f = hv.folds++;
        const at = prev.bindings.length;
        hv.constants = { ...hv.constants, ROW_SUM: 1 };
        hv.sites.push({ fn: 'store_row', name: `e${f}_row`, out: at, numel: rs.M, fused: false });
        hv.src = replaceFn(hv.src, 'store_row', [`e${f}_row[i] = v;`]) +
          `\n@group(0) @binding(${at}) var<storage, read_write> e${f}_row: array<f32>;\n`;
        rebuild(h, hv, [...prev.bindings, dst]);
        if (report) report.reductions++;
        return true;
      }
      const { reads: r, writes: w } = access(out[h]);
      if (w.includes(src.buffer) || w.includes(dst.buffer) || r.includes(dst.buffer)) return false;
    }
    return false;
  };

  /**
   * Folds a strided gather (gather_strided MODE 0: a narrow, permute or expand) feeding a reduce into the
   * reduce, which then reads the gather's source through strides: the same elements summed in the same
   * order, so bit for bit what the eager gather-then-reduce gives. Only where the gathered copy is released
   * after the reduce before anything else touches it, and its [A, R, B] view merges into three strides.
   */
  const foldGather = (c: Dispatch): Dispatch | null => {
    if (c.shader !== 'reduce') return null;
    const x = c.bindings[0];
    for (let h = out.length - 1; h >= 0 && h >= out.length - 64; h--) {
      const prev = out[h];
      if (prev.kind === 'dispatch' && prev.shader === 'gather_strided' && !prev.dyn && prev.constants?.MODE === 0 &&
        prev.bindings[1].buffer === x.buffer) {
        if (keyOf(prev.bindings[1]) !== keyOf(x) || !deadFrom(x.buffer, cursor + 1)) return null;
        const src = prev.bindings[0];
        if (src.buffer === x.buffer || src.buffer === c.bindings[1].buffer) return null;
        // Between the gather and the reduce: nothing may read the copy or write the source; a release of the
        // source moves after the reduce (nothing may touch the source after that release).
        const moved: Command[] = [];
        for (let j = h + 1; j < out.length; j++) {
          const d = out[j];
          if (d.kind === 'release' && d.buffer === src.buffer) { moved.push(d); continue; }
          const { reads, writes } = access(d);
          if (moved.length && (reads.includes(src.buffer) || writes.includes(src.buffer))) return null;
          if (reads.includes(x.buffer) || writes.includes(src.buffer) || writes.includes(x.buffer)) return null;
        }
        const gp = new Uint32Array(prev.params);
        const rp = new Uint32Array(c.params);
        const [n, rank, base] = [gp[0], gp[1], gp[2]];
        const shape = [...gp.subarray(4, 4 + rank)];
        const strides = [...gp.subarray(12, 12 + rank)];
        const [A, R, B] = [rp[0], rp[1], rp[2]];
        if (A * R * B !== n) return null;
        // Split the gathered dims into the A, R and B runs; each run must merge into one stride.
        const merged: number[] = [];
        let d = 0;
        for (const size of [A, R, B]) {
          let prod = 1;
          let stride: number | null = null;
          while (prod < size && d < rank) {
            const k = d++;
            if (shape[k] === 1) continue;
            if (stride !== null && stride !== (Math.imul(strides[k], shape[k]) >>> 0)) return null;
            stride = strides[k];
            prod *= shape[k];
          }
          while (d < rank && shape[d] === 1) d++;
          if (prod !== size) return null;
          merged.push(stride ?? 0);
        }
        if (d !== rank) return null;
        const params = new Uint32Array(12);
        params.set(rp.subarray(0, 5));
        params.set([base, merged[0], merged[1], merged[2]], 5);
        out.splice(h, 1);
        const r: Dispatch = { ...c, bindings: [src, c.bindings[1]], params: params.buffer, fuse: undefined };
        // Remove the moved releases from out; they follow the reduce.
        for (const m of moved) out.splice(out.indexOf(m), 1);
        out.push(r, ...moved);
        if (report) report.reductions++;
        return r;
      }
      const { writes } = access(prev);
      if (writes.includes(x.buffer)) return null;
    }
    return null;
  };

  const add = (c: Dispatch, w: PointwiseWork) => {
    if (g) {
      const bound = g.bound();
      const fits = sameShape(g.shape, w.shape) && !bound.has(c.bindings[w.letters.length].buffer) &&
        w.letters.every((_, k) => {
          const v = g!.values.get(keyOf(c.bindings[k]));
          return !v || v.dropped || isIdentity(w.strides[k], w.shape);
        }) &&
        g.loads.length + w.letters.length + g.live().length + 1 <= maxBindings;
      // flush may forward a copy this command reads: it continues with the rewritten command.
      if (!fits) { flush(); c = cmds[cursor] as Dispatch; }
    }
    const outBinding = c.bindings[w.letters.length];
    g ??= new Group(w.shape);
    const m = g.cmds.length;
    const names: Record<string, string> = {};
    w.letters.forEach((l, k) => {
      const b = c.bindings[k];
      const key = keyOf(b);
      const v = g!.values.get(key);
      if (v && !v.dropped) { names[l] = `v${v.member}`; return; }
      const index = bakedIndex(w.strides[k], w.shape, g!.coords);
      let j = g!.loads.findIndex((x) => x.key === key && x.index === index);
      if (j < 0) { j = g!.loads.length; g!.loads.push({ key, binding: b, index }); }
      names[l] = `x${j}`;
    });
    g.cmds.push(c);
    g.lines.push(`let v${m} = ${renameOperands(w.expr, names)};`);
    g.values.set(keyOf(outBinding), { member: m, binding: outBinding, dropped: false });
  };

  for (; cursor < cmds.length; cursor++) {
    let c = cmds[cursor];
    if (c.kind === 'dispatch' && c.fuse && 'expr' in (c.fuse as object) && !c.dyn) { add(c, c.fuse as PointwiseWork); continue; }
    if (c.kind === 'release') {
      if (g) {
        for (const v of g.values.values()) if (v.binding.buffer === c.buffer) v.dropped = true;
        if (g.bound().has(c.buffer)) { g.deferred.push(c); continue; }
      }
      out.push(c);
      continue;
    }
    if (g) {
      const bound = g.bound();
      if (touched(c).some((b) => bound.has(b))) { flush(); c = cmds[cursor]; }
    }
    if (c.kind === 'dispatch' && !c.dyn && c.fuse && 'reduce' in (c.fuse as object) && foldReduce(c, c.fuse as ReduceWork)) continue;
    if (c.kind === 'dispatch' && !c.dyn && foldGather(c)) continue;
    out.push(c);
  }
  flush();
  return out;
}

/**
 * storeIntoCopies' second way to store a copied value where it goes: kernel `p` (a generated pointwise kernel,
 * not a heavy one with store sites) writes the value through binding `j` and already writes the copy's
 * destination bytes [lo, hi) neighbour through one other binding `w`. The value's store moves to `w` at the
 * right element, `w`'s range grows to cover [lo, hi) (when nothing else of the kernel binds those bytes), and
 * binding j stays bound to its old buffer, unused (still counted as written there, so later passes keep it
 * apart from other uses of that buffer). Null where that does not apply.
 */
function widenInto(p: Dispatch, f: { sites?: unknown; wgsl?: string; touched?: ([number, number] | null)[] }, text: string, src: string,
  j: number, outName: string, sharing: number[], lo: number, hi: number, be: Backend): Dispatch | null {
  if (f.sites || sharing.length !== 1) return null;
  const w = sharing[0];
  const b = p.bindings[w];
  const [o, end] = bindingBytes(b);
  if (lo < o || (lo - o) % 4 !== 0) return null;
  const newEnd = Math.max(end, hi);
  if (newEnd > b.buffer.size) return null;
  // No other binding of the kernel may reach the widened bytes, nor may the kernel size anything by the binding.
  if (p.bindings.some((x, r) => r !== w && x.buffer === b.buffer && bindingBytes(x)[0] < newEnd && o < bindingBytes(x)[1])) return null;
  const wName = bindingName(src, w, 'read_write');
  if (!wName || /arrayLength/.test(src)) return null;
  const rewritten = text.replace(new RegExp(`\\b${outName}\\[i\\] = `, 'g'), `${wName}[i + ${(lo - o) / 4}u] = `);
  const bindings = p.bindings.map((x) => ({ ...x }));
  bindings[w] = { buffer: b.buffer, offset: b.offset, size: newEnd - o };
  const q = be.sourceCommand(p.shader.split('#')[0], rewritten, bindings, p.params, p.wg, p.constants ?? {}) as Dispatch;
  const touched: ([number, number] | null)[] = [...(f.touched ?? [])];
  const had = touchedBytes(p, w) ?? [o, end];
  touched[w] = [Math.min(had[0], lo), Math.max(had[1], hi)];
  q.fuse = { ...f, wgsl: rewritten, touched };
  return q;
}

/** The body span [open brace, close brace] of the WGSL function enclosing position `at` (null outside one). */
function enclosingFn(src: string, at: number): [number, number] | null {
  const start = src.lastIndexOf('\nfn ', at);
  if (start < 0) return null;
  const open = src.indexOf('{', start);
  if (open < 0 || open > at) return null;
  let depth = 0;
  for (let k = open; k < src.length; k++) {
    if (src[k] === '{') depth++;
    else if (src[k] === '}' && --depth === 0) return k > at ? [open, k] : null;
  }
  return null;
}

/**
 * Removes copies of a freshly computed value into a buffer that outlives the step, where the kernel that
 * computed it can store into that buffer instead: in-place gradient accumulation (`grad = grad + g` recorded as
 * an add into a new tensor and a copy back into .grad), whose add fusion folded into a heavy kernel's store or
 * a fused pointwise kernel. The kernel then binds the destination once, writable, and reads its old value
 * through that binding: each thread reads element i and then stores element i, so no thread sees another's
 * store (WebGPU forbids binding one buffer read-only and writable in the same dispatch). The value computed is
 * the same expression over the same operands, so results stay bit-identical to the eager add and copy.
 * Returns the rewritten commands; `report.copies` counts the copies removed.
 */
export function storeIntoCopies(recorded: Command[], be: Backend, report?: { copies: number }): Command[] {
  const cmds = [...recorded];
  const reads = (c: Command): GPUBuffer[] => (c.kind === 'dispatch' ? c.bindings.filter((_, j) => !c.writes[j]).map((b) => b.buffer)
    : c.kind === 'copy' ? [c.src] : []);
  const writes = (c: Command): GPUBuffer[] => (c.kind === 'dispatch' ? c.bindings.filter((_, j) => c.writes[j]).map((b) => b.buffer)
    : c.kind === 'copy' ? [c.dst] : c.kind === 'clear' ? [c.buffer] : []);
  const touches = (c: Command, b: GPUBuffer) => reads(c).includes(b) || writes(c).includes(b) || (c.kind === 'release' && c.buffer === b);
  /** Whether `b` is released after command `from` before anything touches it again. */
  const deadAfter = (b: GPUBuffer, from: number): number => {
    for (let j = from + 1; j < cmds.length; j++) {
      const c = cmds[j];
      if (c.kind === 'release' && c.buffer === b) return j;
      if (touches(c, b)) return -1;
    }
    return -1;
  };
  /** Byte ranges of `b` a command reads or writes (a rewritten kernel's `touched` ranges where it has them). */
  const rangesOf = (c: Command, b: GPUBuffer): [number, number][] => {
    if (c.kind === 'copy') return [...(c.src === b ? [[c.srcOffset, c.srcOffset + c.bytes] as [number, number]] : []),
      ...(c.dst === b ? [[c.dstOffset, c.dstOffset + c.bytes] as [number, number]] : [])];
    if (c.kind === 'clear' || c.kind === 'release') return c.buffer === b ? [[0, Infinity]] : [];
    if (c.kind !== 'dispatch') return [];
    return c.bindings.flatMap((x, j): [number, number][] => {
      const t = x.buffer === b ? touchedBytes(c, j) : null;
      return t ? [t] : [];
    });
  };
  /** Whether binding r of a dispatch may touch bytes [lo, hi) of its buffer. */
  const overlapsTouched = (c: Dispatch, r: number, lo: number, hi: number): boolean => {
    const t = touchedBytes(c, r);
    return t !== null && t[0] < hi && lo < t[1];
  };
  for (let k = 0; k < cmds.length; k++) {
    const c = cmds[k];
    if (c.kind !== 'copy' || c.src === c.dst || c.bytes % 4 !== 0 || c.dstOffset % 4 !== 0) continue;
    // The value's producer: the last command writing it, with nothing in between touching the destination or
    // touching the value.
    const lo = c.dstOffset, hi = c.dstOffset + c.bytes;
    let h = k - 1;
    for (; h >= 0; h--) {
      const d = cmds[h];
      if (writes(d).includes(c.src)) break;
      if (touches(d, c.src) || rangesOf(d, c.dst).some(([x, y]) => x < hi && lo < y)) { h = -1; break; }
    }
    if (h < 0) continue;
    const p = cmds[h];
    if (p.kind !== 'dispatch' || p.dyn || !p.fuse) continue;
    const hv = heavyOf(p);
    const f: Partial<Heavy> & { wgsl?: string } = hv ?? p.fuse as { wgsl?: string };
    const text = f.sites ? f.src : f.wgsl;
    if (!text) continue;
    // Comments blanked (positions kept), so only code is matched.
    const src = text.replace(/\/\/[^\n]*/g, (m) => ' '.repeat(m.length));
    const outs = p.bindings.flatMap((b, j) => (b.buffer === c.src ? [j] : []));
    if (outs.length !== 1 || !p.writes[outs[0]] || (p.bindings[outs[0]].offset ?? 0) !== c.srcOffset) continue;
    const j = outs[0];
    // The kernel must store exactly the copied elements.
    const numel = f.sites ? f.sites.find((s) => s.out === j)?.numel : Number(/let n = (\d+)u;|i >= (\d+)u/.exec(src)?.slice(1).find(Boolean));
    if (!numel || numel * 4 !== c.bytes) continue;
    const rel = deadAfter(c.src, k);
    if (rel < 0) continue;
    // Other stores of the kernel into the destination (slices this pass redirected before) must not overlap.
    const ins = p.bindings.flatMap((b, r) => (b.buffer === c.dst && !p.writes[r] ? [r] : []));
    if (ins.some((r) => (p.bindings[r].offset ?? 0) !== c.dstOffset) || ins.length > 1) continue;
    // A second writable binding of the destination may not overlap one it has (WebGPU forbids aliasing writes).
    const base = c.dstOffset - (c.dstOffset % be.limits.minStorageBufferOffsetAlignment);
    const sharing = p.bindings.flatMap((b, r) => (b.buffer === c.dst && p.writes[r] ? [r] : []));
    const clash = sharing.some((r) => overlapsTouched(p, r, lo, hi) || (bindingBytes(p.bindings[r])[0] < hi && base < bindingBytes(p.bindings[r])[1]));
    const outName = bindingName(src, j, 'read_write');
    if (!outName) continue;
    const storeRe = new RegExp(`\\b${outName}\\[`, 'g');
    const stores = [...src.matchAll(storeRe)].map((m) => m.index!).filter((at) => !src.startsWith(`${outName}[i] = `, at) || !enclosingFn(src, at));
    const storeAt = src.indexOf(`${outName}[i] = `);
    // Every access of the output is one store of element i (in the function that reads the old value).
    if (stores.length > 0 || storeAt < 0 || src.indexOf(`${outName}[i] = `, storeAt + 1) >= 0) continue;
    if (clash) {
      // The kernel already writes the destination through another binding (an earlier slice of the same
      // stacked output): store through that binding instead, widened to cover this slice too.
      const q = widenInto(p, f, text, src, j, outName, sharing, lo, hi, be);
      if (!q) continue;
      cmds[h] = q;
      cmds.splice(k, 1);
      k = h;
      if (report) report.copies++;
      continue;
    }
    // A destination at an offset the device cannot bind at (a slice of a stacked output) is bound at the
    // aligned offset below it, and the kernel stores `elem` elements further on.
    const align = be.limits.minStorageBufferOffsetAlignment;
    const elem = (c.dstOffset % align) / 4;
    const at = elem ? `${outName}[i + ${elem}u]` : `${outName}[i]`;
    let rewritten = elem ? text.replace(new RegExp(`\\b${outName}\\[i\\] = `, 'g'), `${at} = `) : text;
    const bindings = p.bindings.map((b) => ({ ...b }));
    if (ins.length === 1) {
      const r = ins[0];
      const inName = bindingName(src, r, 'read');
      const spareIn = p.bindings.findIndex((b, q) => q !== r && !p.writes[q] && b.buffer !== c.dst);
      if (!inName || spareIn < 0) continue;
      const uses = [...src.matchAll(new RegExp(`\\b${inName}\\b`, 'g'))].map((m) => m.index!).filter((at) => !src.startsWith(`${inName}:`, at));
      const fn = enclosingFn(src, storeAt);
      const ok = fn && uses.every((at) => src.startsWith(`${inName}[i]`, at) && at > fn[0] && at < storeAt);
      if (!ok) continue;
      rewritten = rewritten.replace(new RegExp(`\\b${inName}\\[i\\]`, 'g'), at);
      // The old binding stays declared (the layout is the kernel's) but unused: it gets another input.
      bindings[r] = { ...p.bindings[spareIn] };
    }
    bindings[j] = { buffer: c.dst, offset: c.dstOffset - elem * 4 || undefined, size: c.bytes + elem * 4 };
    const label = p.shader.split('#')[0];
    const q = be.sourceCommand(label, rewritten, bindings, p.params, p.wg, p.constants ?? {}) as Dispatch;
    // The bytes it writes there, for the grouping pass (the binding starts lower when elem > 0).
    const touched: ([number, number] | null)[] = [...((p.fuse as { touched?: ([number, number] | null)[] }).touched ?? [])];
    touched[j] = [c.dstOffset, c.dstOffset + c.bytes];
    q.fuse = f.sites ? { ...f, src: rewritten, touched } : { ...f, wgsl: rewritten, touched };
    cmds[h] = q;
    cmds.splice(k, 1);
    // The value is never written now: its release goes too when nothing else refers to the buffer.
    const r = rel - 1;
    if (!cmds.some((d, x) => x !== r && touches(d, c.src))) cmds.splice(r, 1);
    k = h;
    if (report) report.copies++;
  }
  return cmds;
}
