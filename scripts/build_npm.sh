#!/usr/bin/env bash
# npm build: bundles mod.ts into dist/mod.js (ESM, platform-neutral, es2022) and dist/cjs/mod.js
# (CommonJS, for `require`) with esbuild, and emits type declarations (dist/mod.d.ts +
# dist/lib/..., copied to dist/cjs/ for CommonJS consumers) with tsc. Type *checking* is done by
# `deno check`; tsc only emits declarations here (--noCheck), so Deno-vs-DOM lib differences
# cannot break the build. Usage: bash scripts/build_npm.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=node_modules/.bin
[ -x "$BIN/esbuild" ] || npm install --no-audit --no-fund

rm -rf dist
"$BIN/esbuild" mod.ts --bundle --format=esm --platform=neutral --target=es2022 \
  --external:'node:*' --sourcemap --log-level=warning --outfile=dist/mod.js
"$BIN/esbuild" mod.ts --bundle --format=cjs --platform=neutral --target=es2022 \
  --external:'node:*' --sourcemap --log-level=warning --outfile=dist/cjs/mod.js

"$BIN/tsc" mod.ts --declaration --emitDeclarationOnly --noCheck --skipLibCheck \
  --allowImportingTsExtensions --rewriteRelativeImportExtensions \
  --target es2022 --module esnext --moduleResolution bundler --lib es2022,dom \
  --rootDir . --outDir dist

# Declarations keep `./x.ts` specifiers; point them at the emitted `./x.js` (resolves to x.d.ts) so
# consumers need no allowImportingTsExtensions. JSDoc lines (starting with " *") are untouched.
node -e '
const fs = require("fs");
const re = /^((?:import|export)\b[^\n]*?\bfrom\s*"|.*\bimport\(")(\.\.?\/[^"]*)\.ts"/gm;
for (const f of process.argv.slice(1)) fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace(re, "$1$2.js\""));
' $(find dist -name '*.d.ts')

# CommonJS consumers: the same declarations under a folder whose package.json says "commonjs".
(cd dist && find . -name '*.d.ts' ! -path './cjs/*' -exec cp --parents {} cjs/ \;)
echo '{ "type": "commonjs" }' >dist/cjs/package.json

[ -f dist/mod.js ] && [ -f dist/cjs/mod.js ] && [ -f dist/mod.d.ts ] || { echo "build_npm: dist/mod.{js,d.ts} missing" >&2; exit 1; }
echo "build_npm: dist/mod.js ($(wc -c <dist/mod.js) bytes), $(find dist -name '*.d.ts' | wc -l) .d.ts files"
