// Writes the op-test inputs (deterministic values for every row of tests/ops/cases.ts) and the PyTorch
// expressions to a JSON spec that scripts/make_fixtures.py turns into tests/fixtures/ops.json.
// Usage: tsx scripts/export-op-spec.ts OUT.json  (npm run fixtures does both steps)
import { writeFileSync } from 'node:fs';
import { allCases, noGradOps, type InputSpec } from '../tests/ops/cases.js';

let state = 0x12345678;
function uniform(): number {
  // xorshift32: reproducible on any machine, no dependency
  state ^= state << 13; state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5; state >>>= 0;
  return (state >>> 8) / 16777216;
}
function normal(): number {
  const u1 = uniform() || 1e-7;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * uniform());
}

/** JSON has no NaN: it travels as the string "NaN" (make_fixtures.py reads it back). */
function values(spec: InputSpec): (number | string)[] {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  if (spec.values) {
    if (spec.values.length !== n) throw new Error(`${spec.values.length} fixed values for shape [${spec.shape.join(', ')}]`);
    return spec.values.map((v) => (Number.isNaN(v) ? 'NaN' : Math.fround(v)));
  }
  const drawn: (number | string)[] = drawValues(spec, n);
  for (const i of spec.nanAt ?? []) drawn[i] = 'NaN';
  return drawn;
}

function drawValues(spec: InputSpec, n: number): number[] {
  return Array.from({ length: n }, () => {
    switch (spec.kind ?? 'randn') {
      case 'randn': return Math.fround(normal());
      case 'away': { const v = normal(); return Math.fround(Math.sign(v || 1) * (0.1 + Math.abs(v))); }
      case 'pos': return Math.fround(0.5 + 1.5 * uniform());
      case 'prob': return Math.fround(0.05 + 0.9 * uniform());
      case 'binary': case 'mask': return uniform() < 0.5 ? 0 : 1;
      case 'labels': return Math.floor(uniform() * (spec.classes ?? 2));
      case 'int': return Math.floor(uniform() * 10) - 5;
    }
  });
}

const cases = allCases.map(({ op, c }) => {
  const differentiable = c.grad !== false && !noGradOps.has(op);
  return {
    op,
    name: c.name,
    torch: c.torch,
    grad: differentiable,
    inputs: c.inputs.map((s) => {
      const dtype = s.kind === 'labels' ? 'int32' : 'float32';
      return { shape: s.shape, dtype, data: values(s), grad: differentiable && dtype === 'float32' && s.grad !== false };
    }),
  };
});
const names = new Set<string>();
for (const c of cases) {
  if (names.has(c.name)) throw new Error(`duplicate case name ${c.name}`);
  names.add(c.name);
}
writeFileSync(process.argv[2] ?? 'op_spec.json', JSON.stringify({ cases }));
console.log(`wrote ${cases.length} cases`);
