// pointwise: the template every elementwise kernel is generated from (src/ops/pointwise.ts fills the marked
// places with operand bindings, index arithmetic and the rows' expressions); never dispatched as it is.
// bindings: g0 operands in0.. (read), then outputs out0.. (read_write); g1 b0 Params.
// dispatch: ceil(n / 256) workgroups, folded 2-D. An operand is read at the output's index, at element 0,
// or through a broadcast index walk: strides per axis from Params (one kernel for every shape), or baked
// into the source as constants (a fused kernel of a captured step, whose shapes are fixed).

struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  // 8 axis strides per operand (two vec4 each), up to four operands
  strides: array<vec4<u32>, 8>,
  s: vec4<f32>,
}

@group(1) @binding(0) var<uniform> p: Params;
// Index of operand k at flat output index i, walking the output shape with the operand's strides.
fn walk(i: u32, k: u32) -> u32 {
  var rem = i;
  var idx = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = slot8(p.shape, u32(d));
    let c = rem % dim;
    rem = rem / dim;
    idx += c * p.strides[k * 2u + u32(d) / 4u][u32(d) % 4u];
  }
  return idx;
}

//@bindings

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= /*@n*/) { return; }
//@body
}
