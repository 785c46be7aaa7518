// One (or --layers) MoE FFN layer(s) on the GPU, runnable in each execution mode. The router,
// capacity slots, dispatch and combine are shared; the modes differ only in how the expert FFNs
// (GEMM → ReLU → GEMM per expert) are launched:
//   sequential    one stream; expert token counts read back once per layer, exact-size GEMMs
//   streams-sync  a stream per expert (or --streams K); each expert's count read back with a
//                 4-byte cudaMemcpyAsync + cudaStreamSynchronize first (boolean-mask indexing)
//   streams       the same streams, no read-back: each expert runs on its fixed capacity slice
//   grouped       all experts in one pass with no read-back: on Hopper in bf16, one persistent
//                 grouped-GEMM kernel over exact token counts (grouped.cuh); elsewhere one
//                 strided-batched cuBLAS GEMM per projection over all capacity slices
//   graph         the streams loop captured once into a CUDA graph and replayed
// Expert weights are stored like nn.Linear's: W1 [experts][d_ff][d_model], W2 [experts][d_model][d_ff].
#pragma once
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <memory>
#include <string>
#include <vector>

#include "options.hpp"

class GroupedFfn;

template <typename T>
class MoeWorkload {
 public:
  explicit MoeWorkload(const Options& o);
  ~MoeWorkload();
  MoeWorkload(const MoeWorkload&) = delete;
  MoeWorkload& operator=(const MoeWorkload&) = delete;

  int capacity() const { return capacity_; }
  int streamCount() const { return int(streams_.size()); }
  cudaStream_t mainStream() const { return main_; }
  double expertWeightBytes() const;
  // What `grouped` runs here: the persistent kernel, or the cuBLAS fallback and why.
  std::string groupedPath() const;
  // MOE_GROUPED_TIMES=1: where the last grouped launch's CTAs spent their time (one line), else "".
  std::string groupedTimes() const;
  // Time of a device-to-device copy of every expert weight (median of `reps`), in µs.
  double weightCopyUs(int reps);
  // NaN into every output and intermediate buffer, so that a row a mode fails to write fails
  // the check instead of keeping the previous mode's value.
  void poison();
  // Host copies for the float reference: expert weights of a layer (as float, nn.Linear
  // layout), the layer's input, and its routing (expert, kept position or -1, gate per assignment).
  void hostLayer(int layer, std::vector<float>& w1, std::vector<float>& w2, std::vector<float>& x,
                 std::vector<int>& expert, std::vector<int>& pos, std::vector<float>& gate) const;

  // Graph mode captures its graph here, so capture cost stays out of the timed iterations.
  void prepare(Mode m);
  // Enqueues one forward pass on the main stream (sync modes block the host inside).
  // annotate: push NVTX ranges per layer and per expert (payload: the expert's token count).
  void runIteration(Mode m, bool annotate);
  // Token counts per layer and expert as the last sequential pass read them back.
  const std::vector<std::vector<int>>& routedCounts() const { return counts_; }
  std::vector<float> output() const;  // final activations, host copy as float

 private:
  void routeLayer(int layer);
  void expertFfn(cublasHandle_t h, cudaStream_t s, int layer, int e, int rows);
  void expertsSequential(int layer, bool annotate);
  void expertsStreams(int layer, bool readBack, bool annotate);
  void expertsGrouped(int layer);
  bool fastGrouped() const { return bool(grouped_); }

  Options o_;
  int capacity_ = 0;
  int assignments_ = 0;
  cudaDataType_t dtype_;
  std::vector<T*> w1_, w2_, wr_, act_;
  T *xDispatch_ = nullptr, *hidden_ = nullptr, *yDispatch_ = nullptr;
  float *logits_ = nullptr, *bias_ = nullptr, *assignGate_ = nullptr;
  int *assignExpert_ = nullptr, *assignPos_ = nullptr, *expertCount_ = nullptr;
  int* hostCounts_ = nullptr;  // pinned, [layers × experts]
  std::vector<std::vector<int>> counts_;
  cudaStream_t main_ = nullptr;
  std::vector<cudaStream_t> streams_;
  cublasHandle_t mainHandle_ = nullptr;
  std::vector<cublasHandle_t> handles_;
  std::vector<void*> workspaces_;
  cudaEvent_t fork_ = nullptr;
  std::vector<cudaEvent_t> joins_;
  cudaGraphExec_t graphExec_ = nullptr;
  std::unique_ptr<GroupedFfn> grouped_;
  std::string groupedWhyNot_;
};

#define CUDA_CHECK(x) cudaCheck((x), #x, __FILE__, __LINE__)
#define CUBLAS_CHECK(x) cublasCheck((x), #x, __FILE__, __LINE__)
void cudaCheck(cudaError_t e, const char* what, const char* file, int line);
void cublasCheck(cublasStatus_t s, const char* what, const char* file, int line);
