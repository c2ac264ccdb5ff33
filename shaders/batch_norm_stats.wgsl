// batch_norm_stats: per channel c of x viewed as [N, C, S], the batch mean and 1/sqrt(biased var + eps)
// (two passes over the data for accuracy), and, when UPDATE_RUNNING, PyTorch's running-stat update:
// running_mean = (1 - m) * running_mean + m * mean; running_var likewise with the unbiased variance.
// bindings: g0 b0 x (read), b1 mean, b2 invstd, b3 running_mean, b4 running_var (read_write);
// g1 b0 Params. dispatch: ceil(C / 64).
override UPDATE_RUNNING: bool = false;

struct Params { N: u32, C: u32, S: u32, _p0: u32, eps: f32, momentum: f32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> mean: array<f32>;
@group(0) @binding(2) var<storage, read_write> invstd: array<f32>;
@group(0) @binding(3) var<storage, read_write> running_mean: array<f32>;
@group(0) @binding(4) var<storage, read_write> running_var: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  let count = p.N * p.S;
  var s = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.S;
    for (var i = 0u; i < p.S; i++) { s += x[base + i]; }
  }
  let m = s / f32(count);
  var ss = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.S;
    for (var i = 0u; i < p.S; i++) { let d = x[base + i] - m; ss += d * d; }
  }
  let v = ss / f32(count);
  mean[c] = m;
  invstd[c] = inverseSqrt(v + p.eps);
  if (UPDATE_RUNNING) {
    let unbiased = ss / f32(max(count, 2u) - 1u);
    running_mean[c] = (1.0 - p.momentum) * running_mean[c] + p.momentum * m;
    running_var[c] = (1.0 - p.momentum) * running_var[c] + p.momentum * unbiased;
  }
}
