// Command-line options of moe-workload. Shapes default to switch-base-64; `--preset saturated`
// picks expert GEMMs large enough that one of them fills every SM of an H100/H200.
#pragma once
#include <string>
#include <vector>

enum class Mode { Sequential, StreamsSync, Streams, Grouped, Graph };

struct Options {
  std::string preset = "switch-base-64";
  std::vector<Mode> modes;  // empty → all
  int experts = 64;
  int tokens = 4096;
  int dModel = 768;
  int dFf = 3072;
  int topk = 1;
  double capacityFactor = 1.25;
  bool bf16 = true;
  int iterations = 20;
  int warmup = 5;
  bool zipf = false;
  double zipfExponent = 1.0;
  int streams = 0;  // 0 → one stream per expert
  int layers = 1;
  unsigned long long seed = 1234;
  double hbmTBps = 4.8;  // H200 datasheet; the grouped mode is compared with reading weights once
  std::string torchAnchor;  // path of torch/gemm_anchor.py: time torch._grouped_mm on this routing
  int checkFloat = 0;       // tokens checked against a float64 reference on the host (0: off)
  // > 0: the requested modes take turns in this many blocks of --iterations inside one capture
  // ("block B MODE" NVTX ranges), so a what-if from one mode meets the other under the same host
  int alternate = 0;
};

const char* modeName(Mode m);

// Parses argv; prints usage and exits 0 on --help, prints one line and exits 2 on bad input.
Options parseOptions(int argc, char** argv);
