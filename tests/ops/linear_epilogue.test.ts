// F.linear's bias and activation run as the matmul's store() epilogue, built from the pointwise rows: the
// same bits as the matmul, add and activation launched one by one, and a fused epilogue of a captured step
// still folds in behind it (into store_out).
import { beforeAll, describe, expect, it } from 'vitest';
import * as kiln from '../../src/index.js';
import { expectNoGpuErrors, setup } from '../helpers.js';

const { F } = kiln;
beforeAll(async () => { await setup(); });

const values = (n: number, seed: number) => Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 2);

// [M, in, out]: the scalar kernel (7 features) and the vec4 one (8), an odd tile edge in M and N.
const shapes: [number, number, number][] = [[37, 7, 5], [33, 8, 12]];
const acts = [['none', 0], ['relu', 0], ['leakyRelu', 0.2], ['leakyRelu', 0]] as const;

describe('F.linear epilogue', () => {
  for (const [M, I, O] of shapes) {
    for (const [activation, slope] of acts) {
      it(`${M}x${I} -> ${O}, ${activation}${slope ? ` ${slope}` : ''}: equals matmul + add + activation bit for bit`, async () => {
        const x = kiln.tensor(values(M * I, 1), [M, I]);
        const w = kiln.tensor(values(O * I, 2), [O, I]);
        const b = kiln.tensor(values(O, 3), [O]);
        const fused = await F.linear(x, w, b, { activation, slope }).toArray();
        let y = F.matmul(x, w, { transB: true }).add(b);
        if (activation === 'relu') y = y.relu();
        if (activation === 'leakyRelu') y = y.leakyRelu(slope);
        expect(Array.from(fused)).toEqual(Array.from(await y.toArray()));
        expectNoGpuErrors();
      });
    }
  }

  it('a captured step folds the next pointwise op into the epilogued kernel, with the eager bits', async () => {
    const x = kiln.tensor(values(33 * 8, 4), [33, 8]);
    const w = kiln.tensor(values(12 * 8, 5), [12, 8]);
    const b = kiln.tensor(values(12, 6), [12]);
    const body = (t: kiln.Tensor) => F.linear(t, w, b, { activation: 'leakyRelu', slope: 0.2 }).mul(3).sub(1);
    const want = await body(x).toArray();
    const step = kiln.compileStep(body);
    for (let i = 0; i < 2; i++) step.run(x);
    const got = await step.run(x).toArray();
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(step.stats.dispatches).toBe(1);
    expect(Object.keys(step.stats.kernels)).toEqual(['matmul_vec4+epilogue']);
    step.dispose();
    expectNoGpuErrors();
  });
});
