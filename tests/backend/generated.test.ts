// The pipeline cache serves generated WGSL by key as it serves shaders/: same bindings convention and
// prelude, eager and captured alike; a key stays tied to one source and cannot shadow a named kernel.
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

function launch(key: string, code: string, x: Tensor, a: number, b: number): Tensor {
  const be = backend();
  const out = Tensor.empty(x.shape);
  be.dispatchSource(key, code, {}, [x.buffer, out.buffer], new ParamWriter().u32(x.numel).f32(a, b).bytes(), be.grid(x.numel, 64));
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

  it('refuse a key reused with other code, or one that shadows a shader in shaders/', () => {
    const x = k.ones([4]);
    expect(() => launch('test_axpb', axpb('out[i] = x[i];'), x, 1, 0)).toThrow(/registered with different WGSL/);
    expect(() => launch('unary', SRC, x, 1, 0)).toThrow(/collides with shaders\/unary\.wgsl/);
  });
});
