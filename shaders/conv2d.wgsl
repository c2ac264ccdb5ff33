// conv2d: out[n, co, oh, ow] = bias[co] + sum_{ci in group, kh, kw} x[n, g*cig + ci, ih, iw] * w[co, ci, kh, kw]
// with ih = oh*sh - ph + kh*dh (same for w). PyTorch layouts: x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW].
// Each thread computes 4 consecutive output columns of one (n, co, oh) row, reusing each weight 4 times.
// bindings: g0 b0 x, b1 w, b2 bias (read; a 1-element dummy when HAS_BIAS is false), b3 out (write);
// g1 b0 Params. dispatch: ceil(N*Cout*OH*ceil(OW/4) / 64), folded 2-D.
override HAS_BIAS: bool = false;

struct Params {
  N: u32, Cin: u32, H: u32, W: u32,
  Cout: u32, OH: u32, OW: u32, groups: u32,
  kH: u32, kW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let t = flat_index(wid, nwg, lidx, 64u);
  let owq = (p.OW + 3u) / 4u;
  if (t >= p.N * p.Cout * p.OH * owq) { return; }
  let ow0 = (t % owq) * 4u;
  let oh = (t / owq) % p.OH;
  let co = (t / (owq * p.OH)) % p.Cout;
  let n = t / (owq * p.OH * p.Cout);
  let cig = p.Cin / p.groups;
  let cog = p.Cout / p.groups;
  let g = co / cog;

  var acc = vec4<f32>(0.0);
  for (var ci = 0u; ci < cig; ci++) {
    let x_base = (n * p.Cin + g * cig + ci) * p.H * p.W;
    let w_base = (co * cig + ci) * p.kH * p.kW;
    for (var kh = 0u; kh < p.kH; kh++) {
      let ih = i32(oh * p.sH + kh * p.dH) - i32(p.pH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let row = x_base + u32(ih) * p.W;
      for (var kw = 0u; kw < p.kW; kw++) {
        let wv = w[w_base + kh * p.kW + kw];
        let iw0 = i32(ow0 * p.sW + kw * p.dW) - i32(p.pW);
        for (var j = 0u; j < 4u; j++) {
          let iw = iw0 + i32(j * p.sW);
          if (iw >= 0 && iw < i32(p.W)) { acc[j] += x[row + u32(iw)] * wv; }
        }
      }
    }
  }
  var b = 0.0;
  if (HAS_BIAS) { b = bias[co]; }
  let o_base = ((n * p.Cout + co) * p.OH + oh) * p.OW;
  for (var j = 0u; j < 4u; j++) {
    if (ow0 + j < p.OW) { out[o_base + ow0 + j] = acc[j] + b; }
  }
}
