// conv2d_backward_weight: dw[cy, cxl, kh, kw] = sum_{n, oh, ow} dy[n, cy, oh, ow] * x[n, g*cxg + cxl, ih, iw],
// ih = oh*sh - ph + kh*dh. conv2d's weight gradient; with x and dy swapped it is convTranspose2d's too.
// x [N, Cx, H, W], dy [N, Cy, OH, OW] -> dw [Cy, Cx/groups, kH, kW]. One thread per dw element.
// bindings: g0 b0 x, b1 dy (read), b2 dw (write); g1 b0 Params. dispatch: ceil(|dw| / 64), folded 2-D.
struct Params {
  N: u32, Cx: u32, H: u32, W: u32,
  Cy: u32, OH: u32, OW: u32, groups: u32,
  kH: u32, kW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dw: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let t = flat_index(wid, nwg, lidx, 64u);
  let cxg = p.Cx / p.groups;
  if (t >= p.Cy * cxg * p.kH * p.kW) { return; }
  let kw = t % p.kW;
  let kh = (t / p.kW) % p.kH;
  let cxl = (t / (p.kW * p.kH)) % cxg;
  let cy = t / (p.kW * p.kH * cxg);
  let g = cy / (p.Cy / p.groups);
  let cx = g * cxg + cxl;

  // the output rows/columns whose receptive field touches the image at this tap
  var acc = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let x_base = (n * p.Cx + cx) * p.H * p.W;
    let y_base = (n * p.Cy + cy) * p.OH * p.OW;
    for (var oh = 0u; oh < p.OH; oh++) {
      let ih = i32(oh * p.sH + kh * p.dH) - i32(p.pH);
      if (ih < 0 || ih >= i32(p.H)) { continue; }
      let x_row = x_base + u32(ih) * p.W;
      let y_row = y_base + oh * p.OW;
      for (var ow = 0u; ow < p.OW; ow++) {
        let iw = i32(ow * p.sW + kw * p.dW) - i32(p.pW);
        if (iw >= 0 && iw < i32(p.W)) { acc += dy[y_row + ow] * x[x_row + u32(iw)]; }
      }
    }
  }
  dw[t] = acc;
}
