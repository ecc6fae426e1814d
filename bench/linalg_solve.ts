/**
 * Issue 14's solve benchmark: `np.linalg.solve` of a 512×512 float32 system (one right-hand
 * side, and 512 of them = inv) on the CPU backend, eager and under jit, against NumPy (LAPACK
 * sgesv, python3) on the same inputs; float64 solve and float32/float64 Cholesky of an SPD matrix
 * of that order; also svd / eigh / qr of 128×128 for scale (svd also float64, and 512×512 with
 * --svd512). `deno task bench --only SOLVE` (bench/main.ts) runs the solve case with its peers.
 * Usage: deno run -A bench/linalg_solve.ts [--n N] [--runs N] [--no-numpy] [--svd512]
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { init, jit, np, type Tensor } from "../mod.ts";
import { uniform } from "./_harness.ts";
import { SOLVE_N, solveInputs } from "./_workloads.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const N = opt("--n", SOLVE_N), RUNS = opt("--runs", 9), S = 128, SVD512 = args.includes("--svd512");

/** a, b as in the bench's SOLVE case; a small matrix for svd / eigh / qr. */
const { a: { data: aData }, b: { data: bData } } = solveInputs(N);
const sData = uniform(143, S * S, -1, 1);
await init(); // the worker pool starts now, not inside the timed runs

function stats(ts: number[]): { median: number; min: number } {
  const s = [...ts].sort((x, y) => x - y);
  return { median: s[Math.floor(s.length / 2)], min: s[0] };
}
async function timeIt(f: () => Tensor | Tensor[]): Promise<{ median: number; min: number }> {
  const read = async () => {
    const r = f();
    for (const t of Array.isArray(r) ? r : [r]) await t.data();
  };
  await read();
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await read();
    ts.push(performance.now() - t0);
  }
  return stats(ts);
}

function numpy(): Record<string, { median: number; min: number }> {
  const dir = mkdtempSync(join(tmpdir(), "linalg-"));
  writeFileSync(join(dir, "a"), new Uint8Array(aData.buffer));
  writeFileSync(join(dir, "b"), new Uint8Array(bData.buffer));
  writeFileSync(join(dir, "s"), new Uint8Array(sData.buffer));
  const py = `
import numpy as np, time, sys, json
d = sys.argv[1]; N, S, RUNS = ${N}, ${S}, ${RUNS}
ld = lambda k, s: np.fromfile(d + "/" + k, dtype=np.float32).reshape(s)
a, b, s = ld("a", (N, N)), ld("b", (N, 1)), ld("s", (S, S))
a64, b64, s64 = a.astype(np.float64), b.astype(np.float64), s.astype(np.float64)
p = (a @ a.T / N + np.eye(N, dtype=np.float32)).astype(np.float32); p64 = p.astype(np.float64)
def t(f):
    f(); ts = []
    for _ in range(RUNS):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort(); return {"median": ts[len(ts) // 2], "min": ts[0]}
print(json.dumps({"solve": t(lambda: np.linalg.solve(a, b)), "inv": t(lambda: np.linalg.inv(a)),
  "svd": t(lambda: np.linalg.svd(s)), "svd f64": t(lambda: np.linalg.svd(s64)),
  "svd 512": t(lambda: np.linalg.svd(a)) if ${SVD512 ? "True" : "False"} else None,
  "eigh": t(lambda: np.linalg.eigh(s + s.T)),
  "qr": t(lambda: np.linalg.qr(s)), "solve f64": t(lambda: np.linalg.solve(a64, b64)),
  "cholesky": t(lambda: np.linalg.cholesky(p)), "cholesky f64": t(lambda: np.linalg.cholesky(p64))}))
`;
  const r = spawnSync("python3", ["-c", py, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
}

const a = np.array(aData, { shape: [N, N] }), b = np.array(bData, { shape: [N, 1] });
const s = np.array(sData, { shape: [S, S] }), s64 = s.astype("float64");
const solveJ = jit((m: Tensor, r: Tensor) => np.linalg.solve(m, r));
const a64 = a.astype("float64"), b64 = b.astype("float64");
const spd = np.add(np.divide(np.matmul(a, a.T), N), np.eye(N)), spd64 = spd.astype("float64");
const ours: Record<string, { median: number; min: number }> = {
  solve: await timeIt(() => np.linalg.solve(a, b)),
  "solve (jit)": await timeIt(() => solveJ(a, b)),
  inv: await timeIt(() => np.linalg.inv(a)),
  svd: await timeIt(() => np.linalg.svd(s)),
  "svd f64": await timeIt(() => np.linalg.svd(s64)),
  ...(SVD512 ? { "svd 512": await timeIt(() => np.linalg.svd(a)) } : {}),
  eigh: await timeIt(() => np.linalg.eigh(np.add(s, s.T))),
  qr: await timeIt(() => np.linalg.qr(s)),
  "solve f64": await timeIt(() => np.linalg.solve(a64, b64)),
  cholesky: await timeIt(() => np.linalg.cholesky(spd)),
  "cholesky f64": await timeIt(() => np.linalg.cholesky(spd64)),
};
const x = np.linalg.solve(a, b);
const resid = np.max(np.abs(np.subtract(np.matmul(a.astype("float64"), x.astype("float64")), b)));
const peer = args.includes("--no-numpy") ? {} : numpy();
const f = (t?: { median: number; min: number }) =>
  t ? `${t.median.toFixed(2)} ms (min ${t.min.toFixed(2)})` : "n/a";
console.log(
  `np.linalg float32 (unless f64), median and min of ${RUNS} runs (solve/inv/cholesky ${N}², ` +
    `others ${S}²)`,
);
console.log(`max |a x − b| of tracegrad's solve: ${Number(resid.item()).toExponential(1)}`);
for (const [k, t] of Object.entries(ours)) {
  const p = (peer as Record<string, { median: number; min: number }>)[k.replace(" (jit)", "")];
  const ratio = p ? ` (${(t.median / p.median).toFixed(1)}× NumPy)` : "";
  console.log(`${k.padEnd(14)} tracegrad ${f(t)}${ratio}   NumPy ${f(p)}`);
}
