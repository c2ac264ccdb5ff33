// The op test table: every op in src/ops/table.ts has rows here (the type requires it), each written once
// for Kiln and once for PyTorch. scripts/export-op-spec.ts turns the rows into inputs, and
// scripts/make_fixtures.py runs the PyTorch side (forward, autograd, float64 central differences).
import type { Tensor } from '../../src/index.js';
import * as kiln from '../../src/index.js';
import type { CompositeName, OpName } from '../../src/ops/names.js';

const { F } = kiln;

/** How an input's values are drawn (away from kinks and singularities where the op has them). */
export type Kind = 'randn' | 'away' | 'pos' | 'prob' | 'binary' | 'labels' | 'mask' | 'int';

export interface InputSpec {
  shape: number[];
  kind?: Kind;
  /** Number of classes for 'labels'. */
  classes?: number;
  /** Differentiate with respect to this input (default: float inputs of differentiable ops). */
  grad?: boolean;
  /** Fixed values instead of drawn ones (NaN allowed). */
  values?: number[];
  /** Flat indices set to NaN after drawing. */
  nanAt?: number[];
}

export interface Case {
  name: string;
  inputs: InputSpec[];
  kiln: (...xs: Tensor[]) => Tensor;
  /** A Python lambda over torch tensors producing the same value. */
  torch: string;
  /** False for ops without a gradient. */
  grad?: boolean;
}

const I = (shape: number[], kind: Kind = 'randn', extra: Partial<InputSpec> = {}): InputSpec => ({ shape, kind, ...extra });

/** Rows per op in the table. */
export const opCases: { [K in OpName]: Case[] } = {
  neg: [{ name: 'neg', inputs: [I([3, 5])], kiln: (x) => x.neg(), torch: 'lambda x: -x' }],
  exp: [{ name: 'exp', inputs: [I([3, 5])], kiln: (x) => x.exp(), torch: 'lambda x: x.exp()' }],
  log: [{ name: 'log', inputs: [I([3, 5], 'pos')], kiln: (x) => x.log(), torch: 'lambda x: x.log()' }],
  sqrt: [{ name: 'sqrt', inputs: [I([3, 5], 'pos')], kiln: (x) => x.sqrt(), torch: 'lambda x: x.sqrt()' }],
  abs: [{ name: 'abs', inputs: [I([3, 5], 'away')], kiln: (x) => x.abs(), torch: 'lambda x: x.abs()' }],
  relu: [{ name: 'relu', inputs: [I([4, 7], 'away')], kiln: (x) => x.relu(), torch: 'lambda x: x.relu()' }],
  tanh: [
    { name: 'tanh', inputs: [I([3, 5])], kiln: (x) => x.tanh(), torch: 'lambda x: x.tanh()' },
    { name: 'tanh large', inputs: [I([2, 3], 'randn')], kiln: (x) => x.mul(30).tanh(), torch: 'lambda x: (x * 30).tanh()' },
  ],
  sigmoid: [{ name: 'sigmoid', inputs: [I([3, 5])], kiln: (x) => x.sigmoid(), torch: 'lambda x: x.sigmoid()' }],
  leakyRelu: [
    { name: 'leakyRelu 0.2', inputs: [I([3, 5], 'away')], kiln: (x) => x.leakyRelu(0.2), torch: 'lambda x: torch.nn.functional.leaky_relu(x, 0.2)' },
    { name: 'leakyRelu default', inputs: [I([1, 9], 'away')], kiln: (x) => F.leakyRelu(x), torch: 'lambda x: torch.nn.functional.leaky_relu(x)' },
  ],
  powScalar: [
    { name: 'pow 2', inputs: [I([3, 5])], kiln: (x) => x.pow(2), torch: 'lambda x: x ** 2' },
    { name: 'pow 3 negative base', inputs: [I([3, 4])], kiln: (x) => x.pow(3), torch: 'lambda x: x ** 3' },
    { name: 'pow 0.5', inputs: [I([2, 5], 'pos')], kiln: (x) => x.pow(0.5), torch: 'lambda x: x ** 0.5' },
    { name: 'pow -1.5', inputs: [I([2, 5], 'pos')], kiln: (x) => x.pow(-1.5), torch: 'lambda x: x ** -1.5' },
  ],
  clamp: [
    { name: 'clamp', inputs: [I([4, 6], 'away')], kiln: (x) => x.clamp(-0.5, 0.7), torch: 'lambda x: x.clamp(-0.5, 0.7)' },
    { name: 'clamp min only', inputs: [I([3, 3], 'away')], kiln: (x) => F.clamp(x, 0.1), torch: 'lambda x: x.clamp(min=0.1)' },
  ],
  affine: [
    { name: 'add scalar', inputs: [I([3, 4])], kiln: (x) => x.add(2.5), torch: 'lambda x: x + 2.5' },
    { name: 'mul scalar', inputs: [I([3, 4])], kiln: (x) => x.mul(-3), torch: 'lambda x: x * -3' },
    { name: 'rsub scalar', inputs: [I([3, 4])], kiln: (x) => F.rsub(1, x), torch: 'lambda x: 1 - x' },
    { name: 'div scalar', inputs: [I([3, 4])], kiln: (x) => x.div(4), torch: 'lambda x: x / 4' },
  ],
  rdivScalar: [{ name: 'rdiv', inputs: [I([3, 4], 'pos')], kiln: (x) => F.rdiv(2, x), torch: 'lambda x: 2 / x' }],
  logClamped: [{ name: 'log clamped', inputs: [I([3, 4], 'prob')], kiln: (x) => F.run('logClamped', [x], { min: -100 }), torch: 'lambda x: x.log().clamp(min=-100)' }],
  sign: [{ name: 'sign', inputs: [I([3, 4], 'away')], kiln: (x) => x.sign(), torch: 'lambda x: x.sign()', grad: false }],
  compareScalar: [
    { name: 'gt scalar', inputs: [I([3, 4])], kiln: (x) => x.gt(0.1), torch: 'lambda x: (x > 0.1).float()', grad: false },
    { name: 'le scalar', inputs: [I([3, 4])], kiln: (x) => x.le(-0.2), torch: 'lambda x: (x <= -0.2).float()', grad: false },
  ],
  add: [
    { name: 'add same shape', inputs: [I([3, 5]), I([3, 5])], kiln: (a, b) => a.add(b), torch: 'lambda a, b: a + b' },
    { name: 'add broadcast', inputs: [I([2, 3, 4]), I([3, 1])], kiln: (a, b) => a.add(b), torch: 'lambda a, b: a + b' },
    { name: 'add broadcast both', inputs: [I([4]), I([2, 1, 4])], kiln: (a, b) => a.add(b), torch: 'lambda a, b: a + b' },
    { name: 'add same tensor', inputs: [I([2, 3])], kiln: (a) => a.add(a), torch: 'lambda a: a + a' },
  ],
  sub: [{ name: 'sub broadcast', inputs: [I([2, 3]), I([3])], kiln: (a, b) => a.sub(b), torch: 'lambda a, b: a - b' }],
  mul: [
    { name: 'mul broadcast', inputs: [I([2, 1, 4]), I([3, 1])], kiln: (a, b) => a.mul(b), torch: 'lambda a, b: a * b' },
    { name: 'mul scalar tensor', inputs: [I([3, 4]), I([])], kiln: (a, b) => a.mul(b), torch: 'lambda a, b: a * b' },
  ],
  div: [{ name: 'div broadcast', inputs: [I([2, 3]), I([3], 'pos')], kiln: (a, b) => a.div(b), torch: 'lambda a, b: a / b' }],
  maximum: [{ name: 'maximum', inputs: [I([3, 4]), I([4])], kiln: (a, b) => a.maximum(b), torch: 'lambda a, b: torch.maximum(a, b)' }],
  minimum: [{ name: 'minimum', inputs: [I([3, 4]), I([3, 1])], kiln: (a, b) => a.minimum(b), torch: 'lambda a, b: torch.minimum(a, b)' }],
  pow: [{ name: 'pow tensor', inputs: [I([2, 3], 'pos'), I([3])], kiln: (a, b) => a.pow(b), torch: 'lambda a, b: a ** b' }],
  compare: [
    { name: 'gt broadcast', inputs: [I([3, 4]), I([4])], kiln: (a, b) => a.gt(b), torch: 'lambda a, b: (a > b).float()', grad: false },
    { name: 'eq', inputs: [I([3, 4], 'binary'), I([3, 4], 'binary')], kiln: (a, b) => a.eq(b), torch: 'lambda a, b: (a == b).float()', grad: false },
    { name: 'ne', inputs: [I([3, 4], 'binary'), I([4], 'binary')], kiln: (a, b) => a.ne(b), torch: 'lambda a, b: (a != b).float()', grad: false },
    { name: 'ge lt', inputs: [I([2, 5]), I([2, 5])], kiln: (a, b) => a.ge(b).add(a.lt(b).mul(2)), torch: 'lambda a, b: (a >= b).float() + 2 * (a < b).float()', grad: false },
  ],
  where: [{
    name: 'where broadcast', inputs: [I([2, 3], 'mask', { grad: false }), I([2, 3]), I([3])],
    kiln: (c, a, b) => F.where(c, a, b), torch: 'lambda c, a, b: torch.where(c != 0, a, b)',
  }],
  reshape: [{ name: 'reshape', inputs: [I([2, 6])], kiln: (x) => x.reshape([3, -1]).mul(x.reshape(3, 4)), torch: 'lambda x: x.reshape(3, -1) * x.reshape(3, 4)' }],
  expand: [{ name: 'expand', inputs: [I([3, 1])], kiln: (x) => x.expand([2, 3, 4]), torch: 'lambda x: x.expand(2, 3, 4)' }],
  permute: [
    { name: 'permute', inputs: [I([2, 3, 4])], kiln: (x) => x.permute([2, 0, 1]), torch: 'lambda x: x.permute(2, 0, 1)' },
    { name: 'transpose', inputs: [I([3, 5])], kiln: (x) => x.transpose(), torch: 'lambda x: x.t()' },
  ],
  narrow: [
    { name: 'narrow rows', inputs: [I([5, 3])], kiln: (x) => x.narrow(0, 1, 3), torch: 'lambda x: x.narrow(0, 1, 3)' },
    { name: 'narrow middle dim', inputs: [I([2, 6, 3])], kiln: (x) => x.narrow(1, -4, 2), torch: 'lambda x: x.narrow(1, 2, 2)' },
  ],
  cat: [
    { name: 'cat dim 0', inputs: [I([2, 3]), I([1, 3]), I([3, 3])], kiln: (a, b, c) => kiln.cat([a, b, c]), torch: 'lambda a, b, c: torch.cat([a, b, c])' },
    { name: 'cat dim 1', inputs: [I([2, 3]), I([2, 2])], kiln: (a, b) => kiln.cat([a, b], 1), torch: 'lambda a, b: torch.cat([a, b], 1)' },
    { name: 'stack', inputs: [I([2, 3]), I([2, 3])], kiln: (a, b) => kiln.stack([a, b]), torch: 'lambda a, b: torch.stack([a, b])' },
  ],
  sum: [
    { name: 'sum all', inputs: [I([3, 5])], kiln: (x) => x.sum(), torch: 'lambda x: x.sum()' },
    { name: 'sum dim 1', inputs: [I([3, 5])], kiln: (x) => x.sum(1), torch: 'lambda x: x.sum(1)' },
    { name: 'sum dims 0,2 keepdim', inputs: [I([2, 3, 4])], kiln: (x) => x.sum([0, 2], true), torch: 'lambda x: x.sum((0, 2), keepdim=True)' },
    { name: 'sum long (two-pass)', inputs: [I([2, 5003])], kiln: (x) => x.sum(1), torch: 'lambda x: x.sum(1)' },
    { name: 'sum negative dim', inputs: [I([2, 3, 4])], kiln: (x) => x.sum(-1), torch: 'lambda x: x.sum(-1)' },
  ],
  max: [
    { name: 'max dim 1', inputs: [I([3, 5])], kiln: (x) => x.max(1), torch: 'lambda x: x.amax(1)' },
    { name: 'max all', inputs: [I([2, 3, 4])], kiln: (x) => x.max(), torch: 'lambda x: x.amax()' },
  ],
  min: [{ name: 'min dims 0,2', inputs: [I([2, 3, 4])], kiln: (x) => x.min([0, 2], true), torch: 'lambda x: x.amin((0, 2), keepdim=True)' }],
  argmax: [
    { name: 'argmax dim 1', inputs: [I([4, 6])], kiln: (x) => x.argmax(1).to('float32'), torch: 'lambda x: x.argmax(1).float()', grad: false },
    { name: 'argmax all', inputs: [I([3, 5])], kiln: (x) => x.argmax().to('float32'), torch: 'lambda x: x.argmax().float()', grad: false },
  ],
  argmin: [{ name: 'argmin dim 0 keepdim', inputs: [I([4, 3])], kiln: (x) => x.argmin(0, true).to('float32'), torch: 'lambda x: x.argmin(0, keepdim=True).float()', grad: false }],
  softmax: [
    { name: 'softmax dim 1', inputs: [I([3, 5])], kiln: (x) => x.softmax(1), torch: 'lambda x: x.softmax(1)' },
    { name: 'softmax dim 0', inputs: [I([4, 3, 2])], kiln: (x) => x.mul(10).softmax(0), torch: 'lambda x: (x * 10).softmax(0)' },
  ],
  logSoftmax: [
    { name: 'logSoftmax dim 1', inputs: [I([3, 5])], kiln: (x) => x.logSoftmax(1), torch: 'lambda x: x.log_softmax(1)' },
    { name: 'logSoftmax middle dim', inputs: [I([2, 4, 3])], kiln: (x) => x.mul(20).logSoftmax(1), torch: 'lambda x: (x * 20).log_softmax(1)' },
  ],
  matmul: [
    { name: 'matmul 5x7 @ 7x3', inputs: [I([5, 7]), I([7, 3])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul 1x1', inputs: [I([1, 1]), I([1, 1])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul tile edges 33x17 @ 17x35', inputs: [I([33, 17]), I([17, 35])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul K=1', inputs: [I([6, 1]), I([1, 5])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul batched', inputs: [I([2, 3, 4]), I([4, 5])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul batch broadcast', inputs: [I([2, 1, 3, 4]), I([3, 4, 2])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul transA', inputs: [I([7, 5]), I([7, 3])], kiln: (a, b) => F.matmul(a, b, { transA: true }), torch: 'lambda a, b: a.t() @ b' },
    { name: 'matmul transB', inputs: [I([5, 7]), I([3, 7])], kiln: (a, b) => F.matmul(a, b, { transB: true }), torch: 'lambda a, b: a @ b.t()' },
    { name: 'matmul transA transB batched', inputs: [I([2, 4, 3]), I([2, 5, 4])], kiln: (a, b) => F.matmul(a, b, { transA: true, transB: true }), torch: 'lambda a, b: a.transpose(-1, -2) @ b.transpose(-1, -2)' },
    { name: 'matmul vector @ matrix', inputs: [I([4]), I([4, 3])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul matrix @ vector', inputs: [I([3, 4]), I([4])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul batch 1', inputs: [I([1, 2, 3]), I([1, 3, 2])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    // Shapes the vec4 kernel takes (dims it reads as vec4 are multiples of 4), edges and batches included.
    { name: 'matmul vec4 NN 5x8 @ 8x12', inputs: [I([5, 8]), I([8, 12])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul vec4 NT 7x8 @ (9x8)^T', inputs: [I([7, 8]), I([9, 8])], kiln: (a, b) => F.matmul(a, b, { transB: true }), torch: 'lambda a, b: a @ b.t()' },
    { name: 'matmul vec4 TN (6x8)^T @ 6x12', inputs: [I([6, 8]), I([6, 12])], kiln: (a, b) => F.matmul(a, b, { transA: true }), torch: 'lambda a, b: a.t() @ b' },
    { name: 'matmul vec4 batch broadcast', inputs: [I([2, 1, 3, 8]), I([3, 8, 4])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
    { name: 'matmul vec4 tile edges 37x36 @ 36x40', inputs: [I([37, 36]), I([36, 40])], kiln: (a, b) => a.matmul(b), torch: 'lambda a, b: a @ b' },
  ],
  conv2d: [
    { name: 'conv2d 3x3 pad 1', inputs: [I([2, 3, 7, 7]), I([4, 3, 3, 3]), I([4])], kiln: (x, w, b) => F.conv2d(x, w, b, { padding: 1 }), torch: 'lambda x, w, b: F.conv2d(x, w, b, padding=1)' },
    { name: 'conv2d stride 2 no bias', inputs: [I([1, 2, 7, 6]), I([3, 2, 3, 3])], kiln: (x, w) => F.conv2d(x, w, null, { stride: 2 }), torch: 'lambda x, w: F.conv2d(x, w, stride=2)' },
    { name: 'conv2d dilation 2', inputs: [I([1, 2, 8, 8]), I([2, 2, 3, 3]), I([2])], kiln: (x, w, b) => F.conv2d(x, w, b, { dilation: 2, padding: 2 }), torch: 'lambda x, w, b: F.conv2d(x, w, b, dilation=2, padding=2)' },
    { name: 'conv2d groups 2', inputs: [I([2, 4, 6, 5]), I([6, 2, 3, 3]), I([6])], kiln: (x, w, b) => F.conv2d(x, w, b, { groups: 2, padding: 1 }), torch: 'lambda x, w, b: F.conv2d(x, w, b, groups=2, padding=1)' },
    { name: 'conv2d DCGAN k4 s2 p1', inputs: [I([2, 3, 8, 8]), I([5, 3, 4, 4])], kiln: (x, w) => F.conv2d(x, w, null, { stride: 2, padding: 1 }), torch: 'lambda x, w: F.conv2d(x, w, stride=2, padding=1)' },
    { name: 'conv2d rectangular', inputs: [I([1, 2, 5, 6]), I([3, 2, 2, 3]), I([3])], kiln: (x, w, b) => F.conv2d(x, w, b, { stride: [2, 1], padding: [1, 0] }), torch: 'lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0))' },
    { name: 'conv2d DCGAN k4 s1 p0 to 1x1', inputs: [I([2, 4, 4, 4]), I([1, 4, 4, 4])], kiln: (x, w) => F.conv2d(x, w, null), torch: 'lambda x, w: F.conv2d(x, w)' },
  ],
  convTranspose2d: [
    { name: 'convT DCGAN k4 s2 p1', inputs: [I([2, 4, 3, 3]), I([4, 3, 4, 4]), I([3])], kiln: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1 }), torch: 'lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1)' },
    { name: 'convT latent k4 s1 p0', inputs: [I([2, 5, 1, 1]), I([5, 3, 4, 4])], kiln: (x, w) => F.convTranspose2d(x, w), torch: 'lambda x, w: F.conv_transpose2d(x, w)' },
    { name: 'convT outputPadding', inputs: [I([1, 2, 3, 4]), I([2, 3, 3, 3]), I([3])], kiln: (x, w, b) => F.convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: 1 }), torch: 'lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1)' },
    { name: 'convT groups 2', inputs: [I([1, 4, 3, 3]), I([4, 2, 3, 3])], kiln: (x, w) => F.convTranspose2d(x, w, null, { groups: 2, stride: 2 }), torch: 'lambda x, w: F.conv_transpose2d(x, w, groups=2, stride=2)' },
    { name: 'convT dilation 2', inputs: [I([1, 2, 3, 3]), I([2, 2, 3, 3])], kiln: (x, w) => F.convTranspose2d(x, w, null, { dilation: 2, padding: 1 }), torch: 'lambda x, w: F.conv_transpose2d(x, w, dilation=2, padding=1)' },
  ],
  batchNorm: [
    {
      name: 'batchNorm1d train', inputs: [I([6, 4]), I([4]), I([4])],
      kiln: (x, w, b) => F.batchNorm(x, null, null, w, b, { training: true }),
      torch: 'lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)',
    },
    {
      name: 'batchNorm2d train', inputs: [I([3, 4, 3, 3]), I([4]), I([4])],
      kiln: (x, w, b) => F.batchNorm(x, null, null, w, b, { training: true }),
      torch: 'lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True)',
    },
    {
      name: 'batchNorm2d train no affine', inputs: [I([2, 3, 2, 5])],
      kiln: (x) => F.batchNorm(x, null, null, null, null, { training: true }),
      torch: 'lambda x: F.batch_norm(x, None, None, training=True)',
    },
    {
      name: 'batchNorm2d eval', inputs: [I([2, 3, 2, 2]), I([3], 'randn', { grad: false }), I([3], 'pos', { grad: false }), I([3]), I([3])],
      kiln: (x, rm, rv, w, b) => F.batchNorm(x, rm, rv, w, b, { training: false }),
      torch: 'lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, training=False)',
    },
  ],
  oneHot: [{ name: 'oneHot', inputs: [I([5], 'labels', { classes: 4 })], kiln: (l) => F.oneHot(l, 4), torch: 'lambda l: F.one_hot(l.long(), 4).float()', grad: false }],
  linear: [
    { name: 'linear', inputs: [I([4, 5]), I([3, 5]), I([3])], kiln: (x, w, b) => F.linear(x, w, b), torch: 'lambda x, w, b: F.linear(x, w, b)' },
    { name: 'linear 3-D input', inputs: [I([2, 4, 5]), I([3, 5])], kiln: (x, w) => F.linear(x, w), torch: 'lambda x, w: F.linear(x, w)' },
    { name: 'linear + relu fused', inputs: [I([37, 6]), I([35, 6]), I([35])], kiln: (x, w, b) => F.linear(x, w, b, { activation: 'relu' }), torch: 'lambda x, w, b: F.relu(F.linear(x, w, b))' },
    { name: 'linear vec4 + bias + relu, 33 rows', inputs: [I([33, 12]), I([10, 12]), I([10])], kiln: (x, w, b) => F.linear(x, w, b, { activation: 'relu' }), torch: 'lambda x, w, b: F.relu(F.linear(x, w, b))' },
    { name: 'linear + leakyRelu fused', inputs: [I([5, 7]), I([4, 7]), I([4])], kiln: (x, w, b) => F.linear(x, w, b, { activation: 'leakyRelu', slope: 0.2 }), torch: 'lambda x, w, b: F.leaky_relu(F.linear(x, w, b), 0.2)' },
  ],
  crossEntropy: [
    { name: 'crossEntropy', inputs: [I([5, 4]), I([5], 'labels', { classes: 4 })], kiln: (x, l) => F.crossEntropy(x, l), torch: 'lambda x, l: F.cross_entropy(x, l.long())' },
    { name: 'crossEntropy none', inputs: [I([3, 2]), I([3], 'labels', { classes: 2 })], kiln: (x, l) => F.crossEntropy(x, l, { reduction: 'none' }), torch: "lambda x, l: F.cross_entropy(x, l.long(), reduction='none')" },
    { name: 'crossEntropy sum', inputs: [I([6, 3]), I([6], 'labels', { classes: 3 })], kiln: (x, l) => F.crossEntropy(x.mul(3), l, { reduction: 'sum' }), torch: "lambda x, l: F.cross_entropy(x * 3, l.long(), reduction='sum')" },
    { name: 'crossEntropy mean, 1400 rows (64-thread reduction)', inputs: [I([1400, 3]), I([1400], 'labels', { classes: 3 })], kiln: (x, l) => F.crossEntropy(x, l), torch: 'lambda x, l: F.cross_entropy(x, l.long())' },
  ],
  binaryCrossEntropy: [
    { name: 'binaryCrossEntropy', inputs: [I([4, 3], 'prob'), I([4, 3], 'binary', { grad: false })], kiln: (p, t) => F.binaryCrossEntropy(p, t), torch: 'lambda p, t: F.binary_cross_entropy(p, t)' },
    { name: 'binaryCrossEntropy soft targets sum', inputs: [I([5], 'prob'), I([5], 'prob')], kiln: (p, t) => F.binaryCrossEntropy(p, t, { reduction: 'sum' }), torch: "lambda p, t: F.binary_cross_entropy(p, t, reduction='sum')" },
    { name: 'binaryCrossEntropy none', inputs: [I([2, 3], 'prob'), I([2, 3], 'binary', { grad: false })], kiln: (p, t) => F.binaryCrossEntropy(p, t, { reduction: 'none' }), torch: "lambda p, t: F.binary_cross_entropy(p, t, reduction='none')" },
    { name: 'binaryCrossEntropy mean, 5000 elements (64-thread reduction)', inputs: [I([5000], 'prob'), I([5000], 'binary', { grad: false })], kiln: (p, t) => F.binaryCrossEntropy(p, t), torch: 'lambda p, t: F.binary_cross_entropy(p, t)' },
    { name: 'binaryCrossEntropy weighted', inputs: [I([3, 2], 'prob'), I([3, 2], 'binary', { grad: false }), I([2], 'pos', { grad: false })], kiln: (p, t, w) => F.binaryCrossEntropy(p, t, { weight: w }), torch: 'lambda p, t, w: F.binary_cross_entropy(p, t, weight=w)' },
  ],
  cast: [
    { name: 'cast float->int->float', inputs: [I([3, 4])], kiln: (x) => x.mul(3).to('int32').to('float32'), torch: 'lambda x: (x * 3).int().float()', grad: false },
  ],
  // ---- movement primitives (flip, pad) ----
  flip: [
    { name: 'flip dim 0', inputs: [I([3, 4])], kiln: (x) => x.flip(0), torch: 'lambda x: x.flip(0)' },
    { name: 'flip dims 1 and -1 of 3-D', inputs: [I([2, 3, 5])], kiln: (x) => F.flip(x, [1, -1]), torch: 'lambda x: x.flip(1, -1)' },
  ],
  pad: [
    { name: 'pad reflect 2-D', inputs: [I([2, 3, 4, 5])], kiln: (x) => F.pad(x, [2, 1, 1, 2], { mode: 'reflect' }), torch: "lambda x: F.pad(x, (2, 1, 1, 2), mode='reflect')" },
    { name: 'pad reflect 3 (CycleGAN) on 4x4', inputs: [I([1, 2, 4, 4])], kiln: (x) => F.pad(x, [3, 3, 3, 3], { mode: 'reflect' }), torch: "lambda x: F.pad(x, (3, 3, 3, 3), mode='reflect')" },
    { name: 'pad reflect 1-D on 3-D input', inputs: [I([2, 3, 5])], kiln: (x) => F.pad(x, [3, 4], { mode: 'reflect' }), torch: "lambda x: F.pad(x, (3, 4), mode='reflect')" },
    { name: 'pad reflect 3-D on 5-D input', inputs: [I([1, 2, 3, 3, 4])], kiln: (x) => F.pad(x, [1, 2, 1, 1, 2, 1], { mode: 'reflect' }), torch: "lambda x: F.pad(x, (1, 2, 1, 1, 2, 1), mode='reflect')" },
    { name: 'pad replicate 2-D', inputs: [I([2, 2, 3, 4])], kiln: (x) => F.pad(x, [1, 3, 2, 0], { mode: 'replicate' }), torch: "lambda x: F.pad(x, (1, 3, 2, 0), mode='replicate')" },
    { name: 'pad replicate 1-D unbatched', inputs: [I([2, 5])], kiln: (x) => F.pad(x, [2, 1], { mode: 'replicate' }), torch: "lambda x: F.pad(x, (2, 1), mode='replicate')" },
    { name: 'pad constant value, 3 dims', inputs: [I([2, 3, 4])], kiln: (x) => F.pad(x, [1, 2, 0, 1, 1, 0], { value: 0.5 }), torch: 'lambda x: F.pad(x, (1, 2, 0, 1, 1, 0), value=0.5)' },
    { name: 'pad constant negative crops', inputs: [I([3, 5])], kiln: (x) => F.pad(x, [-1, 2, 1, -1]), torch: 'lambda x: F.pad(x, (-1, 2, 1, -1))' },
  ],
};

/** NaN rules of the reductions (PyTorch: max/min propagate NaN; argmax/argmin pick the first NaN). */
export const nanCases: { [K in OpName]?: Case[] } = {
  max: [
    { name: 'max propagates NaN', inputs: [I([3, 3], 'randn', { values: [1, NaN, 2, 3, 4, 5, NaN, 0, NaN] })], kiln: (x) => x.max(1), torch: 'lambda x: x.amax(1)', grad: false },
    { name: 'max all with NaN', inputs: [I([2, 4], 'randn', { nanAt: [5] })], kiln: (x) => x.max(), torch: 'lambda x: x.amax()', grad: false },
    { name: 'max long with NaN (two-pass)', inputs: [I([2, 5003], 'randn', { nanAt: [4000] })], kiln: (x) => x.max(1), torch: 'lambda x: x.amax(1)', grad: false },
  ],
  min: [{ name: 'min propagates NaN', inputs: [I([3, 4], 'randn', { nanAt: [0, 6] })], kiln: (x) => x.min(0), torch: 'lambda x: x.amin(0)', grad: false }],
  argmax: [
    { name: 'argmax picks the first NaN', inputs: [I([3], 'randn', { values: [1, NaN, 2] })], kiln: (x) => x.argmax().to('float32'), torch: 'lambda x: x.argmax().float()', grad: false },
    { name: 'argmax rows with NaN', inputs: [I([3, 4], 'randn', { nanAt: [1, 3, 11] })], kiln: (x) => x.argmax(1).to('float32'), torch: 'lambda x: x.argmax(1).float()', grad: false },
  ],
  argmin: [{ name: 'argmin picks the first NaN', inputs: [I([4, 3], 'randn', { nanAt: [7, 10] })], kiln: (x) => x.argmin(0).to('float32'), torch: 'lambda x: x.argmin(0).float()', grad: false }],
};

/** Composite ops (functions over the table's ops, src/ops/names.ts COMPOSITES), keyed by name. */
export const compositeCases: { [K in CompositeName]: Case[] } = {
  where: [{ name: 'where scalar operands', inputs: [I([2, 3], 'mask', { grad: false }), I([2, 3])], kiln: (c, a) => F.where(c, a, 0.5), torch: 'lambda c, a: torch.where(c != 0, a, torch.tensor(0.5))' }],
  cat: [{ name: 'cat dim -1 of 3-D', inputs: [I([2, 3, 2]), I([2, 3, 1])], kiln: (a, b) => kiln.cat([a, b], -1), torch: 'lambda a, b: torch.cat([a, b], -1)' }],
  stack: [{ name: 'stack three', inputs: [I([3]), I([3]), I([3])], kiln: (a, b, c) => kiln.stack([a, b, c]), torch: 'lambda a, b, c: torch.stack([a, b, c])' }],
  transpose: [{ name: 'transpose dims 0, 2', inputs: [I([2, 3, 4])], kiln: (x) => x.transpose(0, 2), torch: 'lambda x: x.transpose(0, 2)' }],
  flattenDims: [{ name: 'flatten', inputs: [I([2, 3, 2])], kiln: (x) => x.flatten(1).mul(2), torch: 'lambda x: x.flatten(1) * 2' }],
  unflatten: [{ name: 'unflatten', inputs: [I([2, 6])], kiln: (x) => x.unflatten(1, [3, 2]).mul(2), torch: 'lambda x: x.unflatten(1, (3, 2)) * 2' }],
  mean: [
    { name: 'mean all', inputs: [I([3, 5])], kiln: (x) => x.mean(), torch: 'lambda x: x.mean()' },
    { name: 'mean dims keepdim', inputs: [I([2, 3, 4])], kiln: (x) => x.mean([0, 2], true), torch: 'lambda x: x.mean((0, 2), keepdim=True)' },
  ],
  binaryCrossEntropyWithLogits: [
    { name: 'binaryCrossEntropyWithLogits', inputs: [I([4, 3]), I([4, 3], 'binary', { grad: false })], kiln: (x, t) => F.binaryCrossEntropyWithLogits(x, t), torch: 'lambda x, t: F.binary_cross_entropy_with_logits(x, t)' },
    { name: 'binaryCrossEntropyWithLogits large logits', inputs: [I([6]), I([6], 'binary', { grad: false })], kiln: (x, t) => F.binaryCrossEntropyWithLogits(x.mul(40), t, { reduction: 'none' }), torch: "lambda x, t: F.binary_cross_entropy_with_logits(x * 40, t, reduction='none')" },
  ],
  mseLoss: [{ name: 'mseLoss', inputs: [I([3, 4]), I([3, 4])], kiln: (a, b) => F.mseLoss(a, b), torch: 'lambda a, b: F.mse_loss(a, b)' }],
  l1Loss: [{ name: 'l1Loss', inputs: [I([3, 4]), I([3, 4])], kiln: (a, b) => F.l1Loss(a, b), torch: 'lambda a, b: F.l1_loss(a, b)' }],
  // ---- movement and image-layer composites ----
  squeeze: [
    { name: 'squeeze all', inputs: [I([1, 3, 1, 2])], kiln: (x) => x.squeeze().mul(2), torch: 'lambda x: x.squeeze() * 2' },
    { name: 'squeeze negative dim', inputs: [I([3, 1, 2])], kiln: (x) => x.squeeze(-2).mul(2), torch: 'lambda x: x.squeeze(-2) * 2' },
    { name: 'squeeze a non-1 dim is a no-op', inputs: [I([3, 2])], kiln: (x) => F.squeeze(x, 0).mul(2), torch: 'lambda x: x.squeeze(0) * 2' },
  ],
  unsqueeze: [
    { name: 'unsqueeze 1', inputs: [I([3, 4])], kiln: (x) => x.unsqueeze(1).mul(2), torch: 'lambda x: x.unsqueeze(1) * 2' },
    { name: 'unsqueeze -1', inputs: [I([3, 4])], kiln: (x) => F.unsqueeze(x, -1).mul(2), torch: 'lambda x: x.unsqueeze(-1) * 2' },
  ],
  instanceNorm: [
    { name: 'instanceNorm', inputs: [I([2, 3, 4, 5])], kiln: (x) => F.instanceNorm(x), torch: 'lambda x: F.instance_norm(x)' },
    { name: 'instanceNorm affine', inputs: [I([2, 3, 3, 4]), I([3]), I([3])], kiln: (x, w, b) => F.instanceNorm(x, { weight: w, bias: b }), torch: 'lambda x, w, b: F.instance_norm(x, weight=w, bias=b)' },
    { name: 'instanceNorm 1-D spatial, eps 1e-3', inputs: [I([2, 2, 6])], kiln: (x) => F.instanceNorm(x, { eps: 1e-3 }), torch: 'lambda x: F.instance_norm(x, eps=1e-3)' },
    {
      name: 'instanceNorm with running statistics (eval)', inputs: [I([2, 3, 3, 3]), I([3], 'randn', { grad: false }), I([3], 'pos', { grad: false })],
      kiln: (x, rm, rv) => F.instanceNorm(x, { runningMean: rm, runningVar: rv, useInputStats: false }),
      torch: 'lambda x, rm, rv: F.instance_norm(x, rm, rv, use_input_stats=False)',
    },
  ],
  interpolate: [
    { name: 'interpolate nearest x2', inputs: [I([1, 2, 3, 4])], kiln: (x) => F.interpolate(x, { scaleFactor: 2 }), torch: "lambda x: F.interpolate(x, scale_factor=2, mode='nearest')" },
    { name: 'interpolate nearest per-dim scales', inputs: [I([1, 1, 2, 3])], kiln: (x) => F.interpolate(x, { scaleFactor: [3, 2] }), torch: 'lambda x: F.interpolate(x, scale_factor=(3, 2))' },
    { name: 'interpolate nearest size, 3-D input', inputs: [I([2, 3, 4])], kiln: (x) => F.interpolate(x, { size: 12 }), torch: 'lambda x: F.interpolate(x, size=12)' },
  ],
  dropout: [
    { name: 'dropout eval is the identity', inputs: [I([3, 4])], kiln: (x) => F.dropout(x, { p: 0.3, training: false }).mul(2), torch: 'lambda x: F.dropout(x, 0.3, training=False) * 2' },
    { name: 'dropout p=0', inputs: [I([3, 4])], kiln: (x) => F.dropout(x, { p: 0 }).mul(2), torch: 'lambda x: F.dropout(x, 0.0) * 2' },
    { name: 'dropout p=1 zeroes everything', inputs: [I([3, 4])], kiln: (x) => F.dropout(x, { p: 1 }), torch: 'lambda x: F.dropout(x, 1.0)' },
  ],
  // ---- PyTorch-port composites: nllLoss (crossEntropy's weight / ignoreIndex / labelSmoothing run through it),
  // BCE-with-logits weight / posWeight, maxPool2d ----
  nllLoss: [
    { name: 'nllLoss', inputs: [I([5, 4]), I([5], 'labels', { classes: 4 })], kiln: (x, l) => F.nllLoss(x.logSoftmax(1), l), torch: 'lambda x, l: F.nll_loss(x.log_softmax(1), l.long())' },
    { name: 'nllLoss weight ignoreIndex sum', inputs: [I([5, 4]), I([5], 'labels', { values: [0, -100, 3, 1, -100] }), I([4], 'pos', { grad: false })], kiln: (x, l, w) => F.nllLoss(x.logSoftmax(1), l, { weight: w, ignoreIndex: -100, reduction: 'sum' }), torch: "lambda x, l, w: F.nll_loss(x.log_softmax(1), l.long(), weight=w, ignore_index=-100, reduction='sum')" },
    { name: 'crossEntropy weight', inputs: [I([6, 3]), I([6], 'labels', { classes: 3 }), I([3], 'pos', { grad: false })], kiln: (x, l, w) => F.crossEntropy(x, l, { weight: w }), torch: 'lambda x, l, w: F.cross_entropy(x, l.long(), weight=w)' },
    { name: 'crossEntropy ignoreIndex none', inputs: [I([4, 3]), I([4], 'labels', { values: [1, 2, 0, 2] })], kiln: (x, l) => F.crossEntropy(x, l, { ignoreIndex: 2, reduction: 'none' }), torch: "lambda x, l: F.cross_entropy(x, l.long(), ignore_index=2, reduction='none')" },
    { name: 'crossEntropy labelSmoothing 0.2', inputs: [I([5, 4]), I([5], 'labels', { classes: 4 })], kiln: (x, l) => F.crossEntropy(x, l, { labelSmoothing: 0.2 }), torch: 'lambda x, l: F.cross_entropy(x, l.long(), label_smoothing=0.2)' },
    { name: 'crossEntropy weight, ignoreIndex and labelSmoothing', inputs: [I([6, 4]), I([6], 'labels', { values: [0, 3, 1, 3, 2, 1] }), I([4], 'pos', { grad: false })], kiln: (x, l, w) => F.crossEntropy(x, l, { weight: w, ignoreIndex: 3, labelSmoothing: 0.1 }), torch: 'lambda x, l, w: F.cross_entropy(x, l.long(), weight=w, ignore_index=3, label_smoothing=0.1)' },
    { name: 'binaryCrossEntropyWithLogits weight and posWeight', inputs: [I([4, 3]), I([4, 3], 'binary', { grad: false }), I([4, 3], 'pos', { grad: false }), I([3], 'pos', { grad: false })], kiln: (x, t, w, pw) => F.binaryCrossEntropyWithLogits(x.mul(3), t, { weight: w, posWeight: pw }), torch: 'lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x * 3, t, weight=w, pos_weight=pw)' },
  ],
  maxPool2d: [
    { name: 'maxPool2d 2', inputs: [I([2, 3, 4, 6])], kiln: (x) => F.maxPool2d(x, 2), torch: 'lambda x: F.max_pool2d(x, 2)' },
    { name: 'maxPool2d (2, 3) of 3-D', inputs: [I([3, 4, 6])], kiln: (x) => F.maxPool2d(x, [2, 3]), torch: 'lambda x: F.max_pool2d(x, (2, 3))' },
  ],
};

/** Rows over several ops or modules (layers, chains), compared with the same PyTorch expression. */
export const chainCases: Case[] = [
  { name: 'Sequential Linear+ReLU / Linear+LeakyReLU fusion', inputs: [I([4, 3]), I([5, 3]), I([5]), I([2, 5]), I([2])], kiln: (x, w1, b1, w2, b2) => F.linear(F.linear(x, w1, b1, { activation: 'relu' }), w2, b2, { activation: 'leakyRelu', slope: 0.01 }), torch: 'lambda x, w1, b1, w2, b2: F.leaky_relu(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), 0.01)' },
  { name: 'mlp chain', inputs: [I([4, 3]), I([5, 3]), I([5]), I([2, 5]), I([2])], kiln: (x, w1, b1, w2, b2) => F.sigmoid(F.linear(F.leakyRelu(F.linear(x, w1, b1), 0.2), w2, b2)), torch: 'lambda x, w1, b1, w2, b2: torch.sigmoid(F.linear(F.leaky_relu(F.linear(x, w1, b1), 0.2), w2, b2))' },
  // ---- the CycleGAN layers as modules ----
  { name: 'nn.ReflectionPad2d(3)', inputs: [I([2, 2, 5, 4])], kiln: (x) => new kiln.nn.ReflectionPad2d(3).forward(x), torch: 'lambda x: torch.nn.ReflectionPad2d(3)(x)' },
  { name: 'nn.ReplicationPad2d 4-tuple', inputs: [I([1, 2, 3, 3])], kiln: (x) => new kiln.nn.ReplicationPad2d([1, 0, 2, 3]).forward(x), torch: 'lambda x: torch.nn.ReplicationPad2d((1, 0, 2, 3))(x)' },
  { name: 'nn.ZeroPad2d', inputs: [I([1, 2, 3, 3])], kiln: (x) => new kiln.nn.ZeroPad2d([1, 2, 0, 1]).forward(x), torch: 'lambda x: torch.nn.ZeroPad2d((1, 2, 0, 1))(x)' },
  { name: 'nn.InstanceNorm2d unbatched', inputs: [I([3, 4, 4])], kiln: (x) => new kiln.nn.InstanceNorm2d(3).forward(x), torch: 'lambda x: torch.nn.InstanceNorm2d(3)(x)' },
  { name: 'nn.InstanceNorm2d affine', inputs: [I([2, 3, 4, 4])], kiln: (x) => new kiln.nn.InstanceNorm2d(3, { affine: true }).forward(x), torch: 'lambda x: torch.nn.InstanceNorm2d(3, affine=True).to(x.dtype)(x)' },
  { name: 'nn.Upsample x2', inputs: [I([1, 2, 2, 3])], kiln: (x) => new kiln.nn.Upsample({ scaleFactor: 2 }).forward(x), torch: "lambda x: torch.nn.Upsample(scale_factor=2, mode='nearest')(x)" },
  { name: 'nn.Dropout eval', inputs: [I([3, 4])], kiln: (x) => new kiln.nn.Dropout(0.5).eval().forward(x).mul(2), torch: 'lambda x: torch.nn.Dropout(0.5).eval()(x) * 2' },
  { name: 'clamp max only (tensor method)', inputs: [I([3, 4], 'away')], kiln: (x) => x.clamp(undefined, 0.3), torch: 'lambda x: x.clamp(max=0.3)' },
];

export const allCases: { op: string; c: Case }[] = [
  ...Object.entries(opCases).flatMap(([op, cs]) => cs.map((c) => ({ op, c }))),
  ...Object.entries(nanCases).flatMap(([op, cs]) => cs!.map((c) => ({ op, c }))),
  ...Object.entries(compositeCases).flatMap(([op, cs]) => cs.map((c) => ({ op: `composite:${op}`, c }))),
  ...chainCases.map((c) => ({ op: 'chain', c })),
];

/** Ops whose table entry has no backward. */
export const noGradOps = new Set(['sign', 'compareScalar', 'compare', 'argmax', 'argmin', 'oneHot', 'cast']);
