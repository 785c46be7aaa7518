#include "kernels.cuh"
#include "topk.cuh"

#include <cmath>

namespace {

__device__ inline float toFloat(float v) { return v; }
__device__ inline float toFloat(__nv_bfloat16 v) { return __bfloat162float(v); }
template <typename T> __device__ T fromFloat(float v);
template <> __device__ float fromFloat<float>(float v) { return v; }
template <> __device__ __nv_bfloat16 fromFloat<__nv_bfloat16>(float v) { return __float2bfloat16(v); }

__device__ inline uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

template <typename T>
__global__ void fillUniformKernel(T* p, size_t n, float scale, uint64_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    // 24 random bits → [-1, 1): exact in both fp32 and the bf16 rounding that follows.
    float u = float(splitmix64(seed ^ (i * 0x2545f4914f6cdd1dull)) >> 40) * (1.0f / 8388608.0f) - 1.0f;
    p[i] = fromFloat<T>(u * scale);
  }
}

// A warp per token: the lanes read the token's logits coalesced (expert e on lane e % 32), and
// warp shuffles give the max, the softmax sum and each of the k arg-maxes (ties: the lower
// expert index, as a serial scan would pick). 256 threads, 8 tokens a block.
constexpr int kTopKWarps = 8;
__global__ void __launch_bounds__(32 * kTopKWarps)
    routerTopKKernel(const float* logits, const float* bias, int tokens, int experts, int topk,
                     int* assignExpert, float* assignGate) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  // Under programmatic dependent launch (the grouped fast path): let the next kernel start
  // now, and wait here until the router GEMM's logits are complete. No-ops otherwise.
  asm volatile("griddepcontrol.launch_dependents;");
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  const int lane = threadIdx.x & 31;
  const int t = blockIdx.x * kTopKWarps + int(threadIdx.x >> 5);
  if (t >= tokens) return;
  int chosen[kMaxTopK];
  float gate[kMaxTopK];
  warpTopK(logits + size_t(t) * experts, bias, experts, topk, lane, chosen, gate);
  if (lane != 0) return;
#pragma unroll
  for (int k = 0; k < kMaxTopK; ++k) {
    if (k >= topk) break;
    assignExpert[k * tokens + t] = chosen[k];
    assignGate[k * tokens + t] = gate[k];
  }
}

// One block per expert scans all assignments in order: a block-wide ballot prefix gives each
// of the expert's assignments its position, so slots never depend on atomics' ordering.
__global__ void assignSlotsKernel(const int* assignExpert, int assignments, int capacity,
                                  int* assignPos, int* expertCount) {
  const int e = blockIdx.x;
  __shared__ int warpTotals[32];
  __shared__ int base;
  if (threadIdx.x == 0) base = 0;
  __syncthreads();
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  for (int start = 0; start < assignments; start += blockDim.x) {
    const int a = start + threadIdx.x;
    const bool mine = a < assignments && assignExpert[a] == e;
    const unsigned ballot = __ballot_sync(0xffffffffu, mine);
    if (lane == 0) warpTotals[warp] = __popc(ballot);
    __syncthreads();
    int before = 0, total = 0;
    for (int w = 0; w < warps; ++w) {
      if (w < warp) before += warpTotals[w];
      total += warpTotals[w];
    }
    if (mine) {
      const int pos = base + before + __popc(ballot & ((1u << lane) - 1u));
      assignPos[a] = pos < capacity ? pos : -1;
    }
    __syncthreads();
    if (threadIdx.x == 0) base += total;
    __syncthreads();
  }
  if (threadIdx.x == 0) expertCount[e] = min(base, capacity);
}

template <typename T>
__global__ void dispatchKernel(const T* x, const int* assignExpert, const int* assignPos, int tokens,
                               int dModel, int capacity, T* xDispatch) {
  const int a = blockIdx.x;
  const int pos = assignPos[a];
  if (pos < 0) return;
  const T* src = x + size_t(a % tokens) * dModel;
  T* dst = xDispatch + (size_t(assignExpert[a]) * capacity + pos) * dModel;
  for (int j = threadIdx.x; j < dModel; j += blockDim.x) dst[j] = src[j];
}

template <typename T>
__global__ void reluKernel(T* h, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    h[i] = fromFloat<T>(fmaxf(toFloat(h[i]), 0.f));
}

template <typename T>
__global__ void combineKernel(const T* yDispatch, const int* assignExpert, const int* assignPos,
                              const float* assignGate, int tokens, int topk, int dModel, int capacity,
                              T* out) {
  const int t = blockIdx.x;
  for (int j = threadIdx.x; j < dModel; j += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < topk; ++k) {
      const int a = k * tokens + t;
      const int pos = assignPos[a];
      if (pos < 0) continue;
      acc += assignGate[a] * toFloat(yDispatch[(size_t(assignExpert[a]) * capacity + pos) * dModel + j]);
    }
    out[size_t(t) * dModel + j] = fromFloat<T>(acc);
  }
}

unsigned gridFor(size_t n, unsigned block) {
  size_t blocks = (n + block - 1) / block;
  return unsigned(blocks < 65535 * 8 ? (blocks ? blocks : 1) : 65535 * 8);
}

}  // namespace

template <typename T>
void launchFillUniform(T* p, size_t n, float scale, uint64_t seed, cudaStream_t s) {
  fillUniformKernel<T><<<gridFor(n, 256), 256, 0, s>>>(p, n, scale, seed);
}

void launchRouterTopK(const float* logits, const float* bias, int tokens, int experts, int topk,
                      int* assignExpert, float* assignGate, cudaStream_t s, bool pdl) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = dim3((tokens + kTopKWarps - 1) / kTopKWarps);
  cfg.blockDim = dim3(32 * kTopKWarps);
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  cudaLaunchKernelEx(&cfg, routerTopKKernel, logits, bias, tokens, experts, topk, assignExpert, assignGate);
}

void launchAssignSlots(const int* assignExpert, int assignments, int experts, int capacity,
                       int* assignPos, int* expertCount, cudaStream_t s) {
  assignSlotsKernel<<<experts, 1024, 0, s>>>(assignExpert, assignments, capacity, assignPos, expertCount);
}

template <typename T>
void launchDispatch(const T* x, const int* assignExpert, const int* assignPos, int tokens,
                    int assignments, int dModel, int capacity, T* xDispatch, cudaStream_t s) {
  dispatchKernel<T><<<assignments, 128, 0, s>>>(x, assignExpert, assignPos, tokens, dModel, capacity, xDispatch);
}

template <typename T>
void launchRelu(T* h, size_t n, cudaStream_t s) {
  reluKernel<T><<<gridFor(n, 256), 256, 0, s>>>(h, n);
}

template <typename T>
void launchCombine(const T* yDispatch, const int* assignExpert, const int* assignPos,
                   const float* assignGate, int tokens, int topk, int dModel, int capacity,
                   T* out, cudaStream_t s) {
  combineKernel<T><<<tokens, 128, 0, s>>>(yDispatch, assignExpert, assignPos, assignGate, tokens, topk, dModel, capacity, out);
}

#define MOE_INSTANTIATE(T)                                                                          \
  template void launchFillUniform<T>(T*, size_t, float, uint64_t, cudaStream_t);                   \
  template void launchDispatch<T>(const T*, const int*, const int*, int, int, int, int, T*,        \
                                  cudaStream_t);                                                    \
  template void launchRelu<T>(T*, size_t, cudaStream_t);                                           \
  template void launchCombine<T>(const T*, const int*, const int*, const float*, int, int, int,    \
                                 int, T*, cudaStream_t);
MOE_INSTANTIATE(float)
MOE_INSTANTIATE(__nv_bfloat16)
