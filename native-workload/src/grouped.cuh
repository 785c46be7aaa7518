// The `grouped` mode's fast path on Hopper (sm_90a, bf16): the experts of a layer as one
// persistent grouped GEMM kernel over exact token counts, with no host read-back.
//
//   top-1:      router GEMM (cuBLAS) -> route (top-k + pack in one kernel) -> ffn
//   top-k > 1:  router GEMM (cuBLAS) -> top-k -> pack -> ffn -> combine   (top-1 too: MOE_GROUPED_ROUTE=0)
//
// pack      one kernel: each expert's slots (the same positions as the capacity slots of the
//           other modes), its rows of a compact expert-ordered copy of the tokens (offsets on
//           the device), the row's token and gate, zeroes for dropped tokens, and the work list
//           of the ffn kernel.
// ffn       one persistent kernel, a CTA per SM: a producer thread streams weight tiles and token
//           tiles with TMA through a shared-memory ring; two consumer warpgroups multiply them
//           with wgmma (weights as the M side, tokens as N). Work items are (expert, weight-row
//           tile, token chunk) of the up projection (ReLU and the bf16 cast in the epilogue) and
//           of the down projection (gate scaling and the scatter back to token order in the
//           epilogue, for top-1), down items of expert e queued after the up items of e + lag; a
//           down-projection item waits on a per-expert counter until that expert's up-projection
//           items are done. v2 (default): 256 weight rows x a chunk of <=96 tokens at wgmma N =
//           the tokens rounded up to 16, 5 stages of one k-slab. v1 (MOE_GROUPED_KERNEL=1): run
//           2's kernel (128 weight rows x 64 or 128 token columns, 3 stages of two k-slabs).
//
// The v2 kernel streams copies of the expert weights that the GroupedFfn prepacks once, when it is
// built, in its tile order (MOE_GROUPED_PACKED=1, the default since run 16: each 256 x 64 TMA box
// one contiguous 32 KB block; 604 MB more device memory at switch-base-64).
//
// Launch is chained with programmatic dependent launch, so the ffn kernel starts streaming its
// first weight tiles while top-k and pack still run.
#pragma once
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <string>
#include <vector>

struct GroupedShape {
  int experts = 0, tokens = 0, topk = 1, dModel = 0, dFf = 0, capacity = 0, layers = 1;
};

// Tuning knobs, read from MOE_GROUPED_* environment variables (device/run.sh times them).
struct GroupedTuning {
  int lag = 8;         // down-projection items of expert e follow the up items of e + lag (-1: all up items first)
  bool pdl = true;     // programmatic dependent launch of top-k, pack and ffn
  int prefetch = 0;    // extra k-slabs of the first item prefetched into L2 before the routing is known
  bool evictFirst = true;  // L2 evict-first hint on weight loads
  bool fixedN = false;     // v1: every token tile computed at 128 columns (one wgmma shape)
  int kernel = 2;          // 2: 256 weight rows x <=96 or 128 tokens per item, wgmma N = tokens; 1: run 2's kernel
  int diag = 0;            // v2 timing diagnostics, results wrong: 1 skips the token loads, 2 the wgmma
  bool route = true;       // top-1: top-k and pack as one kernel (runRouted), from the router's logits
  int ahead = 0;           // v2: weight k-slabs kept prefetched into L2 in front of the TMA loads (run 6: each
                           // slab ahead costs ~10 us, the L2 being the bottleneck; 0 is off)
  int stages = 5;          // v2: 5 stages with token chunks of <=96, or 4 with chunks of <=128
  bool staticFirst = true; // each CTA's first item fixed before the routing is known, its weights loaded early
  bool signal = true;      // v2: a signaler warp publishes finished up items (the consumers do not wait
                           // for their H stores to reach the L2 before the next item; run 7: -5.6 us)
  bool fuse = false;        // v2, top-1: the routing (top-k, counts, positions, the packed copy) runs inside
                           // the ffn kernel, launched right after the router GEMM: its consumers route while
                           // its producer already streams weights (a grid barrier; no route kernel)
  int split = 1;           // v2, top-1: down items of the last `tail` experts split into this many parts (2-4) over
  int tail = 8;            // d_ff (fp32 partials published through the signaler warp; the last part waits for
                           // them and sums in order, one L2 round trip): a shorter tail of long items
  bool overlap = false;    // v2: one stage's wgmma group kept in flight while the next is issued
  bool times = false;
  int staticStages = -1;   // MOE_GROUPED_STATIC_STAGES (with FUSE): stages of the first item loaded before the
                           // routing is known (-1: all, 0: none)
  int half = 9;            // MOE_GROUPED_HALF=n (v2, not with FUSE or SPLIT): the down items of the last n experts
                           // as two items of 128 weight rows each (half the bytes of a 256-row item): shorter
                           // last items for the tail (9 = lag + 1: the list's final run of down items; runs
                           // 17-18: -2.1 to -2.4 us uniform, -1.0 to -1.2 Zipf; 0 is off)
  int halfN = 96;          // MOE_GROUPED_HALF_N=t: also the down items of every expert with at most t tokens (96:
                           // one token chunk; with the wave below, run 19: -3.1 / -0.4 us against HALF=9 alone,
                           // -5.1 / -1.6 against neither; 0 is off)
  int wave = 100;          // MOE_GROUPED_WAVE=p: the down items of the last experts, at most p% of the CTAs' count,
                           // end the work list after every up item (a last wave of equal items; 0: off; the
                           // default since run 19, with HALF_N: a wave of half items reached together)
  bool flagWait = false;    // MOE_GROUPED_FLAGWAIT=1 (route kernel): the ffn kernel waits for the route blocks'
                           // arrivals on a counter, not for the route grid's completion (griddepcontrol.wait)
  bool packed = true;       // v2: the kernel streams copies of the expert weights prepacked once in its tile order
                           // (each TMA box of 256 rows x 64 k one contiguous 32 KB block, not 256 rows of 128 B
                           // 1.5-6 KB apart; run 16: -1.1 / -2.0 us); MOE_GROUPED_PACKED=0 reads the weights in place
  int routeTpw = 1;         // MOE_GROUPED_ROUTE_TPW (2, 4, 8): tokens per warp of the route kernel, on that many
                           // times fewer SMs (the ffn kernel's CTAs start on the others meanwhile)      // MOE_GROUPED_TIMES=1: the ffn kernel records per-CTA timestamps (timesSummary())
  static GroupedTuning fromEnvironment();
};

class GroupedFfn {
 public:
  // Empty string when the fast path can run this shape on this device, else why not.
  static std::string unsupportedReason(const GroupedShape& s, bool bf16);

  GroupedFfn(const GroupedShape& s, const std::vector<__nv_bfloat16*>& w1t,
             const std::vector<__nv_bfloat16*>& w2t, cudaStream_t stream);
  ~GroupedFfn();
  GroupedFfn(const GroupedFfn&) = delete;
  GroupedFfn& operator=(const GroupedFfn&) = delete;

  // After top-k of `layer` is enqueued: pack, ffn and (top-k > 1) combine into `out`.
  void run(int layer, const __nv_bfloat16* x, const int* assignExpert, const float* assignGate,
           int* assignPos, int* expertCount, __nv_bfloat16* out);
  // When fusedRoute(): after the router GEMM of `layer` is enqueued, top-k + pack as one kernel
  // (writing assignExpert/assignGate/assignPos/expertCount as the top-k and slot kernels would),
  // then ffn into `out`.
  bool fusedRoute() const { return (tune_.route && routeBlocks_ > 0) || fusedFfn_; }
  // MOE_GROUPED_WAVE: the most down items the last wave takes (0: off)
  int waveItems() const { return tune_.wave > 0 ? std::max(1, tune_.wave * smCount_ / 100) : 0; }
  // Whether runRouted routes inside the ffn kernel itself (MOE_GROUPED_FUSE=1 and a shape it takes).
  bool routesInFfn() const { return fusedFfn_; }
  void runRouted(int layer, const __nv_bfloat16* x, const float* logits, const float* bias, int* assignExpert,
                 float* assignGate, int* assignPos, int* expertCount, __nv_bfloat16* out);
  // Fills the intermediate buffers with NaN so that a row nobody wrote shows up in the check.
  void poison();
  const GroupedTuning& tuning() const { return tune_; }
  std::string describe() const;
  // MOE_GROUPED_TIMES=1: where the last launch's CTAs spent their time (one line), else "".
  std::string timesSummary() const;
  // For device/grouped_test.cu: the packed hidden activation [rows][d_ff] and expert offsets.
  const __nv_bfloat16* hidden() const { return hPacked_; }
  const int* offsets() const { return offsets_; }

 private:
  GroupedShape s_;
  GroupedTuning tune_;
  cudaStream_t stream_;
  struct InKernelRoute {
    const float* logits = nullptr;
    const float* bias = nullptr;
    const __nv_bfloat16* x = nullptr;
    int* assignExpert = nullptr;
    float* assignGate = nullptr;
    int* assignPos = nullptr;
  };
  void launchFfn(int layer, const float* assignGate, int* expertCount, __nv_bfloat16* out,
                 const InKernelRoute* route = nullptr, bool flagWait = false);
  bool fusedFfn_ = false;
  int splitK_ = 1, splitM_ = 0, splitRows_ = 0;
  int halfTail_ = 0, halfMaxN_ = 0;  // MOE_GROUPED_HALF, MOE_GROUPED_HALF_N where they apply
  float* partials_ = nullptr;
  unsigned* splitCount_ = nullptr;
  unsigned long long* times_ = nullptr;
  unsigned long long* routeTimes_ = nullptr;  // MOE_GROUPED_TIMES: the route kernel's blocks
  int* fuseCounts_ = nullptr;
  unsigned* fuseBarrier_ = nullptr;
  int smCount_ = 0, staticItems_ = 0, maxItems_ = 0, tiles1_ = 0, tiles2_ = 0;
  int routeBlocks_ = 0, routeSmem_ = 0, chunk_ = 128;
  int* blockCounts_ = nullptr;
  unsigned* barrier_ = nullptr;
  unsigned* routeReady_ = nullptr;           // MOE_GROUPED_FLAGWAIT: the route blocks' arrivals, ever growing
  unsigned long long routeLaunches_ = 0;     // route launches that counted into it
  std::vector<CUtensorMap> mapW1_, mapW2_, mapW2h_;  // mapW2h_: w2 in 128-row boxes (MOE_GROUPED_HALF)
  std::vector<__nv_bfloat16*> packedW_;  // MOE_GROUPED_PACKED: per layer, W1 and W2 in tile order
  void* tokenMaps_ = nullptr;  // v2's token tensor maps, in device memory
  CUtensorMap mapX_{}, mapH_{};
  __nv_bfloat16 *xPacked_ = nullptr, *hPacked_ = nullptr, *yPacked_ = nullptr;
  int *rowOf_ = nullptr, *tokenOf_ = nullptr, *offsets_ = nullptr, *listTotal_ = nullptr, *queue_ = nullptr;
  unsigned* done1_ = nullptr;
  float* gateOf_ = nullptr;
  int4* list_ = nullptr;
};
