// sgd: one SGD step for one parameter, as torch.optim.SGD: d = g + wd * param; with momentum,
// buf = d on the first step, else buf = momentum*buf + (1 - dampening)*d; d = nesterov ? d + momentum*buf : buf;
// param -= lr * d. bindings: g0 b0 grad (read), b1 param, b2 buf (read_write; dummy without momentum);
// g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
struct Params {
  n: u32, first: u32, nesterov: u32, _p0: u32,
  lr: f32, momentum: f32, dampening: f32, weight_decay: f32,
}

@group(0) @binding(0) var<storage, read> grad: array<f32>;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> buf: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  var d = grad[i];
  if (p.weight_decay != 0.0) { d += p.weight_decay * param[i]; }
  if (p.momentum != 0.0) {
    var b = d;
    if (p.first == 0u) { b = p.momentum * buf[i] + (1.0 - p.dampening) * d; }
    buf[i] = b;
    if (p.nesterov != 0u) { d = d + p.momentum * b; } else { d = b; }
  }
  param[i] = param[i] - p.lr * d;
}
