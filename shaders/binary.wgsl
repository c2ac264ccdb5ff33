// binary: out[i] = f(a[ia], b[ib]) with NumPy broadcasting: each input's strides are 0 on broadcast axes.
// bindings: g0 b0 a (read), g0 b1 b (read), g0 b2 out (write); g1 b0 Params.
// dispatch: ceil(n / 256) workgroups, folded 2-D. rank <= 8.
// INDEX 1: a, b and out have one shape (no index arithmetic); 2: b is one element; 3: a is one element;
// 0: general broadcasting. The integer division per axis of the general path is scalarised on CPU drivers:
// an 800k-element gradient sum took 32 ms through it on lavapipe.
override OP: u32 = 0u;
override INDEX: u32 = 0u;

struct Params {
  n: u32, rank: u32, _p0: u32, _p1: u32,
  shape: array<vec4<u32>, 2>,
  a_strides: array<vec4<u32>, 2>,
  b_strides: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;
// A private var, not a literal: WGSL rejects NaN in constant expressions.
var<private> nan_bits: u32 = 0x7fc00000u;

fn pow_tt(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  let r = pow(abs(x), e);
  if (x >= 0.0) { return r; }
  if (fract(e) != 0.0) { return bitcast<f32>(nan_bits); }
  return select(r, -r, fract(e * 0.5) != 0.0);
}

fn f(x: f32, y: f32) -> f32 {
  switch OP {
    case 0u: { return x + y; }
    case 1u: { return x - y; }
    case 2u: { return x * y; }
    case 3u: { return x / y; }
    case 4u: { return max(x, y); }
    case 5u: { return min(x, y); }
    case 6u: { return pow_tt(x, y); }
    case 7u: { return select(0.0, 1.0, x > y); }
    case 8u: { return select(0.0, 1.0, x >= y); }
    case 9u: { return select(0.0, 1.0, x < y); }
    case 10u: { return select(0.0, 1.0, x <= y); }
    case 11u: { return select(0.0, 1.0, x == y); }
    case 12u: { return select(0.0, 1.0, x != y); }
    default: { return x; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n) { return; }
  if (INDEX == 1u) { out[i] = f(a[i], b[i]); return; }
  if (INDEX == 2u) { out[i] = f(a[i], b[0]); return; }
  if (INDEX == 3u) { out[i] = f(a[0], b[i]); return; }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = slot8(p.shape, u32(d));
    let c = rem % dim;
    rem = rem / dim;
    ia += c * slot8(p.a_strides, u32(d));
    ib += c * slot8(p.b_strides, u32(d));
  }
  out[i] = f(a[ia], b[ib]);
}
