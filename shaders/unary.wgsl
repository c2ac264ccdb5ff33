// unary: out[i] = f(x[i]; a, b). OP picks f; one pipeline per OP (an override constant).
// bindings: g0 b0 x (read), g0 b1 out (write); g1 b0 Params. dispatch: ceil(n / 256) workgroups, folded 2-D.
override OP: u32 = 0u;

struct Params { n: u32, a: f32, b: f32, _pad: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;
// A private var, not a literal: WGSL rejects NaN in constant expressions.
var<private> nan_bits: u32 = 0x7fc00000u;

// PyTorch pow semantics: x^0 = 1, negative bases allowed for integral exponents, NaN otherwise.
fn pow_scalar(v: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  if (e == 1.0) { return v; }
  if (e == 2.0) { return v * v; }
  let r = pow(abs(v), e);
  if (v >= 0.0) { return r; }
  if (fract(e) != 0.0) { return bitcast<f32>(nan_bits); }
  let odd = fract(e * 0.5) != 0.0;
  return select(r, -r, odd);
}

fn f(v: f32) -> f32 {
  switch OP {
    case 0u: { return -v; }
    case 1u: { return exp(v); }
    case 2u: { return log(v); }
    case 3u: { return sqrt(v); }
    case 4u: { return abs(v); }
    case 5u: { return max(v, 0.0); }
    case 6u: { return select(v * p.a, v, v > 0.0); }
    // tanh of large |v| is NaN on some drivers (inf/inf); tanh(±15) is ±1 in f32 already.
    case 7u: { return tanh(clamp(v, -15.0, 15.0)); }
    case 8u: { return 1.0 / (1.0 + exp(-v)); }
    case 9u: { return pow_scalar(v, p.a); }
    case 10u: { return min(max(v, p.a), p.b); }
    case 11u: { return p.a * v + p.b; }
    case 12u: { return p.a / v; }
    case 13u: { return sign(v); }
    case 14u: { return select(0.0, 1.0, v > p.a); }
    case 15u: { return select(0.0, 1.0, v >= p.a); }
    case 16u: { return select(0.0, 1.0, v < p.a); }
    case 17u: { return select(0.0, 1.0, v <= p.a); }
    case 18u: { return select(0.0, 1.0, v == p.a); }
    case 19u: { return select(0.0, 1.0, v != p.a); }
    // log clamped from below (BCE's log clamp at -100, as PyTorch does)
    case 20u: { return max(log(v), p.a); }
    default: { return v; }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n) { return; }
  out[i] = f(x[i]);
}
