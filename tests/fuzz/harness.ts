// A seeded fuzzer of misuse: random bad calls over the public API, each classified as a clear error, an
// unclear error, a silent result, a leak, a GPU validation error or a hang. Shared by tests/fuzz/fuzz.test.ts
// (a small sample) and scripts/fuzz.ts (the full run with figures).
import * as kiln from '../../src/index.js';
import { backend } from '../../src/autograd/context.js';
import { mulberry32, permutation } from '../../src/data/dataset.js';
import { ImageDataset } from '../../src/data/images.js';
import { decodeCheckpoint } from '../../src/gan/checkpoint.js';
import { buildRun } from '../../src/gan/recipes.js';
import { GANLoss } from '../../src/gan/gan_loss.js';
import { nLayerDiscriminator, resnetGenerator } from '../../src/gan/cyclegan_nets.js';
import { sgdStep } from '../../src/ops/kernels.js';
import { decodeSafetensors, decodeSealed, encodeSafetensors, encodeSealed } from '../../src/io/safetensors.js';

type K = typeof kiln;
type Tensor = kiln.Tensor;

export type Outcome = 'clear' | 'unclear' | 'silent' | 'leak' | 'gpu' | 'hang';

/** One bad call: `inputs` are made before the call (and freed after); `run` is the misuse. */
export interface BadCall {
  kind: string;
  /** The op or argument a clear message must name (case-insensitive regexp source). */
  names: string;
  inputs: Tensor[];
  run: () => unknown;
  /** Extra check after a successful-looking call: returns a reason when the call changed state it must not. */
  after?: () => Promise<string | null>;
}

export interface Result { kind: string; outcome: Outcome; detail: string }

interface Rng { int(lo: number, hi: number): number; pick<T>(xs: readonly T[]): T; shape(): number[] }

function rngOf(seed: number): Rng {
  const r = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  return {
    int,
    pick: (xs) => xs[Math.floor(r() * xs.length)],
    shape: () => Array.from({ length: int(1, 3) }, () => int(1, 5)),
  };
}

const UNCLEAR = /Cannot read propert|is not iterable|is not a function|undefined is|of undefined|of null|dim undefined|no overload|Maximum call stack|Invalid array length|is not defined|NaN bytes/;

/** The kinds of misuse, each a generator of random instances. */
export function kinds(k: K): [string, (r: Rng) => BadCall][] {
  const int32 = (xs: number[]) => k.tensor(xs, undefined, { dtype: 'int32' });
  const mk = (kind: string, names: string, inputs: Tensor[], run: () => unknown, after?: BadCall['after']): BadCall =>
    ({ kind, names, inputs, run, after });
  const bad = (r: Rng) => r.pick([NaN, Infinity, -Infinity, 1.5, -0.5, '1' as unknown as number, undefined as unknown as number, null as unknown as number]);
  const notDim = (r: Rng) => r.pick([1.5, NaN, Infinity, '0' as unknown as number, null as unknown as number, 99, -99]);
  // Labels whose out-of-range values only the GPU sees (they did not come straight from tensor()).
  const outOfRange = (r: Rng, n: number, C: number): Tensor => {
    const how = r.pick(['arange', 'full', 'reshape', 'clone', 'detach', 'cast', 'cat', 'negative']);
    switch (how) {
      case 'arange': return k.arange(C, C + n, 1, { dtype: 'int32' });
      case 'full': return k.full([n], C + r.int(0, 3), { dtype: 'int32' });
      case 'negative': return k.full([n], -1 - r.int(0, 3), { dtype: 'int32' });
      case 'reshape': { const t = k.arange(C, C + n, 1, { dtype: 'int32' }); const v = t.reshape([n]); return keepBoth(t, v); }
      case 'clone': { const t = int32(Array.from({ length: n }, (_, i) => (i === n - 1 ? C : 0))); const v = t.clone(); t.dispose(); return v; }
      case 'detach': { const t = k.full([n], C, { dtype: 'int32' }); const v = t.detach(); t.dispose(); return v; }
      case 'cast': { const t = k.full([n], C + 0.25); const v = t.to('int32'); t.dispose(); return v; }
      default: {
        const a = k.zeros([n - 1], { dtype: 'int32' }); const b = k.full([1], C, { dtype: 'int32' });
        const v = k.cat([a, b]); a.dispose(); b.dispose(); return v;
      }
    }
  };
  const keepBoth = (t: Tensor, v: Tensor) => { t.dispose(); return v; };
  const model = () => new k.nn.Sequential(new k.nn.Linear(3, 4), new k.nn.BatchNorm1d(4), new k.nn.ReLU(), new k.nn.Linear(4, 2));

  return [
    // ---------------- factories
    ['tensor int32 overflow', (r) => mk('tensor int32 overflow', 'tensor', [], () => k.tensor([r.pick([2 ** 31, -(2 ** 31) - 1, 1e12, 2 ** 40])], undefined, { dtype: 'int32' }))],
    ['tensor shape not an array', (r) => mk('tensor shape not an array', 'tensor', [], () => k.tensor([1, 2], r.pick([2, '2', {}]) as never))],
    ['tensor int32 NaN', (r) => mk('tensor int32 NaN', 'tensor', [], () => k.tensor([1, r.pick([NaN, Infinity, 0.5])], undefined, { dtype: 'int32' }))],
    ['tensor bad data', (r) => mk('tensor bad data', 'tensor', [], () => k.tensor(r.pick([undefined, null, 'abc', [1, 'a'], [[1], 2], {}]) as never))],
    ['tensor float NaN shape', (r) => mk('tensor float NaN shape', 'tensor', [], () => k.tensor([1, 2], [r.pick([NaN, 1.5, -2])] as never))],
    ['factory bad dtype', (r) => {
      const dtype = r.pick(['float64', 'int64', 'float16', 'bool', 7]) as never;
      const f = r.pick(['zeros', 'ones', 'full', 'tensor', 'arange', 'randn', 'rand'] as const);
      const call = () => f === 'full' ? k.full([3], 1, { dtype }) : f === 'tensor' ? k.tensor([1], undefined, { dtype })
        : f === 'arange' ? k.arange(0, 3, 1, { dtype }) : f === 'randn' ? k.randn([3], { dtype } as never) : f === 'rand' ? k.rand([3], { dtype } as never)
          : k[f]([3], { dtype });
      return mk('factory bad dtype', `${f}|dtype`, [], call);
    }],
    ['factory bad shape', (r) => {
      const shape = r.pick([[2.5], [NaN], [-1], 3, '3', [[2]], null, [Infinity], [2 ** 40]]) as never;
      const f = r.pick(['zeros', 'ones', 'full', 'randn', 'rand'] as const);
      return mk('factory bad shape', f, [], () => (f === 'full' ? k.full(shape, 1) : k[f](shape)));
    }],
    ['full bad value', (r) => mk('full bad value', 'full', [], () => k.full([2], r.pick(['a', undefined, null, {}]) as never))],
    ['full int32 fraction', (r) => mk('full int32 fraction', 'full', [], () => k.full([2], r.pick([0.5, NaN, 2 ** 31]), { dtype: 'int32' }))],
    ['randn bad std', (r) => mk('randn bad std', 'randn|std', [], () => k.randn([3], { std: r.pick([-1, NaN, Infinity, -0.001]) }))],
    ['randn bad mean', (r) => mk('randn bad mean', 'randn|mean', [], () => k.randn([3], { mean: r.pick([NaN, Infinity, 'x' as unknown as number]) }))],
    ['rand low >= high', (r) => mk('rand low >= high', 'rand', [], () => k.rand([3], r.pick([{ low: 5, high: 1 }, { low: NaN }, { high: Infinity }, { low: 1, high: 1 }])))],
    ['arange non-finite', (r) => mk('arange non-finite', 'arange', [], () => k.arange(r.pick([NaN, Infinity, -Infinity]), r.pick([undefined, 3, NaN])))],
    ['arange huge', (r) => mk('arange huge', 'arange|exceeds', [], () => k.arange(0, r.pick([1e12, 2 ** 40]), 1))],
    ['arange int32 range', (r) => mk('arange int32 range', 'arange', [], () => k.arange(r.pick([2 ** 31, -(2 ** 32)]), r.pick([2 ** 31 + 3, -(2 ** 32) + 3]), 1, { dtype: 'int32' }))],
    // ---------------- tensor methods
    ['transpose bad dim', (r) => { const x = k.zeros([2, 3]); return mk('transpose bad dim', 'transpose', [x], () => x.transpose(0, notDim(r))); }],
    ['flatten bad dim', (r) => { const x = k.zeros([2, 3, 4]); return mk('flatten bad dim', 'flatten', [x], () => r.pick([() => x.flatten(0, 1.5), () => x.flatten(NaN), () => x.flatten(notDim(r))])()); }],
    ['reshape bad dims', (r) => { const x = k.zeros([2, 3]); return mk('reshape bad dims', 'reshape', [x], () => x.reshape(r.pick([[2.5, 2], [NaN, 6], ['6'], [6, null]]) as never)); }],
    ['reduce bad dim', (r) => { const x = k.zeros(r.shape()); const f = r.pick(['sum', 'mean', 'max', 'min'] as const); return mk('reduce bad dim', f, [x], () => x[f](notDim(r))); }],
    ['argmax bad dim', (r) => { const x = k.zeros([2, 3]); const f = r.pick(['argmax', 'argmin'] as const); return mk('argmax bad dim', f, [x], () => x[f](notDim(r))); }],
    ['permute bad', (r) => { const x = k.zeros([2, 3]); return mk('permute bad', 'permute', [x], () => x.permute(r.pick([[0, 1.5], [0], [NaN, 1], [0, 1, 2]]) as never)); }],
    ['narrow bad', (r) => { const x = k.zeros([4, 3]); return mk('narrow bad', 'narrow', [x], () => x.narrow(r.pick([0, 1.5, NaN]), r.pick([1.5, -9, 5, NaN]), r.pick([-1, 2.5, 9]))); }],
    ['unflatten bad', (r) => { const x = k.zeros([6]); return mk('unflatten bad', 'unflatten', [x], () => x.unflatten(r.pick([0, 1.5]), r.pick([[4, 4], [2.5, 2], 'ab'] as never))); }],
    ['softmax bad dim', (r) => { const x = k.zeros([2, 3]); const f = r.pick(['softmax', 'logSoftmax'] as const); return mk('softmax bad dim', f, [x], () => x[f](notDim(r))); }],
    ['expand bad', (r) => { const x = k.zeros([1, 3]); return mk('expand bad', 'expand', [x], () => x.expand(r.pick([[2.5, 3], [NaN, 3], [4, 4], [-2, 3]]) as never)); }],
    ['clamp bad', (r) => { const x = k.zeros([3]); return mk('clamp bad', 'clamp', [x], () => x.clamp(r.pick([NaN, 2, 'a' as unknown as number]), r.pick([NaN, 1, {} as unknown as number]))); }],
    ['leakyRelu bad slope', (r) => { const x = k.zeros([3]); return mk('leakyRelu bad slope', 'leakyRelu|slope', [x], () => x.leakyRelu(r.pick(['a', NaN, Infinity, null]) as never)); }],
    ['pow bad exponent', (r) => { const x = k.ones([3]); return mk('pow bad exponent', 'pow', [x], () => x.pow(r.pick([NaN, Infinity, 'a', undefined, null]) as never)); }],
    ['arith bad operand', (r) => {
      const x = k.ones([3]); const f = r.pick(['add', 'sub', 'mul', 'div', 'gt', 'eq', 'maximum', 'minimum', 'matmul'] as const);
      return mk('arith bad operand', f, [x], () => (x[f] as (o: unknown) => unknown)(r.pick(['1', undefined, null, [1, 2, 3], {}, true])));
    }],
    ['to bad dtype', (r) => { const x = k.ones([3]); return mk('to bad dtype', 'cast|dtype', [x], () => x.to(r.pick(['float64', 'int64', 'bool', undefined]) as never)); }],
    ['item multi', (r) => { const x = k.ones(r.pick([[2], [2, 3], [0]])); return mk('item multi', 'item', [x], () => x.item()); }],
    ['backward non-scalar', (r) => { const x = k.ones([3], { requiresGrad: true }); return mk('backward non-scalar', 'backward', [x], () => { const y = x.mul(2); try { y.backward(r.pick([undefined, 5 as never])); } finally { y.dispose(); } }); }],
    ['copy_ mismatch', (r) => { const a = k.zeros([3]); const b = k.zeros(r.pick([[4], [3, 1]])); return mk('copy_ mismatch', 'copy_', [a, b], () => a.copy_(r.pick([b, undefined, 5]) as never)); }],
    ['requiresGrad_ int', () => { const x = k.zeros([3], { dtype: 'int32' }); return mk('requiresGrad_ int', 'requiresGrad_', [x], () => x.requiresGrad_()); }],
    ['disposed input', (r) => { const x = k.ones([3]); x.dispose(); const f = r.pick(['add', 'sum', 'relu', 'reshape', 'toArray', 'clone', 'detach'] as const); return mk('disposed input', 'dispose', [], () => (x[f] as (o?: unknown) => unknown)(f === 'add' ? 1 : f === 'reshape' ? [3] : undefined)); }],
    // ---------------- F
    ['crossEntropy device labels', (r) => {
      const n = r.int(2, 8); const C = r.int(2, 5);
      const x = k.randn([n, C]); const y = outOfRange(r, n, C);
      return mk('crossEntropy device labels', 'crossEntropy', [x, y], () => k.F.crossEntropy(x, y, { reduction: r.pick(['mean', 'sum', 'none'] as const) }));
    }],
    ['crossEntropy long labels', (r) => {
      const n = 65_537 + r.int(0, 100); const C = 2;
      const x = k.zeros([n, C]); const y = k.tensor(Int32Array.from({ length: n }, (_, i) => (i === n - 1 ? 2 : 0)), [n]);
      return mk('crossEntropy long labels', 'crossEntropy', [x, y], () => k.F.crossEntropy(x, y));
    }],
    ['oneHot device labels', (r) => { const n = r.int(2, 6); const C = r.int(2, 5); const y = outOfRange(r, n, C); return mk('oneHot device labels', 'oneHot', [y], () => k.F.oneHot(y, C)); }],
    ['oneHot bad classes', (r) => { const y = int32([0, 1]); return mk('oneHot bad classes', 'oneHot', [y], () => k.F.oneHot(y, r.pick([0, 1.5, NaN, -1]))); }],
    ['loss bad reduction', (r) => {
      const a = k.rand([3]); const b = k.rand([3]); const f = r.pick(['mseLoss', 'l1Loss', 'binaryCrossEntropyWithLogits', 'binaryCrossEntropy'] as const);
      return mk('loss bad reduction', `${f}|reduction`, [a, b], () => k.F[f](a, b, { reduction: r.pick(['avg', 'MEAN', '', 3]) as never }));
    }],
    ['crossEntropy bad reduction', (r) => { const x = k.zeros([2, 3]); const y = int32([0, 1]); return mk('crossEntropy bad reduction', 'crossEntropy|reduction', [x, y], () => k.F.crossEntropy(x, y, { reduction: r.pick(['avg', 1]) as never })); }],
    ['where bad broadcast', (r) => { const c = k.ones([2, 3]); const a = k.ones([r.pick([4, 5])]); return mk('where bad broadcast', 'where', [c, a], () => k.F.where(c, a, r.pick([0, 1.5]))); }],
    ['where bad operand', (r) => { const c = k.ones([2]); return mk('where bad operand', 'where', [c], () => k.F.where(c, r.pick(['a', undefined, null]) as never, 0)); }],
    ['bce bad weight', (r) => { const p = k.rand([2, 3]); const t = k.rand([2, 3]); const w = k.ones(r.pick([[4], [3, 2]])); return mk('bce bad weight', 'binaryCrossEntropy|weight', [p, t, w], () => k.F.binaryCrossEntropy(p, t, { weight: w })); }],
    ['linear bad precision', (r) => { const x = k.ones([2, 4]); const w = k.ones([3, 4]); return mk('linear bad precision', 'linear|precision', [x, w], () => k.F.linear(x, w, null, { precision: r.pick(['f64', 'f8', 1]) as never })); }],
    ['linear bad activation', (r) => { const x = k.ones([2, 4]); const w = k.ones([3, 4]); return mk('linear bad activation', 'linear|activation', [x, w], () => k.F.linear(x, w, null, { activation: r.pick(['gelu', 'Relu']) as never })); }],
    ['F on non-tensor', (r) => {
      const y = k.ones([2]); const f = r.pick(['binaryCrossEntropy', 'mseLoss', 'relu', 'sum', 'exp', 'softmax', 'matmul'] as const);
      return mk('F on non-tensor', f, [y], () => (k.F[f] as (a: unknown, b?: unknown) => unknown)(r.pick([5, undefined, null, 'x', [1, 2]]), y));
    }],
    ['stack/cat bad list', (r) => {
      const y = k.ones([2]); const f = r.pick(['stack', 'cat'] as const);
      return mk('stack/cat bad list', f, [y], () => (k[f] as (a: unknown, d?: number) => unknown)(r.pick([[y, undefined], [y, 3], y, 'ab', [y, null]]), 0));
    }],
    ['cat bad dim', (r) => { const a = k.ones([2, 3]); return mk('cat bad dim', 'cat', [a], () => k.cat([a, a], r.pick([1.5, NaN, 5]))); }],
    ['cat mixed dtype', () => { const a = k.ones([2]); const b = k.ones([2], { dtype: 'int32' }); return mk('cat mixed dtype', 'cat', [a, b], () => k.cat([a, b], 0)); }],
    ['conv2d bad options', (r) => {
      const x = k.ones([1, 1, 5, 5]); const w = k.ones([1, 1, 3, 3]);
      return mk('conv2d bad options', 'conv2d', [x, w], () => k.F.conv2d(x, w, null, r.pick([{ stride: 1.5 }, { padding: -1 }, { dilation: 0 }, { groups: 1.5 }, { stride: [1] as never }, { padding: NaN }])));
    }],
    ['batchNorm bad options', (r) => {
      const x = k.ones([4, 2]); const m = k.zeros([2]); const v = k.ones([2]);
      return mk('batchNorm bad options', 'batchNorm', [x, m, v], () => k.F.batchNorm(x, m, v, null, null, r.pick([{ eps: -1 }, { eps: NaN }, { momentum: NaN, training: true }, { momentum: 2, training: true }])));
    }],
    ['mean bad dim', (r) => { const x = k.ones([2, 3]); return mk('mean bad dim', 'mean', [x], () => k.F.mean(x, r.pick([1.5, [0, 0], 5]) as never)); }],
    ['flip bad dims', (r) => { const x = k.zeros([2, 3]); return mk('flip bad dims', 'flip', [x], () => k.F.flip(x, r.pick([1.5, [0, 0], 5, null, 'a', [NaN]]) as never)); }],
    ['pad bad', (r) => {
      const x = k.zeros([1, 1, 3, 3]);
      return mk('pad bad', 'pad', [x], () => r.pick([
        () => k.F.pad(x, r.pick([[1.5, 1], [1], 'ab', null, [NaN, 0]]) as never, { mode: r.pick(['reflect', 'constant', undefined]) }),
        () => k.F.pad(x, [3, 3], { mode: r.pick(['reflect', 'circular']) as never }),
        () => k.F.pad(x, [1, 1], { value: r.pick(['a', null, {}]) as never }),
      ])());
    }],
    ['squeeze/unsqueeze bad', (r) => {
      const x = k.zeros([2, 1]); const f = r.pick(['squeeze', 'unsqueeze'] as const);
      return mk('squeeze/unsqueeze bad', f, [x], () => (k.F[f] as (a: unknown, d: unknown) => unknown)(r.pick([x, x, 5]), r.pick([1.5, NaN, 9, 'a', null])));
    }],
    ['instanceNorm bad', (r) => {
      const x = k.ones([1, 2, 3, 3]); const w = k.ones([r.pick([3, 2])]);
      return mk('instanceNorm bad', 'instanceNorm', [x, w], () => k.F.instanceNorm(r.pick([x, 5 as never]), r.pick([{ eps: -1 }, { eps: NaN }, { momentum: 2 }, { weight: w, bias: null, eps: 0 }, { runningMean: w }, { weight: 'a' as never }])));
    }],
    ['interpolate bad', (r) => {
      const x = k.ones([1, 1, 2, 2]);
      return mk('interpolate bad', 'interpolate', [x], () => k.F.interpolate(x, r.pick([{}, { size: 3 }, { scaleFactor: 1.5 }, { scaleFactor: 0 }, { scaleFactor: NaN }, { size: [4] }, { mode: 'bilinear' as never, scaleFactor: 2 }, { size: 4, scaleFactor: 2 }])));
    }],
    ['dropout bad', (r) => { const x = k.ones([4]); return mk('dropout bad', 'dropout', [x], () => k.F.dropout(r.pick([x, undefined]) as never, { p: r.pick([-0.1, 1.5, NaN, 'a']) as never, training: r.pick([true, 'yes']) as never })); }],
    // ---------------- nn
    ['Linear bad size', (r) => mk('Linear bad size', 'Linear', [], () => new k.nn.Linear(r.pick([2.5, 0, -1, NaN]), 3))],
    ['Conv2d bad size', (r) => mk('Conv2d bad size', 'Conv2d', [], () => new k.nn.Conv2d(1, 2, r.pick([0, 1.5, [3] as never, NaN])))],
    ['BatchNorm bad options', (r) => mk('BatchNorm bad options', 'BatchNorm', [], () => new k.nn.BatchNorm2d(3, r.pick([{ eps: -1 }, { eps: NaN }, { momentum: 2 }, { momentum: NaN }])))],
    ['LeakyReLU bad slope', (r) => mk('LeakyReLU bad slope', 'LeakyReLU|slope', [], () => new k.nn.LeakyReLU(r.pick([NaN, 'a']) as never))],
    ['loadStateDict bad last key', (r) => {
      const m = model(); const sd = m.stateDict();
      const fresh = new Map<string, Tensor>(); const owned: Tensor[] = [];
      const keys = [...sd.keys()];
      const badKey = keys[keys.length - 1 - r.int(0, 1)];
      const what = r.pick(['shape', 'dtype', 'disposed', 'notTensor']);
      for (const key of keys) {
        const t = sd.get(key)!;
        let v: Tensor;
        if (key === badKey && what === 'shape') v = k.zeros([t.numel + 1], { dtype: t.dtype });
        else if (key === badKey && what === 'dtype') v = k.zeros(t.shape, { dtype: t.dtype === 'int32' ? 'float32' : 'int32' });
        else v = k.full(t.shape, 7, { dtype: t.dtype });
        owned.push(v);
        if (key === badKey && what === 'disposed') v.dispose();
        fresh.set(key, key === badKey && what === 'notTensor' ? ([1, 2] as never) : v);
      }
      const before = Promise.all(m.parameters().map((p) => p.toArray()));
      return mk('loadStateDict bad last key', 'loadStateDict', owned.filter((t) => !t.isDisposed), () => m.loadStateDict(fresh), async () => {
        const a = await before; const b = await Promise.all(m.parameters().map((p) => p.toArray()));
        return a.some((x, i) => x.some((v, j) => v !== b[i][j])) ? 'the module was partly overwritten' : null;
      });
    }],
    ['loadStateDict not a dict', (r) => { const m = new k.nn.Linear(2, 2); return mk('loadStateDict not a dict', 'loadStateDict', [], () => m.loadStateDict(r.pick([null, undefined, 5, 'x']) as never)); }],
    // ---------------- optim
    ['optimizer on a module', (r) => { const m = new k.nn.Linear(2, 2); const O = r.pick(['Adam', 'SGD'] as const); return mk('optimizer on a module', O, [], () => new k.optim[O](m as never, { lr: 0.1 })); }],
    ['optimizer bad params', (r) => { const O = r.pick(['Adam', 'SGD'] as const); return mk('optimizer bad params', O, [], () => new k.optim[O](r.pick([[5], [null], 'ab', null, undefined, [[]]]) as never, { lr: 0.1 })); }],
    ['optimizer bad hyper', (r) => {
      const p = k.ones([2], { requiresGrad: true }); const O = r.pick(['Adam', 'SGD'] as const);
      const o = r.pick([{ lr: NaN }, { lr: -1 }, { lr: 'a' }, { weightDecay: Infinity }, { lr: Infinity }, ...(O === 'Adam'
        ? [{ betas: [1.5, 0.9] }, { betas: [0.9] }, { eps: NaN }] : [{ momentum: NaN }, { momentum: -1 }])]);
      return mk('optimizer bad hyper', O, [p], () => new k.optim[O]([p], { lr: 0.1, ...o } as never));
    }],
    ['optimizer disposed param', (r) => {
      const p = k.ones([2], { requiresGrad: true }); const q = k.ones([2], { requiresGrad: true });
      const O = r.pick(['Adam', 'SGD'] as const);
      const before = r.pick([true, false]);
      if (before) p.dispose();
      let opt: kiln.optim.Optimizer | null = null;
      return mk('optimizer disposed param', `${O}|dispose`, [q], () => {
        opt = new k.optim[O]([p, q], { lr: 0.1 });
        q.grad = k.ones([2]).keep();
        if (!p.isDisposed) { p.grad = k.ones([2]).keep(); p.dispose(); }
        try { opt.step(); } finally { opt.dispose(); q.grad?.dispose(); q.grad = null; }
      });
    }],
    // ---------------- io and data
    ['safetensors bad header', (r) => {
      const json = r.pick(['null', '[]', '5', '{"a":null}', '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}', '{"a":{"dtype":"X9","shape":[1],"data_offsets":[0,4]}}', '{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}', '{"__metadata__":null}']);
      const head = new TextEncoder().encode(json);
      const bytes = new Uint8Array(8 + head.length + 8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
      bytes.set(head, 8);
      return mk('safetensors bad header', 'safetensors', [], () => decodeSafetensors(bytes));
    }],
    ['safetensors overlapping', (r) => {
      const head = new TextEncoder().encode(JSON.stringify({
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: r.pick([[4, 12], [0, 8]]) },
      }));
      const bytes = new Uint8Array(8 + head.length + 16);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
      bytes.set(head, 8);
      return mk('safetensors overlapping', 'safetensors|overlap', [], () => decodeSafetensors(bytes));
    }],
    ['encodeSafetensors bad', (r) => mk('encodeSafetensors bad', 'encodeSafetensors', [], () => encodeSafetensors(new Map([['a', r.pick([
      { dtype: 'F64', shape: [1], data: new Float32Array(1) }, { dtype: 'F32', shape: [2], data: new Float32Array(1) },
      { dtype: 'F32', shape: [1.5], data: new Float32Array(1) }, null]) as never]])))],
    ['stateDictFromSafetensors null', () => {
      const head = new TextEncoder().encode('null    ');
      const bytes = new Uint8Array(8 + head.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
      bytes.set(head, 8);
      return mk('stateDictFromSafetensors null', 'safetensors', [], () => k.stateDictFromSafetensors(bytes));
    }],
    ['sealed file tampered', (r) => {
      const sealed = encodeSealed(new Map([
        ['G.w', { dtype: 'F32' as const, shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
        ['opt.0.exp_avg', { dtype: 'F32' as const, shape: [3], data: Float32Array.from([7, 8, 9]) }],
      ]), { step: '200', rng: JSON.stringify({ seedLo: 1, seedHi: 2, offset: 3 }) });
      const b = Uint8Array.from(sealed);
      const at = r.int(0, b.length - 1);
      b[at] = (b[at] + r.int(1, 255)) & 0xff;
      return mk('sealed file tampered', 'tampered\\.safetensors', [], () => decodeSealed(b, 'tampered.safetensors', () => null));
    }],
    ['recipe bad config', (r) => {
      const bad = r.pick([{ recipe: 'wgan' }, { recipe: 'gaussian', seed: -1 }, { recipe: 'gaussian', batch: 0 }, { recipe: 'gaussian', lr: NaN },
        { recipe: 'gaussian', ema: 1.5 }, { recipe: 'dcgan', size: 48 }, { recipe: 'mnist-mlp', latent: 2.5 }, { recipe: 'gaussian', batch: '8' }]);
      return mk('recipe bad config', `${String(bad.recipe)}|recipe`, [], () => buildRun(bad as never));
    }],
    ['checkpoint garbage', (r) => {
      const n = r.pick([0, 7, 16, 64]);
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 97 + n) & 0xff);
      if (n >= 8) new DataView(b.buffer).setBigUint64(0, BigInt(r.pick([n - 8, n, 2 ** 40])), true);
      return mk('checkpoint garbage', 'ck\\.safetensors', [], () => decodeCheckpoint(b, 'ck.safetensors'));
    }],
    ['permutation bad', (r) => mk('permutation bad', 'permutation', [], () => permutation(r.pick([-1, 1.5, NaN, 2 ** 40]), 0, 0))],
    ['ImageDataset bad', (r) => mk('ImageDataset bad', 'ImageDataset', [], () => {
      const d = new ImageDataset(new Float32Array(r.pick([12, 13])), r.pick([[1, 2, 2], [1, 2.5, 2], [0, 2, 2]]) as never);
      return r.pick([true, false]) ? d.batch(r.pick([-1, 1.5, NaN]), 1) : d.batch(0, r.pick([0, 99, 1.5]));
    })],
    // ---------------- PyTorch ports: options, positional scalars, names
    ['F unknown option', (r) => {
      const x = k.zeros([2, 3]); const y = int32([0, 2]); const img = k.zeros([1, 1, 4, 4]); const w = k.zeros([1, 1, 3, 3]);
      const key = r.pick(['weight_decay', 'size_average', 'reduce', 'label_smoothing', 'ignore_index', 'pos_weight', 'padding_mode', 'bias', 'inplace', 'device']);
      const o = { [key]: r.pick([1, true, 'x', 0.1]) } as never;
      const f = r.pick(['crossEntropy', 'nllLoss', 'mseLoss', 'l1Loss', 'binaryCrossEntropy', 'binaryCrossEntropyWithLogits', 'conv2d', 'convTranspose2d', 'linear', 'batchNorm', 'dropout', 'pad', 'interpolate', 'instanceNorm', 'matmul'] as const);
      const call = () => {
        switch (f) {
          case 'crossEntropy': case 'nllLoss': return k.F[f](x, y, o);
          case 'mseLoss': case 'l1Loss': case 'binaryCrossEntropy': case 'binaryCrossEntropyWithLogits': return k.F[f](x, x, o);
          case 'conv2d': return k.F.conv2d(img, w, null, o);
          case 'convTranspose2d': return k.F.convTranspose2d(img, w, null, o);
          case 'linear': return k.F.linear(x, k.zeros([4, 3]), null, o);
          case 'batchNorm': return k.F.batchNorm(x, null, null, null, null, o);
          case 'dropout': return k.F.dropout(x, o);
          case 'pad': return k.F.pad(img, [1, 1], o);
          case 'interpolate': return k.F.interpolate(img, o);
          case 'instanceNorm': return k.F.instanceNorm(img, o);
          default: return k.F.matmul(x, x.transpose(), o);
        }
      };
      return mk('F unknown option', `${f}: unknown option '${key}'`, [x, y, img, w], () => k.tidy(call));
    }],
    ['factory unknown option', (r) => {
      const o = { [r.pick(['requires_grad', 'device', 'dtyp', 'layout', 'stddev', 'lo'])]: true } as never;
      const f = r.pick(['tensor', 'zeros', 'ones', 'full', 'arange', 'randn', 'rand'] as const);
      const call = () => f === 'tensor' ? k.tensor([1, 2], undefined, o) : f === 'full' ? k.full([2], 1, o)
        : f === 'arange' ? k.arange(0, 3, 1, o) : k[f]([2], o);
      return mk('factory unknown option', `${f}: unknown option`, [], call);
    }],
    ['positional scalar bad', (r) => {
      const x = k.ones([4]); const img = k.ones([1, 1, 4, 4]); const w = k.ones([1, 1, 3, 3]);
      const f = r.pick(['dropout p', 'dropout training', 'conv2d stride', 'pad mode', 'dropout extra'] as const);
      const call = () => f === 'dropout p' ? k.F.dropout(x, r.pick(['a', 1.5, -1, NaN, null]) as never)
        : f === 'dropout training' ? k.F.dropout(x, 0.5, r.pick(['yes', 1]) as never)
          : f === 'dropout extra' ? (k.F.dropout as (...a: unknown[]) => unknown)(x, 0.5, true, true)
            : f === 'conv2d stride' ? k.F.conv2d(img, w, null, r.pick([0, 1.5, 'a', -1]) as never)
              : k.F.pad(img, [1, 1], r.pick(['circular', 3]) as never);
      return mk('positional scalar bad', f.split(' ')[0], [x, img, w], call);
    }],
    ['arange wrong sign', (r) => mk('arange wrong sign', 'arange: upper bound and larger bound inconsistent with step sign', [], () => r.pick([() => k.arange(10, 0), () => k.arange(0, 5, -1), () => k.arange(-1, -3, 0.5)])())],
    ['keepdim not boolean', (r) => {
      const x = k.zeros([2, 3]); const f = r.pick(['sum', 'mean', 'max', 'min', 'argmax', 'argmin'] as const);
      return mk('keepdim not boolean', `${f}: keepdim`, [x], () => (x[f] as (d: number, kd: unknown) => unknown)(1, r.pick(['no', 1, 0, null, 'true'])));
    }],
    ['module train not boolean', (r) => { const m = new k.nn.Linear(2, 2); return mk('module train not boolean', 'Linear.train: mode', [], () => m.train(r.pick(['no', 1, 0, null]) as never)); }],
    ['module apply not a function', (r) => { const m = new k.nn.Linear(2, 2); return mk('module apply not a function', 'Linear.apply', [], () => m.apply(r.pick([3, 'init', null, {}]) as never)); }],
    ['optimizer lr setter', (r) => {
      const p = k.ones([2], { requiresGrad: true }); const O = r.pick(['Adam', 'SGD'] as const);
      const opt = new k.optim[O]([p], 0.1);
      return mk('optimizer lr setter', `${O}: invalid lr`, [p], () => { try { opt.lr = r.pick(['0.1', NaN, -1, Infinity, null]) as never; } finally { opt.dispose(); } });
    }],
    ['backward disposed leaf', (r) => {
      const p = k.ones([2], { requiresGrad: true }); const q = k.ones([2], { requiresGrad: true });
      return mk('backward disposed leaf', 'backward: leaf tensor', [q], () => {
        const y = r.pick([() => p.mul(q).sum(), () => p.add(q).mean(), () => k.F.mseLoss(p, q)])();
        p.dispose();
        try { y.backward(); } finally { y.dispose(); }
      });
    }],
    ['Parameter bad tensor', (r) => {
      const how = r.pick(['int', 'disposed', 'register disposed', 'register int'] as const);
      const t = k.zeros([2], { dtype: how.endsWith('int') ? 'int32' : 'float32' });
      if (how.includes('disposed')) t.dispose();
      const m = new k.nn.Linear(2, 2);
      return mk('Parameter bad tensor', how.startsWith('register') ? 'Linear.registerParameter' : 'Parameter', how.includes('disposed') ? [] : [t],
        () => (how.startsWith('register') ? m.registerParameter('extra', t) : k.nn.Parameter(t)));
    }],
    ['loadStateDict strict bad', (r) => { const m = new k.nn.Linear(2, 2); return mk('loadStateDict strict bad', 'Linear.loadStateDict', [], () => m.loadStateDict(m.stateDict(), r.pick(['no', 0, { strict: 'no' }, { strit: false }]) as never)); }],
    ['safetensors I64 out of int32', (r) => {
      const v = r.pick([2n ** 40n, 2n ** 31n, -(2n ** 31n) - 1n, -(2n ** 62n)]);
      const head = new TextEncoder().encode(JSON.stringify({ n: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }).padEnd(64, ' '));
      const bytes = new Uint8Array(8 + head.length + 8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
      bytes.set(head, 8);
      new DataView(bytes.buffer).setBigInt64(8 + head.length, v, true);
      return mk('safetensors I64 out of int32', 'outside int32', [], () => k.stateDictFromSafetensors(bytes));
    }],
    ['safetensors shape vs bytes', (r) => {
      const n = r.pick([1, 3, 4]);
      const head = new TextEncoder().encode(JSON.stringify({ w: { dtype: 'F32', shape: [n], data_offsets: [0, 8] } }).padEnd(64, ' '));
      const bytes = new Uint8Array(8 + head.length + 8);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(head.length), true);
      bytes.set(head, 8);
      return mk('safetensors shape vs bytes', "shape disagrees with its byte count", [], () => k.stateDictFromSafetensors(bytes));
    }],
    ['stateDictToSafetensors bad', (r) => {
      const m = new k.nn.Linear(2, 2); const d = k.zeros([2]); d.dispose();
      const how = r.pick(['model', 'metadata', 'entry', 'disposed', 'null'] as const);
      return mk('stateDictToSafetensors bad', 'stateDictToSafetensors', [], () => how === 'model' ? k.stateDictToSafetensors(m as never)
        : how === 'metadata' ? k.stateDictToSafetensors(m.stateDict(), { step: r.pick([3, true, null, [1]]) } as never)
          : how === 'entry' ? k.stateDictToSafetensors(new Map([['a', r.pick([[1, 2], 5, null, {}])]]) as never)
            : how === 'disposed' ? k.stateDictToSafetensors(new Map([['a', d]])) : k.stateDictToSafetensors(null as never));
    }],
    ['bytes not bytes', (r) => {
      const v = r.pick([null, undefined, '/runs/ck.safetensors', 5, [1, 2], {}]) as never;
      return r.pick([true, false]) ? mk('bytes not bytes', "ck: expected the file's bytes", [], () => decodeCheckpoint(v, 'ck'))
        : mk('bytes not bytes', "expected the file's bytes", [], () => k.stateDictFromSafetensors(v));
    }],
    ['TensorDataset mis-sized', (r) => mk('TensorDataset mis-sized', 'TensorDataset', [], () => new k.data.TensorDataset(r.pick([
      { data: new Float32Array(6), shape: [2, 2] }, { data: [1, 2], shape: [2] }, { data: new Float32Array(4), shape: [2, 2.5] }, { data: new Float64Array(4), shape: [4] }]) as never))],
    ['DataLoader bad sample', (r) => {
      const loader = new k.data.DataLoader({ length: 3, get: () => r.pick([5, null, { data: [1], shape: [1] }, 'x']) as never }, { batchSize: 2 });
      return mk('DataLoader bad sample', "DataLoader: the dataset's sample", [], async () => { for await (const b of loader) void b; });
    }],
    ['DataLoader sync loop', () => {
      const loader = new k.data.DataLoader(new k.data.TensorDataset({ data: new Float32Array(4), shape: [4] }));
      return mk('DataLoader sync loop', 'DataLoader is async: use for await', [], () => { for (const b of loader as unknown as Iterable<unknown>) void b; });
    }],
    ['compileStep async', () => mk('compileStep async', 'compileStep', [], () => k.compileStep((async () => undefined) as never))],
    ['disposed names the op', (r) => {
      const x = k.ones([3]); x.dispose(); const f = r.pick(['add', 'sub', 'mul', 'div', 'pow', 'gt', 'eq', 'toArray', 'item'] as const);
      return mk('disposed names the op', `^${f}: `, [], () => (x[f] as (o?: unknown) => unknown)(f === 'toArray' || f === 'item' ? undefined : 2));
    }],
    ['loss int inputs', (r) => { const a = int32([1, 2]); const f = r.pick(['l1Loss', 'mseLoss'] as const); return mk('loss int inputs', `${f}: input must be float32`, [a], () => k.F[f](a, a)); }],
    ['class loss options bad', (r) => {
      const x = k.zeros([3, 4]); const y = int32([0, 1, 2]); const w3 = k.ones([3]); const f = r.pick(['crossEntropy', 'nllLoss'] as const);
      const o = r.pick([{ weight: w3 }, { ignoreIndex: 0.5 }, { ignoreIndex: 'a' }, { weight: 'w' }, ...(f === 'crossEntropy' ? [{ labelSmoothing: 1.5 }, { labelSmoothing: NaN }] : [])]) as never;
      return mk('class loss options bad', f, [x, y, w3], () => k.F[f](x, y, o));
    }],
    ['maxPool2d bad', (r) => {
      const x = k.zeros([1, 1, 5, 4]); const flat = k.zeros([4]);
      return mk('maxPool2d bad', 'maxPool2d|MaxPool2d', [x, flat], () => r.pick([() => k.F.maxPool2d(x, 2), () => k.F.maxPool2d(x, 3, 1), () => k.F.maxPool2d(x, 0),
        () => new k.nn.MaxPool2d(2, 2, 1), () => new k.nn.MaxPool2d(2, { ceilMode: true } as never), () => k.F.maxPool2d(flat, 2)])());
    }],
    ['lr scheduler bad', (r) => {
      const p = k.ones([1], { requiresGrad: true }); const opt = new k.optim.SGD([p], 0.1);
      return mk('lr scheduler bad', 'StepLR|LambdaLR', [p], () => r.pick([() => new k.optim.lrScheduler.StepLR(opt, r.pick([0, 1.5, 'a']) as never),
        () => new k.optim.lrScheduler.StepLR(opt, 2, { gama: 0.5 } as never), () => new k.optim.lrScheduler.LambdaLR(opt, 0.5 as never),
        () => new k.optim.lrScheduler.LambdaLR(opt, () => NaN), () => new k.optim.lrScheduler.StepLR(p as never, 2)])());
    }],
    ['GAN builder snake_case', (r) => {
      const which = r.pick(['resnetGenerator', 'nLayerDiscriminator', 'GANLoss'] as const);
      if (which === 'GANLoss') {
        const D = new k.nn.Linear(2, 1); const opt = new k.optim.SGD(D.parameters(), 0.1);
        return mk('GAN builder snake_case', 'GANLoss: unknown option', [], () => new GANLoss(D, opt, { use_lsgan: true } as never));
      }
      return mk('GAN builder snake_case', `${which}: unknown option`, [], () => which === 'resnetGenerator'
        ? resnetGenerator({ inputNc: 1, outputNc: 1, ngf: 2, n_blocks: 1 } as never) : nLayerDiscriminator({ inputNc: 1, ndf: 2, n_layers: 1 } as never));
    }],
    ['kernel aliased writable binding', () => {
      const p = k.ones([4]);
      return mk('kernel aliased writable binding', 'is written and overlaps', [p],
        () => sgdStep(p, p, null, () => ({ lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, first: true })));
    }],
  ];
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: ReturnType<typeof setTimeout>;
  return Promise.race([p, new Promise<'timeout'>((res) => { timer = setTimeout(() => res('timeout'), ms); })]).finally(() => clearTimeout(timer));
}

function isClear(e: unknown, names: string): boolean {
  if (!(e instanceof Error)) return false;
  if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError || e instanceof ReferenceError) return false;
  if (UNCLEAR.test(e.message)) return false;
  return new RegExp(names, 'i').test(e.message);
}

/** Runs one bad call and classifies what happened. */
export async function classify(k: K, call: BadCall, timeoutMs = 20_000): Promise<Result> {
  const be = backend();
  const device = be.device;
  const errorsBefore = be.gpuErrors.length;
  const live0 = k.memory().liveTensors;
  device.pushErrorScope('validation');
  let err: unknown = null;
  let produced: unknown;
  const settle = async () => {
    try {
      produced = await call.run();
      // Results read back: device-side checks report at the next readback.
      const outs = collectTensors(produced);
      for (const t of outs) if (!t.isDisposed) await t.toArray();
    } catch (e) { err = e; }
  };
  const done = await withTimeout(settle(), timeoutMs);
  for (const t of collectTensors(produced)) t.dispose();
  const scoped = await device.popErrorScope();
  await k.sync().catch(() => undefined);
  const gpu = scoped?.message ?? (be.gpuErrors.length > errorsBefore ? be.gpuErrors[be.gpuErrors.length - 1] : null);
  const leaked = k.memory().liveTensors - live0;
  let outcome: Outcome;
  let detail = '';
  if (done === 'timeout') { outcome = 'hang'; detail = `no answer after ${timeoutMs} ms`; }
  else if (gpu) { outcome = 'gpu'; detail = gpu.slice(0, 200); }
  else if (err === null) {
    const changed = call.after ? await call.after() : null;
    outcome = 'silent'; detail = changed ?? `returned ${describe(produced)}`;
  } else if (!isClear(err, call.names)) {
    outcome = 'unclear'; detail = `${(err as Error)?.name ?? typeof err}: ${String((err as Error)?.message ?? err).slice(0, 200)}`;
  } else if (leaked > 0) {
    outcome = 'leak'; detail = `${leaked} tensor(s) left after: ${(err as Error).message.slice(0, 160)}`;
  } else {
    const changed = call.after ? await call.after() : null;
    if (changed) { outcome = 'silent'; detail = `${changed} before: ${(err as Error).message.slice(0, 160)}`; }
    else { outcome = 'clear'; detail = (err as Error).message.slice(0, 200); }
  }
  for (const t of call.inputs) t.dispose();
  return { kind: call.kind, outcome, detail };
}

function collectTensors(v: unknown): Tensor[] {
  if (v instanceof kiln.Tensor) return [v];
  if (Array.isArray(v)) return v.filter((x): x is Tensor => x instanceof kiln.Tensor);
  return [];
}

function describe(v: unknown): string {
  if (v instanceof kiln.Tensor) return v.toString();
  if (v === undefined) return 'undefined';
  try { return JSON.stringify(v)?.slice(0, 80) ?? String(v); } catch { return String(v).slice(0, 80); }
}

/** `count` bad calls drawn with `seed`: every kind at least once, then random kinds. */
export async function fuzz(k: K, seed: number, count: number, onResult?: (r: Result, i: number) => void): Promise<Result[]> {
  const r = rngOf(seed);
  const list = kinds(k);
  const results: Result[] = [];
  for (let i = 0; i < count; i++) {
    const [name, gen] = i < list.length ? list[i] : r.pick(list);
    let call: BadCall;
    try { call = gen(r); } catch (e) {
      results.push({ kind: name, outcome: 'unclear', detail: `while building the inputs: ${(e as Error).message}` });
      continue;
    }
    const res = await classify(k, call);
    results.push(res);
    onResult?.(res, i);
  }
  return results;
}

export function tally(results: Result[]): Record<Outcome, number> {
  const t: Record<Outcome, number> = { clear: 0, unclear: 0, silent: 0, leak: 0, gpu: 0, hang: 0 };
  for (const r of results) t[r.outcome]++;
  return t;
}
