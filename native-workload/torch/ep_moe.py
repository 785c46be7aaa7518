#!/usr/bin/env python3
"""Expert parallelism for the Switch MoE layer of switch_moe.py: run under torchrun, one process
per GPU, the 64 experts split evenly across the ranks; each rank routes its own tokens, sends them
to the experts' ranks with torch.distributed.all_to_all_single (NCCL) and gets the results back
with a second all-to-all. GShard/DeepSpeed-style fixed-capacity dispatch: every (rank, expert)
pair exchanges `capacity` rows (padding included), so the all-to-all has equal splits and no
host read-back. Schedules:

  serialized  route → dispatch (all-to-all) → experts (one GEMM pair per local expert) → combine
  overlapped  the capacity slots cut into micro-batches (--micro-batches, 2): the all-to-alls run
              on NCCL's stream, the experts on a compute stream, so micro-batch 1's dispatch runs
              beside micro-batch 0's experts and micro-batch 0's combine beside micro-batch 1's
  grouped     serialized, with each projection of all local experts as one torch._grouped_mm
              (bf16 on Hopper; torch.bmm elsewhere)

Every schedule's output is checked against switch_moe.py's single-GPU layer (HF's `sequential`
loop over all experts, on each rank's own tokens). NVTX ranges (each also a torch.profiler
record_function under --torch-profile): `forward <schedule> <N>` > `route`, `dispatch mbK`,
`experts mbK` > `expert E` (global expert id), `combine mbK`, `output` (serialized and grouped
have one micro-batch, mb0). NCCL adds its own NVTX ranges. The first schedule's timed forwards
are wrapped in cudaProfilerStart/Stop (--capture-range=cudaProfilerApi), or only the steps
torch.profiler records when --torch-profile is given.

    torchrun --nproc-per-node 2 native-workload/torch/ep_moe.py --schedule all

NVLink multicast stays off: NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1 and
NVSHMEM_DISABLE_NVLS=1 are set here unless the environment already sets them.
"""
import argparse
import contextlib
import math
import os
import statistics
import sys

for _k, _v in (("NCCL_NVLS_ENABLE", "0"), ("TORCH_SYMM_MEM_DISABLE_MULTICAST", "1"), ("NVSHMEM_DISABLE_NVLS", "1")):
    os.environ.setdefault(_k, _v)

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import switch_moe as sm  # noqa: E402

SCHEDULES = ["serialized", "overlapped", "grouped"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--schedule", default="all", help="comma-separated schedules or 'all' (%s)" % ", ".join(SCHEDULES))
    p.add_argument("--experts", type=int, default=64, help="in all; must divide evenly across the ranks")
    p.add_argument("--tokens", type=int, default=4096, help="per rank")
    p.add_argument("--d-model", type=int, default=768)
    p.add_argument("--d-ff", type=int, default=3072)
    p.add_argument("--capacity-factor", type=float, default=1.25)
    p.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--micro-batches", type=int, default=2, help="overlapped only")
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--torch-profile", metavar="PREFIX",
                   help="record each schedule's timed forwards with torch.profiler; writes "
                        "PREFIX-<schedule>-rank<R>.pt.trace.json.gz")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda",
                   help="cpu: gloo on the CPU, to check the data movement without a GPU (no streams, no NVTX)")
    a = p.parse_args(argv)
    a.schedules = SCHEDULES if a.schedule == "all" else a.schedule.split(",")
    for s in a.schedules:
        if s not in SCHEDULES:
            p.error("unknown schedule %r (choose from %s)" % (s, ", ".join(SCHEDULES)))
    if a.micro_batches < 1:
        p.error("--micro-batches must be at least 1")
    if a.torch_profile and a.iterations < sm.KINETO_WAIT + sm.KINETO_WARMUP + 1:
        p.error("--torch-profile needs --iterations >= %d" % (sm.KINETO_WAIT + sm.KINETO_WARMUP + 1))
    a.streams = 1  # for switch_moe.SwitchSparseMLP: its stream pool is not used here
    return a


class ExpertParallelMoE:
    """The EP layer of one rank: the router and every expert's weights are switch_moe's
    (same seed on every rank, so identical everywhere); this rank computes experts
    [rank·E/W, (rank+1)·E/W) only."""

    def __init__(self, ref, rank, world, micro_batches, device):
        if ref.E % world:
            raise ValueError("--experts %d does not split evenly across %d ranks" % (ref.E, world))
        self.ref, self.E, self.W, self.rank = ref, ref.E, world, rank
        self.El = ref.E // world
        self.lo = rank * self.El
        # [El, d, ff] and [El, ff, d] views: the column-major right operands torch._grouped_mm expects
        self.w1 = ref.w1[self.lo:self.lo + self.El]
        self.w2 = ref.w2[self.lo:self.lo + self.El]
        self.cap = ref.capacity
        self.micro_batches = micro_batches
        self.cuda = device.type == "cuda"
        self.grouped_mm = (self.cuda and self.w1.dtype == torch.bfloat16 and hasattr(torch, "_grouped_mm")
                           and torch.cuda.get_device_capability(device)[0] >= 9)
        self.comm = torch.cuda.Stream(device) if self.cuda else None
        self.compute = torch.cuda.Stream(device) if self.cuda else None

    def stream(self, s):
        return torch.cuda.stream(s) if self.cuda else contextlib.nullcontext()

    def experts(self, x, grouped, annotate):
        """x: [El, rows, d] (contiguous); returns [El, rows, d]."""
        if grouped:
            El, rows, d = x.shape
            if self.grouped_mm:
                offs = torch.arange(1, El + 1, dtype=torch.int32, device=x.device) * rows
                try:
                    h = torch.relu(torch._grouped_mm(x.view(El * rows, d), self.w1, offs=offs))
                    return torch._grouped_mm(h, self.w2, offs=offs).view(El, rows, d)
                except RuntimeError as err:  # said once, then every grouped forward uses bmm
                    print("ep_moe: rank %d: torch._grouped_mm failed (%s); grouped uses torch.bmm from here on"
                          % (self.rank, str(err).splitlines()[0]), file=sys.stderr, flush=True)
                    self.grouped_mm = False
            return torch.bmm(torch.relu(torch.bmm(x, self.w1)), self.w2)
        y = torch.empty_like(x)
        for e in range(self.El):
            sm.rng(annotate, "expert %d" % (self.lo + e))
            y[e] = self.ref.expert(self.lo + e, x[e])
            sm.pop(annotate)
        return y

    def forward(self, hidden, schedule, annotate):
        E, W, El = self.E, self.W, self.El
        M = self.micro_batches if schedule == "overlapped" else 1
        capm = math.ceil(self.cap / M)  # capacity slots per micro-batch
        rows = E * capm                  # rows one micro-batch sends (every expert's slots)
        d = hidden.shape[1]

        sm.rng(annotate, "route")
        router_mask, router_probs, expert_index, slot = self.ref.route(hidden)
        kept = router_mask.sum(-1, keepdim=True).bool()
        # Token → row of the dispatch buffer [M][E][capm]: micro-batch = slot // capm. Dropped
        # tokens go to a trash row past the end, so nothing needs the host.
        dest = torch.where(kept.squeeze(-1), (slot // capm) * rows + expert_index * capm + slot % capm, M * rows)
        xd = hidden.new_zeros((M * rows + 1, d))
        xd.index_copy_(0, dest, hidden)
        recv = hidden.new_empty((M, rows, d))     # from rank s: its tokens for my experts, [W][El][capm]
        ysend = hidden.new_empty((M, rows, d))    # my experts' results, back in [W][El][capm] order
        yd = hidden.new_empty((M * rows + 1, d))  # results for my tokens, [M][E][capm] (+ trash row)
        sm.pop(annotate)

        def to_experts(m):  # [W, El, capm, d] → [El, W·capm, d]
            return recv[m].view(W, El, capm, d).transpose(0, 1).reshape(El, W * capm, d)

        def from_experts(m, y):
            ysend[m].view(W, El, capm, d).copy_(y.view(El, W, capm, d).transpose(0, 1))

        if schedule in ("serialized", "grouped"):
            sm.rng(annotate, "dispatch mb0")
            dist.all_to_all_single(recv[0], xd[:rows])
            sm.pop(annotate)
            sm.rng(annotate, "experts mb0")
            from_experts(0, self.experts(to_experts(0), schedule == "grouped", annotate))
            sm.pop(annotate)
            sm.rng(annotate, "combine mb0")
            dist.all_to_all_single(yd[:rows], ysend[0])
            sm.pop(annotate)
        else:
            main = torch.cuda.current_stream() if self.cuda else None
            if self.cuda:
                self.comm.wait_stream(main)
                self.compute.wait_stream(main)
            sends = []
            with self.stream(self.comm):  # NCCL's stream waits for this one at each call
                for m in range(M):
                    sm.rng(annotate, "dispatch mb%d" % m)
                    sends.append(dist.all_to_all_single(recv[m], xd[m * rows:(m + 1) * rows], async_op=True))
                    sm.pop(annotate)
            combines = []
            for m in range(M):
                with self.stream(self.compute):
                    sm.rng(annotate, "experts mb%d" % m)
                    sends[m].wait()  # the compute stream waits for this micro-batch's dispatch
                    from_experts(m, self.experts(to_experts(m), False, annotate))
                    done = None
                    if self.cuda:
                        done = torch.cuda.Event()
                        done.record(self.compute)
                    sm.pop(annotate)
                with self.stream(self.comm):
                    sm.rng(annotate, "combine mb%d" % m)
                    if done is not None:
                        self.comm.wait_event(done)
                    combines.append(dist.all_to_all_single(yd[m * rows:(m + 1) * rows], ysend[m], async_op=True))
                    sm.pop(annotate)
            for w in combines:
                w.wait()  # the main stream waits for every combine
            if self.cuda:
                main.wait_stream(self.compute)
                main.wait_stream(self.comm)

        sm.rng(annotate, "output")
        out = router_probs * torch.where(kept, yd[dest], hidden)
        sm.pop(annotate)
        return out


def time_schedule(layer, hidden, schedule, a, first, rank):
    cuda = layer.cuda
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(a.warmup):
        layer.forward(hidden, schedule, False)
    sync()
    dist.barrier()
    kineto = bool(a.torch_profile)
    api_range = cuda and (first or kineto)
    api_start = sm.KINETO_WAIT + sm.KINETO_WARMUP if kineto else 0
    prof = None
    if kineto:
        path = "%s-%s-rank%d.pt.trace.json.gz" % (a.torch_profile, schedule, rank)
        acts = [torch.profiler.ProfilerActivity.CPU] + ([torch.profiler.ProfilerActivity.CUDA] if cuda else [])
        prof = torch.profiler.profile(
            activities=acts,
            schedule=torch.profiler.schedule(wait=sm.KINETO_WAIT, warmup=sm.KINETO_WARMUP,
                                             active=a.iterations - sm.KINETO_WAIT - sm.KINETO_WARMUP, repeat=1),
            on_trace_ready=lambda p: sm.export_trace(p, path))
        prof.start()
    times = []
    for i in range(a.iterations):
        if api_range and i == api_start:
            torch.cuda.profiler.start()
        sm.rng(True, "forward %s %d" % (schedule, i))
        if cuda:
            start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            out = layer.forward(hidden, schedule, True)
            stop.record()
            times.append((start, stop))
        else:
            import time
            t0 = time.perf_counter()
            out = layer.forward(hidden, schedule, True)
            times.append(time.perf_counter() - t0)
        sm.pop(True)
        if prof is not None:
            prof.step()
    sync()
    if api_range:
        torch.cuda.profiler.stop()
    if prof is not None:
        prof.stop()
    us = sorted(s.elapsed_time(t) * 1000 for s, t in times) if cuda else sorted(t * 1e6 for t in times)
    return statistics.median(us), us[0], out


def main(argv):
    a = parse_args(argv)
    if "RANK" not in os.environ:
        print("ep_moe: run me under torchrun (e.g. torchrun --nproc-per-node 2 %s)" % sys.argv[0], file=sys.stderr)
        return 2
    rank, world, local = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), int(os.environ["LOCAL_RANK"])
    if a.experts % world:
        print("ep_moe: --experts %d does not split evenly across %d ranks" % (a.experts, world), file=sys.stderr)
        return 2
    if a.device == "cuda":
        if not torch.cuda.is_available() or torch.cuda.device_count() <= local:
            print("ep_moe: rank %d needs GPU %d, PyTorch sees %d" % (rank, local, torch.cuda.device_count()
                                                                   if torch.cuda.is_available() else 0), file=sys.stderr)
            return 2
        torch.cuda.set_device(local)
        device = torch.device("cuda", local)
        try:
            dist.init_process_group("nccl", device_id=device)
        except TypeError:  # older torch: no eager init
            dist.init_process_group("nccl")
    else:
        device = torch.device("cpu")
        sm.NVTX_ENABLED = False
        dist.init_process_group("gloo")
    sm.ANNOTATE_KINETO = bool(a.torch_profile)

    ref = sm.SwitchSparseMLP(a, device)
    hidden = ((torch.rand((a.tokens, a.d_model), generator=torch.Generator().manual_seed(a.seed + 1 + 1000 * rank))
               * 2 - 1).to(device=device, dtype=ref.w1.dtype))
    layer = ExpertParallelMoE(ref, rank, world, a.micro_batches, device)
    if rank == 0:
        nccl = "-"
        if a.device == "cuda":
            v = torch.cuda.nccl.version()
            nccl = ".".join(map(str, v)) if isinstance(v, tuple) else str(v)
        gpus = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())) if a.device == "cuda" else "cpu"
        print("ep_moe: torch %s, NCCL %s, world %d (%s), experts %d (%d per rank), tokens %d per rank, d_model %d, "
              "d_ff %d, dtype %s, capacity %d, micro-batches %d (overlapped), experts as %s in grouped, iterations %d, "
              "warmup %d" % (torch.__version__, nccl, world, gpus, a.experts, layer.El, a.tokens, a.d_model, a.d_ff,
                             a.dtype, layer.cap, a.micro_batches, "torch._grouped_mm" if layer.grouped_mm else "torch.bmm",
                             a.iterations, a.warmup), flush=True)
    # The single-GPU reference: HF's loop over all 64 experts on this rank's own tokens.
    want = ref.forward(hidden, "sequential", False).float()
    tol = 2e-2 if a.dtype == "bf16" else 1e-4
    ok = True
    rows = []
    for i, schedule in enumerate(a.schedules):
        med, mn, out = time_schedule(layer, hidden, schedule, a, i == 0, rank)
        err = ((out.float() - want).abs().max() / want.abs().max()).item()
        stats = torch.tensor([med, mn, err], dtype=torch.float64, device=device)
        worst = stats.clone()
        dist.all_reduce(worst, op=dist.ReduceOp.MAX)
        good = math.isfinite(err) and err <= tol
        ok &= good
        print("RANK %d schedule=%s median_us=%.1f min_us=%.1f rel_err=%.3e check=%s"
              % (rank, schedule, med, mn, err, "ok" if good else "mismatch"), flush=True)
        rows.append((schedule, worst.tolist()))
    dist.barrier()
    if rank == 0:
        print("%-11s %22s %12s  %s" % ("schedule", "median_us (max rank)", "min_us", "check vs single-GPU reference"))
        for schedule, (med, mn, err) in rows:
            print("%-11s %22.1f %12.1f  %s (max rel err %.2e over ranks)"
                  % (schedule, med, mn, "ok" if err <= tol else "MISMATCH", err))
        for schedule, (med, mn, err) in rows:
            print("RESULT mode=ep-%s median_us=%.1f min_us=%.1f world=%d rel_err=%.3e check=%s"
                  % (schedule, med, mn, world, err, "ok" if err <= tol else "mismatch"), flush=True)
    all_ok = torch.tensor([1 if ok else 0], device=device)
    dist.all_reduce(all_ok, op=dist.ReduceOp.MIN)
    dist.destroy_process_group()
    if not all_ok.item():
        if rank == 0:
            print("ep_moe: a schedule's output differs from the single-GPU layer beyond tolerance", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
