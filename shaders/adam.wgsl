// adam: one Adam step for one parameter, in PyTorch's order (torch.optim.Adam, L2 weight decay):
// g += wd * param; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g*g;
// param -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), with bc1 = 1 - b1^t, bc2 = 1 - b2^t.
// bindings: g0 b0 grad (read), b1 param, b2 m, b3 v (read_write); g1 b0 Params.
// dispatch: ceil(n / 256), folded 2-D.
struct Params {
  n: u32, _p0: u32, _p1: u32, _p2: u32,
  lr: f32, beta1: f32, beta2: f32, eps: f32,
  weight_decay: f32, bc1: f32, bc2_sqrt: f32, _p3: u32,
}

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  var g = grad[i];
  if (p.weight_decay != 0.0) { g += p.weight_decay * param[i]; }
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  let denom = sqrt(vi) / p.bc2_sqrt + p.eps;
  param[i] = param[i] - (p.lr / p.bc1) * (mi / denom);
}
