/**
 * The warm-up cases of bench/warmup.ts and bench/latency.ts (issue #18): fresh jitted functions
 * of several kernel kinds (JS elementwise, Wasm reduction, GEMM, NHWC conv, scan), each timed
 * for its trace and compile, first call, calls 2–10 and steady state, with page faults per call.
 * @module
 */
import process from "node:process";
import { jit, lax, np, type Tensor, valueAndGrad } from "../mod.ts";
import { wasmWarmup } from "../kernels/render_wasm.ts";
import { jsKernelTuning } from "../kernels/render_js.ts";

const now = () => performance.now();
const faults = (): number => {
  try {
    return process.resourceUsage().minorPageFault;
  } catch {
    return NaN;
  }
};

function fill(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.sin(i * 0.7 + seed) * 0.5;
  return np.array(d, { shape });
}

/** A case: `make(k)` builds it on shapes offset by `k` (a fresh kernel per round). */
export type Case = { name: string; make: (k: number) => { lower: () => void; call: () => void } };
const NHWC = { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] as [string, string, string] };
const read = (ts: Tensor[]) => ts.forEach((t) => t.dataSync());
const unary = (f: (x: Tensor) => Tensor, shape: number[]) => {
  const g = jit(f), x = fill(shape, 1);
  return { lower: () => g.lower(x).asText(), call: () => read([g(x)]) };
};

/** Every case, in table order. */
export const ALL_CASES: Case[] = [
  {
    name: "tanh(x·2+1) 64 (JS kernel)",
    make: (k) => unary((x) => np.tanh(x.mul(2).add(1)), [64 + k]),
  },
  {
    name: "tanh(x·2+1) 4096 (JS kernel)",
    make: (k) => unary((x) => np.tanh(x.mul(2).add(1)), [4096 + k]),
  },
  {
    name: "sum 64×300 (Wasm reduction)",
    make: (k) => unary((x) => np.sum(x.mul(x), { axis: 1 }), [64, 300 + k]),
  },
  {
    name: "matmul 32×128·128×128 (GEMM)",
    make: (k) => {
      const f = jit((a: Tensor, b: Tensor) => np.matmul(a, b));
      const a = fill([32, 128 + k], 3), b = fill([128 + k, 128], 4);
      return { lower: () => f.lower(a, b).asText(), call: () => read([f(a, b)]) };
    },
  },
  {
    name: "W3-like conv fwd 2×12×12×5 (NHWC conv)",
    make: (k) => {
      const f = jit((x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "VALID", NHWC));
      const x = fill([2, 12 + k, 12, 5], 5), w = fill([2, 3, 5, 4], 6);
      return { lower: () => f.lower(x, w).asText(), call: () => read([f(x, w)]) };
    },
  },
  {
    name: "RNN scan 20 steps fwd+grad (hidden 96)",
    make: (k) => {
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
      const p = { W: fill([96, 96], 7).mul(0.1), b: fill([96], 8) }, xs = fill([20 + k, 16, 96], 9);
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

/** One measurement (µs; pf: minor page faults per call). */
export type Result = {
  compile: number;
  first: number;
  early: number;
  steady: number;
  pfEarly: number;
  pfSteady: number;
};

/** Measures case `c` on shapes offset by `k`. */
export function measure(c: Case, k: number): Result {
  const { lower, call } = c.make(k);
  let t0 = now();
  lower();
  const compile = (now() - t0) * 1000;
  t0 = now();
  call();
  const first = (now() - t0) * 1000;
  let pf = faults();
  t0 = now();
  for (let i = 2; i <= 10; i++) call();
  const early = (now() - t0) * 1000 / 9, pfEarly = (faults() - pf) / 9;
  for (let i = 0; i < 400; i++) call();
  const batches: number[] = [];
  pf = faults();
  for (let r = 0; r < 15; r++) {
    t0 = now();
    for (let i = 0; i < 20; i++) call();
    batches.push((now() - t0) * 1000 / 20);
  }
  const pfSteady = (faults() - pf) / 300;
  batches.sort((a, b) => a - b);
  return { compile, first, early, steady: batches[batches.length >> 1], pfEarly, pfSteady };
}

/** µs per fresh 4 KiB page: a new 4 MiB buffer with every page written once. */
export function freshPageUs(): number {
  const t0 = now(), b = new Uint8Array(4 << 20);
  for (let i = 0; i < b.length; i += 4096) b[i] = 1;
  return (now() - t0) * 1000 / (b.length / 4096);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/**
 * The warm-up table (markdown, one header line first): round 0 ("cold process") and the medians
 * of rounds 1.. on fresh shapes; `ab` alternates those rounds with the warm-up measures
 * (generic small JS kernels, first-call Wasm reruns) on and off.
 */
export function warmupTable(
  opts: { rounds?: number; ab?: boolean; only?: RegExp; title?: string } = {},
): string {
  const { rounds = 5, ab = false, only = /./, title = "warm-up" } = opts;
  const cases = ALL_CASES.filter((c) => only.test(c.name));
  const warmRuns = wasmWarmup.maxRuns, genericWork = jsKernelTuning.genericMaxWork;
  const modes = ab ? ["warm-up on", "warm-up off"] : [""];
  const cold: Result[] = [];
  const fresh: Result[][][] = modes.map(() => cases.map(() => []));
  try {
    for (let r = 0; r < rounds; r++) {
      const m = r === 0 ? 0 : (r - 1) % modes.length;
      const off = modes[m] === "warm-up off";
      wasmWarmup.maxRuns = off ? 0 : warmRuns;
      jsKernelTuning.genericMaxWork = off ? 0 : genericWork;
      cases.forEach((c, i) => {
        const res = measure(c, r);
        if (r === 0) cold.push(res);
        else fresh[m][i].push(res);
      });
    }
  } finally {
    wasmWarmup.maxRuns = warmRuns;
    jsKernelTuning.genericMaxWork = genericWork;
  }
  const f = (v: number) => v < 100 ? v.toFixed(1) : v.toFixed(0);
  const pf = (v: number) => Number.isNaN(v) ? "—" : v.toFixed(1);
  const lines = [
    `${title}: µs per call; ratio = calls 2–10 / steady median; pf = minor page faults per call ` +
    `(calls 2–10 / steady); a fresh 4 KiB page (of a new 4 MiB buffer) took ${
      freshPageUs().toFixed(1)
    } µs`,
    "",
    "| case | kernel | trace+compile | first | calls 2–10 | steady | ratio | pf |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const row = (name: string, kind: string, rs: Result[]) => {
    const m = (k: keyof Result) => median(rs.map((r) => r[k]));
    const ratio = median(rs.map((r) => r.early / r.steady));
    lines.push(
      `| ${name} | ${kind} | ${f(m("compile"))} | ${f(m("first"))} | ${f(m("early"))} | ${
        f(m("steady"))
      } | ${ratio.toFixed(2)}× | ${pf(m("pfEarly"))} / ${pf(m("pfSteady"))} |`,
    );
  };
  cases.forEach((c, i) => {
    row(c.name, "cold process", [cold[i]]);
    modes.forEach((mode, m) => {
      const rs = fresh[m][i];
      if (rs.length) row(c.name, `fresh${mode ? ` (${mode})` : ""}, ${rs.length} rounds`, rs);
    });
  });
  return lines.join("\n");
}
