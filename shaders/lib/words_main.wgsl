// words_main: a kernel that moves raw 32-bit words (so it serves float32 and int32 alike), one thread per
// output word: binds x (read) and out (write), and writes out[i] = word(i), the kernel's function, for
// i < p.n (its Params open with n).
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;
@group(1) @binding(0) var<uniform> p: Params;

override WG: u32 = 256u;
#import flat_main

fn run(i: u32) {
  if (i < p.n) { out[i] = word(i); }
}
