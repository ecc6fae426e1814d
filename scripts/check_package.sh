#!/usr/bin/env bash
# Installs the npm package as a user would: `npm pack` (which builds dist/), then a fresh Node
# project that `require`s it (CommonJS) and `import`s it (ESM), type-checks both with tsc in
# strict node16 mode, and a fresh Bun project that runs a typed TypeScript file against it.
# Everything happens in a `mktemp -d` folder, removed at the end. Usage: bash scripts/check_package.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/node_modules/.bin
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "\$ npm pack"
TGZ=$TMP/$(npm pack --silent --pack-destination "$TMP" 2>/dev/null | tail -1)
[ -f "$TGZ" ] || { echo "check_package: npm pack made no tarball" >&2; exit 1; }
echo "$(basename "$TGZ"): $(tar -tzf "$TGZ" | wc -l | tr -d ' ') files," \
  "$(tar -tzf "$TGZ" | grep -cv '^package/dist/\|^package/\(package.json\|README.md\|LICENSE\)$' || true) outside dist/"

# A small program: a jitted gradient, checked against the closed form.
PROGRAM='const f = (w, x) => np.sum(np.square(np.multiply(w, x)));
const g = jit(grad(f))(np.array([1, 2, 3]).astype("float32"), np.full([3], 2));
const got = Array.from(g.dataSync()).join(","); // d/dw sum((w x)^2) = 2 w x^2
if (got !== "8,16,24") throw new Error("wrong gradient: " + got);'

NODE_DIR=$TMP/node-project
mkdir -p "$NODE_DIR" && cd "$NODE_DIR"
echo '{ "name": "fresh-node-project", "private": true }' >package.json
echo "\$ npm install <tarball>   (fresh Node project)"
npm install --no-audit --no-fund --offline --silent "$TGZ"
cat >use.cjs <<EOF
const { grad, jit, np } = require("tracegrad");
$PROGRAM
console.log("require(\"tracegrad\") (CommonJS): gradient " + got);
EOF
cat >use.mjs <<EOF
import { backendInfo, grad, init, jit, np } from "tracegrad";
$PROGRAM
await init();
console.log("import from \"tracegrad\" (ESM): gradient " + got + ", cpu threads " + backendInfo().cpu.threads);
EOF
node use.cjs
node use.mjs
# Types, both module kinds: a misuse must be an error (the @ts-expect-error must be used).
TYPED='const w = np.array([1, 2, 3]).astype("float32");
const g: Tensor = grad((a: Tensor, b: Tensor) => np.sum(np.multiply(a, b)))(w, w);
// @ts-expect-error -- grad keeps the parameter types: a string is not a Tensor
grad((a: Tensor) => np.sum(a))("not an array");
export const out: Tensor = g;'
printf 'import { grad, np, type Tensor } from "tracegrad";\n%s\n' "$TYPED" >typed.cts
printf 'import { grad, np, type Tensor } from "tracegrad";\n%s\n' "$TYPED" >typed.mts
echo "\$ tsc --strict --module node16 typed.cts typed.mts"
"$BIN/tsc" --strict --noEmit --module node16 --moduleResolution node16 --target es2022 \
  --skipLibCheck --lib es2022,dom typed.cts typed.mts
echo "tsc: the package's types resolve for require (typed.cts) and import (typed.mts)"

BUN_DIR=$TMP/bun-project
mkdir -p "$BUN_DIR" && cd "$BUN_DIR"
echo '{ "name": "fresh-bun-project", "private": true }' >package.json
echo "\$ bun add <tarball>   (fresh Bun project)"
"$BIN/bun" add --silent "$TGZ" >/dev/null
cat >index.ts <<EOF
import { grad, jit, np, type Tensor } from "tracegrad";
$PROGRAM
const typed: Tensor = g;
console.log("bun: import from \"tracegrad\": gradient " + got + ", shape [" + typed.shape + "]");
EOF
"$BIN/bun" run index.ts
echo "check_package: ok"
