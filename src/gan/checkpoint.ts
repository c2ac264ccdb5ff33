// GAN checkpoints as safetensors: both players' state dicts under PyTorch key names ("G.0.weight",
// "D.1.running_mean"), the EMA generator, both Adam states, and in the metadata the run configuration,
// the step, the optimizers' step counts and the RNG state, sealed with a CRC-32 of the whole file (header
// and tensor bytes), so a resumed run continues exactly and a damaged or edited file is refused. Every
// header field is checked for range and consistency before the checksum. Pure bytes: the CLI writes files
// (atomically).
import { getRngState, io, setRngState, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import { Adam, type Optimizer } from '../optim/optimizer.js';
import { decodeSealed, encodeSealed, SEAL_KEY, type SafeTensor } from '../io/safetensors.js';
import { toSafeTensor } from '../io/state_dict.js';
import { checkConfig, type RunConfig } from './recipes.js';
import type { GanTrainer } from './trainer.js';

export const CHECKPOINT_FORMAT = 'kiln-gan-checkpoint';
/** 2: the checksum covers the whole file (version 1 covered the tensor bytes only, so its header could be edited). */
export const CHECKPOINT_VERSION = '2';
/** Tensor groups a checkpoint may hold, by name prefix. */
const GROUPS = ['G', 'D', 'G_ema', 'optG', 'optD'];

export interface Checkpoint {
  config: RunConfig;
  step: number;
  optSteps: { G: number; D: number };
  rng: { seedLo: number; seedHi: number; offset: number };
  /** Tensors by group ('G', 'D', 'G_ema', 'optG', 'optD'), then by key. */
  groups: Map<string, Map<string, SafeTensor>>;
}

/** Serialises a trainer (call after its pending metrics are read, between steps). */
export async function encodeCheckpoint(trainer: GanTrainer, config: RunConfig): Promise<Uint8Array> {
  const s = trainer.s;
  const groups: [string, Map<string, Tensor>][] = [['G', s.G.stateDict()], ['D', s.D.stateDict()]];
  if (trainer.emaG) groups.push(['G_ema', trainer.emaG.stateDict()]);
  groups.push(['optG', s.optG.stateTensors()], ['optD', s.optD.stateTensors()]);
  const all = new Map<string, SafeTensor>();
  for (const [g, sd] of groups) for (const [k, t] of sd) all.set(`${g}.${k}`, await toSafeTensor(t));
  const rng = getRngState();
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: JSON.stringify(config), step: String(trainer.step),
    optG_step: String(s.optG.stepCount), optD_step: String(s.optD.stepCount), rng: JSON.stringify(rng),
  };
  return encodeSealed(all, metadata);
}

const METADATA_KEYS = ['format', 'version', 'config', 'step', 'optG_step', 'optD_step', 'rng', SEAL_KEY];
const U32 = 2 ** 32;

/** The header's fields, each checked for range and consistency; throws naming the first bad one. */
function checkHeader(what: string, tensors: Map<string, SafeTensor>, metadata: Record<string, string>): Checkpoint {
  const unknown = Object.keys(metadata).filter((k) => !METADATA_KEYS.includes(k));
  if (unknown.length) throw new Error(`${what}: unexpected metadata ${unknown.map((k) => JSON.stringify(k)).join(', ')}: edited header`);
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
  const optSteps = { G: int('optG_step'), D: int('optD_step') };
  // Each training step updates each player's optimizer exactly once.
  for (const [name, n] of [['optG_step', optSteps.G], ['optD_step', optSteps.D]] as const) {
    if (n !== step) throw new Error(`${what}: metadata ${name} is ${n} but step is ${step}; each step updates both optimizers once, so they must agree`);
  }
  const cfg = json('config');
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) throw new Error(`${what}: metadata config is ${JSON.stringify(cfg)}, expected an object`);
  let config: RunConfig;
  try { config = checkConfig(cfg as RunConfig); } catch (e) { throw new Error(`${what}: metadata config: ${(e as Error).message}`); }
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
  const groups = new Map<string, Map<string, SafeTensor>>();
  for (const [name, t] of tensors) {
    const dot = name.indexOf('.');
    const g = dot > 0 ? name.slice(0, dot) : '';
    if (!GROUPS.includes(g) || dot === name.length - 1) throw new Error(`${what}: unexpected tensor ${JSON.stringify(name)}`);
    if (!groups.has(g)) groups.set(g, new Map());
    groups.get(g)!.set(name.slice(dot + 1), t);
  }
  const required = ['G', 'D', ...(optSteps.G > 0 ? ['optG'] : []), ...(optSteps.D > 0 ? ['optD'] : [])];
  for (const g of required) if (!groups.has(g)) throw new Error(`${what}: has no ${g} tensors (required entries are missing)`);
  for (const g of ['optG', 'optD']) {
    for (const [k, t] of groups.get(g) ?? []) {
      if (!/^(0|[1-9][0-9]*)\.(exp_avg|exp_avg_sq|momentum_buffer)$/.test(k)) throw new Error(`${what}: unexpected optimizer entry ${g}.${k}`);
      if (t.dtype !== 'F32') throw new Error(`${what}: optimizer entry ${g}.${k} is ${t.dtype}, expected F32`);
    }
  }
  return { config, step, optSteps, rng: { seedLo: r.seedLo as number, seedHi: r.seedHi as number, offset: r.offset as number }, groups };
}

/** Parses and validates a checkpoint file's bytes; throws saying what is wrong with it. */
export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  return decodeSealed(bytes, what, ({ tensors, metadata }) => {
    if (metadata.format !== CHECKPOINT_FORMAT) {
      throw new Error(`${what}: not a Kiln GAN checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)}, expected "${CHECKPOINT_FORMAT}")`);
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
function checkState(what: string, own: Map<string, Tensor>, src: Map<string, SafeTensor> | undefined): void {
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

function loadOptimizer(what: string, opt: Optimizer, group: Map<string, SafeTensor> | undefined, steps: number): void {
  if (!(opt instanceof Adam)) throw new Error(`checkpoint: ${what} is not Adam; only Adam state is stored`);
  const state = groupTensors(group);
  opt.loadState(state, steps);
  for (const t of state.values()) t.dispose();
}

function loadModule(m: Module, group: Map<string, SafeTensor> | undefined): void {
  const sd = groupTensors(group);
  m.loadStateDict(sd);
  for (const t of sd.values()) t.dispose();
}

/** Restores a trainer built from `ck.config` to the checkpoint's state: models, optimizers, step, RNG. */
export function restoreCheckpoint(trainer: GanTrainer, ck: Checkpoint): void {
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
  const group = ck.groups.get('G_ema') ?? ck.groups.get('G');
  checkState(ck.groups.has('G_ema') ? 'G_ema' : 'G', G.stateDict(), group);
  loadModule(G, group);
  return G;
}
