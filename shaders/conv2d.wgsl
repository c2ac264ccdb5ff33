// conv2d: out[n, co, oh, ow] = bias[co] + sum_{ci in group, kh, kw} x[n, g*cig + ci, ih, iw] * w[co, ci, kh, kw]
// with ih = oh*sh - ph + kh*dh (same for w). PyTorch layouts: x [N, Cx, H, W], w [Cy, Cx/groups, kH, kW].
// Register blocking without workgroup memory (fast on software Vulkan): each thread computes 4 output
// channels x 4 consecutive output columns of one (n, oh) row, so every x value feeds 4 channels and every
// weight 4 columns. CB = 1 (grouped convs whose channel block would straddle groups) computes one channel.
// bindings: g0 b0 x, b1 w, b2 bias (read; a 1-element dummy when HAS_BIAS is false), b3 out (write);
// g1 b0 Params. dispatch: ceil(N*ceil(Cy/CB)*OH*ceil(OW/4) / 64), folded 2-D.
override HAS_BIAS: bool = false;

#import conv_common

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn store(i: u32, v: f32) { out[i] = v; }

fn x_at(row: u32, iw: i32) -> f32 {
  let ok = iw >= 0 && iw < i32(p.W);
  return select(0.0, x[row + u32(clamp(iw, 0, i32(p.W) - 1))], ok);
}

fn run(t: u32) {
  let owq = (p.OW + 3u) / 4u;
  let cob = (p.Cy + CB - 1u) / CB;
  if (t >= p.N * cob * p.OH * owq) { return; }
  let ow0 = (t % owq) * 4u;
  let oh = (t / owq) % p.OH;
  let co0 = ((t / (owq * p.OH)) % cob) * CB;
  let n = t / (owq * p.OH * cob);
  let cig = p.Cx / p.groups;
  let cog = p.Cy / p.groups;
  let g = co0 / cog;
  let last = p.Cy - 1u;
  let co = channel_block(co0, last);
  let kk = p.kH * p.kW;

  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var ci = 0u; ci < cig; ci++) {
    let x_base = (n * p.Cx + g * cig + ci) * p.H * p.W;
    let wb = (co * cig + vec4<u32>(ci)) * kk;
    for (var kh = 0u; kh < p.kH; kh++) {
      let ih = i32(oh * p.sH + kh * p.dH) - i32(p.pH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let row = x_base + u32(ih) * p.W;
      for (var kw = 0u; kw < p.kW; kw++) {
        let iw0 = i32(ow0 * p.sW + kw * p.dW) - i32(p.pW);
        let sw = i32(p.sW);
        let xv = vec4<f32>(x_at(row, iw0), x_at(row, iw0 + sw), x_at(row, iw0 + 2 * sw), x_at(row, iw0 + 3 * sw));
        let o = kh * p.kW + kw;
        a0 += xv * w[wb.x + o];
        a1 += xv * w[wb.y + o];
        a2 += xv * w[wb.z + o];
        a3 += xv * w[wb.w + o];
      }
    }
  }
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var i = 0u; i < CB; i++) {
    let c = co0 + i;
    if (c >= p.Cy) { break; }
    var b = 0.0;
    if (HAS_BIAS) { b = bias[c]; }
    let o_base = ((n * p.Cy + c) * p.OH + oh) * p.OW;
    for (var j = 0u; j < 4u; j++) {
      if (ow0 + j < p.OW) { store(o_base + ow0 + j, acc[i][j] + b); }
    }
  }
}
