// Image layers over the movement and normalisation ops: padding, instance norm, upsampling and dropout,
// with PyTorch's names, defaults and state dict keys.
import { Tensor } from '../autograd/tensor.js';
import * as F from '../ops/functional.js';
import { onReplay } from '../autograd/compile.js';
import { batchCounter, Module, newBatchCounter, pyRepr } from './module.js';
import { arg, argTypes as T, bindArgs, type PyArgs } from '../signature.js';

type Padding2d = number | readonly [number, number, number, number];

/** [left, right, top, bottom] from an int or a 4-tuple, as PyTorch's _pair/_quadruple. */
function quadruple(layer: string, p: Padding2d): [number, number, number, number] {
  const q = typeof p === 'number' ? [p, p, p, p] : Array.isArray(p) ? [...p] : [];
  if (q.length !== 4 || q.some((v) => !Number.isInteger(v))) {
    throw new Error(`${layer}: padding must be an integer or 4 integers [left, right, top, bottom], got ${JSON.stringify(p)}`);
  }
  return q as [number, number, number, number];
}

abstract class Pad2dBase extends Module {
  readonly padding: [number, number, number, number];
  protected abstract readonly mode: 'constant' | 'reflect' | 'replicate';
  constructor(padding: Padding2d);
  constructor(...args: unknown[]) {
    super();
    const layer = new.target.name;
    const a = bindArgs<{ padding: Padding2d }>(layer, [arg('padding', { expected: 'an integer or 4 integers', check: () => true })], args);
    this.padding = quadruple(layer, a.padding);
  }
  forward(x: Tensor): Tensor { return F.pad(x, this.padding, { mode: this.mode }); }
  override extraRepr(): string { return `(${this.padding.join(', ')})`; }
}

/** Pads the last two dims by reflection (torch.nn.ReflectionPad2d); each pad must be smaller than its dim. */
export class ReflectionPad2d extends Pad2dBase { protected readonly mode = 'reflect'; }
/** Pads the last two dims by repeating the edge (torch.nn.ReplicationPad2d). */
export class ReplicationPad2d extends Pad2dBase { protected readonly mode = 'replicate'; }
/** Pads the last two dims with zeros (torch.nn.ZeroPad2d); negative padding crops. */
export class ZeroPad2d extends Pad2dBase { protected readonly mode = 'constant'; }

export interface InstanceNormOptions { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean }

/**
 * torch.nn.InstanceNorm2d: normalises each sample's channel over H, W. Defaults as PyTorch: no affine
 * parameters and no running statistics, so the state dict is empty; with trackRunningStats, eval mode
 * normalises with the running statistics.
 */
export class InstanceNorm2d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  numBatchesTracked = 0;
  /** num_batches_tracked as stateDict() hands it out (see batchCounter). */
  private counter: Tensor | null = null;

  readonly numFeatures: number;

  /** `new InstanceNorm2d(numFeatures, eps = 1e-5, momentum = 0.1, affine = false, trackRunningStats = false)`. */
  constructor(numFeatures: number,
    ...rest: PyArgs<[eps: number, momentum: number, affine: boolean, trackRunningStats: boolean], InstanceNormOptions>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<Required<InstanceNormOptions> & { numFeatures: number }>('InstanceNorm2d', [
      arg('numFeatures', T.int(1)), arg('eps', T.number((v) => Number.isFinite(v) && v > 0, 'a finite number > 0'), 1e-5),
      arg('momentum', T.number((v) => v >= 0 && v <= 1, 'a number in [0, 1]'), 0.1),
      arg('affine', T.boolean(), false), arg('trackRunningStats', T.boolean(), false)], args);
    const numFeatures = this.numFeatures = a.numFeatures;
    this.eps = a.eps;
    this.momentum = a.momentum;
    this.affine = a.affine;
    this.trackRunningStats = a.trackRunningStats;
    this.weight = this.registerParameter('weight', this.affine ? F.ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', this.affine ? F.zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer('running_mean', this.trackRunningStats ? F.zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', this.trackRunningStats ? F.ones([numFeatures]) : null);
    if (this.runningMean) this.counter = newBatchCounter();
  }

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyRepr(this.eps, true)}, momentum=${pyRepr(this.momentum, true)}, affine=${pyRepr(this.affine)}, ` +
      `track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }

  /** x: [N, C, H, W], or [C, H, W] unbatched. */
  forward(x: Tensor): Tensor {
    if (!(x instanceof Tensor) || (x.ndim !== 3 && x.ndim !== 4)) {
      throw new Error(`InstanceNorm2d: expected a 3-D [C, H, W] or 4-D [N, C, H, W] input, got ${x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x}`);
    }
    const C = x.shape[x.ndim - 3];
    if (C !== this.numFeatures) {
      throw new Error(`InstanceNorm2d: input has ${C} channels but the layer was built for ${this.numFeatures}`);
    }
    const useInput = this.training || !this.runningMean;
    if (this.training && this.runningMean) {
      this.numBatchesTracked++;
      onReplay(() => { this.numBatchesTracked++; });
    }
    const opts = {
      eps: this.eps, momentum: this.momentum, weight: this.weight, bias: this.bias, useInputStats: useInput,
      runningMean: this.runningMean, runningVar: this.runningVar,
    };
    if (x.ndim === 4) return F.instanceNorm(x, opts);
    return F.composite(() => F.squeeze(F.instanceNorm(F.unsqueeze(x, 0), opts), 0));
  }

  protected override extraState(prefix: string, out: Map<string, Tensor>): void {
    if (this.runningMean) out.set(`${prefix}num_batches_tracked`, this.counter = batchCounter(this.counter, this.numBatchesTracked));
  }

  protected override loadExtraState(prefix: string, sd: Map<string, Tensor>): void {
    const t = sd.get(`${prefix}num_batches_tracked`);
    if (t && t.hostData) this.numBatchesTracked = Number(t.hostData[0]);
  }
}

/** torch.nn.Upsample with mode 'nearest' (integer scale factors, or sizes that are multiples of the input's). */
export class Upsample extends Module {
  readonly size?: number | readonly number[];
  readonly scaleFactor?: number | readonly number[];
  readonly mode: 'nearest';
  /** `new Upsample(size?, scaleFactor?, mode = 'nearest')`, usually `new Upsample({ scaleFactor: 2 })`. */
  constructor(...args: PyArgs<[size: number | readonly number[] | undefined, scaleFactor: number | readonly number[] | undefined, mode: 'nearest'], F.InterpolateOptions>);
  constructor(...args: unknown[]) {
    super();
    const sizes = { expected: 'a positive integer or an array of them', check: (v: unknown) => v === undefined || (typeof v === 'number' && v > 0) || (Array.isArray(v) && v.every((x) => typeof x === 'number' && x > 0)) };
    const a = bindArgs<F.InterpolateOptions>('Upsample', [arg('size', sizes, undefined), arg('scaleFactor', sizes, undefined),
      arg('mode', { expected: "'nearest' (the only mode Kiln has)", check: (v: unknown) => v === 'nearest' }, 'nearest')], args);
    if ((a.size === undefined) === (a.scaleFactor === undefined)) throw new Error('Upsample: give exactly one of size and scaleFactor');
    this.size = a.size;
    this.scaleFactor = a.scaleFactor;
    this.mode = 'nearest';
  }
  override extraRepr(): string {
    const show = (v: number | readonly number[], asFloat: boolean) =>
      typeof v === 'number' ? pyRepr(v, asFloat) : `(${v.map((x) => pyRepr(x, asFloat)).join(', ')})`;
    return this.scaleFactor !== undefined ? `scale_factor=${show(this.scaleFactor, true)}, mode='nearest'` : `size=${show(this.size!, false)}, mode='nearest'`;
  }
  forward(x: Tensor): Tensor { return F.interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode }); }
}

/** torch.nn.Dropout: inverted dropout while training, identity in eval mode. */
export class Dropout extends Module {
  readonly p: number;
  readonly inplace: boolean;
  /** `new Dropout(p = 0.5, inplace = false)`; Kiln never writes in place, so inplace only shows in the printout. */
  constructor(...args: PyArgs<[p: number, inplace: boolean], { p?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<{ p: number; inplace: boolean }>('Dropout', [
      arg('p', T.number((v) => v >= 0 && v <= 1, 'a probability between 0 and 1'), 0.5), arg('inplace', T.boolean(), false)], args);
    this.p = a.p;
    this.inplace = a.inplace;
  }
  override extraRepr(): string { return `p=${pyRepr(this.p, true)}, inplace=${pyRepr(this.inplace)}`; }
  forward(x: Tensor): Tensor { return F.dropout(x, { p: this.p, training: this.training }); }
}
