#!/usr/bin/env bash
# The memory soak (bench/soak.ts) on one runtime: `bash scripts/soak.sh deno|bun|node [soak options]`
# (npm run soak:deno / soak:bun / soak:node). Deno and Bun run the TypeScript directly; Node runs an
# esbuild bundle. Every runtime gets an exposed GC, so each reading follows a full collection.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=node_modules/.bin
rt="${1:-deno}"
shift || true
case "$rt" in
  deno) DENO_NO_PACKAGE_JSON=1 exec "$BIN/deno" run -A --v8-flags=--expose-gc,--min-semi-space-size=16 bench/soak.ts "$@" ;;
  bun) exec "$BIN/bun" run bench/soak.ts "$@" ;;
  node)
    out=.build/soak
    mkdir -p "$out"
    "$BIN/esbuild" bench/soak.ts --bundle --platform=node --format=esm --log-level=warning \
      --outfile="$out/soak.mjs"
    exec node --expose-gc --min-semi-space-size=16 "$out/soak.mjs" "$@" ;;
  *) echo "usage: scripts/soak.sh deno|bun|node [--steps N ...]" >&2; exit 2 ;;
esac
