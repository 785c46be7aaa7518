#!/usr/bin/env bash
# On the GPU machine (idle, unlike the shared 2-core VM where bench/RESULTS-kineto.md was measured
# under a load average of ~15): `npm run bench:kineto` pinned to two cores with taskset, so its wall
# times are those of an idle 2-core machine. Writes $OUT/kineto-bench/RESULTS-kineto.md and the log.
#
# Needs, carried with the checkout: .device-node (native-workload/bundle-node-for-gpu.sh) and the
# public traces under .carry/kineto-corpus (mkdir -p .carry/kineto-corpus && cp ../shared/kineto-corpus/*.gz .carry/kineto-corpus/).
# Node's @streamparser/json (a dev dependency) is not in the bundle: that column reads n/a there.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/kineto-bench-out}"
R="$OUT/kineto-bench"; mkdir -p "$R"
NODE="${NODE_BIN:-/tmp/n/node}"
if [ -z "${NODE_BIN:-}" ]; then
  [ -x /tmp/n/node ] || { mkdir -p /tmp/n && tar xJf .device-node/bundle.tar.xz -C /tmp/n; }
  [ -d dist ] || tar xJf .device-node/dist.tar.xz
  [ -e node_modules ] || ln -sfn /tmp/n/node_modules node_modules
fi
SP=""
[ -d node_modules/@streamparser/json ] || SP="--no-streamparser"
echo "cores: $(nproc), pinned to 0,1; node $($NODE --version); python3 $(python3 --version 2>&1)" | tee "$R/log.txt"
KINETO_CORPUS="$PWD/.carry/kineto-corpus" taskset -c 0,1 "$NODE" bench/kineto.js $SP "$@" --out "$R/RESULTS-kineto.md" 2>&1 | tee -a "$R/log.txt"
