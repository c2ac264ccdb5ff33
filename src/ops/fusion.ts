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
import type { PointwiseWork, StoreWork } from './kernels.js';
import { wgslSources } from '../backend/wgsl.gen.js';
import { assemble, bakedIndex, coordDecls, renameOperands } from './pointwise.js';
import { contiguousStrides } from './shape.js';

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
export interface FusionReport { groups: number; fusedLaunches: number; droppedValues: number; epilogues: number }

/**
 * Fuses the pointwise launches of a captured command list (see the file comment). `report`, when given,
 * receives counts.
 */
export function fusePointwise(cmds: Command[], be: Backend, report?: FusionReport): Command[] {
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
  let at = 0;

  const flush = () => {
    if (!g) return;
    // Values the rest of the step releases before touching them are never stored either.
    for (const v of g.values.values()) if (!v.dropped && deadFrom(v.binding.buffer, at)) v.dropped = true;
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
        ...g.lines,
        ...live.map((v, j) => `out${j}[i] = v${v.member};`),
      ];
      const src = assemble(g.loads.length, live.length, `${n}u`, body);
      const [x, y] = be.grid(n, 256);
      out.push(be.sourceCommand('fused', src, [...g.loads.map((l) => l.binding), ...live.map((v) => v.binding)],
        new ArrayBuffer(16), [x, y, 1]));
      if (report) { report.groups++; report.fusedLaunches += g.cmds.length; }
    }
    if (report) report.droppedValues += g.values.size - live.length;
    out.push(...g.deferred);
    g = null;
  };

  /**
   * Folds the group into the store of the heavy kernel emitted right before it, when the group reads that
   * kernel's output element for element (so thread i of the kernel has everything element i needs).
   */
  const foldIntoStore = (grp: Group, live: Value[]): boolean => {
    // The latest heavy kernel whose output the group reads element for element, with nothing after it
    // touching a buffer the epilogue would bind (so running the group at that point changes no result).
    const inputs = new Set(grp.loads.map((l) => l.binding.buffer));
    const outputs = new Set(live.map((v) => v.binding.buffer));
    let h = out.length - 1;
    let found = false;
    for (; h >= 0 && h >= out.length - 64; h--) {
      const c = out[h];
      const hw = c.kind === 'dispatch' ? (c.fuse as Partial<StoreWork> | undefined) : undefined;
      if (c.kind === 'dispatch' && hw?.store !== undefined && inputs.has(c.bindings[hw.out!].buffer)) { found = true; break; }
      // Reading the group's inputs is harmless; writing them, or touching what the epilogue would write, is not.
      const { reads: r, writes: w } = access(c);
      if (w.some((b) => inputs.has(b) || outputs.has(b)) || r.some((b) => outputs.has(b))) return false;
    }
    if (!found) return false;
    {
      // The heavy kernel's own output must not be read by anything between it and the group.
      const c = out[h] as Dispatch;
      const v = c.bindings[(c.fuse as StoreWork).out].buffer;
      for (let j = h + 1; j < out.length; j++) if (touched(out[j]).includes(v)) return false;
    }
    const prev = out[h];
    if (!prev || prev.kind !== 'dispatch' || prev.dyn || !prev.fuse) return false;
    const hw = prev.fuse as Partial<StoreWork>;
    if (hw.store === undefined || hw.out === undefined || hw.numel !== grp.shape.reduce((p, q) => p * q, 1)) return false;
    const v = prev.bindings[hw.out];
    const at = grp.loads.findIndex((l) => l.key === keyOf(v) && l.index === 'i');
    if (at < 0 || grp.loads.some((l, k) => k !== at && l.binding.buffer === v.buffer)) return false;
    const released = grp.deferred.some((r) => r.kind === 'release' && r.buffer === v.buffer);
    const extraIn = grp.loads.filter((_, k) => k !== at);
    const extraOut = released ? live.slice(1) : live;
    if (prev.bindings.length + extraIn.length + extraOut.length > maxBindings) return false;
    const base = prev.bindings.length;
    const decls = [
      ...extraIn.map((_, k) => `@group(0) @binding(${base + k}) var<storage, read> ep_in${k}: array<f32>;`),
      ...extraOut.map((_, j) => `@group(0) @binding(${base + extraIn.length + j}) var<storage, read_write> ep_out${j}: array<f32>;`),
    ];
    let e = 0;
    const body = [
      ...coordDecls(grp.shape, grp.coords),
      ...grp.loads.map((l, k) => (k === at ? `let x${k} = v;` : `let x${k} = ep_in${e++}[${l.index}];`)),
      ...grp.lines,
      ...(released ? [`out[i] = v${live[0].member};`] : ['out[i] = v;']),
      ...extraOut.map((x, j) => `ep_out${j}[i] = v${x.member};`),
    ];
    const fn = `fn store(i: u32, v: f32) {\n${body.map((l) => `  ${l}`).join('\n')}\n}`;
    const src = wgslSources[hw.store].replace(/fn store\(i: u32, v: f32\) \{[^}]*\}/, fn) + '\n' + decls.join('\n') + '\n';
    const bindings = [...prev.bindings];
    if (released) bindings[hw.out] = live[0].binding;
    bindings.push(...extraIn.map((l) => l.binding), ...extraOut.map((x) => x.binding));
    out[h] = be.sourceCommand(`${hw.store}+epilogue`, src, bindings, prev.params, prev.wg, prev.constants);
    return true;
  };

  const add = (c: Dispatch, w: PointwiseWork) => {
    const outBinding = c.bindings[w.letters.length];
    if (g) {
      const bound = g.bound();
      const fits = sameShape(g.shape, w.shape) && !bound.has(outBinding.buffer) &&
        w.letters.every((_, k) => {
          const v = g!.values.get(keyOf(c.bindings[k]));
          return !v || v.dropped || isIdentity(w.strides[k], w.shape);
        }) &&
        g.loads.length + w.letters.length + g.live().length + 1 <= maxBindings;
      if (!fits) flush();
    }
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

  for (; at < cmds.length; at++) {
    const c = cmds[at];
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
      if (touched(c).some((b) => bound.has(b))) flush();
    }
    out.push(c);
  }
  flush();
  return out;
}
