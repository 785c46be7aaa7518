#!/usr/bin/env python3
"""Standalone PyTorch reproduction of the Hugging Face SwitchTransformers sparse MLP
(SwitchTransformersSparseMLP: top-1 router with expert capacity, experts = Linear → ReLU →
Linear) with random weights, no model download. Modes:

  sequential    HF's own loop: one stream, `x[mask]` per expert (boolean-mask indexing)
  streams-sync  the user's loop: the same boolean-mask indexing, each expert on its own stream
  streams       per-expert streams on fixed capacity slices: no host read-back at all
  grouped       all experts in one torch._grouped_mm per projection, offsets kept on the GPU

Every mode is checked against `sequential`. Timed iterations are wrapped in
cudaProfilerStart/Stop (torch.cuda.profiler), so `nsys profile --capture-range=cudaProfilerApi`
captures the first requested mode's timed iterations only, with NVTX ranges per iteration,
layer and expert.

--user-script runs the way a user's inference script does under a plain `nsys profile python
infer.py` (no capture range): each timed forward in one top-level NVTX range
`forward <label> <N>` (label: seq, streams-sync, streams, grouped) with `expert E` ranges inside,
warm-up forwards with no ranges at all, no cudaProfilerStart/Stop and no `sequential` baseline.

--torch-profile PATH also records the first mode's timed forwards with torch.profiler (Kineto):
schedule wait 1, warmup 1, active iterations-2, prof.step() after each forward (ProfilerStep#N),
the same range names as record_function, exported by export_chrome_trace to PATH (.json.gz).
cudaProfilerStart/Stop then wrap exactly the active steps (--profiler-api-from N moves the start),
so an nsys capture with --capture-range=cudaProfilerApi holds the forwards that Kineto holds. But
nsys and Kineto cannot both record the GPU in one process (CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_
SUPPORTED: under nsys, Kineto's trace has no kernels): capture them in separate runs.
"""
import argparse
import gzip
import math
import os
import shutil
import statistics
import sys

import torch

MODES = ["sequential", "streams-sync", "streams", "grouped"]
# The short names in --user-script's `forward <label> <N>` ranges.
LABELS = {"sequential": "seq", "streams-sync": "streams-sync", "streams": "streams", "grouped": "grouped"}
# torch.profiler's schedule under --torch-profile: steps 0 (wait) and 1 (warmup) are not recorded.
KINETO_WAIT, KINETO_WARMUP = 1, 1
nvtx = torch.cuda.nvtx


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mode", default="all", help="comma-separated modes or 'all' (%s)" % ", ".join(MODES))
    p.add_argument("--experts", type=int, default=64)
    p.add_argument("--tokens", type=int, default=4096)
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--d-ff", type=int, default=3072)
    p.add_argument("--capacity-factor", type=float, default=1.25)
    p.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--streams", type=int, default=0, help="0: one stream per expert")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--no-baseline", action="store_true",
                   help="don't time `sequential` as the speed-up baseline when it is not among the modes")
    p.add_argument("--user-script", action="store_true",
                   help="behave like a user's inference script: `forward <label> N` NVTX ranges, unannotated "
                        "warm-up, no cudaProfilerStart/Stop; implies --no-baseline")
    p.add_argument("--torch-profile", metavar="PATH",
                   help="record the first mode's timed forwards with torch.profiler and export a Chrome trace "
                        "to PATH (gzip when it ends in .gz)")
    p.add_argument("--profiler-api-from", type=int, metavar="N",
                   help="call cudaProfilerStart before timed forward N of the first mode and cudaProfilerStop "
                        "after the last (default: 0; %d with --torch-profile, its first recorded step; none with "
                        "--user-script)" % (KINETO_WAIT + KINETO_WARMUP))
    a = p.parse_args(argv)
    a.modes = MODES if a.mode == "all" else a.mode.split(",")
    if a.user_script:
        a.no_baseline = True
    if a.torch_profile and a.iterations < KINETO_WAIT + KINETO_WARMUP + 1:
        p.error("--torch-profile needs --iterations >= %d (wait %d + warmup %d + at least one recorded step)"
                % (KINETO_WAIT + KINETO_WARMUP + 1, KINETO_WAIT, KINETO_WARMUP))
    if a.profiler_api_from is None:
        a.profiler_api_from = KINETO_WAIT + KINETO_WARMUP if a.torch_profile else (None if a.user_script else 0)
    elif not 0 <= a.profiler_api_from < a.iterations:
        p.error("--profiler-api-from must be in [0, --iterations)")
    for m in a.modes:
        if m not in MODES:
            p.error("unknown mode %r (choose from %s)" % (m, ", ".join(MODES)))
    if "grouped" in a.modes and a.dtype != "bf16":
        p.error("grouped uses torch._grouped_mm, which needs --dtype bf16")
    return a


class SwitchSparseMLP:
    def __init__(self, a, device):
        g = torch.Generator(device="cpu").manual_seed(a.seed)
        dt = torch.bfloat16 if a.dtype == "bf16" else torch.float32
        E, d, ff = a.experts, a.d_model, a.d_ff

        def uniform(shape, scale):
            return ((torch.rand(shape, generator=g) * 2 - 1) * scale).to(device=device, dtype=dt)

        self.router_w = uniform((d, E), 3.9 / math.sqrt(d))
        # Stored [E, out, in] like nn.Linear and viewed as [E, in, out]: the column-major right
        # operand that torch._grouped_mm's Hopper kernel expects.
        self.w1 = uniform((E, ff, d), math.sqrt(3 / d)).transpose(1, 2)
        self.w2 = uniform((E, d, ff), math.sqrt(6 / ff)).transpose(1, 2)
        self.E = E
        self.capacity = math.ceil(a.capacity_factor * a.tokens / E)
        n = a.streams if 0 < a.streams < E else E
        # (no streams off the GPU: ep_moe.py's CPU check of its data movement uses route() alone)
        self.streams = [torch.cuda.Stream() for _ in range(n)] if device.type == "cuda" else []

    def expert(self, e, x):
        return torch.relu(x @ self.w1[e]) @ self.w2[e]

    def route(self, hidden):
        # SwitchTransformersTop1Router: softmax in fp32, argmax, capacity by token priority.
        probs = torch.softmax((hidden @ self.router_w).float(), dim=-1)
        expert_index = torch.argmax(probs, dim=-1)
        one_hot = torch.nn.functional.one_hot(expert_index, self.E)
        priority = torch.cumsum(one_hot, dim=0)  # 1-based slot of each token in its expert
        router_mask = one_hot * (priority <= self.capacity)
        slot = (priority * one_hot).sum(-1) - 1
        return router_mask, probs.max(dim=-1).values.unsqueeze(-1), expert_index, slot

    def forward(self, hidden, mode, annotate):
        router_mask, router_probs, expert_index, slot = self.route(hidden)
        kept = router_mask.sum(-1, keepdim=True).bool()
        if mode == "sequential":
            next_states = hidden.clone()
            mask = router_mask.bool()
            # HF: the list of experts that got tokens (one read-back), then x[mask] per expert.
            for idx in torch.nonzero(mask.sum(0), as_tuple=True)[0].tolist():
                rng(annotate, "expert %d" % idx)
                token_indices = mask[:, idx]
                next_states[token_indices] = self.expert(idx, hidden[token_indices]).to(hidden.dtype)
                pop(annotate)
        elif mode == "streams-sync":
            next_states = hidden.clone()
            mask = router_mask.bool()
            current = torch.cuda.current_stream()
            for s in self.streams:
                s.wait_stream(current)
            for idx in range(self.E):
                with torch.cuda.stream(self.streams[idx % len(self.streams)]):
                    rng(annotate, "expert %d" % idx)
                    token_indices = mask[:, idx]
                    next_states[token_indices] = self.expert(idx, hidden[token_indices]).to(hidden.dtype)
                    pop(annotate)
            for s in self.streams:
                current.wait_stream(s)
        elif mode == "streams":
            next_states = self.fixed_slices(hidden, expert_index, slot, kept)
        else:
            next_states = self.grouped(hidden, expert_index, kept)
        return router_probs * next_states

    def fixed_slices(self, hidden, expert_index, slot, kept):
        cap, E = self.capacity, self.E
        # Dropped tokens go to a trash row past the last slice, so no index needs the host.
        dest = torch.where(kept.squeeze(-1), expert_index * cap + slot, E * cap)
        xd = hidden.new_zeros((E * cap + 1, hidden.shape[1]))
        xd.index_copy_(0, dest, hidden)
        yd = torch.empty_like(xd)
        current = torch.cuda.current_stream()
        for s in self.streams:
            s.wait_stream(current)
        for e in range(E):
            with torch.cuda.stream(self.streams[e % len(self.streams)]):
                yd[e * cap:(e + 1) * cap] = self.expert(e, xd[e * cap:(e + 1) * cap]).to(hidden.dtype)
        for s in self.streams:
            current.wait_stream(s)
        return torch.where(kept, yd[dest], hidden)

    def grouped(self, hidden, expert_index, kept):
        E = self.E
        group = torch.where(kept.squeeze(-1), expert_index, E)  # dropped tokens sort last
        order = torch.sort(group, stable=True).indices
        counts = torch.zeros(E + 1, dtype=torch.int32, device=hidden.device)
        counts.scatter_add_(0, group, torch.ones_like(group, dtype=torch.int32))
        offs = torch.cumsum(counts[:E], 0, dtype=torch.int32)
        x = hidden[order]
        h = torch.relu(torch._grouped_mm(x, self.w1, offs=offs))
        y = torch._grouped_mm(h, self.w2, offs=offs)
        out = torch.empty_like(hidden)
        out[order] = y
        return torch.where(kept, out, hidden)


# Set by main under --torch-profile: every NVTX range is then also a torch.profiler
# record_function, so the Kineto trace carries the same names (user_annotation events).
ANNOTATE_KINETO = False
# Off only where there is no CUDA (ep_moe.py --device cpu): NVTX needs a CUDA build of torch.
NVTX_ENABLED = True
_open_records = []


def rng(on, name):
    if on:
        if NVTX_ENABLED:
            nvtx.range_push(name)
        if ANNOTATE_KINETO:
            rf = torch.profiler.record_function(name)
            rf.__enter__()
            _open_records.append(rf)


def pop(on):
    if on:
        if ANNOTATE_KINETO:
            _open_records.pop().__exit__(None, None, None)
        if NVTX_ENABLED:
            nvtx.range_pop()


def export_trace(prof, path):
    """export_chrome_trace writes gzip itself for a .gz path; make sure of it either way."""
    prof.export_chrome_trace(path)
    if path.endswith(".gz"):
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        if not gz:
            tmp = path + ".tmp"
            with open(path, "rb") as src, gzip.open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, path)
    print("switch_moe: torch.profiler trace written to %s" % path)


def time_mode(moe, hidden, mode, a, profiled):
    for _ in range(a.warmup):
        moe.forward(hidden, mode, False)
    torch.cuda.synchronize()
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(a.iterations)]
    stops = [torch.cuda.Event(enable_timing=True) for _ in range(a.iterations)]
    kineto = profiled and bool(a.torch_profile)
    # cudaProfilerStart/Stop: around every timed iteration (the workload's capture range), or
    # around Kineto's recorded steps alone; a user's script (--user-script) has none.
    api_range = profiled and a.profiler_api_from is not None
    api_start = a.profiler_api_from
    prof = None
    if kineto:
        prof = torch.profiler.profile(
            activities=[torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA],
            schedule=torch.profiler.schedule(wait=KINETO_WAIT, warmup=KINETO_WARMUP,
                                             active=a.iterations - KINETO_WAIT - KINETO_WARMUP, repeat=1),
            on_trace_ready=lambda p: export_trace(p, a.torch_profile))
        prof.start()
    if not a.user_script:
        nvtx.range_push("mode " + mode)
    for i in range(a.iterations):
        if api_range and i == api_start:
            torch.cuda.profiler.start()
        if a.user_script:
            rng(True, "forward %s %d" % (LABELS[mode], i))
            starts[i].record()
            out = moe.forward(hidden, mode, True)
            stops[i].record()
            pop(True)
        else:
            rng(True, "iteration %d" % i)
            starts[i].record()
            rng(True, "layer 0")
            out = moe.forward(hidden, mode, True)
            pop(True)
            stops[i].record()
            pop(True)
        if prof is not None:
            prof.step()
    if not a.user_script:
        nvtx.range_pop()
    torch.cuda.synchronize()
    if api_range:
        torch.cuda.profiler.stop()
    if prof is not None:
        prof.stop()
    us = sorted(s.elapsed_time(t) * 1000 for s, t in zip(starts, stops))
    return statistics.median(us), us[0], out


def main(argv):
    global ANNOTATE_KINETO
    a = parse_args(argv)
    ANNOTATE_KINETO = bool(a.torch_profile)
    if not torch.cuda.is_available():
        print("switch_moe: no CUDA device visible to PyTorch", file=sys.stderr)
        return 2
    device = torch.device("cuda")
    moe = SwitchSparseMLP(a, device)
    hidden = ((torch.rand((a.tokens, a.d_model), generator=torch.Generator().manual_seed(a.seed + 1)) * 2 - 1)
              .to(device=device, dtype=moe.w1.dtype))
    print("switch_moe: torch %s, experts %d, tokens %d, d_model %d, d_ff %d, dtype %s, capacity %d, streams %d, "
          "iterations %d, warmup %d%s" % (torch.__version__, a.experts, a.tokens, a.d_model, a.d_ff, a.dtype,
                                          moe.capacity, len(moe.streams), a.iterations, a.warmup,
                                          ", user-script" if a.user_script else ""))
    ref = moe.forward(hidden, "sequential", False).float()
    results = []
    if "sequential" not in a.modes and not a.no_baseline:
        med, mn, _ = time_mode(moe, hidden, "sequential", a, False)
        results.append(("sequential", med, mn, 0.0))
    for i, mode in enumerate(a.modes):
        med, mn, out = time_mode(moe, hidden, mode, a, i == 0)
        err = ((out.float() - ref).abs().max() / ref.abs().max()).item()
        results.append((mode, med, mn, err))
    seq = next((r[1] for r in results if r[0] == "sequential"), None)
    tol = 2e-2 if a.dtype == "bf16" else 1e-4
    ok = True
    print("%-13s %12s %12s %14s  %s" % ("mode", "median_us", "min_us", "vs_sequential", "check vs sequential"))
    for mode, med, mn, err in results:
        good = err <= tol and math.isfinite(err)
        ok &= good
        speedup = "%13.2fx" % (seq / med) if seq else "%14s" % "-"
        print("%-13s %12.1f %12.1f %s  %s (max rel err %.2e)" % (mode, med, mn, speedup,
                                                                 "ok" if good else "MISMATCH", err))
    for mode, med, mn, err in results:
        print("RESULT mode=%s median_us=%.1f min_us=%.1f speedup_vs_sequential=%s rel_err=%.3e check=%s"
              % (mode, med, mn, "%.3f" % (seq / med) if seq else "none", err, "ok" if err <= tol else "mismatch"))
    if not ok:
        print("switch_moe: a mode's output differs from sequential beyond tolerance", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
