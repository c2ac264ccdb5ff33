// CycleGAN checkpoints as safetensors: the four networks under the reference's names (G_A, G_B, D_A, D_B,
// each with PyTorch's state dict keys), the three Adam states, both image pools, and in the metadata the run
// configuration, the step, the optimizers' step counts, the RNG state, the pools' fill counts and PRNG states,
// and a CRC-32 of the tensor bytes. Restoring one continues the run bit for bit.
import { getRngState, io, setRngState, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import { crc32 } from '../io/png.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { toSafeTensor } from '../io/state_dict.js';
import type { optim } from '../index.js';
import type { CycleGanTrainer } from './cyclegan.js';
import { checkConfig } from './recipes.js';
import type { RunConfig } from './recipe.js';

export const CYCLEGAN_CHECKPOINT_FORMAT = 'kiln-cyclegan-checkpoint';
const VERSION = '1';
const GROUPS = ['G_A', 'G_B', 'D_A', 'D_B', 'optG', 'optD_A', 'optD_B', 'pool_A', 'pool_B'] as const;

export interface CycleGanCheckpoint {
  config: RunConfig;
  step: number;
  meta: { optG: number; optD_A: number; optD_B: number; poolA: [number, number]; poolB: [number, number] };
  rng: { seedLo: number; seedHi: number; offset: number };
  groups: Map<string, Map<string, SafeTensor>>;
}

function parts(t: CycleGanTrainer): [string, Map<string, Tensor>][] {
  const s = t.s;
  return [
    ['G_A', s.GA.stateDict()], ['G_B', s.GB.stateDict()], ['D_A', s.DA.stateDict()], ['D_B', s.DB.stateDict()],
    ['optG', s.optG.stateTensors()], ['optD_A', s.optDA.stateTensors()], ['optD_B', s.optDB.stateTensors()],
    ['pool_A', new Map([['images', s.poolA.images]])], ['pool_B', new Map([['images', s.poolB.images]])],
  ];
}

/** Serialises a trainer (after its pending metrics are read, between steps). */
export async function encodeCycleGanCheckpoint(trainer: CycleGanTrainer, config: RunConfig): Promise<Uint8Array> {
  const all = new Map<string, SafeTensor>();
  for (const [g, sd] of parts(trainer)) for (const [k, t] of sd) all.set(`${g}.${k}`, await toSafeTensor(t));
  const s = trainer.s;
  const metadata: Record<string, string> = {
    format: CYCLEGAN_CHECKPOINT_FORMAT, version: VERSION, config: JSON.stringify(config), step: String(trainer.step),
    meta: JSON.stringify({ optG: s.optG.stepCount, optD_A: s.optDA.stepCount, optD_B: s.optDB.stepCount,
      poolA: [s.poolA.count, s.poolA.rng.state], poolB: [s.poolB.count, s.poolB.rng.state] }),
    rng: JSON.stringify(getRngState()),
  };
  const body = encodeSafetensors(all);
  const headLen = Number(new DataView(body.buffer).getBigUint64(0, true));
  metadata.crc32 = String(crc32(body, 8 + headLen));
  return encodeSafetensors(all, metadata);
}

/** True when the bytes are a CycleGAN checkpoint (checks the header only). */
export function isCycleGanCheckpointBytes(bytes: Uint8Array): boolean {
  try {
    return decodeSafetensors(bytes).metadata.format === CYCLEGAN_CHECKPOINT_FORMAT;
  } catch {
    return false;
  }
}

/** Parses and validates a CycleGAN checkpoint; throws saying what is wrong with it. */
export function decodeCycleGanCheckpoint(bytes: Uint8Array, what = 'checkpoint'): CycleGanCheckpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format !== CYCLEGAN_CHECKPOINT_FORMAT) throw new Error(`${what}: not a Kiln CycleGAN checkpoint (format ${JSON.stringify(metadata.format ?? null)})`);
  if (metadata.version !== VERSION) throw new Error(`${what}: CycleGAN checkpoint version ${metadata.version}, this Kiln reads version ${VERSION}`);
  const headLen = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const crc = crc32(bytes, 8 + headLen);
  if (String(crc) !== metadata.crc32) throw new Error(`${what}: tensor data fails its CRC-32 check (stored ${metadata.crc32}, computed ${crc}): corrupt file`);
  let config: RunConfig;
  let meta: CycleGanCheckpoint['meta'];
  let rng: CycleGanCheckpoint['rng'];
  try {
    config = checkConfig(JSON.parse(metadata.config) as RunConfig);
    meta = JSON.parse(metadata.meta) as CycleGanCheckpoint['meta'];
    rng = JSON.parse(metadata.rng) as CycleGanCheckpoint['rng'];
  } catch (e) {
    throw new Error(`${what}: bad metadata: ${(e as Error).message}`);
  }
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new Error(`${what}: metadata step is ${JSON.stringify(metadata.step)}, expected a non-negative integer`);
  const groups = new Map<string, Map<string, SafeTensor>>();
  for (const [name, t] of tensors) {
    const dot = name.indexOf('.');
    const g = name.slice(0, dot);
    if (!(GROUPS as readonly string[]).includes(g)) throw new Error(`${what}: unexpected tensor ${name}`);
    if (!groups.has(g)) groups.set(g, new Map());
    groups.get(g)!.set(name.slice(dot + 1), t);
  }
  return { config, step, meta, rng, groups };
}

function checkGroup(what: string, own: Map<string, Tensor>, src: Map<string, SafeTensor> | undefined, optional = false): void {
  if (!src) {
    if (optional && own.size === 0) return;
    throw new Error(`checkpoint: has no ${what} tensors`);
  }
  const missing = [...own.keys()].filter((k) => !src.has(k));
  const unexpected = [...src.keys()].filter((k) => !own.has(k));
  if (!optional && (missing.length || unexpected.length)) {
    throw new Error(`checkpoint: ${what} does not match this model.` + (missing.length ? ` Missing: ${missing.join(', ')}.` : '') +
      (unexpected.length ? ` Unexpected: ${unexpected.join(', ')}.` : ''));
  }
  for (const [k, t] of own) {
    const s = src.get(k);
    if (s && s.shape.join(',') !== t.shape.join(',')) throw new Error(`checkpoint: ${what}.${k} has shape [${s.shape.join(', ')}] but the model's is [${t.shape.join(', ')}]`);
  }
}

function loadInto(m: Module, group: Map<string, SafeTensor>): void {
  const sd = io.tensorsFromSafe(group);
  m.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
}

function loadAdam(opt: optim.Adam, group: Map<string, SafeTensor> | undefined, steps: number): void {
  const sd = io.tensorsFromSafe(group ?? new Map());
  opt.loadState(sd, steps);
  for (const t of sd.values()) t.dispose();
}

/** Restores a trainer built from `ck.config`: networks, optimizers, pools, step and RNG. Checks everything first. */
export function restoreCycleGanCheckpoint(trainer: CycleGanTrainer, ck: CycleGanCheckpoint): void {
  const s = trainer.s;
  const nets: [string, Module][] = [['G_A', s.GA], ['G_B', s.GB], ['D_A', s.DA], ['D_B', s.DB]];
  for (const [n, m] of nets) checkGroup(n, m.stateDict(), ck.groups.get(n));
  for (const [n, pool] of [['pool_A', s.poolA], ['pool_B', s.poolB]] as const) checkGroup(n, new Map([['images', pool.images]]), ck.groups.get(n));
  for (const [n, m] of nets) loadInto(m, ck.groups.get(n)!);
  loadAdam(s.optG, ck.groups.get('optG'), ck.meta.optG);
  loadAdam(s.optDA, ck.groups.get('optD_A'), ck.meta.optD_A);
  loadAdam(s.optDB, ck.groups.get('optD_B'), ck.meta.optD_B);
  for (const [n, pool, m] of [['pool_A', s.poolA, ck.meta.poolA], ['pool_B', s.poolB, ck.meta.poolB]] as const) {
    const t = io.tensorsFromSafe(ck.groups.get(n)!);
    pool.images.copy_(t.get('images')!);
    t.get('images')!.dispose();
    pool.count = m[0];
    pool.rng.state = m[1] >>> 0;
  }
  trainer.step = ck.step;
  setRngState(ck.rng);
}

/** One generator of a checkpoint ('G_A' translates A to B) loaded into `G`. */
export function loadCycleGenerator(G: Module, ck: CycleGanCheckpoint, which: 'G_A' | 'G_B'): Module {
  checkGroup(which, G.stateDict(), ck.groups.get(which));
  loadInto(G, ck.groups.get(which)!);
  return G;
}
