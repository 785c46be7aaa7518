#!/usr/bin/env bash
# The second capture campaign on the one-GPU H200 machine (issues 13, 15, 18, 19), made to run in
# one device call. From the repository root, with .device-libs (libdw for nsys' importer) and
# .carry/nsys-reps (the three public reports of ../shared/nsys-reps) carried along:
#
#   OUT=/path/to/results bash native-workload/capture-round2.sh
#
# Phases (ROUND2_PHASES, default "whole kineto zipf ep reps"), most needed first; each step has
# its own timeout and is skipped when the campaign's time (ROUND2_BUDGET_S, default 330 s) is spent; each phase is tarred into $OUT as it ends, so a
# call cut short still brings back what was done:
#   whole.tgz   issue 13: whole-process `nsys profile` (no capture range) of switch_moe.py
#               --user-script for sequential, streams-sync, streams-sync --streams 2, grouped
#   kineto.tgz  issue 19: switch_moe.py --torch-profile (Kineto) inside nsys, same process;
#               kernel counts of both compared; back-to-back processes where they can't coexist
#   zipf.tgz    issue 15: moe-workload --skew zipf captures (capture range, like fixtures/nsys-2025.3)
#   ep.tgz      issue 18: capture-ep.sh with NPROC=1 (world size 1 dry run of ep_moe.py)
#   meta.tgz    environment, build log, the nsys export log of the three public reports (reps), the
#               latencies without a profiler, steps.tsv (every step: seconds, exit code), summary.txt
set -uo pipefail
cd "${MOE_TRACE_ROOT:-.}" || exit 2
: "${OUT:?set OUT to the results folder}"
T0=$(date +%s)
BUDGET=${ROUND2_BUDGET_S:-330}
W=${ROUND2_WORK:-/tmp/round2}
rm -rf "$W"; mkdir -p "$W"/{whole,kineto,zipf,ep,meta} "$OUT" || exit 2
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1 PYTHONUNBUFFERED=1
[ -d .device-libs/root/usr/lib/x86_64-linux-gnu ] && \
  export LD_LIBRARY_PATH="$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
py=python3
sw=native-workload/torch/switch_moe.py
summary="$W/meta/summary.txt"
steps="$W/meta/steps.tsv"
printf 'step\tstart_s\tseconds\texit\n' > "$steps"

. "$(dirname "${BASH_SOURCE[0]}")/find-nsys.sh"
find_nsys || { echo "round2: nsys not found" >&2; exit 2; }

PHASES=" ${ROUND2_PHASES:-whole kineto zipf ep reps} "
want() { [[ "$PHASES" == *" $1 "* ]]; }
elapsed() { echo $(( $(date +%s) - T0 )); }
since() { awk -v a="$(date +%s.%N)" -v b="$1" 'BEGIN { printf "%.1f", a - b }'; }
say() { echo "round2 [$(elapsed)s] $*" | tee -a "$summary" >&2; }
# run NAME TIMEOUT CMD...: CMD's output to $W/NAME.log (NAME holds its phase folder), skipped when
# the budget can't hold TIMEOUT/2 more seconds; one line in steps.tsv either way.
run() {
  local name=$1 to=$2; shift 2
  local start; start=$(elapsed)
  if [ $((BUDGET - start)) -lt $((to / 2)) ]; then
    printf '%s\t%s\t0\tskipped\n' "$name" "$start" >> "$steps"; say "skipped $name (budget)"; return 99
  fi
  local t=$(date +%s.%N)
  timeout -k 5 "$to" "$@" > "$W/$name.log" 2>&1
  local rc=$?
  printf '%s\t%s\t%.1f\t%s\n' "$name" "$start" "$(since "$t")" "$rc" >> "$steps"
  [ $rc -eq 0 ] || say "$name: exit $rc (see $name.log)"
  return $rc
}
# cap DIR NAME TIMEOUT NSYS_PROFILE_FLAGS... -- PROGRAM...: nsys profile, then export to SQLite.
cap() {
  local dir=$1 name=$2 to=$3; shift 3
  local flags=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do flags+=("$1"); shift; done
  shift
  run "$dir/$name" "$to" "$nsys" profile "${flags[@]}" --force-overwrite true -o "$W/$dir/$name" "$@"
  local rc=$?
  if [ -f "$W/$dir/$name.nsys-rep" ]; then
    timeout -k 5 90 "$nsys" export --type sqlite --force-overwrite true -o "$W/$dir/$name.sqlite" \
      "$W/$dir/$name.nsys-rep" >> "$W/$dir/$name.log" 2>&1 || say "export of $name failed"
    rm -f "$W/$dir/$name.nsys-rep"   # only the exports come back
  elif [ $rc -ne 99 ]; then
    say "$name: no report (see $dir/$name.log)"
  fi
  return $rc
}
pack() {  # PHASE: tar the phase's folder into $OUT (split when over 15 MiB)
  local p=$1
  tar -C "$W" -czf "$OUT/$p.tgz" "$p" 2>/dev/null
  local size; size=$(stat -c %s "$OUT/$p.tgz")
  if [ "$size" -gt $((15 * 1024 * 1024)) ]; then
    split -b 15m -d "$OUT/$p.tgz" "$OUT/$p.tgz.part" && rm -f "$OUT/$p.tgz"
  fi
  say "packed $p ($size bytes)"
}
result() { grep -h '^RESULT' "$@" 2>/dev/null | sed 's/^/  /'; }

# ---- environment ------------------------------------------------------------------------------
{ echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "nsys: $nsys"; "$nsys" --version; nvidia-smi
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  nvcc --version || /usr/local/cuda/bin/nvcc --version
  "$py" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'nccl', torch.cuda.nccl.version(), torch.cuda.get_device_name(0))"
  uname -r; nproc
  echo "native workload sources (sha256; the working tree sent, commits or not):"
  sha256sum native-workload/CMakeLists.txt native-workload/src/* native-workload/torch/*.py
} > "$W/meta/environment.txt" 2>&1
say "start: $(head -3 "$W/meta/environment.txt" | tr '\n' ' ')"

# ---- background, CPU only: build the native workload; export the public reports ----------------
if want zipf; then
( command -v cmake >/dev/null || PATH="$PATH:$(dirname "$(command -v python3)")"
  command -v nvcc >/dev/null || PATH="$PATH:/usr/local/cuda/bin"
  s=$(date +%s)
  { timeout 60 cmake -S native-workload -B native-workload/build -G Ninja -DCMAKE_BUILD_TYPE=Release &&
    timeout 200 cmake --build native-workload/build; } \
    > "$W/meta/build.log" 2>&1
  echo "build exit $? in $(( $(date +%s) - s )) s" >> "$W/meta/build.log" ) &
build_pid=$!
fi
if want reps; then
( for rep in .carry/nsys-reps/*.qdrep .carry/nsys-reps/*.nsys-rep; do
    [ -f "$rep" ] || continue
    b=$(basename "$rep"); x="$W/meta/${b%.*}.sqlite"
    echo "== $b ($(stat -c %s "$rep") bytes)"
    echo "\$ nsys export --type sqlite --force-overwrite true -o ${b%.*}.sqlite $b"
    t=$(date +%s.%N)
    timeout -k 5 60 "$nsys" export --type sqlite --force-overwrite true -o "$x" "$rep" 2>&1
    rc=$?
    echo "exit $rc after $(since "$t") s"
    if [ -f "$x" ]; then
      "$py" - "$x" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
def n(t): return db.execute("SELECT count(*) FROM %s" % t).fetchone()[0] if t in tables else None
meta = dict(db.execute("SELECT name, value FROM META_DATA_EXPORT").fetchall()) if "META_DATA_EXPORT" in tables else {}
import os
print("sqlite %d bytes, %d tables, kernels %s, runtime calls %s, NVTX events %s, export schema %s %s"
      % (os.path.getsize(sys.argv[1]), len(tables), n("CUPTI_ACTIVITY_KIND_KERNEL"), n("CUPTI_ACTIVITY_KIND_RUNTIME"),
         n("NVTX_EVENTS"), meta.get("EXPORT_SCHEMA_VERSION", "?"), meta.get("EXPORT_PRODUCT_VERSION", "")))
EOF
      rm -f "$x"
    else
      echo "no sqlite written"
    fi
    echo
  done ) > "$W/meta/nsys-reps-export.log" 2>&1 &
reps_pid=$!
fi

# ---- issue 13: whole-process captures, the way users run nsys --------------------------------
WHOLE=(--trace=cuda,nvtx,osrt --sample=none --cpuctxsw=none)
declare -A WHOLE_ARGS=(
  [torch-sequential]="--mode sequential"
  [torch-streams-sync]="--mode streams-sync"
  [torch-streams-sync-2]="--mode streams-sync --streams 2"
  [torch-grouped]="--mode grouped"
)
WHOLE_ORDER=(torch-sequential torch-streams-sync torch-streams-sync-2 torch-grouped)
if want whole; then
for name in "${WHOLE_ORDER[@]}"; do
  # shellcheck disable=SC2086
  cap whole "$name" 90 "${WHOLE[@]}" -- "$py" "$sw" ${WHOLE_ARGS[$name]} --user-script --iterations 5 --warmup 2
done
say "whole-process captures:"; result "$W"/whole/*.log | tee -a "$summary" >&2
pack whole
fi

# ---- issue 19: Kineto and nsys in one process -------------------------------------------------
KFLAGS=(--trace=cuda,nvtx,osrt --sample=none --cpuctxsw=none --capture-range=cudaProfilerApi --capture-range-end=stop)
counts() {  # SQLITE TRACE.json.gz: kernel/stream/sync counts of both
  "$py" - "$@" <<'EOF'
import gzip, json, os, sqlite3, sys
sq, kj = sys.argv[1], sys.argv[2]
out = []
if os.path.exists(sq):
    db = sqlite3.connect(sq)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    k = db.execute("SELECT count(*), count(DISTINCT streamId) FROM CUPTI_ACTIVITY_KIND_KERNEL").fetchone() \
        if "CUPTI_ACTIVITY_KIND_KERNEL" in tables else (0, 0)
    s = db.execute("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME r JOIN StringIds n ON n.id = r.nameId "
                   "WHERE n.value LIKE 'cudaStreamSynchronize%'").fetchone()[0] if "CUPTI_ACTIVITY_KIND_RUNTIME" in tables else 0
    out.append("nsys_kernels=%d nsys_streams=%d nsys_syncs=%d" % (k[0], k[1], s))
else:
    out.append("nsys_kernels=none")
if os.path.exists(kj):
    ev = json.load(gzip.open(kj))
    ev = ev["traceEvents"] if isinstance(ev, dict) else ev  # (the legacy profiler writes a bare list)
    kern = [e for e in ev if e.get("cat") == "kernel"]
    streams = {(e.get("args", {}).get("device"), e.get("args", {}).get("stream")) for e in kern}
    syncs = sum(1 for e in ev if e.get("cat") == "cuda_runtime" and e.get("name", "").startswith("cudaStreamSynchronize"))
    steps = sorted({e["name"] for e in ev if e.get("name", "").startswith("ProfilerStep#")})
    out.append("kineto_kernels=%d kineto_streams=%d kineto_syncs=%d kineto_steps=%s kineto_bytes=%d"
               % (len(kern), len(streams), syncs, ",".join(steps), os.path.getsize(kj)))
else:
    out.append("kineto_kernels=none")
print(" ".join(out))
EOF
}
if want kineto; then
coexist=unknown
for mode in sequential streams-sync streams grouped; do
  cap kineto "$mode" 90 "${KFLAGS[@]}" -- "$py" "$sw" --mode "$mode" --user-script --iterations 5 --warmup 2 \
    --torch-profile "$W/kineto/$mode.pt.trace.json.gz"
  c=$(counts "$W/kineto/$mode.sqlite" "$W/kineto/$mode.pt.trace.json.gz")
  say "kineto $mode (one process, nsys + torch.profiler): $c"
  echo "$mode together $c" >> "$W/kineto/counts.txt"
  nk=$(sed -n 's/.*nsys_kernels=\([0-9]*\).*/\1/p' <<< "$c"); kk=$(sed -n 's/.*kineto_kernels=\([0-9]*\).*/\1/p' <<< "$c")
  if [ "${nk:-0}" -gt 0 ] && [ "${kk:-0}" -gt 0 ]; then
    [ "$coexist" = unknown ] && coexist=yes
  else
    coexist=no
    # They did not both get kernels: capture each alone, back to back, and say so.
    if [ "${kk:-0}" -eq 0 ]; then
      mv -f "$W/kineto/$mode.pt.trace.json.gz" "$W/kineto/$mode.together.pt.trace.json.gz" 2>/dev/null
      run "kineto/$mode-kineto-alone" 60 "$py" "$sw" --mode "$mode" --user-script --iterations 5 --warmup 2 \
        --torch-profile "$W/kineto/$mode.pt.trace.json.gz"
    fi
    if [ "${nk:-0}" -eq 0 ]; then
      mv -f "$W/kineto/$mode.sqlite" "$W/kineto/$mode.together.sqlite" 2>/dev/null
      cap kineto "$mode-nsys-alone" 90 "${KFLAGS[@]}" -- "$py" "$sw" --mode "$mode" --user-script --iterations 5 \
        --warmup 2 --profiler-api-from 2
      mv -f "$W/kineto/$mode-nsys-alone.sqlite" "$W/kineto/$mode.sqlite" 2>/dev/null
    fi
    c=$(counts "$W/kineto/$mode.sqlite" "$W/kineto/$mode.pt.trace.json.gz")
    say "kineto $mode (back-to-back processes): $c"
    echo "$mode apart $c" >> "$W/kineto/counts.txt"
  fi
done
# One Kineto run without nsys, to see whether nsys changed what Kineto recorded.
if run kineto/grouped-without-nsys 60 "$py" "$sw" --mode grouped --user-script --iterations 5 --warmup 2 \
     --torch-profile "$W/kineto/grouped-alone.pt.trace.json.gz"; then
  c=$(counts /nonexistent "$W/kineto/grouped-alone.pt.trace.json.gz")
  say "kineto grouped without nsys: $c"; echo "grouped kineto-alone $c" >> "$W/kineto/counts.txt"
fi
say "Kineto and nsys kernel records in one process: $coexist"
echo "coexist=$coexist" >> "$W/kineto/counts.txt"
result "$W"/kineto/*.log | tee -a "$summary" >&2
pack kineto
fi

# ---- the same whole-process commands without any profiler -------------------------------------
for p in ${build_pid:-} ${reps_pid:-}; do wait "$p"; done
if want whole; then
for name in "${WHOLE_ORDER[@]}"; do
  # shellcheck disable=SC2086
  run "meta/plain-$name" 60 "$py" "$sw" ${WHOLE_ARGS[$name]} --user-script --iterations 5 --warmup 2
done
say "the whole-process commands without a profiler:"; result "$W"/meta/plain-*.log | tee -a "$summary" >&2
fi

# ---- issue 15: zipf-skewed routing, native workload -------------------------------------------
ZIPF=(--skew zipf --zipf-exponent 0.5 --capacity-factor 8)
NFLAGS=(--trace=cuda,nvtx,osrt --cuda-graph-trace=node --sample=none --cpuctxsw=none --capture-range=cudaProfilerApi --capture-range-end=stop)
if want zipf; then
if [ -x native-workload/build/moe-workload ]; then
  for mode in sequential streams-sync streams grouped; do
    cap zipf "$mode" 45 "${NFLAGS[@]}" -- native-workload/build/moe-workload --mode "$mode" "${ZIPF[@]}" --iterations 3 --warmup 2
  done
  run zipf/plain 45 native-workload/build/moe-workload "${ZIPF[@]}" --iterations 20 --warmup 5
  grep -h '^routing' "$W"/zipf/sequential.log | head -1 | tee -a "$summary" >&2
  say "zipf captures (in the capture) and without a profiler (plain):"; result "$W"/zipf/*.log | tee -a "$summary" >&2
else
  say "native workload did not build: zipf captures skipped ($(tail -3 "$W/meta/build.log" | tr '\n' ' '))"
fi
pack zipf
fi

# ---- issue 18: expert-parallel dry run on one GPU ----------------------------------------------
if want ep; then
run ep/capture-ep 170 env MOE_EP_OUT="$W/ep" NPROC=1 EP_ITERATIONS=5 EP_WARMUP=3 EP_STEP_TIMEOUT=50 NSYS="$nsys" \
  bash native-workload/capture-ep.sh
rm -f "$W"/ep/*.nsys-rep
say "EP dry run (world size 1):"; result "$W"/ep/ep-*.log | tee -a "$summary" >&2
grep -h '^RANK\|^ep_moe' "$W"/ep/ep-plain.log 2>/dev/null | head -5 | tee -a "$summary" >&2
pack ep
fi

# ---- sizes and the end -------------------------------------------------------------------------
( cd "$W" && ls -l whole kineto zipf ep ) > "$W/meta/sizes.txt" 2>&1
[ -f "$W/meta/nsys-reps-export.log" ] && tr '\r' '\n' < "$W/meta/nsys-reps-export.log" | grep -v '^Processing' >&2
say "done in $(elapsed) s"
pack meta
ls -l "$OUT" >&2
