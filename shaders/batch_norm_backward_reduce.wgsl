// batch_norm_backward_reduce: per channel, db[c] = sum dy and dw[c] = sum dy * xhat with
// xhat = (x - mean[c]) * istd[c]; the two sums the input gradient needs, and the affine gradients.
// FROM_VAR as in batch_norm_apply. bindings: g0 b0 x, b1 dy, b2 mean, b3 stat (read), b4 dw, b5 db (write);
// g1 b0 Params. dispatch: ceil(C / 64).
override FROM_VAR: bool = false;

struct Params { N: u32, C: u32, S: u32, _p0: u32, eps: f32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> stat: array<f32>;
@group(0) @binding(4) var<storage, read_write> dw: array<f32>;
@group(0) @binding(5) var<storage, read_write> db: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// The two per-channel results go through store() / store_db(): gradient accumulation folds in there.
fn store(i: u32, v: f32) { dw[i] = v; }
fn store_db(i: u32, v: f32) { db[i] = v; }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = gid.x;
  if (c >= p.C) { return; }
  var istd = stat[c];
  if (FROM_VAR) { istd = inverseSqrt(stat[c] + p.eps); }
  let m = mean[c];
  var sg = 0.0;
  var sgx = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let base = (n * p.C + c) * p.S;
    for (var i = 0u; i < p.S; i++) {
      let g = dy[base + i];
      sg += g;
      sgx += g * (x[base + i] - m);
    }
  }
  store_db(c, sg);
  store(c, sgx * istd);
}
