#!/usr/bin/env bash
# On the GPU machine (the lead's device call): `moe-trace info/analyze/compare REPORT.nsys-rep` with
# the real nsys, on every .nsys-rep/.qdrep in FOLDER (default .carry/nsys-reps). Checks, per report:
# exit code, the status line, the export landing in $XDG_CACHE_HOME (not beside the report), the second
# read reusing it (faster, no nsys), and analyze of the report giving the same devices and findings as
# analyze of a by-hand `nsys export`. Writes $OUT/nsys-rep/summary.txt (+ logs); prints the summary last.
#
# Needs, carried with the checkout: .device-node (native-workload/bundle-node-for-gpu.sh),
# .device-libs (bash ../shared/device/get-libdw.sh), and the reports under .carry/nsys-reps
# (mkdir -p .carry/nsys-reps && cp ../shared/nsys-reps/*.nsys-rep ../shared/nsys-reps/*.qdrep .carry/nsys-reps/).
set -uo pipefail
cd "$(dirname "$0")/../.."
FOLDER="${1:-.carry/nsys-reps}"
OUT="${OUT:-/tmp/nsys-rep-out}"
R="$OUT/nsys-rep"; mkdir -p "$R"
S="$R/summary.txt"; : > "$S"
say() { echo "$*" | tee -a "$S"; }

export LD_LIBRARY_PATH="$PWD/.device-libs/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# NODE_BIN: a node already there (a dry run off the device); else the carried bundle
NODE="${NODE_BIN:-/tmp/n/node}"
if [ -z "${NODE_BIN:-}" ]; then
  if [ ! -x /tmp/n/node ]; then
    mkdir -p /tmp/n && tar xJf .device-node/bundle.tar.xz -C /tmp/n || { say "FAIL: no .device-node/bundle.tar.xz"; exit 1; }
  fi
  [ -d dist ] || tar xJf .device-node/dist.tar.xz
  [ -e node_modules ] || ln -sfn /tmp/n/node_modules node_modules
fi
NSYS_BIN="$(command -v nsys || find /opt/nvidia -name nsys -type f -perm -u+x 2>/dev/null | head -1)"
say "nsys: ${NSYS_BIN:-none} ($("${NSYS_BIN:-false}" --version 2>&1 | head -1))"
say "node: $($NODE --version)"
export XDG_CACHE_HOME="$R/cache"
fails=0
shopt -s nullglob
for src in "$FOLDER"/*.nsys-rep "$FOLDER"/*.qdrep; do
  name="$(basename "$src")"
  work="$(mktemp -d)"; cp "$src" "$work/"; rep="$work/$name"
  before="$(ls -la "$work" | tail -n +2 | awk '{print $5, $NF}')"
  say ""
  say "== $name ($(stat -c %s "$src") bytes)"
  t0=$(date +%s.%N)
  $NODE bin/moe-trace.js info "$rep" > "$R/$name.info.txt" 2> "$R/$name.info.err"; rc=$?
  t1=$(date +%s.%N)
  say "info (first read, exports): exit $rc in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s; stderr: $(tr '\n' '|' < "$R/$name.info.err")"
  say "  $(sed -n 2p "$R/$name.info.txt")"
  say "  $(grep -m1 '^kernels' "$R/$name.info.txt")"
  [ $rc -eq 0 ] || fails=$((fails+1))
  t0=$(date +%s.%N)
  $NODE bin/moe-trace.js analyze --json "$rep" > "$R/$name.report.json" 2> "$R/$name.analyze.err"; rc=$?
  t1=$(date +%s.%N)
  say "analyze --json (cached export): exit $rc in $(awk "BEGIN{printf \"%.2f\", $t1 - $t0}") s; stderr: $(tr '\n' '|' < "$R/$name.analyze.err" | cut -c1-300)"
  [ $rc -eq 0 ] || fails=$((fails+1))
  $NODE bin/moe-trace.js analyze "$rep" > "$R/$name.analyze.txt" 2>&1
  say "  $(sed -n 1,3p "$R/$name.analyze.txt" | tr '\n' '|')"
  after="$(ls -la "$work" | tail -n +2 | awk '{print $5, $NF}')"
  if [ "$before" = "$after" ]; then say "  nothing written beside the report: ok"; else say "  FAIL: the report's folder changed: $after"; fails=$((fails+1)); fi
  say "  cache: $(ls "$XDG_CACHE_HOME/moe-trace/nsys-exports" | tr '\n' ' ')"
  # the same as a by-hand export
  by="$(mktemp -d)"
  "$NSYS_BIN" export --type sqlite --force-overwrite true --output "$by/x.sqlite" "$rep" > "$R/$name.export.log" 2>&1
  $NODE bin/moe-trace.js analyze --json "$by/x.sqlite" > "$R/$name.byhand.json" 2>/dev/null
  same=$($NODE -e '
    const fs = require("fs"); const a = JSON.parse(fs.readFileSync(process.argv[1])); const b = JSON.parse(fs.readFileSync(process.argv[2]));
    const k = (r) => JSON.stringify([r.devices, r.findings, r.headline]);
    console.log(k(a) === k(b) ? "same devices, findings and headline" : "DIFFERENT");' "$R/$name.report.json" "$R/$name.byhand.json" 2>&1)
  say "  vs by-hand nsys export: $same"
  [ "$same" = "same devices, findings and headline" ] || fails=$((fails+1))
  $NODE bin/moe-trace.js compare "$by/x.sqlite" "$rep" > "$R/$name.compare.txt" 2>&1 || fails=$((fails+1))
  say "  compare export vs report: $(grep -m1 'speed-up' "$R/$name.compare.txt")"
  rm -rf "$work" "$by"
done
say ""
say "failures: $fails"
cat "$S" > /dev/null
exit $((fails > 0))
