// nn.Module: parameters, buffers and submodules registered by name, so namedParameters() and stateDict()
// produce PyTorch's keys ("0.weight", "main.1.running_mean", ...). As in PyTorch, assigning a module or a
// parameter to a field registers it under the field's name, in assignment order.
import { Tensor } from '../autograd/tensor.js';
import { noGrad } from '../autograd/context.js';
import { guardCapture, isCapturing } from '../autograd/compile.js';
import { copyInto } from '../ops/kernels.js';
import { tensor } from '../ops/functional.js';
import { fill_ } from '../ops/inplace.js';
import { arg, argTypes as T, bindArgs } from '../signature.js';

/**
 * Marks a tensor as a module parameter (PyTorch's nn.Parameter): it becomes a leaf that requires grad, so
 * assigning it to a module field registers it.
 */
export function Parameter(t: Tensor, requiresGrad = true): Tensor {
  if (!(t instanceof Tensor)) throw new Error(`Parameter: expected a Tensor, got ${String(t)}`);
  if (t.isDisposed) throw new Error(`Parameter: tensor #${t.id} (shape [${t.shape.join(', ')}]) was used after dispose()`);
  if (typeof requiresGrad !== 'boolean') throw new Error(`Parameter: requiresGrad must be true or false, got ${String(requiresGrad)}`);
  if (requiresGrad && t.dtype !== 'float32') {
    throw new Error(`Parameter: only float32 tensors can require gradients, got ${t.dtype} (pass requiresGrad false, or cast with .to('float32'))`);
  }
  if (!t.isLeaf) throw new Error('Parameter: the tensor must be a leaf (use t.detach())');
  t.requiresGrad = requiresGrad;
  return t.keep();
}

/** Fields that hold module state rather than user-assigned attributes. */
const INTERNAL = new Set(['_params', '_buffers', '_modules', 'training', '_training']);

/**
 * Traps field assignment (including class-field definitions in subclasses) the way PyTorch's
 * Module.__setattr__ does. A Proxy rather than a scan of own fields at first use: the order of a mix of
 * field assignments and register*() calls is kept, and a field reassigned later replaces its entry.
 */
const registering: ProxyHandler<Module> = {
  set(target, key, value) {
    if (typeof key === 'string') target._onAssign(key, value);
    return Reflect.set(target, key, value);
  },
  defineProperty(target, key, desc) {
    if (typeof key === 'string' && 'value' in desc) target._onAssign(key, desc.value);
    return Reflect.defineProperty(target, key, desc);
  },
};

export abstract class Module {
  private _training = true;
  private readonly _params = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();

  constructor() {
    // A subclass constructor's `this` is the proxy, so its field assignments go through the traps.
    return new Proxy(this, registering);
  }

  abstract forward(x: Tensor): Tensor;

  /** Training mode (train() / eval()). A compiled step that reads it captures again when it changes. */
  get training(): boolean {
    if (isCapturing()) guardCapture(this, () => this._training);
    return this._training;
  }
  set training(mode: boolean) { this._training = mode; }

  /** @internal registers `value` under `key` when it is a module or a parameter (leaf that requires grad). */
  _onAssign(key: string, value: unknown): void {
    if (INTERNAL.has(key) || !this._params) return;
    if (value instanceof Module) {
      if (value === (this as unknown)) throw new Error(`${this.constructor.name}: cannot assign a module to its own field '${key}'`);
      // The same object already registered under another name (a layer kept in a second field) is not
      // registered twice, so its parameters are not updated twice.
      if ([...this._modules].some(([n, m]) => m === value && n !== key)) return;
      this._params.delete(key); this._buffers.delete(key);
      this._modules.set(key, value);
    } else if (value instanceof Tensor) {
      if (this._buffers.has(key)) { this._buffers.set(key, value.keep()); return; }
      if (!value.requiresGrad || !value.isLeaf) {
        if (this._params.has(key)) {
          throw new Error(`${this.constructor.name}: cannot assign a tensor that is not a parameter (a leaf that ` +
            `requires grad) to parameter '${key}'; use nn.Parameter(t) or assign under noGrad with copy_()`);
        }
        return;
      }
      if ([...this._params].some(([n, p]) => p === value && n !== key)) return;
      this._modules.delete(key);
      this._params.set(key, value.keep());
    } else if (value === null || value === undefined) {
      // PyTorch keeps a parameter or buffer set to None registered (absent from state_dict); a module set to
      // None is dropped from the children.
      if (this._params.has(key)) this._params.set(key, null);
      else if (this._buffers.has(key)) this._buffers.set(key, null);
      else this._modules.delete(key);
    } else if (this._modules.has(key) || this._params.has(key)) {
      throw new Error(`${this.constructor.name}: cannot assign ${typeof value} to '${key}', which holds a ` +
        `${this._modules.has(key) ? 'submodule' : 'parameter'} (assign a Module, a parameter or null)`);
    }
  }

  /** Registers a trainable tensor (it is made a leaf that requires grad and outlives tidy scopes). */
  registerParameter(name: string, t: Tensor | null): Tensor | null {
    const what = `${this.constructor.name}.registerParameter`;
    if (typeof name !== 'string' || name === '' || name.includes('.')) throw new Error(`${what}: name must be a non-empty string without '.', got ${JSON.stringify(name)}`);
    if (t !== null && !(t instanceof Tensor)) throw new Error(`${what}: '${name}' is not a Tensor (got ${t === undefined ? 'undefined' : typeof t})`);
    if (t) {
      if (t.isDisposed) throw new Error(`${what}: '${name}' (tensor #${t.id}, shape [${t.shape.join(', ')}]) was used after dispose()`);
      if (t.dtype !== 'float32') throw new Error(`${what}: '${name}' is ${t.dtype}; only float32 tensors can be parameters (they require grad)`);
      if (!t.isLeaf) throw new Error(`${what}: '${name}' is not a leaf tensor (use t.detach())`);
      t.requiresGrad = true; t.keep();
    }
    this._params.set(name, t);
    return t;
  }

  registerBuffer(name: string, t: Tensor | null): Tensor | null {
    if (t !== null && !(t instanceof Tensor)) throw new Error(`${this.constructor.name}.registerBuffer: '${name}' is not a Tensor`);
    if (t?.isDisposed) throw new Error(`${this.constructor.name}.registerBuffer: '${name}' (tensor #${t.id}) was used after dispose()`);
    t?.keep();
    this._buffers.set(name, t);
    return t;
  }

  /** Registers a submodule under a name chosen at run time (field assignment registers the others). */
  registerModule(name: string, m: Module): Module {
    if (!(m instanceof Module)) throw new Error(`${this.constructor.name}.registerModule: '${name}' is not a Module (got ${m === null ? 'null' : typeof m})`);
    this._modules.set(name, m);
    return m;
  }

  children(): Module[] { return [...this._modules.values()]; }
  namedChildren(): [string, Module][] { return [...this._modules.entries()]; }

  /** This module and every submodule, depth first, each once (PyTorch's named_modules). */
  namedModules(prefix = '', seen = new Set<Module>()): [string, Module][] {
    if (seen.has(this)) return [];
    seen.add(this);
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n, seen));
    return out;
  }

  modules(): Module[] { return this.namedModules().map(([, m]) => m); }

  /** Calls `fn` on every submodule (children first) and then on this module, as PyTorch's Module.apply. */
  apply(fn: (m: Module) => void): this {
    if (typeof fn !== 'function') throw new Error(`${this.constructor.name}.apply: fn must be a function called with each module, got ${fn === null ? 'null' : typeof fn}`);
    for (const m of this._modules.values()) m.apply(fn);
    fn(this);
    return this;
  }

  /** PyTorch's extra_repr: the constructor arguments shown inside the parentheses. */
  extraRepr(): string { return ''; }

  /** PyTorch's module repr: `Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=True)\n)`. */
  toString(): string {
    const extra = this.extraRepr();
    const lines = extra ? extra.split('\n') : [];
    for (const [n, m] of this._modules) lines.push(`(${n}): ${m.toString().replace(/\n/g, '\n  ')}`);
    const name = this.constructor.name;
    if (lines.length === 0) return `${name}()`;
    if (this._modules.size === 0 && lines.length === 1) return `${name}(${lines[0]})`;
    return `${name}(\n  ${lines.join('\n  ')}\n)`;
  }

  /** Parameters by PyTorch key; a tensor shared by several modules is listed once, as in PyTorch. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const seen = new Set<Tensor>();
    const out: [string, Tensor][] = [];
    const walk = (mod: Module, pre: string) => {
      for (const [n, p] of mod._params) if (p && !seen.has(p)) { seen.add(p); out.push([pre + n, p]); }
      for (const [n, m] of mod._modules) walk(m, `${pre}${n}.`);
    };
    walk(this, prefix);
    return out;
  }

  parameters(): Tensor[] { return this.namedParameters().map(([, p]) => p); }

  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, b] of this._buffers) if (b) out.push([prefix + n, b]);
    for (const [n, m] of this._modules) out.push(...m.namedBuffers(`${prefix}${n}.`));
    return out;
  }

  train(mode = true): this {
    if (typeof mode !== 'boolean') throw new Error(`${this.constructor.name}.train: mode must be true or false, got ${typeof mode === 'string' ? JSON.stringify(mode) : String(mode)}`);
    this.training = mode;
    for (const m of this._modules.values()) m.train(mode);
    return this;
  }

  eval(): this { return this.train(false); }

  /** Sets .grad of every parameter to null (PyTorch's default set_to_none). */
  zeroGrad(): void {
    for (const p of this.parameters()) { p.grad?.dispose(); p.grad = null; }
  }

  /**
   * Parameters and buffers by PyTorch key, in registration order. The tensors are the module's own
   * (not copies), as in PyTorch, num_batches_tracked included: nothing in it needs disposing.
   */
  stateDict(): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    this.collectState('', out);
    return out;
  }

  protected collectState(prefix: string, out: Map<string, Tensor>): void {
    for (const [n, p] of this._params) if (p) out.set(prefix + n, p);
    for (const [n, b] of this._buffers) if (b) out.set(prefix + n, b);
    this.extraState(prefix, out);
    for (const [n, m] of this._modules) m.collectState(`${prefix}${n}.`, out);
  }

  /** Hook for state that is not a registered tensor. */
  protected extraState(_prefix: string, _out: Map<string, Tensor>): void {}
  protected loadExtraState(_prefix: string, _sd: Map<string, Tensor>, _used: Set<string>): void {}

  /**
   * Copies values from `sd` into this module's parameters and buffers. Checks every key and shape first
   * and throws before anything is written. strict (default, PyTorch's strict=True): missing or unexpected
   * keys are errors; `loadStateDict(sd, false)` or `{ strict: false }` loads the keys both have and returns
   * the others as PyTorch's NamedTuple does.
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, strict: boolean | { strict?: boolean } = true):
    { missingKeys: string[]; unexpectedKeys: string[] } {
    const what = `${this.constructor.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object' || Array.isArray(sd) || sd instanceof Tensor) {
      throw new Error(`${what}: expected a Map or an object of tensors (e.g. another module's stateDict()), got ${sd === null ? 'null' : Array.isArray(sd) ? 'an array' : sd instanceof Tensor ? 'a Tensor' : typeof sd}`);
    }
    if (sd instanceof Module) throw new Error(`${what}: expected a state dict, got a module (pass other.stateDict())`);
    let isStrict: boolean;
    if (typeof strict === 'boolean') isStrict = strict;
    else {
      const o = bindArgs<{ strict: boolean }>(what, [arg('strict', T.boolean(), true)], [strict]);
      isStrict = o.strict;
    }
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    for (const [k, t] of src) {
      if (!(t instanceof Tensor)) throw new Error(`${what}: ${k} is not a Tensor (got ${Array.isArray(t) ? 'an array' : typeof t})`);
      if (t.isDisposed) throw new Error(`${what}: ${k} (tensor #${t.id}) was used after dispose()`);
    }
    const own = this.stateDict();
    const registered = new Set([...this.namedParameters(), ...this.namedBuffers()].map(([k]) => k));
    return this.loadChecked(src, own, registered, isStrict);
  }

  private loadChecked(src: Map<string, Tensor>, own: Map<string, Tensor>, registered: Set<string>, strict: boolean):
    { missingKeys: string[]; unexpectedKeys: string[] } {
    const missing = [...own.keys()].filter((k) => !src.has(k));
    const unexpected = [...src.keys()].filter((k) => !own.has(k));
    if (strict && (missing.length || unexpected.length)) {
      throw new Error(`loadStateDict: keys do not match.` +
        (missing.length ? ` Missing: ${missing.join(', ')}.` : '') +
        (unexpected.length ? ` Unexpected: ${unexpected.join(', ')}.` : ''));
    }
    for (const [k, t] of own) {
      const s = src.get(k);
      if (!s) continue;
      if (s.shape.join(',') !== t.shape.join(',')) {
        throw new Error(`loadStateDict: ${k} has shape [${s.shape.join(', ')}] in the state dict but ` +
          `[${t.shape.join(', ')}] in the module`);
      }
      if (s.dtype !== t.dtype) throw new Error(`loadStateDict: ${k} is ${s.dtype} in the state dict but ${t.dtype} in the module`);
    }
    const used = new Set<string>();
    noGrad(() => {
      for (const [k, t] of own) {
        const s = src.get(k);
        if (s && registered.has(k)) { copyInto(t, s); used.add(k); }
      }
    });
    for (const [prefix, m] of this.namedModules()) m.loadExtraState(prefix ? `${prefix}.` : '', src, used);
    return { missingKeys: missing, unexpectedKeys: unexpected };
  }
}

/**
 * @internal A module's num_batches_tracked entry: one int32 tensor the module owns for its lifetime, rewritten
 * only when the host-side count moved. stateDict() hands out this tensor rather than a fresh one, so saving a
 * checkpoint leaves nothing to dispose and memory() counts exactly what the module holds.
 */
export function batchCounter(t: Tensor | null, count: number): Tensor {
  // Code written when stateDict() made a fresh tensor here may have disposed it: a new one replaces it.
  if (!t || t.isDisposed) t = newBatchCounter();
  if (t.hostData?.[0] !== count) {
    noGrad(() => fill_(t, count));
    t.hostData = Int32Array.of(count);
  }
  return t;
}

/** @internal a counter tensor for batchCounter. */
export function newBatchCounter(): Tensor { return tensor([0], [], { dtype: 'int32' }).keep(); }

/**
 * A value as Python prints it in a module repr: True/False, and floats with Python's exponent form
 * (1e-05, not 1e-5) and a trailing .0 where `asFloat` says the value is a float.
 */
export function pyRepr(v: number | boolean, asFloat = false): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (Number.isInteger(v)) return asFloat && Math.abs(v) < 1e16 ? `${v}.0` : String(v);
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e16)) {
    return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  }
  return String(v);
}
