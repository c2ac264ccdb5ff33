// conv_common: what the conv kernels share. Params, the geometry (src/ops/kernels.ts convParams; Cx: the
// channels of conv2d's input x, Cy: of its output y, for a transposed conv the other way round); the channel
// block CB (4, or 1 where a block of 4 would straddle groups); the entry point, 64 threads a workgroup.
// Each kernel's output goes through its fn store(i, v) (once per element, at its flat index), where
// compileStep's fusion pass swaps in a fused epilogue.
override CB: u32 = 4u;
override WG: u32 = 64u;
#import flat_main

struct Params {
  N: u32, Cx: u32, H: u32, W: u32,
  Cy: u32, OH: u32, OW: u32, groups: u32,
  kH: u32, kW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
}

@group(1) @binding(0) var<uniform> p: Params;

// Channels c0..c0+CB-1 of a thread's block as a vec4 (lanes past CB repeat the last one, so they read valid
// memory and their sums go unstored), clamped to `last`.
fn channel_block(c0: u32, last: u32) -> vec4<u32> {
  return min(vec4<u32>(c0) + min(vec4<u32>(0u, 1u, 2u, 3u), vec4<u32>(CB - 1u)), vec4<u32>(last));
}
