// matmul_vec4's TN k loop unrolled by four (UNROLL_K, which tune() turns on where it is faster): the same
// bits as the plain loop, eagerly and with compileStep's fused bias-gradient row sums, K with and without a
// remainder.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { backend } from '../../src/autograd/context.js';
import { matmulUnrollK, matmulWorkgroup, setMatmulWorkgroup } from '../../src/ops/kernels.js';
import { expectClose, expectNoGpuErrors, setup } from '../helpers.js';

const { F } = kiln;
let saved: { wg: [number, number]; unroll: boolean };
beforeAll(async () => {
  await setup();
  saved = { wg: matmulWorkgroup(backend(), 'TN'), unroll: matmulUnrollK(backend(), 'TN') };
});
afterAll(() => { setMatmulWorkgroup(backend(), 'TN', saved.wg, saved.unroll); });

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return (s / 2 ** 32) * 2 - 1; });
}

const unrolled = <T>(on: boolean, fn: () => T): T => {
  setMatmulWorkgroup(backend(), 'TN', saved.wg, on);
  return fn();
};

describe('matmul_vec4 TN with the k loop unrolled', () => {
  for (const K of [3, 16, 23]) {
    it(`A^T B with K = ${K} (M 12, N 16): the plain loop's bits, and the float64 product`, async () => {
      const M = 12; const N = 16;
      const av = values(K * M, K); const bv = values(K * N, K + 100);
      const a = kiln.tensor(av, [K, M]); const b = kiln.tensor(bv, [K, N]);
      const plain = await unrolled(false, () => F.matmul(a, b, { transA: true })).toArray();
      const four = await unrolled(true, () => F.matmul(a, b, { transA: true })).toArray();
      expect(Array.from(four)).toEqual(Array.from(plain));
      const want = new Float64Array(M * N);
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) for (let k = 0; k < K; k++) want[i * N + j] += av[k * M + i] * bv[k * N + j];
      expectClose(four, want, `K=${K}`, 1e-5, 1e-5);
      a.dispose(); b.dispose();
      expectNoGpuErrors();
    });
  }

  it('a linear layer\'s gradients through compileStep (bias sums fused into the weight-gradient matmul): eager bits, either loop', async () => {
    const batch = 27; const nin = 8; const nout = 12;
    const w = kiln.tensor(values(nout * nin, 1), [nout, nin]).requiresGrad_();
    const b = kiln.tensor(values(nout, 2), [nout]).requiresGrad_();
    const x = kiln.tensor(values(batch * nin, 3), [batch, nin]);
    const body = (t: kiln.Tensor) => {
      w.grad = null; b.grad = null;
      F.linear(t, w, b).tanh().sum().backward();
      return [w.grad!.clone(), b.grad!.clone()];
    };
    const eager = await Promise.all(unrolled(false, () => body(x)).map((t) => t.toArray()));
    for (const on of [false, true]) {
      const step = unrolled(on, () => kiln.compileStep(body));
      for (let i = 0; i < 2; i++) step.run(x);
      const got = await Promise.all(step.run(x).map((t) => t.toArray()));
      got.forEach((g, j) => expect(Array.from(g), `unrolled ${on}, grad ${j}`).toEqual(Array.from(eager[j])));
      expect(step.stats.kernels.reduce ?? 0).toBe(1);
      step.dispose();
    }
    w.dispose(); b.dispose(); x.dispose();
    expectNoGpuErrors();
  });
});
