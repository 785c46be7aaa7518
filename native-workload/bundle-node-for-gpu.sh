#!/usr/bin/env bash
# Packs what `moe-trace profile` needs on a GPU machine that has no Node.js: this machine's node
# binary, the package's production node_modules (better-sqlite3 compiled here; same OS family and
# architecture required) and the compiled dist/, into .device-node/ (git-ignored).
# On the GPU machine, from the package root:
#   mkdir -p /tmp/n && tar xJf .device-node/bundle.tar.xz -C /tmp/n && tar xJf .device-node/dist.tar.xz \
#     && ln -sfn /tmp/n/node_modules node_modules && /tmp/n/node bin/moe-trace.js profile --all --workload all
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
exclude="$(git rev-parse --git-path info/exclude)"; mkdir -p "$(dirname "$exclude")"
grep -qx '/.device-node/' "$exclude" 2>/dev/null || echo '/.device-node/' >> "$exclude"
npx tsc -p tsconfig.json
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
npm ls --omit=dev --parseable --all 2>/dev/null | sed "s|^$PWD/||" | grep node_modules | sort -u |
  while read -r p; do mkdir -p "$stage/$(dirname "$p")"; cp -r "$p" "$stage/$p"; done
# sources and intermediate objects of the native addon are not needed at run time
rm -rf "$stage/node_modules/better-sqlite3/"{deps,src} "$stage/node_modules/better-sqlite3/build/Release/"{obj.target,obj,.deps,test_extension.node,sqlite3.a} \
  "$stage/node_modules/better-sqlite3/build/deps"
# nor source maps, type declarations and TypeScript sources: the device copy travels with the
# working tree under a 64 MiB limit
find "$stage/node_modules" \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -path '*/src/*.ts' \) -type f -delete
cp "$(readlink -f "$(command -v node)")" "$stage/node"
# debug symbols are most of the size: node 99 MB -> 86 MB, the addon 2.2 -> 2.0 MB
strip "$stage/node" 2>/dev/null || true
find "$stage/node_modules" -name '*.node' -exec strip --strip-unneeded {} \; 2>/dev/null || true
rm -rf "$stage/node_modules/better-sqlite3/build/Release/obj" "$stage/node_modules/better-sqlite3/build/Release/sqlite3.a"
# MOE_BUNDLE_NO_HTML=1: without vega (loaded only to write HTML/SVG), for runs that write none (the
# benchmark): with the fixtures, the carried bundle must stay under the device's 64 MiB (23.6 MB then)
if [ "${MOE_BUNDLE_NO_HTML:-}" = 1 ]; then rm -rf "$stage"/node_modules/vega* "$stage"/node_modules/d3-geo*; fi
mkdir -p .device-node
tar cf - -C "$stage" node node_modules | xz -T2 -6 > .device-node/bundle.tar.xz
tar cJf .device-node/dist.tar.xz dist
ls -la .device-node
