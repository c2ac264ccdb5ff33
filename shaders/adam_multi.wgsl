// adam_multi: one Adam step for up to four parameters in one dispatch (adam.wgsl's arithmetic, in
// PyTorch's order). The optimizer keeps every parameter's exp_avg / exp_avg_sq in two flat buffers; slot s
// updates parameter s, whose moments start at off[s] there. One thread per element of the four parameters
// together (end[s]: cumulative element counts), so a big parameter beside small ones launches no idle
// workgroups. Unused slots are empty (end[s] = end[s - 1]).
// bindings: g0 b0 g0 (read), b1 p0, b2 g1 (read), b3 p1, b4 g2 (read), b5 p2, b6 g3 (read), b7 p3,
// b8 m, b9 v (read_write); g1 b0 Params.
// dispatch: ceil(end[3] / 256), folded 2-D.
struct Params {
  end: vec4<u32>,
  off: vec4<u32>,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  weight_decay: f32, bc1: f32, bc2_sqrt: f32, _p0: u32,
}

@group(0) @binding(0) var<storage, read> g0: array<f32>;
@group(0) @binding(1) var<storage, read_write> p0: array<f32>;
@group(0) @binding(2) var<storage, read> g1: array<f32>;
@group(0) @binding(3) var<storage, read_write> p1: array<f32>;
@group(0) @binding(4) var<storage, read> g2: array<f32>;
@group(0) @binding(5) var<storage, read_write> p2: array<f32>;
@group(0) @binding(6) var<storage, read> g3: array<f32>;
@group(0) @binding(7) var<storage, read_write> p3: array<f32>;
@group(0) @binding(8) var<storage, read_write> m: array<f32>;
@group(0) @binding(9) var<storage, read_write> v: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(t: u32) {
  if (t >= p.end.w) { return; }
  let s = select(0u, 1u, t >= p.end.x) + select(0u, 1u, t >= p.end.y) + select(0u, 1u, t >= p.end.z);
  let i = t - select(0u, p.end[max(s, 1u) - 1u], s > 0u);
  var g = 0.0;
  var w = 0.0;
  switch s {
    case 0u: { g = g0[i]; w = p0[i]; }
    case 1u: { g = g1[i]; w = p1[i]; }
    case 2u: { g = g2[i]; w = p2[i]; }
    default: { g = g3[i]; w = p3[i]; }
  }
  if (p.weight_decay != 0.0) { g += p.weight_decay * w; }
  let j = p.off[s] + i;
  let mi = p.beta1 * m[j] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[j] + (1.0 - p.beta2) * g * g;
  m[j] = mi;
  v[j] = vi;
  let denom = sqrt(vi) / p.bc2_sqrt + p.eps;
  let nw = w - (p.lr / p.bc1) * (mi / denom);
  switch s {
    case 0u: { p0[i] = nw; }
    case 1u: { p1[i] = nw; }
    case 2u: { p2[i] = nw; }
    default: { p3[i] = nw; }
  }
}
