/**
 * The CPU backend's float64 svd paths side by side, interleaved in one process: the host
 * one-sided Jacobi (the path before bidiagonalization; skipped above --jacobi-max), bidiagonalization
 * + QR with WY-blocked (GEMM) or unblocked reflector accumulation, and singular values only;
 * `numpy.linalg.svd` (LAPACK gesdd) on the same float64 data (python3).
 * Usage: deno run -A bench/svd_paths.ts [--sizes 64,128,512] [--runs N] [--jacobi-max N] [--no-numpy]
 * @module
 */
import { spawnSync } from "node:child_process";
import { svdHost } from "../lib/ops/linalg_decomp_host.ts";
import { svdBidiag, svdFast } from "../lib/backend/cpu/svd_bidiag.ts";

const args = Deno.args;
const opt = (k: string, d: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : d;
};
const RUNS = Number(opt("--runs", "9")), JACOBI_MAX = Number(opt("--jacobi-max", "256"));
const SIZES = opt("--sizes", "32,64,128,256,512").split(",").map(Number);

function values(n: number, seed: number): Float64Array {
  const a = new Float64Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

function numpy(n: number): { uv: number; s: number } {
  const py = `
import numpy as np, time, json
a = np.random.default_rng(0).uniform(-1, 1, (${n}, ${n}))
def t(f):
    f(); ts = []
    for _ in range(${RUNS}):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)
    return sorted(ts)[len(ts) // 2]
print(json.dumps({"uv": t(lambda: np.linalg.svd(a)), "s": t(lambda: np.linalg.svd(a, compute_uv=False))}))
`;
  const r = spawnSync("python3", ["-c", py], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

const med = (ts: number[]) => [...ts].sort((x, y) => x - y)[Math.floor(ts.length / 2)];
const min = (ts: number[]) => Math.min(...ts);
console.log(`float64 n×n svd (full matrices), median / min of ${RUNS} interleaved runs, ms`);
for (const n of SIZES) {
  const a = values(n * n, n);
  const host = { shape: [n, n], dtype: "float64" as const, data: a };
  const av = (shape: number[]) => ({ shape, dtype: "float64" as const, weak: false });
  const outs = [av([n]), av([n, n]), av([n, n])];
  const paths: [string, () => unknown][] = [
    ["bidiag + WY (GEMM)", () => svdFast([host], { fullMatrices: true, computeUv: true }, outs)],
    ["bidiag unblocked", () => svdBidiag(a, n, n, true, true)],
    ["bidiag s only", () => svdFast([host], { fullMatrices: true, computeUv: false }, [outs[0]])],
  ];
  if (n <= JACOBI_MAX) paths.push(["Jacobi (before)", () => svdHost(a, n, n, true)]);
  const ts = paths.map(() => [] as number[]);
  paths.forEach(([, f]) => f());
  for (let r = 0; r < RUNS; r++) {
    paths.forEach(([, f], i) => {
      const t0 = performance.now();
      f();
      ts[i].push(performance.now() - t0);
    });
  }
  const np = args.includes("--no-numpy") ? null : numpy(n);
  console.log(
    `n = ${n}` + (np ? `  NumPy: full ${np.uv.toFixed(2)}, s only ${np.s.toFixed(2)}` : ""),
  );
  paths.forEach(([name], i) => {
    const ref = np ? (name.includes("s only") ? np.s : np.uv) : 0;
    const vsNp = np ? `  ${(med(ts[i]) / ref).toFixed(1)}× NumPy` : "";
    const vsJ = n <= JACOBI_MAX
      ? `  ${(med(ts[i]) / med(ts[paths.length - 1])).toFixed(2)}× Jacobi`
      : "";
    console.log(
      `  ${name.padEnd(20)} ${med(ts[i]).toFixed(2)} / ${min(ts[i]).toFixed(2)}${vsJ}${vsNp}`,
    );
  });
}
