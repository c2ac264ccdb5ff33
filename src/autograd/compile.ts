// compileStep: run a training step once while recording its GPU work, then replay the recording for later
// steps with no per-op JavaScript (like CUDA graphs / torch.compile's "reduce-overhead" mode).
import type { Program } from '../backend/backend.js';
import type { ProgramMemory } from '../backend/program.js';
import { backend } from './context.js';
import { fusePointwise, renameSegments, resolveSegments, storeIntoCopies } from '../ops/fusion.js';
import { groupDispatches } from '../ops/fusion_group.js';
import { Storage, Tensor, tidy } from './tensor.js';

/** Host data fed to a compiled step (a data batch read from the CPU): written straight into the step's
 * fixed input buffer on replays, so feeding it allocates nothing. */
export interface HostInput { data: Float32Array | Int32Array; shape: readonly number[] }
type Input = Tensor | HostInput;

export interface CompiledStepStats {
  /** Times the step was captured (a new input shape or a disposed tensor it used forces a new capture). */
  captures: number;
  /** Runs served by replaying the recording. */
  replays: number;
  /** Runs executed eagerly (the warm-up run before each capture). */
  eagerRuns: number;
  /** Dispatches one replay encodes. */
  dispatches: number;
  /** Commands one replay encodes, by kernel name (and 'copy' / 'clear'). */
  kernels: Record<string, number>;
  /** The current recording's buffer plan (null before the first capture). */
  memory: ProgramMemory | null;
}

function collect(value: unknown, out: Tensor[]): void {
  if (value instanceof Tensor) out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => collect(v, out));
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach((v) => collect(v, out));
}

/**
 * A step function compiled by compileStep. `run(...inputs)` executes the step:
 * 1. the first run with a given set of input shapes runs `fn` eagerly (it creates lazily built state such as
 *    optimizer moments, and compiles the pipelines);
 * 2. the second run executes `fn` once more while recording every dispatch, copy and clear it issues; the
 *    recording's intermediate buffers get a planned arena;
 * 3. every later run copies the inputs into the recording's fixed input buffers and re-encodes the recorded
 *    work: no op code, no graph, no allocation. Host state that ops advance each step (the RNG offset, an
 *    optimizer's step count, batch norm's num_batches_tracked, anything registered with onReplay) advances
 *    exactly as in the eager run, so results are bit-identical to running `fn` every time.
 *
 * Rules for `fn`: synchronous; no readbacks inside; everything that changes between steps must come in as an
 * input tensor or from state the ops themselves advance (random ops, optimizers) — a plain JavaScript number
 * baked into an op is replayed with the value it had at capture. Returned tensors are the step's outputs:
 * after a replay they are the same tensor objects with new values, valid until the next run (clone to keep).
 * Disposing a tensor the recording uses in place (a parameter, an output) invalidates it; the next run
 * captures again.
 */
export class CompiledStep<A extends Tensor[], R> {
  // Inputs may be Tensors or HostInputs (`run` accepts either per position).
  private program: Program | null = null;
  private key = '';
  private warmed = new Set<string>();
  private inputs: Tensor[] = [];
  private outputs: R | null = null;
  private eagerOutputs: Tensor[] = [];
  private counts = { captures: 0, replays: 0, eagerRuns: 0 };

  constructor(private readonly fn: (...inputs: A) => R) {
    if (typeof fn !== 'function') throw new Error(`compileStep: expected a function, got ${String(fn)}`);
  }

  run(...given: { [K in keyof A]: Tensor | HostInput }): R {
    const be = backend();
    const inputs = given as Input[];
    inputs.forEach((t, i) => {
      if (t instanceof Tensor) {
        if (t.isDisposed) throw new Error(`compileStep: input ${i} (tensor #${t.id}) was disposed`);
      } else if (!t || typeof t !== 'object' || !(t.data instanceof Float32Array || t.data instanceof Int32Array) || !Array.isArray(t.shape)) {
        throw new Error(`compileStep: input ${i} must be a Tensor or { data: Float32Array | Int32Array, shape }, got ${String(t)}`);
      } else if (t.shape.reduce((p, q) => p * q, 1) !== t.data.length) {
        throw new Error(`compileStep: input ${i} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
      }
    });
    const dtypeOf = (t: Input) => (t instanceof Tensor ? t.dtype : t.data instanceof Int32Array ? 'int32' : 'float32');
    const key = inputs.map((t) => `${dtypeOf(t)}[${t.shape.join(',')}]`).join(' ');
    if (this.program && (!this.program.valid || key !== this.key)) this.drop();
    this.disposeEager();
    if (this.program) {
      this.feed(inputs);
      this.program.run(false);
      this.counts.replays++;
      return this.outputs!;
    }
    if (!this.warmed.has(key)) {
      const r = tidy(() => this.fn(...(inputs.map((t) => (t instanceof Tensor ? t : hostTensor(t))) as A)));
      collect(r, this.eagerOutputs);
      this.eagerOutputs.forEach((t) => t.keep());
      this.warmed.add(key);
      this.counts.eagerRuns++;
      return r;
    }
    this.inputs = inputs.map((t) => Tensor.empty(t.shape, dtypeOf(t)).keep());
    this.feed(inputs);
    be.beginRecording();
    let r: R;
    try {
      r = tidy(() => this.fn(...(this.inputs as A)));
    } catch (e) {
      be.abortRecording();
      this.inputs.forEach((t) => t.dispose());
      this.inputs = [];
      throw e;
    }
    const outs: Tensor[] = [];
    collect(r, outs);
    outs.forEach((t) => t.keep());
    this.program = be.endRecording((cmds, spare) => {
      const { cmds: renamed, origin } = renameSegments(cmds);
      return resolveSegments(groupDispatches(storeIntoCopies(fusePointwise(renamed, be), be), be), origin, spare);
    });
    this.key = key;
    this.outputs = r;
    this.counts.captures++;
    this.program.run(true);
    return r;
  }

  /** Counters and the buffer plan of the current recording. */
  get stats(): CompiledStepStats {
    return { ...this.counts, dispatches: this.program?.dispatchCount ?? 0, kernels: { ...this.program?.kernels }, memory: this.program?.memory ?? null };
  }

  /** Frees the recording's arena, its fixed inputs and outputs. */
  dispose(): void {
    this.drop();
    this.disposeEager();
  }

  private feed(inputs: Input[]): void {
    const be = backend();
    inputs.forEach((t, i) => {
      const dst = this.inputs[i];
      if (!(t instanceof Tensor)) be.writeNow(dst.buffer, dst.byteOffset, t.data);
      else if (t !== dst) be.copy(t.buffer, t.byteOffset, dst.buffer, dst.byteOffset, t.numel * 4);
    });
  }

  private drop(): void {
    const p = this.program;
    this.program = null;
    p?.invalidate('disposed');
    const outs: Tensor[] = [];
    collect(this.outputs, outs);
    outs.forEach((t) => t.dispose());
    this.outputs = null;
    this.inputs.forEach((t) => t.dispose());
    this.inputs = [];
  }

  private disposeEager(): void {
    this.eagerOutputs.forEach((t) => t.dispose());
    this.eagerOutputs = [];
  }
}

/** Compiles a step function; see CompiledStep. */
export function compileStep<A extends Tensor[], R>(fn: (...inputs: A) => R): CompiledStep<A, R> {
  if (typeof fn !== 'function') throw new Error(`compileStep: fn must be a function, got ${fn === null ? 'null' : typeof fn}`);
  if (fn.constructor.name === 'AsyncFunction') {
    throw new Error('compileStep: fn must be synchronous (an async function returns before its GPU work is recorded); ' +
      'read results with await after calling the compiled step');
  }
  return new CompiledStep(fn);
}

/**
 * Registers host state to advance on every replay of the step being captured, in the order the eager code
 * advanced it (no-op outside a capture: eager code performs the change itself).
 */
export function onReplay(fn: () => void): void {
  backend().onReplay(fn);
}

/** A tensor holding host data (the eager warm-up run's inputs). */
function hostTensor(h: HostInput): Tensor {
  const b = backend();
  return new Tensor(new Storage(b, b.upload(h.data)), h.shape, h.data instanceof Int32Array ? 'int32' : 'float32');
}
