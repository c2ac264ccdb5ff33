// random: counter-based generator, so results depend only on (seed, offset, i), never on thread order:
// uniform in [low, high) or (NORMAL) Box-Muller normal(mean, std). Kiln advances offset by the number of
// draws after each call, so a manual seed reproduces a whole run.
// bindings: g0 b0 out (write); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
override NORMAL: bool = false;

struct Params { n: u32, seed_lo: u32, seed_hi: u32, offset: u32, a: f32, b: f32, _p0: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn draw(counter: u32, stream: u32) -> u32 {
  return pcg(pcg(counter ^ p.seed_lo) + p.seed_hi + stream * 0x9e3779b9u);
}

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i >= p.n) { return; }
  let c = p.offset + i;
  if (NORMAL) {
    let u1 = (f32(draw(c, 0u) >> 8u) + 1.0) * (1.0 / 16777216.0);
    let u2 = f32(draw(c, 1u) >> 8u) * (1.0 / 16777216.0);
    out[i] = p.a + p.b * sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
  } else {
    let u = f32(draw(c, 0u) >> 8u) * (1.0 / 16777216.0);
    out[i] = p.a + (p.b - p.a) * u;
  }
}
