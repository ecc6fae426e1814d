/**
 * WebGPU linalg past llvmpipe's loop limiter: time (first call with its shader compiles, then the
 * median of the rest), dispatches per call and the largest error against the CPU backend of
 * solve / inv / slogdet / cholesky / triangularSolve / qr at n, eigh / svd at n/4.
 * Usage: deno run -A bench/webgpu_linalg.ts [--n 512] [--runs 3] [--only solve,inv]
 * @module
 */
import process from "node:process";
import { init, lax, np, setBackend, type Tensor } from "../mod.ts";
import { webgpuStats } from "../lib/backend/webgpu/backend.ts";
import { uniform } from "./_harness.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : d;
};
const N = Number(opt("--n", "512")), RUNS = Number(opt("--runs", "3"));
const ONLY = opt("--only", "").split(",").filter(Boolean);
if (!(await init()).includes("webgpu")) {
  console.log("webgpu_linalg: no WebGPU adapter here");
  process.exit(0);
}

/** An n×n matrix: uniform in [-1, 1) plus `diag` on the diagonal. */
const mat = (n: number, seed: number, diag: number) =>
  Array.from(uniform(seed, n * n, -1, 1), (x, i) => (Math.floor(i / n) === i % n ? x + diag : x));
const S = Math.max(N >> 2, 1);
type Case = [string, number, number[][], number[][], (...xs: Tensor[]) => Tensor | Tensor[]];
const cases: Case[] = [
  ["solve", N, [mat(N, 1, N)], [[N, N]], (a) => np.linalg.solve(a, np.ones([N, 1]))],
  ["inv", N, [mat(N, 1, N)], [[N, N]], (a) => np.linalg.inv(a)],
  ["slogdet", N, [mat(N, 1, N)], [[N, N]], (a) => np.linalg.slogdet(a)],
  ["cholesky", N, [mat(N, 2, N)], [[N, N]], (a) => np.linalg.cholesky(np.matmul(a, a.T))],
  [
    "triangularSolve",
    N,
    [mat(N, 3, N)],
    [[N, N]],
    (a) => lax.linalg.triangularSolve(a, np.ones([N, N]), { leftSide: true, lower: true }),
  ],
  ["qr", N, [mat(N, 4, 0)], [[N, N]], (a) => np.linalg.qr(a)],
  ["eigh", S, [mat(S, 5, 0)], [[S, S]], (a) => np.linalg.eigh(a)],
  ["svd", S, [mat(S, 6, 0)], [[S, S]], (a) => np.linalg.svd(a)],
];

for (const [name, n, data, shapes, f] of cases) {
  if (ONLY.length && !ONLY.includes(name)) continue;
  const call = async (backend: string) => {
    setBackend(backend);
    const xs = data.map((d, i) => np.array(d, { dtype: "float32" }).reshape(shapes[i]));
    const r = f(...xs);
    return await Promise.all((Array.isArray(r) ? r : [r]).map((t) => t.data()));
  };
  const want = await call("cpu");
  const times: number[] = [];
  let dispatches = 0, err = 0;
  for (let k = 0; k <= RUNS; k++) {
    const d0 = webgpuStats()!.dispatches, t0 = performance.now();
    const got = await call("webgpu");
    times.push(performance.now() - t0);
    dispatches = webgpuStats()!.dispatches - d0;
    got.forEach((g, j) => {
      for (let i = 0; i < g.length; i++) {
        err = Math.max(err, Math.abs(g[i] - want[j][i]) / (1 + Math.abs(want[j][i])));
      }
    });
  }
  const rest = times.slice(1).sort((a, b) => a - b);
  console.log(
    `${name} ${n}×${n}: first ${times[0].toFixed(0)} ms, median ${
      rest[rest.length >> 1].toFixed(0)
    } ms, ${dispatches} dispatches, max rel err vs cpu ${err.toExponential(1)}`,
  );
}
