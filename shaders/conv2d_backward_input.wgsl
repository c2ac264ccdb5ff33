// conv2d_backward_input: the gradient of conv2d w.r.t. its input, which is also convTranspose2d's forward.
// dy [N, Cy, OH, OW] (conv2d's output), w [Cy, Cx/groups, kH, kW] -> dx [N, Cx, H, W]:
// dx[n, cx, ih, iw] = bias[cx] + sum_{cy in group, kh, kw} dy[n, cy, oh, ow] * w[cy, cx % cxg, kh, kw]
// over the (oh, ow) with oh*sh - ph + kh*dh = ih (likewise for w). H and W are given, so convTranspose2d's
// output_padding is just a larger H/W. Register blocking: each thread computes one (ih, iw) for 4 samples x
// CB (4, or 1 when a block would straddle groups) input channels: every dy value feeds CB channels and every
// weight 4 samples.
// bindings: g0 b0 dy, b1 w, b2 bias (read; dummy when HAS_BIAS is false), b3 dx (write); g1 b0 Params.
// dispatch: ceil(ceil(N/4)*ceil(Cx/CB)*H*W / 64), folded 2-D.
override HAS_BIAS: bool = false;

#import conv_common

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

fn store(i: u32, v: f32) { dx[i] = v; }

fn run(t: u32) {
  let nb = (p.N + 3u) / 4u;
  let cb = (p.Cx + CB - 1u) / CB;
  if (t >= nb * cb * p.H * p.W) { return; }
  let iw = i32(t % p.W);
  let ih = i32((t / p.W) % p.H);
  let cx0 = ((t / (p.W * p.H)) % cb) * CB;
  let n0 = (t / (p.W * p.H * cb)) * 4u;
  let cxg = p.Cx / p.groups;
  let cyg = p.Cy / p.groups;
  let g = cx0 / cxg;
  let lastc = p.Cx - 1u;
  let cx = channel_block(cx0, lastc);
  let cxl = cx - vec4<u32>(g * cxg);
  let lastn = p.N - 1u;
  let n = vec4<u32>(n0, min(n0 + 1u, lastn), min(n0 + 2u, lastn), min(n0 + 3u, lastn));
  let sample = n * p.Cy * p.OH * p.OW;

  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var kh = 0u; kh < p.kH; kh++) {
    let num_h = ih + i32(p.pH) - i32(kh * p.dH);
    if (num_h < 0 || num_h % i32(p.sH) != 0) { continue; }
    let oh = u32(num_h) / p.sH;
    if (oh >= p.OH) { continue; }
    for (var kw = 0u; kw < p.kW; kw++) {
      let num_w = iw + i32(p.pW) - i32(kw * p.dW);
      if (num_w < 0 || num_w % i32(p.sW) != 0) { continue; }
      let ow = u32(num_w) / p.sW;
      if (ow >= p.OW) { continue; }
      let pix = oh * p.OW + ow;
      let tap = kh * p.kW + kw;
      for (var cyl = 0u; cyl < cyg; cyl++) {
        let cy = g * cyg + cyl;
        let d = sample + vec4<u32>(cy * p.OH * p.OW + pix);
        let dv = vec4<f32>(dy[d.x], dy[d.y], dy[d.z], dy[d.w]);
        let wb = ((vec4<u32>(cy * cxg) + cxl) * p.kH * p.kW) + vec4<u32>(tap);
        a0 += dv * w[wb.x];
        a1 += dv * w[wb.y];
        a2 += dv * w[wb.z];
        a3 += dv * w[wb.w];
      }
    }
  }
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  let pix = u32(ih) * p.W + u32(iw);
  for (var i = 0u; i < CB; i++) {
    let c = cx0 + i;
    if (c >= p.Cx) { break; }
    var b = 0.0;
    if (HAS_BIAS) { b = bias[c]; }
    for (var j = 0u; j < 4u; j++) {
      if (n0 + j < p.N) { store(((n0 + j) * p.Cx + c) * p.H * p.W + pix, acc[i][j] + b); }
    }
  }
}
