#!/usr/bin/env bash
# The benchmark on a many-core machine without Node.js (the H200 host: 16 cores), where the
# ≥ 8-core target (analyze ≤ 1.0x the sqlite3 shell's scan) is measured.
#
# Here, once (packs Node, the production node_modules and dist/ into .device-node/ with
# native-workload/bundle-node-for-gpu.sh, and the sqlite3 shell with its libraries beside them):
#   bash bench/device-bench.sh --prepare
# There, with .device-node carried (results under $OUT: RESULTS.md, bench.log):
#   bash bench/device-bench.sh
# Options after the mode go to bench/run.js (default there: --sizes 1m --no-html --no-naive).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--prepare" ]; then
  bash native-workload/bundle-node-for-gpu.sh >/dev/null
  # the shell and the libraries it links that a bare host may lack (glibc is the host's own)
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/sqlite3"
  cp "$(readlink -f "$(command -v sqlite3)")" "$stage/sqlite3/sqlite3"
  ldd "$(command -v sqlite3)" | awk '/=> \// { print $3 }' | grep -Ev '/(libc|libm|libpthread|libdl|ld-linux[^/]*)\.so' |
    while read -r lib; do cp -L "$lib" "$stage/sqlite3/"; done
  tar cJf .device-node/sqlite3.tar.xz -C "$stage" sqlite3
  ls -la .device-node
  exit 0
fi

: "${OUT:=$PWD/bench/device-out}"
mkdir -p "$OUT"
N=/tmp/moe-trace-node
mkdir -p "$N"
tar xJf .device-node/bundle.tar.xz -C "$N"
# dist/ as built where the bundle was made (no TypeScript compiler here)
rm -rf dist && tar xJf .device-node/dist.tar.xz
[ -e node_modules ] || ln -sfn "$N/node_modules" node_modules
export PATH="$N:$PATH"
if ! command -v sqlite3 >/dev/null || ! sqlite3 -version >/dev/null 2>&1; then
  tar xJf .device-node/sqlite3.tar.xz -C "$N"
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$N/sqlite3" "$N/sqlite3/sqlite3" > "$N/sqlite3-run"
  chmod +x "$N/sqlite3-run"
  export SQLITE3="$N/sqlite3-run"
fi
{
  echo "host: $(nproc) cores; node $(node --version); sqlite3 $(${SQLITE3:-sqlite3} -version | cut -d' ' -f1)"
  args=("$@")
  [ ${#args[@]} -gt 0 ] || args=(--sizes 1m --no-html --no-naive)
  node bench/run.js "${args[@]}" --out "$OUT/RESULTS.md"
} 2>&1 | tee "$OUT/bench.log"
