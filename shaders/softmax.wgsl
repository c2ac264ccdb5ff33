// softmax: x viewed as [A, R, B]; softmax (LOG = 0) or log-softmax (LOG = 1) along R, max-shifted.
// bindings: g0 b0 x (read), b1 out (write); g1 b0 Params. dispatch: ceil(A*B / 256), folded 2-D.
override LOG: u32 = 0u;

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
#import lane_main

fn lane(o: u32, base: u32) {
  var m = x[base];
  for (var r = 1u; r < p.R; r++) { m = max(m, x[base + r * p.B]); }
  var s = 0.0;
  for (var r = 0u; r < p.R; r++) { s += exp(x[base + r * p.B] - m); }
  let ls = log(s);
  for (var r = 0u; r < p.R; r++) {
    let i = base + r * p.B;
    if (LOG == 1u) { out[i] = x[i] - m - ls; } else { out[i] = exp(x[i] - m) / s; }
  }
}
