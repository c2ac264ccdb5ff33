// Optimizers: each step is one fused kernel dispatch per parameter (Adam, SGD), with PyTorch's update rules
// and defaults. State tensors live outside tidy() scopes until the optimizer is disposed.
import { Storage, Tensor } from '../autograd/tensor.js';
import { noGrad } from '../autograd/context.js';
import * as F from '../ops/functional.js';
import { ADAM_MULTI_SLOTS, adamMulti, adamMultiFits, adamStep, sgdStep } from '../ops/kernels.js';
import { onReplay } from '../autograd/compile.js';
import { arg, argTypes as T, bindArgs, type PyArgs } from '../signature.js';

const betasType = {
  expected: 'a pair of numbers',
  check: (v: unknown) => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number'),
};

function check(opt: string, name: string, v: number, ok: boolean, expected: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok) throw new Error(`${opt}: invalid ${name} ${v} (expected ${expected})`);
}

/** PyTorch's warning, shown once per process. */
let warnedDuplicates = false;

/** An optimizer's state as PyTorch's state_dict(): the state tensors (its own, not copies) and the hyperparameters. */
export interface OptimizerStateDict {
  /** State tensors by "<param index>.<name>" (exp_avg, exp_avg_sq, momentum_buffer). */
  state: Map<string, Tensor>;
  /** One group, as PyTorch's param_groups: hyperparameters by camelCase name, and the parameter indices. */
  paramGroups: [Record<string, number | boolean | number[]> & { params: number[] }];
  stepCount: number;
}

export abstract class Optimizer {
  readonly params: Tensor[];
  /** Steps taken (shared by all parameters, as each step updates them all). */
  stepCount = 0;
  private _lr = 0;

  /** The learning rate: read at every step (and every replay of a compiled step), so a scheduler may change it. */
  get lr(): number { return this._lr; }
  set lr(v: number) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new Error(`${this.name}: invalid lr ${typeof v === 'string' ? JSON.stringify(v) : String(v)} (expected a finite number >= 0)`);
    }
    this._lr = v;
  }

  constructor(readonly name: string, params: Iterable<Tensor>) {
    const iterable = params !== null && typeof params === 'object' && typeof (params as Iterable<Tensor>)[Symbol.iterator] === 'function';
    if (!iterable) {
      const hint = params && typeof (params as { parameters?: unknown }).parameters === 'function' ? ' (pass model.parameters(), not the model)' : '';
      throw new Error(`${name}: params must be an iterable of tensors${hint}, got ${params === null ? 'null' : typeof params}`);
    }
    const all = [...params];
    this.params = [...new Set(all)];
    if (this.params.length < all.length && !warnedDuplicates) {
      warnedDuplicates = true;
      console.warn(`kiln: ${name}: optimizer contains a parameter group with duplicate parameters (${all.length - this.params.length} ` +
        'listed twice); each is updated once');
    }
    if (this.params.length === 0) throw new Error(`${name}: got an empty parameter list`);
    this.params.forEach((p, i) => {
      if (!(p instanceof Tensor)) {
        throw new Error(`${name}: parameter ${i} is not a Tensor (got ${p === null ? 'null' : typeof p}; parameter groups ` +
          'are not supported: make one optimizer per group)');
      }
      if (p.isDisposed) throw new Error(`${name}: parameter ${i} (tensor #${p.id}, shape [${p.shape.join(', ')}]) was disposed`);
      if (!p.requiresGrad) throw new Error(`${name}: parameter ${i} (shape [${p.shape.join(', ')}]) does not require grad`);
      if (!p.isLeaf) throw new Error(`${name}: parameter ${i} is not a leaf tensor`);
    });
  }

  /** Sets every parameter's .grad to null (PyTorch's zero_grad(set_to_none=True)). */
  zeroGrad(): void {
    for (const p of this.params) { p.grad?.dispose(); p.grad = null; }
  }

  /** Applies one update to every parameter that has a gradient. */
  abstract step(): void;

  /** Throws before any update when a parameter (or its gradient) was disposed: it is never skipped silently. */
  protected checkParams(): void {
    this.params.forEach((p, i) => {
      if (p.isDisposed) {
        throw new Error(`${this.name}.step: parameter ${i} (tensor #${p.id}, shape [${p.shape.join(', ')}]) was disposed; ` +
          'build the optimizer again over the live parameters');
      }
      if (p.grad?.isDisposed) throw new Error(`${this.name}.step: the gradient of parameter ${i} was disposed`);
    });
  }

  /** Counts a step, now and on every replay of a compiled step that captured this call. */
  protected countStep(): void {
    this.stepCount++;
    onReplay(() => { this.stepCount++; });
  }

  /** Optimizer state by name, e.g. "0.exp_avg"; plus the step count. */
  abstract stateTensors(): Map<string, Tensor>;

  /** The hyperparameters as PyTorch's param_groups entry names them (camelCase). */
  protected abstract hyperparameters(): Record<string, number | boolean | number[]>;

  /** Copies saved state tensors into this optimizer's own (checked before anything is written). */
  protected abstract loadState(state: Map<string, Tensor>, stepCount: number): void;

  /** PyTorch's optimizer.state_dict(): the state tensors are the optimizer's own, not copies. */
  stateDict(): OptimizerStateDict {
    return {
      state: this.stateTensors(),
      paramGroups: [{ ...this.hyperparameters(), params: this.params.map((_, i) => i) }],
      stepCount: this.stepCount,
    };
  }

  /** PyTorch's optimizer.load_state_dict(): hyperparameters, step count and state, all checked before any is set. */
  loadStateDict(sd: OptimizerStateDict): void {
    const what = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || !(sd.state instanceof Map) || !Array.isArray(sd.paramGroups)) {
      throw new Error(`${what}: expected { state: Map, paramGroups: [...], stepCount } as stateDict() returns, got ${sd === null ? 'null' : typeof sd}`);
    }
    if (sd.paramGroups.length !== 1) throw new Error(`${what}: Kiln optimizers have one parameter group, the state dict has ${sd.paramGroups.length}`);
    const g = sd.paramGroups[0];
    if (!Array.isArray(g?.params) || g.params.length !== this.params.length) {
      throw new Error(`${what}: the state dict's group has ${Array.isArray(g?.params) ? g.params.length : 'no'} parameters, this optimizer has ${this.params.length}`);
    }
    if (!Number.isSafeInteger(sd.stepCount) || sd.stepCount < 0) throw new Error(`${what}: stepCount must be a non-negative integer, got ${String(sd.stepCount)}`);
    const own = this.hyperparameters();
    for (const k of Object.keys(g)) if (k !== 'params' && !(k in own)) throw new Error(`${what}: unknown hyperparameter '${k}'; ${this.name} has ${Object.keys(own).join(', ')}`);
    for (const [k, t] of sd.state) {
      if (!(t instanceof Tensor)) throw new Error(`${what}: state ${k} is not a Tensor`);
      if (t.isDisposed) throw new Error(`${what}: state ${k} (tensor #${t.id}) was used after dispose()`);
    }
    if (g.lr !== undefined) { const lr = this.lr; this.lr = g.lr as number; this._lr = lr; }
    this.loadState(sd.state, sd.stepCount);
    for (const [k, v] of Object.entries(g)) if (k !== 'params') (this as unknown as Record<string, unknown>)[k] = Array.isArray(v) ? [...v] : v;
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const t of this.stateTensors().values()) t.dispose();
  }
}

export interface AdamOptions { lr?: number; betas?: [number, number]; eps?: number; weightDecay?: number; amsgrad?: false }

/** Moments start on 256-byte boundaries inside the flat buffers, so each view can also be bound on its own. */
const ALIGN_ELEMS = 64;

export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  /** Every parameter's exp_avg / exp_avg_sq, in two flat buffers (views below), made at the first step. */
  private flat: { m: Tensor; v: Tensor; offsets: number[] } | null = null;
  private m: (Tensor | null)[];
  private v: (Tensor | null)[];
  /** Parameters that have had a step (PyTorch keeps state only for those). */
  private touched: boolean[];

  /** `new Adam(params, lr = 1e-3, betas = [0.9, 0.999], eps = 1e-8, weightDecay = 0)`, or those as options. */
  constructor(params: Iterable<Tensor>,
    ...rest: PyArgs<[lr: number, betas: [number, number], eps: number, weightDecay: number, amsgrad: false], AdamOptions>);
  constructor(params: Iterable<Tensor>, ...args: unknown[]) {
    const o = bindArgs<Required<AdamOptions>>('Adam', [arg('lr', T.number(), 1e-3), arg('betas', betasType, [0.9, 0.999]),
      arg('eps', T.number(), 1e-8), arg('weightDecay', T.number(), 0),
      arg('amsgrad', T.oneOf(false), false)], args);
    super('Adam', params);
    this.lr = o.lr;
    this.betas = [o.betas[0], o.betas[1]];
    this.eps = o.eps;
    this.weightDecay = o.weightDecay;
    check('Adam', 'beta1', this.betas[0], this.betas[0] >= 0 && this.betas[0] < 1, 'in [0, 1)');
    check('Adam', 'beta2', this.betas[1], this.betas[1] >= 0 && this.betas[1] < 1, 'in [0, 1)');
    check('Adam', 'eps', this.eps, this.eps >= 0, '>= 0');
    check('Adam', 'weightDecay', this.weightDecay, this.weightDecay >= 0, '>= 0');
    this.m = this.params.map(() => null);
    this.v = this.params.map(() => null);
    this.touched = this.params.map(() => false);
  }

  private ensureState(): void {
    if (this.flat) return;
    let total = 0;
    const offsets = this.params.map((p) => { const o = total; total += Math.ceil(p.numel / ALIGN_ELEMS) * ALIGN_ELEMS; return o; });
    const m = F.zeros([total]).keep();
    const v = F.zeros([total]).keep();
    this.flat = { m, v, offsets };
    this.m = this.params.map((p, i) => viewOf(m, offsets[i], p.shape));
    this.v = this.params.map((p, i) => viewOf(v, offsets[i], p.shape));
  }

  /**
   * One update of every parameter with a gradient: multi-tensor, four parameters per dispatch (one flat
   * buffer per moment), or one dispatch per parameter where the device allows fewer than 10 storage bindings.
   */
  step(): void {
    this.checkParams();
    this.countStep();
    const hyper = () => ({
      lr: this.lr, beta1: this.betas[0], beta2: this.betas[1], eps: this.eps, weightDecay: this.weightDecay,
      step: this.stepCount,
    });
    this.ensureState();
    const live = this.params.map((p, i) => i).filter((i) => this.params[i].grad);
    for (const i of live) this.touched[i] = true;
    if (!adamMultiFits()) {
      for (const i of live) adamStep(this.params[i], this.params[i].grad!, this.m[i]!, this.v[i]!, hyper);
      return;
    }
    const { m, v, offsets } = this.flat!;
    for (let c = 0; c < live.length; c += ADAM_MULTI_SLOTS) {
      const idx = live.slice(c, c + ADAM_MULTI_SLOTS);
      adamMulti(idx.map((i) => this.params[i]), idx.map((i) => this.params[i].grad!), m, v, idx.map((i) => offsets[i]), hyper);
    }
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.params.forEach((_, i) => {
      if (!this.touched[i]) return;
      out.set(`${i}.exp_avg`, this.m[i]!);
      out.set(`${i}.exp_avg_sq`, this.v[i]!);
    });
    return out;
  }

  protected hyperparameters() {
    return { lr: this.lr, betas: [...this.betas], eps: this.eps, weightDecay: this.weightDecay, amsgrad: false };
  }

  /** Restores state saved by stateTensors() (values are copied into the optimizer's own buffers). */
  loadState(state: Map<string, Tensor>, stepCount: number): void {
    for (const k of state.keys()) {
      if (!/^\d+\.(exp_avg|exp_avg_sq)$/.test(k) || Number(k.split('.')[0]) >= this.params.length) throw new Error(`Adam.loadState: unexpected state ${k}`);
    }
    this.params.forEach((p, i) => {
      for (const key of ['exp_avg', 'exp_avg_sq'] as const) {
        const s = state.get(`${i}.${key}`);
        if (s && s.shape.join(',') !== p.shape.join(',')) {
          throw new Error(`Adam.loadState: ${i}.${key} has shape [${s.shape.join(', ')}], parameter ${i} has [${p.shape.join(', ')}]`);
        }
      }
    });
    this.ensureState();
    noGrad(() => this.params.forEach((_, i) => {
      const a = state.get(`${i}.exp_avg`);
      const b = state.get(`${i}.exp_avg_sq`);
      if (a) this.m[i]!.copy_(a);
      if (b) this.v[i]!.copy_(b);
      this.touched[i] = Boolean(a || b);
    }));
    this.stepCount = stepCount;
  }

  override dispose(): void {
    for (const t of [...this.m, ...this.v]) t?.dispose();
    this.flat?.m.dispose();
    this.flat?.v.dispose();
    this.flat = null;
    this.m = this.params.map(() => null);
    this.v = this.params.map(() => null);
  }
}

/** A tensor over `numel(shape)` elements of `flat` from element `offset` (shares its storage; the owner of
 * `flat` frees it). */
function viewOf(flat: Tensor, offset: number, shape: readonly number[]): Tensor {
  return new Tensor(new Storage(flat.storage.backend, flat.storage.buf, flat.byteOffset + offset * 4, true), shape, 'float32').keep();
}

export interface SGDOptions { lr?: number; momentum?: number; dampening?: number; weightDecay?: number; nesterov?: boolean }

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private buf: (Tensor | null)[];

  /**
   * `new SGD(params, lr = 1e-3, momentum = 0, dampening = 0, weightDecay = 0, nesterov = false)`, or those as
   * options (PyTorch's defaults).
   */
  constructor(params: Iterable<Tensor>,
    ...rest: PyArgs<[lr: number, momentum: number, dampening: number, weightDecay: number, nesterov: boolean], SGDOptions>);
  constructor(params: Iterable<Tensor>, ...args: unknown[]) {
    const o = bindArgs<Required<SGDOptions>>('SGD', [arg('lr', T.number(), 1e-3), arg('momentum', T.number(), 0),
      arg('dampening', T.number(), 0), arg('weightDecay', T.number(), 0), arg('nesterov', T.boolean(), false)], args);
    super('SGD', params);
    this.lr = o.lr;
    this.momentum = o.momentum;
    this.dampening = o.dampening;
    this.weightDecay = o.weightDecay;
    this.nesterov = o.nesterov;
    check('SGD', 'momentum', this.momentum, this.momentum >= 0, '>= 0');
    check('SGD', 'weightDecay', this.weightDecay, this.weightDecay >= 0, '>= 0');
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) {
      throw new Error('SGD: nesterov momentum requires a momentum > 0 and zero dampening');
    }
    this.buf = this.params.map(() => null);
  }

  step(): void {
    this.checkParams();
    this.countStep();
    this.params.forEach((p, i) => {
      if (!p.grad) return;
      const first = this.momentum !== 0 && !this.buf[i];
      if (this.momentum !== 0) this.buf[i] ??= F.zeros(p.shape).keep();
      // `first` is false on every replay: a capture never sees a momentum buffer being created (it follows an
      // eager warm-up step).
      sgdStep(p, p.grad, this.buf[i], () => ({
        lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay,
        nesterov: this.nesterov, first,
      }));
    });
  }

  stateTensors(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.buf.forEach((b, i) => { if (b) out.set(`${i}.momentum_buffer`, b); });
    return out;
  }

  protected hyperparameters() {
    return { lr: this.lr, momentum: this.momentum, dampening: this.dampening, weightDecay: this.weightDecay, nesterov: this.nesterov };
  }

  /** Restores momentum buffers saved by stateTensors() (copied into buffers this optimizer owns). */
  loadState(state: Map<string, Tensor>, stepCount: number): void {
    for (const [k, s] of state) {
      const m = /^(\d+)\.momentum_buffer$/.exec(k);
      const p = m ? this.params[Number(m[1])] : undefined;
      if (!p) throw new Error(`SGD.loadState: unexpected state ${k}`);
      if (s.shape.join(',') !== p.shape.join(',') || s.dtype !== 'float32') {
        throw new Error(`SGD.loadState: ${k} has shape [${s.shape.join(', ')}], parameter ${m![1]} has [${p.shape.join(', ')}]`);
      }
    }
    noGrad(() => this.params.forEach((p, i) => {
      const s = state.get(`${i}.momentum_buffer`);
      if (!s) return;
      this.buf[i] ??= F.zeros(p.shape).keep();
      this.buf[i]!.copy_(s);
    }));
    this.stepCount = stepCount;
  }
}
