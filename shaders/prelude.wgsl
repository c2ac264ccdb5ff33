// prelude: helpers shared by every kernel; the loader prepends this file to each shader.
// Large 1-D launches are folded into a 2-D grid (maxComputeWorkgroupsPerDimension is 65535), so a kernel
// recovers its flat thread index from the workgroup id, the grid width and the local index.

fn flat_index(wid: vec3<u32>, nwg: vec3<u32>, lidx: u32, wg_size: u32) -> u32 {
  return (wid.y * nwg.x + wid.x) * wg_size + lidx;
}

// Element i of an 8-slot u32 array packed as two vec4s (uniform arrays need 16-byte strides).
fn slot8(a: array<vec4<u32>, 2>, i: u32) -> u32 {
  return a[i / 4u][i % 4u];
}

// NaN test on the bits: compilers may fold `v != v` to false (lavapipe does), so comparisons cannot be trusted.
fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

// Pointwise helpers (the rows of src/ops/pointwise.ts call them, in any kernel an epilogue is fused into).
// Private vars, not literals: WGSL rejects NaN and inf in constant expressions.
var<private> kiln_nan_bits: u32 = 0x7fc00000u;
var<private> kiln_inf_bits: u32 = 0x7f800000u;

// PyTorch pow: x^0 = 1 (even for NaN), 0^-e = inf (signed for odd integral e), negative bases need an
// integral exponent (NaN otherwise).
fn kiln_pow(x: f32, e: f32) -> f32 {
  if (e == 0.0) { return 1.0; }
  let odd = fract(e) == 0.0 && fract(e * 0.5) != 0.0;
  let neg = (bitcast<u32>(x) & 0x80000000u) != 0u;
  if (x == 0.0 && e < 0.0) {
    let inf = bitcast<f32>(kiln_inf_bits);
    return select(inf, -inf, neg && odd);
  }
  let r = pow(abs(x), e);
  if (!neg || is_nan(x)) { return select(r, x, is_nan(x)); }
  if (fract(e) != 0.0) { return bitcast<f32>(kiln_nan_bits); }
  return select(r, -r, odd);
}

