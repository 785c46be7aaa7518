#!/usr/bin/env bash
# Prepares one version for device/ab.sh on a machine without a GPU (nvcc 13.0; ptxas takes minutes
# on grouped.cu), from the repository root:
#   bash native-workload/device/ab-prepare.sh NAME [REV|.] [MOE_GROUPED_X=V ...]
# REV: a commit whose native-workload/src (and device/grouped_test.cu) are built; '.' or nothing:
# this working tree's. The settings after it are the environment the version runs with on the
# GPU machine. Writes native-workload/device/bin/ab/NAME/ (git-ignored): src/, grouped.o,
# kernels.o, ptxas.log (registers and spills per kernel), env, origin, and with TEST=1 a marker
# `test` (ab.sh then links grouped_test there from these objects and runs its checks). A version
# is ~2.5 MB (grouped.o: SASS for sm_90a only, no embedded PTX); the carried payload must stay < 64 MiB with the tracked files (~53 MB).
set -eu
NAME=$1; REV=${2:-.}; shift $(( $# >= 2 ? 2 : 1 ))
NW=native-workload
D=$NW/device/bin/ab/$NAME
rm -rf "$D"; mkdir -p "$D"
if [ "$REV" = . ]; then
  cp -r $NW/src "$D/src"; cp $NW/device/grouped_test.cu "$D/"
  echo "origin: working tree at $(git rev-parse --short HEAD)$(git status --short -- $NW/src | grep -q . && echo ' + uncommitted changes to src')" > "$D/origin"
else
  tmp=$(mktemp -d)
  git archive "$REV" $NW/src $NW/device/grouped_test.cu | tar -x -C "$tmp"
  mv "$tmp/$NW/src" "$D/src"; mv "$tmp/$NW/device/grouped_test.cu" "$D/"; rm -rf "$tmp"
  echo "origin: $(git rev-parse --short "$REV") ($(git log -1 --format=%cI "$REV"))" > "$D/origin"
fi
: > "$D/env"
for kv in "$@"; do echo "$kv" >> "$D/env"; done
cd "$D"
( time nvcc -O3 -DNDEBUG -std=c++17 -gencode arch=compute_90a,code=sm_90a -DMOE_GROUPED_SM90A=1 -Isrc -Xptxas -v -c src/grouped.cu -o grouped.o ) \
  > ptxas.log 2>&1 || { tail -20 ptxas.log; exit 1; }
nvcc -O3 -DNDEBUG -std=c++17 -arch=sm_90 -Isrc -c src/kernels.cu -o kernels.o
# TEST=1: ab.sh links grouped_test from these objects there and runs its checks (--quick)
[ "${TEST:-0}" = 1 ] && touch test
echo "$NAME: $(cat origin); env: $(tr '\n' ' ' < env)"
grep -A3 "Compiling entry.*ffnKernel2" ptxas.log | grep -E "entry|spill|Used" | sed -E 's/.*(ffnKernel2[^ ]*).*/\1/'
# C7518 (wgmmas serialized, run 8's regression) must not name the default instantiation (...Li0E)
grep -o "C7518.*ffnKernel2[^']*" ptxas.log | sed -E 's/.*(ffnKernel2[^ ]*)/C7518 wgmmas serialized in \1/' || true
du -sh .
