enable f16;
// matmul_f16: out = A @ B^T from f16 operands (A [M, K], B [N, K], both rows of K halves, K a multiple of
// 4), products and sums in f32: the linear layer's forward with half the operand bytes. Store epilogue as
// matmul.wgsl (one batch: batch_rank 0). Needs shader-f16. Each thread owns a 4x4 block of out; 8x8 threads.
// bindings: g0 b0 A (read), b1 B (read), b2 out (write); g1 b0 Params (lib/matmul_tile.wgsl).
// dispatch: (ceil(N / 32), ceil(M / 32)).
@group(0) @binding(0) var<storage, read> A: array<vec4<f16>>;
@group(0) @binding(1) var<storage, read> B: array<vec4<f16>>;
#import matmul_tile

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = (wid.y * 8u + lid.y) * 4u;
  let col0 = (wid.x * 8u + lid.x) * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }
  let K4 = p.K / 4u;
  let ra = block4(row0, p.M) * K4;
  let cb = block4(col0, p.N) * K4;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var k = 0u; k < K4; k++) {
    let a0 = vec4<f32>(A[ra.x + k]); let a1 = vec4<f32>(A[ra.y + k]);
    let a2 = vec4<f32>(A[ra.z + k]); let a3 = vec4<f32>(A[ra.w + k]);
    let b0 = vec4<f32>(B[cb.x + k]); let b1 = vec4<f32>(B[cb.y + k]);
    let b2 = vec4<f32>(B[cb.z + k]); let b3 = vec4<f32>(B[cb.w + k]);
    acc0 += vec4<f32>(dot(a0, b0), dot(a0, b1), dot(a0, b2), dot(a0, b3));
    acc1 += vec4<f32>(dot(a1, b0), dot(a1, b1), dot(a1, b2), dot(a1, b3));
    acc2 += vec4<f32>(dot(a2, b0), dot(a2, b1), dot(a2, b2), dot(a2, b3));
    acc3 += vec4<f32>(dot(a3, b0), dot(a3, b1), dot(a3, b2), dot(a3, b3));
  }
  store_tile(0u, row0, col0, array<vec4<f32>, 4>(acc0, acc1, acc2, acc3));
}
