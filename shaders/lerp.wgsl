// lerp: dst = dst * decay + src * (1 - decay), in place (the EMA of a generator's weights).
// bindings: g0 b0 src (read), b1 dst (read_write); g1 b0 Params.
// dispatch: ceil(n / 256), folded 2-D.
struct Params { n: u32, decay: f32, rest: f32, _p0: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  dst[i] = dst[i] * p.decay + src[i] * p.rest;
}
