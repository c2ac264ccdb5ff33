// argmax: x viewed as [A, R, B] -> out[a, b] = first r with the largest x[a, r, b] (int32), or the first
// NaN's r where there is one, as PyTorch.
// OP: 0 argmax, 1 argmin. bindings: g0 b0 x (read), b1 out (write, i32); g1 b0 Params.
// dispatch: ceil(A*B / 256), folded 2-D.
override OP: u32 = 0u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<i32>;
#import lane_main

fn lane(o: u32, first: u32) {
  var base = first;
  var best = x[base];
  var best_i = 0u;
  for (var r = 1u; r < p.R; r++) {
    base += p.B;
    let v = x[base];
    if (is_nan(best)) { break; }
    if (is_nan(v) || select((v > best), (v < best), OP == 1u)) { best = v; best_i = r; }
  }
  out[o] = i32(best_i);
}
