#!/usr/bin/env bash
# Installs the dev toolchain (deno, bun, esbuild, tsc from npm) when node_modules lacks it,
# e.g. on a fresh clone. Usage: bash scripts/ensure_deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# onnxruntime-node (a devDependency used as a test oracle) downloads optional CUDA binaries from
# api.nuget.org in its postinstall; skip that so installing needs only the npm registry.
export ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-skip}"
for tool in deno bun esbuild tsc; do
  if [ ! -x "node_modules/.bin/$tool" ]; then
    echo "ensure_deps: node_modules/.bin/$tool missing, running npm install" >&2
    npm install --no-audit --no-fund
    exit
  fi
done
# devDependencies the examples import (a checkout installed before they were added lacks them)
for pkg in fast-png vega vega-lite; do
  if [ ! -f "node_modules/$pkg/package.json" ]; then
    echo "ensure_deps: node_modules/$pkg missing, running npm install" >&2
    npm install --no-audit --no-fund
    exit
  fi
done
