// batch_norm_train: training-mode batch norm in one dispatch. One workgroup per channel c of x viewed as
// [N, C, S] reduces the channel in workgroup memory (mean, then the biased variance in a second pass over
// the data, for accuracy) and writes y = (x - mean) * invstd * weight + bias through store(), with the
// channel's mean and invstd (saved for the backward). UPDATE_RUNNING: PyTorch's running-stat update,
// running_mean = (1 - m) * running_mean + m * mean; running_var likewise with the unbiased variance.
// bindings: g0 b0 x, b1 weight, b2 bias (read; dummies without AFFINE), b3 y, b4 mean, b5 invstd,
// b6 running_mean, b7 running_var (read_write; dummies without UPDATE_RUNNING); g1 b0 Params.
// dispatch: C workgroups of WG, folded 2-D.
override UPDATE_RUNNING: bool = false;
override AFFINE: bool = true;

struct Params { N: u32, C: u32, S: u32, _p0: u32, eps: f32, momentum: f32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> mean: array<f32>;
@group(0) @binding(5) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(6) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(7) var<storage, read_write> running_var: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Every output element goes through store() (once, at its flat index): compileStep's fusion pass swaps in a
// fused epilogue there (see matmul.wgsl).
fn store(i: u32, v: f32) { y[i] = v; }

#import batch_norm_channel

fn channel(c: u32, lidx: u32, count: u32) {
  var xs: array<f32, CACHED>;
  let cached = count <= WG * CACHED;
  var s = 0.0;
  if (cached) {
    for (var t = 0u; t < CACHED; t++) {
      let j = lidx + t * WG;
      if (j < count) { xs[t] = x[at(c, j)]; s += xs[t]; }
    }
  } else {
    for (var j = lidx; j < count; j += WG) { s += x[at(c, j)]; }
  }
  let m = channel_sum(lidx, vec2(s, 0.0)).x / f32(count);
  var ss = 0.0;
  if (cached) {
    for (var t = 0u; t < CACHED; t++) {
      if (lidx + t * WG < count) { let d = xs[t] - m; ss += d * d; }
    }
  } else {
    for (var j = lidx; j < count; j += WG) { let d = x[at(c, j)] - m; ss += d * d; }
  }
  let sq = channel_sum(lidx, vec2(ss, 0.0)).x;
  let istd = inverseSqrt(sq / f32(count) + p.eps);
  if (lidx == 0u) {
    mean[c] = m;
    invstd[c] = istd;
    if (UPDATE_RUNNING) {
      let unbiased = sq / f32(max(count, 2u) - 1u);
      running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * m;
      running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
    }
  }
  var w = 1.0;
  var b = 0.0;
  if (AFFINE) { w = weight[c]; b = bias[c]; }
  if (cached) {
    for (var t = 0u; t < CACHED; t++) {
      let j = lidx + t * WG;
      if (j < count) {
        var v = (xs[t] - m) * istd;
        if (AFFINE) { v = v * w + b; }
        store(at(c, j), v);
      }
    }
  } else {
    for (var j = lidx; j < count; j += WG) {
      let i = at(c, j);
      var v = (x[i] - m) * istd;
      if (AFFINE) { v = v * w + b; }
      store(i, v);
    }
  }
}
