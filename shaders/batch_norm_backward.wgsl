// batch_norm_backward: batch norm's gradients in one dispatch. One workgroup per channel c of x viewed as
// [N, C, S] reduces the channel in workgroup memory: db[c] = sum dy and dw[c] = sum dy * xhat with
// xhat = (x - mean[c]) * istd[c] (the affine gradients, through store_db / store_dw), then writes the input
// gradient through store(). TRAINING (batch statistics): dx = w * istd * (dy - db/M - xhat * dw/M), M = N*S;
// eval (running statistics are constants): dx = w * istd * dy. FROM_VAR: istd = 1/sqrt(stat[c] + eps)
// (eval mode, running variance); else stat already holds invstd.
// bindings: g0 b0 x, b1 dy, b2 mean, b3 stat, b4 weight (read; dummy without AFFINE), b5 dx, b6 dw,
// b7 db (read_write); g1 b0 Params. dispatch: C workgroups of WG, folded 2-D.
override TRAINING: bool = true;
override FROM_VAR: bool = false;
override AFFINE: bool = true;

struct Params { N: u32, C: u32, S: u32, _p0: u32, eps: f32, _p1: u32, _p2: u32, _p3: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> mean: array<f32>;
@group(0) @binding(3) var<storage, read> stat: array<f32>;
@group(0) @binding(4) var<storage, read> weight: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(6) var<storage, read_write> dw: array<f32>;
@group(0) @binding(7) var<storage, read_write> db: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Every output element goes through its store function (once, at its flat index): compileStep's fusion pass
// swaps in a fused epilogue there (gradient accumulation, the next op's backward; see matmul.wgsl).
fn store(i: u32, v: f32) { dx[i] = v; }
fn store_dw(i: u32, v: f32) { dw[i] = v; }
fn store_db(i: u32, v: f32) { db[i] = v; }

#import batch_norm_channel

// dx / scale for one element: g = dy, xm = x - mean.
fn dx_of(g: f32, xm: f32, istd: f32, sdb: f32, sdw: f32, M: f32) -> f32 {
  if (!TRAINING) { return g; }
  let xhat = xm * istd;
  return g - sdb / M - xhat * sdw / M;
}

fn channel(c: u32, lidx: u32, count: u32) {
  var istd = stat[c];
  if (FROM_VAR) { istd = inverseSqrt(stat[c] + p.eps); }
  let m = mean[c];
  var gs: array<f32, CACHED>;
  var xc: array<f32, CACHED>;
  let cached = count <= WG * CACHED;
  var sg = 0.0;
  var sgx = 0.0;
  if (cached) {
    for (var t = 0u; t < CACHED; t++) {
      let j = lidx + t * WG;
      if (j < count) {
        let i = at(c, j);
        gs[t] = dy[i];
        xc[t] = x[i] - m;
        sg += gs[t];
        sgx += gs[t] * xc[t];
      }
    }
  } else {
    for (var j = lidx; j < count; j += WG) {
      let i = at(c, j);
      let g = dy[i];
      sg += g;
      sgx += g * (x[i] - m);
    }
  }
  let sums = channel_sum(lidx, vec2(sg, sgx));
  let sdb = sums.x;
  let sdw = sums.y * istd;
  if (lidx == 0u) {
    store_db(c, sdb);
    store_dw(c, sdw);
  }
  var scale = istd;
  if (AFFINE) { scale = scale * weight[c]; }
  let M = f32(count);
  if (cached) {
    for (var t = 0u; t < CACHED; t++) {
      let j = lidx + t * WG;
      if (j < count) { store(at(c, j), scale * dx_of(gs[t], xc[t], istd, sdb, sdw, M)); }
    }
  } else {
    for (var j = lidx; j < count; j += WG) {
      let i = at(c, j);
      store(i, scale * dx_of(dy[i], x[i] - m, istd, sdb, sdw, M));
    }
  }
}
