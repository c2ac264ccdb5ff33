// cross_entropy: loss of logits x [N, C] against int32 labels [N], fused (log-softmax, pick, reduce):
// loss_i = log(sum_c exp(x_ic - m_i)) + m_i - x_i,label_i with m_i the row max, as PyTorch's
// log_softmax + nll_loss. REDUCE 0: out[i] = loss_i (a thread per row); 1: out[0] = sum; 2: out[0] = mean
// (one workgroup: WG threads stride over the rows, one barrier, thread 0 adds the partial sums in order).
// A label outside [0, C) gives NaN and raises the device-side assert (src/backend/device_assert.ts), which
// the next readback reports; the host checks labels it knows before launching.
// bindings: g0 b0 x (read), b1 labels (read), b2 out (write), b3 dev_assert (atomic flags); g1 b0 Params.
// dispatch: REDUCE 0: ceil(N / WG) folded 2-D; else 1 workgroup.
override REDUCE: u32 = 2u;
override WG: u32 = 64u;

struct Params { n: u32, C: u32, assert_code: u32, _p1: u32 }

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> labels: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> dev_assert: array<atomic<u32>, 8>;
@group(1) @binding(0) var<uniform> p: Params;

#import device_assert

fn loss(i: u32) -> f32 {
  let base = i * p.C;
  var m = x[base];
  for (var c = 1u; c < p.C; c++) { m = max(m, x[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < p.C; c++) { s += exp(x[base + c] - m); }
  let l = labels[i];
  if (l < 0 || u32(l) >= p.C) {
    assert_fail(p.assert_code, bitcast<u32>(l), i, p.C);
    return bitcast<f32>(kiln_nan_bits);
  }
  return -((x[base + u32(l)] - m) - log(s));
}

#import loss_main
