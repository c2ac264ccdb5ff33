// Runs one step function eagerly and through compileStep from the same initial state, and returns what each
// run gave (its outputs, read back after every run) and the state afterwards, for bit-for-bit comparison.
import { expect } from 'vitest';
import * as kiln from '../../src/index.js';

/** A seeded stream of values in [-2, 2). */
export function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return new Float32Array(n).map(() => { s = (s * 1664525 + 1013904223) >>> 0; return (s / 2 ** 32) * 4 - 2; });
}

export interface World {
  /** The step body. */
  fn: (...inputs: kiln.Tensor[]) => unknown;
  /** Tensors whose values (and .grad values) are compared after the runs. */
  state: () => kiln.Tensor[];
  /** Inputs of each run (the same list for both modes). */
  inputs?: (run: number) => kiln.Tensor[];
  dispose?: () => void;
}

export interface Trace { outputs: number[][][]; state: number[][]; grads: (number[] | null)[]; rng: unknown; stats?: kiln.CompiledStepStats }

function flatten(value: unknown, out: kiln.Tensor[]): void {
  if (value instanceof kiln.Tensor) out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => flatten(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => flatten(v, out));
}

/** Runs `make()`'s step `runs` times, eagerly or compiled, reading every run's outputs back before the next. */
export async function trace(make: () => World, compile: boolean, runs: number): Promise<Trace> {
  const w = make();
  const outputs: number[][][] = [];
  const step = kiln.compileStep(w.fn);
  for (let r = 0; r < runs; r++) {
    const inputs = w.inputs?.(r) ?? [];
    if (compile) {
      const o: kiln.Tensor[] = [];
      flatten(step.run(...inputs), o);
      outputs.push(await Promise.all(o.map(async (t) => Array.from(await t.toArray()))));
    } else {
      // Read back inside tidy's lifetime: outputs are freed once read.
      const o: kiln.Tensor[] = [];
      const res = kiln.tidy(() => { const v = w.fn(...inputs); flatten(v, o); return o; });
      outputs.push(await Promise.all(res.map(async (t) => Array.from(await t.toArray()))));
      res.forEach((t) => { if (!w.state().includes(t) && !w.state().some((s) => s.grad === t)) t.dispose(); });
    }
  }
  const st = w.state();
  const state = await Promise.all(st.map(async (t) => Array.from(await t.toArray())));
  const grads = await Promise.all(st.map(async (t) => (t.grad ? Array.from(await t.grad.toArray()) : null)));
  const tr: Trace = { outputs, state, grads, rng: kiln.getRngState(), stats: compile ? step.stats : undefined };
  step.dispose();
  w.dispose?.();
  return tr;
}

/** Compiled replays equal the eager runs bit for bit (NaN bits compared as NaN). */
export async function expectSameBits(make: () => World, runs = 5): Promise<Trace> {
  const eager = await trace(make, false, runs);
  const compiled = await trace(make, true, runs);
  expect(compiled.outputs.length).toBe(eager.outputs.length);
  eager.outputs.forEach((o, r) => o.forEach((v, j) => expect(compiled.outputs[r][j], `run ${r} output ${j}`).toEqual(v)));
  eager.state.forEach((v, j) => expect(compiled.state[j], `state ${j}`).toEqual(v));
  eager.grads.forEach((v, j) => expect(compiled.grads[j], `grad of state ${j}`).toEqual(v));
  expect(compiled.rng).toEqual(eager.rng);
  expect(compiled.stats!.replays).toBe(runs - 2);
  return compiled;
}
