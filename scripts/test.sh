#!/usr/bin/env bash
# The whole test suite (`npm test`): type check, lint, fmt, doc lint, the *_test.ts files on Deno,
# Bun and Node 20, JSDoc @example blocks, metadata sync, file sizes, the npm package (packed and
# used from fresh Node and Bun projects), float16 on lavapipe and the browser tests (Chromium).
# Every step runs even if an earlier one failed; the exit code is 1 if any step failed.
# Env: TEST_FILTER=<regex> runs only test files whose path matches (e.g. TEST_FILTER=conv).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure_deps.sh || exit 1

BIN=node_modules/.bin
LOGS=.build/test-logs
NODE_OUT=.build/node-tests
[ -t 1 ] || export NO_COLOR=1
rm -rf "$LOGS" "$NODE_OUT" && mkdir -p "$LOGS" "$NODE_OUT"

now_ms() { local t=${EPOCHREALTIME:-$SECONDS.000000}; t=${t/[.,]/}; echo $((10#$t / 1000)); }
secs() { printf '%d.%01ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }
strip() { sed -E "s/"$'\x1b'"\\[[0-9;]*[A-Za-z]//g" "$@" 2>/dev/null; }
existing() { for p in "$@"; do [ -e "$p" ] && echo "$p"; done; }
# find_ts <name pattern> <not-name pattern> <dirs...>: sorted .ts files under the existing dirs.
find_ts() {
  local dirs=($(existing "${@:3}"))
  [ ${#dirs[@]} -eq 0 ] || find "${dirs[@]}" -name "$1" ! -name "$2" | sort
}
T0=$(now_ms)
FAILED_STEPS=()
TIMES=()

# run_step <log name> <title> <command...>: shows and logs the output, records a failure.
run_step() {
  local log="$LOGS/$1.log" title=$2 t rc
  shift 2
  t=$(now_ms)
  printf '\n==================== %s ====================\n$ %s\n' "$title" "$*"
  "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  t=$(($(now_ms) - t))
  TIMES+=("$(printf '%-34s %7s  %s' "$title" "$(secs $t)" "$([ $rc = 0 ] && echo ok || echo FAILED)")")
  if [ "$rc" = 0 ]; then
    echo "-- ok: $title ($(secs $t))"
  else
    echo "-- FAILED (exit $rc): $title ($(secs $t))"
    FAILED_STEPS+=("$title")
  fi
  return "$rc"
}

# Deno's junit report lists describe blocks and their steps; count only leaves, skip ignored.
junit_counts() {
  node -e '
    const fs = require("fs");
    let pass = 0, fail = 0;
    for (const f of process.argv.slice(1).filter((f) => fs.existsSync(f))) {
      const re = /<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g;
      const cases = [...fs.readFileSync(f, "utf8").matchAll(re)];
      const parents = new Set(cases.flatMap((m) =>
        m[1].split(" &gt; ").slice(0, -1).map((_, i, a) => a.slice(0, i + 1).join(" &gt; "))));
      for (const [, name, body = ""] of cases) {
        if (parents.has(name) || body.includes("<skipped")) continue;
        /<failure|<error/.test(body) ? fail++ : pass++;
      }
    }
    console.log(pass, fail);' "$@"
}
# junit_failures <xml...>: the names of the failing deno tests, one a line.
junit_failures() {
  node -e '
    const fs = require("fs");
    for (const f of process.argv.slice(1).filter((f) => fs.existsSync(f))) {
      const re = /<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g;
      for (const [, name, body = ""] of fs.readFileSync(f, "utf8").matchAll(re)) {
        if (/<failure|<error/.test(body)) console.log(name.replaceAll("&gt;", ">"));
      }
    }' "$@"
}
# count <log> <regex with one number group>: the number from the runner's summary line (or 0).
count() { strip "$1" | sed -nE "s/$2/\1/p" | tail -1 | grep . || echo 0; }

# ---- file lists ----
SRC=($(find_ts '*.ts' '*_test.ts' lib kernels))
TESTS=($(find_ts '*_test.ts' '' lib kernels tests scripts))
if [ -n "${TEST_FILTER:-}" ]; then
  TESTS=($(printf '%s\n' "${TESTS[@]}" | grep -E -- "$TEST_FILTER"))
fi
DOC_FILES=($(existing mod.ts) $(grep -l '@example' "${SRC[@]}" /dev/null 2>/dev/null))
CHECK_PATHS=($(existing mod.ts lib kernels tests scripts examples bench))

echo "tracegrad test suite: ${#TESTS[@]} test files, ${#DOC_FILES[@]} files with JSDoc examples"
echo "deno $("$BIN/deno" --version | head -1 | cut -d' ' -f2), bun $("$BIN/bun" --version)," \
  "node $(node --version), esbuild $("$BIN/esbuild" --version), tsc $("$BIN/tsc" --version | cut -d' ' -f2)"

# ---- static checks ----
# Type errors are reported here once (code first, then the JSDoc examples, so that a broken
# example cannot hide code errors); the test steps below use --no-check so that one mistyped
# file cannot keep every other test from running.
run_step check "deno check" "$BIN/deno" check "${CHECK_PATHS[@]}"
if [ ${#DOC_FILES[@]} -gt 0 ]; then
  run_step check-doc "deno check --doc (examples)" "$BIN/deno" check --doc "${DOC_FILES[@]}"
fi
run_step lint "deno lint" "$BIN/deno" lint
run_step fmt "deno fmt --check" "$BIN/deno" fmt --check
run_step doclint "deno doc --lint" "$BIN/deno" doc --lint mod.ts

# ---- tests on three runtimes ----
DENO_RC=0 BUN_RC=0 NODE_RC=0
if [ ${#TESTS[@]} -gt 0 ]; then
  run_step deno "deno test" "$BIN/deno" test -A --no-check --parallel --junit-path="$LOGS/deno.xml" \
    "${TESTS[@]}" || DENO_RC=1
  if [ ! -s "$LOGS/deno.xml" ]; then
    # Deno aborts the whole run when one file cannot be loaded; then run the files one by one.
    deno_each() {
      local i=0 rc=0 f
      for f in "${TESTS[@]}"; do
        i=$((i + 1))
        "$BIN/deno" test -A --no-check --junit-path="$LOGS/deno-$i.xml" "$f" && continue
        rc=1 # a file that did not even load counts as one failed test
        [ -s "$LOGS/deno-$i.xml" ] ||
          echo "<testcase name=\"$f: load error\"><failure/></testcase>" >"$LOGS/deno-$i.xml"
      done
      return $rc
    }
    run_step deno-each "deno test (file by file)" deno_each
  fi
fi
if [ ${#DOC_FILES[@]} -gt 0 ] && [ -z "${TEST_FILTER:-}" ]; then
  run_step deno-doc "deno test --doc (JSDoc examples)" "$BIN/deno" test -A --no-check --parallel --doc \
    --junit-path="$LOGS/deno-doc.xml" "${DOC_FILES[@]}" || DENO_RC=1
fi
if [ ${#TESTS[@]} -gt 0 ]; then
  # Explicit ./paths: bun then runs exactly these files and never scans node_modules.
  # Bun's default 5 s per-test timeout is raised to match deno/node, which have none.
  run_step bun "bun test" "$BIN/bun" test --timeout 600000 "${TESTS[@]/#/./}" || BUN_RC=1

  bundle_tests() {
    local f rc=0
    for f in "${TESTS[@]}"; do
      "$BIN/esbuild" "$f" --bundle --platform=node --format=esm --target=node20 \
        --sourcemap=inline --log-level=warning --outfile="$NODE_OUT/${f%.ts}.mjs" || rc=$((rc + 1))
    done
    echo "$rc" >"$LOGS/node-bundle-failures" # each file that did not bundle counts as a failure
    echo "bundled $(find "$NODE_OUT" -name '*.mjs' | wc -l | tr -d ' ') of ${#TESTS[@]} test files"
    return $((rc > 0))
  }
  run_step node-bundle "esbuild test bundles for node" bundle_tests || NODE_RC=1
  NODE_BUNDLES=($(find "$NODE_OUT" -name '*.mjs' | sort))
  if [ ${#NODE_BUNDLES[@]} -gt 0 ]; then
    run_step node "node --test" node --enable-source-maps --test --test-reporter=spec \
      "${NODE_BUNDLES[@]}" || NODE_RC=1
  fi
fi

# ---- float16 on a shader-f16 adapter ----
# Mesa lavapipe (scripts/lavapipe.sh, fetched once with apt-get download) gives Deno an adapter
# with "shader-f16": the float16 WebGPU tests then run the 2-byte f16 storage path (the deno step
# above ran the f32-word one on llvmpipe). Skipped loudly where lavapipe cannot be had.
F16_TESTS=(tests/f16_webgpu_test.ts tests/dtypes_webgpu_test.ts)
lavapipe_tests() {
  if ! bash scripts/lavapipe.sh true; then
    printf '\n%s\n%s\n%s\n\n' "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" \
      "!!! lavapipe float16 tests SKIPPED: scripts/lavapipe.sh could not fetch Mesa lavapipe !!!" \
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    return 0
  fi
  bash scripts/lavapipe.sh "$BIN/deno" test -A --no-check --junit-path="$LOGS/deno-lavapipe.xml" \
    "${F16_TESTS[@]}"
}
if [ -z "${TEST_FILTER:-}" ] || printf '%s\n' "${F16_TESTS[@]}" lavapipe | grep -qE -- "$TEST_FILTER"; then
  run_step lavapipe "webgpu float16 on lavapipe" lavapipe_tests || DENO_RC=1
fi

# ---- metadata, sizes, npm build ----
run_step meta "sync_meta --check" "$BIN/deno" run --allow-read scripts/sync_meta.ts --check
run_step size "size (<= 600 lines)" "$BIN/deno" run --allow-read scripts/check_size.ts
run_step build "npm pack + fresh Node/Bun projects" bash scripts/check_package.sh

# ---- browsers ----
# Headless Chromium from Debian: installed here when missing and apt-get can (as root); otherwise
# the step says loudly that it skipped. CHROMIUM=/path/to/browser picks another Chromium.
browser_tests() {
  if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
    if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
      echo "chromium missing: apt-get install -y --no-install-recommends chromium"
      { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium ||
        { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
          --no-install-recommends chromium; }; } >"$LOGS/apt-chromium.log" 2>&1 ||
        echo "apt-get install chromium failed (see $LOGS/apt-chromium.log)"
    fi
  fi
  if [ -z "${CHROMIUM:-}" ] && ! command -v chromium >/dev/null; then
    printf '\n%s\n%s\n%s\n\n' "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" \
      "!!! browser tests SKIPPED: no chromium, and no apt-get (as root) to install it !!!" \
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    return 0
  fi
  node scripts/browser_test.mjs
}
if [ -z "${TEST_FILTER:-}" ] || [[ browser =~ $TEST_FILTER ]]; then
  run_step browser "browser (headless Chromium)" browser_tests
fi

# ---- summary ----
read -r DP DF <<<"$(junit_counts "$LOGS"/deno*.xml)"
BP=$(count "$LOGS/bun.log" '^ *([0-9]+) pass$') BF=$(count "$LOGS/bun.log" '^ *([0-9]+) fail$')
NP=$(count "$LOGS/node.log" '^[^ ]+ pass ([0-9]+)$') # spec reporter: "ℹ pass 3"
NF=$(($(cat "$LOGS/node-bundle-failures" 2>/dev/null || echo 0) + \
  $(count "$LOGS/node.log" '^[^ ]+ fail ([0-9]+)$') + $(count "$LOGS/node.log" '^[^ ]+ cancelled ([0-9]+)$')))
# A runner that failed without a countable failing test (crash, load error) still counts once.
[ "$DENO_RC" != 0 ] && [ "$DF" = 0 ] && DF=1
[ "$BUN_RC" != 0 ] && [ "$BF" = 0 ] && BF=1
[ "$NODE_RC" != 0 ] && [ "$NF" = 0 ] && NF=1

printf '\n==================== summary ====================\n'
printf '%s\n' "${TIMES[@]}"
echo
echo "deno: $DP passed, $DF failed (test files + JSDoc examples; describe blocks not counted)"
echo "bun:  $BP passed, $BF failed"
echo "node: $NP passed, $NF failed"
# the failing tests by name (at most 15 per runner), so that a summary alone says what broke
{
  junit_failures "$LOGS"/deno*.xml | sed 's/^/  deno: /'
  strip "$LOGS/bun.log" 2>/dev/null | grep -E '^\(fail\) ' | sort -u | sed 's/^(fail) /  bun: /'
  strip "$LOGS/node.log" 2>/dev/null | sed -n '/^[^ ]* failing tests:/,$p' | grep -E '^ *✖ ' |
    grep -v 'failing tests:' | sort -u | sed -E 's/^ *✖ /  node: /'
} | awk '{ split($0, a, ":"); if (++n[a[1]] <= 15) print }' >"$LOGS/failing-tests.txt" || true
if [ -s "$LOGS/failing-tests.txt" ]; then
  echo "failing tests:"
  cat "$LOGS/failing-tests.txt"
fi
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  echo "FAILED steps: $(printf '%s; ' "${FAILED_STEPS[@]}")logs in $LOGS/"
else
  echo "all steps passed"
fi
echo "total time: $(secs $(($(now_ms) - T0)))"
echo "tests: $((DP + BP + NP)) passed, $((DF + BF + NF)) failed"
[ ${#FAILED_STEPS[@]} -eq 0 ]
