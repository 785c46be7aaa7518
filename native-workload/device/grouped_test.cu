// grouped_test: checks and times the grouped fast path (pack + persistent ffn kernel) alone,
// without cuBLAS. Routing is drawn on the host (uniform, Zipf, top-2), so every case has fresh
// random inputs; intermediate and output buffers are poisoned with NaN first. Checks, against a
// float64 host reference on sampled rows: the expert counts and offsets, the hidden activation H
// (first GEMM, ReLU, bf16) and the output (second GEMM from the GPU's own H, gate, scatter),
// zeroes for dropped tokens. Then times variants (MOE_GROUPED_* knobs) at switch-base-64.
//
//   nvcc -std=c++17 -O3 -gencode=arch=compute_90a,code=sm_90a -DMOE_GROUPED_SM90A=1 -Isrc \
//        device/grouped_test.cu src/grouped.cu src/kernels.cu -o grouped_test
//
// Exit 0 when every case passes, 3 on a mismatch, 1 on a CUDA error.
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "grouped.cuh"
#include "kernels.cuh"

using bf16 = __nv_bfloat16;

#define CK(x)                                                                                       \
  do {                                                                                              \
    cudaError_t e_ = (x);                                                                           \
    if (e_ != cudaSuccess) {                                                                        \
      std::fprintf(stderr, "CUDA error %s at %s:%d: %s\n", cudaGetErrorString(e_), __FILE__, __LINE__, #x); \
      std::exit(1);                                                                                 \
    }                                                                                               \
  } while (0)

// Zipf exponent that puts ~10x the mean on the top expert of 64 (1 / H(64, 0.85) = 10.07 / 64).
constexpr double kZipf10x = 0.85;

struct Case {
  std::string name;
  int experts, tokens, topk, dModel, dFf;
  double capacityFactor;
  double skew;  // 0: uniform; else Zipf with this exponent (expert e drawn with weight 1/(e+1)^skew)
  int rows;   // packed rows checked (0: all)
  unsigned seed;
};

std::vector<float> toHost(const bf16* p, size_t n) {
  std::vector<bf16> raw(n);
  CK(cudaMemcpy(raw.data(), p, n * sizeof(bf16), cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = float(raw[i]);
  return out;
}

struct Routing {
  std::vector<int> expert;  // [topk * tokens], a = k * tokens + t
  std::vector<float> gate;
};

Routing drawRouting(const Case& c, std::mt19937& rng) {
  Routing r;
  const int A = c.tokens * c.topk;
  r.expert.resize(A);
  r.gate.resize(A);
  std::vector<double> w(c.experts);
  for (int e = 0; e < c.experts; ++e) w[e] = c.skew > 0 ? std::pow(double(e + 1), -c.skew) : 1.0;
  std::discrete_distribution<int> pick(w.begin(), w.end());
  std::uniform_real_distribution<float> g(0.05f, 1.f);
  for (int t = 0; t < c.tokens; ++t) {
    std::vector<int> chosen;
    for (int k = 0; k < c.topk; ++k) {
      int e;
      do e = pick(rng); while (std::find(chosen.begin(), chosen.end(), e) != chosen.end());
      chosen.push_back(e);
      r.expert[k * c.tokens + t] = e;
      r.gate[k * c.tokens + t] = g(rng);
    }
  }
  return r;
}

struct Device {
  bf16 *w1 = nullptr, *w2 = nullptr, *x = nullptr, *out = nullptr;
  int *expert = nullptr, *pos = nullptr, *count = nullptr;
  float* gate = nullptr;
};

Device upload(const Case& c, const Routing& r, unsigned seed) {
  Device d;
  const size_t nw = size_t(c.experts) * c.dModel * c.dFf, A = size_t(c.tokens) * c.topk;
  CK(cudaMalloc(&d.w1, nw * sizeof(bf16)));
  CK(cudaMalloc(&d.w2, nw * sizeof(bf16)));
  CK(cudaMalloc(&d.x, size_t(c.tokens) * c.dModel * sizeof(bf16)));
  CK(cudaMalloc(&d.out, size_t(c.tokens) * c.dModel * sizeof(bf16)));
  CK(cudaMalloc(&d.expert, A * sizeof(int)));
  CK(cudaMalloc(&d.pos, A * sizeof(int)));
  CK(cudaMalloc(&d.count, c.experts * sizeof(int)));
  CK(cudaMalloc(&d.gate, A * sizeof(float)));
  launchFillUniform(d.w1, nw, std::sqrt(3.f / c.dModel), seed * 31ull + 1, 0);
  launchFillUniform(d.w2, nw, std::sqrt(6.f / c.dFf), seed * 31ull + 2, 0);
  launchFillUniform(d.x, size_t(c.tokens) * c.dModel, 1.f, seed * 31ull + 3, 0);
  CK(cudaMemcpy(d.expert, r.expert.data(), A * sizeof(int), cudaMemcpyHostToDevice));
  CK(cudaMemcpy(d.gate, r.gate.data(), A * sizeof(float), cudaMemcpyHostToDevice));
  CK(cudaDeviceSynchronize());
  return d;
}

void release(Device& d) {
  for (void* p : {(void*)d.w1, (void*)d.w2, (void*)d.x, (void*)d.out, (void*)d.expert, (void*)d.pos,
                  (void*)d.count, (void*)d.gate})
    cudaFree(p);
}

GroupedShape shapeOf(const Case& c) {
  GroupedShape s;
  s.experts = c.experts;
  s.tokens = c.tokens;
  s.topk = c.topk;
  s.dModel = c.dModel;
  s.dFf = c.dFf;
  s.capacity = int(std::ceil(c.capacityFactor * c.tokens * c.topk / c.experts));
  s.layers = 1;
  return s;
}

struct Err {
  double maxDiff = 0, maxRef = 0;
  long bad = 0, nonFinite = 0;
  void add(double got, double ref) {
    if (!std::isfinite(got)) { ++nonFinite; return; }
    maxDiff = std::max(maxDiff, std::fabs(got - ref));
    maxRef = std::max(maxRef, std::fabs(ref));
  }
  double rel() const { return nonFinite ? INFINITY : (maxRef > 0 ? maxDiff / maxRef : maxDiff); }
};

// Returns true when the case passes.
bool checkCase(const Case& c, const char* config) {
  std::mt19937 rng(c.seed);
  Routing r = drawRouting(c, rng);
  Device dev = upload(c, r, c.seed);
  const GroupedShape s = shapeOf(c);
  cudaStream_t st;
  CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
  GroupedFfn g(s, {dev.w1}, {dev.w2}, st);
  // The fused route kernel starts from the router's logits: logits that make the drawn expert
  // the arg-max by a margin (a small random bias added), and its gates are then whatever the
  // softmax gives, checked bit for bit against the top-k kernel of the other modes.
  const bool routed = g.fusedRoute();
  float *dLogits = nullptr, *dBias = nullptr;
  if (routed) {
    std::vector<float> logits(size_t(c.tokens) * c.experts), bias(c.experts);
    std::uniform_real_distribution<float> u(0.f, 1.f);
    for (int e = 0; e < c.experts; ++e) bias[e] = -0.1f * u(rng);
    for (int t = 0; t < c.tokens; ++t) {
      for (int e = 0; e < c.experts; ++e) logits[size_t(t) * c.experts + e] = -u(rng);
      logits[size_t(t) * c.experts + r.expert[t]] = 1.5f + u(rng);
    }
    CK(cudaMalloc(&dLogits, logits.size() * sizeof(float)));
    CK(cudaMalloc(&dBias, bias.size() * sizeof(float)));
    CK(cudaMemcpy(dLogits, logits.data(), logits.size() * sizeof(float), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(dBias, bias.data(), bias.size() * sizeof(float), cudaMemcpyHostToDevice));
    CK(cudaMemset(dev.expert, 0xff, size_t(c.tokens) * sizeof(int)));
    CK(cudaMemset(dev.gate, 0xff, size_t(c.tokens) * sizeof(float)));
  }
  auto runOnce = [&] {
    if (routed) g.runRouted(0, dev.x, dLogits, dBias, dev.expert, dev.gate, dev.pos, dev.count, dev.out);
    else g.run(0, dev.x, dev.expert, dev.gate, dev.pos, dev.count, dev.out);
  };
  g.poison();
  CK(cudaMemsetAsync(dev.out, 0xff, size_t(c.tokens) * c.dModel * sizeof(bf16), st));
  CK(cudaMemsetAsync(dev.pos, 0xff, size_t(c.tokens) * c.topk * sizeof(int), st));
  runOnce();
  CK(cudaGetLastError());
  CK(cudaStreamSynchronize(st));
  bool routeOk = true;
  if (routed) {
    std::vector<int> gotE(c.tokens), wantE(c.tokens);
    std::vector<float> gotG(c.tokens), wantG(c.tokens);
    int* e2;
    float* g2;
    CK(cudaMalloc(&e2, c.tokens * sizeof(int)));
    CK(cudaMalloc(&g2, c.tokens * sizeof(float)));
    launchRouterTopK(dLogits, dBias, c.tokens, c.experts, 1, e2, g2, 0, false);
    CK(cudaDeviceSynchronize());
    CK(cudaMemcpy(gotE.data(), dev.expert, c.tokens * sizeof(int), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gotG.data(), dev.gate, c.tokens * sizeof(float), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(wantE.data(), e2, c.tokens * sizeof(int), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(wantG.data(), g2, c.tokens * sizeof(float), cudaMemcpyDeviceToHost));
    long bad = 0;
    for (int t = 0; t < c.tokens; ++t)
      bad += gotE[t] != r.expert[t] || wantE[t] != r.expert[t] || std::memcmp(&gotG[t], &wantG[t], sizeof(float)) != 0;
    if (bad) std::printf("  %s: fused route: %ld tokens whose expert or gate differ from the top-k kernel's\n", c.name.c_str(), bad);
    routeOk = bad == 0;
    r.gate = gotG;
    cudaFree(e2);
    cudaFree(g2);
  }

  // Host routing: positions in assignment order, capacity, packed rows by expert.
  const int E = c.experts, T = c.tokens, A = T * c.topk, d = c.dModel, ff = c.dFf;
  std::vector<int> hist(E, 0), pos(A), cnt(E), off(E + 1, 0);
  for (int a = 0; a < A; ++a) pos[a] = hist[r.expert[a]]++;
  for (int e = 0; e < E; ++e) cnt[e] = std::min(hist[e], s.capacity);
  for (int e = 0; e < E; ++e) off[e + 1] = off[e] + cnt[e];
  std::vector<int> rowAssign(off[E]);
  for (int a = 0; a < A; ++a)
    if (pos[a] < s.capacity) rowAssign[off[r.expert[a]] + pos[a]] = a;
    else pos[a] = -1;
  std::vector<int> gotCount(E), gotOff(E), gotPos(A);
  CK(cudaMemcpy(gotCount.data(), dev.count, E * sizeof(int), cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(gotOff.data(), g.offsets(), E * sizeof(int), cudaMemcpyDeviceToHost));
  CK(cudaMemcpy(gotPos.data(), dev.pos, A * sizeof(int), cudaMemcpyDeviceToHost));
  bool ok = routeOk;
  for (int e = 0; e < E; ++e)
    if (gotCount[e] != cnt[e] || gotOff[e] != off[e]) {
      std::printf("  %s: expert %d count %d offset %d, want %d %d\n", c.name.c_str(), e, gotCount[e], gotOff[e],
                  cnt[e], off[e]);
      ok = false;
      break;
    }
  for (int a = 0; a < A && ok; ++a)
    if (gotPos[a] != pos[a]) {
      std::printf("  %s: assignment %d position %d, want %d\n", c.name.c_str(), a, gotPos[a], pos[a]);
      ok = false;
    }

  const std::vector<float> w1 = toHost(dev.w1, size_t(E) * ff * d), w2 = toHost(dev.w2, size_t(E) * d * ff);
  const std::vector<float> x = toHost(dev.x, size_t(T) * d), out = toHost(dev.out, size_t(T) * d);
  const std::vector<float> h = toHost(g.hidden(), size_t(off[E]) * ff);

  // Rows to check: all, or a sample including every expert's first and last row and token-tile edges.
  std::vector<int> rows;
  if (c.rows == 0 || c.rows >= off[E]) {
    for (int i = 0; i < off[E]; ++i) rows.push_back(i);
  } else {
    for (int e = 0; e < E && int(rows.size()) < c.rows; ++e) {
      if (!cnt[e]) continue;
      rows.push_back(off[e]);
      rows.push_back(off[e] + cnt[e] - 1);
      for (int t = 127; t < cnt[e]; t += 128) rows.push_back(off[e] + t), rows.push_back(off[e] + std::min(t + 1, cnt[e] - 1));
    }
    std::uniform_int_distribution<int> any(0, off[E] - 1);
    while (int(rows.size()) < 2 * c.rows) rows.push_back(any(rng));
  }
  Err eh, ey;
  int shown = 0;
  std::vector<double> yacc(size_t(T) * d, 0.0);
  std::vector<char> touched(T, 0);
  for (int row : rows) {
    const int a = rowAssign[row], e = r.expert[a], t = a % T;
    for (int j = 0; j < ff; ++j) {
      double acc = 0;
      const float* wr = &w1[(size_t(e) * ff + j) * d];
      for (int k = 0; k < d; ++k) acc += double(wr[k]) * x[size_t(t) * d + k];
      const double ref = std::max(acc, 0.0), got = h[size_t(row) * ff + j];
      eh.add(got, ref);
      if ((!std::isfinite(got) || std::fabs(got - ref) > 0.05 * std::max(1.0, std::fabs(ref))) && shown < 6) {
        std::printf("  %s: H row %d (expert %d, token %d, row %d of the expert) col %d: got %.4f want %.4f\n",
                    c.name.c_str(), row, e, t, row - off[e], j, got, ref);
        ++shown;
      }
    }
    if (c.topk == 1) {
      for (int col = 0; col < d; ++col) {
        double acc = 0;
        const float* wr = &w2[(size_t(e) * d + col) * ff];
        for (int j = 0; j < ff; ++j) acc += double(wr[j]) * h[size_t(row) * ff + j];
        const double ref = r.gate[a] * acc, got = out[size_t(t) * d + col];
        ey.add(got, ref);
        if ((!std::isfinite(got) || std::fabs(got - ref) > 0.05 * std::max(1.0, std::fabs(ref))) && shown < 12) {
          std::printf("  %s: out token %d (expert %d, row %d of the expert) col %d: got %.4f want %.4f\n",
                      c.name.c_str(), t, e, row - off[e], col, got, ref);
          ++shown;
        }
      }
    }
  }
  if (c.topk > 1 && c.rows == 0) {
    for (int a = 0; a < A; ++a) {
      const int t = a % T;
      touched[t] = 1;
      if (pos[a] < 0) continue;
      const int e = r.expert[a], row = off[e] + pos[a];
      for (int col = 0; col < d; ++col) {
        double acc = 0;
        const float* wr = &w2[(size_t(e) * d + col) * ff];
        for (int j = 0; j < ff; ++j) acc += double(wr[j]) * h[size_t(row) * ff + j];
        yacc[size_t(t) * d + col] += r.gate[a] * acc;
      }
    }
    for (int t = 0; t < T; ++t)
      for (int col = 0; col < d; ++col) ey.add(out[size_t(t) * d + col], yacc[size_t(t) * d + col]);
  }
  long droppedBad = 0, dropped = 0;
  if (c.topk == 1)
    for (int t = 0; t < T; ++t)
      if (pos[t] < 0) {
        ++dropped;
        for (int col = 0; col < d; ++col) droppedBad += out[size_t(t) * d + col] != 0.f;
      }
  // The kernels are deterministic (every output element is written by one thread, in a fixed
  // order of accumulation), so reruns on the same inputs must agree bit for bit: a difference is
  // a race (a missing wait, a read of a tile before it is written).
  long rerunDiff = 0;
  {
    std::vector<bf16> first(size_t(T) * d), again(size_t(T) * d);
    CK(cudaMemcpy(first.data(), dev.out, first.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
    for (int rep = 0; rep < 20 && rerunDiff == 0; ++rep) {
      CK(cudaMemsetAsync(dev.out, 0xff, size_t(T) * d * sizeof(bf16), st));
      g.poison();
      runOnce();
      CK(cudaGetLastError());
      CK(cudaStreamSynchronize(st));
      CK(cudaMemcpy(again.data(), dev.out, again.size() * sizeof(bf16), cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < again.size(); ++i)
        rerunDiff += std::memcmp(&first[i], &again[i], sizeof(bf16)) != 0;
    }
  }
  const double tolH = 1e-2, tolY = 2e-2;
  const bool pass = ok && eh.rel() <= tolH && ey.rel() <= tolY && droppedBad == 0 && rerunDiff == 0;
  std::printf("case %-14s %-20s experts %3d tokens %5d top-%d d %4d ff %4d cap %4d max/expert %4d dropped %4ld: "
              "H err %.2e (%zu rows), out err %.2e, dropped nonzero %ld, rerun diffs %ld -> %s\n",
              config, c.name.c_str(), E, T, c.topk, d, ff, s.capacity, *std::max_element(cnt.begin(), cnt.end()), dropped,
              eh.rel(), rows.size(), ey.rel(), droppedBad, rerunDiff, pass ? "ok" : "FAIL");
  CK(cudaStreamDestroy(st));
  release(dev);
  if (dLogits) cudaFree(dLogits);
  if (dBias) cudaFree(dBias);
  return pass;
}

// The router's top-k kernel (a warp per token) against a serial host scan: the same experts, the
// same gates to float rounding, on random logits (no ties) for sizes that are not multiples of
// the 8 tokens a block or the 32 experts a warp pass covers.
bool checkTopK() {
  bool allOk = true;
  for (int tc = 0; tc < 4; ++tc) {
    const int tokens = tc % 2 ? 1000 : 4096, experts = tc < 2 ? 64 : 100, topk = tc == 3 ? 2 : (tc == 1 ? 8 : 1);
    std::mt19937 rng(900 + tc);
    std::normal_distribution<float> nd(0.f, 1.3f);
    std::vector<float> logits(size_t(tokens) * experts), bias(experts);
    for (float& v : logits) v = nd(rng);
    for (int e = 0; e < experts; ++e) bias[e] = float(-0.57 * std::log(double(e + 1)));
    float *dl, *db, *dg;
    int* de;
    CK(cudaMalloc(&dl, logits.size() * sizeof(float)));
    CK(cudaMalloc(&db, experts * sizeof(float)));
    CK(cudaMalloc(&dg, size_t(tokens) * topk * sizeof(float)));
    CK(cudaMalloc(&de, size_t(tokens) * topk * sizeof(int)));
    CK(cudaMemcpy(dl, logits.data(), logits.size() * sizeof(float), cudaMemcpyHostToDevice));
    CK(cudaMemcpy(db, bias.data(), experts * sizeof(float), cudaMemcpyHostToDevice));
    launchRouterTopK(dl, db, tokens, experts, topk, de, dg, 0, false);
    CK(cudaGetLastError());
    std::vector<int> ge(size_t(tokens) * topk);
    std::vector<float> gg(size_t(tokens) * topk);
    CK(cudaMemcpy(ge.data(), de, ge.size() * sizeof(int), cudaMemcpyDeviceToHost));
    CK(cudaMemcpy(gg.data(), dg, gg.size() * sizeof(float), cudaMemcpyDeviceToHost));
    long badE = 0;
    double worstG = 0;
    for (int t = 0; t < tokens; ++t) {
      const float* row = &logits[size_t(t) * experts];
      double mx = -INFINITY, sum = 0;
      for (int e = 0; e < experts; ++e) mx = std::max(mx, double(row[e] + bias[e]));
      for (int e = 0; e < experts; ++e) sum += std::exp(double(row[e] + bias[e]) - mx);
      std::vector<int> chosen;
      std::vector<double> prob;
      double chosenSum = 0;
      for (int k = 0; k < topk; ++k) {
        int best = -1;
        float bv = -INFINITY;
        for (int e = 0; e < experts; ++e) {
          const float v = row[e] + bias[e];
          if (std::find(chosen.begin(), chosen.end(), e) == chosen.end() && (best < 0 || v > bv)) best = e, bv = v;
        }
        chosen.push_back(best);
        prob.push_back(std::exp(double(bv) - mx) / sum);
        chosenSum += prob.back();
      }
      for (int k = 0; k < topk; ++k) {
        const size_t a = size_t(k) * tokens + t;
        badE += ge[a] != chosen[k];
        const double want = topk == 1 ? prob[0] : prob[k] / chosenSum;
        worstG = std::max(worstG, std::fabs(gg[a] - want) / want);
      }
    }
    const bool ok = badE == 0 && worstG < 1e-5;
    std::printf("topk tokens %4d experts %3d top-%d: %ld wrong experts, gate max rel err %.2e -> %s\n", tokens, experts,
                topk, badE, worstG, ok ? "ok" : "FAIL");
    allOk &= ok;
    for (void* p : {(void*)dl, (void*)db, (void*)dg, (void*)de}) cudaFree(p);
  }
  return allOk;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

struct Variant {
  const char* name;
  const char* env;  // KEY=VALUE;KEY=VALUE
};

void applyEnv(const char* env) {
  for (const char* k : {"MOE_GROUPED_LAG", "MOE_GROUPED_PDL", "MOE_GROUPED_PREFETCH", "MOE_GROUPED_EVICT_FIRST",
                        "MOE_GROUPED_FIXED_N", "MOE_GROUPED_KERNEL", "MOE_GROUPED_DIAG",
                        "MOE_GROUPED_ROUTE", "MOE_GROUPED_AHEAD", "MOE_GROUPED_STAGES",
                        "MOE_GROUPED_SIGNAL", "MOE_GROUPED_STATIC", "MOE_GROUPED_FUSE", "MOE_GROUPED_SPLIT",
                        "MOE_GROUPED_TAIL", "MOE_GROUPED_TIMES", "MOE_GROUPED_OVERLAP",
                        "MOE_GROUPED_ROUTE_TPW", "MOE_GROUPED_WAVE",
                        "MOE_GROUPED_STATIC_STAGES", "MOE_GROUPED_PACKED", "MOE_GROUPED_FLAGWAIT",
                        "MOE_GROUPED_HALF", "MOE_GROUPED_HALF_N"})
    unsetenv(k);
  std::string s = env;
  size_t p = 0;
  while (p < s.size()) {
    size_t q = s.find(';', p);
    if (q == std::string::npos) q = s.size();
    const std::string kv = s.substr(p, q - p);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) setenv(kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(), 1);
    p = q + 1;
  }
}

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines reach a log even when a time limit kills the run
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (argc > 1 && std::string(argv[1]) == "--probe") {  // device/run.sh: does this binary load here?
    std::printf("grouped_test: loads\n");
    return 0;
  }
  cudaDeviceProp prop;
  CK(cudaGetDeviceProperties(&prop, 0));
  std::printf("grouped_test: %s, %d SMs, L2 %d MB\n", prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20);
  {
    const std::string why = GroupedFfn::unsupportedReason(shapeOf({"", 64, 4096, 1, 768, 3072, 1.25, 0, 0, 1}), true);
    if (!why.empty()) {
      std::printf("fast path unavailable: %s\n", why.c_str());
      return 1;
    }
  }
  std::vector<Case> cases = {
      {"small-tiles", 8, 1000, 1, 256, 512, 1.25, 0, 0, 11},
      {"small-zipf-drops", 8, 2000, 1, 128, 256, 1.0, 1, 0, 12},
      {"small-top2", 8, 1000, 2, 256, 512, 1.25, 0, 0, 13},
      {"small-empty-experts", 64, 300, 1, 128, 256, 4.0, 1, 0, 16},
      {"switch64-uniform", 64, 4096, 1, 768, 3072, 1.25, 0, 48, 14},
      {"switch64-zipf", 64, 4096, 1, 768, 3072, 16.0, kZipf10x, 48, 15},
      {"switch64-zipf-steep", 64, 4096, 1, 768, 3072, 64.0, 1.0, 48, 17},
  };
  // Every case with the default kernel (v2) and with v1; the switch-base-64 and top-2 cases with
  // the other work orders and knobs.
  struct Config {
    const char* name;
    const char* env;
    bool all;
  };
  const Config configs[] = {
      {"default", "", true},
      {"half9-only", "MOE_GROUPED_HALF_N=0;MOE_GROUPED_WAVE=0", true},
      {"no-halves-no-wave", "MOE_GROUPED_HALF=0;MOE_GROUPED_HALF_N=0;MOE_GROUPED_WAVE=0", true},
      {"half-all-unpacked", "MOE_GROUPED_HALF=64;MOE_GROUPED_PACKED=0", true},
      {"unpacked", "MOE_GROUPED_PACKED=0", true},
      {"half9-times-route0", "MOE_GROUPED_HALF=9;MOE_GROUPED_TIMES=1;MOE_GROUPED_ROUTE=0", false},
      {"flagwait", "MOE_GROUPED_FLAGWAIT=1", true},
      {"flagwait-packed-lag16", "MOE_GROUPED_FLAGWAIT=1;MOE_GROUPED_PACKED=1;MOE_GROUPED_LAG=16", false},
      {"flagwait-tpw4-times", "MOE_GROUPED_FLAGWAIT=1;MOE_GROUPED_ROUTE_TPW=4;MOE_GROUPED_TIMES=1", false},
      {"split2", "MOE_GROUPED_SPLIT=2;MOE_GROUPED_TAIL=9", true},
      {"packed-split2-wave", "MOE_GROUPED_PACKED=1;MOE_GROUPED_SPLIT=2;MOE_GROUPED_TAIL=64;MOE_GROUPED_WAVE=100", true},
      {"split4", "MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16", true},
      {"split2-all-signal0", "MOE_GROUPED_SPLIT=2;MOE_GROUPED_TAIL=64;MOE_GROUPED_SIGNAL=0", false},
      {"split3-all", "MOE_GROUPED_SPLIT=3;MOE_GROUPED_TAIL=64", false},
      {"split2-times", "MOE_GROUPED_SPLIT=2;MOE_GROUPED_TAIL=9;MOE_GROUPED_TIMES=1", false},
      {"fuse", "MOE_GROUPED_FUSE=1", true},
      {"fuse-static1", "MOE_GROUPED_FUSE=1;MOE_GROUPED_STATIC_STAGES=1", true},
      {"fuse-static0", "MOE_GROUPED_FUSE=1;MOE_GROUPED_STATIC_STAGES=0", false},
      {"wave", "MOE_GROUPED_WAVE=100", true},
      {"fuse-wave", "MOE_GROUPED_FUSE=1;MOE_GROUPED_WAVE=100", false},
      {"wave10-lag2", "MOE_GROUPED_WAVE=10;MOE_GROUPED_LAG=2", false},
      {"fuse-times", "MOE_GROUPED_FUSE=1;MOE_GROUPED_TIMES=1", false},
      {"fuse-wave-split4", "MOE_GROUPED_FUSE=1;MOE_GROUPED_WAVE=100;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16", false},
      {"fuse-split4", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=64", true},
      {"route0-split2", "MOE_GROUPED_ROUTE=0;MOE_GROUPED_SPLIT=2;MOE_GROUPED_TAIL=8", false},
      {"fuse-split3-lag-1", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=3;MOE_GROUPED_TAIL=12;MOE_GROUPED_LAG=-1", false},
      {"fuse-no-static", "MOE_GROUPED_FUSE=1;MOE_GROUPED_STATIC=0", false},
      {"fuse-split4-overlap", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16;MOE_GROUPED_OVERLAP=1", true},
      {"v1", "MOE_GROUPED_KERNEL=1;MOE_GROUPED_LAG=-1;MOE_GROUPED_ROUTE=0", false},
      {"route-tpw4", "MOE_GROUPED_ROUTE_TPW=4", true},
      {"route-tpw8-prefetch7", "MOE_GROUPED_ROUTE_TPW=8;MOE_GROUPED_PREFETCH=7", false},
      {"route-tpw2-overlap", "MOE_GROUPED_ROUTE_TPW=2;MOE_GROUPED_OVERLAP=1", false},
      {"times", "MOE_GROUPED_TIMES=1", false},
  };
  bool allOk = checkTopK();
  for (const Config& cfg : configs) {
    applyEnv(cfg.env);
    for (const Case& c : cases)
      if (cfg.all || c.name == "small-top2" || c.name.rfind("switch64", 0) == 0) allOk &= checkCase(c, cfg.name);
  }
  applyEnv("");
  if (!allOk) {
    std::printf("grouped_test: MISMATCH\n");
    return 3;
  }
  if (quick) return 0;

  // ---- timing at switch-base-64: top-k + pack + ffn per run (from the router's logits: the
  // layer less its router GEMM), median of 30 after 5 warm-ups ----
  const Variant variants[] = {
      {"default (v2, route kernel, signal)", ""},
      {"fuse (routing in the ffn kernel)", "MOE_GROUPED_FUSE=1"},
      {"fuse prefetch3", "MOE_GROUPED_FUSE=1;MOE_GROUPED_PREFETCH=3"},
      {"wave", "MOE_GROUPED_WAVE=100"},
      {"fuse wave", "MOE_GROUPED_FUSE=1;MOE_GROUPED_WAVE=100"},
      {"fuse wave prefetch7", "MOE_GROUPED_FUSE=1;MOE_GROUPED_WAVE=100;MOE_GROUPED_PREFETCH=7"},
      {"fuse prefetch7", "MOE_GROUPED_FUSE=1;MOE_GROUPED_PREFETCH=7"},
      {"split4 tail8", "MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=8"},
      {"split4 tail16", "MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16"},
      {"fuse split4 tail8", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=8"},
      {"fuse split4 tail16", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16"},
      {"fuse split4 tail32", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=32"},
      {"fuse split4 tail64", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=64"},
      {"fuse split2 tail16", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=2;MOE_GROUPED_TAIL=16"},
      {"fuse split4 tail16 lag4", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16;MOE_GROUPED_LAG=4"},
      {"fuse split4 tail16 lag16", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16;MOE_GROUPED_LAG=16"},
      {"fuse split4 tail16 prefetch3", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16;MOE_GROUPED_PREFETCH=3"},
      {"overlap (one wgmma group in flight)", "MOE_GROUPED_OVERLAP=1"},
      {"fuse split4 tail16 overlap", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16;MOE_GROUPED_OVERLAP=1"},
      {"default again", ""},
      {"fuse split4 tail16 again", "MOE_GROUPED_FUSE=1;MOE_GROUPED_SPLIT=4;MOE_GROUPED_TAIL=16"},
      {"diagnostic: weight loads only", "MOE_GROUPED_DIAG=3"},
      {"fuse diagnostic: weight loads only", "MOE_GROUPED_FUSE=1;MOE_GROUPED_DIAG=3"},
      {"fuse diagnostic: no wgmma, no epilogue", "MOE_GROUPED_FUSE=1;MOE_GROUPED_DIAG=2"},
  };
  struct Row {
    std::string what;
    double us;
  };
  std::vector<Row> table;
  double floorUs = 0;
  for (int skew = 0; skew < 2; ++skew) {
    Case c{skew ? "zipf" : "uniform", 64, 4096, 1, 768, 3072, skew ? 16.0 : 1.25, skew ? kZipf10x : 0.0, 0,
           21u + skew};
    std::mt19937 rng(c.seed);
    const Routing r = drawRouting(c, rng);
    Device dev = upload(c, r, c.seed);
    const size_t nw = size_t(c.experts) * c.dModel * c.dFf;
    cudaStream_t st;
    CK(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    // Logits whose arg-max is the drawn expert (zero bias).
    float *dLogits, *dBias;
    {
      std::vector<float> logits(size_t(c.tokens) * c.experts), bias(c.experts, 0.f);
      std::uniform_real_distribution<float> u(0.f, 1.f);
      for (int t = 0; t < c.tokens; ++t) {
        for (int e = 0; e < c.experts; ++e) logits[size_t(t) * c.experts + e] = -u(rng);
        logits[size_t(t) * c.experts + r.expert[t]] = 1.5f + u(rng);
      }
      CK(cudaMalloc(&dLogits, logits.size() * sizeof(float)));
      CK(cudaMalloc(&dBias, bias.size() * sizeof(float)));
      CK(cudaMemcpy(dLogits, logits.data(), logits.size() * sizeof(float), cudaMemcpyHostToDevice));
      CK(cudaMemcpy(dBias, bias.data(), bias.size() * sizeof(float), cudaMemcpyHostToDevice));
    }
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    if (!skew) {
      bf16* scratch;
      CK(cudaMalloc(&scratch, 2 * nw * sizeof(bf16)));
      std::vector<double> us;
      for (int i = 0; i < 12; ++i) {
        CK(cudaEventRecord(e0, st));
        CK(cudaMemcpyAsync(scratch, dev.w1, nw * sizeof(bf16), cudaMemcpyDeviceToDevice, st));
        CK(cudaMemcpyAsync(scratch + nw, dev.w2, nw * sizeof(bf16), cudaMemcpyDeviceToDevice, st));
        CK(cudaEventRecord(e1, st));
        CK(cudaEventSynchronize(e1));
        float ms;
        CK(cudaEventElapsedTime(&ms, e0, e1));
        if (i >= 2) us.push_back(ms * 1e3);
      }
      CK(cudaFree(scratch));
      floorUs = median(us) / 2;
      table.push_back({"weight copy (read+write) / 2 = floor", floorUs});
    }
    for (const Variant& v : variants) {
      applyEnv(v.env);
      setenv("MOE_GROUPED_TIMES", "1", 1);  // per-CTA timestamps of the last launch (a few stores a CTA)
      GroupedFfn g(shapeOf(c), {dev.w1}, {dev.w2}, st);
      std::printf("variant %-22s %s\n", v.name, g.describe().c_str());
      auto layer = [&] {
        if (g.fusedRoute()) {
          g.runRouted(0, dev.x, dLogits, dBias, dev.expert, dev.gate, dev.pos, dev.count, dev.out);
        } else {
          launchRouterTopK(dLogits, dBias, c.tokens, c.experts, 1, dev.expert, dev.gate, st, g.tuning().pdl);
          g.run(0, dev.x, dev.expert, dev.gate, dev.pos, dev.count, dev.out);
        }
      };
      for (int i = 0; i < 5; ++i) layer();
      CK(cudaStreamSynchronize(st));
      std::vector<cudaEvent_t> a(30), b(30);
      for (int i = 0; i < 30; ++i) {
        CK(cudaEventCreate(&a[i]));
        CK(cudaEventCreate(&b[i]));
      }
      for (int i = 0; i < 30; ++i) {
        CK(cudaEventRecord(a[i], st));
        layer();
        CK(cudaEventRecord(b[i], st));
      }
      CK(cudaStreamSynchronize(st));
      CK(cudaGetLastError());
      std::vector<double> us;
      for (int i = 0; i < 30; ++i) {
        float ms;
        CK(cudaEventElapsedTime(&ms, a[i], b[i]));
        us.push_back(ms * 1e3);
        cudaEventDestroy(a[i]);
        cudaEventDestroy(b[i]);
      }
      table.push_back({std::string(c.name) + " " + v.name, median(us)});
      std::printf("times %s %s: %s\n", c.name.c_str(), v.name, g.timesSummary().c_str());
    }
    applyEnv("");
    cudaEventDestroy(e0);
    cudaEventDestroy(e1);
    CK(cudaStreamDestroy(st));
    release(dev);
    cudaFree(dLogits);
    cudaFree(dBias);
  }
  std::printf("\n%-52s %10s %9s %9s\n", "pack+ffn+top-k (switch-base-64, 604 MB)", "median_us", "vs_floor", "TB/s");
  std::printf("(each row: top-k + pack + ffn from the router's logits, i.e. the layer less its router GEMM)\n");
  for (const Row& r : table)
    std::printf("%-52s %10.1f %9.3f %9.2f\n", r.what.c_str(), r.us, r.us / floorUs, 603979776.0 / (r.us * 1e-6) / 1e12);
  return 0;
}
