// The benchmark table: each case does the same work in Kiln and in TensorFlow.js's WebGPU backend (NHWC
// where tfjs needs it), on the same adapter in the same run. Browser-safe: the Node and Chromium runners both
// import it. A case prepares its tensors once and returns `step`, which the runner times between syncs.
import * as kiln from '../src/index.js';
import { GanTrainer } from '../src/gan/trainer.js';
import { buildRun, type RunConfig } from '../src/gan/recipes.js';

type TF = typeof import('@tensorflow/tfjs-core');

export interface Prepared { step: () => void | Promise<void>; dispose: () => void }

export interface BenchCase {
  name: string;
  group: 'matmul' | 'conv' | 'norm' | 'reduce' | 'optim' | 'train';
  /** Floating-point operations of one step, for GFLOP/s. */
  flops?: number;
  /** What tfjs is given when it differs (layout), shown in the table. */
  note?: string;
  /** Steps timed together between two syncs (amortises the sync for tiny cases). */
  inner: number;
  quick: boolean;
  kiln: () => Prepared;
  tfjs: (tf: TF) => Prepared;
  /** The key of the same case in bench/torch_bench.py, when PyTorch has it. */
  torch?: string;
}

const T = kiln.tidy;

/** Runs `fn` in a tidy scope and drops its results (Kiln frees them at once). */
const k = (fn: () => unknown): (() => void) => () => { T(() => { fn(); }); };

function tfStep(tf: TF, fn: () => unknown): () => void {
  return () => { const r = tf.tidy(() => fn() as never); tf.dispose(r as never); };
}

// ----------------------------------------------------------------- matmul

function matmulCase(m: number, kk: number, n: number, quick: boolean, label?: string): BenchCase {
  return {
    name: label ?? `matmul ${m}x${kk} @ ${kk}x${n}`, group: 'matmul', flops: 2 * m * kk * n, inner: m * n * kk < 2e6 ? 20 : 2, quick,
    torch: `matmul:${m}:${kk}:${n}`,
    kiln: () => {
      const a = kiln.randn([m, kk]).keep(); const b = kiln.randn([kk, n]).keep();
      return { step: k(() => a.matmul(b)), dispose: () => { a.dispose(); b.dispose(); } };
    },
    tfjs: (tf) => {
      const a = tf.randomNormal([m, kk]); const b = tf.randomNormal([kk, n]);
      return { step: tfStep(tf, () => tf.matMul(a, b)), dispose: () => tf.dispose([a, b]) };
    },
  };
}

/**
 * One of the MLP GAN's products in the layout its training step runs it: NT for the forward (x W^T, W stored
 * [out, in]), NN for the input gradient (dY W), TN for the weight gradient (dY^T X). M, N, K as the kernel sees
 * them; the operands are stored as the layout reads them.
 */
function mlpLayoutCase(layout: 'NN' | 'NT' | 'TN', m: number, n: number, kk: number): BenchCase {
  const transA = layout[0] === 'T'; const transB = layout[1] === 'T';
  const aShape: [number, number] = transA ? [kk, m] : [m, kk]; const bShape: [number, number] = transB ? [n, kk] : [kk, n];
  return {
    name: `matmul ${layout} M${m} N${n} K${kk} (MLP GAN step)`, group: 'matmul', flops: 2 * m * n * kk, inner: 4, quick: false,
    kiln: () => {
      const a = kiln.randn(aShape).keep(); const b = kiln.randn(bShape).keep();
      return { step: k(() => kiln.F.matmul(a, b, { transA, transB })), dispose: () => { a.dispose(); b.dispose(); } };
    },
    tfjs: (tf) => {
      const a = tf.randomNormal(aShape) as import('@tensorflow/tfjs-core').Tensor2D; const b = tf.randomNormal(bShape) as import('@tensorflow/tfjs-core').Tensor2D;
      return { step: tfStep(tf, () => tf.matMul(a, b, transA, transB)), dispose: () => tf.dispose([a, b]) };
    },
  };
}

// ----------------------------------------------------------------- convolutions (NCHW in Kiln, NHWC in tfjs)

interface ConvShape { n: number; cin: number; h: number; cout: number; k: number; s: number; p: number }
const convOut = (c: ConvShape) => Math.floor((c.h + 2 * c.p - c.k) / c.s) + 1;

function convCase(c: ConvShape, backward: boolean, quick: boolean): BenchCase {
  const ho = convOut(c);
  const fwd = 2 * c.n * ho * ho * c.cout * c.cin * c.k * c.k;
  return {
    name: `conv2d ${c.cin}->${c.cout} ${c.h}x${c.h} k${c.k}s${c.s}p${c.p} b${c.n} ${backward ? 'fwd+bwd' : 'fwd'}`,
    group: 'conv', flops: backward ? 3 * fwd : fwd, inner: 1, quick, note: 'tfjs: NHWC, HWIO',
    torch: `conv:${c.n}:${c.cin}:${c.h}:${c.cout}:${c.k}:${c.s}:${c.p}:${backward ? 1 : 0}`,
    kiln: () => {
      const x = kiln.randn([c.n, c.cin, c.h, c.h]).keep().requiresGrad_();
      const w = kiln.randn([c.cout, c.cin, c.k, c.k], { std: 0.05 }).keep().requiresGrad_();
      const dy = kiln.randn([c.n, c.cout, ho, ho]).keep();
      const o = { stride: c.s, padding: c.p };
      const step = backward
        ? k(() => { kiln.F.conv2d(x, w, null, o).backward(dy); x.grad?.dispose(); x.grad = null; w.grad?.dispose(); w.grad = null; })
        : k(() => kiln.noGrad(() => kiln.F.conv2d(x, w, null, o)));
      return { step, dispose: () => { x.dispose(); w.dispose(); dy.dispose(); } };
    },
    tfjs: (tf) => {
      const x = tf.randomNormal([c.n, c.h, c.h, c.cin]) as import('@tensorflow/tfjs-core').Tensor4D;
      const w = tf.randomNormal([c.k, c.k, c.cin, c.cout], 0, 0.05) as import('@tensorflow/tfjs-core').Tensor4D;
      const dy = tf.randomNormal([c.n, ho, ho, c.cout]) as import('@tensorflow/tfjs-core').Tensor4D;
      const pad = [[0, 0], [c.p, c.p], [c.p, c.p], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
      const f = (a: import('@tensorflow/tfjs-core').Tensor, b: import('@tensorflow/tfjs-core').Tensor) =>
        tf.conv2d(a as import('@tensorflow/tfjs-core').Tensor4D, b as import('@tensorflow/tfjs-core').Tensor4D, c.s, pad);
      const g = tf.grads(f);
      const step = backward ? tfStep(tf, () => g([x, w], dy)) : tfStep(tf, () => f(x, w));
      return { step, dispose: () => tf.dispose([x, w, dy]) };
    },
  };
}

/** Transposed conv (k4 s2 p1 doubles the side): Kiln NCHW with weight [in, out, k, k]; tfjs NHWC with [k, k, out, in]. */
function convTCase(n: number, cin: number, h: number, cout: number, backward: boolean, quick: boolean): BenchCase {
  const ho = 2 * h;
  const fwd = 2 * n * h * h * cin * cout * 16;
  return {
    name: `convT2d ${cin}->${cout} ${h}x${h}->${ho}x${ho} k4s2p1 b${n} ${backward ? 'fwd+bwd' : 'fwd'}`,
    group: 'conv', flops: backward ? 3 * fwd : fwd, inner: 1, quick, note: 'tfjs: NHWC, conv2dTranspose',
    torch: `convT:${n}:${cin}:${h}:${cout}:${backward ? 1 : 0}`,
    kiln: () => {
      const x = kiln.randn([n, cin, h, h]).keep().requiresGrad_();
      const w = kiln.randn([cin, cout, 4, 4], { std: 0.05 }).keep().requiresGrad_();
      const dy = kiln.randn([n, cout, ho, ho]).keep();
      const o = { stride: 2, padding: 1 };
      const step = backward
        ? k(() => { kiln.F.convTranspose2d(x, w, null, o).backward(dy); x.grad?.dispose(); x.grad = null; w.grad?.dispose(); w.grad = null; })
        : k(() => kiln.noGrad(() => kiln.F.convTranspose2d(x, w, null, o)));
      return { step, dispose: () => { x.dispose(); w.dispose(); dy.dispose(); } };
    },
    tfjs: (tf) => {
      type T4 = import('@tensorflow/tfjs-core').Tensor4D;
      const x = tf.randomNormal([n, h, h, cin]) as T4;
      const w = tf.randomNormal([4, 4, cout, cin], 0, 0.05) as T4;
      const dy = tf.randomNormal([n, ho, ho, cout]) as T4;
      const f = (a: import('@tensorflow/tfjs-core').Tensor, b: import('@tensorflow/tfjs-core').Tensor) =>
        tf.conv2dTranspose(a as T4, b as T4, [n, ho, ho, cout], 2, 'same');
      const g = tf.grads(f);
      const step = backward ? tfStep(tf, () => g([x, w], dy)) : tfStep(tf, () => f(x, w));
      return { step, dispose: () => tf.dispose([x, w, dy]) };
    },
  };
}

// ----------------------------------------------------------------- batch norm, reductions, softmax

function batchNormCase(n: number, c: number, h: number, backward: boolean, quick: boolean): BenchCase {
  return {
    name: `batchNorm2d train ${n}x${c}x${h}x${h} ${backward ? 'fwd+bwd' : 'fwd'}`, group: 'norm', inner: 2, quick, note: 'tfjs: NHWC, moments + batchNorm',
    torch: `bn:${n}:${c}:${h}:${backward ? 1 : 0}`,
    kiln: () => {
      const x = kiln.randn([n, c, h, h]).keep().requiresGrad_();
      const g = kiln.ones([c]).keep().requiresGrad_();
      const b = kiln.zeros([c]).keep().requiresGrad_();
      const rm = kiln.zeros([c]).keep(); const rv = kiln.ones([c]).keep();
      const dy = kiln.randn([n, c, h, h]).keep();
      const fwd = () => kiln.F.batchNorm(x, rm, rv, g, b, { training: true });
      const step = backward
        ? k(() => { fwd().backward(dy); for (const t of [x, g, b]) { t.grad?.dispose(); t.grad = null; } })
        : k(() => kiln.noGrad(fwd));
      return { step, dispose: () => { for (const t of [x, g, b, rm, rv, dy]) t.dispose(); } };
    },
    tfjs: (tf) => {
      const x = tf.randomNormal([n, h, h, c]); const g = tf.ones([c]); const b = tf.zeros([c]); const dy = tf.randomNormal([n, h, h, c]);
      const f = (a: import('@tensorflow/tfjs-core').Tensor, s: import('@tensorflow/tfjs-core').Tensor, o: import('@tensorflow/tfjs-core').Tensor) => {
        const m = tf.moments(a, [0, 1, 2]);
        return tf.batchNorm(a, m.mean, m.variance, o as import('@tensorflow/tfjs-core').Tensor1D, s as import('@tensorflow/tfjs-core').Tensor1D, 1e-5);
      };
      const gr = tf.grads(f);
      const step = backward ? tfStep(tf, () => gr([x, g, b], dy)) : tfStep(tf, () => f(x, g, b));
      return { step, dispose: () => tf.dispose([x, g, b, dy]) };
    },
  };
}

function sumCase(rows: number, cols: number, axis: 0 | 1, quick: boolean): BenchCase {
  return {
    name: `sum ${rows}x${cols} over axis ${axis}`, group: 'reduce', inner: 10, quick, torch: `sum:${rows}:${cols}:${axis}`,
    kiln: () => { const x = kiln.randn([rows, cols]).keep(); return { step: k(() => x.sum(axis)), dispose: () => x.dispose() }; },
    tfjs: (tf) => { const x = tf.randomNormal([rows, cols]); return { step: tfStep(tf, () => tf.sum(x, axis)), dispose: () => x.dispose() }; },
  };
}

function softmaxCase(rows: number, cols: number, quick: boolean): BenchCase {
  return {
    name: `softmax ${rows}x${cols} (last axis)`, group: 'reduce', inner: 10, quick, torch: `softmax:${rows}:${cols}`,
    kiln: () => { const x = kiln.randn([rows, cols]).keep(); return { step: k(() => kiln.F.softmax(x, 1)), dispose: () => x.dispose() }; },
    tfjs: (tf) => { const x = tf.randomNormal([rows, cols]); return { step: tfStep(tf, () => tf.softmax(x)), dispose: () => x.dispose() }; },
  };
}

// ----------------------------------------------------------------- Adam over a DCGAN's parameters

function dcganParamShapes(width: number, latent = 100, ch = 1): number[][] {
  const ws = [4 * width, 2 * width, width];
  const g: number[][] = [[latent, ws[0], 4, 4], [ws[0]], [ws[0]], [ws[0], ws[1], 4, 4], [ws[1]], [ws[1]], [ws[1], ws[2], 4, 4], [ws[2]], [ws[2]], [ws[2], ch, 4, 4]];
  const d: number[][] = [[ws[2], ch, 4, 4], [ws[2]], [ws[2]], [ws[1], ws[2], 4, 4], [ws[1]], [ws[1]], [ws[0], ws[1], 4, 4], [ws[0]], [ws[0]], [1, ws[0], 4, 4]];
  return [...g, ...d];
}

function adamCase(width: number, quick: boolean): BenchCase {
  const shapes = dcganParamShapes(width);
  const count = shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  return {
    name: `Adam step, DCGAN 32x32 width ${width} (${shapes.length} tensors, ${(count / 1e6).toFixed(2)}M params)`, group: 'optim', inner: 5, quick,
    torch: `adam:${width}`,
    kiln: () => {
      const ps = shapes.map((s) => kiln.randn(s, { std: 0.02 }).keep().requiresGrad_());
      ps.forEach((p) => { p.grad = kiln.randn(p.shape as number[], { std: 0.01 }).keep(); });
      const opt = new kiln.optim.Adam(ps, { lr: 2e-4, betas: [0.5, 0.999] });
      return { step: () => opt.step(), dispose: () => { opt.dispose(); ps.forEach((p) => p.dispose()); } };
    },
    tfjs: (tf) => {
      const vs = shapes.map((s, i) => tf.variable(tf.randomNormal(s, 0, 0.02), true, `p${i}_${Math.random()}`));
      const grads = vs.map((v) => ({ name: v.name, tensor: tf.randomNormal(v.shape, 0, 0.01) }));
      const opt = tf.train.adam(2e-4, 0.5, 0.999, 1e-8);
      return { step: () => opt.applyGradients(grads), dispose: () => { opt.dispose(); tf.dispose(vs); tf.dispose(grads.map((g) => g.tensor)); } };
    },
  };
}

// ----------------------------------------------------------------- full training steps (D then G)

function kilnTrainStep(config: RunConfig, images?: Float32Array, compile = true): Prepared {
  const src = images ? { images, channels: 1 as const, side: 28 } : undefined;
  const t = new GanTrainer({ ...buildRun(config, src), compile });
  let n = 0;
  // Metrics come back as the CLI reads them: lagged, through poll(), never stalling the queue.
  return {
    step: async () => { t.trainStep(); if (++n % 16 === 0) await t.poll(); },
    dispose: () => { void t.metrics().then(() => t.dispose()); },
  };
}

/** Synthetic digit-like images (the timing does not depend on the pixels). */
function fakeImages(n: number, side: number): Float32Array {
  return new Float32Array(n * side * side).map((_, i) => ((i * 2654435761) % 1000) / 1000);
}

type TFT = import('@tensorflow/tfjs-core').Tensor;

function tfBce(tf: TF, p: TFT, label: 0 | 1): TFT {
  const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
  return tf.neg(tf.mean(label ? tf.log(q) : tf.log(tf.sub(1, q))));
}

function tfDense(tf: TF, inp: number, out: number) {
  const b = 1 / Math.sqrt(inp);
  return { w: tf.variable(tf.randomUniform([inp, out], -b, b)), b: tf.variable(tf.randomUniform([out], -b, b)) };
}

function gaussianTfjs(tf: TF): Prepared {
  const data = tf.add(tf.matMul(tf.randomNormal([3200, 2]), tf.tensor2d([[1, 2], [-0.2, 0.5]])), tf.tensor1d([2, 1]));
  const G = [tfDense(tf, 2, 2)];
  const D = [tfDense(tf, 2, 20), tfDense(tf, 20, 10), tfDense(tf, 10, 2)];
  const g = (z: TFT) => tf.add(tf.matMul(z, G[0].w), G[0].b);
  const d = (x: TFT) => { let h = x; D.forEach((l, i) => { h = tf.add(tf.matMul(h, l.w), l.b); if (i < 2) h = tf.relu(h); }); return h; };
  const ce = (logits: TFT, label: 0 | 1) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.fill([logits.shape[0]], label, 'int32') as import('@tensorflow/tfjs-core').Tensor1D, 2), logits);
  const optG = tf.train.adam(0.01); const optD = tf.train.adam(0.01);
  const gv = G.flatMap((l) => [l.w, l.b]); const dv = D.flatMap((l) => [l.w, l.b]);
  let i = 0;
  return {
    step: () => {
      const real = tf.slice(data, [(i++ * 32) % 3200, 0], [32, 2]);
      const z = tf.randomNormal([32, 2]);
      optD.minimize(() => tf.add(ce(d(real), 1), ce(d(g(z)), 0)) as import('@tensorflow/tfjs-core').Scalar, false, dv);
      optG.minimize(() => ce(d(g(z)), 1) as import('@tensorflow/tfjs-core').Scalar, false, gv);
      tf.dispose([real, z]);
    },
    dispose: () => { tf.dispose([data, ...gv, ...dv]); optG.dispose(); optD.dispose(); },
  };
}

function mlpTfjs(tf: TF, batch: number): Prepared {
  const data = tf.tensor2d(fakeImages(1024, 28), [1024, 784]);
  const G = [tfDense(tf, 64, 256), tfDense(tf, 256, 512), tfDense(tf, 512, 1024), tfDense(tf, 1024, 784)];
  const D = [tfDense(tf, 784, 1024), tfDense(tf, 1024, 512), tfDense(tf, 512, 256), tfDense(tf, 256, 1)];
  const mlp = (ls: typeof G, x: TFT, last: (t: TFT) => TFT) => {
    let h = x;
    ls.forEach((l, i) => { h = tf.add(tf.matMul(h, l.w), l.b); h = i < ls.length - 1 ? tf.leakyRelu(h, 0.01) : last(h); });
    return h;
  };
  const g = (z: TFT) => mlp(G, z, tf.tanh);
  const d = (x: TFT) => mlp(D, x, tf.sigmoid);
  const optG = tf.train.adam(2e-4, 0.5, 0.999); const optD = tf.train.adam(2e-4, 0.5, 0.999);
  const gv = G.flatMap((l) => [l.w, l.b]); const dv = D.flatMap((l) => [l.w, l.b]);
  let i = 0;
  return {
    step: () => {
      const real = tf.slice(data, [(i++ * batch) % (1024 - batch), 0], [batch, 784]);
      const z = tf.randomNormal([batch, 64]);
      optD.minimize(() => tf.mul(tf.add(tfBce(tf, d(real), 1), tfBce(tf, d(g(z)), 0)), 0.5) as import('@tensorflow/tfjs-core').Scalar, false, dv);
      optG.minimize(() => tfBce(tf, d(g(z)), 1) as import('@tensorflow/tfjs-core').Scalar, false, gv);
      tf.dispose([real, z]);
    },
    dispose: () => { tf.dispose([data, ...gv, ...dv]); optG.dispose(); optD.dispose(); },
  };
}

function dcganTfjs(tf: TF, batch: number, width: number, latent = 100): Prepared {
  type T4 = import('@tensorflow/tfjs-core').Tensor4D;
  const data = tf.tensor4d(fakeImages(256, 32), [256, 32, 32, 1]);
  const ws = [4 * width, 2 * width, width];
  const v = (s: number[], std = 0.02) => tf.variable(tf.randomNormal(s, 0, std));
  // G: convT weights [k, k, out, in]; D: conv weights [k, k, in, out]; BN scale/offset per block.
  const Gw = [v([4, 4, ws[0], latent]), v([4, 4, ws[1], ws[0]]), v([4, 4, ws[2], ws[1]]), v([4, 4, 1, ws[2]])];
  const Gbn = ws.map((c) => [tf.variable(tf.ones([c])), tf.variable(tf.zeros([c]))]);
  const dws = [...ws].reverse();
  const Dw = [v([4, 4, 1, dws[0]]), v([4, 4, dws[0], dws[1]]), v([4, 4, dws[1], dws[2]]), v([4, 4, dws[2], 1])];
  const Dbn = dws.map((c) => [tf.variable(tf.ones([c])), tf.variable(tf.zeros([c]))]);
  const bn = (x: TFT, p: TFT[]) => { const m = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, m.mean, m.variance, p[1] as import('@tensorflow/tfjs-core').Tensor1D, p[0] as import('@tensorflow/tfjs-core').Tensor1D, 1e-5); };
  const pad1 = [[0, 0], [1, 1], [1, 1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
  const g = (z: TFT) => {
    let h = tf.conv2dTranspose(z as T4, Gw[0] as T4, [batch, 4, 4, ws[0]], 1, 'valid') as TFT;
    h = tf.relu(bn(h, Gbn[0]));
    for (let i = 1; i < 3; i++) { const s = 4 << i; h = tf.relu(bn(tf.conv2dTranspose(h as T4, Gw[i] as T4, [batch, s, s, ws[i]], 2, 'same'), Gbn[i])); }
    return tf.tanh(tf.conv2dTranspose(h as T4, Gw[3] as T4, [batch, 32, 32, 1], 2, 'same'));
  };
  const d = (x: TFT) => {
    let h = x;
    for (let i = 0; i < 3; i++) h = tf.leakyRelu(bn(tf.conv2d(h as T4, Dw[i] as T4, 2, pad1), Dbn[i]), 0.2);
    return tf.sigmoid(tf.reshape(tf.conv2d(h as T4, Dw[3] as T4, 1, 'valid'), [batch, 1]));
  };
  const optG = tf.train.adam(2e-4, 0.5, 0.999); const optD = tf.train.adam(2e-4, 0.5, 0.999);
  const gv = [...Gw, ...Gbn.flat()]; const dv = [...Dw, ...Dbn.flat()];
  let i = 0;
  return {
    step: () => {
      const real = tf.slice(data, [(i++ * batch) % (256 - batch), 0, 0, 0], [batch, 32, 32, 1]);
      const z = tf.randomNormal([batch, 1, 1, latent]);
      optD.minimize(() => tf.add(tfBce(tf, d(real), 1), tfBce(tf, d(g(z)), 0)) as import('@tensorflow/tfjs-core').Scalar, false, dv as import('@tensorflow/tfjs-core').Variable[]);
      optG.minimize(() => tfBce(tf, d(g(z)), 1) as import('@tensorflow/tfjs-core').Scalar, false, gv as import('@tensorflow/tfjs-core').Variable[]);
      tf.dispose([real, z]);
    },
    dispose: () => { tf.dispose([data, ...gv, ...dv]); optG.dispose(); optD.dispose(); },
  };
}

export const DCGAN_BENCH = { width: 16, batch: 32 };

export function benchCases(): BenchCase[] {
  const conv1 = { n: 64, cin: 3, h: 64, cout: 64, k: 4, s: 2, p: 1 };
  const conv2 = { n: 64, cin: 64, h: 32, cout: 128, k: 4, s: 2, p: 1 };
  const convSmall = { n: 8, cin: 64, h: 32, cout: 128, k: 4, s: 2, p: 1 };
  return [
    matmulCase(128, 128, 128, true), matmulCase(256, 256, 256, false), matmulCase(512, 512, 512, true),
    matmulCase(1024, 1024, 1024, true), matmulCase(2048, 2048, 2048, false),
    matmulCase(64, 1024, 784, true, 'matmul 64x1024 @ 1024x784 (MLP GAN G out, batch 64)'),
    matmulCase(64, 784, 1024, false, 'matmul 64x784 @ 784x1024 (MLP GAN D in, batch 64)'),
    matmulCase(64, 256, 512, false, 'matmul 64x256 @ 256x512 (MLP GAN G hidden, batch 64)'),
    ...([[1024, 784], [784, 1024], [512, 1024], [1024, 512], [256, 512], [512, 256]] as const).flatMap(([n, kk]) => [
      mlpLayoutCase('NT', 64, n, kk), mlpLayoutCase('NN', 64, kk, n), mlpLayoutCase('TN', n, kk, 64)]),
    convCase(conv1, false, false), convCase(conv1, true, false), convCase(conv2, false, false), convCase(conv2, true, false),
    convCase(convSmall, false, true), convCase(convSmall, true, true),
    convTCase(64, 128, 16, 64, false, false), convTCase(64, 128, 16, 64, true, false),
    convTCase(8, 128, 16, 64, false, true), convTCase(8, 128, 16, 64, true, true),
    batchNormCase(64, 128, 16, false, true), batchNormCase(64, 128, 16, true, true),
    sumCase(1024, 1024, 0, true), sumCase(1024, 1024, 1, true), softmaxCase(256, 1000, true),
    adamCase(64, true),
    {
      name: 'train step: gaussian (needle, batch 32)', group: 'train', inner: 20, quick: true, torch: 'train:gaussian',
      kiln: () => kilnTrainStep({ recipe: 'gaussian', seed: 0 }), tfjs: gaussianTfjs,
    },
    {
      name: 'train step: gaussian, eager (no capture)', group: 'train', inner: 20, quick: true, torch: 'train:gaussian',
      kiln: () => kilnTrainStep({ recipe: 'gaussian', seed: 0 }, undefined, false), tfjs: gaussianTfjs,
    },
    {
      name: 'train step: mnist-mlp (batch 64)', group: 'train', inner: 1, quick: true, torch: 'train:mlp',
      kiln: () => kilnTrainStep({ recipe: 'mnist-mlp', seed: 0, batch: 64 }, fakeImages(1024, 28)), tfjs: (tf) => mlpTfjs(tf, 64),
    },
    {
      name: `train step: dcgan 32x32x1 (width ${DCGAN_BENCH.width}, batch ${DCGAN_BENCH.batch})`, group: 'train', inner: 1, quick: true,
      torch: `train:dcgan:${DCGAN_BENCH.width}:${DCGAN_BENCH.batch}`, note: 'tfjs: NHWC',
      kiln: () => kilnTrainStep({ recipe: 'dcgan', seed: 0, batch: DCGAN_BENCH.batch, width: DCGAN_BENCH.width }, fakeImages(256, 28)),
      tfjs: (tf) => dcganTfjs(tf, DCGAN_BENCH.batch, DCGAN_BENCH.width),
    },
  ];
}
