// Batch norm's one-workgroup-per-channel kernels at sizes the op table's small rows miss: channels of 2 to
// 10^4 elements (each threads-per-channel choice, counts no thread count divides), more channels than one
// grid dimension holds, and eval mode's gradients; checked against PyTorch's formulas in float64.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';

let k: Awaited<ReturnType<typeof setup>>;
beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

interface Ref { y: number[]; dx: number[]; dw: number[]; db: number[]; runningMean: number[]; runningVar: number[] }

/**
 * PyTorch's batch norm over x [N, C, S...] in float64: training mode uses the batch's mean and biased
 * variance and updates the running statistics with the unbiased one; eval mode uses the running ones.
 */
function reference(x: Float32Array, shape: number[], w: Float32Array | null, b: Float32Array | null, dy: Float32Array,
  rm: Float32Array, rv: Float32Array, o: { training: boolean; momentum: number; eps: number }): Ref {
  const [N, C] = shape;
  const S = shape.slice(2).reduce((p, q) => p * q, 1);
  const M = N * S;
  const at = (c: number, j: number) => (Math.floor(j / S) * C + c) * S + (j % S);
  const r: Ref = { y: new Array(x.length), dx: new Array(x.length), dw: [], db: [], runningMean: [...rm], runningVar: [...rv] };
  for (let c = 0; c < C; c++) {
    let mean = rm[c];
    let v = rv[c];
    if (o.training) {
      mean = 0;
      for (let j = 0; j < M; j++) mean += x[at(c, j)];
      mean /= M;
      v = 0;
      for (let j = 0; j < M; j++) v += (x[at(c, j)] - mean) ** 2;
      v /= M;
      r.runningMean[c] = (1 - o.momentum) * rm[c] + o.momentum * mean;
      r.runningVar[c] = (1 - o.momentum) * rv[c] + o.momentum * v * M / (M - 1);
    }
    const istd = 1 / Math.sqrt(v + o.eps);
    const wc = w ? w[c] : 1;
    let sdy = 0;
    let sdyx = 0;
    for (let j = 0; j < M; j++) {
      const i = at(c, j);
      const xhat = (x[i] - mean) * istd;
      r.y[i] = xhat * wc + (b ? b[c] : 0);
      sdy += dy[i];
      sdyx += dy[i] * xhat;
    }
    r.dw.push(sdyx);
    r.db.push(sdy);
    for (let j = 0; j < M; j++) {
      const i = at(c, j);
      const xhat = (x[i] - mean) * istd;
      r.dx[i] = wc * istd * (o.training ? dy[i] - sdy / M - xhat * sdyx / M : dy[i]);
    }
  }
  return r;
}

async function check(shape: number[], o: { affine: boolean; training: boolean; momentum?: number; seed: number }) {
  k.manualSeed(o.seed);
  const C = shape[1];
  // An offset mean and a spread: what a one-pass variance would lose accuracy on.
  const x = k.randn(shape).mul(3).add(5);
  const w = o.affine ? k.randn([C]).add(1) : null;
  const b = o.affine ? k.randn([C]) : null;
  const rm = k.randn([C]);
  const rv = k.rand([C]).add(0.5);
  const dy = k.randn(shape);
  const host = async (t: InstanceType<typeof k.Tensor> | null) => (t ? await t.toArray() as Float32Array : null);
  const [hx, hw, hb, hrm, hrv, hdy] = await Promise.all([x, w, b, rm, rv, dy].map(host));
  const momentum = o.momentum ?? 0.1;
  const want = reference(hx!, shape, hw, hb, hdy!, hrm!, hrv!, { training: o.training, momentum, eps: 1e-5 });
  for (const t of [x, w, b]) if (t) t.requiresGrad = true;
  const y = k.F.batchNorm(x, rm, rv, w, b, { training: o.training, momentum });
  y.backward(dy);
  const what = `${o.training ? 'train' : 'eval'} [${shape.join(', ')}]${o.affine ? '' : ' no affine'}`;
  expectClose(await y.toArray(), want.y, `${what}: y`);
  expectClose(await x.grad!.toArray(), want.dx, `${what}: dx`);
  if (w && b) {
    expectClose(await w.grad!.toArray(), want.dw, `${what}: dw`);
    expectClose(await b.grad!.toArray(), want.db, `${what}: db`);
  }
  expectClose(await rm.toArray(), want.runningMean, `${what}: running mean`);
  expectClose(await rv.toArray(), want.runningVar, `${what}: running var`);
  for (const t of [x, w, b, rm, rv, dy, y]) t?.dispose();
}

describe('batch norm kernels', () => {
  // Elements per channel: 2 (the fewest training allows), 100, 2047 and 2048 (either side of a threads-per-
  // channel step), 4042, 10500.
  for (const shape of [[2, 3], [100, 2], [23, 3, 89], [4, 3, 16, 32], [2, 3, 47, 43], [3, 2, 50, 70]]) {
    it(`training, affine: [${shape.join(', ')}]`, async () => {
      await check(shape, { affine: true, training: true, momentum: 0.3, seed: shape.length * 100 + shape[0] });
    });
  }

  it('training without affine parameters, 10500 elements a channel', async () => {
    await check([3, 2, 50, 70], { affine: false, training: true, seed: 5 });
  });

  it('eval mode: running statistics, gradients for x, weight and bias', async () => {
    await check([3, 2, 50, 70], { affine: true, training: false, seed: 6 });
    await check([5, 4, 3], { affine: true, training: false, seed: 7 });
  });

  it('more channels than one grid dimension holds', async () => {
    const C = k.limits().maxComputeWorkgroupsPerDimension + 7;
    await check([3, C], { affine: true, training: true, seed: 8 });
  });

  it('one value per channel: training raises as PyTorch does, eval mode runs', async () => {
    for (const shape of [[1, 3], [1, 3, 1, 1]]) {
      expect(() => k.F.batchNorm(k.zeros(shape), null, null, null, null, { training: true }))
        .toThrow(/batchNorm: expected more than 1 value per channel when training/);
    }
    const y = k.F.batchNorm(k.full([1, 3, 1, 1], 2), k.ones([3]), k.full([3], 3), null, null, { training: false });
    expectClose(await y.toArray(), [1, 1, 1].map(() => 1 / Math.sqrt(3 + 1e-5)), 'eval with one value per channel');
  });
});
