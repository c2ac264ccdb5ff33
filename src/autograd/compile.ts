// compileStep: run a training step once while recording its GPU work, then replay the recording for later
// steps with no per-op JavaScript (like CUDA graphs / torch.compile's "reduce-overhead" mode).
import type { Program } from '../backend/backend.js';
import type { ProgramMemory } from '../backend/program.js';
import { backend } from './context.js';
import { fusePointwise, renameSegments, resolveSegments, storeIntoCopies } from '../ops/fusion.js';
import { groupDispatches } from '../ops/fusion_group.js';
import { shapeSize, Storage, Tensor, tidy } from './tensor.js';

/** Host data fed to a compiled step (a data batch read from the CPU): written straight into the step's
 * fixed input buffer on replays, so feeding it allocates nothing. */
export interface HostInput { data: Float32Array | Int32Array; shape: readonly number[] }
/** A contiguous range of a tensor (elements [offset, offset + numel of shape)), fed to a compiled step: one
 * buffer copy into the step's fixed input buffer, no tensor made per step (a batch of rows of a dataset kept
 * on the GPU). */
export interface RangeInput { source: Tensor; offset: number; shape: readonly number[] }
type Input = Tensor | HostInput | RangeInput;

const dtypeOf = (t: Input): 'float32' | 'int32' => (t instanceof Tensor ? t.dtype : 'source' in t ? t.source.dtype
  : t.data instanceof Int32Array ? 'int32' : 'float32');

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
 * The step frees only the outputs it made: a returned parameter, .grad, input or kept tensor stays the
 * caller's. Disposing a tensor the recording uses in place (a parameter, an output) invalidates it; the next
 * run captures again. Host state that modules read while the step is captured (their training flag: train()
 * and eval()) is checked on every replay; when it changed, the step captures again in the new mode.
 * Inputs that require grad are refused: a compiled step feeds inputs through fixed buffers of its own, so
 * their gradients could not reach them.
 */
export class CompiledStep<A extends Tensor[], R> {
  // Inputs may be Tensors or HostInputs (`run` accepts either per position).
  private program: Program | null = null;
  private key = '';
  private warmed = new Set<string>();
  private inputs: Tensor[] = [];
  private inputBytes: number[] = [];
  private outputs: R | null = null;
  /** The outputs of the capture (or the last eager run) that the step made, and so frees. */
  private ownedOutputs: Tensor[] = [];
  private eagerOutputs: Tensor[] = [];
  /** Host state read during the capture, with the value it had then. */
  private guards: Guard[] = [];
  private counts = { captures: 0, replays: 0, eagerRuns: 0 };

  constructor(private readonly fn: (...inputs: A) => R) {
    if (typeof fn !== 'function') throw new Error(`compileStep: expected a function, got ${String(fn)}`);
  }

  run(...given: { [K in keyof A]: Tensor | HostInput | RangeInput }): R {
    const be = backend();
    const inputs = given as Input[];
    for (let i = 0; i < inputs.length; i++) checkInput(inputs[i], i);
    // A replay with the captured shapes builds no key string (a replay allocates nothing).
    if (this.program && this.program.valid && this.sameShapes(inputs) && this.guardsHold()) {
      this.disposeEager();
      this.feed(inputs);
      this.program.run(false);
      this.counts.replays++;
      return this.outputs!;
    }
    const key = inputs.map((t) => `${dtypeOf(t)}[${t.shape.join(',')}]`).join(' ');
    if (this.program && (!this.program.valid || key !== this.key || !this.guardsHold())) this.drop();
    this.disposeEager();
    if (!this.warmed.has(key)) {
      const r = tidy(() => {
        const r = this.fn(...(inputs.map((t) => (t instanceof Tensor ? t : 'source' in t ? rangeTensor(t) : hostTensor(t))) as A));
        this.eagerOutputs = made(r);
        return r;
      });
      this.eagerOutputs.forEach((t) => t.keep());
      this.warmed.add(key);
      this.counts.eagerRuns++;
      return r;
    }
    this.inputs = inputs.map((t) => Tensor.empty(t.shape, dtypeOf(t)).keep());
    this.inputBytes = this.inputs.map((t) => t.numel * 4);
    this.feed(inputs);
    be.beginRecording();
    let r: R;
    const guards = new Map<object, Guard>();
    capturing = guards;
    try {
      r = tidy(() => {
        const r = this.fn(...(this.inputs as A));
        this.ownedOutputs = made(r);
        return r;
      });
    } catch (e) {
      capturing = null;
      be.abortRecording();
      this.inputs.forEach((t) => t.dispose());
      this.inputs = [];
      throw e;
    }
    capturing = null;
    this.guards = [...guards.values()];
    this.ownedOutputs.forEach((t) => t.keep());
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

  /** Whether the inputs have the captured recording's dtypes and shapes. */
  private sameShapes(inputs: Input[]): boolean {
    const fixed = this.inputs;
    if (inputs.length !== fixed.length) return false;
    for (let i = 0; i < inputs.length; i++) {
      const t = inputs[i], f = fixed[i];
      if (dtypeOf(t) !== f.dtype || t.shape.length !== f.shape.length) return false;
      for (let d = 0; d < f.shape.length; d++) if (t.shape[d] !== f.shape[d]) return false;
    }
    return true;
  }

  private feed(inputs: Input[]): void {
    const be = backend();
    for (let i = 0; i < inputs.length; i++) {
      const t = inputs[i];
      const dst = this.inputs[i];
      if (t instanceof Tensor) {
        if (t !== dst) be.copy(t.buffer, t.byteOffset, dst.buffer, dst.byteOffset, t.numel * 4);
      } else if ('source' in t) {
        be.copy(t.source.buffer, t.source.byteOffset + t.offset * 4, dst.buffer, dst.byteOffset, this.inputBytes[i]);
      } else {
        be.writeNow(dst.buffer, dst.byteOffset, t.data);
      }
    }
  }

  private drop(): void {
    const p = this.program;
    this.program = null;
    p?.invalidate('disposed');
    this.ownedOutputs.forEach((t) => t.dispose());
    this.ownedOutputs = [];
    this.outputs = null;
    this.guards = [];
    this.inputs.forEach((t) => t.dispose());
    this.inputs = [];
  }

  /** Whether the host state read during the capture still has the captured values. */
  private guardsHold(): boolean {
    const g = this.guards;
    for (let i = 0; i < g.length; i++) if (g[i].read() !== g[i].value) return false;
    return true;
  }

  private disposeEager(): void {
    if (this.eagerOutputs.length === 0) return;
    this.eagerOutputs.forEach((t) => t.dispose());
    this.eagerOutputs = [];
  }
}

interface Guard { read: () => unknown; value: unknown }
/** The guards of the capture in progress (null outside a capture). */
let capturing: Map<object, Guard> | null = null;

/**
 * Records that the step being captured read host state (`read()`, keyed by its owner): replays check it and
 * capture again when it changed. A no-op outside a capture. Modules call it for their training flag.
 */
export function guardCapture(owner: object, read: () => unknown): void {
  if (capturing && !capturing.has(owner)) capturing.set(owner, { read, value: read() });
}

/** Whether a compiled step is being captured now. */
export function isCapturing(): boolean { return capturing !== null; }

/** The tensors in a step's result that the step itself made (in its tidy scope, not kept elsewhere). */
function made(r: unknown): Tensor[] {
  const outs: Tensor[] = [];
  collect(r, outs);
  return [...new Set(outs)].filter((t) => t._inInnermostScope);
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

function checkInput(t: Input, i: number): void {
  if (t instanceof Tensor) {
    if (t.isDisposed) throw new Error(`compileStep: input ${i} (tensor #${t.id}) was disposed`);
    if (t.requiresGrad) {
      throw new Error(`compileStep: input ${i} (tensor #${t.id}) requires grad; a compiled step feeds its inputs through ` +
        'fixed buffers of its own, so their gradients could not reach them (pass x.detach(), or read the tensor inside the step as a parameter)');
    }
    return;
  }
  if (t && typeof t === 'object' && 'source' in t) {
    const r = t as RangeInput;
    if (!(r.source instanceof Tensor) || r.source.isDisposed) throw new Error(`compileStep: input ${i}'s source must be a live Tensor`);
    if (!Array.isArray(r.shape) || !Number.isInteger(r.offset) || r.offset < 0 || r.offset + shapeSize(r.shape) > shapeSize(r.source.shape)) {
      throw new Error(`compileStep: input ${i}: range [${r.offset}, +${Array.isArray(r.shape) ? shapeSize(r.shape) : '?'}) ` +
        `is not inside its source's ${r.source.numel} values`);
    }
    return;
  }
  if (!t || typeof t !== 'object' || !(t.data instanceof Float32Array || t.data instanceof Int32Array) || !Array.isArray(t.shape)) {
    throw new Error(`compileStep: input ${i} must be a Tensor, { data: Float32Array | Int32Array, shape } or { source, offset, shape }, got ${String(t)}`);
  }
  if (shapeSize(t.shape) !== t.data.length) {
    throw new Error(`compileStep: input ${i} has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
  }
}

/** A tensor holding a range of another (the eager warm-up run's inputs). */
function rangeTensor(r: RangeInput): Tensor {
  const t = Tensor.empty(r.shape, r.source.dtype);
  backend().copy(r.source.buffer, r.source.byteOffset + r.offset * 4, t.buffer, t.byteOffset, t.numel * 4);
  return t;
}

/** A tensor holding host data (the eager warm-up run's inputs). */
function hostTensor(h: HostInput): Tensor {
  const b = backend();
  return new Tensor(new Storage(b, b.upload(h.data)), h.shape, h.data instanceof Int32Array ? 'int32' : 'float32');
}
