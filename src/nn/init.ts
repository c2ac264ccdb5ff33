// In-place parameter initialisers (torch.nn.init), drawing from Kiln's seeded GPU generator.
import { noGrad } from '../autograd/context.js';
import type { Tensor } from '../autograd/tensor.js';
import * as I from '../ops/inplace.js';
import type { Module } from './module.js';
import { BatchNorm1d, BatchNorm2d, Conv2d, ConvTranspose2d } from './layers.js';
import { arg, argTypes as T, bindArgs, type PyArgs } from '../signature.js';

// torch.nn.init writes under no_grad, so parameters can be initialised without wrapping the call.
export const normal_ = (t: Tensor, mean = 0, std = 1) => noGrad(() => I.normal_(t, mean, std));
export const uniform_ = (t: Tensor, low = 0, high = 1) => noGrad(() => I.uniform_(t, low, high));
export const constant_ = (t: Tensor, value: number) => noGrad(() => I.fill_(t, value));
export const zeros_ = (t: Tensor) => constant_(t, 0);
export const ones_ = (t: Tensor) => constant_(t, 1);

/** Every parameter ~ normal(mean, std) (the d2l GAN recipe: normal(0, 0.02) on all parameters). */
export function normalAll(m: Module, mean = 0, std = 0.02): void {
  for (const p of m.parameters()) normal_(p, mean, std);
}

/**
 * DCGAN's weights_init: conv and transposed-conv weights ~ normal(0, 0.02); batch-norm weights
 * ~ normal(1, 0.02) and biases 0 (Radford et al.; the PyTorch DCGAN tutorial).
 */
export function dcgan(m: Module): void {
  for (const [, mod] of m.namedModules()) {
    if (mod instanceof Conv2d || mod instanceof ConvTranspose2d) {
      normal_(mod.weight, 0, 0.02);
    } else if (mod instanceof BatchNorm1d || mod instanceof BatchNorm2d) {
      if (mod.weight) normal_(mod.weight, 1, 0.02);
      if (mod.bias) zeros_(mod.bias);
    }
  }
}

type Nonlinearity = 'linear' | 'conv1d' | 'conv2d' | 'conv3d' | 'conv_transpose1d' | 'conv_transpose2d' | 'conv_transpose3d' |
  'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';

/** torch.nn.init.calculate_gain. */
export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case 'linear': case 'conv1d': case 'conv2d': case 'conv3d': case 'conv_transpose1d': case 'conv_transpose2d':
    case 'conv_transpose3d': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'selu': return 3 / 4;
    case 'leaky_relu': {
      const slope = param ?? 0.01;
      if (typeof slope !== 'number' || !Number.isFinite(slope)) throw new Error(`calculateGain: negative slope ${String(slope)} is not a valid number`);
      return Math.sqrt(2 / (1 + slope * slope));
    }
    default: throw new Error(`calculateGain: unsupported nonlinearity ${JSON.stringify(nonlinearity)}`);
  }
}

/** fan_in and fan_out of a weight [out, in, *kernel] as PyTorch computes them (dim 1 times the receptive field). */
function fans(op: string, t: Tensor): [number, number] {
  if (t === null || typeof t !== 'object' || !Array.isArray(t.shape)) throw new Error(`${op}: expected a Tensor, got ${String(t)}`);
  if (t.ndim < 2) throw new Error(`${op}: fan in and fan out can not be computed for a tensor with fewer than 2 dimensions (shape [${t.shape.join(', ')}])`);
  const rf = t.shape.slice(2).reduce((p, q) => p * q, 1);
  return [t.shape[1] * rf, t.shape[0] * rf];
}

export interface KaimingOptions { a?: number; mode?: 'fan_in' | 'fan_out'; nonlinearity?: Nonlinearity }

function kaimingStd(op: string, t: Tensor, args: unknown[]): number {
  const o = bindArgs<Required<KaimingOptions>>(op, [arg('a', T.number(Number.isFinite, 'a finite number'), 0),
    arg('mode', T.oneOf('fan_in', 'fan_out'), 'fan_in'), arg('nonlinearity', { expected: 'a nonlinearity name', check: (v) => typeof v === 'string' }, 'leaky_relu')], args);
  const [fanIn, fanOut] = fans(op, t);
  return calculateGain(o.nonlinearity, o.a) / Math.sqrt(o.mode === 'fan_in' ? fanIn : fanOut);
}

/** torch.nn.init.kaiming_normal_(t, a = 0, mode = 'fan_in', nonlinearity = 'leaky_relu'): normal(0, gain / sqrt(fan)). */
export function kaimingNormal_(t: Tensor, ...args: PyArgs<[a: number, mode: KaimingOptions['mode'], nonlinearity: Nonlinearity], KaimingOptions>): Tensor {
  return normal_(t, 0, kaimingStd('kaimingNormal_', t, args));
}

/** torch.nn.init.kaiming_uniform_: uniform(-b, b) with b = gain * sqrt(3 / fan). */
export function kaimingUniform_(t: Tensor, ...args: PyArgs<[a: number, mode: KaimingOptions['mode'], nonlinearity: Nonlinearity], KaimingOptions>): Tensor {
  const b = Math.sqrt(3) * kaimingStd('kaimingUniform_', t, args);
  return uniform_(t, -b, b);
}

function xavierStd(op: string, t: Tensor, gain: unknown): number {
  if (typeof gain !== 'number' || !Number.isFinite(gain)) throw new Error(`${op}: gain must be a finite number, got ${String(gain)}`);
  const [fanIn, fanOut] = fans(op, t);
  return gain * Math.sqrt(2 / (fanIn + fanOut));
}

/** torch.nn.init.xavier_normal_(t, gain = 1): normal(0, gain * sqrt(2 / (fan_in + fan_out))). */
export function xavierNormal_(t: Tensor, gain = 1): Tensor { return normal_(t, 0, xavierStd('xavierNormal_', t, gain)); }

/** torch.nn.init.xavier_uniform_(t, gain = 1): uniform(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out)). */
export function xavierUniform_(t: Tensor, gain = 1): Tensor {
  const b = Math.sqrt(3) * xavierStd('xavierUniform_', t, gain);
  return uniform_(t, -b, b);
}
