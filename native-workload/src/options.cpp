#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

const char* kUsage =
    "usage: moe-workload [--mode M[,M...]|all] [--preset switch-base-64|saturated]\n"
    "                    [--experts N] [--tokens N] [--d-model N] [--d-ff N] [--top-k K]\n"
    "                    [--capacity-factor F] [--dtype bf16|fp32] [--iterations N] [--warmup N]\n"
    "                    [--skew uniform|zipf] [--zipf-exponent S] [--streams K] [--layers L]\n"
    "                    [--seed N] [--hbm-tbps X] [--torch-anchor PATH] [--check-float N]\n"
    "                    [--alternate B]\n"
    "modes: sequential, streams-sync, streams, grouped, graph (default: all)\n";

[[noreturn]] void bad(const std::string& msg) {
  std::fprintf(stderr, "moe-workload: %s\n%s", msg.c_str(), kUsage);
  std::exit(2);
}

long parseInt(const std::string& flag, const char* v, long lo, long hi) {
  char* end = nullptr;
  long x = std::strtol(v, &end, 10);
  if (!*v || *end || x < lo || x > hi)
    bad(flag + " expects an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + v + "'");
  return x;
}

double parseReal(const std::string& flag, const char* v, double lo) {
  char* end = nullptr;
  double x = std::strtod(v, &end);
  if (!*v || *end || !(x >= lo)) bad(flag + " expects a number >= " + std::to_string(lo) + ", got '" + v + "'");
  return x;
}

Mode parseMode(const std::string& s) {
  for (Mode m : {Mode::Sequential, Mode::StreamsSync, Mode::Streams, Mode::Grouped, Mode::Graph})
    if (s == modeName(m)) return m;
  bad("unknown mode '" + s + "'");
}

void applyPreset(Options& o, const std::string& name) {
  o.preset = name;
  if (name == "switch-base-64") {
    o.experts = 64; o.tokens = 4096; o.dModel = 768; o.dFf = 3072;
  } else if (name == "saturated") {
    // 2560-row capacity slices × d_ff 8192: each expert GEMM has ~640 output tiles, several
    // waves on 132 SMs, so a second stream finds no free SM until the first one's tail.
    o.experts = 8; o.tokens = 16384; o.dModel = 2048; o.dFf = 8192;
  } else {
    bad("unknown preset '" + name + "' (switch-base-64 or saturated)");
  }
}

}  // namespace

const char* modeName(Mode m) {
  switch (m) {
    case Mode::Sequential: return "sequential";
    case Mode::StreamsSync: return "streams-sync";
    case Mode::Streams: return "streams";
    case Mode::Grouped: return "grouped";
    case Mode::Graph: return "graph";
  }
  return "?";
}

Options parseOptions(int argc, char** argv) {
  Options o;
  // The preset goes first so that explicit shape flags override it wherever they appear.
  for (int i = 1; i + 1 < argc; ++i)
    if (!std::strcmp(argv[i], "--preset")) applyPreset(o, argv[i + 1]);
  for (int i = 1; i < argc; ++i) {
    std::string f = argv[i];
    if (f == "--help" || f == "-h") { std::fputs(kUsage, stdout); std::exit(0); }
    if (i + 1 >= argc) bad(f.rfind("--", 0) == 0 ? f + " needs a value" : "unexpected argument '" + f + "'");
    const char* v = argv[++i];
    if (f == "--preset") continue;
    else if (f == "--mode") {
      o.modes.clear();
      std::string list = v;
      if (list == "all") continue;
      size_t start = 0;
      while (start <= list.size()) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        o.modes.push_back(parseMode(list.substr(start, comma - start)));
        start = comma + 1;
      }
    }
    else if (f == "--experts") o.experts = int(parseInt(f, v, 1, 1024));
    else if (f == "--tokens") o.tokens = int(parseInt(f, v, 1, 1 << 22));
    else if (f == "--d-model") o.dModel = int(parseInt(f, v, 8, 65536));
    else if (f == "--d-ff") o.dFf = int(parseInt(f, v, 8, 262144));
    else if (f == "--top-k") o.topk = int(parseInt(f, v, 1, 8));
    else if (f == "--capacity-factor") o.capacityFactor = parseReal(f, v, 0.01);
    else if (f == "--dtype") {
      std::string d = v;
      if (d != "bf16" && d != "fp32") bad("--dtype expects bf16 or fp32, got '" + d + "'");
      o.bf16 = d == "bf16";
    }
    else if (f == "--iterations") o.iterations = int(parseInt(f, v, 1, 100000));
    else if (f == "--warmup") o.warmup = int(parseInt(f, v, 0, 100000));
    else if (f == "--skew") {
      std::string s = v;
      if (s != "uniform" && s != "zipf") bad("--skew expects uniform or zipf, got '" + s + "'");
      o.zipf = s == "zipf";
    }
    else if (f == "--zipf-exponent") o.zipfExponent = parseReal(f, v, 0.0);
    else if (f == "--streams") o.streams = int(parseInt(f, v, 0, 1024));
    else if (f == "--layers") o.layers = int(parseInt(f, v, 1, 64));
    else if (f == "--seed") o.seed = (unsigned long long)parseInt(f, v, 0, 1L << 62);
    else if (f == "--hbm-tbps") o.hbmTBps = parseReal(f, v, 0.001);
    else if (f == "--torch-anchor") o.torchAnchor = v;
    else if (f == "--check-float") o.checkFloat = int(parseInt(f, v, 0, 1 << 22));
    else if (f == "--alternate") o.alternate = int(parseInt(f, v, 0, 1000));
    else bad("unknown option '" + f + "'");
  }
  if (o.topk > o.experts) bad("--top-k must not exceed --experts");
  if (o.modes.empty())
    o.modes = {Mode::Sequential, Mode::StreamsSync, Mode::Streams, Mode::Grouped, Mode::Graph};
  return o;
}
