// float32 GEMM benchmark: naive JS, the Wasm SIMD kernel on one thread, and the worker pool.
// `deno bench -A bench/gemm_bench.ts` registers Deno.bench cases; run as a script
// (`deno run -A`, `bun`, or node on an esbuild bundle) it prints GFLOP/s for 256³, 512³, 1024³.

import {
  ensureMemoryBytes,
  SGEMM_CONFIG,
  sgemmInto,
  sgemmWorkspaceBytes,
} from "../kernels/wasm/sgemm.ts";
import { createPool } from "../lib/backend/cpu/pool/pool.ts";
import { parallelSgemm, parallelSgemmSync } from "../lib/backend/cpu/pool/parallel_sgemm.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const SIZES = [256, 512, 1024];

/** Plain-JS reference: i-k-j loop over Float32Arrays (C = A·B, n×n). */
function naiveJs(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  c.fill(0);
  for (let i = 0; i < n; i++) {
    const ci = i * n;
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k], bk = k * n;
      for (let j = 0; j < n; j++) c[ci + j] += aik * b[bk + j];
    }
  }
}

const pool = await createPool();
const single = new WebAssembly.Memory({ initial: 1 });
const maxN = SIZES[SIZES.length - 1];
ensureMemoryBytes(single, 3 * 4 * maxN * maxN + sgemmWorkspaceBytes() + 256);

interface Case {
  n: number;
  single: () => void;
  poolAsync: () => Promise<void>;
  poolSync: () => void;
  naive: () => void;
}

function makeCase(n: number): Case {
  const a = Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const c = new Float32Array(n * n);
  const sz = 4 * n * n;
  const sa = 0, sb = sz, sc = 2 * sz, sw = 3 * sz;
  new Float32Array(single.buffer, sa, n * n).set(a);
  new Float32Array(single.buffer, sb, n * n).set(b);
  const pa = pool.heap.alloc(sz), pb = pool.heap.alloc(sz), pc = pool.heap.alloc(sz);
  new Float32Array(pool.memory.buffer, pa, n * n).set(a);
  new Float32Array(pool.memory.buffer, pb, n * n).set(b);
  const common = { m: n, n, k: n, rsA: n, csA: 1, rsB: n, csB: 1, ldc: n, accumulate: false };
  const pargs = { ...common, a: pa, b: pb, c: pc };
  return {
    n,
    single: () => sgemmInto(single, { ...common, a: sa, b: sb, c: sc, work: sw }),
    poolAsync: () => parallelSgemm(pool, pargs),
    poolSync: () => parallelSgemmSync(pool, pargs),
    naive: () => naiveJs(a, b, c, n),
  };
}

const cases = SIZES.map(makeCase);

async function gflops(
  fn: () => unknown,
  n: number,
  minMs: number,
  maxReps: number,
): Promise<number> {
  await fn(); // warm-up (also lets Wasm tier up)
  await fn();
  let best = Infinity, reps = 0;
  const start = performance.now();
  while (reps < maxReps && (reps < 3 || performance.now() - start < minMs)) {
    const t0 = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t0);
    reps++;
  }
  return 2 * n ** 3 / (best * 1e6);
}

const underDenoBench = typeof g.Deno?.bench === "function" &&
  (import.meta as { main?: boolean }).main === false;
if (underDenoBench) {
  for (const c of cases) {
    const group = `${c.n}³`;
    if (c.n <= 512) g.Deno.bench({ name: `naive js ${group}`, group, fn: c.naive });
    g.Deno.bench({ name: `wasm 1 thread ${group}`, group, baseline: true, fn: c.single });
    // an async function (not one returning a promise): Deno.bench awaits only those
    g.Deno.bench({
      name: `pool ${pool.threads} threads ${group}`,
      group,
      fn: async () => await c.poolAsync(),
    });
    g.Deno.bench({ name: `pool sync ${pool.threads} threads ${group}`, group, fn: c.poolSync });
  }
} else {
  const rt = g.Bun
    ? `bun ${g.Bun.version}`
    : g.Deno
    ? `deno ${g.Deno.version.deno}`
    : `node ${g.process.version}`;
  console.log(
    `${rt}: kernel ${SGEMM_CONFIG.mr}x${
      4 * SGEMM_CONFIG.nv
    } unroll ${SGEMM_CONFIG.unroll}, pool threads ${pool.threads} (shared ${pool.shared}); best-of GFLOP/s`,
  );
  console.log("n      naive-js  wasm-1t  pool-async  pool-sync");
  for (const c of cases) {
    const naive = await gflops(c.naive, c.n, 300, c.n >= 1024 ? 1 : 5);
    const one = await gflops(c.single, c.n, 600, 200);
    const pa = await gflops(c.poolAsync, c.n, 600, 200);
    const ps = await gflops(c.poolSync, c.n, 600, 200);
    const f = (x: number) => x.toFixed(1).padStart(8);
    console.log(`${String(c.n).padEnd(5)} ${f(naive)}  ${f(one)}  ${f(pa)}    ${f(ps)}`);
  }
  await pool.terminate();
}
