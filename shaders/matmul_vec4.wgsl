// matmul_vec4: matmul.wgsl's contract (batch strides, TRANS_A / TRANS_B, store epilogue) with
// 16-byte loads: each operand is read as vec4 along whichever of its dims is contiguous — K for A unless
// transposed (then M), K for B when transposed (else N). The launcher picks this kernel only when those
// dims are multiples of 4 (so every vec4 lies inside a row) and never for TRANS_A with TRANS_B. On lavapipe
// this doubled a 1024^3 x @ W^T (2.8-3.9 -> 5.3-6.1 GFLOP/s, measured back to back).
// ROW_SUM / store_row: as in matmul.wgsl (TRANS_A only).
// Each thread owns a 4x4 block of out; workgroup WGX x WGY threads (picked by tune(), default 8x8).
// UNROLL_K (TRANS_A only): see below.
// bindings: g0 b0 A (read), b1 B (read), b2 out (write); g1 b0 Params (lib/matmul_tile.wgsl).
// dispatch: (ceil(N / (4 WGX)), ceil(M / (4 WGY)), batch).
override TRANS_A: bool = false;
override TRANS_B: bool = false;
override WGX: u32 = 8u;
override WGY: u32 = 8u;
override UNROLL_K: bool = false;

@group(0) @binding(0) var<storage, read> A: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f32>>;
#import matmul_tile

@compute @workgroup_size(WGX, WGY, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = (wid.y * WGY + lid.y) * 4u;
  let col0 = (wid.x * WGX + lid.x) * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }

  // In vec4 units (the launcher guarantees the element offsets are multiples of 4).
  let bases = batch_bases(wid.z) / 4u;
  let a_base = bases.x;
  let b_base = bases.y;
  let r = block4(row0, p.M);
  let c = block4(col0, p.N);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var rs = vec4<f32>(0.0);
  if (TRANS_A) {
    // A stored [K, M]: a vec4 holds rows row0..row0+3 of column k. B stored [K, N] (N contiguous).
    // UNROLL_K: four k steps per iteration, then the K % 4 left over; each sum still runs k in order, so
    // both give the same bits. tune() picks it per adapter (SwiftShader: 54 -> 43 ms for a 1024x64 @ 64x784
    // weight gradient; lavapipe: 10-20% slower).
    let M4 = p.M / 4u;
    let N4 = p.N / 4u;
    var ia = a_base + row0 / 4u;
    var ib = b_base + col0 / 4u;
    let K4 = select(0u, p.K / 4u, UNROLL_K);
    for (var k = 0u; k < K4; k++) {
      let a0 = A[ia]; let a1 = A[ia + M4]; let a2 = A[ia + 2u * M4]; let a3 = A[ia + 3u * M4];
      let b0 = B[ib]; let b1 = B[ib + N4]; let b2 = B[ib + 2u * N4]; let b3 = B[ib + 3u * N4];
      if (ROW_SUM) { rs += a0; rs += a1; rs += a2; rs += a3; }
      acc0 += a0.x * b0; acc1 += a0.y * b0; acc2 += a0.z * b0; acc3 += a0.w * b0;
      acc0 += a1.x * b1; acc1 += a1.y * b1; acc2 += a1.z * b1; acc3 += a1.w * b1;
      acc0 += a2.x * b2; acc1 += a2.y * b2; acc2 += a2.z * b2; acc3 += a2.w * b2;
      acc0 += a3.x * b3; acc1 += a3.y * b3; acc2 += a3.z * b3; acc3 += a3.w * b3;
      ia += 4u * M4;
      ib += 4u * N4;
    }
    for (var k = 4u * K4; k < p.K; k++) {
      let a = A[ia];
      let b = B[ib];
      if (ROW_SUM) { rs += a; }
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
      ia += M4;
      ib += N4;
    }
  } else if (TRANS_B) {
    // A [M, K] and B stored [N, K]: both contiguous along K; four dot products per pair of rows.
    let K4 = p.K / 4u;
    let ra = a_base + r * K4;
    let cb = b_base + c * K4;
    for (var k = 0u; k < K4; k++) {
      let a0 = A[ra.x + k]; let a1 = A[ra.y + k]; let a2 = A[ra.z + k]; let a3 = A[ra.w + k];
      let b0 = B[cb.x + k]; let b1 = B[cb.y + k]; let b2 = B[cb.z + k]; let b3 = B[cb.w + k];
      acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
      acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
      acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
      acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
    }
  } else {
    // A [M, K] contiguous along K, B [K, N] contiguous along N: four k steps per iteration.
    let K4 = p.K / 4u;
    let N4 = p.N / 4u;
    let ra = a_base + r * K4;
    let cb = b_base + col0 / 4u;
    for (var k = 0u; k < K4; k++) {
      let a0 = A[ra.x + k]; let a1 = A[ra.y + k]; let a2 = A[ra.z + k]; let a3 = A[ra.w + k];
      let kb = cb + 4u * k * N4;
      let b0 = B[kb]; let b1 = B[kb + N4]; let b2 = B[kb + 2u * N4]; let b3 = B[kb + 3u * N4];
      acc0 += a0.x * b0 + a0.y * b1 + a0.z * b2 + a0.w * b3;
      acc1 += a1.x * b0 + a1.y * b1 + a1.z * b2 + a1.w * b3;
      acc2 += a2.x * b0 + a2.y * b1 + a2.z * b2 + a2.w * b3;
      acc3 += a3.x * b0 + a3.y * b1 + a3.z * b2 + a3.w * b3;
    }
  }

  store_tile(wid.z, row0, col0, array<vec4<f32>, 4>(acc0, acc1, acc2, acc3));
  store_row_sums(wid.z, row0, col0, rs);
}
