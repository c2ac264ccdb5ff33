enable f16;
// to_f16: packs f32 values into f16 storage (round to nearest), for the f16 matmul's operands.
// Needs the device feature shader-f16 (the loader keeps this file's `enable` ahead of the prelude).
// bindings: g0 b0 x (read), b1 out (write, n halves); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f16>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  out[i] = f16(x[i]);
}
