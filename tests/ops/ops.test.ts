// The op suite: every row of tests/ops/cases.ts runs on real WebGPU (Dawn) and is compared with PyTorch's
// forward values and autograd gradients, with float64 central differences of the same loss, and with
// Kiln's own float32 finite differences on the GPU.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { F, OP_NAMES } from '../../src/index.js';
import { COMPOSITE_NAMES } from '../../src/ops/names.js';
import { expectNoGpuErrors, fixture, setup } from '../helpers.js';
import { allCases, compositeCases, opCases } from './cases.js';
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
  it('every composite op has at least one test row', () => {
    const missing = COMPOSITE_NAMES.filter((n) => !(compositeCases[n]?.length > 0));
    expect(missing).toEqual([]);
  });
  it('every function of F is a table op, a front of one, a listed composite or a non-op helper', () => {
    // Fronts: functions named otherwise than the table op they run (their rows sit under that op).
    const fronts = new Set(['mulScalar', 'addScalar', 'rsub', 'rdiv', 'gt', 'ge', 'lt', 'le', 'eq', 'ne']);
    // Not ops: factories, plumbing and copies without a gradient.
    const helpers = new Set(['run', 'composite', 'tensor', 'full', 'zeros', 'ones', 'zerosLike', 'onesLike', 'arange',
      'randn', 'rand', 'reshapeView', 'reshapeInPlace', 'clone', 'copy_', 'detach', 'backward']);
    const known = new Set<string>([...OP_NAMES, ...COMPOSITE_NAMES, ...fronts, ...helpers]);
    const unclassified = Object.entries(F).filter(([n, v]) => typeof v === 'function' && !known.has(n)).map(([n]) => n);
    // A new composite belongs in COMPOSITES (src/ops/names.ts) with rows in compositeCases.
    expect(unclassified).toEqual([]);
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
