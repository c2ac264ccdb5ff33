// gather_strided: the one movement kernel. out[i] = x[base + sum_d src_coord_d(i) * strides[d]].
// MODE 0 (strided): src coord = out coord; covers permute/transpose, broadcast (expand, stride 0), narrow
// (base offset) and flip (a negative stride, wrapping in u32, from the far end). MODE 1..3 (pad): src coord
// = out coord - lo (lo may be negative: a crop), then 1 constant: outside src_shape the element is `fill`
// (raw bits); 2 reflect (about the edge, without repeating it; PyTorch needs pad < size); 3 replicate (the
// edge element). Works on raw 32-bit words, so it serves float32 and int32 alike.
// bindings: g0 b0 x (read), g0 b1 out (write); g1 b0 Params. dispatch: ceil(n / 256), folded 2-D.
override MODE: u32 = 0u;

struct Params {
  n: u32, rank: u32, base: u32, fill: u32,
  shape: array<vec4<u32>, 2>,
  strides: array<vec4<u32>, 2>,
  lo: array<vec4<u32>, 2>,
  src_shape: array<vec4<u32>, 2>,
}

#import words_main

fn word(i: u32) -> u32 {
  var rem = i;
  var src = p.base;
  var inside = true;
  for (var d = i32(p.rank) - 1; d >= 0; d--) {
    let dim = slot8(p.shape, u32(d));
    var c = rem % dim;
    rem = rem / dim;
    if (MODE != 0u) {
      let size = i32(slot8(p.src_shape, u32(d)));
      var s = i32(c) - bitcast<i32>(slot8(p.lo, u32(d)));
      if (MODE == 1u) {
        if (s < 0 || s >= size) { inside = false; }
      } else if (MODE == 2u) {
        if (s < 0) { s = -s; }
        if (s >= size) { s = 2 * (size - 1) - s; }
      }
      c = u32(clamp(s, 0, max(size - 1, 0)));
    }
    src += c * slot8(p.strides, u32(d));
  }
  if (!inside) { return p.fill; }
  return x[src];
}
