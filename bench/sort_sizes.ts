/**
 * Issue 13's sort by size: `np.sort` along the last axis of float32 arrays of 10^6 values in rows
 * of 10^6, 10^4, 10^3 and 16 on the CPU backend (eager and jit with the default paths, where rows
 * of 2^19 values or more take the pool's MSD radix; and eager on the calling thread only, the LSD
 * radix; interleaved run by run), against NumPy on the same inputs.
 * Usage: deno run -A bench/sort_sizes.ts [--runs N] [--no-numpy]
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { jit, np, type Tensor } from "../mod.ts";
import { uniform } from "./_harness.ts";
import { parallelSortTuning } from "../lib/backend/cpu/sort_parallel.ts";
import { msdSortTuning } from "../lib/backend/cpu/sort_msd.ts";
import { startPool } from "../lib/backend/cpu/conv.ts";

const args = process.argv.slice(2);
const i = args.indexOf("--runs");
const RUNS = i >= 0 ? Number(args[i + 1]) : 30;
const SHAPES = [[1_000_000], [100, 10_000], [1000, 1000], [62_500, 16]];
const data = uniform(21, 1_000_000, -1, 1);
type Stat = { median: number; min: number };

function stats(ts: number[]): Stat {
  const s = [...ts].sort((x, y) => x - y);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}

/** Times the cases in alternation (one run of each in turn), each after one warm-up run. */
async function alternate(
  cases: Record<string, () => Promise<void>>,
): Promise<Record<string, Stat>> {
  const ts: Record<string, number[]> = {};
  for (const f of Object.values(cases)) await f();
  for (let r = 0; r < RUNS; r++) {
    for (const [k, f] of Object.entries(cases)) {
      const t0 = performance.now();
      await f();
      (ts[k] ??= []).push(performance.now() - t0);
    }
  }
  return Object.fromEntries(Object.entries(ts).map(([k, v]) => [k, stats(v)]));
}

function numpy(): Record<string, Stat> {
  const dir = mkdtempSync(join(tmpdir(), "sort-"));
  writeFileSync(join(dir, "x"), new Uint8Array(data.buffer));
  const py = `
import numpy as np, time, sys, json
x = np.fromfile(sys.argv[1] + "/x", dtype=np.float32)
out = {}
for shape in ${JSON.stringify(SHAPES)}:
    y = x.reshape(shape); np.sort(y, axis=-1); ts = []
    for _ in range(${RUNS}):
        t0 = time.perf_counter(); np.sort(y, axis=-1); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort(); out[str(shape)] = {"median": ts[len(ts) // 2], "min": ts[0]}
print(json.dumps(out))
`;
  const r = spawnSync("python3", ["-c", py, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

await startPool();
const tuned = [parallelSortTuning.minKeys, msdSortTuning.minKeys] as const;
const sortJ = jit((x: Tensor) => np.sort(x, { axis: -1 }));
const peer = args.includes("--no-numpy") ? {} : numpy();
const f = (t?: Stat) => (t ? `${t.median.toFixed(2)} (min ${t.min.toFixed(2)})` : "n/a");
console.log(
  `np.sort float32 along the last axis, ms: median (min) of ${RUNS} runs; data() included`,
);
for (const shape of SHAPES) {
  const x = np.array(data, { shape });
  const run = (pool: boolean, g: (x: Tensor) => Tensor) => async () => {
    [parallelSortTuning.minKeys, msdSortTuning.minKeys] = pool ? tuned : [Infinity, Infinity];
    const y = g(x);
    await y.data();
    y.dispose();
  };
  const eager = (x: Tensor) => np.sort(x, { axis: -1 });
  const t = await alternate({
    eager: run(true, eager),
    jit: run(true, sortJ),
    "eager, this thread only": run(false, eager),
  });
  const p = (peer as Record<string, Stat>)[JSON.stringify(shape).replaceAll(",", ", ")];
  const line = Object.entries(t).map(([k, s]) =>
    `${k} ${f(s)}${p ? ` = ${(s.median / p.median).toFixed(2)}× NumPy` : ""}`
  );
  console.log(`[${shape}]  NumPy ${f(p)} | ${line.join(" | ")}`);
}
