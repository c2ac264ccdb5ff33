// The pipeline cache serves generated WGSL as it serves shaders/: same bindings convention and prelude,
// eager and captured alike, cached by source and counted under its label.
import { beforeAll, describe, expect, it } from 'vitest';
import * as k from '../../src/index.js';
import { backend } from '../../src/autograd/context.js';
import { ParamWriter } from '../../src/backend/backend.js';
import { Tensor } from '../../src/autograd/tensor.js';

const axpb = (body: string) => `struct Params { n: u32, a: f32, b: f32, _pad: u32 }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) l: u32) {
  let i = flat_index(wid, nwg, l, 64u);
  if (i < p.n) { ${body} }
}`;
const SRC = axpb('out[i] = x[i] * p.a + p.b;');

function launch(label: string, code: string, x: Tensor, a: number, b: number): Tensor {
  const be = backend();
  const out = Tensor.empty(x.shape);
  be.dispatchSource(label, code, [x.buffer, out.buffer], new ParamWriter().u32(x.numel).f32(a, b).bytes(), be.grid(x.numel, 64));
  return out;
}

beforeAll(async () => { await k.init(); });

describe('generated kernels', () => {
  it('run eagerly with the prelude and their params', async () => {
    const x = k.arange(0, 100, 1);
    const y = launch('test_axpb', SRC, x, 2, 1);
    const v = await y.toArray();
    expect(v[0]).toBe(1);
    expect(v[99]).toBe(199);
    expect(k.gpuErrors()).toEqual([]);
  });

  it('are captured and replayed by compileStep under their key', async () => {
    const step = k.compileStep((x: Tensor) => launch('test_axpb', SRC, x, 3, 0).relu());
    const x = k.tensor([-1, 2, 5]);
    for (let i = 0; i < 3; i++) step.run(x);
    expect(step.stats.replays).toBe(1);
    expect(step.stats.kernels.test_axpb).toBe(1);
    const out = step.run(k.tensor([1, -2, 4]));
    expect(Array.from(await out.toArray())).toEqual([3, 0, 12]);
    step.dispose();
  });

  it('are cached by source: one pipeline per source, counted under their label; labels never shadow shaders/', async () => {
    const twice = k.compileStep((x: Tensor) => launch('test_pair', axpb('out[i] = -x[i];'), launch('test_pair', axpb('out[i] = p.a * x[i] + p.b;'), x, 1, 1), 0, 0).neg());
    const x = k.tensor([1, 2]);
    for (let i = 0; i < 3; i++) twice.run(x);
    expect(twice.stats.kernels.test_pair).toBe(2);
    expect(Array.from(await twice.run(x).toArray())).toEqual([2, 3]);
    twice.dispose();
    // The same source under another label is the same pipeline: its first label names it.
    const again = k.compileStep((x: Tensor) => launch('other', SRC, x, 1, 0).neg());
    for (let i = 0; i < 2; i++) again.run(x);
    expect(again.stats.kernels.test_axpb).toBe(1);
    expect(again.stats.kernels.other).toBeUndefined();
    again.dispose();
    // A generated kernel labelled like a file of shaders/ does not replace it.
    const y = launch('unary', SRC, k.tensor([1, 2]), 10, 0);
    expect(Array.from(await y.neg().toArray())).toEqual([-10, -20]);
  });
});
