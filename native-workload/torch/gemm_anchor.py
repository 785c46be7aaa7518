#!/usr/bin/env python3
"""The anchor for the workload's `grouped` mode: PyTorch's own grouped GEMM on the same shape and
routing. Times the two expert GEMMs of a Switch FFN layer alone, as switch_moe.py's `grouped`
mode runs them: x (tokens sorted by expert) -> torch._grouped_mm with W1 -> ReLU ->
torch._grouped_mm with W2, offsets on the GPU, bf16, weights stored [experts, out, in] like
nn.Linear and viewed transposed (the layout torch._grouped_mm's Hopper kernel wants). No router,
no gather or scatter: those are extra work the anchor leaves out.

    python3 native-workload/torch/gemm_anchor.py --counts 64,61,... --d-model 768 --d-ff 3072

moe-workload --torch-anchor PATH runs it with the token counts its routing produced and prints
the ratio. Prints `RESULT anchor=torch._grouped_mm median_us=... min_us=...`; exit 2 on bad
arguments or no GPU.
"""
import argparse
import statistics
import sys

import torch


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--counts", required=True, help="tokens routed to each expert, comma-separated")
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--d-ff", type=int, default=3072)
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--seed", type=int, default=1234)
    a = p.parse_args(argv)
    try:
        counts = [int(c) for c in a.counts.split(",")]
    except ValueError:
        p.error("--counts expects comma-separated integers")
    if not counts or min(counts) < 0:
        p.error("--counts expects one non-negative count per expert")
    if not torch.cuda.is_available():
        print("gemm_anchor: no CUDA device visible to PyTorch", file=sys.stderr)
        return 2
    dev = torch.device("cuda")
    E, d, ff, rows = len(counts), a.d_model, a.d_ff, sum(counts)
    g = torch.Generator(device="cpu").manual_seed(a.seed)

    def uniform(shape, scale):
        return ((torch.rand(shape, generator=g) * 2 - 1) * scale).to(device=dev, dtype=torch.bfloat16)

    w1 = uniform((E, ff, d), (3 / d) ** 0.5).transpose(1, 2)
    w2 = uniform((E, d, ff), (6 / ff) ** 0.5).transpose(1, 2)
    x = uniform((rows, d), 1.0)
    offs = torch.cumsum(torch.tensor(counts, dtype=torch.int32, device=dev), 0, dtype=torch.int32)

    def gemms():
        h = torch.relu(torch._grouped_mm(x, w1, offs=offs))
        return torch._grouped_mm(h, w2, offs=offs)

    # Check the grouped GEMMs against a plain per-expert loop once (fp32 accumulate, bf16 out).
    y = gemms().float()
    start = 0
    worst = 0.0
    for e, c in enumerate(counts):
        if c:
            ref = (torch.relu(x[start:start + c] @ w1[e]) @ w2[e]).float()
            worst = max(worst, ((y[start:start + c] - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item())
        start += c
    for _ in range(a.warmup):
        gemms()
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(a.iterations)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(a.iterations)]
    for i in range(a.iterations):
        starts[i].record()
        gemms()
        stops[i].record()
    torch.cuda.synchronize()
    us = sorted(s.elapsed_time(t) * 1000 for s, t in zip(starts, stops))
    print("gemm_anchor: torch %s, %s, experts %d, rows %d (min %d, max %d per expert), d_model %d, d_ff %d, "
          "max rel err vs per-expert matmul %.2e" % (torch.__version__, torch.cuda.get_device_name(), E, rows,
                                                     min(counts), max(counts), d, ff, worst))
    print("RESULT anchor=torch._grouped_mm median_us=%.1f min_us=%.1f iterations=%d"
          % (statistics.median(us), us[0], a.iterations))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
