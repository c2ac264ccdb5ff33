// pad_backward: the gradient of reflect and replicate padding. Each input element sums the output gradient
// over every padded position that read it: a scatter-add written as a gather, so no atomics and one pass.
// Those modes pad at most the last three dims, so x is viewed as [outer, n0, n1, n2] and g as
// [outer, m0, m1, m2] (m = n + lo + hi; dims that are not padded have lo = hi = 0). Per dim the readers of
// input coordinate i are at most three runs of output positions: itself (i + lo) and, for reflect, its
// mirror images in the low and high borders, or, for replicate, the whole low (i = 0) or high (i = n - 1) border.
// MODE: 2 reflect, 3 replicate (gather_strided's codes). bindings: g0 b0 g (read), b1 out (write);
// g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
override MODE: u32 = 2u;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32, size: vec4<u32>, lo: vec4<u32>, hi: vec4<u32> }

@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(1) @binding(0) var<uniform> p: Params;

// Run s (0, 1, 2) of the output positions that read input coordinate i along a dim: (start, length).
fn run_of(i: u32, n: u32, lo: u32, hi: u32, s: u32) -> vec2<u32> {
  if (s == 0u) { return vec2<u32>(i + lo, 1u); }
  if (MODE == 2u) {
    if (s == 1u) { if (i >= 1u && i <= lo) { return vec2<u32>(lo - i, 1u); } return vec2<u32>(0u, 0u); }
    if (i + 1u + hi >= n && i + 2u <= n) { return vec2<u32>(lo + 2u * (n - 1u) - i, 1u); }
    return vec2<u32>(0u, 0u);
  }
  if (s == 1u) { if (i == 0u) { return vec2<u32>(0u, lo); } return vec2<u32>(0u, 0u); }
  if (i == n - 1u) { return vec2<u32>(lo + n, hi); }
  return vec2<u32>(0u, 0u);
}

override WG: u32 = 256u;
#import flat_main

fn run(idx: u32) {
  if (idx >= p.n) { return; }
  let n = p.size.xyz;
  let m = n + p.lo.xyz + p.hi.xyz;
  let i2 = idx % n.z;
  let i1 = (idx / n.z) % n.y;
  let i0 = (idx / (n.z * n.y)) % n.x;
  let outer = idx / (n.z * n.y * n.x);
  var acc = 0.0;
  for (var s0 = 0u; s0 < 3u; s0++) {
    let a = run_of(i0, n.x, p.lo.x, p.hi.x, s0);
    for (var s1 = 0u; s1 < 3u; s1++) {
      let b = run_of(i1, n.y, p.lo.y, p.hi.y, s1);
      for (var s2 = 0u; s2 < 3u; s2++) {
        let c = run_of(i2, n.z, p.lo.z, p.hi.z, s2);
        for (var o0 = a.x; o0 < a.x + a.y; o0++) {
          for (var o1 = b.x; o1 < b.x + b.y; o1++) {
            let row = ((outer * m.x + o0) * m.y + o1) * m.z;
            for (var o2 = c.x; o2 < c.x + c.y; o2++) { acc += g[row + o2]; }
          }
        }
      }
    }
  }
  out[idx] = acc;
}
