// one_hot: labels (int32) [n] -> out [n, C] float32 with out[i, labels[i]] = 1. A label outside [0, C)
// gives an all-zero row (the host checks labels it knows before launching; see crossEntropy).
// bindings: g0 b0 labels (read), b1 out (write); g1 b0 Params. dispatch: ceil(n*C / 256), folded 2-D.
struct Params { n: u32, C: u32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lidx: u32) {
  let i = flat_index(wid, nwg, lidx, 256u);
  if (i >= p.n * p.C) { return; }
  out[i] = select(0.0, 1.0, labels[i / p.C] == i32(i % p.C));
}
