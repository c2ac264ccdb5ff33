// cross_entropy_backward: dx_ic = (softmax(x_i)_c - [c == label_i]) * s_i, with s_i = g[0] (sum),
// g[0] / N (mean) or g[i] (REDUCE 0). A thread per row (it needs the row's max and sum first).
// bindings: g0 b0 x (read), b1 labels (read), b2 g (read), b3 dx (write); g1 b0 Params.
// dispatch: ceil(N / 64), folded 2-D.
override REDUCE: u32 = 2u;

struct Params { N: u32, C: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 64u;
#import flat_main

fn run(i: u32) {
  if (i >= p.N) { return; }
  let base = i * p.C;
  var m = x[base];
  for (var c = 1u; c < p.C; c++) { m = max(m, x[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += exp(x[base + c] - m); }
  var scale = g[0];
  if (REDUCE == 0u) { scale = g[i]; }
  if (REDUCE == 2u) { scale = scale / f32(p.N); }
  let l = labels[i];
  for (var c = 0u; c < p.C; c++) {
    let sm = exp(x[base + c] - m) / s;
    dx[base + c] = (sm - select(0.0, 1.0, i32(c) == l)) * scale;
  }
}
