// GAN checkpoints as safetensors: both players' state dicts under PyTorch key names ("G.0.weight",
// "D.1.running_mean"), the EMA generator, both Adam states, and in the metadata the run configuration,
// the step, the optimizers' step counts, the RNG state and a CRC-32 of the tensor bytes, so a resumed run
// continues exactly and a damaged file is refused. Pure bytes: the CLI writes files (atomically).
import { getRngState, io, setRngState, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import { Adam, type Optimizer } from '../optim/optimizer.js';
import { crc32 } from '../io/png.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../io/safetensors.js';
import { toSafeTensor } from '../io/state_dict.js';
import { checkConfig, type RunConfig } from './recipes.js';
import type { GanTrainer } from './trainer.js';

export const CHECKPOINT_FORMAT = 'kiln-gan-checkpoint';
export const CHECKPOINT_VERSION = '1';

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
  const body = encodeSafetensors(all);
  const rng = getRngState();
  const metadata: Record<string, string> = {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, config: JSON.stringify(config), step: String(trainer.step),
    optG_step: String(s.optG.stepCount), optD_step: String(s.optD.stepCount), rng: JSON.stringify(rng),
  };
  // The CRC covers the tensor bytes exactly as laid out, so encode once to learn the layout, then stamp it.
  const headLen = Number(new DataView(body.buffer).getBigUint64(0, true));
  metadata.crc32 = String(crc32(body, 8 + headLen));
  return encodeSafetensors(all, metadata);
}

/** Parses and validates a checkpoint file's bytes; throws saying what is wrong with it. */
export function decodeCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  const { tensors, metadata } = decodeSafetensors(bytes, what);
  if (metadata.format !== CHECKPOINT_FORMAT) {
    throw new Error(`${what}: not a Kiln GAN checkpoint (metadata format is ${JSON.stringify(metadata.format ?? null)}, expected "${CHECKPOINT_FORMAT}")`);
  }
  if (metadata.version !== CHECKPOINT_VERSION) throw new Error(`${what}: checkpoint version ${metadata.version}, this Kiln reads version ${CHECKPOINT_VERSION}`);
  const headLen = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  const crc = crc32(bytes, 8 + headLen);
  if (String(crc) !== metadata.crc32) throw new Error(`${what}: tensor data fails its CRC-32 check (stored ${metadata.crc32}, computed ${crc}): corrupt file`);
  let config: RunConfig;
  let rng: Checkpoint['rng'];
  try {
    config = checkConfig(JSON.parse(metadata.config) as RunConfig);
    rng = JSON.parse(metadata.rng) as Checkpoint['rng'];
  } catch (e) {
    throw new Error(`${what}: bad metadata: ${(e as Error).message}`);
  }
  const int = (k: string) => {
    const v = Number(metadata[k]);
    if (!Number.isInteger(v) || v < 0) throw new Error(`${what}: metadata ${k} is ${JSON.stringify(metadata[k])}, expected a non-negative integer`);
    return v;
  };
  const groups = new Map<string, Map<string, SafeTensor>>();
  for (const [name, t] of tensors) {
    const dot = name.indexOf('.');
    const g = name.slice(0, dot);
    if (!['G', 'D', 'G_ema', 'optG', 'optD'].includes(g)) throw new Error(`${what}: unexpected tensor ${name}`);
    if (!groups.has(g)) groups.set(g, new Map());
    groups.get(g)!.set(name.slice(dot + 1), t);
  }
  return { config, step: int('step'), optSteps: { G: int('optG_step'), D: int('optD_step') }, rng, groups };
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
