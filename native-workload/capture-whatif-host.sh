#!/usr/bin/env bash
# The what-if validation with the host speed held fixed (issue 15), in one device call:
#
#   OUT=/path/to/results bash native-workload/capture-whatif-host.sh      # carry .device-libs
#
# A projection from one process meets a measurement of another, whose host may run 1.4-2.2x
# slower or faster (docs/metrics.md); nothing in one trace says how fast another process's host
# will be. So this campaign measures both ways:
#   inproc.tgz   ONE process per shape, the modes taking turns (moe-workload --alternate 3: three
#                blocks of 3 iterations per mode, "block B MODE" NVTX ranges, the device idle
#                between blocks): each what-if from a block meets the next mode's block, measured
#                by the same process at the same host speed (bench/what-if-errors.js, --range).
#                default (sequential, grouped, streams-sync, streams, graph), zipf (the same
#                without graph), 64k (streams-sync, streams)
#   repeats.tgz  separate processes, interleaved, each pinned to one core with taskset:
#                streams-sync, streams three times each (default shape): how far the measured
#                repeats spread, beside how far the projections from each spread
#   meta.tgz     environment, build log, steps.tsv (every step: start, seconds, exit code), summary
# Each capture as fixtures/MANIFEST.md's first campaign (capture range = cudaProfilerStart/Stop,
# --trace=cuda,nvtx,osrt). The campaign stops itself: WHATIF_BUDGET_S (default 190 s).
set -uo pipefail
cd "${MOE_TRACE_ROOT:-.}" || exit 2
: "${OUT:?set OUT to the results folder}"
T0=$(date +%s)
BUDGET=${WHATIF_BUDGET_S:-190}
W=${WHATIF_WORK:-/tmp/whatif-host}
rm -rf "$W"; mkdir -p "$W"/{inproc,repeats,meta} "$OUT" || exit 2
[ -d .device-libs/root/usr/lib/x86_64-linux-gnu ] && \
  export LD_LIBRARY_PATH="$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
steps="$W/meta/steps.tsv"
printf 'step\tstart_s\tseconds\texit\n' > "$steps"

. "$(dirname "${BASH_SOURCE[0]}")/find-nsys.sh"
find_nsys || { echo "whatif-host: nsys not found" >&2; exit 2; }

elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "whatif-host [$(elapsed)s] $*" | tee -a "$W/meta/summary.txt" >&2; }
# run NAME TIMEOUT CMD...: output to $W/NAME.log; skipped when the budget can't hold TIMEOUT/2 more seconds
run() {
  local name=$1 to=$2; shift 2
  local start; start=$(elapsed)
  if [ $((BUDGET - start)) -lt $((to / 2)) ]; then
    printf '%s\t%s\t0\tskipped\n' "$name" "$start" >> "$steps"; say "skipped $name (budget)"; return 99
  fi
  local t; t=$(date +%s.%N)
  timeout -k 5 "$to" "$@" > "$W/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%s\t%s\n' "$name" "$start" "$(awk -v a="$(date +%s.%N)" -v b="$t" 'BEGIN { printf "%.1f", a - b }')" "$rc" >> "$steps"
  [ $rc -eq 0 ] || say "$name: exit $rc (see $name.log)"
  return $rc
}
# cap DIR NAME PREFIX... -- WORKLOAD-FLAGS...: nsys profile PREFIX moe-workload FLAGS, then the SQLite export
cap() {
  local dir=$1 name=$2; shift 2
  local pre=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do pre+=("$1"); shift; done
  shift
  run "$dir/$name" 50 "$nsys" profile --trace=cuda,nvtx,osrt --cuda-graph-trace=node --sample=none --cpuctxsw=none \
    --capture-range=cudaProfilerApi --capture-range-end=stop --force-overwrite true -o "$W/$dir/$name" \
    "${pre[@]}" native-workload/build/moe-workload "$@"
  if [ -f "$W/$dir/$name.nsys-rep" ]; then
    timeout -k 5 60 "$nsys" export --type sqlite --force-overwrite true -o "$W/$dir/$name.sqlite" \
      "$W/$dir/$name.nsys-rep" >> "$W/$dir/$name.log" 2>&1 || say "export of $name failed"
    rm -f "$W/$dir/$name.nsys-rep"
    grep -h '^RESULT' "$W/$dir/$name.log" | sed "s|^|$dir/$name |" >> "$W/meta/results.txt"
  fi
}
pack() { tar -czf "$OUT/$1.tgz" -C "$W" "$1" && say "packed $1.tgz ($(du -k "$OUT/$1.tgz" | cut -f1) KiB)"; }

{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "nsys: $nsys"; "$nsys" --version; nvidia-smi;
  nvcc --version || /usr/local/cuda/bin/nvcc --version; git log -1 --format='commit %H %s' 2>/dev/null;
  echo "cores: $(nproc)"; sha256sum native-workload/src/*; } > "$W/meta/environment.txt" 2>&1
command -v cmake >/dev/null || PATH="$PATH:$(dirname "$(command -v python3)")"
command -v nvcc >/dev/null || PATH="$PATH:/usr/local/cuda/bin"
run meta/configure 60 cmake -S native-workload -B native-workload/build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  && run meta/build 150 cmake --build native-workload/build -j "$(nproc)" || { pack meta; exit 1; }

# the pinned core: the last one, away from core 0's interrupts and nsys' own threads
core=$(( $(nproc) - 1 ))
zipf=(--skew zipf --zipf-exponent 0.5 --capacity-factor 8)
alt=(--iterations 3 --warmup 2 --alternate 3)
cap inproc default -- --mode sequential,grouped,streams-sync,streams,graph "${alt[@]}"
cap inproc zipf -- --mode sequential,grouped,streams-sync,streams "${alt[@]}" "${zipf[@]}"
cap inproc 64k -- --mode streams-sync,streams --tokens 65536 "${alt[@]}"
pack inproc
for r in 1 2 3; do
  cap repeats "streams-sync-$r" taskset -c "$core" -- --mode streams-sync --iterations 3 --warmup 2
  cap repeats "streams-$r" taskset -c "$core" -- --mode streams --iterations 3 --warmup 2
done
pack repeats
say "done"
pack meta
