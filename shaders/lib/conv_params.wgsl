// conv_params: the geometry every conv kernel reads (src/ops/kernels.ts convParams). Cx: the channels of
// conv2d's input x, Cy: of its output y (for a transposed conv, the other way round).
struct Params {
  N: u32, Cx: u32, H: u32, W: u32,
  Cy: u32, OH: u32, OW: u32, groups: u32,
  kH: u32, kW: u32, sH: u32, sW: u32,
  pH: u32, pW: u32, dH: u32, dW: u32,
}

@group(1) @binding(0) var<uniform> p: Params;
