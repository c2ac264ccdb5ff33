// where: out[i] = cond[ic] != 0 ? a[ia] : b[ib], all three broadcast to the output shape.
// bindings: g0 b0 cond, b1 a, b2 b (read), b3 out (write); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  c_strides: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> cond: array<f32>;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n) { return; }
  var rem = i;
  var ic = 0u;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = slot8(p.shape, u32(d));
    let c = rem % dim;
    rem = rem / dim;
    ic += c * slot8(p.c_strides, u32(d));
    ia += c * slot8(p.a_strides, u32(d));
    ib += c * slot8(p.b_strides, u32(d));
  }
  out[i] = select(b[ib], a[ia], cond[ic] != 0.0);
}
