// reduce: x viewed as [A, R, B] -> out [A, P, B], thread (a, p, b) folds r in [p*L, min(p*L + L, R)).
// P = 1 reduces R in one pass; a large R with a small output runs as two passes (P partials, then P -> 1),
// keeping the work parallel without workgroup barriers (they are expensive on software GPUs).
// x is read through strides: element (a, r, b) at off + a*sA + r*sR + b*sB (u32, wrapping); eager launches
// pass the contiguous ones (sA = R*B, sR = B, sB = 1), and compileStep's fusion pass folds a strided gather
// feeding a reduce into these (the same values summed in the same order).
// OP: 0 sum, 1 max, 2 min (max and min propagate NaN). bindings: g0 b0 x (read), b1 out (write); g1 b0 Params.
// dispatch: ceil(A*P*B / 256), folded 2-D.
override OP: u32 = 0u;

struct Params { A: u32, R: u32, B: u32, P: u32, L: u32, off: u32, sA: u32, sR: u32, sB: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(o: u32) {
  if (o >= p.A * p.P * p.B) { return; }
  let b = o % p.B;
  let part = (o / p.B) % p.P;
  let a = o / (p.B * p.P);
  let r0 = part * p.L;
  let r1 = min(r0 + p.L, p.R);
  var base = p.off + a * p.sA + r0 * p.sR + b * p.sB;
  var acc: f32;
  if (OP == 0u) { acc = 0.0; } else { acc = x[base]; }
  for (var r = r0; r < r1; r++) {
    let v = x[base];
    // max/min propagate NaN as PyTorch's do: once acc is NaN it stays (WGSL's max/min may drop a NaN).
    if (OP == 0u) { acc += v; }
    else if (!is_nan(acc) && (is_nan(v) || select((v < acc), (v > acc), OP == 1u))) { acc = v; }
    base += p.sR;
  }
  out[o] = acc;
}
