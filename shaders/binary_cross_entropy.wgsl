// binary_cross_entropy: loss of probabilities p against targets t (same shape), fused (two clamped logs,
// combine, reduce): l_i = -(t_i max(log p_i, -100) + (1 - t_i) max(log(1 - p_i), -100)), as PyTorch.
// REDUCE 0: out[i] = l_i; 1: out[0] = sum; 2: out[0] = mean (one workgroup of WG threads, one barrier).
// A p outside [0, 1] (or NaN) raises the device-side assert (src/backend/device_assert.ts), which the next
// readback reports as PyTorch's error; captured steps check every replay.
// bindings: g0 b0 p (read), b1 t (read), b2 out (write), b3 dev_assert (atomic flags); g1 b0 Params.
// dispatch: REDUCE 0: ceil(n / WG) folded 2-D; else 1 workgroup.
override REDUCE: u32 = 2u;
override WG: u32 = 64u;

struct Params { n: u32, assert_code: u32, _p1: u32, _p2: u32 }

@group(0) @binding(0) var<storage, read> pr: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> dev_assert: array<atomic<u32>, 8>;
@group(1) @binding(0) var<uniform> p: Params;

#import device_assert

fn loss(i: u32) -> f32 {
  if (!(pr[i] >= 0.0 && pr[i] <= 1.0)) { assert_fail(p.assert_code, bitcast<u32>(pr[i]), i, 0u); }
  let lp = max(log(pr[i]), -100.0);
  let l1p = max(log(1.0 - pr[i]), -100.0);
  return -(t[i] * lp + (1.0 - t[i]) * l1p);
}

#import loss_main
