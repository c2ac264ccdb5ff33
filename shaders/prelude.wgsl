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
