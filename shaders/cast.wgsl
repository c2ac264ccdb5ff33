// cast: TO_INT converts float32 -> int32 truncating toward zero (as PyTorch's .to(int32)); otherwise
// int32 -> float32. bindings: g0 b0 x (read), b1 out (write), both raw words; g1 b0 Params.
// dispatch: ceil(n / 256), folded 2-D.
override TO_INT: bool = false;

struct Params { n: u32, _p0: u32, _p1: u32, _p2: u32 }

#import words_main

fn word(i: u32) -> u32 {
  if (TO_INT) { return bitcast<u32>(i32(trunc(bitcast<f32>(x[i])))); }
  return bitcast<u32>(f32(bitcast<i32>(x[i])));
}
