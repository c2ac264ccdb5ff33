// batch_norm_apply: eval-mode batch norm, y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c] over x
// viewed as [N, C, S], with the running statistics (training mode is batch_norm_train).
// bindings: g0 b0 x, b1 mean, b2 var, b3 weight, b4 bias (read; dummies without AFFINE), b5 y (write);
// g1 b0 Params. dispatch: ceil(N*C*S / 256), folded 2-D.
override AFFINE: bool = true;

struct Params { N: u32, C: u32, S: u32, _p0: u32, eps: f32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> mean: array<f32>;
@group(0) @binding(2) var<storage, read> rvar: array<f32>;
@group(0) @binding(3) var<storage, read> weight: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Every output element goes through store() (once, at its flat index): compileStep's fusion pass swaps in a
// fused epilogue there (see matmul.wgsl).
fn store(i: u32, v: f32) { y[i] = v; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.N * p.C * p.S) { return; }
  let c = (i / p.S) % p.C;
  let istd = inverseSqrt(rvar[c] + p.eps);
  var v = (x[i] - mean[c]) * istd;
  if (AFFINE) { v = v * weight[c] + bias[c]; }
  store(i, v);
}
