// The op suite: every row of tests/ops/cases.ts runs on real WebGPU (Dawn) and is compared with PyTorch's
// forward values and autograd gradients, with float64 central differences of the same loss, and with
// Kiln's own float32 finite differences on the GPU.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OP_NAMES } from '../../src/index.js';
import { expectNoGpuErrors, fixture, setup } from '../helpers.js';
import { allCases, opCases } from './cases.js';
import { checkCase, type FixtureCase } from './check.js';

const fx = fixture<{ cases: FixtureCase[] }>('ops.json');
const byName = new Map(fx.cases.map((c) => [c.name, c]));
let k: Awaited<ReturnType<typeof setup>>;

beforeAll(async () => { k = await setup(); });
afterEach(() => expectNoGpuErrors());

describe('op table coverage', () => {
  it('every op in the table has at least one test row', () => {
    const missing = OP_NAMES.filter((n) => !(opCases[n]?.length > 0));
    expect(missing).toEqual([]);
  });
  it('every row has a PyTorch fixture (run npm run fixtures after adding rows)', () => {
    const missing = allCases.filter(({ c }) => !byName.has(c.name)).map(({ c }) => c.name);
    expect(missing).toEqual([]);
  });
});

describe.each(allCases.map(({ op, c }) => [`${op}: ${c.name}`, c] as const))('%s', (_label, c) => {
  it('forward and gradients match PyTorch and finite differences', async () => {
    await checkCase(k, c, byName.get(c.name)!, { gpuFiniteDifferences: true });
  });
});
