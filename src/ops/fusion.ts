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
import type { PointwiseWork } from './kernels.js';
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
export interface FusionReport { groups: number; fusedLaunches: number; droppedValues: number }

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

  const flush = () => {
    if (!g) return;
    const live = g.live();
    if (g.cmds.length === 1 && live.length === 1) {
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

  const touched = (c: Command): GPUBuffer[] => {
    if (c.kind === 'dispatch') return c.bindings.map((b) => b.buffer);
    if (c.kind === 'copy') return [c.src, c.dst];
    if (c.kind === 'clear') return [c.buffer];
    return [];
  };

  for (const c of cmds) {
    if (c.kind === 'dispatch' && c.fuse && !c.dyn) { add(c, c.fuse as PointwiseWork); continue; }
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
