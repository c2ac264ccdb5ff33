// matmul: out[b] = op(A[b]) @ op(B[b]), op = identity or transpose (TRANS_A / TRANS_B read the stored
// operand transposed, so no copy is made). Batch dims broadcast through per-operand batch strides (0 on
// broadcast axes, up to 4 batch dims). Each thread owns a 4x4 block of out held in registers; a workgroup
// of 8x8 threads covers a 32x32 tile. No workgroup memory and no barriers: on the software Vulkan drivers
// we target, barrier-free register blocking measured several times faster than shared-memory tiling.
// Rows/columns past the edge are read clamped and never stored, so any M, N, K >= 1 works.
// ROW_SUM (TRANS_A, set by compileStep's fusion pass): threads of column block 0 also sum A's stored
// column m over k and hand it to store_row(m, sum): a bias gradient (sum of g over the batch) computed by the
// weight-gradient matmul g^T x that reads the same g, in the order the reduce kernel adds (bit-identical).
// A linear layer's bias and activation go into store() (src/ops/kernels.ts), like any fused epilogue.
// bindings: g0 b0 A (read), b1 B (read), b2 out (write); g1 b0 Params (lib/matmul_tile.wgsl).
// dispatch: (ceil(N / 32), ceil(M / 32), batch).
override TRANS_A: bool = false;
override TRANS_B: bool = false;

@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
#import matmul_tile

fn a_at(base: u32, r: u32, k: u32) -> f32 {
  if (TRANS_A) { return A[base + k * p.M + r]; }
  return A[base + r * p.K + k];
}

fn b_at(base: u32, k: u32, c: u32) -> f32 {
  if (TRANS_B) { return B[base + c * p.K + k]; }
  return B[base + k * p.N + c];
}

@compute @workgroup_size(8, 8, 1)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = (wid.y * 8u + lid.y) * 4u;
  let col0 = (wid.x * 8u + lid.x) * 4u;
  if (row0 >= p.M || col0 >= p.N) { return; }

  let bases = batch_bases(wid.z);
  let a_base = bases.x;
  let b_base = bases.y;

  let r = block4(row0, p.M);
  let c = block4(col0, p.N);
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  var rs = vec4<f32>(0.0);
  for (var k = 0u; k < p.K; k++) {
    let bv = vec4<f32>(b_at(b_base, k, c.x), b_at(b_base, k, c.y), b_at(b_base, k, c.z), b_at(b_base, k, c.w));
    if (ROW_SUM) { rs += vec4<f32>(a_at(a_base, r.x, k), a_at(a_base, r.y, k), a_at(a_base, r.z, k), a_at(a_base, r.w, k)); }
    acc0 += a_at(a_base, r.x, k) * bv;
    acc1 += a_at(a_base, r.y, k) * bv;
    acc2 += a_at(a_base, r.z, k) * bv;
    acc3 += a_at(a_base, r.w, k) * bv;
  }

  store_tile(wid.z, row0, col0, array<vec4<f32>, 4>(acc0, acc1, acc2, acc3));
  store_row_sums(wid.z, row0, col0, rs);
}
