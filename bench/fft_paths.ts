/**
 * The CPU backend's FFT paths side by side, interleaved in one process: the float64 JS kernels
 * (lib/fft, the path complex64 took before the Wasm kernels), the Wasm SIMD complex64 kernels on
 * the main thread, and on the worker pool; `numpy.fft.fft` on the same complex64 data (python3).
 * Usage: deno run -A bench/fft_paths.ts [--runs N] [--no-numpy]
 * @module
 */
import { spawnSync } from "node:child_process";
import { fftHost } from "../lib/fft/host.ts";
import { fftRowsF32 } from "../lib/backend/cpu/fft_wasm.ts";
import { createPool } from "../lib/backend/cpu/pool/pool.ts";

const args = Deno.args;
const opt = (k: string, d: number) => {
  const i = args.indexOf(k);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const RUNS = opt("--runs", 9);
const CASES: [string, number, number][] = [
  ["2^20", 1 << 20, 1],
  ["1000 x 1024", 1024, 1000],
  ["3^13", 3 ** 13, 1],
  ["prime 1000003", 1000003, 1],
];

function values(n: number): Float32Array {
  const a = new Float32Array(n);
  let s = 7;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  return a;
}

function numpy(n: number, rows: number): number {
  const py = `
import numpy as np, time
rng = np.random.default_rng(0)
z = (rng.standard_normal((${rows}, ${n})) + 1j * rng.standard_normal((${rows}, ${n}))).astype(np.complex64)
np.fft.fft(z); ts = []
for _ in range(${RUNS}):
    t0 = time.perf_counter(); np.fft.fft(z); ts.append((time.perf_counter() - t0) * 1e3)
ts.sort(); print(ts[len(ts) // 2])
`;
  const r = spawnSync("python3", ["-c", py], { encoding: "utf8" });
  return r.status === 0 ? Number(r.stdout.trim()) : NaN;
}

const pool = await createPool();
const stat = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return { min: s[0], med: s[s.length >> 1] };
};
console.log(`threads: ${pool.threads}; ${RUNS} interleaved runs; min / median ms`);
for (const [name, n, rows] of CASES) {
  const x = values(2 * n * rows), y = new Float32Array(x.length);
  const paths: Record<string, () => void> = {
    "js float64": () => void fftHost(x, [rows, n], "FFT", [n]),
    "wasm 1 thread": () => void fftRowsF32(x, y, rows, n, false, { pool: null }),
    "wasm pool": () => void fftRowsF32(x, y, rows, n, false, { pool }),
  };
  const t: Record<string, number[]> = {};
  for (const k in paths) paths[k](), t[k] = [];
  for (let r = 0; r < RUNS; r++) {
    for (const k in paths) {
      const s = performance.now();
      paths[k]();
      t[k].push(performance.now() - s);
    }
  }
  const base = stat(t["js float64"]).med;
  const cols = Object.entries(t).map(([k, v]) => {
    const { min, med } = stat(v);
    return `${k} ${min.toFixed(1)} / ${med.toFixed(1)} (${(base / med).toFixed(2)}x)`;
  });
  const np = args.includes("--no-numpy") ? NaN : numpy(n, rows);
  console.log(`${name}: ${cols.join("; ")}; numpy ${np.toFixed(1)}`);
}
Deno.exit(0);
