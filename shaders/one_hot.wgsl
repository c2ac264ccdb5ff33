// one_hot: labels (int32) [n] -> out [n, C] float32 with out[i, labels[i]] = 1. A label outside [0, C)
// gives an all-zero row and raises the device-side assert (src/backend/device_assert.ts), which the next
// readback reports; the host checks labels it knows before launching.
// bindings: g0 b0 labels (read), b1 out (write), b2 dev_assert (atomic flags); g1 b0 Params.
// dispatch: ceil(n*C / 256), folded 2-D.
struct Params { n: u32, C: u32, assert_code: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> dev_assert: array<atomic<u32>, 8>;
@group(1) @binding(0) var<uniform> p: Params;

fn assert_fail(code: u32, value: u32, index: u32, bound: u32) {
  if (atomicAdd(&dev_assert[1], 1u) == 0u) {
    atomicStore(&dev_assert[0], code); atomicStore(&dev_assert[2], value);
    atomicStore(&dev_assert[3], index); atomicStore(&dev_assert[4], bound);
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n * p.C) { return; }
  let l = labels[i / p.C];
  if (i % p.C == 0u && (l < 0 || u32(l) >= p.C)) { assert_fail(p.assert_code, bitcast<u32>(l), i / p.C, p.C); }
  out[i] = select(0.0, 1.0, l == i32(i % p.C));
}
