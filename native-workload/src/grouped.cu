// The grouped mode's fast path: see grouped.cuh for the plan. Device code that needs sm_90a
// (wgmma, setmaxnreg) is compiled only when this file is built for compute_90a
// (MOE_GROUPED_SM90A); otherwise the kernels are empty and unsupportedReason() says so.
#include "grouped.cuh"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "topk.cuh"
#include "wgmma.cuh"

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MOE_DEVICE_SM90A 1
#endif

namespace {

using bf16 = __nv_bfloat16;

void check(cudaError_t e, const char* what, int line) {
  if (e == cudaSuccess) return;
  std::fprintf(stderr, "moe-workload: CUDA error %s (%s) at grouped.cu:%d: %s\n", cudaGetErrorName(e),
               cudaGetErrorString(e), line, what);
  std::exit(1);
}
#define CUDA_CHECK(x) check((x), #x, __LINE__)

// ---- Tiling ---------------------------------------------------------------------------------
constexpr int kThreads = 288;       // warps 0-7: two consumer warpgroups; warp 8: producer (one thread
                                    // issues TMA). Nine warps put three on one SM sub-partition, whose
                                    // 16K registers cap each thread at 168.
constexpr int kStages = 3;          // shared-memory ring depth
constexpr int kStageA = 32768;      // weight bytes per stage: 128 rows x 2 k-slabs of 64 (128 B, swizzled)
constexpr int kStageB = 32768;      // token bytes per stage (at most): 128 tokens x 2 k-slabs
constexpr int kStageBytes = kStageA + kStageB;
constexpr int kRing = 4;            // work items the producer may run ahead of the consumers
constexpr int kNt = 128;            // tokens per token tile (wgmma N, padded to 16)
constexpr int kBm = 128;            // weight rows per item (d_ff rows up, d_model rows down), 64 per consumer
constexpr int kSmemBytes = kStages * kStageBytes + 1024 /* barriers, ring */ + 1024 /* alignment */;

struct RingEntry {
  int4 item;  // phase (0 up, 1 down, -1 end), expert, weight-row tile, token tile
  int4 info;  // tokens in the tile, first packed row of the tile
};

struct SmemTail {
  uint64_t full[kStages], empty[kStages], itemFull[kRing], itemEmpty[kRing];
  RingEntry ring[kRing];
};
static_assert(sizeof(SmemTail) <= 1024, "barrier area");

struct FfnArgs {
  const int4* list;
  const int* listTotal;
  int* queue;
  const int* counts;
  const int* offsets;
  unsigned* done1;
  const int* tokenOf;
  const float* gateOf;
  bf16* h;
  bf16* out;      // top-1: token-order output, gate-scaled
  bf16* yPacked;  // top-k > 1: expert-order output, unscaled (the combine kernel sums)
  const void* tokenMaps;  // v2: TokenMaps in global memory
  int experts, dModel, dFf, tiles1, staticItems, prefetch, evictFirst, fusedCombine;
  int diag;  // v2 timing diagnostics (wrong results): 1 no token loads, 2 no wgmma and no epilogue
  int ahead;  // v2: k-slabs of weights kept prefetched into L2 in front of the TMA loads
  int signalWarp;  // v2: a warp of the producer warpgroup publishes finished up items
  // v2, MOE_GROUPED_FUSE=1 (top-1): the consumers route before the main loop (routeInKernel)
  int fuse;
  const float* logits;
  const float* bias;
  const bf16* x;
  int tokens, capacity, tiles2, lag;
  int waveItems;  // MOE_GROUPED_WAVE: the last experts' down items, at most this many, end the list (0: off)
  int* assignExpert;
  float* assignGate;
  int* assignPos;
  int* rowOf;
  int* countsOut;
  int* offsetsOut;
  int* tokenOfW;
  float* gateOfW;
  bf16* xPacked;
  int* blockCounts;   // [gridDim.x][experts]
  unsigned* barrier;  // arrivals, two per CTA and launch: routed counts written, packed rows copied
  // Split-K of the down items of the last splitTail experts into splitK parts (top-1)
  int splitK, splitTail, partRows;
  float* partials;       // [splitK - 1][tiles2][splitRows][256]: slots of the partials of parts 0 .. splitK - 2
  int splitM, splitRows;  // chunks per expert at most; rows of a slot plane (partRows + 16 experts splitM)
  unsigned* splitCount;  // [2][tiles2][partRows]: parts finished, per warpgroup and (tile, first row)
  int overlap;  // v2: MOE_GROUPED_OVERLAP=1 keeps one stage's wgmma group in flight
  int staticStages;  // fused routing: stages of the first item loaded before the routing is known (-1: all)
  int packed;  // MOE_GROUPED_PACKED: the weight maps are the prepacked copies (see packWeightsKernel)
  const unsigned* ready;  // MOE_GROUPED_FLAGWAIT: the route blocks' arrivals (null: griddepcontrol.wait)
  unsigned readyTarget;   // arrivals once this launch's route kernel is done
  unsigned long long* times;  // MOE_GROUPED_TIMES: per CTA, globaltimer at 8 points (null: off)
};
// ffnKernel2's knobs as template bits: the default instantiation (0) has none of their code, so
// it compiles as run 7's did (168 registers, no spill, wgmmas not serialized). With the knobs as
// runtime branches (run 8's sources) ptxas spilled 20 bytes and serialized the default's wgmmas
// (C7518, "... WG.DP in divergent path": OVERLAP's wgmma group left in flight across a branch):
// ~16 us slower. The OVERLAP instantiations are still serialized that way (a wait loop or a lane-0
// arrive with a group in flight; branch-free PTX for both did not help). SPLIT, FUSE and TIMES
// alone and FUSE with TIMES have lean instantiations too (OVERLAP's went: slower and serialized anyway),
// kKnobsAll takes any other combination (each knob still checked at run time).
// kKnobHalf: MOE_GROUPED_HALF's half down items (phase 2, see buildWorkList) exist.
constexpr int kKnobFuse = 1, kKnobSplit = 2, kKnobOverlap = 4, kKnobTimes = 8, kKnobHalf = 16;
constexpr int kKnobsAll = kKnobFuse | kKnobSplit | kKnobOverlap | kKnobTimes | kKnobHalf;
// The work list's order. Per expert e, an up segment (its up items) and a down segment; segment
// positions: up e at e + clamp(e - lag, 0, W), down e at min(e + lag + 1, E) + e for e < W, at E + e
// for e >= W. With W = E (MOE_GROUPED_WAVE=0) each expert's down items follow the up items of e + lag; with
// MOE_GROUPED_WAVE the down items of experts W..E-1 (W: the longest run of experts at the end whose
// down items number at most waveItems, ~one per CTA) end the list after every up item: the last items
// are then down items of equal size taken by all CTAs at once (a wave), not the down items of the
// last lag + 1 experts on a few CTAs while the others are idle (run 10: a ~40 us wide tail).
__device__ __forceinline__ int segUp(int e, int E, int lag, int W) { return e + min(max(e - lag, 0), W); }
__device__ __forceinline__ int segDown(int e, int E, int lag, int W) {
  return e < W ? min(e + lag + 1, E) + e : E + e;
}
// W (see above) for one warp: downItems(e) the down items of expert e; all lanes return it.
template <typename F>
__device__ __forceinline__ int waveStart(F downItems, int E, int waveItems, int lane) {
  if (waveItems <= 0) return E;
  int carry = 0, W = E;
  for (int b = E; b > 0; b -= 32) {
    const int e = b - 1 - lane;  // lane 0: the last expert of this block of 32
    const int v = e >= 0 ? downItems(e) : 0;
    int incl = v;
    for (int o = 1; o < 32; o <<= 1) {
      const int u = __shfl_up_sync(0xffffffffu, incl, o);
      if (lane >= o) incl += u;
    }
    const unsigned ok = __ballot_sync(0xffffffffu, e >= 0 && carry + incl <= waveItems);  // a prefix of lanes
    W -= __popc(ok);
    if (ok != 0xffffffffu) break;
    carry += __shfl_sync(0xffffffffu, incl, 31);
  }
  return W;
}
constexpr int kMaxListSegs = 256;  // buildWorkList's parallel path: segments (2 per expert) it takes
constexpr int kTimeSlots = 16;  // MOE_GROUPED_TIMES: per-CTA record (see stamp())
constexpr int kMaxFuseE = 64;    // experts the in-kernel routing takes (its tables live in shared memory)
constexpr int kMaxFuseT = 64;    // tokens per CTA it takes

#ifdef MOE_DEVICE_SM90A
// ---- PTX helpers ----------------------------------------------------------------------------
__device__ __forceinline__ uint32_t smemAddr(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}
__device__ __forceinline__ void mbarInit(uint64_t* b, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;" ::"r"(smemAddr(b)), "r"(count) : "memory");
}
__device__ __forceinline__ void mbarExpectTx(uint64_t* b, unsigned bytes) {
  asm volatile("mbarrier.expect_tx.shared::cta.b64 [%0], %1;" ::"r"(smemAddr(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarArriveExpectTx(uint64_t* b, unsigned bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smemAddr(b)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbarArrive(uint64_t* b) {
  asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];" ::"r"(smemAddr(b)) : "memory");
}
// A wait that never ends is a bug (a lost arrival, a wrong parity): trap after ~seconds, so the
// program fails with a launch error instead of hanging the GPU.
constexpr unsigned kSpinLimit = 1u << 25;
__device__ __forceinline__ void mbarWait(uint64_t* b, uint32_t parity) {
  const uint32_t a = smemAddr(b);
  uint32_t ok = 0;
  unsigned spins = 0;
  do {
    asm volatile(
        "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(ok)
        : "r"(a), "r"(parity)
        : "memory");
    if (++spins > kSpinLimit) __trap();
  } while (!ok);
}
__device__ __forceinline__ void tmaLoad(void* dst, const CUtensorMap* map, int c0, int c1, uint64_t* bar,
                                        uint64_t policy, bool hint) {
  if (hint)
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes.L2::cache_hint"
        " [%0], [%1, {%2, %3}], [%4], %5;" ::"r"(smemAddr(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(smemAddr(bar)), "l"(policy)
        : "memory");
  else
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
        " [%0], [%1, {%2, %3}], [%4];" ::"r"(smemAddr(dst)),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(smemAddr(bar))
        : "memory");
}
__device__ __forceinline__ void tmaPrefetchL2(const CUtensorMap* map, int c0, int c1) {
  asm volatile("cp.async.bulk.prefetch.tensor.2d.L2.global [%0, {%1, %2}];" ::"l"(
                   reinterpret_cast<uint64_t>(map)),
               "r"(c0), "r"(c1)
               : "memory");
}
__device__ __forceinline__ uint64_t evictFirstPolicy() {
  uint64_t p;
  asm volatile("createpolicy.fractional.L2::evict_first.b64 %0, 1.0;" : "=l"(p));
  return p;
}
// K-major operand, 128-byte swizzle, 8-row core groups 1024 bytes apart.
__device__ __forceinline__ uint64_t smemDesc(uint32_t addr) {
  return uint64_t((addr & 0x3FFFF) >> 4) | (uint64_t(1) << 16) | (uint64_t(1024 >> 4) << 32) |
         (uint64_t(1) << 62);
}
__device__ __forceinline__ void wgmmaFence() { asm volatile("wgmma.fence.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmmaCommit() { asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory"); }
__device__ __forceinline__ void wgmmaWaitAll() { asm volatile("wgmma.wait_group.sync.aligned 0;" ::: "memory"); }
template <int R>
__device__ __forceinline__ void fenceRegs(float (&d)[R]) {
#pragma unroll
  for (int i = 0; i < R; ++i) asm volatile("" : "+f"(d[i]));
}
__device__ __forceinline__ unsigned loadAcquire(const unsigned* p) {
  unsigned v;
  asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(p) : "memory");
  return v;
}
__device__ __forceinline__ void addRelease(unsigned* p, unsigned v) {
  asm volatile("red.release.gpu.global.add.u32 [%0], %1;" ::"l"(p), "r"(v) : "memory");
}
__device__ __forceinline__ unsigned long long globalTimer() {
  unsigned long long v;
  asm volatile("mov.u64 %0, %globaltimer;" : "=l"(v));
  return v;
}
// MOE_GROUPED_TIMES: slot i of this CTA's record (0 entry, 1 routing known to the producer, 2 first
// token load allowed, 3 queue empty, 4 consumers done, 5 consumers past griddepcontrol.wait,
// 6 consumers' routing done, 7 k-slabs this CTA streamed, 8 ns its producer waited for up items
// before down items, 9 its last item's start, 10 that item: 1000 if down, 10000 if a split-K
// part, + its k-slabs).
__device__ __forceinline__ void stamp(unsigned long long* times, int i) {
  if (times) times[blockIdx.x * kTimeSlots + i] = globalTimer();
}
__device__ __forceinline__ void proxyFenceGlobal() { asm volatile("fence.proxy.async.global;" ::: "memory"); }
__device__ __forceinline__ void consumersSync() { asm volatile("bar.sync 1, 256;" ::: "memory"); }

__device__ __forceinline__ uint32_t packBf16(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

// Accumulator fragment of m64nNk16 (per warp of the consumer warpgroup): register 4j+q holds
// row 16w + lane/4 + 8*(q/2), column 8j + 2*(lane%4) + (q%2). Lanes lane and lane^4 hold
// neighbouring rows: one shuffle gives each a pair of rows of one column, so every store is
// two adjacent bf16 of a row-major [token][feature] matrix.
template <int N, typename Store>
__device__ __forceinline__ void storePairs(const float (&d)[N / 2], int lane, Store&& store) {
  const bool even = ((lane >> 2) & 1) == 0;
#pragma unroll
  for (int j = 0; j < N / 8; ++j) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float a = d[4 * j + 2 * h], b = d[4 * j + 2 * h + 1];  // (row, c), (row, c+1)
      const float other = __shfl_xor_sync(0xffffffffu, even ? b : a, 4);
      const int c = 8 * j + 2 * (lane & 3) + (even ? 0 : 1);
      const int rowPair = (lane >> 2) - (even ? 0 : 1) + 8 * h;  // even row of the pair, in the warp's 16
      if (even) store(c, rowPair, a, other);
      else store(c, rowPair, other, b);
    }
  }
}

// ---- consumers ------------------------------------------------------------------------------
struct ConsumerState {
  uint32_t it;
};

__device__ __forceinline__ void releaseStage(uint64_t* empty, int lane) {
  if (lane == 0) mbarArrive(empty);
}

// One item: Dᵀ[128 weight rows][N tokens] = W tile · Xᵀ over the whole K, then the epilogue.
// Up projection (Phase 0): ReLU, bf16, stored to H[token row][d_ff column]. Down projection
// (Phase 1): top-1 scales by the gate and stores straight into the token's output row; top-k > 1
// stores to the expert-ordered yPacked for the combine kernel.
template <int Phase, int N>
__device__ __forceinline__ void runTile(uint8_t* smem, SmemTail* t, ConsumerState& st, const FfnArgs& a, int wg,
                                        int warp, int lane, int m, int n, int rowBase) {
  float acc[N / 2];
  const int kst = (Phase == 0 ? a.dModel : a.dFf) / 128;
  for (int ks = 0; ks < kst; ++ks, ++st.it) {
    const int stage = st.it % kStages;
    mbarWait(&t->full[stage], (st.it / kStages) & 1);
    const uint32_t A = smemAddr(smem + stage * kStageBytes), B = A + kStageA;
    wgmmaFence();
#pragma unroll
    for (int s = 0; s < 2; ++s)
#pragma unroll
      for (int kk = 0; kk < 4; ++kk)
        Wgmma<N>::mma(acc, smemDesc(A + s * 16384 + wg * 64 * 128 + kk * 32), smemDesc(B + s * 16384 + kk * 32),
                      (ks | s | kk) != 0);
    wgmmaCommit();
    wgmmaWaitAll();
    fenceRegs(acc);
    releaseStage(&t->empty[stage], lane);
  }
  const int row0 = m * kBm + wg * 64 + 16 * warp;
  if (Phase == 0) {
    const int ff = a.dFf;
    storePairs<N>(acc, lane, [&](int c, int rp, float v0, float v1) {
      if (c < n)
        *reinterpret_cast<uint32_t*>(a.h + size_t(rowBase + c) * ff + row0 + rp) =
            packBf16(fmaxf(v0, 0.f), fmaxf(v1, 0.f));
    });
  } else if (a.fusedCombine) {
    const int d = a.dModel;
    storePairs<N>(acc, lane, [&](int c, int rp, float v0, float v1) {
      if (c < n) {
        const int tok = a.tokenOf[rowBase + c];
        const float g = a.gateOf[rowBase + c];
        *reinterpret_cast<uint32_t*>(a.out + size_t(tok) * d + row0 + rp) = packBf16(g * v0, g * v1);
      }
    });
  } else {
    const int d = a.dModel;
    storePairs<N>(acc, lane, [&](int c, int rp, float v0, float v1) {
      if (c < n)
        *reinterpret_cast<uint32_t*>(a.yPacked + size_t(rowBase + c) * d + row0 + rp) = packBf16(v0, v1);
    });
  }
}

__device__ void drainItem(SmemTail* t, ConsumerState& st, int kst, int lane) {
  for (int ks = 0; ks < kst; ++ks, ++st.it) {
    const int stage = st.it % kStages;
    mbarWait(&t->full[stage], (st.it / kStages) & 1);
    releaseStage(&t->empty[stage], lane);
  }
}

// The wgmma width N (token columns, padding computed and dropped): 64 for tiles of up to 64
// tokens, else 128; kFixedN: always 128. Only two widths: ptxas gives every wgmma shape in the
// kernel its own accumulator registers, and a third (or the sixteen-per-16 set) spills.
template <int Phase, bool kFixedN>
__device__ __forceinline__ void runItem(uint8_t* smem, SmemTail* t, ConsumerState& st, const FfnArgs& a,
                                        int wg, int warp, int lane, int m, int n, int rowBase) {
  if (n == 0) drainItem(t, st, (Phase == 0 ? a.dModel : a.dFf) / 128, lane);
  else if (!kFixedN && n <= 64) runTile<Phase, 64>(smem, t, st, a, wg, warp, lane, m, n, rowBase);
  else runTile<Phase, kNt>(smem, t, st, a, wg, warp, lane, m, n, rowBase);
}
#endif  // MOE_DEVICE_SM90A

template <bool kFixedN>
__global__ void __launch_bounds__(kThreads, 1)
    ffnKernel(const __grid_constant__ CUtensorMap mW1, const __grid_constant__ CUtensorMap mW2,
              const __grid_constant__ CUtensorMap mX, const __grid_constant__ CUtensorMap mH, const FfnArgs a) {
#ifdef MOE_DEVICE_SM90A
  extern __shared__ uint8_t rawSmem[];
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(rawSmem) + 1023) & ~uintptr_t(1023));
  SmemTail* t = reinterpret_cast<SmemTail*>(smem + kStages * kStageBytes);
  const int tid = threadIdx.x, warpIdx = tid / 32, lane = tid % 32;
  if (tid == 0) {
    for (int s = 0; s < kStages; ++s) {
      mbarInit(&t->full[s], 1);
      mbarInit(&t->empty[s], 8);  // one arrive per consumer warp
    }
    for (int r = 0; r < kRing; ++r) {
      mbarInit(&t->itemFull[r], 1);
      mbarInit(&t->itemEmpty[r], 256);  // every consumer thread has read the entry
    }
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  const int kst1 = a.dModel / 128, kst2 = a.dFf / 128;  // stages (of two 64-wide k-slabs) per item
  if (warpIdx == 8) {
    if (lane != 0) return;
    // ---- producer ----
    const uint64_t policy = evictFirstPolicy();
    const bool hint = a.evictFirst != 0;
    uint32_t it = 0, r = 0;
    int prefetched = 0;
    const bool hasStatic = int(blockIdx.x) < a.staticItems;
    const int4 first = make_int4(0, int(blockIdx.x) / a.tiles1, int(blockIdx.x) % a.tiles1, 0);
    if (hasStatic) {
      // The first item is known before the routing is: start streaming its weights now.
      prefetched = kst1 < kStages ? kst1 : kStages;
      const int row = first.y * a.dFf + first.z * kBm;
      for (int s = 0; s < prefetched; ++s) {
        uint8_t* A = smem + s * kStageBytes;
        mbarExpectTx(&t->full[s], kStageA);
        tmaLoad(A, &mW1, (2 * s) * 64, row, &t->full[s], policy, hint);
        tmaLoad(A + 16384, &mW1, (2 * s + 1) * 64, row, &t->full[s], policy, hint);
      }
      for (int s = 2 * prefetched; s < 2 * (prefetched + a.prefetch) && s < 2 * kst1; ++s)
        tmaPrefetchL2(&mW1, s * 64, row);
    }
    asm volatile("griddepcontrol.wait;" ::: "memory");
    const int total = *a.listTotal;
    bool useStatic = hasStatic;
    for (;;) {
      int4 item;
      if (useStatic) {
        item = first;
        useStatic = false;
      } else {
        const int idx = a.staticItems + atomicAdd(a.queue, 1);
        item = idx < total ? a.list[idx] : make_int4(-1, 0, 0, 0);
      }
      int n = 0, rowBase = 0, count = 0;
      if (item.x >= 0) {
        count = a.counts[item.y];
        n = min(max(count - item.w * kNt, 0), kNt);
        rowBase = a.offsets[item.y] + item.w * kNt;
      }
      {
        const int slot = r % kRing;
        mbarWait(&t->itemEmpty[slot], ((r / kRing) & 1) ^ 1);
        t->ring[slot].item = item;
        t->ring[slot].info = make_int4(n, rowBase, 0, 0);
        mbarArrive(&t->itemFull[slot]);
        ++r;
      }
      if (item.x < 0) break;
      const int ntRows = (n + 15) & ~15;
      if (item.x == 1) {
        const unsigned need = unsigned(a.tiles1 * max(1, (count + kNt - 1) / kNt));
        for (unsigned spins = 0; loadAcquire(a.done1 + item.y) < need; ++spins) {
          __nanosleep(64);
          if (spins > kSpinLimit) __trap();
        }
        proxyFenceGlobal();
      }
      const int kst = item.x == 0 ? kst1 : kst2;
      const CUtensorMap* mw = item.x == 0 ? &mW1 : &mW2;
      const CUtensorMap* mb = item.x == 0 ? &mX : &mH;
      const int row = item.y * (item.x == 0 ? a.dFf : a.dModel) + item.z * kBm;
      const unsigned bBytes = unsigned(ntRows * 128 * 2);
      for (int ks = 0; ks < kst; ++ks, ++it) {
        const int stage = it % kStages;
        uint8_t* A = smem + stage * kStageBytes;
        uint8_t* B = A + kStageA;
        if (ks < prefetched) {
          mbarArriveExpectTx(&t->full[stage], bBytes);
        } else {
          mbarWait(&t->empty[stage], ((it / kStages) & 1) ^ 1);
          mbarArriveExpectTx(&t->full[stage], kStageA + bBytes);
          tmaLoad(A, mw, (2 * ks) * 64, row, &t->full[stage], policy, hint);
          tmaLoad(A + 16384, mw, (2 * ks + 1) * 64, row, &t->full[stage], policy, hint);
        }
        for (int s = 0; s < 2; ++s)
          for (int j = 0; j < ntRows / 16; ++j)
            tmaLoad(B + s * 16384 + j * 2048, mb, (2 * ks + s) * 64, rowBase + 16 * j, &t->full[stage], 0, false);
      }
      prefetched = 0;
    }
    return;
  }

  // ---- consumers ----
  asm volatile("griddepcontrol.wait;" ::: "memory");
  const int wg = warpIdx / 4, warp = warpIdx % 4;
  ConsumerState st{0};
  for (uint32_t r = 0;; ++r) {
    const int slot = r % kRing;
    mbarWait(&t->itemFull[slot], (r / kRing) & 1);
    const int4 item = t->ring[slot].item;
    const int4 info = t->ring[slot].info;
    mbarArrive(&t->itemEmpty[slot]);
    if (item.x < 0) break;
    if (item.x == 0) {
      runItem<0, kFixedN>(smem, t, st, a, wg, warp, lane, item.z, info.x, info.y);
      // Publish this expert's finished up-projection tile to the down-projection items.
      proxyFenceGlobal();
      __threadfence();
      consumersSync();
      if (tid == 0) addRelease(a.done1 + item.y, 1);
    } else {
      runItem<1, kFixedN>(smem, t, st, a, wg, warp, lane, item.z, info.x, info.y);
    }
  }
#endif
}

// ---- ffn kernel v2 (the default) ------------------------------------------------------------
// 384 threads: warpgroup 0 is the producer (one thread issues TMA, setmaxnreg gives its
// registers away), warpgroups 1 and 2 the consumers (232 registers each). An item is 256 weight
// rows (128 per consumer warpgroup, two m64 accumulators sharing one token operand) by a chunk
// of at most C tokens, computed at wgmma N = the chunk's tokens rounded up to 16 (one
// instantiation per width, all sharing one pair of accumulator arrays). A stage is one 64-wide
// k-slab: one TMA box of 256 weight rows (32 KB) and one box of exactly N token rows (a tensor
// map per width), S stages deep: S = 4 with chunks of up to 128 tokens, or S = 5 with chunks of
// up to 96 (a 5th stage fits only with the smaller token slab). Against v1 (128 weight rows,
// tokens padded to 64 or 128, ten 16-row token boxes a stage) the token operand is read from L2
// half as often and a stage needs two TMA instructions instead of twelve.
//
// The weight stream is latency-bound (RESULTS.md run 5: bandwidth follows the bytes in flight,
// and the consumers hold a stage while its wgmma runs), so the producer also keeps the L2 `ahead`
// k-slabs in front of its TMA loads with bulk prefetches, across the boundary into the next item
// (fetched from the queue `ahead` slabs before the current one ends).
constexpr int kThreads2 = 384;
constexpr int kBm2 = 256;                      // weight rows per item
constexpr int kSlabW = kBm2 * 128;             // 32768 bytes: 256 rows x 64 k
constexpr int kWidths = kNt / 16;              // token widths 16, 32, ..., 128: a tensor map each

template <int S, int C>
struct Cfg2 {
  static constexpr int kStages = S, kChunk = C;
  static constexpr int kSlabT = C * 128;       // at most C tokens x 64 k
  static constexpr int kStage = kSlabW + kSlabT;
  struct Tail {
    uint64_t full[S], empty[S], itemFull[kRing], itemEmpty[kRing];
    uint64_t sigFull[2], sigEmpty[2];  // consumers -> signaler warp: an up item's tile is stored
    uint64_t routeReady;               // fused routing: the tables below are filled
    RingEntry ring[kRing];
    // Fused routing (MOE_GROUPED_FUSE=1): per expert its count (capacity-clamped), first packed
    // row, tokens in the CTAs before this one; per work-list segment its first index and what it
    // is ((phase << 16) | expert), in list order; the list length; the grid barrier's base.
    int rCnt[kMaxFuseE], rOff[kMaxFuseE], rBef[kMaxFuseE], rSeg[2 * kMaxFuseE], rSegId[2 * kMaxFuseE];
    int rTotal, rWave;
    unsigned rBase;
    int tok[2][2][C];     // [item parity][consumer warpgroup][column]: the chunk's tokens (down, top-1)
    float gate[2][2][C];  // and gates
    int sigExpert[2];     // the expert of that up item (-1: no more)
  };
  static constexpr int kSmem = S * kStage + int(sizeof(Tail)) + 1024 /* alignment */;
};
using Cfg4 = Cfg2<4, 128>;
using Cfg5 = Cfg2<5, 96>;
static_assert(Cfg5::kSmem <= 232448, "five stages must fit in 227 KB of shared memory");
static_assert(2 * 2 * Cfg5::kChunk >= kMaxFuseT + 256, "the fused routing's scratch lives in Tail::tok and Tail::gate");

// The weights' maps are kernel parameters; the token maps, picked by a runtime width, live in
// global memory (a parameter array indexed at run time would be copied to the stack): x[w] and
// h[w] are the packed tokens and the packed hidden activation in boxes of 16 (w + 1) rows.
struct Maps2 {
  CUtensorMap w1, w2;     // weights, 256-row boxes
  CUtensorMap w2h;        // MOE_GROUPED_HALF: w2 in 128-row boxes (half down items)
};
struct TokenMaps {
  CUtensorMap x[kWidths], h[kWidths];
};

#ifdef MOE_DEVICE_SM90A
template <int S>
struct Pipe {
  uint32_t stage = 0, phase = 0;
  __device__ __forceinline__ void advance() {
    if (++stage == S) {
      stage = 0;
      phase ^= 1;
    }
  }
};

// The epilogue of one m64 accumulator: rows row0 .. row0 + 15 of this warp.
template <int Phase, int N, class Cf>
__device__ __forceinline__ void storeTile2(const float (&acc)[N / 2], typename Cf::Tail* t, const FfnArgs& a, int wg,
                                           int lane, int row0, int n, int rowBase, int buf) {
  const int dimOut = Phase == 0 ? a.dFf : a.dModel;
  if (row0 >= dimOut) return;  // a partial last tile (small test shapes): rows of the next expert
  if (Phase == 0) {
    storePairs<N>(acc, lane, [&](int c, int rp, float v0, float v1) {
      if (c < n)
        *reinterpret_cast<uint32_t*>(a.h + size_t(rowBase + c) * dimOut + row0 + rp) =
            packBf16(fmaxf(v0, 0.f), fmaxf(v1, 0.f));
    });
  } else if (a.fusedCombine) {
    const int* tok = t->tok[buf][wg];
    const float* gate = t->gate[buf][wg];
    storePairs<N>(acc, lane, [&](int c, int rp, float v0, float v1) {
      if (c < n) {
        const float g = gate[c];
        *reinterpret_cast<uint32_t*>(a.out + size_t(tok[c]) * dimOut + row0 + rp) = packBf16(g * v0, g * v1);
      }
    });
  } else {
    storePairs<N>(acc, lane, [&](int c, int rp, float v0, float v1) {
      if (c < n)
        *reinterpret_cast<uint32_t*>(a.yPacked + size_t(rowBase + c) * dimOut + row0 + rp) = packBf16(v0, v1);
    });
  }
}

// Split-K down item (MOE_GROUPED_SPLIT, top-1): part k of P = a.splitK over the d_ff slabs (the
// parts of a tile are consecutive in the work list, part P - 1 last). Parts 0 .. P - 2 store their
// fp32 accumulators in register order (float4 per thread and 4 registers: coalesced, no address
// arithmetic per register) to their slot of partials and go on: the kernel body hands the item to
// the signaler warp, which publishes it on the tile's flags (one per warpgroup,
// splitCount[wg][tile][first row]) after a GPU-scope fence, so these consumers wait for no L2
// round trip. Part P - 1 sums: one thread per warpgroup waits for its flag to reach P - 1 (the
// other parts were taken before it and run beside it) and resets it for the next launch, then the
// partials are loaded with as many loads in flight as the registers allow (none depends on another
// or on a store; runs 10-11 loaded eight registers at a time per part in a loop over the parts, with
// the address arithmetic of a row-major layout: 16-32 dependent L2 round trips per tile, +28-45 us)
// and summed in the order
// 0 .. P - 1 (its own last, from registers: the same sum on every rerun); the tile is then stored
// as the unsplit epilogue stores it. A slot: N x 256 floats of partials[k][tile] at row
// rowBase + 16 (e M + w) (M = a.splitM chunks per expert at most: the rows of a chunk padded to
// 16 never reach the next chunk's slot).
__device__ __forceinline__ size_t splitFlag(const FfnArgs& a, int wg, int m, int rowBase) {
  return (size_t(wg) * a.tiles2 + m) * a.partRows + rowBase;
}
// This thread's float4 of registers 4q .. 4q + 3 of the slot (q over both accumulators).
__device__ __forceinline__ float4* splitSlot(const FfnArgs& a, int k, int m, int slotRow) {
  const size_t blob = (size_t(k) * a.tiles2 + m) * a.splitRows + slotRow;
  return reinterpret_cast<float4*>(a.partials + blob * 256) + (threadIdx.x - 128);
}

// Parts 0 .. P - 2: the partial, stored (the release is the kernel body's, after both warpgroups).
template <int N>
__device__ __forceinline__ void splitStorePartial(const float (&acc0)[N / 2], const float (&acc1)[N / 2],
                                                  const FfnArgs& a, int m, int slotRow, int k) {
  float4* dst = splitSlot(a, k, m, slotRow);
#pragma unroll
  for (int q = 0; q < N / 8; ++q) {
    __stcg(dst + q * 256, make_float4(acc0[4 * q], acc0[4 * q + 1], acc0[4 * q + 2], acc0[4 * q + 3]));
    __stcg(dst + (N / 8 + q) * 256, make_float4(acc1[4 * q], acc1[4 * q + 1], acc1[4 * q + 2], acc1[4 * q + 3]));
  }
}

// acc[i0 .. i0 + 3] = v + acc (the other parts' sum first: the order 0 .. P - 1)
template <int R>
__device__ __forceinline__ void splitAdd4(float (&acc)[R], int i0, const float4& v) {
  acc[i0] = v.x + acc[i0];
  acc[i0 + 1] = v.y + acc[i0 + 1];
  acc[i0 + 2] = v.z + acc[i0 + 2];
  acc[i0 + 3] = v.w + acc[i0 + 3];
}
__device__ __forceinline__ float4 add4(const float4& a, const float4& b) {
  return make_float4(a.x + b.x, a.y + b.y, a.z + b.z, a.w + b.w);
}
// One accumulator (N / 2 registers; src: its first float4): 8 registers of every other part at a
// time in the source (ptxas hoists the later groups' loads as far as the registers allow: they
// depend on nothing before them).
template <int N>
__device__ __forceinline__ void splitSumAcc(float (&acc)[N / 2], const float4* src, int parts, size_t partStride) {
#pragma unroll
  for (int i0 = 0; i0 < N / 2; i0 += 8) {
    float4 v[3][2];
#pragma unroll
    for (int j = 0; j < 3; ++j)
#pragma unroll
      for (int q = 0; q < 2; ++q)
        v[j][q] = j < parts - 1 ? __ldcg(src + j * partStride + (i0 / 4 + q) * 256) : make_float4(0.f, 0.f, 0.f, 0.f);
#pragma unroll
    for (int q = 0; q < 2; ++q) {
      float4 t = v[0][q];
      if (parts > 2) t = add4(t, v[1][q]);
      if (parts > 3) t = add4(t, v[2][q]);
      splitAdd4(acc, i0 + 4 * q, t);
    }
  }
}

// Part P - 1: wait for the other parts, sum in order into acc0/acc1 (then stored as unsplit).
template <int N>
__device__ __forceinline__ void splitSum(float (&acc0)[N / 2], float (&acc1)[N / 2], const FfnArgs& a, int wg,
                                         int m, int rowBase, int slotRow) {
  const int parts = a.splitK;
  if ((threadIdx.x & 127) == 0) {
    unsigned* flag = a.splitCount + splitFlag(a, wg, m, rowBase);
    for (unsigned spins = 0; loadAcquire(flag) < unsigned(parts - 1); ++spins) {
      __nanosleep(32);
      if (spins > kSpinLimit) __trap();
    }
    *flag = 0;  // ready for the next launch (nobody else touches it in this one)
  }
  asm volatile("bar.sync %0, 128;" ::"r"(2 + wg) : "memory");
  const float4* src0 = splitSlot(a, 0, m, slotRow);
  const size_t partStride = size_t(a.tiles2) * a.splitRows * 64;  // float4s from part j to j + 1
  splitSumAcc<N>(acc0, src0, parts, partStride);
  splitSumAcc<N>(acc1, src0 + (N / 8) * 256, parts, partStride);
}

// acc0 and acc1 are the consumer's two accumulators; a width-N tile uses their first N / 2
// registers. One pair of arrays for every width: with an array per instantiation ptxas keeps
// each width's registers apart and spills.
template <int Phase, int N, class Cf, int K>
__device__ __forceinline__ void runTile2(uint8_t* smem, typename Cf::Tail* t, Pipe<Cf::kStages>& p, const FfnArgs& a,
                                         int wg, int warp, int lane, int m, int n, int rowBase, int kst, int buf,
                                         int split, float (&accA)[Cf::kChunk / 2], float (&accB)[Cf::kChunk / 2]) {
  float(&acc0)[N / 2] = *reinterpret_cast<float(*)[N / 2]>(&accA[0]);
  float(&acc1)[N / 2] = *reinterpret_cast<float(*)[N / 2]>(&accB[0]);
  // overlap (MOE_GROUPED_OVERLAP=1): one stage's wgmma group stays in flight while the next
  // stage's is issued; a stage is released once the group after it has been issued.
  const bool overlap = (K & kKnobOverlap) && a.overlap != 0;
  uint32_t prev = 0;
  for (int ks = 0; ks < kst; ++ks) {
    mbarWait(&t->full[p.stage], p.phase);
    const uint32_t base = smemAddr(smem + p.stage * Cf::kStage);
    // Phase 2 (a half down item): 128 weight rows in the stage, 64 per warpgroup, acc0 only.
    const uint32_t A = base + wg * (Phase == 2 ? 64 * 128 : 128 * 128), B = base + kSlabW;
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      Wgmma<N>::mma(acc0, smemDesc(A + kk * 32), smemDesc(B + kk * 32), (ks | kk) != 0);
      if constexpr (Phase != 2)
        Wgmma<N>::mma(acc1, smemDesc(A + 64 * 128 + kk * 32), smemDesc(B + kk * 32), (ks | kk) != 0);
    }
    wgmmaCommit();
    if (overlap) {
      asm volatile("wgmma.wait_group.sync.aligned 1;" ::: "memory");
      if (ks > 0) releaseStage(&t->empty[prev], lane);
      prev = p.stage;
    } else {
      wgmmaWaitAll();
      fenceRegs(acc0);
      if constexpr (Phase != 2) fenceRegs(acc1);
      releaseStage(&t->empty[p.stage], lane);
    }
    p.advance();
  }
  if (overlap && kst > 0) {
    wgmmaWaitAll();
    fenceRegs(acc0);
    fenceRegs(acc1);
    releaseStage(&t->empty[prev], lane);
  }
  if constexpr (Phase == 2) {
    // m = 2 (weight-row tile) + half: rows 128 half + 64 wg of the tile
    storeTile2<Phase, N, Cf>(acc0, t, a, wg, lane, (m >> 1) * kBm2 + (m & 1) * 128 + wg * 64 + 16 * warp, n,
                             rowBase, buf);
    return;
  }
  const int row0 = m * kBm2 + wg * 128 + 16 * warp;
  if constexpr (Phase == 1 && (K & kKnobSplit) != 0) {
    // split: (slot row << 3) | (part + 1), 0 when the item is not split
    if (split) {
      const int part = (split & 7) - 1, slotRow = split >> 3;
      if (part < a.splitK - 1) {
        splitStorePartial<N>(acc0, acc1, a, m, slotRow, part);
        return;
      }
      // The sum is stored here, not by the common path below: with the two paths' accumulators
      // merged into one store ptxas spilled ~350 bytes (48 this way).
      splitSum<N>(acc0, acc1, a, wg, m, rowBase, slotRow);
      storeTile2<Phase, N, Cf>(acc0, t, a, wg, lane, row0, n, rowBase, buf);
      storeTile2<Phase, N, Cf>(acc1, t, a, wg, lane, row0 + 64, n, rowBase, buf);
      return;
    }
  }
  storeTile2<Phase, N, Cf>(acc0, t, a, wg, lane, row0, n, rowBase, buf);
  storeTile2<Phase, N, Cf>(acc1, t, a, wg, lane, row0 + 64, n, rowBase, buf);
}

template <int Phase, class Cf, int K>
__device__ __forceinline__ void runItem2(uint8_t* smem, typename Cf::Tail* t, Pipe<Cf::kStages>& p, const FfnArgs& a,
                                         int wg, int warp, int lane, int m, int n, int rowBase, int kst, int buf,
                                         int split, float (&accA)[Cf::kChunk / 2], float (&accB)[Cf::kChunk / 2]) {
#define MOE_TILE(W) \
  runTile2<Phase, 16 * (W), Cf, K>(smem, t, p, a, wg, warp, lane, m, n, rowBase, kst, buf, split, accA, accB)
  switch ((a.diag & 2) ? 0 : (n + 15) >> 4) {
    case 0:  // a static item of an expert without tokens (or diagnostic 2: no wgmma, no epilogue)
      for (int ks = 0; ks < kst; ++ks) {
        mbarWait(&t->full[p.stage], p.phase);
        releaseStage(&t->empty[p.stage], lane);
        p.advance();
      }
      break;
    case 1: MOE_TILE(1); break;
    case 2: MOE_TILE(2); break;
    case 3: MOE_TILE(3); break;
    case 4: MOE_TILE(4); break;
    case 5: MOE_TILE(5); break;
    default:
      if constexpr (Cf::kChunk == 96) {
        MOE_TILE(6);
      } else {
        switch ((n + 15) >> 4) {
          case 6: MOE_TILE(6); break;
          case 7: MOE_TILE(7); break;
          default: MOE_TILE(8); break;
        }
      }
      break;
  }
#undef MOE_TILE
}

// ---- fused routing (MOE_GROUPED_FUSE=1, top-1) ------------------------------------------------
// The ffn kernel's 256 consumer threads route the layer before their main loop, while the
// producer already streams the weights of its CTA's first item (known before the routing is).
// CTA b takes tokens [b T, b T + T), T = ceil(tokens / CTAs) <= 64: a warp per token top-1 (the
// shared warpTopKBy, so the experts and gates are the top-k kernel's bit for bit), the CTA's
// counts per expert into blockCounts[b], grid barrier (every CTA is resident: one per SM), then
// every CTA sums the counts of all CTAs and of those before it (its tokens' positions, in token
// order as assignSlotsKernel gives them), builds the work list's segment table in shared memory
// (the same order as buildWorkList: the producer decodes list indices from it, no list in
// memory), hands it to the producer, writes its tokens' positions, rows, gates, copies their
// rows into the packed matrix (zeroes the output rows of dropped tokens) and arrives a second
// time on the barrier: producers wait for that second round before their first token load.
template <class Cf>
__device__ __forceinline__ void routeInKernel(typename Cf::Tail* t, const FfnArgs& a, int ctid) {
  constexpr int C = Cf::kChunk;
  const int E = a.experts, G = int(gridDim.x), b = int(blockIdx.x);
  const int T = (a.tokens + G - 1) / G, t0 = b * T, nt = min(max(a.tokens - t0, 0), T);
  const int lane = ctid & 31, cw = ctid >> 5;
  int* sEx = &t->tok[0][0][0];                                   // [kMaxFuseT]
  float* sGate = &t->gate[0][0][0];                              // [kMaxFuseT]
  int* part = &t->tok[0][0][0] + kMaxFuseT;                      // [256]
  int* partB = reinterpret_cast<int*>(&t->gate[0][0][0]) + kMaxFuseT;  // [256]
  if (ctid < 2 * kMaxFuseE) part[ctid] = 0;  // the two token warps' histograms
  {
    // Warp cw takes local tokens cw, cw + 8, ...: every logit load first, then the top-1s.
    float v[8][2], bv[2];
#pragma unroll
    for (int q = 0; q < 2; ++q) bv[q] = lane + 32 * q < E ? a.bias[lane + 32 * q] : 0.f;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int i = cw + 8 * j;
#pragma unroll
      for (int q = 0; q < 2; ++q)
        v[j][q] = i < nt && lane + 32 * q < E ? __ldcg(a.logits + size_t(t0 + i) * E + lane + 32 * q) : 0.f;
    }
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      const int i = cw + 8 * j;  // warp-uniform
      if (i < nt) {
        const float x0 = v[j][0] + bv[0], x1 = v[j][1] + bv[1];  // row[e] + bias[e], as warpTopK adds them
        int chosen[1];
        float gate[1];
        warpTopKBy<1>([&](int e) { return e < 32 ? x0 : x1; }, E, 1, lane, chosen, gate);
        if (lane == 0) {
          a.assignExpert[t0 + i] = chosen[0];
          a.assignGate[t0 + i] = gate[0];
          sEx[i] = chosen[0];
          sGate[i] = gate[0];
        }
      } else if (lane == 0) {
        sEx[i] = E;
      }
    }
  }
  consumersSync();
  // This CTA's counts, and each token's rank among the CTA's tokens of its expert.
  int ex = E, rank = 0;
  if (ctid < kMaxFuseT) {
    ex = sEx[ctid];
    const unsigned same = __match_any_sync(0xffffffffu, ex);
    rank = __popc(same & ((1u << lane) - 1u));
    if (ex < E && lane == __ffs(same) - 1) part[cw * kMaxFuseE + ex] = __popc(same);
  }
  consumersSync();
  if (cw == 1 && ex < E) rank += part[ex];
  if (ctid < E) a.blockCounts[size_t(b) * E + ctid] = part[ctid] + part[kMaxFuseE + ctid];
  if (b == 0) {
    if (ctid < E) a.done1[ctid] = 0;
    if (ctid == 0) *a.queue = 0;
  }
  consumersSync();
  if (ctid == 0) {
    __threadfence();
    const unsigned old = atomicAdd(a.barrier, 1u);
    const unsigned base = old - old % unsigned(G);  // two rounds of G per launch
    t->rBase = base;
    for (unsigned spins = 0; int(loadAcquire(a.barrier) - (base + unsigned(G))) < 0; ++spins) {
      __nanosleep(20);
      if (spins > kSpinLimit) __trap();
    }
  }
  consumersSync();
  // Every CTA's counts: the totals and the sums over the CTAs before this one.
  const int parts = 256 / E;
  if (ctid < parts * E) {
    const int e = ctid % E, p = ctid / E;
    int tot = 0, bef = 0;
    // Every load in flight before the first add: one L2 round trip for 132 CTAs and 64 experts
    // (4 at a time was ~9 dependent round trips, several us).
    constexpr int kB = 34;
    for (int bb0 = p; bb0 < G; bb0 += kB * parts) {
      int v[kB];
#pragma unroll
      for (int j = 0; j < kB; ++j) {
        const int bb = bb0 + j * parts;
        v[j] = bb < G ? __ldcg(a.blockCounts + size_t(bb) * E + e) : 0;
      }
#pragma unroll
      for (int j = 0; j < kB; ++j) {
        tot += v[j];
        bef += bb0 + j * parts < b ? v[j] : 0;
      }
    }
    part[p * E + e] = tot;
    partB[p * E + e] = bef;
  }
  consumersSync();
  if (ctid < E) {
    int tot = 0, bef = 0;
    for (int p = 0; p < parts; ++p) {
      tot += part[p * E + ctid];
      bef += partB[p * E + ctid];
    }
    t->rCnt[ctid] = min(tot, a.capacity);
    t->rBef[ctid] = bef;
  }
  const auto downItems = [&](int e) {
    return a.tiles2 * ((t->rCnt[e] + C - 1) / C) * (a.splitK > 1 && e >= E - a.splitTail ? a.splitK : 1);
  };
  if (a.waveItems > 0) {
    consumersSync();
    if (ctid < 32) {
      const int w = waveStart(downItems, E, a.waveItems, lane);
      if (lane == 0) t->rWave = w;
    }
  } else if (ctid == 0) {
    t->rWave = E;
  }
  consumersSync();
  if (ctid < E) {
    const int c = t->rCnt[ctid], tt = (c + C - 1) / C, W = t->rWave;
    const int st = min(max(a.staticItems - ctid * a.tiles1, 0), a.tiles1);
    const int lag = a.lag < 0 ? E : min(a.lag, E);
    const int su = segUp(ctid, E, lag, W), sd = segDown(ctid, E, lag, W);
    t->rSeg[su] = c > 0 ? a.tiles1 * tt - st : 0;
    t->rSegId[su] = ctid;
    t->rSeg[sd] = downItems(ctid);
    t->rSegId[sd] = (1 << 16) | ctid;
  }
  consumersSync();
  if (ctid < 32) {
    int carry = 0;
    for (int s0 = 0; s0 < E; s0 += 32) {
      const int e = s0 + lane, v = e < E ? t->rCnt[e] : 0;
      int incl = v;
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += u;
      }
      if (e < E) t->rOff[e] = carry + incl - v;
      carry += __shfl_sync(0xffffffffu, incl, 31);
    }
    carry = a.staticItems;
    for (int s0 = 0; s0 < 2 * E; s0 += 32) {
      const int i = s0 + lane, v = i < 2 * E ? t->rSeg[i] : 0;
      int incl = v;
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += u;
      }
      if (i < 2 * E) t->rSeg[i] = carry + incl - v;
      carry += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0) t->rTotal = carry;
  }
  consumersSync();
  if (ctid == 0) mbarArrive(&t->routeReady);  // the producer may take work items now
  if (b == 0 && ctid < E) {
    a.countsOut[ctid] = t->rCnt[ctid];
    a.offsetsOut[ctid] = t->rOff[ctid];
  }
  // This CTA's tokens: position, packed row, token and gate of the row.
  int* sRow = part;
  if (ctid < kMaxFuseT) {
    int row = -1;
    if (ctid < nt) {
      const int tok = t0 + ctid, pos = t->rBef[ex] + rank;
      const bool kept = pos < a.capacity;
      row = kept ? t->rOff[ex] + pos : -1;
      a.assignPos[tok] = kept ? pos : -1;
      a.rowOf[tok] = row;
      if (kept) {
        a.tokenOfW[row] = tok;
        a.gateOfW[row] = sGate[ctid];
      }
    }
    sRow[ctid] = row;
  }
  consumersSync();
  const int vecs = a.dModel / 8, total = nt * vecs;
  constexpr int kCopy = 8;
  for (int q0 = ctid; q0 < total; q0 += kCopy * 256) {
    uint4 v[kCopy];
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * 256, r = q / vecs, c = q % vecs;
      const int row = q < total ? sRow[r] : -1;
      v[u] = row >= 0 ? reinterpret_cast<const uint4*>(a.x)[size_t(t0 + r) * vecs + c] : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * 256, r = q / vecs, c = q % vecs;
      if (q >= total) continue;
      const int row = sRow[r];
      if (row >= 0) reinterpret_cast<uint4*>(a.xPacked)[size_t(row) * vecs + c] = v[u];
      else reinterpret_cast<uint4*>(a.out)[size_t(t0 + r) * vecs + c] = v[u];  // zeroes: dropped
    }
  }
  // The rows are read by other CTAs' TMA loads (the async proxy).
  proxyFenceGlobal();
  __threadfence();
  consumersSync();
  if (ctid == 0) addRelease(a.barrier, 1u);
}
#endif  // MOE_DEVICE_SM90A

template <class Cf, int K>
__global__ void __launch_bounds__(kThreads2, 1) ffnKernel2(const __grid_constant__ Maps2 maps, const FfnArgs a) {
#ifdef MOE_DEVICE_SM90A
  constexpr int S = Cf::kStages, C = Cf::kChunk;
  using Tail = typename Cf::Tail;
  extern __shared__ uint8_t rawSmem[];
  uint8_t* smem = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(rawSmem) + 1023) & ~uintptr_t(1023));
  Tail* t = reinterpret_cast<Tail*>(smem + S * Cf::kStage);
  const int tid = threadIdx.x, warpIdx = tid / 32, lane = tid % 32;
  if (tid == 0) {
    for (int s = 0; s < S; ++s) {
      mbarInit(&t->full[s], 1);
      mbarInit(&t->empty[s], 8);  // one arrive per consumer warp
    }
    for (int r = 0; r < kRing; ++r) {
      mbarInit(&t->itemFull[r], 1);
      mbarInit(&t->itemEmpty[r], 256);  // every consumer thread has read the entry
    }
    for (int r = 0; r < 2; ++r) {
      mbarInit(&t->sigFull[r], 256);
      mbarInit(&t->sigEmpty[r], 1);
    }
    if (K & kKnobFuse) mbarInit(&t->routeReady, 1);
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
  }
  __syncthreads();

  const int kst1 = a.dModel / 64, kst2 = a.dFf / 64;  // k-slabs per item
  if (warpIdx < 4) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;");
    if (tid == 32 && a.signalWarp) {
      // ---- signaler (MOE_GROUPED_SIGNAL=1) ----
      // Publishes each finished up item to the down items (of any CTA) waiting on its expert's
      // counter, so that the consumers never wait for their own H stores to reach the L2: they
      // hand the item over with an mbarrier arrive (release, CTA scope) and go on; this thread
      // acquires it, fences at GPU scope (cumulative over what it acquired) and releases the count.
      for (uint32_t u = 0;; ++u) {
        const int slot = u & 1;
        mbarWait(&t->sigFull[slot], (u >> 1) & 1);
        const int e = *reinterpret_cast<volatile int*>(&t->sigExpert[slot]);
        if (e == -1) break;
        __threadfence();
        proxyFenceGlobal();
        if constexpr ((K & kKnobSplit) != 0) {
          if (e <= -2) {  // a split-K part's partials are stored: its tile's flags (both warpgroups)
            const size_t f = size_t(-2 - e);
            addRelease(a.splitCount + f, 1);
            addRelease(a.splitCount + size_t(a.tiles2) * a.partRows + f, 1);
          } else {
            addRelease(a.done1 + e, 1);
          }
        } else {
          addRelease(a.done1 + e, 1);
        }
        mbarArrive(&t->sigEmpty[slot]);
      }
      return;
    }
    if (tid != 0) return;
    // ---- producer ----
    unsigned long long* const times = (K & kKnobTimes) ? a.times : nullptr;
    stamp(times, 0);
    const uint64_t policy = evictFirstPolicy();
    Pipe<S> p;
    unsigned long long slabs = 0, depWait = 0;  // MOE_GROUPED_TIMES: k-slabs, ns waiting for up items
    int prefetched = 0;
    const int ahead = a.ahead;
    const bool hasStatic = int(blockIdx.x) < a.staticItems;
    int4 cur = make_int4(0, int(blockIdx.x) / a.tiles1, int(blockIdx.x) % a.tiles1, 0);
    // TMA coordinates of k-slab ks of weight tile z of expert e (phase 0: W1, 1: W2): row-major
    // [E x rows][K] (64 k at e rows + 256 z), or with MOE_GROUPED_PACKED each (tile, slab) box is a
    // contiguous 32 KB block of a [E][tiles][K / 64][256][64] copy.
    auto wCoord = [&](int phase, int e, int z, int ks) {
      if constexpr ((K & kKnobHalf) != 0) {
        if (phase == 2) {  // a half down item: z = 2 (tile) + half; a 128-row box
          if (a.packed) return make_int2(0, ((e * a.tiles2 + (z >> 1)) * kst2 + ks) * kBm2 + (z & 1) * 128);
          return make_int2(ks * 64, e * a.dModel + (z >> 1) * kBm2 + (z & 1) * 128);
        }
      }
      if (a.packed)
        return make_int2(0, ((e * (phase == 0 ? a.tiles1 : a.tiles2) + z) * (phase == 0 ? kst1 : kst2) + ks) * kBm2);
      return make_int2(ks * 64, e * (phase == 0 ? a.dFf : a.dModel) + z * kBm2);
    };
    if (hasStatic) {
      // The first item is known before the routing is: start streaming its weights now.
      prefetched = kst1 < S ? kst1 : S;
      // Fused routing: fewer stages in flight while the consumers route (MOE_GROUPED_STATIC_STAGES;
      // run 13: with all five the routing's round trips queue behind 21 MB of weight loads, ~24 us).
      if constexpr ((K & kKnobFuse) != 0)
        if (a.fuse && a.staticStages >= 0 && a.staticStages < prefetched) prefetched = a.staticStages;
      for (int s = 0; s < prefetched; ++s) {
        mbarExpectTx(&t->full[s], kSlabW);
        const int2 c = wCoord(0, cur.y, cur.z, s);
        tmaLoad(smem + s * Cf::kStage, &maps.w1, c.x, c.y, &t->full[s], policy, a.evictFirst != 0);
      }
      for (int s = prefetched; s < prefetched + max(a.prefetch, ahead) && s < kst1; ++s) {
        const int2 c = wCoord(0, cur.y, cur.z, s);
        tmaPrefetchL2(&maps.w1, c.x, c.y);
      }
    }
    // Fused routing: the consumers fill the tables (the producer reads nothing the kernels
    // before wrote); else the work list and counts come from the route or pack kernel.
    const bool fused = (K & kKnobFuse) && a.fuse != 0;
    if (fused) {
      mbarWait(&t->routeReady, 0);
    } else if (a.ready) {
      // MOE_GROUPED_FLAGWAIT: every route block has written its rows and block 0 the list (the
      // grid's completion comes ~3 us after its last block's stores, run 15's stamps).
      for (unsigned spins = 0; int(loadAcquire(a.ready) - a.readyTarget) < 0; ++spins) {
        __nanosleep(32);
        if (spins > kSpinLimit) __trap();
      }
      proxyFenceGlobal();
    } else {
      asm volatile("griddepcontrol.wait;" ::: "memory");
    }
    bool rowsCopied = !fused;
    stamp(times, 1);
    if (!fused) stamp(times, 2);
    const int total = fused ? t->rTotal : *a.listTotal;
    // List index -> item, from the segment table (the order buildWorkList writes).
    auto decode = [&](int idx) {
      int lo = 0, hi = 2 * a.experts;
      while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (t->rSeg[mid] <= idx) lo = mid + 1;
        else hi = mid;
      }
      const int s = lo - 1, id = t->rSegId[s], e = id & 0xffff;
      int j = idx - t->rSeg[s];
      const int tt = (t->rCnt[e] + C - 1) / C;
      if (id >> 16) {
        const int parts = (K & kKnobSplit) && a.splitK > 1 && e >= a.experts - a.splitTail ? a.splitK : 1, r = j % (tt * parts);
        return make_int4(1, e, j / (tt * parts), r / parts + 256 * (r % parts));
      }
      const int st = min(max(a.staticItems - e * a.tiles1, 0), a.tiles1), first = st * (tt - 1);
      if (j < first) return make_int4(0, e, j / (tt - 1), 1 + j % (tt - 1));
      j -= first;
      return make_int4(0, e, st + j / tt, j % tt);
    };
    auto fetch = [&]() {
      const int idx = a.staticItems + atomicAdd(a.queue, 1);
      return idx < total ? (fused ? decode(idx) : a.list[idx]) : make_int4(-1, 0, 0, 0);
    };
    if (!hasStatic) cur = fetch();
    for (uint32_t r = 0;; ++r) {
      const int4 item = cur;
      int n = 0, rowBase = 0, count = 0, kst = 0, ks0 = 0, split = 0;
      if (item.x >= 0) {
        count = fused ? t->rCnt[item.y] : a.counts[item.y];
        const int w = (K & kKnobSplit) ? item.w & 255 : item.w;  // token chunk; a split-K down item has its part in item.w >> 8
        n = min(max(count - w * C, 0), C);
        rowBase = (fused ? t->rOff[item.y] : a.offsets[item.y]) + w * C;
        kst = n == 0 ? prefetched : (item.x == 0 ? kst1 : kst2);
        if ((K & kKnobSplit) && item.x == 1 && a.splitK > 1 && item.y >= a.experts - a.splitTail) {
          kst = kst2 / a.splitK;
          ks0 = (item.w >> 8) * kst;
          split = (item.w >> 8) + 1;
        }
      }
      {
        const int slot = r % kRing;
        mbarWait(&t->itemEmpty[slot], ((r / kRing) & 1) ^ 1);
        t->ring[slot].item = item;
        t->ring[slot].info = make_int4(n, rowBase, kst, split);
        mbarArrive(&t->itemFull[slot]);
      }
      if (item.x < 0) {
        stamp(times, 3);
        if (times) {
          times[blockIdx.x * kTimeSlots + 7] = slabs;
          times[blockIdx.x * kTimeSlots + 8] = depWait;
        }
        break;
      }
      if (K & kKnobTimes) {
        slabs += kst;
        stamp(times, 9);  // the last one stays: when this CTA's last item began, and what it was
        if (times) times[blockIdx.x * kTimeSlots + 10] = (item.x != 0 ? 1000u : 0u) + (split ? 10000u : 0u) + kst;
      }
      const int chunks = (count + C - 1) / C;
      if ((K & kKnobHalf) ? item.x != 0 : item.x == 1) {
        const unsigned need = unsigned(a.tiles1 * max(1, chunks));
        const unsigned long long w0 = (K & kKnobTimes) ? globalTimer() : 0ull;
        for (unsigned spins = 0; loadAcquire(a.done1 + item.y) < need; ++spins) {
          __nanosleep(64);
          if (spins > kSpinLimit) __trap();
        }
        if (K & kKnobTimes) depWait += globalTimer() - w0;
        proxyFenceGlobal();
      }
      // Evict-first only where nobody else reads the tile: an expert with several token chunks
      // has its weight tile read once per chunk, by CTAs running side by side.
      const bool hint = a.evictFirst != 0 && chunks <= 1;
      const CUtensorMap* mw = item.x == 0 ? &maps.w1 : ((K & kKnobHalf) && item.x == 2) ? &maps.w2h : &maps.w2;
      const unsigned wBytes = ((K & kKnobHalf) && item.x == 2) ? unsigned(kSlabW / 2) : unsigned(kSlabW);
      const int width = (n + 15) >> 4;
      const TokenMaps* tm = static_cast<const TokenMaps*>(a.tokenMaps);
      const CUtensorMap* mb = width == 0 ? nullptr : (item.x == 0 ? &tm->x[width - 1] : &tm->h[width - 1]);
      const unsigned bBytes = (a.diag & 1) ? 0u : unsigned(width * 16 * 128);
      if ((K & kKnobFuse) && !rowsCopied && kst > 0 && bBytes) {
        // Fused routing: every CTA's packed rows are written (the barrier's second round).
        const unsigned target = t->rBase + 2u * gridDim.x;
        for (unsigned spins = 0; int(loadAcquire(a.barrier) - target) < 0; ++spins) {
          __nanosleep(32);
          if (spins > kSpinLimit) __trap();
        }
        proxyFenceGlobal();
        rowsCopied = true;
        stamp(times, 2);
      }
      bool haveNext = false;
      int4 next = make_int4(-1, 0, 0, 0);
      for (int ks = 0; ks < kst; ++ks, p.advance()) {
        uint8_t* A = smem + p.stage * Cf::kStage;
        if (ks < prefetched) {
          if (bBytes) mbarArriveExpectTx(&t->full[p.stage], bBytes);
          else mbarArrive(&t->full[p.stage]);
        } else {
          mbarWait(&t->empty[p.stage], p.phase ^ 1);
          mbarArriveExpectTx(&t->full[p.stage], wBytes + bBytes);
          const int2 c = wCoord(item.x, item.y, item.z, ks0 + ks);
          tmaLoad(A, mw, c.x, c.y, &t->full[p.stage], policy, hint);
        }
        if (bBytes) tmaLoad(A + kSlabW, mb, (ks0 + ks) * 64, rowBase, &t->full[p.stage], 0, false);
        if (ahead > 0) {
          // Keep the L2 `ahead` slabs in front: this item's, then the next one's.
          if (!haveNext && ks + ahead >= kst) {
            next = fetch();
            haveNext = true;
          }
          const int g = ks + ahead;
          if (g < kst) {
            const int2 c = wCoord(item.x, item.y, item.z, ks0 + g);
            if (n > 0) tmaPrefetchL2(mw, c.x, c.y);
          } else if (next.x >= 0 && g - kst < (next.x == 0 ? kst1 : kst2)) {
            const int2 c = wCoord(next.x, next.y, next.z, g - kst);
            tmaPrefetchL2(next.x == 0 ? &maps.w1 : &maps.w2, c.x, c.y);
          }
        }
      }
      prefetched = 0;
      cur = haveNext ? next : fetch();
    }
    return;
  }

  // ---- consumers ----
  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;");
  // (MOE_GROUPED_FLAGWAIT: the consumers take nothing the route kernel wrote but through the
  // producer's items, which it hands over after its acquire of the route blocks' arrivals.)
  if (!a.ready) asm volatile("griddepcontrol.wait;" ::: "memory");
  const int wg = warpIdx / 4 - 1, warp = warpIdx % 4, ctid = tid - 128;
  unsigned long long* const times = (K & kKnobTimes) ? a.times : nullptr;
  if (ctid == 0) stamp(times, 5);
  if constexpr ((K & kKnobFuse) != 0) {
    if (a.fuse) routeInKernel<Cf>(t, a, ctid);
  }
  if (ctid == 0) stamp(times, 6);
  Pipe<S> p;
  float accA[C / 2], accB[C / 2];
  uint32_t ups = 0;  // up items handed to the signaler
  auto handOver = [&](int expert) {
    const int slot = ups & 1;
    mbarWait(&t->sigEmpty[slot], ((ups >> 1) & 1) ^ 1);
    proxyFenceGlobal();
    if (ctid == 0) *reinterpret_cast<volatile int*>(&t->sigExpert[slot]) = expert;
    mbarArrive(&t->sigFull[slot]);
    ++ups;
  };
  for (uint32_t r = 0;; ++r) {
    const int slot = r % kRing;
    mbarWait(&t->itemFull[slot], (r / kRing) & 1);
    const int4 item = t->ring[slot].item;
    const int4 info = t->ring[slot].info;
    mbarArrive(&t->itemEmpty[slot]);
    if (item.x < 0) {
      if (a.signalWarp) handOver(-1);
      if (ctid == 0) stamp(times, 4);
      break;
    }
    const int buf = r & 1;
    if (item.x == 0) {
      runItem2<0, Cf, K>(smem, t, p, a, wg, warp, lane, item.z, info.x, info.y, info.z, buf, 0, accA, accB);
      // Publish this expert's finished up-projection tile to the down-projection items.
      if (a.signalWarp) {
        handOver(item.y);
      } else {
        proxyFenceGlobal();
        __threadfence();
        consumersSync();
        if (ctid == 0) addRelease(a.done1 + item.y, 1);
      }
    } else {
      if (a.fusedCombine) {
        // The chunk's tokens and gates, for the scatter: loaded now, used after the main loop
        // (this warpgroup has left the items before: the buffer of two items ago is free).
        asm volatile("bar.sync %0, 128;" ::"r"(2 + wg) : "memory");
        const int c = ctid & 127;
        if (c < info.x) {
          if constexpr ((K & kKnobFuse) != 0) {
            t->tok[buf][wg][c] = __ldcg(a.tokenOf + info.y + c);  // written by other CTAs when routing is fused
            t->gate[buf][wg][c] = __ldcg(a.gateOf + info.y + c);
          } else {
            t->tok[buf][wg][c] = a.tokenOf[info.y + c];
            t->gate[buf][wg][c] = a.gateOf[info.y + c];
          }
        }
        asm volatile("bar.sync %0, 128;" ::"r"(2 + wg) : "memory");
      }
      const int split = (K & kKnobSplit) && info.w > 0
                            ? ((info.y + 16 * (item.y * a.splitM + (item.w & 255))) << 3) | info.w
                            : 0;
      if constexpr ((K & kKnobHalf) != 0) {
        if (item.x == 2)
          runItem2<2, Cf, K>(smem, t, p, a, wg, warp, lane, item.z, info.x, info.y, info.z, buf, 0, accA, accB);
        else
          runItem2<1, Cf, K>(smem, t, p, a, wg, warp, lane, item.z, info.x, info.y, info.z, buf, split, accA, accB);
      } else {
        runItem2<1, Cf, K>(smem, t, p, a, wg, warp, lane, item.z, info.x, info.y, info.z, buf, split, accA, accB);
      }
      if constexpr ((K & kKnobSplit) != 0) {
        if (info.w > 0 && info.w < a.splitK && info.x > 0 && !(a.diag & 2)) {
          // A split-K part other than the last: its partials are stored; publish them.
          const int f = int(splitFlag(a, 0, item.z, info.y));
          if (a.signalWarp) {
            handOver(-2 - f);
          } else {
            __threadfence();
            consumersSync();
            if (ctid == 0) {
              addRelease(a.splitCount + f, 1);
              addRelease(a.splitCount + size_t(a.tiles2) * a.partRows + f, 1);
            }
          }
        }
      }
    }
  }
#endif
}

// ---- pack -----------------------------------------------------------------------------------
// One block per 32 consecutive assignments (a warp's worth). Every block histograms all
// assignments by expert (the counts before its chunk give its assignments' positions: the same
// positions as assignSlotsKernel, in assignment order) and then, for its own 32, writes the
// position, the packed row, the row's token and gate, and copies the 32 token rows (or zeroes a
// dropped top-1 token's output row). Work is spread by assignment, not by expert, so a skewed
// routing costs the same. Block 0 also writes the counts, offsets and the ffn work list, and
// resets the ffn's counters.
constexpr int kChunk = 32;
constexpr int kPackThreads = 256;

struct PackArgs {
  const int* assignExpert;
  const float* assignGate;
  const bf16* x;
  int tokens, assignments, experts, capacity, dModel, topk;
  int tiles1, tiles2, staticItems, lag, chunk, splitK, splitTail, waveItems;
  int halfTail;  // MOE_GROUPED_HALF: the last halfTail experts' down items in 128-row halves (phase 2)
  int halfMaxN;  // MOE_GROUPED_HALF_N: and those of every expert with 1 .. halfMaxN tokens (0: none)
  int* assignPos;
  int* expertCount;
  int* rowOf;
  int* offsets;
  int* tokenOf;
  float* gateOf;
  bf16* xPacked;
  bf16* out;
  int4* list;
  int* listTotal;
  int* queue;
  unsigned* done1;
};

// Block 0 of pack (and of the fused route kernel): the counts, offsets and counters, and the
// ffn work list. histAll: assignments per expert; offs: first packed row of each expert; seg:
// 2E ints of scratch; all in shared memory.
// [0, staticItems): up items (i / tiles1, i % tiles1, token tile 0), one per CTA, known before
// the routing. Then, per expert in order, its remaining up items (token tile innermost, so the
// CTAs reading one weight tile run together) and, lag experts later, its down items (with
// MOE_GROUPED_HALF, those of the last halfTail experts, and with MOE_GROUPED_HALF_N those of every
// expert with at most halfMaxN tokens, as (2, e, 2 tile + half, chunk): 128 weight rows each, half
// the bytes of a down item, for a shorter tail). Segment
// sizes go into list order (segUp, segDown)
// and one warp scans them: no serial loop over the experts.
template <typename A>
__device__ void buildWorkList(const A& a, const int* histAll, const int* offs, int* seg) {
  const int E = a.experts, tid = threadIdx.x, lane = tid & 31;
  const int lag = a.lag < 0 ? E : min(a.lag, E);
  const auto halved = [&](int e) {
    return e >= E - a.halfTail || (a.halfMaxN > 0 && min(histAll[e], a.capacity) <= a.halfMaxN);
  };
  const auto downItems = [&](int e) {
    return a.tiles2 * ((min(histAll[e], a.capacity) + a.chunk - 1) / a.chunk) *
           (a.splitK > 1 && e >= E - a.splitTail ? a.splitK : 1) * (halved(e) ? 2 : 1);
  };
  __shared__ int sWave, sTotal;
  __shared__ int sSegId[kMaxListSegs];  // per segment in list order: (phase << 16) | expert
  if (tid < 32) {
    const int w = waveStart(downItems, E, a.waveItems, lane);
    if (lane == 0) sWave = w;
  }
  __syncthreads();
  const int W = sWave;
  for (int e = tid; e < E; e += blockDim.x) {
    const int c = min(histAll[e], a.capacity), tt = (c + a.chunk - 1) / a.chunk;
    const int st = min(max(a.staticItems - e * a.tiles1, 0), a.tiles1);
    a.expertCount[e] = c;
    a.offsets[e] = offs[e];
    a.done1[e] = 0;
    // An expert with no tokens has no items, except the static ones (drained, not computed).
    seg[segUp(e, E, lag, W)] = c > 0 ? a.tiles1 * tt - st : 0;
    seg[segDown(e, E, lag, W)] = downItems(e);
    if (2 * E <= kMaxListSegs) {
      sSegId[segUp(e, E, lag, W)] = e;
      sSegId[segDown(e, E, lag, W)] = (1 << 16) | e;
    }
  }
  __syncthreads();
  if (tid < 32) {
    int carry = a.staticItems;
    for (int b = 0; b < 2 * E; b += 32) {
      const int i = b + lane;
      const int v = i < 2 * E ? seg[i] : 0;
      int incl = v;
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += u;
      }
      if (i < 2 * E) seg[i] = carry + incl - v;
      carry += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0) {
      *a.listTotal = carry;
      *a.queue = 0;
      sTotal = carry;
    }
  }
  __syncthreads();
  for (int i = tid; i < a.staticItems; i += blockDim.x) a.list[i] = make_int4(0, i / a.tiles1, i % a.tiles1, 0);
  if (2 * E <= kMaxListSegs) {
    // Every thread of the block writes list entries: entry idx decoded from the segment table
    // (the last segment starting at or before idx; the order of the serial loop below). Run 15's
    // stamps: block 0 took ~5 us (6 on Zipf) for the serial loop, 64 threads writing 15-105
    // entries each, on the route kernel's critical path.
    for (int idx = a.staticItems + tid; idx < sTotal; idx += blockDim.x) {
      int lo = 0, hi = 2 * E;
      while (lo < hi) {
        const int mid = (lo + hi) >> 1;
        if (seg[mid] <= idx) lo = mid + 1;
        else hi = mid;
      }
      const int sg = lo - 1, id = sSegId[sg], x = id & 0xffff;
      int j = idx - seg[sg];
      const int c = min(histAll[x], a.capacity), tt = (c + a.chunk - 1) / a.chunk;
      int4 item;
      if (id >> 16) {
        const int parts = a.splitK > 1 && x >= E - a.splitTail ? a.splitK : 1, r = j % (tt * parts);
        item = halved(x) ? make_int4(2, x, j / tt, j % tt)
                                   : make_int4(1, x, j / (tt * parts), r / parts + 256 * (r % parts));
      } else {
        const int st = min(max(a.staticItems - x * a.tiles1, 0), a.tiles1), first = st * (tt - 1);
        if (j < first) {
          item = make_int4(0, x, j / (tt - 1), 1 + j % (tt - 1));
        } else {
          j -= first;
          item = make_int4(0, x, st + j / tt, j % tt);
        }
      }
      a.list[idx] = item;
    }
    return;
  }
  for (int x = tid; x < E; x += blockDim.x) {
    const int c = min(histAll[x], a.capacity);
    const int tt = (c + a.chunk - 1) / a.chunk;
    const int st = min(max(a.staticItems - x * a.tiles1, 0), a.tiles1);
    int p = seg[segUp(x, E, lag, W)];
    if (c > 0)
      for (int m = 0; m < a.tiles1; ++m)
        for (int w = 0; w < tt; ++w)
          if (!(w == 0 && m < st)) a.list[p++] = make_int4(0, x, m, w);
    p = seg[segDown(x, E, lag, W)];
    const int parts = a.splitK > 1 && x >= E - a.splitTail ? a.splitK : 1;
    if (halved(x)) {
      for (int m = 0; m < 2 * a.tiles2; ++m)
        for (int w = 0; w < tt; ++w) a.list[p++] = make_int4(2, x, m, w);
      continue;
    }
    for (int m = 0; m < a.tiles2; ++m)
      for (int w = 0; w < tt; ++w)
        for (int k = 0; k < parts; ++k) a.list[p++] = make_int4(1, x, m, w + 256 * k);
  }
}

__global__ void __launch_bounds__(kPackThreads) packKernel(const PackArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  extern __shared__ int shm[];
  const int E = a.experts;
  int* histAll = shm;          // [E] assignments per expert
  int* histBefore = shm + E;   // [E] of them before this block's chunk
  int* offs = shm + 2 * E;     // [E] first packed row of each expert
  int* seg = shm + 3 * E;      // [2E] block 0: list positions of each expert's up and down items
  __shared__ int srcTok[kChunk], dstRow[kChunk];
  const int tid = threadIdx.x, lane = tid & 31;
  const int chunkStart = blockIdx.x * kChunk;
  for (int i = tid; i < 2 * E; i += blockDim.x) shm[i] = 0;
  __syncthreads();
  // Eight loads in flight per thread before any use (the loop is latency-bound otherwise).
  constexpr int kBatch = 8;
  for (int base = 0; base < a.assignments; base += kBatch * kPackThreads) {
    int ex[kBatch];
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int i = base + u * kPackThreads + tid;
      ex[u] = i < a.assignments ? a.assignExpert[i] : E;
    }
#pragma unroll
    for (int u = 0; u < kBatch; ++u) {
      const int i = base + u * kPackThreads + tid;
      const unsigned same = __match_any_sync(0xffffffffu, ex[u]);
      if (ex[u] < E && lane == __ffs(same) - 1) {
        atomicAdd(&histAll[ex[u]], __popc(same));
        if (i < chunkStart) atomicAdd(&histBefore[ex[u]], __popc(same));  // warp-uniform: chunks are 32-aligned
      }
    }
  }
  __syncthreads();
  if (tid < 32) {
    int carry = 0;
    for (int b = 0; b < E; b += 32) {
      const int e = b + lane;
      const int v = e < E ? min(histAll[e], a.capacity) : 0;
      int incl = v;
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += u;
      }
      if (e < E) offs[e] = carry + incl - v;
      carry += __shfl_sync(0xffffffffu, incl, 31);
    }
    const int i = chunkStart + lane;
    const bool valid = i < a.assignments;
    const int ex = valid ? a.assignExpert[i] : E;
    const unsigned same = __match_any_sync(0xffffffffu, ex);
    const int pos = valid ? histBefore[ex] + __popc(same & ((1u << lane) - 1u)) : -1;
    const bool kept = valid && pos < a.capacity;
    const int row = kept ? offs[ex] + pos : -1;
    srcTok[lane] = valid ? i % a.tokens : -1;
    dstRow[lane] = row;
    if (valid) {
      a.assignPos[i] = kept ? pos : -1;
      a.rowOf[i] = row;
      if (kept) {
        a.tokenOf[row] = i % a.tokens;
        a.gateOf[row] = a.assignGate[i];
      }
    }
  }
  __syncthreads();
  const int vecs = a.dModel / 8;  // 16-byte pieces of a row
  // Twelve 16-byte loads a thread at switch-base-64: all in flight before the first store.
  constexpr int kCopy = 12;
  for (int q0 = tid; q0 < kChunk * vecs; q0 += kCopy * kPackThreads) {
    uint4 v[kCopy];
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * kPackThreads, r = q / vecs, c = q % vecs;
      const int tok = q < kChunk * vecs ? srcTok[r] : -1, row = q < kChunk * vecs ? dstRow[r] : -1;
      v[u] = row >= 0 ? reinterpret_cast<const uint4*>(a.x)[size_t(tok) * vecs + c] : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * kPackThreads, r = q / vecs, c = q % vecs;
      if (q >= kChunk * vecs) continue;
      const int tok = srcTok[r], row = dstRow[r];
      if (row >= 0) reinterpret_cast<uint4*>(a.xPacked)[size_t(row) * vecs + c] = v[u];
      else if (tok >= 0 && a.topk == 1) reinterpret_cast<uint4*>(a.out)[size_t(tok) * vecs + c] = v[u];  // zeroes
    }
  }
  if (blockIdx.x != 0) return;
  buildWorkList(a, histAll, offs, seg);
}

// ---- route: top-k and pack in one kernel (top-1) ----------------------------------------------
// A warp per token computes its expert and gate (warpTopK, the same code as the top-k kernel of
// the other modes); a block of 32 tokens histograms its choices into blockCounts; a grid-wide
// barrier (every block is resident: 32 warps a block, one block per SM, launched before the ffn
// kernel may start) and then each block sums the counts of the blocks before it (its tokens'
// positions, in token order as assignSlotsKernel gives them) and of all blocks (the offsets),
// writes its tokens' rows and copies them. Block 0 writes the work list. Replaces the top-k
// launch, pack's launch and the 128 redundant full histograms of pack.
constexpr int kRouteWarps = 32;

struct RouteArgs {
  const float* logits;
  const float* bias;
  const bf16* x;
  int tokens, experts, capacity, dModel;
  int tiles1, tiles2, staticItems, lag, chunk, splitK, splitTail, waveItems;
  int halfTail, halfMaxN;  // MOE_GROUPED_HALF, MOE_GROUPED_HALF_N (see PackArgs)
  int* assignExpert;
  float* assignGate;
  int* assignPos;
  int* expertCount;
  int* rowOf;
  int* offsets;
  int* tokenOf;
  float* gateOf;
  bf16* xPacked;
  bf16* out;
  int4* list;
  int* listTotal;
  int* queue;
  unsigned* done1;
  int* blockCounts;   // [blocks][experts]
  unsigned* barrier;  // grid barrier: counts arrivals forever (generation = value / blocks)
  unsigned* ready;    // MOE_GROUPED_FLAGWAIT: each block adds 1 when its rows (block 0: and the list) are written
  unsigned long long* times;  // MOE_GROUPED_TIMES (routePackKernel): per block, globaltimer at 0 start,
                              // 1 top-1 chosen, 2 counts summed (the grid barrier), 3 rows copied, 4 list built
};

// MOE_GROUPED_FLAGWAIT: this block's writes are done; the ffn kernel's producers wait for every
// block's arrival on a.ready instead of the route grid's completion (griddepcontrol.wait).
__device__ __forceinline__ void routeArrive(const RouteArgs& a) {
  if (!a.ready) return;
  __syncthreads();
  if (threadIdx.x == 0) {
    __threadfence();
    atomicAdd(a.ready, 1u);
  }
}
// MOE_GROUPED_TIMES: slot i of this route block's record (thread 0; null: off).
__device__ __forceinline__ void routeStamp(const RouteArgs& a, int i) {
  if (a.times && threadIdx.x == 0) {
    unsigned long long v;
    asm volatile("mov.u64 %0, %globaltimer;" : "=l"(v));
    a.times[blockIdx.x * 8 + i] = v;
  }
}

// The route kernels' grid-wide count step: this block's counts per expert (histAll, in shared
// memory) go to blockCounts, a grid barrier (every block is resident), then every block sums all
// blocks' counts (histAll: the totals) and those of the blocks before it (histBefore). partTot and
// partBef: [parts][E] of scratch, parts = blockDim.x / E partial sums per expert.
__device__ __forceinline__ void routeCountSums(const RouteArgs& a, int* histAll, int* histBefore, int* partTot,
                                               int* partBef) {
  const int E = a.experts, G = gridDim.x, tid = threadIdx.x, parts = blockDim.x / E;
  for (int e = tid; e < E; e += blockDim.x) a.blockCounts[size_t(blockIdx.x) * E + e] = histAll[e];
  __syncthreads();
  if (tid == 0) {
    __threadfence();
    const unsigned old = atomicAdd(a.barrier, 1u);
    const unsigned target = (old / unsigned(G) + 1u) * unsigned(G);
    for (unsigned spins = 0;; ++spins) {
      unsigned v;
      asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(a.barrier) : "memory");
      if (int(v - target) >= 0) break;
      __nanosleep(32);
      if (spins > (1u << 25)) __trap();
    }
  }
  __syncthreads();
  if (tid < parts * E) {
    const int e = tid % E, part = tid / E;
    int tot = 0, bef = 0;
    // Eight loads in flight before the first add (one L2 round trip at 128 blocks x 64 experts).
    constexpr int kB = 8;
    for (int b0 = part; b0 < G; b0 += kB * parts) {
      int v[kB];
#pragma unroll
      for (int j = 0; j < kB; ++j) {
        const int b = b0 + j * parts;
        v[j] = b < G ? __ldcg(a.blockCounts + size_t(b) * E + e) : 0;
      }
#pragma unroll
      for (int j = 0; j < kB; ++j) {
        tot += v[j];
        bef += b0 + j * parts < int(blockIdx.x) ? v[j] : 0;
      }
    }
    partTot[part * E + e] = tot;
    partBef[part * E + e] = bef;
  }
  __syncthreads();
  for (int e = tid; e < E; e += blockDim.x) {
    int tot = 0, bef = 0;
    for (int p = 0; p < parts; ++p) {
      tot += partTot[p * E + e];
      bef += partBef[p * E + e];
    }
    histAll[e] = tot;
    histBefore[e] = bef;
  }
  __syncthreads();
}

// The route kernels' top-1 step for token t (one warp; t >= a.tokens: no token): its expert and
// gate to assignExpert / assignGate, and (lane 0) to *ex / *g in shared memory (E and 0: none).
__device__ __forceinline__ void routeTop1(const RouteArgs& a, int t, int lane, int* ex, float* g) {
  const int E = a.experts;
  int chosen[1];
  float gate[1];
  if (t < a.tokens) {
    warpTopK(a.logits + size_t(t) * E, a.bias, E, 1, lane, chosen, gate);
    if (lane == 0) {
      a.assignExpert[t] = chosen[0];
      a.assignGate[t] = gate[0];
    }
  } else {
    chosen[0] = E;
    gate[0] = 0.f;
  }
  if (lane == 0) {
    *ex = chosen[0];
    *g = gate[0];
  }
}

__global__ void __launch_bounds__(32 * kRouteWarps, 1) routePackKernel(const RouteArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  routeStamp(a, 0);
  extern __shared__ int shm[];
  const int E = a.experts;
  const int parts = blockDim.x / E;  // partial sums per expert (E <= 1024)
  int* histAll = shm;                // [E]
  int* histBefore = shm + E;         // [E]
  int* offs = shm + 2 * E;           // [E]
  int* seg = shm + 3 * E;            // [2E]
  int* partTot = shm + 5 * E;        // [parts][E]
  int* partBef = partTot + parts * E;
  __shared__ int sEx[kRouteWarps], srcTok[kRouteWarps], dstRow[kRouteWarps];
  __shared__ float sGate[kRouteWarps];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  for (int e = tid; e < E; e += blockDim.x) histAll[e] = 0;
  routeTop1(a, blockIdx.x * kRouteWarps + warp, lane, &sEx[warp], &sGate[warp]);
  __syncthreads();
  if (tid < 32) {
    const int ex = sEx[lane];
    const unsigned same = __match_any_sync(0xffffffffu, ex);
    if (ex < E && lane == __ffs(same) - 1) histAll[ex] = __popc(same);
  }
  __syncthreads();
  routeStamp(a, 1);
  routeCountSums(a, histAll, histBefore, partTot, partBef);
  routeStamp(a, 2);
  if (tid < 32) {
    int carry = 0;
    for (int b = 0; b < E; b += 32) {
      const int e = b + lane;
      const int v = e < E ? min(histAll[e], a.capacity) : 0;
      int incl = v;
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += u;
      }
      if (e < E) offs[e] = carry + incl - v;
      carry += __shfl_sync(0xffffffffu, incl, 31);
    }
    const int t = blockIdx.x * kRouteWarps + lane;
    const bool valid = t < a.tokens;
    const int ex = sEx[lane];
    const unsigned same = __match_any_sync(0xffffffffu, ex);
    const int pos = valid ? histBefore[ex] + __popc(same & ((1u << lane) - 1u)) : -1;
    const bool kept = valid && pos < a.capacity;
    const int row = kept ? offs[ex] + pos : -1;
    srcTok[lane] = valid ? t : -1;
    dstRow[lane] = row;
    if (valid) {
      a.assignPos[t] = kept ? pos : -1;
      a.rowOf[t] = row;
      if (kept) {
        a.tokenOf[row] = t;
        a.gateOf[row] = sGate[lane];
      }
    }
  }
  __syncthreads();
  const int vecs = a.dModel / 8;  // 16-byte pieces of a row
  constexpr int kCopy = 4;
  for (int q0 = tid; q0 < kRouteWarps * vecs; q0 += kCopy * int(blockDim.x)) {
    uint4 v[kCopy];
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * blockDim.x, r = q / vecs, c = q % vecs;
      const bool in = q < kRouteWarps * vecs;
      const int tok = in ? srcTok[r] : -1, row = in ? dstRow[r] : -1;
      v[u] = row >= 0 ? reinterpret_cast<const uint4*>(a.x)[size_t(tok) * vecs + c] : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * blockDim.x, r = q / vecs, c = q % vecs;
      if (q >= kRouteWarps * vecs) continue;
      const int tok = srcTok[r], row = dstRow[r];
      if (row >= 0) reinterpret_cast<uint4*>(a.xPacked)[size_t(row) * vecs + c] = v[u];
      else if (tok >= 0) reinterpret_cast<uint4*>(a.out)[size_t(tok) * vecs + c] = v[u];  // zeroes: dropped
    }
  }
  routeStamp(a, 3);
  if (blockIdx.x != 0) {
    routeArrive(a);
    return;
  }
  buildWorkList(a, histAll, offs, seg);
  routeArrive(a);
  routeStamp(a, 4);
}

// The route kernel on fewer SMs (MOE_GROUPED_ROUTE_TPW = Tpw of 2, 4 or 8): each warp routes Tpw
// tokens, so the grid is Tpw times smaller and the ffn kernel's CTAs (launched by PDL at once, one
// per SM) start on the SMs left free: they stream their first items' weights (and PREFETCH more
// slabs into L2) while the routing runs. Same results as routePackKernel: a block takes 32 Tpw
// consecutive tokens in chunks of 32 (warp w the token w of each chunk), positions in token order.
template <int Tpw>
__global__ void __launch_bounds__(32 * kRouteWarps, 1) routePackKernelN(const RouteArgs a) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;");
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
  constexpr int B = 32 * Tpw;  // tokens of a block
  extern __shared__ int shm[];
  const int E = a.experts;
  const int parts = blockDim.x / E;
  int* histAll = shm;
  int* histBefore = shm + E;
  int* offs = shm + 2 * E;
  int* seg = shm + 3 * E;
  int* partTot = shm + 5 * E;
  int* partBef = partTot + parts * E;
  __shared__ int sEx[B], sRank[B], srcTok[B], dstRow[B];
  __shared__ float sGate[B];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int first = blockIdx.x * B;
  for (int e = tid; e < E; e += blockDim.x) histAll[e] = 0;
#pragma unroll 1
  for (int j = 0; j < Tpw; ++j) {
    const int i = 32 * j + warp;
    routeTop1(a, first + i, lane, &sEx[i], &sGate[i]);
  }
  __syncthreads();
  if (tid < 32) {
    // Chunk by chunk in token order: each token's rank among the block's tokens of its expert.
#pragma unroll 1
    for (int j = 0; j < Tpw; ++j) {
      const int ex = sEx[32 * j + lane];
      const unsigned same = __match_any_sync(0xffffffffu, ex);
      const int before = ex < E ? histAll[ex] : 0;
      sRank[32 * j + lane] = before + __popc(same & ((1u << lane) - 1u));
      __syncwarp();
      if (ex < E && lane == __ffs(same) - 1) histAll[ex] = before + __popc(same);
      __syncwarp();
    }
  }
  __syncthreads();
  routeCountSums(a, histAll, histBefore, partTot, partBef);
  if (tid < 32) {
    int carry = 0;
    for (int b = 0; b < E; b += 32) {
      const int e = b + lane;
      const int v = e < E ? min(histAll[e], a.capacity) : 0;
      int incl = v;
      for (int o = 1; o < 32; o <<= 1) {
        const int u = __shfl_up_sync(0xffffffffu, incl, o);
        if (lane >= o) incl += u;
      }
      if (e < E) offs[e] = carry + incl - v;
      carry += __shfl_sync(0xffffffffu, incl, 31);
    }
  }
  __syncthreads();
  if (tid < B) {
    const int t = first + tid;
    const bool valid = t < a.tokens;
    const int ex = sEx[tid];
    const int pos = valid ? histBefore[ex] + sRank[tid] : -1;
    const bool kept = valid && pos < a.capacity;
    const int row = kept ? offs[ex] + pos : -1;
    srcTok[tid] = valid ? t : -1;
    dstRow[tid] = row;
    if (valid) {
      a.assignPos[t] = kept ? pos : -1;
      a.rowOf[t] = row;
      if (kept) {
        a.tokenOf[row] = t;
        a.gateOf[row] = sGate[tid];
      }
    }
  }
  __syncthreads();
  const int vecs = a.dModel / 8;
  constexpr int kCopy = 4;
  for (int q0 = tid; q0 < B * vecs; q0 += kCopy * int(blockDim.x)) {
    uint4 v[kCopy];
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * blockDim.x, r = q / vecs, c = q % vecs;
      const bool in = q < B * vecs;
      const int tok = in ? srcTok[r] : -1, row = in ? dstRow[r] : -1;
      v[u] = row >= 0 ? reinterpret_cast<const uint4*>(a.x)[size_t(tok) * vecs + c] : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kCopy; ++u) {
      const int q = q0 + u * blockDim.x, r = q / vecs, c = q % vecs;
      if (q >= B * vecs) continue;
      const int tok = srcTok[r], row = dstRow[r];
      if (row >= 0) reinterpret_cast<uint4*>(a.xPacked)[size_t(row) * vecs + c] = v[u];
      else if (tok >= 0) reinterpret_cast<uint4*>(a.out)[size_t(tok) * vecs + c] = v[u];  // zeroes: dropped
    }
  }
  if (blockIdx.x != 0) {
    routeArrive(a);
    return;
  }
  buildWorkList(a, histAll, offs, seg);
  routeArrive(a);
}

// top-k > 1: out[t] = Σ_k gate · yPacked[row of assignment (k, t)], 0 for dropped assignments.
__global__ void combinePackedKernel(const bf16* yPacked, const int* rowOf, const float* gate, int tokens,
                                    int topk, int dModel, bf16* out) {
  const int t = blockIdx.x;
  for (int j = threadIdx.x; j < dModel; j += blockDim.x) {
    float acc = 0.f;
    for (int k = 0; k < topk; ++k) {
      const int a = k * tokens + t;
      const int row = rowOf[a];
      if (row >= 0) acc += gate[a] * __bfloat162float(yPacked[size_t(row) * dModel + j]);
    }
    out[size_t(t) * dModel + j] = __float2bfloat16(acc);
  }
}

// MOE_GROUPED_PACKED: a copy of an expert weight [E x rows][cols] in the ffn kernel's tile order,
// dst[((e tiles + z) (cols / 64) + k) 256 + r][0 .. 63] = src[e rows + 256 z + r][64 k .. 64 k + 63]
// (zeros past the expert's rows): each (tile, k-slab) TMA box is one contiguous 32 KB block, not
// 256 rows of 128 bytes 1.5-6 KB apart. Made once, when the GroupedFfn is built.
__global__ void packWeightsKernel(const bf16* src, bf16* dst, int experts, int rows, int cols, int tiles) {
  const int kslabs = cols / 64;
  const size_t vecs = size_t(experts) * tiles * kslabs * 256 * 8;  // 16-byte pieces of dst
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < vecs; i += size_t(gridDim.x) * blockDim.x) {
    const int c8 = int(i % 8);
    size_t q = i / 8;
    const int r = int(q % 256);
    q /= 256;
    const int k = int(q % kslabs);
    q /= kslabs;
    const int z = int(q % tiles), e = int(q / tiles), row = z * 256 + r;
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < rows) v = reinterpret_cast<const uint4*>(src + (size_t(e) * rows + row) * cols + k * 64)[c8];
    reinterpret_cast<uint4*>(dst)[i] = v;
  }
}

// ---- host -----------------------------------------------------------------------------------
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*,
                                 const cuuint64_t*, const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave,
                                 CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

EncodeTiled encoder() {
  static EncodeTiled fn = nullptr;
  if (!fn) {
    void* p = nullptr;
    cudaDriverEntryPointQueryResult q;
    CUDA_CHECK(cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &p, 12000, cudaEnableDefault, &q));
    if (q != cudaDriverEntryPointSuccess || !p) {
      std::fprintf(stderr, "moe-workload: the driver has no cuTensorMapEncodeTiled\n");
      std::exit(1);
    }
    fn = reinterpret_cast<EncodeTiled>(p);
  }
  return fn;
}

// Row-major bf16 [rows][cols] viewed as 2-D tiles of 64 columns (128 bytes, swizzled) x boxRows.
CUtensorMap tileMap(const void* base, size_t rows, size_t cols, int boxRows) {
  CUtensorMap m;
  const cuuint64_t dims[2] = {cuuint64_t(cols), cuuint64_t(rows)};
  const cuuint64_t strides[1] = {cuuint64_t(cols * sizeof(bf16))};
  const cuuint32_t box[2] = {64, cuuint32_t(boxRows)};
  const cuuint32_t elem[2] = {1, 1};
  const CUresult r = encoder()(&m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 2, const_cast<void*>(base), dims, strides, box,
                               elem, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) {
    std::fprintf(stderr, "moe-workload: cuTensorMapEncodeTiled failed (%d) for a %zu x %zu matrix\n", int(r), rows,
                 cols);
    std::exit(1);
  }
  return m;
}

template <typename P>
P* alloc(size_t n) {
  P* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, n * sizeof(P)));
  CUDA_CHECK(cudaMemset(p, 0, n * sizeof(P)));
  return p;
}

int envInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

template <typename K, typename... Args>
void launch(K kernel, dim3 grid, dim3 block, size_t smem, cudaStream_t s, bool pdl, Args... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl ? 1 : 0;
  CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, args...));
}

// The route kernel for `tpw` tokens per warp (MOE_GROUPED_ROUTE_TPW).
using RouteKernel = void (*)(const RouteArgs);
RouteKernel routeKernel(int tpw) {
  return tpw == 1 ? routePackKernel : tpw == 2 ? routePackKernelN<2> : tpw == 4 ? routePackKernelN<4> : routePackKernelN<8>;
}

}  // namespace

GroupedTuning GroupedTuning::fromEnvironment() {
  GroupedTuning t;
  t.lag = envInt("MOE_GROUPED_LAG", t.lag);
  t.pdl = envInt("MOE_GROUPED_PDL", 1) != 0;
  t.prefetch = envInt("MOE_GROUPED_PREFETCH", t.prefetch);
  t.evictFirst = envInt("MOE_GROUPED_EVICT_FIRST", 1) != 0;
  t.fixedN = envInt("MOE_GROUPED_FIXED_N", 0) != 0;
  t.kernel = envInt("MOE_GROUPED_KERNEL", t.kernel) == 1 ? 1 : 2;
  t.diag = envInt("MOE_GROUPED_DIAG", 0);
  t.ahead = envInt("MOE_GROUPED_AHEAD", t.ahead);
  t.signal = envInt("MOE_GROUPED_SIGNAL", t.signal ? 1 : 0) != 0;
  t.staticFirst = envInt("MOE_GROUPED_STATIC", 1) != 0;
  t.stages = 5;  // (MOE_GROUPED_STAGES=4, chunks of <=128 tokens, was slower in runs 6-7: no longer built)
  t.route = envInt("MOE_GROUPED_ROUTE", t.route ? 1 : 0) != 0;
  t.fuse = envInt("MOE_GROUPED_FUSE", t.fuse ? 1 : 0) != 0;
  t.split = std::max(1, envInt("MOE_GROUPED_SPLIT", t.split));
  t.tail = envInt("MOE_GROUPED_TAIL", t.tail);
  t.times = envInt("MOE_GROUPED_TIMES", 0) != 0;
  t.overlap = envInt("MOE_GROUPED_OVERLAP", t.overlap ? 1 : 0) != 0;
  t.wave = std::max(0, envInt("MOE_GROUPED_WAVE", t.wave));
  t.half = std::max(0, envInt("MOE_GROUPED_HALF", t.half));
  t.halfN = std::max(0, envInt("MOE_GROUPED_HALF_N", t.halfN));
  t.staticStages = envInt("MOE_GROUPED_STATIC_STAGES", t.staticStages);
  t.packed = envInt("MOE_GROUPED_PACKED", t.packed ? 1 : 0) != 0;
  t.flagWait = envInt("MOE_GROUPED_FLAGWAIT", t.flagWait ? 1 : 0) != 0;
  {
    const int tpw = envInt("MOE_GROUPED_ROUTE_TPW", t.routeTpw);
    t.routeTpw = tpw >= 8 ? 8 : tpw >= 4 ? 4 : tpw >= 2 ? 2 : 1;
  }
  return t;
}

std::string GroupedFfn::unsupportedReason(const GroupedShape& s, bool bf16) {
#ifndef MOE_GROUPED_SM90A
  (void)s;
  (void)bf16;
  return "built without sm_90a code (configure with CMAKE_CUDA_ARCHITECTURES containing 90)";
#else
  if (!bf16) return "fp32 (the kernel is bf16)";
  int dev = 0, major = 0, minor = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev));
  if (major != 9 || minor != 0) return "not a Hopper GPU (compute capability 9.0)";
  const bool v1 = GroupedTuning::fromEnvironment().kernel == 1;
  const int multiple = v1 ? kBm : 64;
  if (s.dModel % multiple != 0) return "d_model is not a multiple of " + std::to_string(multiple);
  if (s.dFf % multiple != 0) return "d_ff is not a multiple of " + std::to_string(multiple);
  // Verified on an H200 (RESULTS.md, run 1: checked against sequential and float64, bit-exact
  // reruns). The cuBLAS path stays one variable away, and device/run.sh checks it too.
  if (envInt("MOE_GROUPED_FALLBACK", 0)) return "MOE_GROUPED_FALLBACK is set";
  return "";
#endif
}

GroupedFfn::GroupedFfn(const GroupedShape& s, const std::vector<bf16*>& w1t, const std::vector<bf16*>& w2t,
                       cudaStream_t stream)
    : s_(s), tune_(GroupedTuning::fromEnvironment()), stream_(stream) {
  int dev = 0;
  CUDA_CHECK(cudaGetDevice(&dev));
  CUDA_CHECK(cudaDeviceGetAttribute(&smCount_, cudaDevAttrMultiProcessorCount, dev));
  const int bm = tune_.kernel == 1 ? kBm : kBm2;
  chunk_ = tune_.kernel == 1 ? kNt : (tune_.stages == 5 ? Cfg5::kChunk : Cfg4::kChunk);
  tiles1_ = (s.dFf + bm - 1) / bm;
  tiles2_ = (s.dModel + bm - 1) / bm;
  const size_t rows = size_t(s.tokens) * s.topk;
  staticItems_ = tune_.staticFirst ? std::min(smCount_, s.experts * tiles1_) : 0;
  // Split-K of the tail's down items: v2, top-1, the d_ff slabs divisible into the parts.
  if (tune_.kernel == 2 && s.topk == 1 && tune_.split > 1 && tune_.split <= 4 && (s.dFf / 64) % tune_.split == 0 && tune_.tail > 0 &&
      s.capacity <= 255 * chunk_) {
    splitK_ = tune_.split;
    splitM_ = (s.capacity + chunk_ - 1) / chunk_;
    splitRows_ = int(rows) + 16 * s.experts * splitM_;
    partials_ = alloc<float>(size_t(splitK_ - 1) * tiles2_ * splitRows_ * 256);  // parts 0 .. P - 2 (P - 1 sums)
    splitCount_ = alloc<unsigned>(size_t(2) * tiles2_ * rows);
  }
  if (tune_.times) {
    times_ = alloc<unsigned long long>(size_t(smCount_) * kTimeSlots);
    routeTimes_ = alloc<unsigned long long>(size_t(std::max(smCount_, 1024)) * 8);
  }
  // MOE_GROUPED_HALF: v2, not with split-K or the fused routing (its own list order has no half items).
  const bool fuses = tune_.fuse && tune_.kernel == 2 && s.topk == 1 && s.experts <= kMaxFuseE &&
                     (s.tokens + smCount_ - 1) / smCount_ <= kMaxFuseT;
  if (tune_.kernel == 2 && splitK_ == 1 && !fuses) {
    halfTail_ = std::min(tune_.half, s.experts);
    halfMaxN_ = tune_.halfN;
  }
  const bool halves = halfTail_ > 0 || halfMaxN_ > 0;
  maxItems_ = (tiles1_ + tiles2_ * std::max(splitK_, halves ? 2 : 1)) * (s.experts + int(rows / chunk_) + 1) +
              staticItems_;
  for (int l = 0; l < s.layers; ++l) {
    if (tune_.packed && tune_.kernel == 2) {
      // MOE_GROUPED_PACKED: the kernel streams prepacked copies (packWeightsKernel).
      const size_t n1 = size_t(s.experts) * tiles1_ * kBm2 * s.dModel, n2 = size_t(s.experts) * tiles2_ * kBm2 * s.dFf;
      bf16* p1 = alloc<bf16>(n1);
      bf16* p2 = alloc<bf16>(n2);
      packWeightsKernel<<<1024, 256, 0, stream_>>>(w1t[l], p1, s.experts, s.dFf, s.dModel, tiles1_);
      packWeightsKernel<<<1024, 256, 0, stream_>>>(w2t[l], p2, s.experts, s.dModel, s.dFf, tiles2_);
      CUDA_CHECK(cudaGetLastError());
      packedW_.push_back(p1);
      packedW_.push_back(p2);
      mapW1_.push_back(tileMap(p1, n1 / 64, 64, kBm2));
      mapW2_.push_back(tileMap(p2, n2 / 64, 64, kBm2));
      mapW2h_.push_back(tileMap(p2, n2 / 64, 64, kBm2 / 2));
    } else {
      mapW1_.push_back(tileMap(w1t[l], size_t(s.experts) * s.dFf, s.dModel, bm));
      mapW2_.push_back(tileMap(w2t[l], size_t(s.experts) * s.dModel, s.dFf, bm));
      mapW2h_.push_back(tileMap(w2t[l], size_t(s.experts) * s.dModel, s.dFf, kBm2 / 2));
    }
  }
  if (!packedW_.empty()) CUDA_CHECK(cudaStreamSynchronize(stream_));
  xPacked_ = alloc<bf16>(rows * s.dModel);
  hPacked_ = alloc<bf16>(rows * s.dFf);
  if (s.topk > 1) yPacked_ = alloc<bf16>(rows * s.dModel);
  mapX_ = tileMap(xPacked_, rows, s.dModel, 16);
  mapH_ = tileMap(hPacked_, rows, s.dFf, 16);
  {
    TokenMaps tm;
    for (int w = 0; w < kWidths; ++w) {
      tm.x[w] = tileMap(xPacked_, rows, s.dModel, 16 * (w + 1));
      tm.h[w] = tileMap(hPacked_, rows, s.dFf, 16 * (w + 1));
    }
    TokenMaps* d = nullptr;
    CUDA_CHECK(cudaMalloc(&d, sizeof(TokenMaps)));
    CUDA_CHECK(cudaMemcpy(d, &tm, sizeof(TokenMaps), cudaMemcpyHostToDevice));
    tokenMaps_ = d;
  }
  rowOf_ = alloc<int>(rows);
  tokenOf_ = alloc<int>(rows);
  gateOf_ = alloc<float>(rows);
  offsets_ = alloc<int>(s.experts + 1);
  listTotal_ = alloc<int>(1);
  queue_ = alloc<int>(1);
  done1_ = alloc<unsigned>(s.experts);
  list_ = alloc<int4>(maxItems_);
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel<false>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel<true>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, 0>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobSplit>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobFuse>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobFuse | kKnobTimes>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobTimes>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobSplit | kKnobTimes>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobHalf>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobHalf | kKnobTimes>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(ffnKernel2<Cfg5, kKnobsAll>, cudaFuncAttributeMaxDynamicSharedMemorySize, Cfg5::kSmem));
  CUDA_CHECK(cudaFuncSetAttribute(packKernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  int(5 * s.experts * sizeof(int))));
  if (s.topk == 1 && s.experts <= 32 * kRouteWarps) {
    const int tpw = tune_.routeTpw;
    routeBlocks_ = (s.tokens + kRouteWarps * tpw - 1) / (kRouteWarps * tpw);
    const int parts = 32 * kRouteWarps / s.experts;
    routeSmem_ = int((5 * s.experts + 2 * parts * s.experts) * sizeof(int));
    blockCounts_ = alloc<int>(size_t(routeBlocks_) * s.experts);
    barrier_ = alloc<unsigned>(1);
    routeReady_ = alloc<unsigned>(1);
    const RouteKernel rk = routeKernel(tpw);
    CUDA_CHECK(cudaFuncSetAttribute(rk, cudaFuncAttributeMaxDynamicSharedMemorySize, routeSmem_));
    // The route kernel's grid barrier needs every block resident at once.
    int perSm = 0;
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, rk, 32 * kRouteWarps, routeSmem_));
    if (perSm * smCount_ < routeBlocks_) routeBlocks_ = 0;
  }
  // Routing inside the ffn kernel: v2, top-1, the tables within kMaxFuse*.
  if (tune_.fuse && tune_.kernel == 2 && s.topk == 1 && s.experts <= kMaxFuseE &&
      (s.tokens + smCount_ - 1) / smCount_ <= kMaxFuseT) {
    fusedFfn_ = true;
    fuseCounts_ = alloc<int>(size_t(smCount_) * s.experts);
    fuseBarrier_ = alloc<unsigned>(1);
  }
}

GroupedFfn::~GroupedFfn() {
  for (void* p : {(void*)xPacked_, (void*)hPacked_, (void*)yPacked_, (void*)rowOf_, (void*)tokenOf_, (void*)gateOf_,
                  (void*)offsets_, (void*)listTotal_, (void*)queue_, (void*)done1_, (void*)list_, tokenMaps_,
                  (void*)blockCounts_, (void*)barrier_, (void*)fuseCounts_, (void*)fuseBarrier_, (void*)partials_,
                  (void*)splitCount_, (void*)times_, (void*)routeTimes_, (void*)routeReady_})
    if (p) cudaFree(p);
  for (bf16* p : packedW_) cudaFree(p);
}

std::string GroupedFfn::describe() const {
  char buf[512];
  if (tune_.kernel == 1)
    std::snprintf(buf, sizeof buf,
                  "persistent wgmma grouped GEMM v1, %d CTAs, tiles %dx%d / %dx%d, %d stages, lag %d, pdl %d, "
                  "prefetch %d, evict-first %d, fixed-N %d",
                  smCount_, kBm, kNt, kBm, kNt, kStages, tune_.lag, int(tune_.pdl), tune_.prefetch,
                  int(tune_.evictFirst), int(tune_.fixedN));
  else
    std::snprintf(buf, sizeof buf,
                  "persistent wgmma grouped GEMM v2, %d CTAs, tiles %d weight rows x <=%d tokens (wgmma N = tokens "
                  "rounded up to 16), %d stages of one 64-wide k-slab, L2 prefetch %d slabs ahead, lag %d, pdl %d, "
                  "prefetch %d, evict-first %d, signal warp %d",
                  smCount_, kBm2, chunk_, tune_.stages, tune_.ahead, tune_.lag, int(tune_.pdl), tune_.prefetch,
                  int(tune_.evictFirst), int(tune_.signal));
  std::string d = buf;
  if (splitK_ > 1) d += ", down items of the last " + std::to_string(tune_.tail) + " experts split " +
                        std::to_string(splitK_) + "-way over d_ff";
  if (tune_.wave > 0) d += ", the last experts' down items (<= " + std::to_string(waveItems()) + ") end the list";
  if (halfTail_ > 0) d += ", down items of the last " + std::to_string(halfTail_) + " experts in 128-row halves";
  if (halfMaxN_ > 0) d += ", down items of experts with <= " + std::to_string(halfMaxN_) + " tokens in 128-row halves";
  if (!packedW_.empty()) d += ", weights prepacked in tile order";
  if (tune_.flagWait && routeReady_ && !fusedFfn_) d += ", ffn waits on the route blocks' flags";
  if (fusedFfn_) return d + ", routing inside the ffn kernel (grid barrier; no route kernel)";
  if (tune_.overlap) d += ", one wgmma group in flight";
  if (fusedRoute() && tune_.routeTpw > 1)
    return d + ", top-k + pack fused (route kernel, " + std::to_string(tune_.routeTpw) + " tokens a warp on " +
           std::to_string(routeBlocks_) + " SMs)";
  return d + (fusedRoute() ? ", top-k + pack fused (route kernel)" : ", top-k and pack as two kernels");
}

std::string GroupedFfn::timesSummary() const {
  if (!times_) return "";
  CUDA_CHECK(cudaStreamSynchronize(stream_));
  std::vector<unsigned long long> v(size_t(smCount_) * kTimeSlots);
  CUDA_CHECK(cudaMemcpy(v.data(), times_, v.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost));
  unsigned long long t0 = ~0ull;
  for (int b = 0; b < smCount_; ++b) t0 = std::min(t0, v[size_t(b) * kTimeSlots]);
  // scale: 0 raw, 1 a time (us from t0), 2 a duration in ns (us)
  auto stats = [&](int i, int scale) {
    std::vector<double> x;
    for (int b = 0; b < smCount_; ++b) {
      const unsigned long long y = v[size_t(b) * kTimeSlots + i];
      x.push_back(scale == 1 ? (y >= t0 ? double(y - t0) / 1e3 : -1.0) : scale == 2 ? double(y) / 1e3 : double(y));
    }
    std::sort(x.begin(), x.end());
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.1f/%.1f/%.1f", x.front(), x[x.size() / 2], x.back());
    return std::string(buf);
  };
  // The CTAs' last items: how many were up items, down items, split-K parts; their k-slabs.
  int ups = 0, downs = 0, parts = 0;
  unsigned long long slabsMax = 0;
  for (int b = 0; b < smCount_; ++b) {
    const unsigned long long k = v[size_t(b) * kTimeSlots + 10];
    if (k >= 10000) ++parts;
    else if (k >= 1000) ++downs;
    else ++ups;
    slabsMax = std::max(slabsMax, k % 1000);
  }
  char last[160];
  std::snprintf(last, sizeof last, "; last items: %d up, %d down, %d split-K parts (at most %llu k-slabs), begun at %s",
                ups, downs, parts, slabsMax, stats(9, 1).c_str());
  // The route kernel's blocks (routePackKernel), us from the first ffn CTA's start (negative: before it).
  std::string route;
  if (routeTimes_ && routeBlocks_ > 0 && tune_.routeTpw == 1 && !fusedFfn_ && tune_.route) {
    std::vector<unsigned long long> rv(size_t(routeBlocks_) * 8);
    CUDA_CHECK(cudaMemcpy(rv.data(), routeTimes_, rv.size() * sizeof(unsigned long long), cudaMemcpyDeviceToHost));
    auto rstats = [&](int i, int blocks) {
      std::vector<double> x;
      for (int b = 0; b < blocks; ++b) x.push_back((double(rv[size_t(b) * 8 + i]) - double(t0)) / 1e3);
      std::sort(x.begin(), x.end());
      char buf[96];
      std::snprintf(buf, sizeof buf, "%.1f/%.1f/%.1f", x.front(), x[x.size() / 2], x.back());
      return std::string(buf);
    };
    route = "; route blocks (us from the first ffn CTA's start): start " + rstats(0, routeBlocks_) + ", top-1 " +
            rstats(1, routeBlocks_) + ", counts summed " + rstats(2, routeBlocks_) + ", rows copied " +
            rstats(3, routeBlocks_) + ", block 0's list built " + rstats(4, 1);
  }
  return "cta times min/median/max us from the first CTA's start: start " + stats(0, 1) + ", consumers past wait " +
         stats(5, 1) + ", routed (consumers) " + stats(6, 1) + ", routed (producer) " + stats(1, 1) +
         ", first token load " + stats(2, 1) + ", queue empty " + stats(3, 1) + ", consumers done " +
         stats(4, 1) + "; k-slabs per CTA " + stats(7, 0) + "; waits for up items per CTA (us) " + stats(8, 2) + last + route;
}

void GroupedFfn::poison() {
  const size_t rows = size_t(s_.tokens) * s_.topk;
  CUDA_CHECK(cudaMemsetAsync(xPacked_, 0xff, rows * s_.dModel * sizeof(bf16), stream_));
  CUDA_CHECK(cudaMemsetAsync(hPacked_, 0xff, rows * s_.dFf * sizeof(bf16), stream_));
  if (yPacked_) CUDA_CHECK(cudaMemsetAsync(yPacked_, 0xff, rows * s_.dModel * sizeof(bf16), stream_));
}

void GroupedFfn::run(int layer, const bf16* x, const int* assignExpert, const float* assignGate, int* assignPos,
                     int* expertCount, bf16* out) {
  const int tiles1 = tiles1_, tiles2 = tiles2_;
  PackArgs p{};
  p.assignExpert = assignExpert;
  p.assignGate = assignGate;
  p.x = x;
  p.tokens = s_.tokens;
  p.assignments = s_.tokens * s_.topk;
  p.experts = s_.experts;
  p.capacity = s_.capacity;
  p.dModel = s_.dModel;
  p.topk = s_.topk;
  p.tiles1 = tiles1;
  p.tiles2 = tiles2;
  p.staticItems = staticItems_;
  p.lag = tune_.lag;
  p.chunk = chunk_;
  p.splitK = splitK_;
  p.splitTail = tune_.tail;
  p.waveItems = waveItems();
  p.halfTail = halfTail_;
  p.halfMaxN = halfMaxN_;
  p.assignPos = assignPos;
  p.expertCount = expertCount;
  p.rowOf = rowOf_;
  p.offsets = offsets_;
  p.tokenOf = tokenOf_;
  p.gateOf = gateOf_;
  p.xPacked = xPacked_;
  p.out = out;
  p.list = list_;
  p.listTotal = listTotal_;
  p.queue = queue_;
  p.done1 = done1_;
  launch(packKernel, dim3((p.assignments + kChunk - 1) / kChunk), dim3(kPackThreads), 5 * s_.experts * sizeof(int),
         stream_, tune_.pdl, p);
  launchFfn(layer, assignGate, expertCount, out);
}

void GroupedFfn::runRouted(int layer, const bf16* x, const float* logits, const float* bias, int* assignExpert,
                           float* assignGate, int* assignPos, int* expertCount, bf16* out) {
  if (fusedFfn_) {
    InKernelRoute r;
    r.logits = logits;
    r.bias = bias;
    r.x = x;
    r.assignExpert = assignExpert;
    r.assignGate = assignGate;
    r.assignPos = assignPos;
    launchFfn(layer, assignGate, expertCount, out, &r);
    return;
  }
  RouteArgs r{};
  r.logits = logits;
  r.bias = bias;
  r.x = x;
  r.tokens = s_.tokens;
  r.experts = s_.experts;
  r.capacity = s_.capacity;
  r.dModel = s_.dModel;
  r.tiles1 = tiles1_;
  r.tiles2 = tiles2_;
  r.staticItems = staticItems_;
  r.lag = tune_.lag;
  r.chunk = chunk_;
  r.splitK = splitK_;
  r.splitTail = tune_.tail;
  r.waveItems = waveItems();
  r.halfTail = halfTail_;
  r.halfMaxN = halfMaxN_;
  r.assignExpert = assignExpert;
  r.assignGate = assignGate;
  r.assignPos = assignPos;
  r.expertCount = expertCount;
  r.rowOf = rowOf_;
  r.offsets = offsets_;
  r.tokenOf = tokenOf_;
  r.gateOf = gateOf_;
  r.xPacked = xPacked_;
  r.out = out;
  r.list = list_;
  r.listTotal = listTotal_;
  r.queue = queue_;
  r.done1 = done1_;
  r.blockCounts = blockCounts_;
  r.barrier = barrier_;
  r.times = routeTimes_;
  r.ready = nullptr;
  if (tune_.flagWait && routeReady_) {
    r.ready = routeReady_;
    ++routeLaunches_;
  }
  launch(routeKernel(tune_.routeTpw), dim3(routeBlocks_), dim3(32 * kRouteWarps), routeSmem_, stream_, tune_.pdl, r);
  launchFfn(layer, assignGate, expertCount, out, nullptr, r.ready != nullptr);
}

void GroupedFfn::launchFfn(int layer, const float* assignGate, int* expertCount, bf16* out,
                           const InKernelRoute* route, bool flagWait) {
  const int tiles1 = tiles1_;

  FfnArgs f{};
  f.list = list_;
  f.listTotal = listTotal_;
  f.queue = queue_;
  f.counts = expertCount;
  f.offsets = offsets_;
  f.done1 = done1_;
  f.tokenOf = tokenOf_;
  f.gateOf = gateOf_;
  f.h = hPacked_;
  f.out = out;
  f.yPacked = yPacked_;
  f.experts = s_.experts;
  f.dModel = s_.dModel;
  f.dFf = s_.dFf;
  f.tiles1 = tiles1;
  f.staticItems = staticItems_;
  f.prefetch = tune_.prefetch;
  f.evictFirst = tune_.evictFirst;
  f.fusedCombine = s_.topk == 1;
  f.tokenMaps = tokenMaps_;
  f.diag = tune_.diag;
  f.ahead = tune_.ahead;
  f.signalWarp = tune_.signal ? 1 : 0;
  f.tiles2 = tiles2_;
  f.splitK = splitK_;
  f.splitTail = tune_.tail;
  f.partRows = s_.tokens * s_.topk;
  f.partials = partials_;
  f.splitM = splitM_;
  f.splitRows = splitRows_;
  f.splitCount = splitCount_;
  f.times = times_;
  f.overlap = tune_.overlap ? 1 : 0;
  f.staticStages = tune_.staticStages;
  f.packed = packedW_.empty() ? 0 : 1;
  f.ready = flagWait ? routeReady_ : nullptr;
  f.readyTarget = unsigned(routeLaunches_ * (unsigned long long)routeBlocks_);
  if (route) {
    f.fuse = 1;
    f.logits = route->logits;
    f.bias = route->bias;
    f.x = route->x;
    f.tokens = s_.tokens;
    f.capacity = s_.capacity;
    f.lag = tune_.lag;
    f.waveItems = waveItems();
    f.assignExpert = route->assignExpert;
    f.assignGate = route->assignGate;
    f.assignPos = route->assignPos;
    f.rowOf = rowOf_;
    f.countsOut = expertCount;
    f.offsetsOut = offsets_;
    f.tokenOfW = tokenOf_;
    f.gateOfW = gateOf_;
    f.xPacked = xPacked_;
    f.blockCounts = fuseCounts_;
    f.barrier = fuseBarrier_;
  }
  if (tune_.kernel == 1) {
    launch(tune_.fixedN ? ffnKernel<true> : ffnKernel<false>, dim3(smCount_), dim3(kThreads), kSmemBytes, stream_,
           tune_.pdl, mapW1_[layer], mapW2_[layer], mapX_, mapH_, f);
  } else {
    Maps2 m;
    m.w1 = mapW1_[layer];
    m.w2 = mapW2_[layer];
    m.w2h = mapW2h_[layer];
    // The instantiation with exactly the knobs that are on where there is one, else the one with all.
    const int k = (f.fuse ? kKnobFuse : 0) | (f.splitK > 1 ? kKnobSplit : 0) | (f.overlap ? kKnobOverlap : 0) |
                  (f.times ? kKnobTimes : 0) | (halfTail_ > 0 || halfMaxN_ > 0 ? kKnobHalf : 0);
    launch(k == 0              ? ffnKernel2<Cfg5, 0>
           : k == kKnobHalf    ? ffnKernel2<Cfg5, kKnobHalf>
           : k == (kKnobHalf | kKnobTimes) ? ffnKernel2<Cfg5, kKnobHalf | kKnobTimes>
           : k == kKnobSplit   ? ffnKernel2<Cfg5, kKnobSplit>
           : k == kKnobFuse    ? ffnKernel2<Cfg5, kKnobFuse>
           : k == (kKnobFuse | kKnobTimes) ? ffnKernel2<Cfg5, kKnobFuse | kKnobTimes>
           : k == kKnobTimes   ? ffnKernel2<Cfg5, kKnobTimes>
           : k == (kKnobSplit | kKnobTimes) ? ffnKernel2<Cfg5, kKnobSplit | kKnobTimes>
                               : ffnKernel2<Cfg5, kKnobsAll>,
           dim3(smCount_), dim3(kThreads2), Cfg5::kSmem, stream_, tune_.pdl, m, f);
  }
  if (s_.topk > 1)
    combinePackedKernel<<<s_.tokens, 128, 0, stream_>>>(yPacked_, rowOf_, assignGate, s_.tokens, s_.topk,
                                                        s_.dModel, out);
}
