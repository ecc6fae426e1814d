// deno-lint-ignore-file no-explicit-any -- peers are loaded dynamically (optional)
/**
 * Latency of small work, tracegrad beside its peers in one run: eager add(1) on 16 floats, eager
 * tanh(x*2+1), eager 64×64 matmul read back synchronously, W3 under jit (forward, forward+grad),
 * and a fresh jitted W3 kernel's first call and calls 2–10 against its steady state.
 * Run: `deno task bench --only LAT` (or `deno run -A bench/latency.ts [--quick]`).
 * @module
 */
import process from "node:process";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { jit, lax, np, type Tensor, valueAndGrad } from "../mod.ts";
import { JAXJS_SPEC } from "./_impl_jaxjs.ts";
import { TFJS_SPEC, TFJS_WASM_SPEC } from "./_impl_tfjs.ts";
import { withLatency } from "./_latency_md.ts";
import { warmupTable } from "./_warmup.ts";

/** A time in µs, a [median, min] pair of them, or why there is none. */
type Cell = number | [number, number] | string;
type Row = { impl: string; us: Record<string, Cell> };
/** The latency cases, in table order. */
export const LATENCY_CASES = ["add1", "tanh", "mm64", "W3f", "W3g", "first", "2-10", "steady"];
const NHWC = { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] as [string, string, string] };

/**
 * [median, min] µs per call of `f`, over `reps` batches of `n` calls after a warm-up of at least
 * `n` calls and 0.5 s (steady state: V8's optimizing tier compiles in the background, which
 * takes longer than `n` calls on a loaded machine; the first calls have their own columns).
 */
function perCall(f: () => unknown, n: number, reps: number): [number, number] {
  const w0 = performance.now();
  for (let i = 0; i < Math.max(50, n) || performance.now() - w0 < 500; i++) f();
  const ts: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) f();
    ts.push((performance.now() - t0) * 1000 / n);
  }
  ts.sort((a, b) => a - b);
  return [ts[ts.length >> 1], ts[0]];
}

function fill(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = Math.sin(i * 0.7 + seed) * 0.5;
  return a;
}

/** First call, mean of calls 2–10 and steady state of a fresh jitted W3 forward. */
function warmup(call: () => void, steady: () => [number, number]): Record<string, Cell> {
  let t0 = performance.now();
  call();
  const first = (performance.now() - t0) * 1000;
  t0 = performance.now();
  for (let i = 2; i <= 10; i++) call();
  return { first, "2-10": (performance.now() - t0) * 1000 / 9, steady: steady() };
}

function ours(n: number, reps: number): Row {
  const x = np.array(fill(16, 1));
  const a = np.reshape(np.array(fill(4096, 2)), [64, 64]);
  const xi = np.reshape(np.array(fill(1100, 3)), [2, 10, 11, 5]);
  const wi = np.reshape(np.array(fill(120, 4)), [2, 3, 5, 4]);
  const conv = (x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "VALID", NHWC);
  const fwd = jit(conv);
  const g = jit(valueAndGrad((x: Tensor, w: Tensor) => np.sum(conv(x, w)), { argnums: [0, 1] }));
  // a shape no other case compiles, so its kernels are fresh
  const xf = np.reshape(np.array(fill(2 * 11 * 11 * 5, 5)), [2, 11, 11, 5]);
  const fresh = jit(conv);
  const freshCall = () => void fresh(xf, wi).dataSync();
  return {
    impl: "tracegrad cpu",
    us: {
      add1: perCall(() => x.add(1), n, reps),
      tanh: perCall(() => np.tanh(x.mul(2).add(1)), n, reps),
      mm64: perCall(() => np.matmul(a, a).dataSync(), n / 10, reps),
      W3f: perCall(() => fwd(xi, wi).dataSync(), n / 10, reps),
      W3g: perCall(
        () => {
          const [v, [dx, dw]] = g(xi, wi) as [Tensor, Tensor[]];
          v.dataSync(), dx.dataSync(), dw.dataSync();
        },
        n / 10,
        reps,
      ),
      ...warmup(freshCall, () => perCall(freshCall, n / 10, reps)),
    },
  };
}

async function tfjsWasm(n: number, reps: number): Promise<Row> {
  const tf: any = await import(TFJS_SPEC);
  await import(TFJS_WASM_SPEC);
  const dir = new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url);
  const wasm: any = await import(TFJS_WASM_SPEC);
  wasm.setWasmPaths?.(decodeURIComponent(dir.pathname));
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs wasm backend did not initialise");
  const x = tf.tensor(fill(16, 1)), a = tf.tensor(fill(4096, 2), [64, 64]);
  const xi = tf.tensor(fill(1100, 3), [2, 10, 11, 5]), wi = tf.tensor(fill(120, 4), [2, 3, 5, 4]);
  const xf = tf.tensor(fill(1210, 5), [2, 11, 11, 5]);
  // results (and intermediates) disposed explicitly: tf.tidy measured slower per call
  const keep = (f: () => any) => () => {
    const y = f();
    y.dataSync();
    y.dispose();
  };
  const chain = () => {
    const a = tf.mul(x, 2), b = tf.add(a, 1), y = tf.tanh(b);
    y.dataSync();
    a.dispose(), b.dispose(), y.dispose();
  };
  const freshCall = keep(() => tf.conv2d(xf, wi, 1, "valid"));
  return {
    impl: "tfjs-wasm",
    us: {
      add1: perCall(keep(() => tf.add(x, 1)), n, reps),
      tanh: perCall(chain, n, reps),
      mm64: perCall(keep(() => tf.matMul(a, a)), n / 10, reps),
      W3f: perCall(keep(() => tf.conv2d(xi, wi, 1, "valid")), n / 10, reps),
      W3g: "no conv backprop",
      ...warmup(freshCall, () => perCall(freshCall, n / 10, reps)),
    },
  };
}

async function jaxjs(n: number, reps: number): Promise<Row> {
  const jax: any = await import(JAXJS_SPEC);
  await jax.init("wasm");
  jax.defaultDevice("wasm");
  const jnp = jax.numpy;
  const x = jnp.array(fill(16, 1)), a = jnp.array(fill(4096, 2)).reshape([64, 64]);
  const read = (y: any) => y.dataSync ? y.dataSync() : y.js();
  return {
    impl: "jax-js wasm",
    us: {
      add1: perCall(() => read(jnp.add(x.ref, 1)), n / 10, reps),
      tanh: perCall(() => read(jnp.tanh(jnp.add(jnp.multiply(x.ref, 2), 1))), n / 10, reps),
      mm64: perCall(() => read(jnp.matmul(a.ref, a.ref)), n / 100, reps),
    },
  };
}

const NUMPY = `
import json, sys, time, numpy as np
n, reps = int(sys.argv[1]), int(sys.argv[2])
def per_call(f, n):
    for _ in range(max(50, n)): f()
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n): f()
        ts.append((time.perf_counter() - t0) * 1e6 / n)
    return [sorted(ts)[len(ts) // 2], min(ts)]
x = np.sin(np.arange(16) * 0.7 + 1).astype(np.float32) * 0.5
a = (np.sin(np.arange(4096) * 0.7 + 2).astype(np.float32) * 0.5).reshape(64, 64)
print(json.dumps({"add1": per_call(lambda: x + 1, n), "tanh": per_call(lambda: np.tanh(x * 2 + 1), n),
  "mm64": per_call(lambda: a @ a, n // 10)}))
`;

function numpy(n: number, reps: number): Row {
  const r = spawnSync("python3", ["-c", NUMPY, String(n), String(reps)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`numpy: ${r.stderr || r.error}`);
  return { impl: "NumPy", us: JSON.parse(r.stdout) };
}

/** Runs every latency case for us and the peers; returns the markdown table. */
export async function runLatency(quick = false): Promise<string> {
  const n = quick ? 200 : 5000, reps = quick ? 3 : 9;
  const rows: Row[] = [ours(n, reps)];
  const peers: [string, () => Row | Promise<Row>][] = [
    ["NumPy", () => numpy(n, reps)],
    ["tfjs-wasm", () => tfjsWasm(n, reps)],
    ["jax-js wasm", () => jaxjs(n, reps)],
  ];
  for (const [name, f] of peers) {
    try {
      rows.push(await f());
    } catch (e) {
      rows.push({ impl: name, us: { add1: `failed: ${String((e as Error).message ?? e)}` } });
    }
  }
  const num = (v: number) => v.toFixed(v < 10 ? 2 : 1);
  const fmt = (v: Cell | undefined) =>
    typeof v === "number" ? num(v) : Array.isArray(v) ? `${num(v[0])} (${num(v[1])})` : v ?? "—";
  const head = `| µs per call: median (min) | ${LATENCY_CASES.join(" | ")} |`;
  const lines = rows.map((r) =>
    `| ${r.impl} | ${LATENCY_CASES.map((c) => fmt(r.us[c])).join(" | ")} |`
  );
  return [head, `|---|${LATENCY_CASES.map(() => "---").join("|")}|`, ...lines].join("\n");
}

/** Why targets of issue #18 that are not met are not (kept with the table). */
const GAPS = [
  "Targets (issue #18): eager add and the 3-op chain ≤ 3× NumPy; 64×64 matmul ≤ 1.5× NumPy; W3 jit",
  "forward ≤ 7 µs, forward+grad ≤ 25 µs; calls 2–10 within 1.5× of steady state. Known gaps: the",
  "64×64 matmul runs one Wasm SIMD128 GEMM on the calling thread, whose ceiling is 4-wide f32 FMA",
  "(`f32x4.relaxed_madd` on Deno and Bun; mul + add on Node 20): two per cycle at 2.1 GHz is 33.6",
  "GFLOP/s per thread, so the 0.52 MFLOP of this product need at least 15.6 µs, more than 1.5× NumPy's",
  "AVX-512 BLAS (≈ 9 µs); a second thread would not pay (the pool hand-off costs more than it saves",
  "at this size); packing and the copies in and out add about 3 µs. W3 (forward and both gradients) reads NHWC/HWIO in place with the",
  "channels-last Wasm kernel (lib/backend/cpu/cl_conv.ts); its gradient still runs two copy kernels",
  "of under 1 µs each (the broadcast output gradient, the flipped filter). Warm-up (table",
  "below, bench/warmup.ts per runtime): small JS kernels are generic over shape (hot from earlier",
  "shapes) and a fresh generated Wasm kernel reruns at its first call until the optimizing tier",
  "is in; what remains in calls 2–10 of a cold process is the library's own code in baseline",
  "tiers, and on this VM fresh memory (each first-touched 4 KiB page costs ~10-70 µs: the `pf`",
  "column), so kernels whose outputs are new buffers of several KB run slower until the engine's",
  "GC recycles memory (Node/Deno after some hundred calls; Bun kept faulting in our runs).",
].join(" ");

/** Runs the cases and writes their section into `--out` (default bench/RESULTS.md; other sections kept). */
export async function latencyMain(argv: string[]): Promise<number> {
  const out = argv.join(" ").match(/--out[= ](\S+)/)?.[1] ?? "bench/RESULTS.md";
  const quick = argv.includes("--quick");
  // the warm-up of fresh kernels of several kinds (bench/warmup.ts runs it on Bun and Node too)
  const warm = warmupTable({ rounds: quick ? 2 : 5, title: "Warm-up of fresh jitted functions" });
  const table = `${await runLatency(quick)}\n\n${warm}`;
  console.log(table);
  const version = (globalThis as any).Deno?.version?.deno ?? "?";
  const note =
    `Measured ${new Date().toISOString().slice(0, 10)} by \`deno task bench --only LAT\` ` +
    `(Deno ${version}), all in one process (NumPy in a subprocess): median (min) µs per call over ` +
    'batches of calls; "first", "2-10" (mean of calls 2–10) and "steady" are one fresh jitted ' +
    "W3 forward (tfjs: a conv2d of a fresh shape). mm64 is `np.matmul(a, a).dataSync()` for us, " +
    "`a @ a` for NumPy (its result is host memory already; `tolist()` measured 60–80 µs of " +
    "Python list building, not the product). Warm-up: at least 0.5 s per case.\n\n" + GAPS;
  const old = existsSync(out) ? readFileSync(out, "utf8") : "# tracegrad benchmark results\n";
  writeFileSync(out, withLatency(old, table, note));
  const deno = (globalThis as any).Deno;
  // keep the file in `deno fmt` form (the repo's fmt check covers bench/)
  if (deno) spawnSync(deno.execPath(), ["fmt", "--quiet", out], { stdio: "ignore" });
  return 0;
}

if (import.meta.main) process.exit(await latencyMain(process.argv.slice(2)));
