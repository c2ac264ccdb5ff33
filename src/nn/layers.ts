// The layers: PyTorch names, weight layouts and default initialisations.
import { Tensor } from '../autograd/tensor.js';
import * as F from '../ops/functional.js';
import { Module } from './module.js';
import { onReplay } from '../autograd/compile.js';
import { uniform_ } from './init.js';

function kaimingBound(fanIn: number): number { return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0; }

function param(shape: number[], bound: number): Tensor {
  // kaiming_uniform_(a=sqrt(5)) reduces to uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), as does the bias init.
  const t = F.zeros(shape);
  uniform_(t, -bound, bound);
  return t;
}

function posInt(layer: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${layer}: ${name} must be a positive integer, got ${v}`);
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: { bias?: boolean } = {}) {
    super();
    posInt('Linear', 'inFeatures', inFeatures);
    posInt('Linear', 'outFeatures', outFeatures);
    const b = kaimingBound(inFeatures);
    this.weight = this.registerParameter('weight', param([outFeatures, inFeatures], b))!;
    this.bias = this.registerParameter('bias', opts.bias === false ? null : param([outFeatures], b));
  }
  forward(x: Tensor): Tensor { return F.linear(x, this.weight, this.bias); }
}

type Pair = number | [number, number];

export interface ConvOptions { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number; bias?: boolean }

function kernelPair(k: Pair): [number, number] { return typeof k === 'number' ? [k, k] : k; }

export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, readonly opts: ConvOptions = {}) {
    super();
    posInt('Conv2d', 'inChannels', inChannels);
    posInt('Conv2d', 'outChannels', outChannels);
    const g = opts.groups ?? 1;
    if (inChannels % g || outChannels % g) throw new Error(`Conv2d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${g})`);
    const [kh, kw] = kernelPair(kernelSize);
    posInt('Conv2d', 'kernelSize', kh); posInt('Conv2d', 'kernelSize', kw);
    const b = kaimingBound((inChannels / g) * kh * kw);
    this.weight = this.registerParameter('weight', param([outChannels, inChannels / g, kh, kw], b))!;
    this.bias = this.registerParameter('bias', opts.bias === false ? null : param([outChannels], b));
  }
  forward(x: Tensor): Tensor { return F.conv2d(x, this.weight, this.bias, this.opts); }
}

export class ConvTranspose2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair,
    readonly opts: ConvOptions & { outputPadding?: Pair } = {}) {
    super();
    posInt('ConvTranspose2d', 'inChannels', inChannels);
    posInt('ConvTranspose2d', 'outChannels', outChannels);
    const g = opts.groups ?? 1;
    if (inChannels % g || outChannels % g) throw new Error(`ConvTranspose2d: inChannels (${inChannels}) and outChannels (${outChannels}) must be divisible by groups (${g})`);
    const [kh, kw] = kernelPair(kernelSize);
    posInt('ConvTranspose2d', 'kernelSize', kh); posInt('ConvTranspose2d', 'kernelSize', kw);
    // PyTorch computes fan_in from weight.size(1) * kH * kW for transposed convs.
    const b = kaimingBound((outChannels / g) * kh * kw);
    this.weight = this.registerParameter('weight', param([inChannels, outChannels / g, kh, kw], b))!;
    this.bias = this.registerParameter('bias', opts.bias === false ? null : param([outChannels], b));
  }
  forward(x: Tensor): Tensor { return F.convTranspose2d(x, this.weight, this.bias, this.opts); }
}

export interface BatchNormOptions { eps?: number; momentum?: number; affine?: boolean; trackRunningStats?: boolean }

abstract class BatchNormBase extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  /** Training batches seen (PyTorch's num_batches_tracked). */
  numBatchesTracked = 0;
  protected abstract readonly ranks: number[];

  constructor(readonly numFeatures: number, opts: BatchNormOptions = {}) {
    super();
    posInt(this.constructor.name, 'numFeatures', numFeatures);
    this.eps = opts.eps ?? 1e-5;
    this.momentum = opts.momentum ?? 0.1;
    const name = this.constructor.name;
    if (typeof this.eps !== 'number' || !(this.eps > 0) || !Number.isFinite(this.eps)) throw new Error(`${name}: eps must be a finite number > 0, got ${this.eps}`);
    if (typeof this.momentum !== 'number' || !(this.momentum >= 0 && this.momentum <= 1)) throw new Error(`${name}: momentum must be in [0, 1], got ${this.momentum}`);
    const affine = opts.affine ?? true;
    const track = opts.trackRunningStats ?? true;
    this.weight = this.registerParameter('weight', affine ? F.ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', affine ? F.zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer('running_mean', track ? F.zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', track ? F.ones([numFeatures]) : null);
  }

  forward(x: Tensor): Tensor {
    const name = this.constructor.name;
    if (!this.ranks.includes(x.ndim)) {
      throw new Error(`${name}: expected a ${this.ranks.join('-D or ')}-D input, got shape [${x.shape.join(', ')}]`);
    }
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(`${name}: input has ${x.shape[1]} channels but the layer was built for ${this.numFeatures}`);
    }
    const useBatch = this.training || !this.runningMean;
    if (this.training && this.runningMean) {
      this.numBatchesTracked++;
      onReplay(() => { this.numBatchesTracked++; });
    }
    return F.batchNorm(x, this.training ? this.runningMean : this.runningMean, this.runningVar, this.weight, this.bias,
      { training: useBatch, momentum: this.momentum, eps: this.eps });
  }

  protected override extraState(prefix: string, out: Map<string, Tensor>): void {
    if (this.runningMean) out.set(`${prefix}num_batches_tracked`, F.tensor([this.numBatchesTracked], [], { dtype: 'int32' }));
  }

  protected override loadExtraState(prefix: string, sd: Map<string, Tensor>): void {
    const t = sd.get(`${prefix}num_batches_tracked`);
    if (t && t.hostData) this.numBatchesTracked = Number(t.hostData[0]);
  }
}

export class BatchNorm1d extends BatchNormBase { protected readonly ranks = [2, 3]; }
export class BatchNorm2d extends BatchNormBase { protected readonly ranks = [4]; }

export class ReLU extends Module { forward(x: Tensor) { return F.relu(x); } }
export class Tanh extends Module { forward(x: Tensor) { return F.tanh(x); } }
export class Sigmoid extends Module { forward(x: Tensor) { return F.sigmoid(x); } }
export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) {
    super();
    if (typeof negativeSlope !== 'number' || !Number.isFinite(negativeSlope)) throw new Error(`LeakyReLU: negativeSlope must be a finite number, got ${String(negativeSlope)}`);
  }
  forward(x: Tensor) { return F.leakyRelu(x, this.negativeSlope); }
}
export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor) { return F.flattenDims(x, this.startDim, this.endDim); }
}
export class Unflatten extends Module {
  constructor(readonly dim: number, readonly sizes: number[]) { super(); }
  forward(x: Tensor) { return F.unflatten(x, this.dim, this.sizes); }
}

/** Runs its modules in order; the tensors between them are freed as soon as backward is done with them. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  /**
   * Runs the layers in order. A Linear directly followed by a ReLU, or by a LeakyReLU with a slope >= 0, runs
   * as one fused op (same values and gradients, one kernel instead of three).
   */
  forward(x: Tensor): Tensor {
    return F.composite(() => {
      let h = x;
      for (let i = 0; i < this.layers.length; i++) {
        const m = this.layers[i];
        const next: Module | undefined = this.layers[i + 1];
        const kind: unknown = next?.constructor;
        const slope = kind === LeakyReLU ? (next as LeakyReLU).negativeSlope : null;
        if (m.constructor === Linear && (kind === ReLU || (slope !== null && slope >= 0))) {
          const lin = m as Linear;
          h = F.linear(h, lin.weight, lin.bias, { activation: slope === null ? 'relu' : 'leakyRelu', slope: slope ?? 0 });
          i++;
        } else {
          h = m.forward(h);
        }
      }
      return h;
    });
  }
  get length(): number { return this.layers.length; }
  at(i: number): Module { return this.layers[i < 0 ? i + this.layers.length : i]; }
}

// ---------------------------------------------------------------- losses as modules

export abstract class Loss {
  constructor(readonly reduction: F.Reduction = 'mean') {}
  abstract forward(input: Tensor, target: Tensor): Tensor;
}
export class BCELoss extends Loss { forward(i: Tensor, t: Tensor) { return F.binaryCrossEntropy(i, t, { reduction: this.reduction }); } }
export class BCEWithLogitsLoss extends Loss { forward(i: Tensor, t: Tensor) { return F.binaryCrossEntropyWithLogits(i, t, { reduction: this.reduction }); } }
export class CrossEntropyLoss extends Loss { forward(i: Tensor, t: Tensor) { return F.crossEntropy(i, t, { reduction: this.reduction }); } }
/** The Needle/CMU name for cross-entropy over logits. */
export const SoftmaxLoss = CrossEntropyLoss;
export class MSELoss extends Loss { forward(i: Tensor, t: Tensor) { return F.mseLoss(i, t, { reduction: this.reduction }); } }
export class L1Loss extends Loss { forward(i: Tensor, t: Tensor) { return F.l1Loss(i, t, { reduction: this.reduction }); } }
