/**
 * Where the first calls of a fresh jitted function go (issue #18, warm-up): per case, the trace
 * and compile (`jit(f).lower(...).asText()` compiles the plan), the first run, calls 2–10 and
 * 11–100 against the steady state (min and median of batches). Each case uses shapes no other
 * case compiles, so its kernels are fresh. Runs under Deno, Bun and Node (after an esbuild
 * bundle, as scripts/test.sh does for tests).
 * Usage: deno run -A bench/warmup.ts [--runs N] [--init] (`--init`: `await init()` first)
 * @module
 */
import process from "node:process";
import { init, jit, lax, np, type Tensor, valueAndGrad } from "../mod.ts";

const args = process.argv.slice(2);
const RUNS = args.includes("--runs") ? Number(args[args.indexOf("--runs") + 1]) : 30;
const now = () => performance.now();

function fill(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sin(i * 0.7 + seed) * 0.5;
  return np.array(d, { shape });
}

type Case = { name: string; make: () => { lower: () => void; call: () => void } };
const NHWC = { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] as [string, string, string] };
const read = (ts: Tensor[]) => ts.forEach((t) => t.dataSync());

const CASES: Case[] = [
  {
    name: "tanh(x·2+1) 4096 (JS kernel)",
    make: () => {
      const f = jit((x: Tensor) => np.tanh(x.mul(2).add(1))), x = fill([4096], 1);
      return { lower: () => f.lower(x).asText(), call: () => read([f(x)]) };
    },
  },
  {
    name: "sum 64×300 (Wasm reduction)",
    make: () => {
      const f = jit((x: Tensor) => np.sum(x.mul(x), { axis: 1 })), x = fill([64, 300], 2);
      return { lower: () => f.lower(x).asText(), call: () => read([f(x)]) };
    },
  },
  {
    name: "matmul 32×128·128×128 (GEMM)",
    make: () => {
      const f = jit((a: Tensor, b: Tensor) => np.matmul(a, b));
      const a = fill([32, 128], 3), b = fill([128, 128], 4);
      return { lower: () => f.lower(a, b).asText(), call: () => read([f(a, b)]) };
    },
  },
  {
    name: "W3-like conv fwd 2×12×12×5 (direct conv)",
    make: () => {
      const f = jit((x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "VALID", NHWC));
      const x = fill([2, 12, 12, 5], 5), w = fill([2, 3, 5, 4], 6);
      return { lower: () => f.lower(x, w).asText(), call: () => read([f(x, w)]) };
    },
  },
  {
    name: "RNN scan 20 steps fwd+grad (hidden 96)",
    make: () => {
      type P = { W: Tensor; b: Tensor };
      const loss = (p: P, xs: Tensor) =>
        np.mean(
          lax.scan(
            (h: Tensor, x: Tensor) => {
              const h2 = np.tanh(np.matmul(h, p.W).add(x).add(p.b));
              return [h2, h2];
            },
            np.zeros([16, 96]),
            xs,
          )[1],
        );
      const f = jit(valueAndGrad(loss));
      const p = { W: fill([96, 96], 7).mul(0.1), b: fill([96], 8) }, xs = fill([20, 16, 96], 9);
      return {
        lower: () => f.lower(p, xs).asText(),
        call: () => {
          const [v, g] = f(p, xs);
          read([v, g.W, g.b]);
        },
      };
    },
  },
];

function measure(c: Case): Record<string, number> {
  const { lower, call } = c.make();
  let t0 = now();
  lower();
  const compile = (now() - t0) * 1000;
  t0 = now();
  call();
  const first = (now() - t0) * 1000;
  const each: number[] = [];
  for (let i = 2; i <= 10; i++) {
    t0 = now();
    call();
    each.push((now() - t0) * 1000);
  }
  t0 = now();
  for (let i = 11; i <= 100; i++) call();
  const mid = (now() - t0) * 1000 / 90;
  for (let i = 0; i < 400; i++) call();
  const batches: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    t0 = now();
    for (let i = 0; i < 20; i++) call();
    batches.push((now() - t0) * 1000 / 20);
  }
  batches.sort((a, b) => a - b);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    compile,
    first,
    "2-10": mean(each),
    "11-100": mean(mid ? [mid] : []),
    steadyMin: batches[0],
    steadyMed: batches[batches.length >> 1],
  };
}

const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
const runtime = g.Deno
  ? `Deno ${g.Deno.version.deno}`
  : g.Bun
  ? `Bun ${g.Bun.version}`
  : `Node ${process.version}`;
const t0 = now();
if (args.includes("--init")) await init();
const initMs = args.includes("--init")
  ? `, after \`await init()\` (${(now() - t0).toFixed(0)} ms)`
  : "";
console.log(
  `warm-up of fresh jitted functions, ${runtime}${initMs} (µs; ratios to the steady median)`,
);
console.log("| case | trace+compile | first run | calls 2–10 | 11–100 | steady min / med |");
console.log("|---|---|---|---|---|---|");
for (const c of CASES) {
  const r = measure(c);
  const f = (v: number) => v < 100 ? v.toFixed(1) : v.toFixed(0);
  const x = (v: number) => `${f(v)} (${(v / r.steadyMed).toFixed(2)}×)`;
  console.log(
    `| ${c.name} | ${f(r.compile)} | ${x(r.first)} | ${x(r["2-10"])} | ${x(r["11-100"])} | ${
      f(r.steadyMin)
    } / ${f(r.steadyMed)} |`,
  );
}
