// activation_backward: dx[i] = g[i] * f'(v[i]) for an activation f, in one pass (instead of a mask or
// derivative kernel followed by a multiply). v is the activation's output y for relu / tanh / sigmoid and
// its input x for leaky relu (whose sign decides the slope).
// OP: 0 relu (y > 0), 1 leaky relu (x > 0 ? 1 : slope), 2 tanh (1 - y^2), 3 sigmoid (y (1 - y)).
// bindings: g0 b0 g (read), b1 v (read), b2 dx (write); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
override OP: u32 = 0u;

struct Params { n: u32, slope: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> v: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n) { return; }
  let y = v[i];
  var d = 0.0;
  switch OP {
    case 0u: { d = select(0.0, 1.0, y > 0.0); }
    case 1u: { d = select(p.slope, 1.0, y > 0.0); }
    case 2u: { d = 1.0 - y * y; }
    default: { d = y * (1.0 - y); }
  }
  dx[i] = g[i] * d;
}
