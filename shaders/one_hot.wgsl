// one_hot: labels (int32) [n] -> out [n, C] float32 with out[i, labels[i]] = 1. A label outside [0, C)
// gives an all-zero row and raises the device-side assert (src/backend/device_assert.ts), which the next
// readback reports; the host checks labels it knows before launching.
// bindings: g0 b0 labels (read), b1 out (write), b2 dev_assert (atomic flags); g1 b0 Params.
// dispatch: ceil(n*C / 256), folded 2-D.
struct Params { n: u32, C: u32, assert_code: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> labels: array<i32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> dev_assert: array<atomic<u32>, 8>;
@group(1) @binding(0) var<uniform> p: Params;

#import device_assert

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n * p.C) { return; }
  let l = labels[i / p.C];
  if (i % p.C == 0u && (l < 0 || u32(l) >= p.C)) { assert_fail(p.assert_code, bitcast<u32>(l), i / p.C, p.C); }
  out[i] = select(0.0, 1.0, l == i32(i % p.C));
}
