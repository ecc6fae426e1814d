/**
 * Float32 `dotGeneral` through the Wasm SIMD GEMM (kernels/wasm/sgemm.ts): operands copied into
 * Wasm memory (gathered when not evenly strided), one GEMM per batch element on the worker pool,
 * float32 accumulation in a fixed k-order (thread-count independent). Small products use dot.ts.
 * @module
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { DotParams } from "../../ops/dot.ts";
import { sizeOf } from "../../shape.ts";
import { type SgemmArgs, sgemmInto, sgemmWorkspaceBytes } from "../../../kernels/wasm/sgemm.ts";
import { parallelSgemmSync } from "./pool/parallel_sgemm.ts";
import { usablePool } from "./conv.ts";
import { dotPlanFor } from "./dot.ts";
import { scratchFor } from "./kernel_support.ts";
import { allocHost } from "../../host_alloc.ts";

/**
 * @internal Products of at least `poolMinMacs` multiply-adds run on the worker pool; smaller ones run on the
 * calling thread (same code and blocking, so the same bits), where the hand-off to the pool costs
 * more than the second thread saves. Products below `minMacs` (or thinner than 8 in M, N or K)
 * stay on the exact float64 loop of dot.ts.
 */
export const gemmTuning: { poolMinMacs: number; minMacs: number } = {
  poolMinMacs: 1 << 22,
  minMacs: 1 << 11,
};

/** The common stride of evenly spaced offsets (`off[i] = i·s`), or null. */
function strideOf(off: Int32Array): number | null {
  if (off.length <= 1) return 1;
  const s = off[1] - off[0];
  for (let i = 0; i < off.length; i++) if (off[i] !== i * s) return null;
  return s;
}

const align = (v: number) => Math.ceil(v / 64) * 64;

/**
 * `dotGeneral` of two float32 host arrays with the Wasm GEMM, or null when this path does not
 * apply (not float32, or too small / thin: the caller then uses the loop). `into`, when given,
 * receives the result (every element is written) and is returned.
 *
 * @example A 64×64 matrix product
 * ```ts
 * import { dotGeneralF32 } from "./matmul.ts";
 * const n = 64, a = new Float32Array(n * n).fill(1);
 * const x = { data: a, shape: [n, n], dtype: "float32" as const };
 * const p = { contract: [[1], [0]] as [number[], number[]], batch: [[], []] as [number[], number[]] };
 * const y = dotGeneralF32(x, x, p, { shape: [n, n], dtype: "float32", weak: false });
 * if (!y || y[0] !== 64) throw new Error("dotGeneralF32");
 * ```
 */
export function dotGeneralF32(
  lhs: HostArray,
  rhs: HostArray,
  p: DotParams,
  out: Aval,
  into?: Float32Array,
): Float32Array | null {
  const A = lhs.data, B = rhs.data;
  if (!(A instanceof Float32Array) || !(B instanceof Float32Array) || out.dtype !== "float32") {
    return null;
  }
  const q = dotPlanFor(lhs.shape, rhs.shape, p);
  const nb = q.batchA.length, M = q.freeA.length, N = q.freeB.length, K = q.contractA.length;
  if (M < 8 || N < 8 || K < 8 || M * N * K < gemmTuning.minMacs) return null;
  // evenly strided free / contracted positions are read in place, others are gathered
  const [sm, sk, skB, sn] = [
    strideOf(q.freeA),
    strideOf(q.contractA),
    strideOf(q.contractB),
    strideOf(q.freeB),
  ];
  const directA = sm !== null && sk !== null, directB = skB !== null && sn !== null;
  const aLen = directA ? A.length : nb * M * K, bLen = directB ? B.length : nb * K * N;
  const pool = nb * M * N * K >= gemmTuning.poolMinMacs ? usablePool() : undefined;
  const bytes = align(4 * aLen) + align(4 * bLen) + align(4 * nb * M * N) +
    (pool ? 0 : sgemmWorkspaceBytes());
  const sc = scratchFor(bytes, pool);
  if (!sc) return null; // NOTE: the memory cannot grow that far: the loop still works
  const { base, memory: m } = sc;
  try {
    const pa = base, pb = pa + align(4 * aLen), pc = pb + align(4 * bLen);
    const work = pc + align(4 * nb * M * N);
    const f = new Float32Array(m.buffer);
    if (directA) f.set(A, pa / 4);
    else gather(f, pa / 4, A, q.batchA, q.freeA, q.contractA);
    if (directB) f.set(B, pb / 4);
    else gather(f, pb / 4, B, q.batchB, q.contractB, q.freeB);
    for (let bt = 0; bt < nb; bt++) {
      const args: SgemmArgs = {
        m: M,
        n: N,
        k: K,
        a: pa + 4 * (directA ? q.batchA[bt] : bt * M * K),
        rsA: directA ? sm! : K,
        csA: directA ? sk! : 1,
        b: pb + 4 * (directB ? q.batchB[bt] : bt * K * N),
        rsB: directB ? skB! : N,
        csB: directB ? sn! : 1,
        c: pc + 4 * bt * M * N,
        ldc: N,
        accumulate: false,
        work,
      };
      if (pool) parallelSgemmSync(pool, args);
      else sgemmInto(m, args);
    }
    // a small result is a view into a shared slab on Deno (allocHost): cheaper than a new buffer
    const res = into?.length === nb * M * N
      ? into
      : allocHost("float32", sizeOf(out.shape)) as Float32Array;
    res.set(new Float32Array(m.buffer, pc, nb * M * N));
    return res;
  } finally {
    sc.release();
  }
}

/**
 * Generates, compiles and instantiates the calling thread's GEMM by running one small product,
 * so that the first product of a program does not pay for it (`init()` calls this while the
 * worker pool starts).
 *
 * @example
 * ```ts
 * import { warmGemm } from "./matmul.ts";
 * warmGemm();
 * ```
 */
export function warmGemm(): void {
  const n = 16,
    x = { data: new Float32Array(n * n).fill(1), shape: [n, n], dtype: "float32" as const };
  const p = {
    contract: [[1], [0]] as [number[], number[]],
    batch: [[], []] as [number[], number[]],
  };
  const y = dotGeneralF32(x, x, p, { shape: [n, n], dtype: "float32", weak: false });
  if (y && y[0] !== n) throw new Error(`warmGemm: expected ${n}, got ${y[0]}`);
}

/** dst[at + (b·R + r)·C + c] = src[batch[b] + rows[r] + cols[c]]. */
function gather(
  dst: Float32Array,
  at: number,
  src: Float32Array,
  batch: Int32Array,
  rows: Int32Array,
  cols: Int32Array,
): void {
  let o = at;
  for (let b = 0; b < batch.length; b++) {
    for (let r = 0; r < rows.length; r++) {
      const base = batch[b] + rows[r];
      for (let c = 0; c < cols.length; c++) dst[o++] = src[base + cols[c]];
    }
  }
}
