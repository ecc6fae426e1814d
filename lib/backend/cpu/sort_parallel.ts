/**
 * Values-only sort of one long contiguous float32 / int32 row on the worker pool: each thread
 * maps its chunk to keys with histograms (kernels/wasm/radix_sort.ts); per digit, the main thread
 * turns the threads' histograms into bucket offsets (thread order keeps it stable) and each thread
 * scatters its chunk (later digits are counted again first: the chunks hold other keys by then).
 * @module
 */
import { RADIX_HIST_BYTES } from "../../../kernels/wasm/radix_sort.ts";
import type { PoolTask, WorkerPool } from "./pool/pool.ts";
import { usablePool } from "./conv.ts";
import { scratchFor } from "./kernel_support.ts";

/**
 * @internal Rows of at least `minKeys` keys are sorted on the pool (when it has 2+ threads);
 * below, the copies in and out and the four hand-offs cost about what the second thread saves.
 */
export const parallelSortTuning = { minKeys: 1 << 18 };

const align = (v: number) => Math.ceil(v / 64) * 64;
const COUNTERS = RADIX_HIST_BYTES / 4;

/** The digits whose histogram (summed over the threads' tables) splits the n keys. */
function splitDigits(h: Uint32Array, threads: number, n: number): number[] {
  const ds: number[] = [];
  for (let d = 0; d < 3; d++) {
    let split = true;
    for (let b = d * 2048; b < (d + 1) * 2048 && split; b++) {
      let c = 0;
      for (let t = 0; t < threads; t++) c += h[t * COUNTERS + b];
      if (c === n) split = false;
    }
    if (split) ds.push(d);
  }
  return ds;
}

/**
 * Turns the chunks' counts of one digit into their scatter offsets (chunk order keeps the sort
 * stable): chunk c's count of bucket b is the sum over `parts` tables at `at(part, c) + b`.
 */
function offsets(
  h: Uint32Array,
  chunks: number,
  parts: number,
  at: (part: number, c: number) => number,
  into: (c: number) => number,
): void {
  let run = 0;
  for (let b = 0; b < 2048; b++) {
    for (let c = 0; c < chunks; c++) {
      let k = 0;
      for (let q = 0; q < parts; q++) k += h[at(q, c) + b];
      h[into(c) + b] = run;
      run += k;
    }
  }
}

function runAll(pool: WorkerPool, tasks: PoolTask[], n: number): void {
  // a task slower than 1 key per µs (and 2 s) means its worker is gone
  pool.runSync(tasks, 2_000 + n / 1e3);
}

/**
 * Sorts `src[base .. base + n)` (float32 / int32 bit patterns; `mode` 0 int32, 1 float32) into
 * `out` at the same place, as sortFast's values-only path does (NaN last as one pattern, -0 before
 * 0). False when the pool is missing, single-threaded, busy or failed, or the row is short: the
 * caller then sorts on this thread.
 */
export function sortRowPooled(
  src: Uint32Array,
  base: number,
  n: number,
  mode: 0 | 1,
  out: Uint32Array,
  pool: WorkerPool | undefined = usablePool(),
): boolean {
  if (!pool || pool.threads < 2 || pool.busy || n < parallelSortTuning.minKeys) return false;
  const T = Math.min(pool.threads, 4), next = T * T * 2048;
  const sc = scratchFor(2 * align(4 * n) + T * RADIX_HIST_BYTES + 4 * next, pool);
  if (!sc) return false;
  try {
    const A = sc.base, B = A + align(4 * n), H = B + align(4 * n), buf = sc.memory.buffer;
    new Uint32Array(buf, A, n).set(src.subarray(base, base + n));
    // per thread: its digit tables; after them, per thread and destination chunk: next-digit counts
    const h = new Uint32Array(buf, H, T * COUNTERS + next);
    h.fill(0, 0, T * COUNTERS);
    const lo = Array.from({ length: T + 1 }, (_, t) => Math.floor((t * n) / T));
    const bounds = [1, 2, 3].map((t) => (t < T ? lo[t] : 0x7fffffff));
    const tasks = (args: (t: number, len: number, at: number) => number[], op: string) =>
      runAll(
        pool,
        lo.slice(0, T).map((_, t) => ({
          op: pool.op(op),
          args: args(t, lo[t + 1] - lo[t], 4 * lo[t]),
        })),
        n,
      );
    tasks((t, len, at) => [A + at, A + at, len, H + t * RADIX_HIST_BYTES, mode], "radixKeys");
    const ds = splitDigits(h, T, n);
    if (!ds.length) return false; // one key value throughout: the caller's path handles it
    const table = (t: number, d: number) => (t * RADIX_HIST_BYTES + d * 8192) / 4;
    offsets(h, T, 1, (_, c) => table(c, ds[0]), (c) => table(c, ds[0]));
    let from = A, to = B;
    ds.forEach((d, p) => {
      const offs = (t: number) => H + 4 * table(t, d);
      if (p === ds.length - 1) {
        const am = mode === 1 ? -1 : 0, om = 0x80000000 | 0;
        tasks((t, len, at) => [from + at, len, to, offs(t), 11 * d, am, om], "radixScatter");
      } else {
        // scatter, counting the next digit by the chunk each key lands in
        const nd = ds[p + 1], at = (q: number, c: number) => T * COUNTERS + (q * T + c) * 2048;
        h.fill(0, T * COUNTERS);
        tasks((t, len, a) => [
          from + a,
          len,
          to,
          offs(t),
          11 * d,
          H + 4 * at(t, 0),
          11 * nd,
          ...bounds,
        ], "radixScatterCount");
        offsets(h, T, T, at, (c) => table(c, nd));
      }
      [from, to] = [to, from];
    });
    out.set(new Uint32Array(buf, from, n), base);
    return true;
  } catch (e) {
    if (pool.crashed) return false; // the pool is replaced; this thread sorts instead
    throw e;
  } finally {
    sc.release();
  }
}
