#!/usr/bin/env bash
# One GPU-machine call for issue 20 (the grouped layer at the HBM floor), from the repository root:
#   bash native-workload/device/run.sh      (carry .device-libs, and native-workload/device/bin if prebuilt)
#
# Every step has its own time limit and goes on whatever the step before did, so one failing
# kernel still leaves the rest measured. In order:
#   env       date, GPU, driver, nvcc, cuBLAS, PyTorch, nsys          -> env.txt
#   build     moe-workload (CMake, in the background)                 -> build.log
#   test      device/bin/grouped_test (prebuilt here, else built there): pack + ffn alone against
#             a float64 host reference on fresh random inputs, NaN-poisoned, 20 bit-exact reruns
#             per case (a race shows as a difference), then the MOE_GROUPED_* variants timed
#   uniform   moe-workload --mode sequential,grouped (checked against sequential and float64),
#             its measured floor and the torch._grouped_mm anchor as RESULT lines
#   zipf      the same with --skew zipf --zipf-exponent 0.57 --capacity-factor 16: the top expert
#             gets ~10x the mean (654 of 4096 tokens at seed 1234), capacity 1024, nothing dropped
#   cand/alt  the same two runs (same checks, anchor) with $CAND and $ALT (MOE_GROUPED_* settings)
#   nsys      captures of --mode grouped as fixtures/MANIFEST.md made the others -> grouped.sqlite,
#             grouped-zipf.sqlite, and each capture's kernels (start, duration) -> kernels-*.txt
#   ncu       DRAM and L2 counters of one ffn launch
#   fallback  the cuBLAS path (MOE_GROUPED_FALLBACK=1) checked against sequential
#   variants  each $LIGHT setting on uniform and zipf, then the default again (run-to-run spread)
# SKIP_TEST=1 leaves out the test step; with device/bin/grouped.o and kernels.o carried (compiled
# elsewhere, see the build step) moe-workload links in seconds instead of cmake's minutes.
# Steps past DEADLINE seconds (280) are skipped and say so. FINAL=1 (the results run): only the
# checks, the RESULT runs (default and MOE_GROUPED_SIGNAL=0), the captures, the cuBLAS path and a
# second uniform run.
# $OUT gets: summary.txt (also printed last), logs.tar.gz (every step's log, build log,
# SASS counts), grouped.sqlite, grouped-zipf.sqlite.
set -u
OUT=${OUT:-/tmp/moe-out}
mkdir -p "$OUT"
LOG=/tmp/moe-logs
rm -rf "$LOG"; mkdir -p "$LOG"
NW=native-workload
W=$NW/build/moe-workload
T="$NW/device/bin/grouped_test"
export PATH="$PATH:/usr/local/cuda/bin:$(dirname "$(command -v python3)")"
ZIPF="--skew zipf --zipf-exponent 0.57 --capacity-factor 16"
# The kernel measured as `grouped` (v2 unless the caller says otherwise); the v1 steps set their own.
export MOE_GROUPED_KERNEL=${MOE_GROUPED_KERNEL:-2}
SUMMARY=$LOG/summary.txt
: > "$SUMMARY"
t0=$(date +%s)
DEADLINE=${DEADLINE:-280}   # seconds after the start by which every step has ended
note() { echo "$*" | tee -a "$SUMMARY"; }
# step NAME LIMIT CMD...: runs CMD with a time limit, its output to $LOG/NAME.log (and here),
# and records the exit status and seconds in the summary.
step() {
  local name=$1 limit=$2; shift 2
  local s=$(date +%s) left=$(( DEADLINE - $(date +%s) + t0 ))
  if [ $left -lt 15 ]; then note "step $name skipped (deadline)"; return 99; fi
  [ $limit -gt $left ] && limit=$left
  echo "== $name ($(date -u +%H:%M:%S), limit ${limit}s): $*"
  timeout -k 10 "$limit" "$@" > "$LOG/$name.log" 2>&1
  local rc=$?
  cat "$LOG/$name.log"
  note "step $name exit $rc ($(( $(date +%s) - s ))s)$([ $rc = 124 ] && echo ' TIMED OUT')"
  return $rc
}

{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,clocks.sm,clocks.mem,power.limit --format=csv
  nvcc --version | tail -2
  ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null
  grep -E "define CUBLAS_VER_(MAJOR|MINOR|PATCH|BUILD)" /usr/local/cuda/include/cublas_api.h
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  cmake --version | head -1
  git log -1 --format='commit %H %cI' 2>/dev/null; git status --short -- $NW/src 2>/dev/null | head
  echo "sources sha256 $(cat $NW/src/* $NW/device/grouped_test.cu | sha256sum | cut -c1-16)"
} > "$LOG/env.txt" 2>&1
cat "$LOG/env.txt"

# ---- build (background) while the prebuilt test binary runs ----
# SKIP_TEST=1: no grouped_test step (its checks already passed on these sources: say which run).
SKIP_TEST=${SKIP_TEST:-0}
if [ "$SKIP_TEST" = 1 ]; then
  TARGETS="moe-workload"; T=""; note "step test skipped (SKIP_TEST=1)"
elif [ -x "$T" ] && timeout 20 "$T" --probe > "$LOG/probe.log" 2>&1; then
  TARGETS="moe-workload"
else
  echo "no usable prebuilt $T (probe: $(tail -2 "$LOG/probe.log" 2>/dev/null | tr '\n' ' '); $(ls -la "$T" 2>&1)): building moe-grouped-test there"
  TARGETS="moe-workload moe-grouped-test"; T=$NW/build/moe-grouped-test
fi
# device/bin/grouped.o and kernels.o, compiled on a machine without a GPU (ptxas takes minutes on
# grouped.cu): nvcc -O3 -DNDEBUG -std=c++17 -arch=sm_90a -DMOE_GROUPED_SM90A=1 -Isrc -c src/grouped.cu
# and -arch=sm_90 -c src/kernels.cu. Then only the cuBLAS-side sources compile here, in seconds.
if [ -f $NW/device/bin/grouped.o ] && [ -f $NW/device/bin/kernels.o ] && [ "$TARGETS" = moe-workload ]; then
  mkdir -p $NW/build
  ( timeout 300 nvcc -O3 -DNDEBUG -std=c++17 -arch=sm_90 -I$NW/src $NW/src/main.cu $NW/src/moe.cu $NW/src/options.cpp \
      $NW/device/bin/kernels.o $NW/device/bin/grouped.o -lcublas -ldl -o $W ) > "$LOG/build.log" 2>&1 &
else
  ( timeout 300 cmake -S $NW -B $NW/build -G Ninja -DCMAKE_BUILD_TYPE=Release \
    && timeout 300 cmake --build $NW/build --target $TARGETS ) > "$LOG/build.log" 2>&1 &
fi
BUILD=$!
if [ "$T" = $NW/build/moe-grouped-test ]; then wait $BUILD; note "build exit $? (with the test)"; BUILT=1; else BUILT=""; fi

if [ -n "$T" ] && [ -x "$T" ]; then
  # What ptxas made of the kernels: matrix, TMA and local-memory instructions per function.
  if command -v cuobjdump > /dev/null; then
    cuobjdump --dump-sass "$T" > /tmp/sass.txt 2>&1
    awk '/Function :/ {f=$3} /HGMMA|UTMALDG|UBLKPF|LDL|STL|WARPGROUP.DEPBAR|WARPGROUP.ARRIVE|SYNCS/ {
           split($0, p, /[ ;]+/); for (i in p) if (p[i] ~ /^(HGMMA|UTMALDG|UBLKPF|LDL|STL|WARPGROUP|SYNCS)/) { c[f" "p[i]]++; break } }
         END { for (k in c) print c[k], k }' /tmp/sass.txt | sort -k2 > "$LOG/sass.txt"
    awk '/Function : .*ffnKernel2/,/\.L_x_[0-9]+:$/' /tmp/sass.txt | grep -nE "HGMMA|DEPBAR|LDL|STL|SYNCS|UTMALDG" | head -80 >> "$LOG/sass.txt"
  fi
  step test 240 "$T"
elif [ "$SKIP_TEST" != 1 ]; then
  note "step test: no grouped_test binary"
fi

[ -n "$BUILT" ] || { wait $BUILD; note "build exit $?"; }
tail -3 "$LOG/build.log"
if [ -x "$W" ]; then
  A="--torch-anchor $NW/torch/gemm_anchor.py --check-float 64 --iterations 50 --warmup 10"
  step uniform 150 $W --mode sequential,grouped $A
  step zipf 150 $W --mode sequential,grouped $ZIPF $A
  FINAL=${FINAL:-0}
  # CAND (space-separated MOE_GROUPED_* settings): a candidate configuration with the same checks
  # and anchor as the default; ALT: the configuration the default replaced (the same, in the final
  # run); LIGHT: comma-joined settings timed without checks (grouped_test checks every knob).
  CAND=${CAND-MOE_GROUPED_FUSE=1 MOE_GROUPED_SPLIT=4 MOE_GROUPED_TAIL=16}
  if [ -n "$CAND" ]; then
    step cand-uniform 90 env $CAND $W --mode sequential,grouped $A
    step cand-zipf 90 env $CAND $W --mode sequential,grouped $ZIPF $A
  fi
  ALT=${ALT-}
  if [ -n "$ALT" ]; then
    step alt-uniform 90 env $ALT $W --mode sequential,grouped $A
    step alt-zipf 90 env $ALT $W --mode sequential,grouped $ZIPF $A
  fi
  LIGHT=${LIGHT-MOE_GROUPED_FUSE=1 MOE_GROUPED_FUSE=1,MOE_GROUPED_SPLIT=4,MOE_GROUPED_TAIL=16,MOE_GROUPED_OVERLAP=1 MOE_GROUPED_SPLIT=4,MOE_GROUPED_TAIL=16}
  [ "$FINAL" = 1 ] && LIGHT=""

  # nsys captures of grouped (the flags of fixtures/MANIFEST.md's captures).
  export LD_LIBRARY_PATH=$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  NSYS=$(command -v nsys || ls -d /opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys 2>/dev/null | sort -rV | head -1)
  if [ -n "$NSYS" ]; then
    "$NSYS" --version >> "$LOG/env.txt" 2>&1
    caps="grouped grouped-zipf"; [ -n "$CAND" ] && caps="$caps grouped-cand grouped-cand-zipf"
    [ -n "$ALT" ] && caps="$caps grouped-alt grouped-alt-zipf"
    for cap in $caps; do
      extra=""; case $cap in *zipf) extra="$ZIPF";; esac
      route=""; case $cap in grouped-cand*) route="$CAND";; grouped-alt*) route="$ALT";; esac
      step "nsys-$cap" 120 env $route "$NSYS" profile --trace=cuda,nvtx,osrt --cuda-graph-trace=node --sample=none --cpuctxsw=none \
        --capture-range=cudaProfilerApi --capture-range-end=stop --force-overwrite true -o /tmp/cap-$cap \
        $W --mode grouped --iterations 3 --warmup 2 $extra
      step "export-$cap" 120 "$NSYS" export --type sqlite --force-overwrite true -o "$OUT/$cap.sqlite" /tmp/cap-$cap.nsys-rep
      # Where the layer's time goes: every kernel of the capture, µs from the capture's first kernel.
      python3 - "$OUT/$cap.sqlite" > "$LOG/kernels-$cap.txt" 2>&1 <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute("SELECT k.start, k.end, s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                  "JOIN StringIds s ON s.id = k.shortName ORDER BY k.start").fetchall()
t0 = rows[0][0] if rows else 0
prev_end = None
for start, end, name in rows:
    gap = "" if prev_end is None else "%+8.1f" % ((start - prev_end) / 1e3)
    print("%9.1f %9.1f %8.1f %s  %s" % ((start - t0) / 1e3, (end - t0) / 1e3, (end - start) / 1e3, gap, name[:60]))
    prev_end = end
PY
      cat "$LOG/kernels-$cap.txt"
    done
  else
    note "no nsys found"
  fi
  # Hardware counters of one ffn launch: DRAM and L2 bytes and how busy each was.
  NCU=$(command -v ncu || ls -d /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | sort -rV | head -1)
  [ "$FINAL" = 1 ] && NCU=""
  if [ -n "$NCU" ]; then
    M=gpu__time_duration.sum,dram__bytes_read.sum,dram__bytes_write.sum,lts__t_bytes.sum
    M=$M,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed
    M=$M,sm__throughput.avg.pct_of_peak_sustained_elapsed,l1tex__throughput.avg.pct_of_peak_sustained_elapsed
    for v in MOE_GROUPED_PDL=1; do
      step "ncu-${v#MOE_GROUPED_}" 90 env $v "$NCU" --clock-control none --kernel-name regex:ffnKernel --launch-skip 2 \
        --launch-count 1 --metrics $M $W --mode grouped --iterations 3 --warmup 1
    done
  else
    note "no ncu found"
  fi

  step fallback 90 env MOE_GROUPED_FALLBACK=1 $W --mode sequential,grouped --iterations 50 --warmup 10
  for v in $LIGHT; do
    name=$(echo "$v" | sed 's/MOE_GROUPED_//g; s/,/+/g')
    step "var-$name" 60 env ${v//,/ } $W --mode grouped --iterations 50 --warmup 10
    step "var-$name-zipf" 60 env ${v//,/ } $W --mode grouped $ZIPF --iterations 50 --warmup 10
  done
  step again-uniform 60 $W --mode grouped --iterations 50 --warmup 10   # the spread between two runs
else
  note "no moe-workload (build failed: see build.log)"
fi

# ---- compact summary, printed last ----
{
  echo "== summary ($(( $(date +%s) - t0 ))s)"
  grep -hE "^grouped_test:|^case |^topk |^fast path|MISMATCH" "$LOG/test.log" 2>/dev/null
  sed -n '/^pack+ffn/,$p' "$LOG/test.log" 2>/dev/null
  grep -h "^times uniform" "$LOG/test.log" 2>/dev/null
  for f in uniform zipf cand-uniform cand-zipf alt-uniform alt-zipf fallback again-uniform $(ls "$LOG" | sed -n 's/^\(var-.*\)\.log$/\1/p'); do
    [ -f "$LOG/$f.log" ] || continue
    g=$(grep -h "^RESULT mode=grouped" "$LOG/$f.log" | sed 's/speedup_vs_sequential=[^ ]* //')
    r=$(grep -h "^routing layer 0" "$LOG/$f.log" | sed 's/routing layer 0: tokens per expert //')
    printf '%-44s %s | %s\n' "$f" "${g:-no grouped RESULT}" "$r"
  done
  for f in uniform zipf cand-uniform cand-zipf alt-uniform alt-zipf fallback; do
    [ -f "$LOG/$f.log" ] && { echo "-- $f"; grep -hE "^RESULT (floor|grouped_vs|anchor)|float64 reference|grouped runs as|^gemm_anchor" "$LOG/$f.log"; }
  done
  for f in "$LOG"/kernels-*.txt; do [ -f "$f" ] && { echo "${f##*/} (start, end, duration, gap after the previous kernel; µs):"; cat "$f"; }; done
  for f in "$LOG"/ncu-*.log; do [ -f "$f" ] && { echo "${f##*/}:"; grep -E "^ +(gpu__|dram__|lts__|sm__|l1tex__)" "$f"; }; done
  grep -h "C75[0-9][0-9]" "$LOG/build.log" | sort -u | head -4
  grep -hE "error|trap|illegal" "$LOG"/*.log 2>/dev/null | grep -v "rel err\|rel_err\|err=" | sort | uniq -c | head -12
} >> "$SUMMARY"
cp "$SUMMARY" "$OUT/summary.txt"
tar -C /tmp -czf "$OUT/logs.tar.gz" moe-logs 2>/dev/null
cat "$SUMMARY"
