// fill: out[i] = start + i * step, written as float32 bits or (INT) as int32. step = 0 is a constant fill.
// bindings: g0 b0 out (write, raw 32-bit words); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
override INT: bool = false;

struct Params { n: u32, start: f32, step: f32, _p0: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  if (INT) {
    out[i] = bitcast<u32>(i32(p.start) + i32(i) * i32(p.step));
  } else {
    out[i] = bitcast<u32>(p.start + f32(i) * p.step);
  }
}
