// compileStep's horizontal fusion: independent dispatches of a captured step (no data hazard between them,
// the same number of threads per workgroup) run as one dispatch of a generated kernel that holds each of
// them as a function. The workgroups of the sub-problems are laid end to end along one flat range; the
// generated main finds its sub-problem by the flat workgroup index and hands that kernel its own workgroup
// id, grid size and local index, so every kernel runs exactly as it did alone (bit-identical results).
// A one-thread kernel (a small reduced loss) joins a wider group on its workgroup's first thread.
// Each sub-problem's Params sit side by side in one uniform; bindings are renumbered, a read-only buffer
// bound by two sub-problems is bound once.
//
// Why a separate pass after fusePointwise: the epilogues are folded first (a grouped kernel is final), and
// grouping sees the whole rewritten step, so the real and fake halves of a GAN step (two forwards through
// the same discriminator, two backward chains) pair up layer by layer.
import type { Backend } from '../backend/backend.js';
import { planBuffers, type Command, type RecordedBinding } from '../backend/program.js';
import type { ShaderName } from '../backend/wgsl.gen.js';
import { wgslSources } from '../backend/wgsl.gen.js';
import { PARAMS_BYTES } from '../backend/uniforms.js';

type Dispatch = Extract<Command, { kind: 'dispatch' }>;

/** How far back a dispatch may move to join a group (commands). */
const WINDOW = 96;
/** Groups a dispatch may try to join, at most (each try plans the arena once). */
const ARENA_TRIALS = 8;

/** One kernel inside a grouped dispatch. */
interface Sub {
  label: string; src: string; constants: Record<string, number>; bindings: RecordedBinding[]; writes: readonly boolean[];
  params: ArrayBuffer; dyn?: () => ArrayBuffer; wg: [number, number, number];
  /** Threads per workgroup along x, y, z. */
  size: [number, number, number];
  /** Size of its Params struct in WGSL's uniform layout. */
  paramsSize: number;
  /** Declared type of each storage binding (a read-only range is shared only between equal types). */
  types: string[];
}

const threadsOf = (s: Sub) => s.size[0] * s.size[1] * s.size[2];

/** A dispatch's WGSL source, when the pass can read it. */
function sourceOf(c: Dispatch): string | null {
  const f = c.fuse as { src?: string; sites?: unknown; wgsl?: string } | undefined;
  if (f?.sites && typeof f.src === 'string') return f.src;
  if (typeof f?.wgsl === 'string') return f.wgsl;
  const base = c.shader as string;
  return base in wgslSources ? wgslSources[base as ShaderName] : null;
}

const stripComments = (s: string) => s.replace(/\/\/[^\n]*/g, '');

/** Text of the balanced bracket group opening at `open` (index of the opening char), exclusive. */
function balanced(s: string, open: number, l: string, r: string): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    if (s[i] === l) depth++;
    else if (s[i] === r && --depth === 0) return i;
  }
  return -1;
}

/** Splits on commas outside <> and (). */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '<' || ch === '(') depth++;
    if (ch === '>' || ch === ')') depth--;
    if (ch === ',' && depth === 0) { out.push(cur); cur = ''; } else cur += ch;
  }
  if (cur.trim()) out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x.length > 0);
}

/** Size and alignment of a WGSL type in the uniform address space (null for types this pass does not lay out). */
function layoutOf(type: string, src: string): { size: number; align: number } | null {
  const t = type.replace(/\s+/g, '');
  if (/^(f32|u32|i32)$/.test(t)) return { size: 4, align: 4 };
  const v = /^vec([234])<(f32|u32|i32)>$/.exec(t) ?? /^vec([234])([fiu])$/.exec(t);
  if (v) { const n = Number(v[1]); return { size: 4 * n, align: n === 2 ? 8 : 16 }; }
  const a = /^array<(.+),(\d+)u?>$/.exec(t);
  if (a) {
    const e = layoutOf(a[1], src);
    if (!e) return null;
    const align = Math.max(16, e.align);
    const stride = Math.ceil(e.size / align) * align;
    return { size: stride * Number(a[2]), align };
  }
  if (/^\w+$/.test(t)) return structLayout(t, src);
  return null;
}

function structLayout(name: string, src: string): { size: number; align: number } | null {
  const m = new RegExp(`struct\\s+${name}\\s*\\{`).exec(src);
  if (!m) return null;
  const open = m.index + m[0].length - 1;
  const close = balanced(src, open, '{', '}');
  let off = 0;
  let align = 1;
  for (const member of splitTop(src.slice(open + 1, close))) {
    const mm = /^(?:@\w+\([^)]*\)\s*)*\w+\s*:\s*(.+)$/.exec(member);
    if (!mm || member.startsWith('@')) return null;
    const l = layoutOf(mm[1], src);
    if (!l) return null;
    off = Math.ceil(off / l.align) * l.align + l.size;
    align = Math.max(align, l.align);
  }
  align = Math.max(align, 16);
  return { size: Math.ceil(off / align) * align, align };
}

/** Top-level names a source declares (outside any braces). */
function topLevelNames(src: string): string[] {
  const names: string[] = [];
  const re = /\b(fn|struct|override|const|alias|var(?:<[^>]*>)?)\s+(\w+)/g;
  let depth = 0;
  let last = 0;
  for (const m of src.matchAll(re)) {
    for (let i = last; i < m.index!; i++) { if (src[i] === '{') depth++; else if (src[i] === '}') depth--; }
    last = m.index!;
    if (depth === 0) names.push(m[2]);
  }
  return names;
}

/** Evaluates a @workgroup_size argument: a literal or an override (its pipeline constant or default). */
function evalSize(arg: string, src: string, constants: Record<string, number>): number | null {
  const a = arg.trim();
  const lit = /^(\d+)u?$/.exec(a);
  if (lit) return Number(lit[1]);
  if (a in constants) return constants[a];
  const d = new RegExp(`override\\s+${a}\\s*:\\s*\\w+\\s*=\\s*(\\d+)u?\\s*;`).exec(src);
  return d ? Number(d[1]) : null;
}

const BUILTINS = new Set(['workgroup_id', 'num_workgroups', 'local_invocation_index', 'local_invocation_id', 'global_invocation_id']);

/** A dispatch as a sub-problem of a group, or null when this pass cannot take it apart. */
function asSub(c: Dispatch): Sub | null {
  const raw = sourceOf(c);
  if (!raw || /^\s*enable\b/m.test(raw)) return null;
  const src = stripComments(raw);
  const u = /@group\(1\)\s*@binding\(0\)\s*var<uniform>\s*\w+\s*:\s*(\w+)\s*;/.exec(src);
  const main = /@compute\s*@workgroup_size\(([^)]*)\)\s*fn\s+main\s*\(/.exec(src);
  if (!u || !main) return null;
  // A kernel rebuilt with an epilogue keeps its pipeline constants in its fusion state.
  const f = c.fuse as { sites?: unknown; constants?: Record<string, number> } | undefined;
  const constants = { ...(f?.sites && f.constants ? f.constants : c.constants ?? {}) };
  const dims = main[1].split(',').map((x) => evalSize(x, src, constants));
  if (dims.some((d) => d === null)) return null;
  const size: [number, number, number] = [dims[0]!, dims[1] ?? 1, dims[2] ?? 1];
  const params = structLayout(u[1], src);
  if (!params) return null;
  // Struct members named like a top-level declaration would be renamed with it.
  const names = new Set(topLevelNames(src));
  for (const m of src.matchAll(/\.(\w+)/g)) if (names.has(m[1])) return null;
  const types: string[] = [];
  for (const m of src.matchAll(/@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(?:read|read_write)>\s*\w+\s*:\s*([^;]+);/g)) {
    types[Number(m[1])] = m[2].replace(/\s+/g, '');
  }
  // A one-thread workgroup's barriers are no-ops: dropped, the kernel can run on one thread of a wider group.
  const single = size[0] * size[1] * size[2] === 1;
  return {
    label: (c.shader as string).split('#')[0], src: single ? src.replace(/\bworkgroupBarrier\(\s*\)\s*;/g, '') : src, constants, bindings: c.bindings, writes: c.writes,
    params: c.params, dyn: c.dyn, wg: c.wg, size, paramsSize: params.size, types,
  };
}

/** The generated source, bindings and params of a group of sub-problems. */
const bufferIds = new WeakMap<GPUBuffer, number>();
let nextId = 0;
/** Key of a read-only binding: two sub-problems reading the same range as the same type share one binding. */
function readKey(b: RecordedBinding, type: string): string {
  let id = bufferIds.get(b.buffer);
  if (id === undefined) { id = nextId++; bufferIds.set(b.buffer, id); }
  return `${id}@${b.offset ?? 0}+${b.size ?? -1}:${type}`;
}

/**
 * `shared`: a writable buffer every sub-problem may bind, bound once (the device-assert flags: atomic,
 * written only on a violation, so sub-problems never depend on each other through it).
 */
function assembleGroup(subs: Sub[], shared: GPUBuffer): { src: string; bindings: RecordedBinding[]; writes: boolean[]; constants: Record<string, number>; offsets: number[] } {
  const bindings: RecordedBinding[] = [];
  const writes: boolean[] = [];
  const readOnlyAt = new Map<string, string>();
  const parts: string[] = [];
  const constants: Record<string, number> = {};
  const offsets: number[] = [];
  const members: string[] = [];
  const calls: string[] = [];
  let off = 0;
  let start = 0;
  const threads = Math.max(...subs.map(threadsOf));
  subs.forEach((s, k) => {
    const pre = `g${k}_`;
    let src = s.src;
    const u = /@group\(1\)\s*@binding\(0\)\s*var<uniform>\s*(\w+)\s*:\s*(\w+)\s*;/.exec(src)!;
    src = src.replace(u[0], '');
    const rename = new Map<string, string>();
    for (const n of topLevelNames(src)) rename.set(n, pre + n);
    rename.set(u[1], `kiln_group.s${k}`);
    // Storage bindings: renumbered; a read-only range already bound by an earlier sub-problem is shared.
    src = src.replace(/@group\(0\)\s*@binding\((\d+)\)\s*var<storage,\s*(read|read_write)>\s*(\w+)\s*:\s*([^;]+);/g,
      (_, j: string, mode: string, name: string, type: string) => {
        const b = s.bindings[Number(j)];
        const key = `${mode}:${readKey(b, type.replace(/\s+/g, ''))}`;
        const prev = readOnlyAt.get(key);
        if (prev) { rename.set(name, prev); return ''; }
        readOnlyAt.set(key, pre + name);
        const at = bindings.length;
        bindings.push(b);
        writes.push(mode !== 'read');
        return `@group(0) @binding(${at}) var<storage, ${mode}> ${name}: ${type};`;
      });
    // main: a plain function taking its builtins as parameters.
    const m = /@compute\s*@workgroup_size\([^)]*\)\s*fn\s+main\s*\(/.exec(src)!;
    const open = m.index + m[0].length - 1;
    const close = balanced(src, open, '(', ')');
    const params = splitTop(src.slice(open + 1, close)).map((p) => /^@builtin\((\w+)\)\s*(\w+)\s*:\s*(.+)$/.exec(p)!);
    src = src.slice(0, m.index) + `fn main(${params.map((p) => `${p[2]}: ${p[3]}`).join(', ')})` + src.slice(close + 1);
    src = src.replace(/(?<![\w.])([A-Za-z_]\w*)\b/g, (w: string) => rename.get(w) ?? w);
    parts.push(src);
    for (const [n, v] of Object.entries(s.constants)) constants[pre + n] = v;
    off = Math.ceil(off / 16) * 16;
    offsets.push(off);
    off += s.paramsSize;
    members.push(`@align(16) s${k}: ${pre}${u[2]},`);
    const [x, y, z] = s.wg;
    const [sx, sy] = s.size;
    const l = 'kiln_local';
    const arg = (b: string) => {
      const wid = `vec3<u32>(${l} % ${x}u, (${l} / ${x}u) % ${y}u, ${l} / ${x * y}u)`;
      const lid = `vec3<u32>(kiln_lidx % ${sx}u, (kiln_lidx / ${sx}u) % ${sy}u, kiln_lidx / ${sx * sy}u)`;
      if (b === 'workgroup_id') return wid;
      if (b === 'num_workgroups') return `vec3<u32>(${x}u, ${y}u, ${z}u)`;
      if (b === 'local_invocation_index') return 'kiln_lidx';
      if (b === 'local_invocation_id') return lid;
      return `${wid} * vec3<u32>(${s.size.join('u, ')}u) + ${lid}`;
    };
    const end = start + x * y * z;
    const call = `${pre}main(${params.map((p) => arg(p[1])).join(', ')});`;
    const guarded = threadsOf(s) < threads ? `if (kiln_lidx == 0u) { ${call} }` : call;
    calls.push(`if (kiln_flat < ${end}u) { let ${l} = kiln_flat - ${start}u; ${guarded} return; }`);
    start = end;
  });
  const src = [
    ...parts,
    `struct KilnGroupParams {\n  ${members.join('\n  ')}\n}`,
    '@group(1) @binding(0) var<uniform> kiln_group: KilnGroupParams;',
    `@compute @workgroup_size(${threads})`,
    'fn main(@builtin(workgroup_id) kiln_wid: vec3<u32>, @builtin(num_workgroups) kiln_nwg: vec3<u32>, @builtin(local_invocation_index) kiln_lidx: u32) {',
    '  let kiln_flat = kiln_wid.y * kiln_nwg.x + kiln_wid.x;',
    ...calls.map((c) => `  ${c}`),
    '}',
  ].join('\n');
  return { src, bindings, writes, constants, offsets };
}

/** Packs the sub-problems' params into one Params block (each truncated to its struct's size). */
/** Views of the params buffers packParams has read at replays (refilled buffers recur). */
const views = new WeakMap<ArrayBuffer, Uint8Array>();

function packParams(subs: Sub[], offsets: number[], fresh: boolean, into?: Uint8Array<ArrayBuffer>): ArrayBuffer {
  const out = into ?? new Uint8Array(PARAMS_BYTES);
  if (into) out.fill(0);
  for (let k = 0; k < subs.length; k++) {
    const s = subs[k];
    const p = fresh || !s.dyn ? s.params : s.dyn();
    // A dynamic-params function that refills one buffer hands back the same ArrayBuffer: its view is kept.
    let view = views.get(p);
    if (!view) { view = new Uint8Array(p, 0, Math.min(p.byteLength, s.paramsSize)); if (into) views.set(p, view); }
    out.set(view, offsets[k]);
  }
  return out.buffer;
}

/** The bytes [begin, end) of its buffer a binding covers. */
export function bindingBytes(b: RecordedBinding): [number, number] {
  const lo = b.offset ?? 0;
  return [lo, b.size === undefined ? b.buffer.size : lo + b.size];
}

/**
 * The bytes binding j of a dispatch may touch: the range a rewrite recorded in the kernel's `fuse.touched` (null:
 * none, an unused slot), else the whole binding.
 */
export function touchedBytes(c: Dispatch, j: number): [number, number] | null {
  const t = (c.fuse as { touched?: ([number, number] | null | undefined)[] } | undefined)?.touched?.[j];
  return t === undefined ? bindingBytes(c.bindings[j]) : t;
}

/** A byte range of a buffer: [buffer, begin, end). */
type Range = [GPUBuffer, number, number];
const rangeOf = (b: RecordedBinding): Range => [b.buffer, ...bindingBytes(b)];
const overlap = (x: Range, y: Range): boolean => x[0] === y[0] && x[1] < y[2] && y[1] < x[2];

export interface GroupReport { groups: number; grouped: number }

/**
 * Groups independent dispatches of a rewritten capture (see the file comment). A dispatch joins an earlier
 * one when nothing in between (nor the earlier one) writes what it reads or touches what it writes, when
 * the threads per workgroup agree, and when the group's bindings and params fit the device's limits.
 */
export function groupDispatches(cmds: Command[], be: Backend, report?: GroupReport): Command[] {
  const maxBindings = be.limits.maxStorageBuffersPerShaderStage;
  const asserts = be.asserts.buffer;
  const out: Command[] = [];
  /** Sub-problems of each grouped (or groupable) command in `out`, by index. */
  const subsAt = new Map<number, Sub[]>();

  // Hazards by byte range: two commands touching disjoint ranges of one buffer do not depend on each other.
  const access = (c: Command): { reads: Range[]; writes: Range[] } => {
    if (c.kind === 'dispatch') {
      const reads: Range[] = [];
      const writes: Range[] = [];
      c.bindings.forEach((b, j) => {
        if (b.buffer === asserts) return;
        const t = touchedBytes(c, j);
        if (t) (c.writes[j] ? writes : reads).push([b.buffer, t[0], t[1]]);
      });
      return { reads, writes };
    }
    if (c.kind === 'copy') return { reads: [[c.src, c.srcOffset, c.srcOffset + c.bytes]], writes: [[c.dst, c.dstOffset, c.dstOffset + c.bytes]] };
    if (c.kind === 'clear') return { reads: [], writes: [[c.buffer, c.offset, c.offset + c.bytes]] };
    return { reads: [], writes: [] };
  };

  /** A buffer bound writable by one sub-problem and read-only by another is a usage conflict in WebGPU. */
  const usageClash = (subs: Sub[]): boolean => {
    const ro = new Set<GPUBuffer>();
    const rw = new Set<GPUBuffer>();
    for (const s of subs) s.bindings.forEach((b, j) => { if (b.buffer !== asserts) (s.writes[j] ? rw : ro).add(b.buffer); });
    for (const b of rw) if (ro.has(b)) return true;
    // Writable bindings of one buffer must not overlap unless identical (then bound once): a slice stored at an
    // element offset is bound from the aligned offset below it, over its neighbours' bytes.
    const w = subs.flatMap((s) => s.bindings.filter((b, j) => s.writes[j] && b.buffer !== asserts).map(rangeOf));
    return w.some((x, i) => w.some((y, j) => j < i && overlap(x, y) && (x[1] !== y[1] || x[2] !== y[2])));
  };

  const fits = (subs: Sub[]): boolean => {
    // Equal threads per workgroup, except one-thread kernels, which run on the first thread of a wider group.
    const wide = subs.map(threadsOf).filter((t) => t > 1);
    if (wide.some((t) => t !== wide[0])) return false;
    let off = 0;
    for (const s of subs) off = Math.ceil(off / 16) * 16 + s.paramsSize;
    if (off > PARAMS_BYTES) return false;
    const total = subs.reduce((n, s) => n + s.wg[0] * s.wg[1] * s.wg[2], 0);
    if (total > be.limits.maxComputeWorkgroupsPerDimension ** 2) return false;
    // Bindings after sharing read-only ranges.
    const keys = new Set<string>();
    let n = 0;
    for (const s of subs) {
      s.bindings.forEach((b, j) => {
        const k = `${s.writes[j]}:${readKey(b, s.types[j])}`;
        if (!keys.has(k)) { keys.add(k); n++; }
      });
    }
    return n <= maxBindings && !usageClash(subs);
  };

  const build = (subs: Sub[], { src, bindings, constants, offsets }: ReturnType<typeof assembleGroup>): Dispatch => {
    const total = subs.reduce((n, s) => n + s.wg[0] * s.wg[1] * s.wg[2], 0);
    const [x, y] = be.grid(total, 1);
    const c = be.sourceCommand(`group(${subs.map((s) => s.label).join(',')})`, src, bindings, packParams(subs, offsets, true), [x, y, 1], constants) as Dispatch;
    if (subs.some((s) => s.dyn)) {
      // Replays repack into one scratch block (the uniform ring copies it at once): no allocation per replay.
      const scratch = new Uint8Array(PARAMS_BYTES);
      c.dyn = () => packParams(subs, offsets, false, scratch);
    }
    return c;
  };

  // Moving work earlier lengthens the lives of its outputs: a move that would grow the planned arena beyond
  // the ungrouped step's is not made (the planner's estimate: released buffers are transient).
  const released = new Set<GPUBuffer>();
  for (const c of cmds) if (c.kind === 'release') released.add(c.buffer);
  const arenaOf = (list: Command[]) => planBuffers(list, (b) => released.has(b), (b) => b.size, (size) => ({ size }) as GPUBuffer)
    .arena.reduce((n, b) => n + b.size, 0);
  const baseline = arenaOf(cmds);
  for (const [i, c] of cmds.entries()) {
    const sub = c.kind === 'dispatch' ? asSub(c) : null;
    if (c.kind !== 'dispatch' || !sub) { out.push(c); continue; }
    const { reads: r, writes: w } = access(c);
    // The earliest group holding the same kernel (the matching layer of the other half), else the earliest.
    const same: number[] = [];
    const other: number[] = [];
    for (let h = out.length - 1; h >= 0 && h >= out.length - WINDOW; h--) {
      const o = out[h];
      if (o.kind === 'host' && c.dyn) break;
      if (o.kind === 'release') { if (w.some(([b]) => b === o.buffer)) break; continue; }
      const a = access(o);
      const blocks = a.writes.some((x) => r.some((y) => overlap(x, y)) || w.some((y) => overlap(x, y))) ||
        a.reads.some((x) => w.some((y) => overlap(x, y)));
      if (blocks) break;
      const subs = subsAt.get(h);
      if (subs && fits([...subs, sub])) (subs.some((s) => s.label === sub.label) ? same : other).unshift(h);
    }
    // Earliest first; a group the arena cannot afford gives way to the next candidate.
    let joined = false;
    for (const best of [...same, ...other].slice(0, ARENA_TRIALS)) {
      const subs = [...subsAt.get(best)!, sub];
      const g = assembleGroup(subs, asserts);
      const probe = { ...(out[best] as Dispatch), bindings: g.bindings, writes: g.writes };
      if (arenaOf([...out.slice(0, best), probe, ...out.slice(best + 1), ...cmds.slice(i + 1)]) > baseline) continue;
      out[best] = build(subs, g);
      subsAt.set(best, subs);
      if (report) { report.grouped++; if (subs.length === 2) report.groups++; }
      joined = true;
      break;
    }
    if (joined) continue;
    subsAt.set(out.length, [sub]);
    out.push(c);
  }
  return out;
}
