// The one checkpoint format of every recipe, as safetensors: state dicts under PyTorch key names grouped by
// prefix ("G.0.weight", "D.1.running_mean"; CycleGAN: "G_A.model.1.weight", "pool_A.images"), the Adam
// states, and in the metadata the run configuration, the step, each optimizer's step count, the RNG state
// and the recipe's extra fields, sealed with a CRC-32 of the whole file (header and tensor bytes), so a
// resumed run continues exactly and a damaged or edited file is refused. Every header field is checked for
// range and consistency against the layout the recipe's table row declares, before the checksum. Pure
// bytes: the CLI writes files (atomically).
import { getRngState, io, setRngState, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import { Adam, type Optimizer } from '../optim/optimizer.js';
import { decodeSealed, encodeSealed, SEAL_KEY, type SafeTensor } from '../io/safetensors.js';
import { toSafeTensor } from '../io/state_dict.js';
import { checkConfig, recipeOf, type RunConfig } from './recipes.js';
import type { GanTrainer } from './trainer.js';

export const CHECKPOINT_FORMAT = 'kiln-gan-checkpoint';
/** 2: the checksum covers the whole file (version 1 covered the tensor bytes only, so its header could be edited). */
export const CHECKPOINT_VERSION = '2';

export interface Checkpoint {
  config: RunConfig;
  step: number;
  /** Each optimizer's step count by the layout's short name ('G', 'D'; CycleGAN: 'G', 'D_A', 'D_B'). */
  optSteps: Record<string, number>;
  rng: { seedLo: number; seedHi: number; offset: number };
  /** Tensors by group ('G', 'D', 'G_ema', 'optG', 'optD'; CycleGAN: 'G_A', ..., 'pool_B'), then by key. */
  groups: Map<string, Map<string, SafeTensor>>;
  /** The layout's extra metadata entries, parsed by their checks. */
  extra: Record<string, unknown>;
}

/**
 * Seals any trainer's state in the one checkpoint format: `parts` are (group, state dict) pairs in file order,
 * `optSteps` the optimizers' step counts by the layout's names, `extra` the layout's further metadata. Call
 * between steps, after the trainer's pending metrics are read.
 */
export async function encodeRunCheckpoint(parts: [string, Map<string, Tensor>][], config: RunConfig, step: number,
  optSteps: Record<string, number>, extra: Record<string, string> = {}): Promise<Uint8Array> {
  const layout = recipeOf(config).checkpoint;
  const all = new Map<string, SafeTensor>();
  for (const [g, sd] of parts) for (const [k, t] of sd) all.set(`${g}.${k}`, await toSafeTensor(t));
  const metadata: Record<string, string> = { format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: JSON.stringify(config), step: String(step) };
  for (const o of layout.optimizers) metadata[o.key] = String(optSteps[o.name]);
  metadata.rng = JSON.stringify(getRngState());
  for (const e of layout.extra ?? []) metadata[e.key] = extra[e.key];
  return encodeSealed(all, metadata);
}

/** Serialises a D-then-G trainer (call after its pending metrics are read, between steps). */
export async function encodeCheckpoint(trainer: GanTrainer, config: RunConfig): Promise<Uint8Array> {
  const s = trainer.s;
  const parts: [string, Map<string, Tensor>][] = [['G', s.G.stateDict()], ['D', s.D.stateDict()]];
  if (trainer.emaG) parts.push(['G_ema', trainer.emaG.stateDict()]);
  parts.push(['optG', s.optG.stateTensors()], ['optD', s.optD.stateTensors()]);
  return encodeRunCheckpoint(parts, config, trainer.step, { G: s.optG.stepCount, D: s.optD.stepCount });
}

const U32 = 2 ** 32;

/**
 * The header's fields, each checked for range and consistency against the layout of the run's recipe;
 * throws naming the first bad one.
 */
function checkHeader(what: string, tensors: Map<string, SafeTensor>, metadata: Record<string, string>): Checkpoint {
  const int = (k: string) => {
    const raw = metadata[k];
    if (raw === undefined) throw new Error(`${what}: metadata ${k} is missing`);
    const v = Number(raw);
    if (!/^(0|[1-9][0-9]*)$/.test(raw) || !Number.isSafeInteger(v)) {
      throw new Error(`${what}: metadata ${k} is ${JSON.stringify(raw)}, expected a non-negative integer`);
    }
    return v;
  };
  const json = (k: string): unknown => {
    if (metadata[k] === undefined) throw new Error(`${what}: metadata ${k} is missing`);
    try { return JSON.parse(metadata[k]); } catch (e) { throw new Error(`${what}: metadata ${k} is not valid JSON (${(e as Error).message})`); }
  };
  const step = int('step');
  const cfg = json('config');
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`${what}: metadata config is ${JSON.stringify(cfg)}, expected an object`);
  let config: RunConfig;
  try { config = checkConfig(cfg as RunConfig); } catch (e) { throw new Error(`${what}: metadata config: ${(e as Error).message}`); }
  const layout = recipeOf(config).checkpoint;
  const known = ['format', 'version', 'config', 'step', ...layout.optimizers.map((o) => o.key), 'rng', ...(layout.extra ?? []).map((e) => e.key), SEAL_KEY];
  const unknown = Object.keys(metadata).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`${what}: unexpected metadata ${unknown.map((k) => JSON.stringify(k)).join(', ')}: edited header`);
  // Each training step updates each optimizer exactly once.
  const optSteps: Record<string, number> = {};
  for (const o of layout.optimizers) {
    const n = int(o.key);
    if (n !== step) throw new Error(`${what}: metadata ${o.key} is ${n} but step is ${step}; each step updates every optimizer once, so they must agree`);
    optSteps[o.name] = n;
  }
  const r = json('rng') as Record<string, unknown> | null;
  const rngKeys = ['seedLo', 'seedHi', 'offset'];
  if (r === null || typeof r !== 'object' || Array.isArray(r) || Object.keys(r).sort().join() !== [...rngKeys].sort().join()) {
    throw new Error(`${what}: metadata rng is ${JSON.stringify(r)}, expected { seedLo, seedHi, offset }`);
  }
  for (const k of ['seedLo', 'seedHi']) {
    const v = r[k];
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) >= U32) throw new Error(`${what}: metadata rng.${k} is ${JSON.stringify(v)}, expected an integer in [0, 2^32)`);
  }
  if (!Number.isSafeInteger(r.offset) || (r.offset as number) < 0) throw new Error(`${what}: metadata rng.offset is ${JSON.stringify(r.offset)}, expected a non-negative integer`);
  const names = layout.groups.map((g) => g.name);
  const groups = new Map<string, Map<string, SafeTensor>>();
  for (const [name, t] of tensors) {
    const dot = name.indexOf('.');
    const g = dot > 0 ? name.slice(0, dot) : '';
    if (!names.includes(g) || dot === name.length - 1) throw new Error(`${what}: unexpected tensor ${JSON.stringify(name)}`);
    if (!groups.has(g)) groups.set(g, new Map());
    groups.get(g)!.set(name.slice(dot + 1), t);
  }
  const required = [...layout.groups.filter((g) => g.required).map((g) => g.name), ...layout.optimizers.filter((o) => optSteps[o.name] > 0).map((o) => o.group)];
  for (const g of required) if (!groups.has(g)) throw new Error(`${what}: has no ${g} tensors (required entries are missing)`);
  for (const { group: g } of layout.optimizers) {
    for (const [k, t] of groups.get(g) ?? []) {
      if (!/^(0|[1-9][0-9]*)\.(exp_avg|exp_avg_sq|momentum_buffer)$/.test(k)) throw new Error(`${what}: unexpected optimizer entry ${g}.${k}`);
      if (t.dtype !== 'F32') throw new Error(`${what}: optimizer entry ${g}.${k} is ${t.dtype}, expected F32`);
    }
  }
  const extra: Record<string, unknown> = {};
  for (const e of layout.extra ?? []) {
    if (metadata[e.key] === undefined) throw new Error(`${what}: metadata ${e.key} is missing`);
    try { extra[e.key] = e.check(metadata[e.key], { config, step, groups }); } catch (err) { throw new Error(`${what}: metadata ${e.key}: ${(err as Error).message}`); }
  }
  return { config, step, optSteps, rng: { seedLo: r.seedLo as number, seedHi: r.seedHi as number, offset: r.offset as number }, groups, extra };
}

/** Parses and validates a checkpoint file's bytes; throws saying what is wrong with it. */
export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  return decodeSealed(bytes, what, ({ tensors, metadata }) => {
    if (metadata.format !== CHECKPOINT_FORMAT) {
      throw new Error(`${what}: not a Kiln GAN checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)}, expected "${CHECKPOINT_FORMAT}")` +
        (metadata.format === 'kiln-cyclegan-checkpoint' ? '; CycleGAN runs now save in the common format: train the run again with this Kiln' : ''));
    }
    if (metadata.version !== CHECKPOINT_VERSION) {
      throw new Error(`${what}: checkpoint version ${JSON.stringify(metadata.version ?? null)}, this Kiln reads version ${CHECKPOINT_VERSION}` +
        (metadata.version === '1' ? ' (version 1 checksums cover the tensor bytes only; save the run again with this Kiln)' : ''));
    }
    return checkHeader(what, tensors, metadata);
  });
}

/** Kiln tensors from a group of safetensors entries. */
export function groupTensors(group: Map<string, SafeTensor> | undefined): Map<string, Tensor> {
  return io.tensorsFromSafe(group ?? new Map());
}

/** Checks keys and shapes of a state dict against a module's before anything is written. */
export function checkState(what: string, own: Map<string, Tensor>, src: Map<string, SafeTensor> | undefined): void {
  if (!src) throw new Error(`checkpoint: has no ${what} tensors`);
  const missing = [...own.keys()].filter((k) => !src.has(k));
  const unexpected = [...src.keys()].filter((k) => !own.has(k));
  if (missing.length || unexpected.length) {
    throw new Error(`checkpoint: ${what} does not match this model.` + (missing.length ? ` Missing: ${missing.join(', ')}.` : '') +
      (unexpected.length ? ` Unexpected: ${unexpected.join(', ')}.` : ''));
  }
  for (const [k, t] of own) {
    const s = src.get(k)!;
    if (s.shape.join(',') !== t.shape.join(',')) {
      throw new Error(`checkpoint: ${what}.${k} has shape [${s.shape.join(', ')}] but the model's is [${t.shape.join(', ')}]`);
    }
  }
}

export function loadOptimizer(what: string, opt: Optimizer, group: Map<string, SafeTensor> | undefined, steps: number): void {
  if (!(opt instanceof Adam)) throw new Error(`checkpoint: ${what} is not Adam; only Adam state is stored`);
  const state = groupTensors(group);
  opt.loadState(state, steps);
  for (const t of state.values()) t.dispose();
}

export function loadModule(m: Module, group: Map<string, SafeTensor> | undefined): void {
  const sd = groupTensors(group);
  m.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
}

function expectGan(ck: Checkpoint): void {
  if (recipeOf(ck.config).trainer !== 'gan') throw new Error(`checkpoint: a ${ck.config.recipe} run, not a D-then-G GAN; its own trainer restores it`);
}

/** Restores a trainer built from `ck.config` to the checkpoint's state: models, optimizers, step, RNG. */
export function restoreCheckpoint(trainer: GanTrainer, ck: Checkpoint): void {
  expectGan(ck);
  const s = trainer.s;
  checkState('G', s.G.stateDict(), ck.groups.get('G'));
  checkState('D', s.D.stateDict(), ck.groups.get('D'));
  if (trainer.emaG) checkState('G_ema', trainer.emaG.stateDict(), ck.groups.get('G_ema'));
  loadModule(s.G, ck.groups.get('G'));
  loadModule(s.D, ck.groups.get('D'));
  if (trainer.emaG) loadModule(trainer.emaG, ck.groups.get('G_ema'));
  loadOptimizer('optG', s.optG, ck.groups.get('optG'), ck.optSteps.G);
  loadOptimizer('optD', s.optD, ck.groups.get('optD'), ck.optSteps.D);
  trainer.step = ck.step;
  setRngState(ck.rng);
}

/** The generator to sample from: the EMA copy when the checkpoint has one. */
export function loadSampler(G: Module, ck: Checkpoint): Module {
  expectGan(ck);
  const group = ck.groups.get('G_ema') ?? ck.groups.get('G');
  checkState(ck.groups.has('G_ema') ? 'G_ema' : 'G', G.stateDict(), group);
  loadModule(G, group);
  return G;
}
