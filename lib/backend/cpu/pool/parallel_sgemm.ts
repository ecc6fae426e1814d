// Parallel float32 GEMM on a WorkerPool: the output is split into column (or row) strips, one per
// thread, aligned to the micro-tile. Every C element is computed by the same code with the same
// k-blocking as single-threaded, so results are bit-identical to `sgemmInto` on one thread.

import type { SgemmArgs } from "../../../../kernels/wasm/sgemm.ts";
import type { PoolTask, WorkerPool } from "./pool.ts";

/** GEMM operands for the pool: like `SgemmArgs` without `work` (each thread uses its own). */
export type PoolSgemmArgs = Omit<SgemmArgs, "work">;

/**
 * Splits C into at most `parts` strips along N (when N ≥ M) or M, each a multiple of the
 * micro-tile width/height except the last. Pointers are adjusted; sizes add up to the original.
 *
 * @example
 * ```ts
 * const s = splitSgemm({ m: 8, n: 100, k: 5, a: 0, rsA: 5, csA: 1, b: 4096, rsB: 100, csB: 1,
 *   c: 8192, ldc: 100, accumulate: false }, 2, 16, 2);
 * if (s.map((p) => p.n).join() !== "64,36") throw new Error("bad split");
 * ```
 */
export function splitSgemm(
  args: PoolSgemmArgs,
  parts: number,
  nr: number,
  mr: number,
): PoolSgemmArgs[] {
  const alongN = args.n >= args.m;
  const total = alongN ? args.n : args.m, unit = alongN ? nr : mr;
  const units = Math.ceil(total / unit);
  const p = Math.max(1, Math.min(parts, units));
  const out: PoolSgemmArgs[] = [];
  let start = 0;
  for (let t = 0; t < p; t++) {
    const u = Math.floor(units / p) + (t < units % p ? 1 : 0);
    const len = Math.min(u * unit, total - start);
    if (alongN) {
      out.push({ ...args, n: len, b: args.b + 4 * start * args.csB, c: args.c + 4 * start });
    } else {
      out.push({
        ...args,
        m: len,
        a: args.a + 4 * start * args.rsA,
        c: args.c + 4 * start * args.ldc,
      });
    }
    start += len;
  }
  return out;
}

function checkSizes(op: string, args: PoolSgemmArgs): void {
  const { m, n, k } = args;
  if (
    !(Number.isInteger(m) && Number.isInteger(n) && Number.isInteger(k) && m >= 0 && n >= 0 &&
      k >= 0)
  ) {
    throw new RangeError(`${op}: sizes must be non-negative integers, got m=${m} n=${n} k=${k}`);
  }
}

/** Tasks for a GEMM, or undefined when there is nothing to compute (handled here). */
function plan(pool: WorkerPool, args: PoolSgemmArgs, parallel: boolean): PoolTask[] | undefined {
  if (args.m === 0 || args.n === 0) return undefined;
  if (args.k === 0) {
    if (!args.accumulate) {
      const f32 = new Float32Array(pool.memory.buffer);
      for (let i = 0; i < args.m; i++) {
        const row = args.c / 4 + i * args.ldc;
        f32.fill(0, row, row + args.n);
      }
    }
    return undefined;
  }
  const flops = 2 * args.m * args.n * args.k;
  const parts = parallel && flops >= pool.minParallelFlops ? pool.threads : 1;
  const strips = splitSgemm(args, parts, 4 * pool.config.nv, pool.config.mr);
  return strips.map((s, t) => ({
    op: pool.sgemmOp,
    args: [
      s.m,
      s.n,
      s.k,
      s.a,
      s.rsA,
      s.csA,
      s.b,
      s.rsB,
      s.csB,
      s.c,
      s.ldc,
      s.accumulate ? 1 : 0,
      pool.workspace(t),
    ],
  }));
}

/**
 * C[m,n] (+)= A[m,k]·B[k,n] with operands in `pool.memory` (byte offsets, element strides as in
 * `sgemmInto`), split across the pool's threads when the product is large enough. The main thread
 * computes the first strip itself.
 *
 * @example
 * ```ts
 * import { createPool } from "./pool.ts";
 * const pool = await createPool();
 * const a = pool.heap.alloc(16), b = pool.heap.alloc(16), c = pool.heap.alloc(16);
 * const f = new Float32Array(pool.memory.buffer);
 * f.set([1, 2, 3, 4], a / 4);
 * f.set([5, 6, 7, 8], b / 4);
 * await parallelSgemm(pool, { m: 2, n: 2, k: 2, a, rsA: 2, csA: 1, b, rsB: 2, csB: 1, c, ldc: 2,
 *   accumulate: false });
 * const out = new Float32Array(pool.memory.buffer, c, 4);
 * if (out.join() !== "19,22,43,50") throw new Error("bad product");
 * ```
 */
export async function parallelSgemm(pool: WorkerPool, args: PoolSgemmArgs): Promise<void> {
  checkSizes("parallelSgemm", args);
  const tasks = plan(pool, args, true);
  if (tasks) await pool.run(tasks);
}

/**
 * Synchronous {@link parallelSgemm} (the main thread blocks in `Atomics.wait` for the workers);
 * runs single-threaded when an asynchronous task is in flight.
 *
 * @example
 * ```ts
 * import { createPool } from "./pool.ts";
 * const pool = await createPool();
 * const a = pool.heap.alloc(4), b = pool.heap.alloc(4), c = pool.heap.alloc(4);
 * const f = new Float32Array(pool.memory.buffer);
 * f[a / 4] = 3;
 * f[b / 4] = 4;
 * parallelSgemmSync(pool, { m: 1, n: 1, k: 1, a, rsA: 1, csA: 1, b, rsB: 1, csB: 1, c, ldc: 1,
 *   accumulate: false });
 * if (f[c / 4] !== 12) throw new Error("bad product");
 * ```
 */
export function parallelSgemmSync(pool: WorkerPool, args: PoolSgemmArgs): void {
  checkSizes("parallelSgemmSync", args);
  const tasks = plan(pool, args, !pool.busy);
  // a strip taking longer than at 20 MFLOP/s (and 2 s) means its worker is gone
  if (tasks) {
    pool.runSync(tasks, Math.max(2_000, (2 * args.m * args.n * args.k) / 2e4 / tasks.length));
  }
}

/**
 * Row-major `a[M,K] · b[K,N]` on the pool, copying operands in and the result out.
 *
 * @example
 * ```ts
 * import { createPool } from "./pool.ts";
 * const pool = await createPool();
 * const a = new Float32Array([1, 2, 3, 4]), b = new Float32Array([5, 6, 7, 8]);
 * const c = await poolMatmulF32(pool, a, b, 2, 2, 2);
 * if (c.join() !== "19,22,43,50") throw new Error("bad product");
 * ```
 */
export async function poolMatmulF32(
  pool: WorkerPool,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
): Promise<Float32Array> {
  if (a.length !== M * K || b.length !== K * N) {
    throw new TypeError(
      `poolMatmulF32: expected a of length ${M * K} and b of length ${
        K * N
      }, got ${a.length} and ${b.length}`,
    );
  }
  const pa = pool.heap.alloc(4 * M * K),
    pb = pool.heap.alloc(4 * K * N),
    pc = pool.heap.alloc(4 * M * N);
  try {
    new Float32Array(pool.memory.buffer, pa, M * K).set(a);
    new Float32Array(pool.memory.buffer, pb, K * N).set(b);
    await parallelSgemm(pool, {
      m: M,
      n: N,
      k: K,
      a: pa,
      rsA: K,
      csA: 1,
      b: pb,
      rsB: N,
      csB: 1,
      c: pc,
      ldc: N,
      accumulate: false,
    });
    return new Float32Array(pool.memory.buffer, pc, M * N).slice();
  } finally {
    pool.heap.free(pa);
    pool.heap.free(pb);
    pool.heap.free(pc);
  }
}
