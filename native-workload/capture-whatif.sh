#!/usr/bin/env bash
# The what-if validation campaign (issue 15) in one device call: the native workload, built here
# with CMake from this checkout (expert NVTX ranges that carry the weight shapes,
# "expert E weights=768x3072,3072x768:bf16", and whatever grouped kernel the tree holds), captured
# exactly as fixtures/MANIFEST.md's first campaign (capture range = the 3 timed iterations):
#
#   OUT=/path/to/results bash native-workload/capture-whatif.sh      # carry .device-libs
#
# Captures, most needed first, each step under its own timeout and skipped once the campaign's time
# (WHATIF_BUDGET_S, default 230 s) cannot hold it; each phase is tarred into $OUT as it ends:
#   default.tgz  sequential, grouped, streams-sync, streams, graph (switch-base-64)
#   zipf.tgz     sequential, grouped, streams-sync, streams (--skew zipf --zipf-exponent 0.5 --capacity-factor 8)
#   64k.tgz      streams-sync, streams (--tokens 65536)
#   meta.tgz     environment, build log (each capture's nsys and workload output is in its phase), the latencies without a
#                profiler, steps.tsv (every step: start, seconds, exit code)
set -uo pipefail
cd "${MOE_TRACE_ROOT:-.}" || exit 2
: "${OUT:?set OUT to the results folder}"
T0=$(date +%s)
BUDGET=${WHATIF_BUDGET_S:-230}
W=${WHATIF_WORK:-/tmp/whatif}
rm -rf "$W"; mkdir -p "$W"/{default,zipf,64k,meta} "$OUT" || exit 2
[ -d .device-libs/root/usr/lib/x86_64-linux-gnu ] && \
  export LD_LIBRARY_PATH="$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
steps="$W/meta/steps.tsv"
printf 'step\tstart_s\tseconds\texit\n' > "$steps"

. "$(dirname "${BASH_SOURCE[0]}")/find-nsys.sh"
find_nsys || { echo "whatif: nsys not found" >&2; exit 2; }

elapsed() { echo $(( $(date +%s) - T0 )); }
say() { echo "whatif [$(elapsed)s] $*" | tee -a "$W/meta/summary.txt" >&2; }
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
# cap DIR NAME WORKLOAD-FLAGS...: the first campaign's nsys flags, then the SQLite export
cap() {
  local dir=$1 name=$2; shift 2
  run "$dir/$name" 45 "$nsys" profile --trace=cuda,nvtx,osrt --cuda-graph-trace=node --sample=none --cpuctxsw=none \
    --capture-range=cudaProfilerApi --capture-range-end=stop --force-overwrite true -o "$W/$dir/$name" \
    native-workload/build/moe-workload "$@" --iterations 3 --warmup 2
  if [ -f "$W/$dir/$name.nsys-rep" ]; then
    timeout -k 5 60 "$nsys" export --type sqlite --force-overwrite true -o "$W/$dir/$name.sqlite" \
      "$W/$dir/$name.nsys-rep" >> "$W/$dir/$name.log" 2>&1 || say "export of $name failed"
    rm -f "$W/$dir/$name.nsys-rep"
  fi
}
pack() { tar -czf "$OUT/$1.tgz" -C "$W" "$1" && say "packed $1.tgz ($(du -k "$OUT/$1.tgz" | cut -f1) KiB)"; }

{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "nsys: $nsys"; "$nsys" --version; nvidia-smi;
  nvcc --version || /usr/local/cuda/bin/nvcc --version; git log -1 --format='commit %H %s' 2>/dev/null;
  sha256sum native-workload/src/*; } > "$W/meta/environment.txt" 2>&1
command -v cmake >/dev/null || PATH="$PATH:$(dirname "$(command -v python3)")"
command -v nvcc >/dev/null || PATH="$PATH:/usr/local/cuda/bin"
run meta/configure 60 cmake -S native-workload -B native-workload/build -G Ninja -DCMAKE_BUILD_TYPE=Release \
  && run meta/build 150 cmake --build native-workload/build -j "$(nproc)" || { pack meta; exit 1; }

zipf=(--skew zipf --zipf-exponent 0.5 --capacity-factor 8)
cap default sequential --mode sequential
cap default grouped --mode grouped
cap zipf sequential --mode sequential "${zipf[@]}"
cap zipf grouped --mode grouped "${zipf[@]}"
cap default streams-sync --mode streams-sync
cap default streams --mode streams
pack default
pack zipf
cap 64k streams-sync --mode streams-sync --tokens 65536
cap 64k streams --mode streams --tokens 65536
pack 64k
cap default graph --mode graph
cap zipf streams-sync --mode streams-sync "${zipf[@]}"
cap zipf streams --mode streams "${zipf[@]}"
pack default
pack zipf
run meta/latencies 30 native-workload/build/moe-workload --iterations 20 --warmup 5
run meta/latencies-zipf 30 native-workload/build/moe-workload --iterations 20 --warmup 5 "${zipf[@]}"
say "done"
pack meta
