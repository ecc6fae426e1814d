#!/usr/bin/env bash
# What a new user does, from a clean clone of this repository in a `mktemp -d` folder, with an
# empty environment (only the caller's PATH and HOME): `deno task demo` (which installs the npm
# devDependencies on first use), `deno task bench` (`--quick --only W3`, and issue 14's cases
# `--quick --only W8,W9,FFT,SOLVE --peers numpy`, unless FULL_BENCH=1),
# `deno check` of the README quickstart, the npm package in fresh Node and Bun projects
# (scripts/check_package.sh); then checks that the tree is still clean. Needs `deno` on PATH
# (else the one in node_modules/.bin is used). Slow (an npm install, the demo): not in npm test.
# Usage: bash scripts/check_fresh_clone.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DENO_DIR_BIN=$(dirname "$(command -v deno || echo "$ROOT/node_modules/.bin/deno")")
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
git clone -q "$ROOT" "$TMP/tracegrad"
cd "$TMP/tracegrad"
run() {
  printf '\n$ %s\n' "$*"
  env -i HOME="$HOME" PATH="$DENO_DIR_BIN:$PATH" "$@"
}
echo "fresh clone of $(git log -1 --format='%h %s' | cut -c1-72) in a mktemp folder"
run deno task demo
if [ "${FULL_BENCH:-}" = 1 ]; then
  run deno task bench --out "$TMP/RESULTS.md"
else
  run deno task bench --quick --only W3 --out "$TMP/RESULTS.md"
  run deno task bench --quick --only W8,W9,FFT,SOLVE --peers numpy --out "$TMP/RESULTS14.md"
fi
awk '/^```ts$/ { n++; if (n == 1) { on = 1; next } } /^```$/ { on = 0 } on' README.md >quickstart.ts
run deno check quickstart.ts
rm quickstart.ts
run bash scripts/check_package.sh
printf '\n$ git status --porcelain   (must print nothing: the tasks leave the tree clean)\n'
git status --porcelain
[ -z "$(git status --porcelain)" ] && echo "tree clean"
