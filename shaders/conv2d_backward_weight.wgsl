// conv2d_backward_weight: dw[cy, cxl, kh, kw] = sum_{n, oh, ow} dy[n, cy, oh, ow] * x[n, g*cxg + cxl, ih, iw],
// ih = oh*sh - ph + kh*dh. conv2d's weight gradient; with x and dy swapped it is convTranspose2d's too.
// x [N, Cx, H, W], dy [N, Cy, OH, OW] -> dw [Cy, Cx/groups, kH, kW]. Register blocking: each thread sums one
// tap (kh, kw) for CB output channels (4, or 1 when a block would straddle groups) x 4 input channels, so
// every dy value feeds 4 products and every x value CB.
// bindings: g0 b0 x, b1 dy (read), b2 dw (write); g1 b0 Params.
// dispatch: ceil(ceil(Cy/CB)*ceil(cxg/4)*kH*kW / 64), folded 2-D.

#import conv_common

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;

fn store(i: u32, v: f32) { dw[i] = v; }

fn run(t: u32) {
  let cxg = p.Cx / p.groups;
  let cyb = (p.Cy + CB - 1u) / CB;
  let cxb = (cxg + 3u) / 4u;
  if (t >= cyb * cxb * p.kH * p.kW) { return; }
  let kw = t % p.kW;
  let kh = (t / p.kW) % p.kH;
  let cxl0 = ((t / (p.kW * p.kH)) % cxb) * 4u;
  let cy0 = (t / (p.kW * p.kH * cxb)) * CB;
  let g = cy0 / (p.Cy / p.groups);
  let lastc = p.Cy - 1u;
  let cy = channel_block(cy0, lastc);
  let lastx = cxg - 1u;
  let cx = vec4<u32>(g * cxg) + vec4<u32>(cxl0, min(cxl0 + 1u, lastx), min(cxl0 + 2u, lastx), min(cxl0 + 3u, lastx));
  let hw = p.H * p.W;
  let ohw = p.OH * p.OW;

  var a0 = vec4<f32>(0.0);
  var a1 = vec4<f32>(0.0);
  var a2 = vec4<f32>(0.0);
  var a3 = vec4<f32>(0.0);
  for (var n = 0u; n < p.N; n++) {
    let xb = (vec4<u32>(n * p.Cx) + cx) * hw;
    let yb = (vec4<u32>(n * p.Cy) + cy) * ohw;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.sH + kh * p.dH) - i32(p.pH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let xr = xb + vec4<u32>(u32(ih) * p.W);
      let yr = yb + vec4<u32>(oh * p.OW);
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = i32(ow * p.sW + kw * p.dW) - i32(p.pW);
        if (iw < 0 || iw >= i32(p.W)) { continue; }
        let xi = xr + vec4<u32>(u32(iw));
        let xv = vec4<f32>(x[xi.x], x[xi.y], x[xi.z], x[xi.w]);
        let yi = yr + vec4<u32>(ow);
        a0 += dy[yi.x] * xv;
        a1 += dy[yi.y] * xv;
        a2 += dy[yi.z] * xv;
        a3 += dy[yi.w] * xv;
      }
    }
  }
  let acc = array<vec4<f32>, 4>(a0, a1, a2, a3);
  for (var i = 0u; i < CB; i++) {
    let c = cy0 + i;
    if (c >= p.Cy) { break; }
    for (var j = 0u; j < 4u; j++) {
      if (cxl0 + j < cxg) { store(((c * cxg + cxl0 + j) * p.kH + kh) * p.kW + kw, acc[i][j]); }
    }
  }
}
