// CycleGAN checkpoints in the one checkpoint format of checkpoint.ts (sealed over the whole file, every header
// field checked against the recipe's layout, CYCLEGAN_CHECKPOINT): the four networks under the reference's
// names (G_A, G_B, D_A, D_B, each with PyTorch's state dict keys), the three Adam states, both image pools,
// and the pools' fill counts and PRNG states. Restoring one continues the run bit for bit.
import { io, setRngState, type Tensor } from '../index.js';
import type { Module } from '../nn/module.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { checkState, decodeCheckpoint, encodeRunCheckpoint, loadModule, loadOptimizer, type Checkpoint } from './checkpoint.js';
import type { CycleGanTrainer } from './cyclegan.js';
import type { PoolStates } from './cyclegan_task.js';
import { recipeOf } from './recipes.js';
import type { RunConfig } from './recipe.js';

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
  const s = trainer.s;
  const pools: PoolStates = { A: [s.poolA.count, s.poolA.rng.state], B: [s.poolB.count, s.poolB.rng.state] };
  return encodeRunCheckpoint(parts(trainer), config, trainer.step,
    { G: s.optG.stepCount, D_A: s.optDA.stepCount, D_B: s.optDB.stepCount }, { pools: JSON.stringify(pools) });
}

/** A CycleGAN checkpoint: the one checkpoint format (groups G_A ... pool_B, optSteps G / D_A / D_B, extra.pools). */
export type CycleGanCheckpoint = Checkpoint;

/** True when the bytes are a checkpoint of a CycleGAN run (reads the header only; decode it to check it). */
export function isCycleGanCheckpointBytes(bytes: Uint8Array): boolean {
  try {
    const config = JSON.parse(decodeSafetensors(bytes).metadata.config ?? 'null') as RunConfig | null;
    return config !== null && typeof config === 'object' && recipeOf(config).trainer === 'cyclegan';
  } catch {
    return false;
  }
}

/** Parses and validates a CycleGAN checkpoint (decodeCheckpoint, then a check that the run is a CycleGAN one). */
export function decodeCycleGanCheckpoint(bytes: Uint8Array, what = 'checkpoint'): Checkpoint {
  const ck = decodeCheckpoint(bytes, what);
  if (recipeOf(ck.config).trainer !== 'cyclegan') throw new Error(`${what}: a ${ck.config.recipe} run, not a CycleGAN one`);
  return ck;
}

/** Restores a trainer built from `ck.config`: networks, optimizers, pools, step and RNG. Checks everything first. */
export function restoreCycleGanCheckpoint(trainer: CycleGanTrainer, ck: Checkpoint): void {
  if (recipeOf(ck.config).trainer !== 'cyclegan') throw new Error(`checkpoint: a ${ck.config.recipe} run, not a CycleGAN one`);
  const s = trainer.s;
  const nets: [string, Module][] = [['G_A', s.GA], ['G_B', s.GB], ['D_A', s.DA], ['D_B', s.DB]];
  for (const [n, m] of nets) checkState(n, m.stateDict(), ck.groups.get(n));
  for (const [n, pool] of [['pool_A', s.poolA], ['pool_B', s.poolB]] as const) checkState(n, new Map([['images', pool.images]]), ck.groups.get(n));
  for (const [n, m] of nets) loadModule(m, ck.groups.get(n));
  loadOptimizer('optG', s.optG, ck.groups.get('optG'), ck.optSteps.G);
  loadOptimizer('optD_A', s.optDA, ck.groups.get('optD_A'), ck.optSteps.D_A);
  loadOptimizer('optD_B', s.optDB, ck.groups.get('optD_B'), ck.optSteps.D_B);
  const pools = ck.extra.pools as PoolStates;
  for (const [n, pool, m] of [['pool_A', s.poolA, pools.A], ['pool_B', s.poolB, pools.B]] as const) {
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
export function loadCycleGenerator(G: Module, ck: Checkpoint, which: 'G_A' | 'G_B'): Module {
  checkState(which, G.stateDict(), ck.groups.get(which));
  loadModule(G, ck.groups.get(which));
  return G;
}
