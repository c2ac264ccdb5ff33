// matmul_tile: what the matmul kernels share. Params (batch dims broadcast through per-operand batch strides,
// up to 4; `slope` is an epilogue scalar a launcher's generated store may read), the output binding, the
// store sites compileStep's fusion pass rewrites, and the walk from a thread's 4x4 register block to them.
struct Params {
  M: u32, N: u32, K: u32, batch_rank: u32,
  batch_shape: vec4<u32>,
  a_bstrides: vec4<u32>,
  b_bstrides: vec4<u32>,
  slope: f32, _p0: u32, _p1: u32, _p2: u32,
}

override ROW_SUM: bool = false;

@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Every output element goes through store() (once, at its flat index): the fusion pass and the linear
// layer's bias/activation epilogue (src/ops/kernels.ts) swap in a body here. store_row: see matmul.wgsl.
fn store(i: u32, v: f32) { out[i] = v; }
fn store_row(i: u32, v: f32) {}

// Element offsets of batch `z`'s A and B (z: the flat batch index, last dim fastest).
fn batch_bases(z: u32) -> vec2<u32> {
  var rem = z;
  var base = vec2<u32>(0u);
  for (var d = i32(p.batch_rank) - 1; d >= 0; d--) {
    let dim = p.batch_shape[d];
    let c = rem % dim;
    rem = rem / dim;
    base += c * vec2<u32>(p.a_bstrides[d], p.b_bstrides[d]);
  }
  return base;
}

// Rows (or columns) x0..x0+3 of a thread's block, clamped to n - 1 (x0 < n): past the edge, reads repeat the
// last one and stores skip them.
fn block4(x0: u32, n: u32) -> vec4<u32> {
  return min(vec4<u32>(x0) + vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(n - 1u));
}

// Stores the block of rows row0..row0+3, columns col0..col0+3 of batch z, skipping what lies past M or N.
fn store_tile(z: u32, row0: u32, col0: u32, rows: array<vec4<f32>, 4>) {
  let o_base = z * p.M * p.N;
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + i;
    if (row >= p.M) { break; }
    for (var j = 0u; j < 4u; j++) {
      let col = col0 + j;
      if (col < p.N) { store(o_base + row * p.N + col, rows[i][j]); }
    }
  }
}

// ROW_SUM: the sums over k of A's stored columns row0..row0+3, handed to store_row by column block 0.
fn store_row_sums(z: u32, row0: u32, col0: u32, rs: vec4<f32>) {
  if (!ROW_SUM || col0 != 0u) { return; }
  for (var i = 0u; i < 4u; i++) {
    if (row0 + i < p.M) { store_row(z * p.M + row0 + i, rs[i]); }
  }
}
