// lane_main: the entry point of a kernel over x viewed as [A, R, B] with one thread per (a, b) lane along R:
// Params, and fn run calling the kernel's fn lane(o, base) with o = a*B + b (the lane's output index) and
// base = a*R*B + b (its first element; the next is B further).
struct Params { A: u32, R: u32, B: u32, _p0: u32 }

@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(o: u32) {
  if (o >= p.A * p.B) { return; }
  lane(o, (o / p.B) * p.R * p.B + o % p.B);
}
