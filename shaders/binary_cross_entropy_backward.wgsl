// binary_cross_entropy_backward: both gradients of binary_cross_entropy in one pass, scaled by s_i = g[0]
// (sum), g[0] / n (mean) or g[i] (REDUCE 0):
// dp_i = s_i (p_i - t_i) / max(p_i (1 - p_i), 1e-12)                 (PyTorch's formula)
// dt_i = s_i (max(log(1 - p_i), -100) - max(log p_i, -100))          (the derivative of the clamped loss)
// bindings: g0 b0 p (read), b1 t (read), b2 g (read), b3 dp (write), b4 dt (write); g1 b0 Params.
// dispatch: ceil(n / 256), folded 2-D.
override REDUCE: u32 = 2u;
// False when the target needs no gradient: dt is then a placeholder and is not written.
override WANT_DT: bool = true;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> pr: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> dp: array<f32>;
@group(0) @binding(4) var<storage, read_write> dt: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// dp goes through store() (once, at its flat index): compileStep's fusion pass may swap in a fused
// epilogue (a sigmoid's gradient).
fn store(i: u32, v: f32) { dp[i] = v; }

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  var s = g[0];
  if (REDUCE == 0u) { s = g[i]; }
  if (REDUCE == 2u) { s = s / f32(p.n); }
  let q = pr[i];
  store(i, s * (q - t[i]) / max(q * (1.0 - q), 1e-12));
  if (WANT_DT) { dt[i] = s * (max(log(1.0 - q), -100.0) - max(log(q), -100.0)); }
}
