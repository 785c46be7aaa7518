#!/usr/bin/env bash
# One GPU-machine call for issue 20 (the grouped layer at the HBM floor), from the repository root:
#   bash native-workload/device/run.sh            (carry .device-libs and native-workload/device/bin)
# Builds moe-workload (CMake) while the prebuilt device/bin/grouped_test checks and times the
# fast path alone; then runs the workload (checked against sequential and a float64 reference,
# with its measured floor and the torch._grouped_mm anchor) on uniform and Zipf routing, the old
# cuBLAS grouped path for comparison, and captures `grouped` under nsys. Everything goes to
# $OUT: run.log (all output), build.log, env.txt, sass.txt, *.sqlite.
set -uo pipefail
OUT=${OUT:-/tmp/moe-out}
mkdir -p "$OUT"
NW=native-workload
W=$NW/build/moe-workload
T="$NW/device/bin/grouped_test"
export PATH="$PATH:/usr/local/cuda/bin:$(dirname "$(command -v python3)")"
export MOE_GROUPED_FAST=1   # the persistent kernel is opt-in until this script has verified it
exec > >(tee -a "$OUT/run.log") 2>&1
echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) start"
{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  nvcc --version | tail -2
  ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null
  grep -E "define CUBLAS_VER_(MAJOR|MINOR|PATCH|BUILD)" /usr/local/cuda/include/cublas_api.h
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  cmake --version | head -1
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# device/bin/grouped_test may be carried prebuilt (nvcc here and there is 13.0); else CMake builds it.
TARGETS="moe-workload"; [ -x "$T" ] || { TARGETS="moe-workload moe-grouped-test"; T=$NW/build/moe-grouped-test; }
( cmake -S $NW -B $NW/build -G Ninja -DCMAKE_BUILD_TYPE=Release && cmake --build $NW/build --target $TARGETS ) \
  > "$OUT/build.log" 2>&1 &
BUILD=$!
BUILT=""
[ "$T" = $NW/build/moe-grouped-test ] && { wait $BUILD; echo "build exit $?"; BUILT=1; }

if [ -x "$T" ]; then
  # What ptxas made of the kernels: matrix, TMA and local-memory instructions per function.
  cuobjdump --dump-sass "$T" > /tmp/sass.txt 2>&1
  awk '/Function :/ {f=$3} /HGMMA|UTMALDG|UBLKPF|LDL|STL|WARPGROUP.DEPBAR|WARPGROUP.ARRIVE|SYNCS/ {
         split($0, p, /[ ;]+/); for (i in p) if (p[i] ~ /^(HGMMA|UTMALDG|UBLKPF|LDL|STL|WARPGROUP|SYNCS)/) { c[f" "p[i]]++; break } }
       END { for (k in c) print c[k], k }' /tmp/sass.txt | sort -k2 > "$OUT/sass.txt"
  awk '/Function : .*ffnKernelILb0/,/\.L_x_[0-9]+:$/' /tmp/sass.txt | grep -nE "HGMMA|DEPBAR|LDL|STL|SYNCS|UTMALDG" | head -60 >> "$OUT/sass.txt"
  timeout 90 "$T"; echo "grouped_test exit $?"
fi

[ -n "$BUILT" ] || { wait $BUILD; echo "build exit $?"; }
tail -3 "$OUT/build.log"
if [ ! -x "$W" ]; then echo "no moe-workload"; exit 1; fi
A="--torch-anchor $NW/torch/gemm_anchor.py --check-float 64 --iterations 50 --warmup 10"
timeout 90 $W --mode sequential,grouped $A; echo "uniform exit $?"
timeout 90 $W --mode sequential,grouped --skew zipf --capacity-factor 64 $A; echo "zipf exit $?"
for v in MOE_GROUPED_LAG=8 MOE_GROUPED_PREFETCH=4 MOE_GROUPED_FIXED_N=1 MOE_GROUPED_PDL=0 MOE_GROUPED_EVICT_FIRST=0 \
         MOE_GROUPED_FALLBACK=1; do
  echo "== variant $v"
  env $v timeout 60 $W --mode grouped --iterations 50 --warmup 10 | grep -E "RESULT|grouped runs as"
  echo "variant $v exit $?"
done

# nsys captures of the new grouped mode (as fixtures/MANIFEST.md made the others).
export LD_LIBRARY_PATH=$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
NSYS=$(ls -d /opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys 2>/dev/null | sort -rV | head -1)
for cap in grouped grouped-zipf; do
  extra=""; [ $cap = grouped-zipf ] && extra="--skew zipf --capacity-factor 64"
  timeout 120 "$NSYS" profile --trace=cuda,nvtx,osrt --cuda-graph-trace=node --sample=none --cpuctxsw=none \
    --capture-range=cudaProfilerApi --capture-range-end=stop --force-overwrite true -o /tmp/cap-$cap \
    $W --mode grouped --iterations 3 --warmup 2 $extra
  timeout 120 "$NSYS" export --type sqlite --force-overwrite true -o "$OUT/$cap.sqlite" /tmp/cap-$cap.nsys-rep
  echo "capture $cap exit $?"
done
"$NSYS" --version
cp "$OUT/run.log" /tmp/run-snapshot.log
echo "== summary"
grep -E "^case |^(uniform|zipf|weight)|pack\+ffn|exit|RESULT|grouped runs as|float64|== variant" /tmp/run-snapshot.log
