// gather_strided: out[i] = x[sum_d coord_d(i) * strides[d]]; covers permute/transpose and broadcast
// (expand, stride 0). Works on raw 32-bit words, so it serves float32 and int32 alike.
// bindings: g0 b0 x (read), g0 b1 out (write); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n) { return; }
  var rem = i;
  var src = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = slot8(p.shape, u32(d));
    src += (rem % dim) * slot8(p.strides, u32(d));
    rem = rem / dim;
  }
  out[i] = x[src];
}
