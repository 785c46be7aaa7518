#!/usr/bin/env bash
# A/B of grouped-kernel builds on the GPU machine, in one call, from the repository root:
#   OUT=$OUT bash native-workload/device/ab.sh            (carry native-workload/device/bin/ab)
#
# Each version is a folder native-workload/device/bin/ab/<name>/ prepared on a machine without a
# GPU by native-workload/device/ab-prepare.sh: src/ (that version's sources), grouped.o and
# kernels.o (nvcc 13.0, ptxas there: minutes), ptxas.log, optionally a file `test` (link and run
# grouped_test --quick from the same objects) and env (MOE_GROUPED_* settings the version runs with, one per line). Here each
# version's moe-workload links from its objects (its own main.cu, moe.cu, options.cpp compiled
# against cuBLAS, all versions at once), then:
#   res      ffnKernel2's registers and spills per version (cuobjdump), local loads/stores in SASS
#   checked  per version, uniform then Zipf: moe-workload --mode sequential,grouped
#            --check-float 64 --torch-anchor ...: checked against sequential and float64, with
#            the measured floor and torch._grouped_mm as RESULT lines
#   rounds   interleaved timing: round after round, each routing, each version in turn
#            (A B C A B C ...), --mode grouped --iterations 200: median per run; as many rounds
#            as the deadline leaves (at least ROUNDS_MIN)
#   test     grouped_test --quick (every configuration checked against float64, bit-exact
#            reruns) for the versions that carry one, while time is left
# Prints the RESULT lines and a compact summary (also $OUT/summary.txt); every log in $OUT/ab/.
# A folder with only `env` and `same-as` (another version's name) runs that version's build with
# its own settings (a knob A/B'd in the same rounds without carrying the objects twice).
# VERSIONS (default: every folder, in name order) picks and orders them; ANCHOR_VERSIONS (default:
# all) those whose checked runs also time torch._grouped_mm (~8 s each); TIMES_VERSIONS (none) those
# also run once per routing with MOE_GROUPED_TIMES=1 (where the CTAs' time goes); DEADLINE (230 s).
set -u
OUT=${OUT:-/tmp/moe-ab}
mkdir -p "$OUT/ab"
L=$OUT/ab
NW=native-workload
AB=${AB:-$NW/device/bin/ab}
export PATH="$PATH:/usr/local/cuda/bin:$(dirname "$(command -v python3)")"
export MOE_GROUPED_KERNEL=${MOE_GROUPED_KERNEL:-2}
ZIPF="--skew zipf --zipf-exponent 0.57 --capacity-factor 16"
ANCHOR="--torch-anchor $NW/torch/gemm_anchor.py"
DEADLINE=${DEADLINE:-230}
ROUNDS_MIN=${ROUNDS_MIN:-2}
ROUNDS_MAX=${ROUNDS_MAX:-12}
t0=$(date +%s)
left() { echo $(( DEADLINE - $(date +%s) + t0 )); }
SUMMARY=$OUT/summary.txt
: > "$SUMMARY"
note() { echo "$*" | tee -a "$SUMMARY"; }

VERSIONS=${VERSIONS:-$(ls "$AB" 2>/dev/null | sort | tr '\n' ' ')}
# objs V: the folder whose sources and objects version V runs
objs() { if [ -f $AB/$1/same-as ]; then echo $AB/$(cat $AB/$1/same-as); else echo $AB/$1; fi; }
[ -n "$VERSIONS" ] || { note "no versions under $AB"; exit 1; }
note "ab: versions $VERSIONS; deadline ${DEADLINE}s"

{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,clocks.sm,clocks.mem,power.limit --format=csv
  nvcc --version | tail -2
  ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null
  grep -E "define CUBLAS_VER_(MAJOR|MINOR|PATCH|BUILD)" /usr/local/cuda/include/cublas_api.h
  python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda)"
  for v in $VERSIONS; do
    o=$(objs $v)
    echo "version $v ($o): sources sha256 $(cat $o/src/* $o/grouped_test.cu 2>/dev/null | sha256sum | cut -c1-16)" \
         "(src only $(cat $o/src/* | sha256sum | cut -c1-16)), env: $(cat $AB/$v/env 2>/dev/null | tr '\n' ' ')"
    cat $o/origin 2>/dev/null
  done
} > "$L/env.txt" 2>&1
cat "$L/env.txt"

# ---- build: every version's moe-workload at once ----
BIN=/tmp/ab-bin
rm -rf $BIN
for v in $VERSIONS; do
  [ -f $AB/$v/same-as ] && continue
  mkdir -p $BIN/$v
  ( timeout 150 nvcc -O3 -DNDEBUG -std=c++17 -arch=sm_90 -I$AB/$v/src $AB/$v/src/main.cu $AB/$v/src/moe.cu \
      $AB/$v/src/options.cpp $AB/$v/kernels.o $AB/$v/grouped.o -lcublas -ldl -o $BIN/$v/moe-workload \
      > $L/build-$v.log 2>&1; rc=$?
    if [ -f $AB/$v/test ]; then  # grouped_test (no cuBLAS) from the same objects
      timeout 150 nvcc -O3 -DNDEBUG -std=c++17 -arch=sm_90 -I$AB/$v/src $AB/$v/grouped_test.cu $AB/$v/kernels.o \
        $AB/$v/grouped.o -o $BIN/$v/grouped_test >> $L/build-$v.log 2>&1 || echo "grouped_test build failed" >> $L/build-$v.log
    fi
    echo "build $v exit $rc" >> $L/build-$v.log ) &
done
wait
for v in $VERSIONS; do
  if [ -f $AB/$v/same-as ]; then ln -s $BIN/$(cat $AB/$v/same-as) $BIN/$v; note "build $v: the build of $(cat $AB/$v/same-as)"
  else note "$(tail -1 $L/build-$v.log) ($(( $(date +%s) - t0 ))s)"; fi
done

# ---- what ptxas made of ffnKernel2 in each version ----
for v in $VERSIONS; do
  [ -f $AB/$v/same-as ] && continue
  if command -v cuobjdump > /dev/null; then
    cuobjdump --dump-resource-usage $AB/$v/grouped.o 2>&1 | grep -A1 "ffnKernel2" | grep -oE "Function [^ ]+|REG:[0-9]+|STACK:[0-9]+|LOCAL:[0-9]+" \
      | paste -sd' ' | sed 's/Function /\n  /g' > $L/res-$v.txt
    cuobjdump --dump-sass $AB/$v/grouped.o > /tmp/sass-$v.txt 2>&1
    awk '/Function : .*ffnKernel2/ {f=$3} /Function : / && !/ffnKernel2/ {f=""} f != "" && /LDL|STL/ {c[f]++} END {for (k in c) print "  " k ": " c[k] " LDL/STL"}' \
      /tmp/sass-$v.txt >> $L/res-$v.txt
  fi
  # ptxas here (-v): per ffnKernel2 instantiation (Cfg2<stages, chunk>[, knob bits]), spills and registers
  awk '/Compiling entry/ { f = ""; if ($0 ~ /ffnKernel2/) { match($0, /Cfg2ILi[0-9]+ELi[0-9]+EEE(Li[0-9]+E)?/); f = substr($0, RSTART, RLENGTH) } }
       f != "" && /spill stores/ { sp = $0; sub(/^ +/, "", sp) }
       f != "" && /Used [0-9]+ registers/ { match($0, /Used [0-9]+ registers/); print "  ptxas " f ": " substr($0, RSTART, RLENGTH) ", " sp; f = "" }' \
    $AB/$v/ptxas.log 2>/dev/null >> $L/res-$v.txt
  # ptxas's C7518 (wgmmas serialized) per instantiation: run 8's default had it, run 7's not
  grep -o "C7518.*ffnKernel2[^']*" $AB/$v/ptxas.log 2>/dev/null | grep -oE "Cfg2ILi[0-9]+ELi[0-9]+EEE(Li[0-9]+E)?" \
    | sed 's/^/  C7518 wgmma serialized: /' >> $L/res-$v.txt
  note "res $v: $(cat $L/res-$v.txt | tr '\n' ' ')"
done

envof() { cat $AB/$1/env 2>/dev/null | tr '\n' ' '; }
# run NAME V ARGS...: one moe-workload run of version V (with its env), output to $L/NAME.log
run() {
  local name=$1 v=$2; shift 2
  local lim=$(left); [ $lim -gt 120 ] && lim=120
  if [ $lim -lt 5 ]; then echo "skipped $name (deadline)" > $L/$name.log; return 99; fi
  timeout -k 5 $lim env $(envof $v) $BIN/$v/moe-workload "$@" > $L/$name.log 2>&1
  local rc=$?
  [ $rc = 0 ] || echo "exit $rc" >> $L/$name.log
  return $rc
}
median_of() { grep -o "RESULT mode=grouped median_us=[0-9.]*" $1 | head -1 | sed 's/.*=//'; }

# ---- checked runs: sequential + float64 checks, floor, torch anchor ----
for sk in uniform zipf; do
  extra=""; [ $sk = zipf ] && extra="$ZIPF"
  for v in $VERSIONS; do
    [ -x $BIN/$v/moe-workload ] || continue
    s=$(date +%s)
    anc=""; case " ${ANCHOR_VERSIONS:-$VERSIONS} " in *" $v "*) anc="$ANCHOR";; esac
    run checked-$v-$sk $v --mode sequential,grouped $extra $anc --check-float 64 --iterations 50 --warmup 10
    echo "# checked $v $sk ($(envof $v)) $(( $(date +%s) - s ))s"
    grep -E "^RESULT|routing layer|grouped runs as|exit " $L/checked-$v-$sk.log
  done
done 2>&1 | tee $L/checked.txt

# ---- TIMES_VERSIONS: per-CTA timestamps of one launch (MOE_GROUPED_TIMES=1, builds that print them) ----
for v in ${TIMES_VERSIONS-}; do
  for sk in uniform zipf; do
    extra=""; [ $sk = zipf ] && extra="$ZIPF"
    lim=$(left); [ $lim -gt 30 ] && lim=30; [ $lim -lt 10 ] && continue
    timeout -k 5 $lim env $(envof $v) MOE_GROUPED_TIMES=1 $BIN/$v/moe-workload --mode grouped $extra --iterations 20 --warmup 5 \
      > $L/times-$v-$sk.log 2>&1
    note "times $v $sk: $(grep -E '^grouped cta times' $L/times-$v-$sk.log | head -1) $(median_of $L/times-$v-$sk.log) us"
  done
done

# ---- interleaved rounds ----
: > $L/rounds.txt
round=0
while [ $round -lt $ROUNDS_MAX ]; do
  [ $round -ge $ROUNDS_MIN ] && [ $(left) -lt 70 ] && break
  [ $(left) -lt 15 ] && break
  round=$((round + 1))
  for sk in uniform zipf; do
    extra=""; [ $sk = zipf ] && extra="$ZIPF"
    for v in $VERSIONS; do
      [ -x $BIN/$v/moe-workload ] || continue
      run r$round-$v-$sk $v --mode grouped $extra --iterations 200 --warmup 20
      echo "$round $sk $v $(median_of $L/r$round-$v-$sk.log) $(grep -o 'read_once_us=[0-9.]*' $L/r$round-$v-$sk.log | sed 's/.*=//')" >> $L/rounds.txt
    done
  done
done
note "rounds: $round ($(( $(date +%s) - t0 ))s)"

# ---- nsys: each kernel of a few iterations (where the layer's time goes), for NSYS_VERSIONS ----
NSYS=$(command -v nsys || ls -d /opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys 2>/dev/null | sort -rV | head -1)
export LD_LIBRARY_PATH=$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
for v in ${NSYS_VERSIONS-$(echo $VERSIONS | awk '{print $NF}')}; do
  [ -n "$NSYS" ] && [ -x $BIN/$v/moe-workload ] && [ $(left) -gt 30 ] || continue
  for sk in uniform zipf; do
    extra=""; [ $sk = zipf ] && extra="$ZIPF"
    timeout -k 5 25 env $(envof $v) "$NSYS" profile --trace=cuda,nvtx --sample=none --cpuctxsw=none \
      --capture-range=cudaProfilerApi --capture-range-end=stop --force-overwrite true -o /tmp/ab-cap-$v-$sk \
      $BIN/$v/moe-workload --mode grouped --iterations 3 --warmup 2 $extra > $L/nsys-$v-$sk.log 2>&1
    timeout 25 "$NSYS" export --type sqlite --force-overwrite true -o /tmp/ab-cap-$v-$sk.sqlite /tmp/ab-cap-$v-$sk.nsys-rep >> $L/nsys-$v-$sk.log 2>&1
    python3 - /tmp/ab-cap-$v-$sk.sqlite > $L/kernels-$v-$sk.txt 2>&1 <<'PY'
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
    note "kernels $v $sk (nsys, us: start end duration gap):"
    tail -6 $L/kernels-$v-$sk.txt | tee -a "$SUMMARY"
  done
done

# ---- grouped_test --quick where carried ----
for v in $VERSIONS; do
  if [ -f $AB/$v/test ] && [ -x $BIN/$v/grouped_test ] && [ $(left) -gt 25 ]; then
    lim=$(( $(left) - 5 )); [ $lim -gt 90 ] && lim=90
    timeout -k 5 $lim env $(envof $v) $BIN/$v/grouped_test --quick > $L/test-$v.log 2>&1
    rc=$?
    note "test $v (grouped_test --quick): exit $rc, $(grep -c ' -> ok' $L/test-$v.log) cases ok, $(grep -c -- '-> MISMATCH\|FAIL\|mismatch' $L/test-$v.log) failed$([ $rc = 124 ] && echo ', TIMED OUT')"
  fi
done

# ---- summary ----
{
  echo "== RESULT lines of the checked runs (per version: uniform, then Zipf)"
  for v in $VERSIONS; do
    for sk in uniform zipf; do
      echo "# $v $sk $(envof $v)"
      grep -E "^RESULT" $L/checked-$v-$sk.log 2>/dev/null | grep -v "mode=sequential"
      grep -E "check=(fail|FAIL)|MISMATCH|exit " $L/checked-$v-$sk.log 2>/dev/null
    done
  done
  echo "== interleaved rounds: grouped median_us per run (--iterations 200), per routing and version"
  python3 - "$L/rounds.txt" $VERSIONS <<'EOF'
import sys, statistics as st, glob, re, os
rows = [l.split() for l in open(sys.argv[1]) if len(l.split()) >= 4]
vers = sys.argv[2:]
# torch._grouped_mm per routing, from whichever checked runs timed it (the same for every version)
anchor = {}
for f in glob.glob(os.path.join(os.path.dirname(sys.argv[1]), "checked-*.log")):
    sk = "zipf" if f.endswith("-zipf.log") else "uniform"
    for line in open(f, errors="replace"):
        m = re.match(r"RESULT anchor=torch._grouped_mm median_us=([0-9.]+) min_us", line)
        if m: anchor.setdefault(sk, []).append(float(m.group(1)))
for sk in ("uniform", "zipf"):
    base = None
    for v in vers:
        xs = [float(r[3]) for r in rows if r[1] == sk and r[2] == v]
        fl = [float(r[4]) for r in rows if r[1] == sk and r[2] == v and len(r) > 4]
        if not xs:
            print(f"{sk:8} {v:10} no runs"); continue
        med = st.median(xs)
        if base is None: base = med
        flm = st.median(fl) if fl else float('nan')
        an = st.median(anchor[sk]) if anchor.get(sk) else float('nan')
        print(f"{sk:8} {v:10} median {med:7.1f} us  min {min(xs):7.1f}  max {max(xs):7.1f}  n {len(xs):2}  "
              f"vs {vers[0]} {med - base:+6.1f} us  floor {flm:6.1f} -> {med / flm:.3f}x  torch {an:6.1f} -> {med / an:.3f}x  "
              f"runs {' '.join(f'{x:.1f}' for x in xs)}")
EOF
  echo "== $(( $(date +%s) - t0 ))s"
} > $L/summary-tail.txt 2>&1
cat $L/summary-tail.txt >> "$SUMMARY"
echo "==================== summary"
cat "$SUMMARY"
tar -czf "$OUT/ab-logs.tar.gz" -C "$OUT" ab 2>/dev/null
exit 0
