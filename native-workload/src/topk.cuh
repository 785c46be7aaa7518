// The router's top-k for one token, computed by one warp: the lanes read the token's logits
// coalesced (expert e on lane e % 32), and warp shuffles give the max, the softmax sum and each
// of the k arg-maxes (ties: the lower expert index, as a serial scan would pick). Shared by the
// top-k kernel of every mode and by grouped's fused route kernel, so both make the same choices
// bit for bit. Every lane returns the same experts and gates.
#pragma once
#include <cuda_runtime.h>

#include <cmath>

// value(e) = logit + bias of expert e (this lane's experts only: e = lane, lane + 32, ...).
template <int MaxK, class Value>
__device__ __forceinline__ void warpTopKBy(Value&& value, int experts, int topk, int lane, int (&chosen)[MaxK],
                                           float (&gate)[MaxK]) {
  const unsigned full = 0xffffffffu;
  float mx = -INFINITY;
  for (int e = lane; e < experts; e += 32) mx = fmaxf(mx, value(e));
  for (int o = 16; o; o >>= 1) mx = fmaxf(mx, __shfl_xor_sync(full, mx, o));
  float sum = 0.f;
  for (int e = lane; e < experts; e += 32) sum += expf(value(e) - mx);
  for (int o = 16; o; o >>= 1) sum += __shfl_xor_sync(full, sum, o);
  float prob[MaxK];
  float chosenSum = 0.f;
#pragma unroll
  for (int k = 0; k < MaxK; ++k) {
    chosen[k] = -1;
    prob[k] = 0.f;
    if (k < topk) {
      int best = -1;
      float bestValue = -INFINITY;
      for (int e = lane; e < experts; e += 32) {
        bool taken = false;
#pragma unroll
        for (int j = 0; j < k; ++j) taken |= chosen[j] == e;
        const float v = value(e);
        if (!taken && (best < 0 || v > bestValue)) { best = e; bestValue = v; }
      }
      for (int o = 16; o; o >>= 1) {
        const float ov = __shfl_xor_sync(full, bestValue, o);
        const int ob = __shfl_xor_sync(full, best, o);
        if (ob >= 0 && (best < 0 || ov > bestValue || (ov == bestValue && ob < best))) { best = ob; bestValue = ov; }
      }
      chosen[k] = best;
      prob[k] = expf(bestValue - mx) / sum;
      chosenSum += prob[k];
    }
  }
  // Switch (top-1) scales by the router probability; top-k (Mixtral) renormalises over the k.
#pragma unroll
  for (int k = 0; k < MaxK; ++k) gate[k] = topk == 1 ? prob[0] : prob[k] / chosenSum;
}

template <int MaxK>
__device__ __forceinline__ void warpTopK(const float* row, const float* bias, int experts, int topk, int lane,
                                         int (&chosen)[MaxK], float (&gate)[MaxK]) {
  warpTopKBy<MaxK>([&](int e) { return row[e] + bias[e]; }, experts, topk, lane, chosen, gate);
}
