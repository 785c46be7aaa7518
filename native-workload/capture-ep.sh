#!/usr/bin/env bash
# Expert-parallel captures of native-workload/torch/ep_moe.py (issue 18), for a machine of 2+ GPUs
# (NPROC=1 makes the one-GPU dry run). Run from the repository root:
#
#   export LD_LIBRARY_PATH=$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu   # libdw for nsys' importer
#   MOE_EP_OUT=captures-ep NPROC=2 bash native-workload/capture-ep.sh
#
# Writes to $MOE_EP_OUT (default captures-ep):
#   ep-<schedule>-rank<R>.nsys-rep/.sqlite  one nsys report per rank and schedule (torchrun starts
#       `nsys profile … -o ep-<schedule>-rank%q{RANK} python3 ep_moe.py` for each rank; capture
#       range = the timed forwards, cudaProfilerStart/Stop; NCCL's NVTX ranges included)
#   ep-<schedule>-rank<R>.pt.trace.json.gz  torch.profiler traces of every schedule, one process
#       group without nsys (steps 2.. of EP_ITERATIONS: wait 1, warmup 1)
#   ep-<schedule>.log, ep-kineto.log, ep-plain.log (latencies without any profiler, 20 forwards),
#   environment.txt
# NVLink multicast stays off (NCCL_NVLS_ENABLE=0, TORCH_SYMM_MEM_DISABLE_MULTICAST=1,
# NVSHMEM_DISABLE_NVLS=1): on shared hosts it can take the GPUs out of service.
set -uo pipefail
cd "${MOE_TRACE_ROOT:-.}" || exit 2
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
out="${MOE_EP_OUT:-captures-ep}"
mkdir -p "$out" || exit 2
nproc="${NPROC:-$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')}"
iters="${EP_ITERATIONS:-5}"
warm="${EP_WARMUP:-3}"
schedules="${EP_SCHEDULES:-serialized overlapped grouped}"
step_timeout="${EP_STEP_TIMEOUT:-150}"
py=python3
[ "$nproc" -ge 1 ] 2>/dev/null || { echo "capture-ep: no GPU found (nvidia-smi -L)" >&2; exit 2; }
[ -d .device-libs/root/usr/lib/x86_64-linux-gnu ] && \
  export LD_LIBRARY_PATH="$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

. "$(dirname "${BASH_SOURCE[0]}")/find-nsys.sh"
find_nsys || { echo "capture-ep: nsys not found (set NSYS)" >&2; exit 2; }
torchrun=("$py" -m torch.distributed.run --standalone --nproc_per_node "$nproc")

{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "nproc: $nproc"; echo "nsys: $nsys"; "$nsys" --version
  nvidia-smi; nvidia-smi topo -m
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'nccl', torch.cuda.nccl.version())"
  env | grep -E '^(NCCL|TORCH_SYMM|NVSHMEM)_' | sort
} > "$out/environment.txt" 2>&1

status=0
for s in $schedules; do
  echo "capture-ep: $s under nsys, $nproc rank(s)" >&2
  timeout -k 10 "$step_timeout" "${torchrun[@]}" --no_python "$nsys" profile --trace=cuda,nvtx,osrt --sample=none \
      --cpuctxsw=none --capture-range=cudaProfilerApi --capture-range-end=stop --force-overwrite true \
      -o "$out/ep-$s-rank%q{RANK}" "$py" native-workload/torch/ep_moe.py --schedule "$s" \
      --iterations "$iters" --warmup "$warm" > "$out/ep-$s.log" 2>&1 || { echo "capture-ep: $s failed (exit $?): see $out/ep-$s.log" >&2; status=1; }
  for rep in "$out"/ep-"$s"-rank*.nsys-rep; do
    [ -f "$rep" ] || continue
    "$nsys" export --type sqlite --force-overwrite true -o "${rep%.nsys-rep}.sqlite" "$rep" >> "$out/ep-$s.log" 2>&1 \
      || { echo "capture-ep: export of $rep failed" >&2; status=1; }
  done
done

echo "capture-ep: torch.profiler traces ($schedules)" >&2
timeout -k 10 "$step_timeout" "${torchrun[@]}" native-workload/torch/ep_moe.py --schedule "$(echo $schedules | tr ' ' ,)" \
    --iterations "$iters" --warmup "$warm" --torch-profile "$out/ep" > "$out/ep-kineto.log" 2>&1 \
  || { echo "capture-ep: torch.profiler run failed: see $out/ep-kineto.log" >&2; status=1; }

echo "capture-ep: latencies without a profiler" >&2
timeout -k 10 "$step_timeout" "${torchrun[@]}" native-workload/torch/ep_moe.py --schedule "$(echo $schedules | tr ' ' ,)" \
    --iterations 20 --warmup 5 > "$out/ep-plain.log" 2>&1 \
  || { echo "capture-ep: plain run failed: see $out/ep-plain.log" >&2; status=1; }

grep -h "^RESULT" "$out"/ep-*.log
exit $status
