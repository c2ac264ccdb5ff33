// softmax: x viewed as [A, R, B]; softmax (LOG = 0) or log-softmax (LOG = 1) along R, max-shifted.
// bindings: g0 b0 x (read), b1 out (write); g1 b0 Params. dispatch: ceil(A*B / 256), folded 2-D.
override LOG: u32 = 0u;

struct Params { A: u32, R: u32, B: u32, _p0: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(o: u32) {
  if (o >= p.A * p.B) { return; }
  let b = o % p.B;
  let a = o / p.B;
  let base = a * p.R * p.B + b;
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
