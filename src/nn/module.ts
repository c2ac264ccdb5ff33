// nn.Module: parameters, buffers and submodules registered by name, so namedParameters() and stateDict()
// produce PyTorch's keys ("0.weight", "1.running_mean", ...).
import { Tensor } from '../autograd/tensor.js';
import { noGrad } from '../autograd/context.js';
import { copyInto } from '../ops/kernels.js';

export abstract class Module {
  training = true;
  private readonly _params = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, Tensor | null>();
  private readonly _modules = new Map<string, Module>();

  abstract forward(x: Tensor): Tensor;

  /** Registers a trainable tensor (it is made a leaf that requires grad and outlives tidy scopes). */
  protected registerParameter(name: string, t: Tensor | null): Tensor | null {
    if (t) { t.requiresGrad = true; t.keep(); }
    this._params.set(name, t);
    return t;
  }

  protected registerBuffer(name: string, t: Tensor | null): Tensor | null {
    t?.keep();
    this._buffers.set(name, t);
    return t;
  }

  protected registerModule(name: string, m: Module): Module {
    this._modules.set(name, m);
    return m;
  }

  children(): Module[] { return [...this._modules.values()]; }
  namedChildren(): [string, Module][] { return [...this._modules.entries()]; }

  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [n, m] of this._modules) out.push(...m.namedModules(prefix ? `${prefix}.${n}` : n));
    return out;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [n, p] of this._params) if (p) out.push([prefix + n, p]);
    for (const [n, m] of this._modules) out.push(...m.namedParameters(`${prefix}${n}.`));
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
   * (not copies), as in PyTorch; extra entries a subclass adds (num_batches_tracked) are fresh tensors.
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
   * and throws before anything is written. strict (default): missing or unexpected keys are errors.
   */
  loadStateDict(sd: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): void {
    if (sd === null || typeof sd !== 'object') throw new Error(`loadStateDict: expected a Map or an object of tensors, got ${String(sd)}`);
    const strict = opts?.strict ?? true;
    const src = sd instanceof Map ? sd : new Map(Object.entries(sd));
    for (const [k, t] of src) {
      if (!(t instanceof Tensor)) throw new Error(`loadStateDict: ${k} is not a Tensor (got ${Array.isArray(t) ? 'an array' : typeof t})`);
      if (t.isDisposed) throw new Error(`loadStateDict: ${k} (tensor #${t.id}) was used after dispose()`);
    }
    const own = this.stateDict();
    // Entries stateDict() made for this call (num_batches_tracked) are freed however this call ends.
    const registered = new Set([...this.namedParameters(), ...this.namedBuffers()].map(([k]) => k));
    try {
      this.loadChecked(src, own, registered, strict);
    } finally {
      for (const [k, t] of own) if (!registered.has(k)) t.dispose();
    }
  }

  private loadChecked(src: Map<string, Tensor>, own: Map<string, Tensor>, registered: Set<string>, strict: boolean): void {
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
  }
}
