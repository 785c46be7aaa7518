#include "moe.cuh"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "grouped.cuh"
#include "kernels.cuh"
#include "nvtx_ranges.hpp"

void cudaCheck(cudaError_t e, const char* what, const char* file, int line) {
  if (e == cudaSuccess) return;
  std::fprintf(stderr, "moe-workload: CUDA error %s (%s) at %s:%d: %s\n", cudaGetErrorName(e),
               cudaGetErrorString(e), file, line, what);
  std::exit(1);
}

void cublasCheck(cublasStatus_t s, const char* what, const char* file, int line) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  std::fprintf(stderr, "moe-workload: cuBLAS error %d at %s:%d: %s\n", int(s), file, line, what);
  std::exit(1);
}

namespace {

constexpr size_t kWorkspaceBytes = 32u << 20;  // cuBLAS' recommendation for Hopper

template <typename T> cudaDataType_t dataType();
template <> cudaDataType_t dataType<float>() { return CUDA_R_32F; }
template <> cudaDataType_t dataType<__nv_bfloat16>() { return CUDA_R_16BF; }
template <typename T> constexpr const char* kDtypeName = std::is_same_v<T, float> ? "fp32" : "bf16";

template <typename P>
P* deviceAlloc(size_t count) {
  P* p = nullptr;
  CUDA_CHECK(cudaMalloc(&p, count * sizeof(P)));
  CUDA_CHECK(cudaMemset(p, 0, count * sizeof(P)));
  return p;
}

// Row-major Y[rows, n] = X[rows, k] · W[k, n]: in cuBLAS' column-major terms Yᵀ = Wᵀ · Xᵀ.
// The router weight is stored [k][n] like that.
void gemmRowMajor(cublasHandle_t h, cudaDataType_t dt, int rows, int k, int n, const void* x,
                  const void* w, void* y, cudaDataType_t outType) {
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n, rows, k, &alpha, w, dt, n, x, dt, k,
                            &beta, y, outType, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

// The same with an expert weight stored like nn.Linear's, W[n][k] (Y = X · Wᵀ).
void gemmLinear(cublasHandle_t h, cudaDataType_t dt, int rows, int k, int n, const void* x,
                const void* w, void* y) {
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &alpha, w, dt, k, x, dt, k,
                            &beta, y, dt, n, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

void gemmLinearBatched(cublasHandle_t h, cudaDataType_t dt, int rows, int k, int n, const void* x,
                       const void* w, void* y, int batch) {
  const float alpha = 1.f, beta = 0.f;
  CUBLAS_CHECK(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, n, rows, k, &alpha, w, dt, k,
                                          (long long)k * n, x, dt, k, (long long)rows * k, &beta, y,
                                          dt, n, (long long)rows * n, batch, CUBLAS_COMPUTE_32F,
                                          CUBLAS_GEMM_DEFAULT));
}

}  // namespace

template <typename T>
MoeWorkload<T>::MoeWorkload(const Options& o) : o_(o), dtype_(dataType<T>()) {
  const int E = o.experts, d = o.dModel, ff = o.dFf;
  assignments_ = o.tokens * o.topk;
  capacity_ = int(std::ceil(o.capacityFactor * assignments_ / E));
  CUDA_CHECK(cudaStreamCreateWithFlags(&main_, cudaStreamNonBlocking));
  for (int l = 0; l < o.layers; ++l) {
    w1_.push_back(deviceAlloc<T>(size_t(E) * d * ff));
    w2_.push_back(deviceAlloc<T>(size_t(E) * ff * d));
    wr_.push_back(deviceAlloc<T>(size_t(d) * E));
    const uint64_t s = o.seed * 1000003ull + 17ull * l;
    launchFillUniform(w1_[l], size_t(E) * d * ff, std::sqrt(3.f / d), s + 1, main_);
    // √2 keeps the activation scale through the ReLU so stacked layers stay well scaled.
    launchFillUniform(w2_[l], size_t(E) * ff * d, std::sqrt(6.f / ff), s + 2, main_);
    // Router logits with std ≈ 1.3 (like Gumbel noise) make a Zipf log-prior sample experts ∝ 1/rank^s.
    launchFillUniform(wr_[l], size_t(d) * E, 3.9f / std::sqrt(float(d)), s + 3, main_);
  }
  for (int l = 0; l <= o.layers; ++l) act_.push_back(deviceAlloc<T>(size_t(o.tokens) * d));
  launchFillUniform(act_[0], size_t(o.tokens) * d, 1.f, o.seed * 7919ull + 5, main_);
  xDispatch_ = deviceAlloc<T>(size_t(E) * capacity_ * d);
  hidden_ = deviceAlloc<T>(size_t(E) * capacity_ * ff);
  yDispatch_ = deviceAlloc<T>(size_t(E) * capacity_ * d);
  logits_ = deviceAlloc<float>(size_t(o.tokens) * E);
  bias_ = deviceAlloc<float>(E);
  std::vector<float> bias(E, 0.f);
  if (o.zipf)
    for (int e = 0; e < E; ++e) bias[e] = float(-o.zipfExponent * std::log(double(e + 1)));
  CUDA_CHECK(cudaMemcpy(bias_, bias.data(), E * sizeof(float), cudaMemcpyHostToDevice));
  assignExpert_ = deviceAlloc<int>(assignments_);
  assignPos_ = deviceAlloc<int>(assignments_);
  assignGate_ = deviceAlloc<float>(assignments_);
  expertCount_ = deviceAlloc<int>(E);
  CUDA_CHECK(cudaMallocHost(&hostCounts_, sizeof(int) * E * o.layers));
  counts_.assign(o.layers, std::vector<int>(E, 0));

  CUBLAS_CHECK(cublasCreate(&mainHandle_));
  CUBLAS_CHECK(cublasSetStream(mainHandle_, main_));
  const int nStreams = o.streams > 0 && o.streams < E ? o.streams : E;
  // One handle and workspace per stream: handles sharing a workspace across concurrent streams
  // would race, and an explicit workspace keeps cuBLAS from allocating during graph capture.
  for (int i = 0; i <= nStreams; ++i) {
    cublasHandle_t h = mainHandle_;
    cudaStream_t s = main_;
    if (i < nStreams) {
      CUDA_CHECK(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
      CUBLAS_CHECK(cublasCreate(&h));
      CUBLAS_CHECK(cublasSetStream(h, s));  // resets the workspace, so it is set after
      streams_.push_back(s);
      handles_.push_back(h);
      cudaEvent_t ev;
      CUDA_CHECK(cudaEventCreateWithFlags(&ev, cudaEventDisableTiming));
      joins_.push_back(ev);
    }
    void* ws = deviceAlloc<char>(kWorkspaceBytes);
    workspaces_.push_back(ws);
    CUBLAS_CHECK(cublasSetWorkspace(h, ws, kWorkspaceBytes));
  }
  CUDA_CHECK(cudaEventCreateWithFlags(&fork_, cudaEventDisableTiming));
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    GroupedShape gs;
    gs.experts = E;
    gs.tokens = o.tokens;
    gs.topk = o.topk;
    gs.dModel = d;
    gs.dFf = ff;
    gs.capacity = capacity_;
    gs.layers = o.layers;
    groupedWhyNot_ = GroupedFfn::unsupportedReason(gs, true);
    if (groupedWhyNot_.empty()) grouped_ = std::make_unique<GroupedFfn>(gs, w1_, w2_, main_);
  } else {
    groupedWhyNot_ = GroupedFfn::unsupportedReason(GroupedShape{}, false);
  }
  CUDA_CHECK(cudaStreamSynchronize(main_));
}

template <typename T>
MoeWorkload<T>::~MoeWorkload() {
  cudaDeviceSynchronize();
  grouped_.reset();
  if (graphExec_) cudaGraphExecDestroy(graphExec_);
  for (auto h : handles_) cublasDestroy(h);
  cublasDestroy(mainHandle_);
  for (auto s : streams_) cudaStreamDestroy(s);
  for (auto e : joins_) cudaEventDestroy(e);
  cudaEventDestroy(fork_);
  cudaStreamDestroy(main_);
  for (auto* v : {&w1_, &w2_, &wr_, &act_})
    for (T* p : *v) cudaFree(p);
  for (void* p : workspaces_) cudaFree(p);
  for (void* p : {(void*)xDispatch_, (void*)hidden_, (void*)yDispatch_, (void*)logits_, (void*)bias_,
                  (void*)assignGate_, (void*)assignExpert_, (void*)assignPos_, (void*)expertCount_})
    cudaFree(p);
  cudaFreeHost(hostCounts_);
}

template <typename T>
double MoeWorkload<T>::expertWeightBytes() const {
  return double(o_.layers) * o_.experts * 2.0 * o_.dModel * o_.dFf * sizeof(T);
}

template <typename T>
std::string MoeWorkload<T>::groupedPath() const {
  if (grouped_) return grouped_->describe();
  return "cuBLAS strided-batched GEMMs over capacity slices (fast path off: " + groupedWhyNot_ + ")";
}

template <typename T>
std::string MoeWorkload<T>::groupedTimes() const {
  return grouped_ ? grouped_->timesSummary() : std::string();
}

template <typename T>
double MoeWorkload<T>::weightCopyUs(int reps) {
  const size_t half = size_t(o_.experts) * o_.dModel * o_.dFf;  // elements of W1 (and of W2)
  T* scratch = nullptr;
  CUDA_CHECK(cudaMalloc(&scratch, 2 * half * sizeof(T)));
  cudaEvent_t a, b;
  CUDA_CHECK(cudaEventCreate(&a));
  CUDA_CHECK(cudaEventCreate(&b));
  std::vector<double> us;
  for (int i = 0; i < reps + 2; ++i) {
    CUDA_CHECK(cudaEventRecord(a, main_));
    for (int l = 0; l < o_.layers; ++l) {
      CUDA_CHECK(cudaMemcpyAsync(scratch, w1_[l], half * sizeof(T), cudaMemcpyDeviceToDevice, main_));
      CUDA_CHECK(cudaMemcpyAsync(scratch + half, w2_[l], half * sizeof(T), cudaMemcpyDeviceToDevice, main_));
    }
    CUDA_CHECK(cudaEventRecord(b, main_));
    CUDA_CHECK(cudaEventSynchronize(b));
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, a, b));
    if (i >= 2) us.push_back(ms * 1000.0);  // two warm-up copies
  }
  cudaEventDestroy(a);
  cudaEventDestroy(b);
  CUDA_CHECK(cudaFree(scratch));
  std::sort(us.begin(), us.end());
  return us.size() % 2 ? us[us.size() / 2] : 0.5 * (us[us.size() / 2 - 1] + us[us.size() / 2]);
}

template <typename T>
void MoeWorkload<T>::poison() {
  const size_t E = o_.experts, d = o_.dModel, ff = o_.dFf, cap = capacity_;
  CUDA_CHECK(cudaStreamSynchronize(main_));
  for (int l = 1; l <= o_.layers; ++l) CUDA_CHECK(cudaMemset(act_[l], 0xff, size_t(o_.tokens) * d * sizeof(T)));
  CUDA_CHECK(cudaMemset(xDispatch_, 0xff, E * cap * d * sizeof(T)));
  CUDA_CHECK(cudaMemset(hidden_, 0xff, E * cap * ff * sizeof(T)));
  CUDA_CHECK(cudaMemset(yDispatch_, 0xff, E * cap * d * sizeof(T)));
  if (grouped_) grouped_->poison();
  CUDA_CHECK(cudaDeviceSynchronize());
}

template <typename T>
void MoeWorkload<T>::hostLayer(int layer, std::vector<float>& w1, std::vector<float>& w2, std::vector<float>& x,
                               std::vector<int>& expert, std::vector<int>& pos, std::vector<float>& gate) const {
  const size_t nw = size_t(o_.experts) * o_.dModel * o_.dFf, nx = size_t(o_.tokens) * o_.dModel;
  const size_t na = size_t(assignments_);
  auto fetch = [](const T* src, size_t n, std::vector<float>& dst) {
    std::vector<T> raw(n);
    CUDA_CHECK(cudaMemcpy(raw.data(), src, n * sizeof(T), cudaMemcpyDeviceToHost));
    dst.resize(n);
    for (size_t i = 0; i < n; ++i) dst[i] = float(raw[i]);
  };
  CUDA_CHECK(cudaDeviceSynchronize());
  fetch(w1_[layer], nw, w1);
  fetch(w2_[layer], nw, w2);
  fetch(act_[layer], nx, x);
  expert.resize(na);
  pos.resize(na);
  gate.resize(na);
  CUDA_CHECK(cudaMemcpy(expert.data(), assignExpert_, na * sizeof(int), cudaMemcpyDeviceToHost));
  CUDA_CHECK(cudaMemcpy(pos.data(), assignPos_, na * sizeof(int), cudaMemcpyDeviceToHost));
  CUDA_CHECK(cudaMemcpy(gate.data(), assignGate_, na * sizeof(float), cudaMemcpyDeviceToHost));
}

template <typename T>
void MoeWorkload<T>::routeLayer(int layer) {
  gemmRowMajor(mainHandle_, dtype_, o_.tokens, o_.dModel, o_.experts, act_[layer], wr_[layer],
               logits_, CUDA_R_32F);
  launchRouterTopK(logits_, bias_, o_.tokens, o_.experts, o_.topk, assignExpert_, assignGate_, main_);
  launchAssignSlots(assignExpert_, assignments_, o_.experts, capacity_, assignPos_, expertCount_, main_);
  launchDispatch(act_[layer], assignExpert_, assignPos_, o_.tokens, assignments_, o_.dModel,
                 capacity_, xDispatch_, main_);
}

template <typename T>
void MoeWorkload<T>::expertFfn(cublasHandle_t h, cudaStream_t s, int layer, int e, int rows) {
  const size_t d = o_.dModel, ff = o_.dFf, slot = size_t(e) * capacity_;
  T* hid = hidden_ + slot * ff;
  gemmLinear(h, dtype_, rows, int(d), int(ff), xDispatch_ + slot * d, w1_[layer] + e * d * ff, hid);
  launchRelu(hid, size_t(rows) * ff, s);
  gemmLinear(h, dtype_, rows, int(ff), int(d), hid, w2_[layer] + e * ff * d, yDispatch_ + slot * d);
}

template <typename T>
void MoeWorkload<T>::expertsSequential(int layer, bool annotate) {
  int* counts = hostCounts_ + layer * o_.experts;
  CUDA_CHECK(cudaMemcpyAsync(counts, expertCount_, sizeof(int) * o_.experts, cudaMemcpyDeviceToHost, main_));
  CUDA_CHECK(cudaStreamSynchronize(main_));
  for (int e = 0; e < o_.experts; ++e) {
    counts_[layer][e] = counts[e];
    if (annotate) pushRange(expertRangeName(e, o_.dModel, o_.dFf, kDtypeName<T>), counts[e]);
    if (counts[e] > 0) expertFfn(mainHandle_, main_, layer, e, counts[e]);
    if (annotate) popRange();
  }
}

template <typename T>
void MoeWorkload<T>::expertsStreams(int layer, bool readBack, bool annotate) {
  int* counts = hostCounts_ + layer * o_.experts;
  const int nStreams = int(streams_.size());
  CUDA_CHECK(cudaEventRecord(fork_, main_));
  for (int i = 0; i < nStreams && i < o_.experts; ++i) CUDA_CHECK(cudaStreamWaitEvent(streams_[i], fork_, 0));
  for (int e = 0; e < o_.experts; ++e) {
    const int si = e % nStreams;
    int rows = capacity_;
    // Routing is deterministic, so the counts read back by the reference pass are this pass's
    // counts too: the payload is known before any read-back.
    if (annotate) pushRange(expertRangeName(e, o_.dModel, o_.dFf, kDtypeName<T>), counts_[layer][e]);
    if (readBack) {
      // What `x[mask]` costs in PyTorch: the host must learn the row count before it can launch.
      CUDA_CHECK(cudaMemcpyAsync(counts + e, expertCount_ + e, sizeof(int), cudaMemcpyDeviceToHost, streams_[si]));
      CUDA_CHECK(cudaStreamSynchronize(streams_[si]));
      rows = counts[e];
    }
    if (rows > 0) expertFfn(handles_[si], streams_[si], layer, e, rows);
    if (annotate) popRange();
  }
  for (int i = 0; i < nStreams && i < o_.experts; ++i) {
    CUDA_CHECK(cudaEventRecord(joins_[i], streams_[i]));
    CUDA_CHECK(cudaStreamWaitEvent(main_, joins_[i], 0));
  }
}

template <typename T>
void MoeWorkload<T>::expertsGrouped(int layer) {
  const int E = o_.experts, d = o_.dModel, ff = o_.dFf;
  gemmLinearBatched(mainHandle_, dtype_, capacity_, d, ff, xDispatch_, w1_[layer], hidden_, E);
  launchRelu(hidden_, size_t(E) * capacity_ * ff, main_);
  gemmLinearBatched(mainHandle_, dtype_, capacity_, ff, d, hidden_, w2_[layer], yDispatch_, E);
}

template <typename T>
void MoeWorkload<T>::prepare(Mode m) {
  if (m != Mode::Graph || graphExec_) return;
  cudaGraph_t graph;
  CUDA_CHECK(cudaStreamBeginCapture(main_, cudaStreamCaptureModeThreadLocal));
  runIteration(Mode::Streams, false);
  CUDA_CHECK(cudaStreamEndCapture(main_, &graph));
  CUDA_CHECK(cudaGraphInstantiate(&graphExec_, graph, 0));
  CUDA_CHECK(cudaGraphDestroy(graph));
}

template <typename T>
void MoeWorkload<T>::runIteration(Mode m, bool annotate) {
  if (m == Mode::Graph) {
    CUDA_CHECK(cudaGraphLaunch(graphExec_, main_));
    return;
  }
  for (int l = 0; l < o_.layers; ++l) {
    if (annotate) pushRange("layer " + std::to_string(l));
    if (m == Mode::Grouped && grouped_) {
      if constexpr (std::is_same_v<T, __nv_bfloat16>) {
        // Router GEMM, top-k, then pack + the persistent kernel: no slot, dispatch, ReLU or
        // combine kernels, and every launch after the router GEMM chained by programmatic
        // dependent launch.
        gemmRowMajor(mainHandle_, dtype_, o_.tokens, o_.dModel, o_.experts, act_[l], wr_[l], logits_,
                     CUDA_R_32F);
        if (grouped_->fusedRoute()) {
          grouped_->runRouted(l, act_[l], logits_, bias_, assignExpert_, assignGate_, assignPos_, expertCount_,
                              act_[l + 1]);
        } else {
          launchRouterTopK(logits_, bias_, o_.tokens, o_.experts, o_.topk, assignExpert_, assignGate_, main_,
                           grouped_->tuning().pdl);
          grouped_->run(l, act_[l], assignExpert_, assignGate_, assignPos_, expertCount_, act_[l + 1]);
        }
      }
      if (annotate) popRange();
      continue;
    }
    routeLayer(l);
    switch (m) {
      case Mode::Sequential: expertsSequential(l, annotate); break;
      case Mode::StreamsSync: expertsStreams(l, true, annotate); break;
      case Mode::Streams: expertsStreams(l, false, annotate); break;
      case Mode::Grouped: expertsGrouped(l); break;
      case Mode::Graph: break;
    }
    launchCombine(yDispatch_, assignExpert_, assignPos_, assignGate_, o_.tokens, o_.topk, o_.dModel,
                  capacity_, act_[l + 1], main_);
    if (annotate) popRange();
  }
  CUDA_CHECK(cudaGetLastError());
}

template <typename T>
std::vector<float> MoeWorkload<T>::output() const {
  const size_t n = size_t(o_.tokens) * o_.dModel;
  std::vector<T> raw(n);
  CUDA_CHECK(cudaStreamSynchronize(main_));
  CUDA_CHECK(cudaMemcpy(raw.data(), act_[o_.layers], n * sizeof(T), cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = float(raw[i]);
  return out;
}

template class MoeWorkload<float>;
template class MoeWorkload<__nv_bfloat16>;
