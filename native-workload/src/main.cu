// moe-workload: times each execution mode of an MoE FFN layer, checks every mode's output
// against `sequential`, and prints a latency / speed-up table. Under
// `nsys profile --capture-range=cudaProfilerApi` only the timed iterations of the first
// requested mode are captured (cudaProfilerStart/Stop wrap them), or with --alternate B the
// requested modes taking turns in B blocks each.
#include <cuda_profiler_api.h>

#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "moe.cuh"
#include "nvtx_ranges.hpp"
#include "options.hpp"

namespace {

struct Timing {
  Mode mode;
  double medianUs = 0, minUs = 0, relErr = 0, floatErr = -1;
  bool ok = true;
};

template <typename T>
Timing timeMode(MoeWorkload<T>& w, const Options& o, Mode m, bool profiled) {
  w.prepare(m);
  for (int i = 0; i < o.warmup; ++i) w.runIteration(m, false);
  CUDA_CHECK(cudaStreamSynchronize(w.mainStream()));
  std::vector<cudaEvent_t> start(o.iterations), stop(o.iterations);
  for (int i = 0; i < o.iterations; ++i) {
    CUDA_CHECK(cudaEventCreate(&start[i]));
    CUDA_CHECK(cudaEventCreate(&stop[i]));
  }
  if (profiled) CUDA_CHECK(cudaProfilerStart());
  pushRange(std::string("mode ") + modeName(m));
  for (int i = 0; i < o.iterations; ++i) {
    pushRange("iteration " + std::to_string(i));
    CUDA_CHECK(cudaEventRecord(start[i], w.mainStream()));
    w.runIteration(m, true);
    CUDA_CHECK(cudaEventRecord(stop[i], w.mainStream()));
    popRange();
  }
  popRange();
  CUDA_CHECK(cudaStreamSynchronize(w.mainStream()));
  if (profiled) CUDA_CHECK(cudaProfilerStop());
  std::vector<double> us(o.iterations);
  for (int i = 0; i < o.iterations; ++i) {
    float ms = 0;
    CUDA_CHECK(cudaEventElapsedTime(&ms, start[i], stop[i]));
    us[i] = ms * 1000.0;
    cudaEventDestroy(start[i]);
    cudaEventDestroy(stop[i]);
  }
  std::sort(us.begin(), us.end());
  Timing t{m};
  t.minUs = us.front();
  t.medianUs = us.size() % 2 ? us[us.size() / 2] : 0.5 * (us[us.size() / 2 - 1] + us[us.size() / 2]);
  return t;
}

// --alternate B: every requested mode prepared and warmed up, then, inside one capture, the modes
// take turns B times. A turn is one untimed pass (the mode's first after another mode's), the
// device idle, then --iterations under "block B MODE" > "iteration I" ranges, the device idle
// again: a what-if projected from one mode's block meets the next mode's block measured in the
// same process, at the same host speed (moe-trace's bench/what-if-errors.js, docs/metrics.md).
// One RESULT line per block, printed after the capture.
template <typename T>
void alternateModes(MoeWorkload<T>& w, const Options& o) {
  for (Mode m : o.modes) {
    w.prepare(m);
    for (int i = 0; i < o.warmup; ++i) w.runIteration(m, false);
  }
  CUDA_CHECK(cudaDeviceSynchronize());
  std::vector<cudaEvent_t> start(o.iterations), stop(o.iterations);
  for (int i = 0; i < o.iterations; ++i) {
    CUDA_CHECK(cudaEventCreate(&start[i]));
    CUDA_CHECK(cudaEventCreate(&stop[i]));
  }
  struct Block {
    int block;
    Mode mode;
    double medianUs, minUs;
  };
  std::vector<Block> blocks;
  CUDA_CHECK(cudaProfilerStart());
  for (int b = 0; b < o.alternate; ++b) {
    for (Mode m : o.modes) {
      w.runIteration(m, false);
      CUDA_CHECK(cudaDeviceSynchronize());
      pushRange("block " + std::to_string(b) + " " + modeName(m));
      for (int i = 0; i < o.iterations; ++i) {
        pushRange("iteration " + std::to_string(i));
        CUDA_CHECK(cudaEventRecord(start[i], w.mainStream()));
        w.runIteration(m, true);
        CUDA_CHECK(cudaEventRecord(stop[i], w.mainStream()));
        popRange();
      }
      popRange();
      CUDA_CHECK(cudaDeviceSynchronize());
      std::vector<double> us(o.iterations);
      for (int i = 0; i < o.iterations; ++i) {
        float ms = 0;
        CUDA_CHECK(cudaEventElapsedTime(&ms, start[i], stop[i]));
        us[i] = ms * 1000.0;
      }
      std::sort(us.begin(), us.end());
      const size_t n = us.size();
      blocks.push_back({b, m, n % 2 ? us[n / 2] : 0.5 * (us[n / 2 - 1] + us[n / 2]), us.front()});
    }
  }
  CUDA_CHECK(cudaProfilerStop());
  for (int i = 0; i < o.iterations; ++i) {
    cudaEventDestroy(start[i]);
    cudaEventDestroy(stop[i]);
  }
  for (const Block& k : blocks)
    std::printf("RESULT block=%d mode=%s median_us=%.1f min_us=%.1f\n", k.block, modeName(k.mode), k.medianUs, k.minUs);
}

// max |out − ref| / max |ref|: one number that is scale-free and catches any wrong row.
double relativeError(const std::vector<float>& out, const std::vector<float>& ref) {
  double maxDiff = 0, maxRef = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(out[i])) return INFINITY;
    maxDiff = std::max(maxDiff, double(std::fabs(out[i] - ref[i])));
    maxRef = std::max(maxRef, double(std::fabs(ref[i])));
  }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

void printRouting(const Options& o, const std::vector<std::vector<int>>& counts, int capacity) {
  for (size_t l = 0; l < counts.size(); ++l) {
    std::vector<int> c = counts[l];
    std::sort(c.begin(), c.end());
    long kept = 0;
    for (int x : c) kept += x;
    std::printf("routing layer %zu: tokens per expert min %d median %d max %d (capacity %d), "
                "%ld of %d assignments dropped\n",
                l, c.front(), c[c.size() / 2], c.back(), capacity, long(o.tokens) * o.topk - kept,
                o.tokens * o.topk);
  }
}

// float64 reference of layer 0 for a sample of tokens, from the weights, input and routing on
// the device (the hidden activation rounded to bf16/fp32 like the GPU's).
struct FloatReference {
  std::vector<int> tokens;
  std::vector<double> rows;  // [tokens.size()][dModel]
};

template <typename T>
FloatReference floatReference(const MoeWorkload<T>& w, const Options& o) {
  std::vector<float> w1, w2, x, gate;
  std::vector<int> expert, pos;
  w.hostLayer(0, w1, w2, x, expert, pos, gate);
  FloatReference r;
  const int n = std::min(o.checkFloat, o.tokens);
  for (int i = 0; i < n; ++i) r.tokens.push_back(int((long long)i * o.tokens / n + (i * 7919) % std::max(1, o.tokens / n)) % o.tokens);
  const int d = o.dModel, ff = o.dFf;
  r.rows.assign(size_t(n) * d, 0.0);
  std::vector<double> h(ff);
  for (int i = 0; i < n; ++i) {
    const int t = r.tokens[i];
    for (int k = 0; k < o.topk; ++k) {
      const int a = k * o.tokens + t;
      if (pos[a] < 0) continue;
      const size_t e = size_t(expert[a]);
      for (int j = 0; j < ff; ++j) {
        const float* wr = &w1[(e * ff + j) * d];
        double acc = 0;
        for (int c = 0; c < d; ++c) acc += double(wr[c]) * x[size_t(t) * d + c];
        const float v = float(std::max(acc, 0.0));
        h[j] = sizeof(T) == 2 ? double(float(__float2bfloat16(v))) : double(v);
      }
      for (int c = 0; c < d; ++c) {
        const float* wr = &w2[(e * d + c) * ff];
        double acc = 0;
        for (int j = 0; j < ff; ++j) acc += double(wr[j]) * h[j];
        r.rows[size_t(i) * d + c] += double(gate[a]) * acc;
      }
    }
  }
  return r;
}

double floatError(const FloatReference& r, const std::vector<float>& out, int dModel) {
  double maxDiff = 0, maxRef = 0;
  for (size_t i = 0; i < r.tokens.size(); ++i)
    for (int c = 0; c < dModel; ++c) {
      const double got = out[size_t(r.tokens[i]) * dModel + c], ref = r.rows[i * dModel + c];
      if (!std::isfinite(got)) return INFINITY;
      maxDiff = std::max(maxDiff, std::fabs(got - ref));
      maxRef = std::max(maxRef, std::fabs(ref));
    }
  return maxRef > 0 ? maxDiff / maxRef : maxDiff;
}

// Runs torch/gemm_anchor.py on this routing and returns its median (µs), or a negative value.
double torchAnchorUs(const Options& o, const std::vector<int>& counts) {
  std::string cmd = "python3 '" + o.torchAnchor + "' --d-model " + std::to_string(o.dModel) + " --d-ff " +
                    std::to_string(o.dFf) + " --iterations " + std::to_string(std::max(o.iterations, 20)) +
                    " --warmup " + std::to_string(std::max(o.warmup, 5)) + " --counts ";
  for (size_t e = 0; e < counts.size(); ++e) cmd += (e ? "," : "") + std::to_string(counts[e]);
  std::fflush(stdout);
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return -1;
  char line[4096];
  double us = -1;
  while (std::fgets(line, sizeof line, p)) {
    std::fputs(line, stdout);
    const char* m = std::strstr(line, "RESULT anchor=");
    const char* v = m ? std::strstr(m, "median_us=") : nullptr;
    if (v) us = std::atof(v + 10);
  }
  const int rc = pclose(p);
  return rc == 0 ? us : -1;
}

template <typename T>
int runAll(const Options& o) {
  MoeWorkload<T> w(o);
  std::printf("moe-workload: preset %s, experts %d, tokens %d, d_model %d, d_ff %d, top-k %d, "
              "dtype %s, capacity %d, layers %d, streams %d, skew %s, iterations %d, warmup %d\n",
              o.preset.c_str(), o.experts, o.tokens, o.dModel, o.dFf, o.topk, o.bf16 ? "bf16" : "fp32",
              w.capacity(), o.layers, w.streamCount(), o.zipf ? "zipf" : "uniform", o.iterations, o.warmup);
  w.runIteration(Mode::Sequential, false);
  const std::vector<float> ref = w.output();
  printRouting(o, w.routedCounts(), w.capacity());
  std::printf("grouped runs as: %s\n", w.groupedPath().c_str());
  FloatReference fref;
  double seqFloatErr = -1;
  if (o.checkFloat > 0) {
    fref = floatReference(w, o);
    seqFloatErr = floatError(fref, ref, o.dModel);
    std::printf("float64 reference of %zu tokens: sequential max rel err %.2e\n", fref.tokens.size(), seqFloatErr);
  }

  const bool seqRequested = std::find(o.modes.begin(), o.modes.end(), Mode::Sequential) != o.modes.end();
  std::vector<Timing> timings;
  // Speed-ups need a sequential time even when only another mode is captured; it is timed
  // outside the profiler range so the capture holds the requested mode alone.
  if (!seqRequested) timings.push_back(timeMode(w, o, Mode::Sequential, false));
  // with --alternate the capture holds the alternating blocks; the timings below run outside it
  if (o.alternate > 0) alternateModes(w, o);
  bool first = o.alternate == 0;
  const double tol = o.bf16 ? 2e-2 : 1e-4;
  for (Mode m : o.modes) {
    w.poison();
    Timing t = timeMode(w, o, m, first);
    first = false;
    const std::vector<float> out = w.output();
    t.relErr = relativeError(out, ref);
    t.ok = t.relErr <= tol;
    if (o.checkFloat > 0) {
      t.floatErr = floatError(fref, out, o.dModel);
      t.ok = t.ok && t.floatErr <= tol;
    }
    timings.push_back(t);
  }
  double seqUs = 0;
  for (const Timing& t : timings)
    if (t.mode == Mode::Sequential) seqUs = t.medianUs;
  if (std::find(o.modes.begin(), o.modes.end(), Mode::Grouped) != o.modes.end()) {
    const std::string times = w.groupedTimes();  // MOE_GROUPED_TIMES=1: the last grouped launch's CTAs
    if (!times.empty()) std::printf("grouped %s\n", times.c_str());
  }

  std::printf("%-13s %12s %12s %14s  %s\n", "mode", "median_us", "min_us", "vs_sequential", "check vs sequential");
  bool allOk = true;
  for (const Timing& t : timings) {
    std::printf("%-13s %12.1f %12.1f %13.2fx  %s (max rel err %.2e)\n", modeName(t.mode), t.medianUs,
                t.minUs, seqUs / t.medianUs, t.ok ? "ok" : "MISMATCH", t.relErr);
    allOk &= t.ok;
  }
  for (const Timing& t : timings) {
    std::printf("RESULT mode=%s median_us=%.1f min_us=%.1f speedup_vs_sequential=%.3f rel_err=%.3e",
                modeName(t.mode), t.medianUs, t.minUs, seqUs / t.medianUs, t.relErr);
    if (t.floatErr >= 0) std::printf(" float_ref_err=%.3e", t.floatErr);
    std::printf(" check=%s\n", t.ok ? "ok" : "mismatch");
  }
  if (o.checkFloat > 0 && seqFloatErr > tol) {
    std::fprintf(stderr, "moe-workload: sequential differs from the float64 reference (%.2e)\n", seqFloatErr);
    allOk = false;
  }
  const double datasheetUs = w.expertWeightBytes() / (o.hbmTBps * 1e12) * 1e6;
  std::printf("datasheet floor: expert weights %.1f MB read once at %.2f TB/s take %.1f us\n",
              w.expertWeightBytes() / 1e6, o.hbmTBps, datasheetUs);
  const Timing* grouped = nullptr;
  for (const Timing& t : timings)
    if (t.mode == Mode::Grouped) grouped = &t;
  if (grouped) {
    // The measured floor: a device-to-device copy reads and writes every weight byte once, so
    // reading them once takes half its time (at the copy's bandwidth).
    const double copyUs = w.weightCopyUs(10), floorUs = copyUs / 2;
    std::printf("RESULT floor=weight-read bytes=%.0f copy_us=%.1f copy_tbps=%.2f read_once_us=%.1f\n",
                w.expertWeightBytes(), copyUs, 2 * w.expertWeightBytes() / (copyUs * 1e-6) / 1e12, floorUs);
    std::printf("RESULT grouped_vs_floor=%.3f grouped_us=%.1f floor_us=%.1f target=1.20 met=%s skew=%s\n",
                grouped->medianUs / floorUs, grouped->medianUs, floorUs,
                grouped->medianUs <= 1.2 * floorUs ? "yes" : "no", o.zipf ? "zipf" : "uniform");
    if (!o.torchAnchor.empty()) {
      if (o.layers != 1) {
        std::printf("torch anchor: skipped (one layer only)\n");
      } else {
        const double anchorUs = torchAnchorUs(o, w.routedCounts()[0]);
        if (anchorUs > 0)
          std::printf("RESULT anchor=torch._grouped_mm median_us=%.1f grouped_us=%.1f grouped_vs_anchor=%.3f "
                      "faster=%s skew=%s\n",
                      anchorUs, grouped->medianUs, grouped->medianUs / anchorUs,
                      grouped->medianUs < anchorUs ? "yes" : "no", o.zipf ? "zipf" : "uniform");
        else
          std::printf("RESULT anchor=torch._grouped_mm error=the anchor script failed\n");
      }
    }
  }
  if (!allOk) {
    std::fprintf(stderr, "moe-workload: a mode's output differs from sequential beyond tolerance\n");
    return 3;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines reach a log even when a time limit kills the run
  const Options o = parseOptions(argc, argv);
  return o.bf16 ? runAll<__nv_bfloat16>(o) : runAll<float>(o);
}
