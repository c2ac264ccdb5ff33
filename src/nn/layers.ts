// The layers: PyTorch names, weight layouts and default initialisations.
import { Tensor } from '../autograd/tensor.js';
import * as F from '../ops/functional.js';
import { batchCounter, Module, newBatchCounter, pyRepr } from './module.js';
import { onReplay } from '../autograd/compile.js';
import { uniform_ } from './init.js';
import { arg, argTypes as T, bindArgs, type Arg, type PyArgs } from '../signature.js';

function kaimingBound(fanIn: number): number { return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0; }

function param(shape: number[], bound: number): Tensor {
  // kaiming_uniform_(a=sqrt(5)) reduces to uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), as does the bias init.
  const t = F.zeros(shape);
  uniform_(t, -bound, bound);
  return t;
}

export interface LinearOptions { bias?: boolean }

/** `new Linear(inFeatures, outFeatures, bias = true)`, or the bias as an option: `{ bias: false }`. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inFeatures: number;
  readonly outFeatures: number;
  constructor(inFeatures: number, outFeatures: number, ...rest: PyArgs<[bias: boolean], LinearOptions>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<{ inFeatures: number; outFeatures: number; bias: boolean }>('Linear', [
      arg('inFeatures', T.int(1)), arg('outFeatures', T.int(1)), arg('bias', T.boolean(), true)], args);
    this.inFeatures = a.inFeatures;
    this.outFeatures = a.outFeatures;
    const b = kaimingBound(a.inFeatures);
    this.weight = this.registerParameter('weight', param([a.outFeatures, a.inFeatures], b))!;
    this.bias = this.registerParameter('bias', a.bias ? param([a.outFeatures], b) : null);
  }
  forward(x: Tensor): Tensor { return F.linear(x, this.weight, this.bias); }
  override extraRepr(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${pyRepr(this.bias !== null)}`;
  }
}

type Pair = number | [number, number];

export interface ConvOptions { stride?: Pair; padding?: Pair; dilation?: Pair; groups?: number; bias?: boolean; paddingMode?: 'zeros' }
export interface ConvTransposeOptions extends ConvOptions { outputPadding?: Pair }

const pairOf = (k: Pair): [number, number] => (typeof k === 'number' ? [k, k] : [k[0], k[1]]);

interface ConvArgs {
  inChannels: number; outChannels: number; kernelSize: Pair; stride: Pair; padding: Pair; dilation: Pair;
  outputPadding: Pair; groups: number; bias: boolean; paddingMode: 'zeros';
}

/** Both conv layers: PyTorch's argument order differs (output_padding sits before groups in the transposed one). */
abstract class ConvBase extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly outputPadding: [number, number];
  readonly groups: number;
  constructor(cls: string, transposed: boolean, args: unknown[]) {
    super();
    const head = [arg('inChannels', T.int(1)), arg('outChannels', T.int(1)), arg('kernelSize', T.pair(1)),
      arg('stride', T.pair(1), 1), arg('padding', T.pair(0), 0)];
    const tail = transposed
      ? [arg('outputPadding', T.pair(0), 0), arg('groups', T.int(1), 1), arg('bias', T.boolean(), true),
        arg('dilation', T.pair(1), 1), arg('paddingMode', T.oneOf('zeros'), 'zeros')]
      : [arg('dilation', T.pair(1), 1), arg('groups', T.int(1), 1), arg('bias', T.boolean(), true),
        arg('paddingMode', T.oneOf('zeros'), 'zeros')];
    const a = bindArgs<ConvArgs>(cls, [...head, ...tail], args);
    const g = a.groups;
    if (a.inChannels % g || a.outChannels % g) {
      throw new Error(`${cls}: inChannels (${a.inChannels}) and outChannels (${a.outChannels}) must be divisible by groups (${g})`);
    }
    this.inChannels = a.inChannels;
    this.outChannels = a.outChannels;
    this.kernelSize = pairOf(a.kernelSize);
    this.stride = pairOf(a.stride);
    this.padding = pairOf(a.padding);
    this.dilation = pairOf(a.dilation);
    this.outputPadding = pairOf(a.outputPadding ?? 0);
    this.groups = g;
    const [kh, kw] = this.kernelSize;
    // PyTorch computes fan_in from weight.size(1) * kH * kW, which for transposed convs is outChannels / groups.
    const b = kaimingBound(((transposed ? a.outChannels : a.inChannels) / g) * kh * kw);
    const shape = transposed ? [a.inChannels, a.outChannels / g, kh, kw] : [a.outChannels, a.inChannels / g, kh, kw];
    this.weight = this.registerParameter('weight', param(shape, b))!;
    this.bias = this.registerParameter('bias', a.bias ? param([a.outChannels], b) : null);
  }
  /** The options F.conv2d / F.convTranspose2d take. */
  get opts(): ConvTransposeOptions {
    return { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups, outputPadding: this.outputPadding };
  }
  override extraRepr(): string {
    const t = (p: readonly number[]) => `(${p.join(', ')})`;
    let s = `${this.inChannels}, ${this.outChannels}, kernel_size=${t(this.kernelSize)}, stride=${t(this.stride)}`;
    if (this.padding.some((v) => v !== 0)) s += `, padding=${t(this.padding)}`;
    if (this.dilation.some((v) => v !== 1)) s += `, dilation=${t(this.dilation)}`;
    if (this.outputPadding.some((v) => v !== 0)) s += `, output_padding=${t(this.outputPadding)}`;
    if (this.groups !== 1) s += `, groups=${this.groups}`;
    if (!this.bias) s += ', bias=False';
    return s;
  }
}

/**
 * `new Conv2d(inChannels, outChannels, kernelSize, stride = 1, padding = 0, dilation = 1, groups = 1,
 * bias = true)` in PyTorch's order, or any of the optional ones as an options object after the positional ones.
 */
export class Conv2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair,
    ...rest: PyArgs<[stride: Pair, padding: Pair, dilation: Pair, groups: number, bias: boolean, paddingMode: 'zeros'], ConvOptions>);
  constructor(...args: unknown[]) { super('Conv2d', false, args); }
  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding, dilation: this.dilation, groups: this.groups });
  }
}

/**
 * `new ConvTranspose2d(inChannels, outChannels, kernelSize, stride = 1, padding = 0, outputPadding = 0,
 * groups = 1, bias = true, dilation = 1)` in PyTorch's order, or an options object after the positional ones.
 */
export class ConvTranspose2d extends ConvBase {
  constructor(inChannels: number, outChannels: number, kernelSize: Pair, ...rest: PyArgs<[stride: Pair, padding: Pair,
    outputPadding: Pair, groups: number, bias: boolean, dilation: Pair, paddingMode: 'zeros'], ConvTransposeOptions>);
  constructor(...args: unknown[]) { super('ConvTranspose2d', true, args); }
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
  /** num_batches_tracked as stateDict() hands it out (see batchCounter). */
  private counter: Tensor | null = null;
  readonly numFeatures: number;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  protected abstract readonly ranks: number[];

  /** `new BatchNorm2d(numFeatures, eps = 1e-5, momentum = 0.1, affine = true, trackRunningStats = true)`. */
  constructor(numFeatures: number,
    ...rest: PyArgs<[eps: number, momentum: number, affine: boolean, trackRunningStats: boolean], BatchNormOptions>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<Required<BatchNormOptions> & { numFeatures: number }>(this.constructor.name, [
      arg('numFeatures', T.int(1)), arg('eps', T.number((v) => Number.isFinite(v) && v > 0, 'a finite number > 0'), 1e-5),
      arg('momentum', T.number((v) => v >= 0 && v <= 1, 'a number in [0, 1] (Kiln has no cumulative average)'), 0.1),
      arg('affine', T.boolean(), true), arg('trackRunningStats', T.boolean(), true)], args);
    this.numFeatures = a.numFeatures;
    const numFeatures = a.numFeatures;
    this.eps = a.eps;
    this.momentum = a.momentum;
    const affine = this.affine = a.affine;
    const track = this.trackRunningStats = a.trackRunningStats;
    this.weight = this.registerParameter('weight', affine ? F.ones([numFeatures]) : null);
    this.bias = this.registerParameter('bias', affine ? F.zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer('running_mean', track ? F.zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer('running_var', track ? F.ones([numFeatures]) : null);
    if (this.runningMean) this.counter = newBatchCounter();
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

  override extraRepr(): string {
    return `${this.numFeatures}, eps=${pyRepr(this.eps, true)}, momentum=${pyRepr(this.momentum, true)}, ` +
      `affine=${pyRepr(this.affine)}, track_running_stats=${pyRepr(this.trackRunningStats)}`;
  }

  protected override extraState(prefix: string, out: Map<string, Tensor>): void {
    if (this.runningMean) out.set(`${prefix}num_batches_tracked`, this.counter = batchCounter(this.counter, this.numBatchesTracked));
  }

  protected override loadExtraState(prefix: string, sd: Map<string, Tensor>): void {
    const t = sd.get(`${prefix}num_batches_tracked`);
    if (t && t.hostData) this.numBatchesTracked = Number(t.hostData[0]);
  }
}

export class BatchNorm1d extends BatchNormBase { protected readonly ranks = [2, 3]; }
export class BatchNorm2d extends BatchNormBase { protected readonly ranks = [4]; }

/**
 * `new ReLU(inplace = false)`. Kiln's ops never write in place, so inplace only shows in the printout: the
 * values and gradients are the same.
 */
export class ReLU extends Module {
  readonly inplace: boolean;
  constructor(...args: PyArgs<[inplace: boolean], { inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    this.inplace = bindArgs<{ inplace: boolean }>('ReLU', [arg('inplace', T.boolean(), false)], args).inplace;
  }
  forward(x: Tensor) { return F.relu(x); }
  override extraRepr(): string { return this.inplace ? 'inplace=True' : ''; }
}

/** A layer without arguments: any argument is an error. */
abstract class NoArgs extends Module {
  constructor(args: unknown[]) { super(); bindArgs(this.constructor.name, [], args); }
}
export class Tanh extends NoArgs {
  constructor(...args: []) { super(args); }
  forward(x: Tensor) { return F.tanh(x); }
}
export class Sigmoid extends NoArgs {
  constructor(...args: []) { super(args); }
  forward(x: Tensor) { return F.sigmoid(x); }
}

/** `new LeakyReLU(negativeSlope = 0.01, inplace = false)`. */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  readonly inplace: boolean;
  constructor(...args: PyArgs<[negativeSlope: number, inplace: boolean], { negativeSlope?: number; inplace?: boolean }>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<{ negativeSlope: number; inplace: boolean }>('LeakyReLU', [
      arg('negativeSlope', T.number(Number.isFinite, 'a finite number'), 0.01), arg('inplace', T.boolean(), false)], args);
    this.negativeSlope = a.negativeSlope;
    this.inplace = a.inplace;
  }
  forward(x: Tensor) { return F.leakyRelu(x, this.negativeSlope); }
  override extraRepr(): string { return `negative_slope=${pyRepr(this.negativeSlope)}${this.inplace ? ', inplace=True' : ''}`; }
}

/** `new Flatten(startDim = 1, endDim = -1)`. */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(...args: PyArgs<[startDim: number, endDim: number], { startDim?: number; endDim?: number }>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<{ startDim: number; endDim: number }>('Flatten', [arg('startDim', T.int(), 1), arg('endDim', T.int(), -1)], args);
    this.startDim = a.startDim;
    this.endDim = a.endDim;
  }
  forward(x: Tensor) { return F.flattenDims(x, this.startDim, this.endDim); }
  override extraRepr(): string { return `start_dim=${this.startDim}, end_dim=${this.endDim}`; }
}

/** `new Unflatten(dim, unflattenedSize)`. */
export class Unflatten extends Module {
  readonly dim: number;
  readonly sizes: number[];
  constructor(dim: number, sizes: number[]);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<{ dim: number; sizes: number[] }>('Unflatten', [arg('dim', T.int()), arg('sizes', T.intList())], args);
    this.dim = a.dim;
    this.sizes = [...a.sizes];
  }
  forward(x: Tensor) { return F.unflatten(x, this.dim, this.sizes); }
  override extraRepr(): string { return `dim=${this.dim}, unflattened_size=(${this.sizes.join(', ')}${this.sizes.length === 1 ? ',' : ''})`; }
}

/** Runs its modules in order; the tensors between them are freed as soon as backward is done with them. */
export class Sequential extends Module {
  readonly layers: Module[];
  /** `new Sequential(a, b, c)`, or a Map of names to modules (PyTorch's OrderedDict form). */
  constructor(...layers: Module[] | [Map<string, Module>]) {
    super();
    const named: [string, Module][] = layers.length === 1 && layers[0] instanceof Map
      ? [...layers[0]] : (layers as unknown[]).map((m, i) => [String(i), m as Module]);
    named.forEach(([n, m], i) => {
      if (!(m instanceof Module)) {
        throw new Error(`Sequential: argument ${i + 1} ('${n}') is not a Module, got ${m === null ? 'null' : typeof m === 'object' ? (m as object).constructor?.name : String(m)}`);
      }
    });
    this.layers = named.map(([, m]) => m);
    named.forEach(([n, m]) => this.registerModule(n, m));
  }
  /** Runs the layers in order (a compiled step fuses what follows a matmul into its store). */
  forward(x: Tensor): Tensor {
    return F.composite(() => {
      let h = x;
      for (const m of this.layers) h = m.forward(h);
      return h;
    });
  }
  get length(): number { return this.layers.length; }
  at(i: number): Module { return this.layers[i < 0 ? i + this.layers.length : i]; }
}

// ---------------------------------------------------------------- losses as modules

const tensorOrNull = { expected: 'a Tensor or null', check: (v: unknown) => v === null || v instanceof Tensor };

/** A loss: `new BCELoss()`, `new MSELoss('sum')` or `new MSELoss({ reduction: 'sum' })` (PyTorch's keyword). */
export abstract class Loss {
  readonly reduction: F.Reduction;
  /** The loss's other options (weight, ignoreIndex, ...), as given. */
  protected readonly options: Record<string, unknown>;
  constructor(...args: PyArgs<[reduction: F.Reduction], { reduction?: F.Reduction }>);
  constructor(...args: unknown[]) {
    const a = bindArgs<{ reduction: F.Reduction }>(this.constructor.name,
      [arg('reduction', T.oneOf('mean', 'sum', 'none'), 'mean'), ...this.optionSpec()], args);
    this.reduction = a.reduction;
    this.options = a;
  }
  /** Options besides reduction, by keyword only. */
  protected optionSpec(): Arg[] { return []; }
  abstract forward(input: Tensor, target: Tensor): Tensor;
  toString(): string { return `${this.constructor.name}()`; }
}
export class BCELoss extends Loss {
  constructor(...args: PyArgs<[reduction: F.Reduction], F.BCEOptions>);
  constructor(...args: unknown[]) { super(...(args as [])); }
  protected override optionSpec() { return [arg('weight', tensorOrNull, null)]; }
  forward(i: Tensor, t: Tensor) { return F.binaryCrossEntropy(i, t, this.options as F.BCEOptions); }
}
export class BCEWithLogitsLoss extends Loss {
  constructor(...args: PyArgs<[reduction: F.Reduction], F.BCEWithLogitsOptions>);
  constructor(...args: unknown[]) { super(...(args as [])); }
  protected override optionSpec() { return [arg('weight', tensorOrNull, null), arg('posWeight', tensorOrNull, null)]; }
  forward(i: Tensor, t: Tensor) { return F.binaryCrossEntropyWithLogits(i, t, this.options as F.BCEWithLogitsOptions); }
}
export class CrossEntropyLoss extends Loss {
  constructor(...args: PyArgs<[reduction: F.Reduction], F.CrossEntropyOptions>);
  constructor(...args: unknown[]) { super(...(args as [])); }
  protected override optionSpec() {
    return [arg('weight', tensorOrNull, null), arg('ignoreIndex', T.int(), undefined),
      arg('labelSmoothing', T.number((v) => v >= 0 && v <= 1, 'a number in [0, 1]'), 0)];
  }
  forward(i: Tensor, t: Tensor) { return F.crossEntropy(i, t, this.options as F.CrossEntropyOptions); }
}
/** The Needle/CMU name for cross-entropy over logits. */
export const SoftmaxLoss = CrossEntropyLoss;
/** torch.nn.NLLLoss: over log-probabilities (e.g. LogSoftmax's output). */
export class NLLLoss extends Loss {
  constructor(...args: PyArgs<[reduction: F.Reduction], F.NLLLossOptions>);
  constructor(...args: unknown[]) { super(...(args as [])); }
  protected override optionSpec() { return [arg('weight', tensorOrNull, null), arg('ignoreIndex', T.int(), undefined)]; }
  forward(i: Tensor, t: Tensor) { return F.nllLoss(i, t, this.options as F.NLLLossOptions); }
}
export class MSELoss extends Loss { forward(i: Tensor, t: Tensor) { return F.mseLoss(i, t, { reduction: this.reduction }); } }
export class L1Loss extends Loss { forward(i: Tensor, t: Tensor) { return F.l1Loss(i, t, { reduction: this.reduction }); } }

/**
 * `new MaxPool2d(kernelSize, stride = kernelSize, padding = 0, dilation = 1, returnIndices = false,
 * ceilMode = false)`; Kiln pools non-overlapping windows (stride = kernel size, no padding or dilation).
 */
export class MaxPool2d extends Module {
  readonly kernelSize: number | [number, number];
  readonly stride: number | [number, number];
  constructor(kernelSize: number | [number, number], ...rest: PyArgs<[stride: number | [number, number] | null, padding: number,
    dilation: number, returnIndices: false, ceilMode: false], MaxPool2dOptions>);
  constructor(...args: unknown[]) {
    super();
    const a = bindArgs<MaxPool2dOptions & { kernelSize: number | [number, number] }>('MaxPool2d', [arg('kernelSize', T.pair(1)),
      arg('stride', { expected: 'null or ' + T.pair(1).expected, check: (v) => v === null || T.pair(1).check(v) }, null),
      arg('padding', constPair(0, 'padding'), 0), arg('dilation', constPair(1, 'dilation'), 1), arg('returnIndices', T.oneOf(false), false),
      arg('ceilMode', T.oneOf(false), false)], args);
    this.kernelSize = a.kernelSize;
    this.stride = a.stride ?? a.kernelSize;
    F.maxPool2d.check(this.kernelSize, this.stride);
  }
  forward(x: Tensor): Tensor { return F.maxPool2d(x, this.kernelSize, this.stride); }
  override extraRepr(): string {
    const r = (v: number | [number, number]) => (Array.isArray(v) ? `(${v.join(', ')})` : String(v));
    return `kernel_size=${r(this.kernelSize)}, stride=${r(this.stride)}, padding=0, dilation=1, ceil_mode=False`;
  }
}
/** Only `value` (or [value, value]): what Kiln's non-overlapping pooling supports. */
function constPair(value: number, what: string) {
  return {
    expected: `${value} (Kiln's MaxPool2d has no ${what})`,
    check: (v: unknown) => v === value || (Array.isArray(v) && v.length === 2 && v[0] === value && v[1] === value),
  };
}
export interface MaxPool2dOptions { stride?: number | [number, number] | null; padding?: 0; dilation?: 1; returnIndices?: false; ceilMode?: false }
