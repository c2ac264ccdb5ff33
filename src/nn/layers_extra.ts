// Image layers over the movement and normalisation ops: padding, instance norm, upsampling and dropout,
// with PyTorch's names, defaults and state dict keys.
import { Tensor } from '../autograd/tensor.js';
import * as F from '../ops/functional.js';
import { onReplay } from '../autograd/compile.js';
import { Module } from './module.js';

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
  constructor(padding: Padding2d) {
    super();
    this.padding = quadruple(new.target.name, padding);
  }
  forward(x: Tensor): Tensor { return F.pad(x, this.padding, { mode: this.mode }); }
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

  constructor(readonly numFeatures: number, opts: InstanceNormOptions = {}) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1) throw new Error(`InstanceNorm2d: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    if (!(this.eps > 0)) throw new Error(`InstanceNorm2d: eps must be > 0, got ${this.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`InstanceNorm2d: momentum must be in [0, 1], got ${this.momentum}`);
    this.affine = opts.affine ?? false;
    this.trackRunningStats = opts.trackRunningStats ?? false;
    this.weight = this.registerParameter('weight', this.affine ? F.ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', this.affine ? F.zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer('running_mean', this.trackRunningStats ? F.zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', this.trackRunningStats ? F.ones([numFeatures]) : null);
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
    if (this.runningMean) out.set(`${prefix}num_batches_tracked`, F.tensor([this.numBatchesTracked], [], { dtype: 'int32' }));
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
  constructor(opts: F.InterpolateOptions = {}) {
    super();
    if ((opts.size === undefined) === (opts.scaleFactor === undefined)) throw new Error('Upsample: give exactly one of size and scaleFactor');
    if ((opts.mode ?? 'nearest') !== 'nearest') throw new Error(`Upsample: mode '${String(opts.mode)}' is not supported; Kiln has 'nearest'`);
    this.size = opts.size;
    this.scaleFactor = opts.scaleFactor;
    this.mode = 'nearest';
  }
  forward(x: Tensor): Tensor { return F.interpolate(x, { size: this.size, scaleFactor: this.scaleFactor, mode: this.mode }); }
}

/** torch.nn.Dropout: inverted dropout while training, identity in eval mode. */
export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new Error(`Dropout: probability has to be between 0 and 1, but got ${p}`);
  }
  forward(x: Tensor): Tensor { return F.dropout(x, { p: this.p, training: this.training }); }
}
