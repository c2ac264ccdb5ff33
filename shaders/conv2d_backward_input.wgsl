// conv2d_backward_input: the gradient of conv2d w.r.t. its input, which is also convTranspose2d's forward.
// dy [N, Cy, OH, OW] (conv2d's output), w [Cy, Cx/groups, kH, kW] -> dx [N, Cx, H, W]:
// dx[n, cx, ih, iw] = bias[cx] + sum_{cy in group, kh, kw} dy[n, cy, oh, ow] * w[cy, cx % cxg, kh, kw]
// over the (oh, ow) with oh*sh - ph + kh*dh = ih (likewise for w). H and W are given, so convTranspose2d's
// output_padding is just a larger H/W. One thread per dx element.
// bindings: g0 b0 dy, b1 w, b2 bias (read; dummy when HAS_BIAS is false), b3 dx (write); g1 b0 Params.
// dispatch: ceil(N*Cx*H*W / 64), folded 2-D.
override HAS_BIAS: bool = false;

struct Params {
  N: u32, Cx: u32, H: u32, W: u32,
  Cy: u32, OH: u32, OW: u32, groups: u32,
  kH: u32, kW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let t = flat_index(wid, nwg, lidx, 64u);
  if (t >= p.N * p.Cx * p.H * p.W) { return; }
  let iw = i32(t % p.W);
  let ih = i32((t / p.W) % p.H);
  let cx = (t / (p.W * p.H)) % p.Cx;
  let n = t / (p.W * p.H * p.Cx);
  let cxg = p.Cx / p.groups;
  let cyg = p.Cy / p.groups;
  let g = cx / cxg;
  let cxl = cx % cxg;

  var acc = 0.0;
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
      for (var cyl = 0u; cyl < cyg; cyl++) {
        let cy = g * cyg + cyl;
        acc += dy[((n * p.Cy + cy) * p.OH + oh) * p.OW + ow] * w[((cy * cxg + cxl) * p.kH + kh) * p.kW + kw];
      }
    }
  }
  if (HAS_BIAS) { acc += bias[cx]; }
  dx[t] = acc;
}
