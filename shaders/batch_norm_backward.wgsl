// batch_norm_backward: the input gradient of batch norm, fused into one pass.
// TRAINING (batch statistics): dx = w * istd * (dy - db[c]/M - xhat * dw[c]/M), M = N*S, where db, dw come
// from batch_norm_backward_reduce. Eval (running statistics are constants): dx = w * istd * dy.
// bindings: g0 b0 x, b1 dy, b2 mean, b3 stat, b4 weight (dummy without AFFINE), b5 dw, b6 db (read),
// b7 dx (write); g1 b0 Params. dispatch: ceil(N*C*S / 256), folded 2-D.
override TRAINING: bool = true;
override FROM_VAR: bool = false;
override AFFINE: bool = true;

struct Params { N: u32, C: u32, S: u32, _p0: u32, eps: f32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> stat: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read> dw: array<f32>;
@group(0) @binding(6) var<storage, read> db: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Every output element goes through store() (once, at its flat index): compileStep's fusion pass swaps in a
// fused epilogue there (see matmul.wgsl).
fn store(i: u32, v: f32) { dx[i] = v; }

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.N * p.C * p.S) { return; }
  let c = (i / p.S) % p.C;
  var istd = stat[c];
  if (FROM_VAR) { istd = inverseSqrt(stat[c] + p.eps); }
  var scale = istd;
  if (AFFINE) { scale = scale * weight[c]; }
  var g = dy[i];
  if (TRAINING) {
    let M = f32(p.N * p.S);
    let xhat = (x[i] - mean[c]) * istd;
    g = g - db[c] / M - xhat * dw[c] / M;
  }
  store(i, scale * g);
}
