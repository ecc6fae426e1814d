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

/** @internal Rows of at least `minKeys` keys are sorted on the pool (when it has 2+ threads). */
export const parallelSortTuning = { minKeys: 1 << 16 };

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

/** Turns the threads' histograms of digit d into their scatter offsets (thread order: stable). */
function offsets(h: Uint32Array, threads: number, d: number): void {
  let run = 0;
  for (let b = d * 2048; b < (d + 1) * 2048; b++) {
    for (let t = 0; t < threads; t++) {
      const i = t * COUNTERS + b, c = h[i];
      h[i] = run;
      run += c;
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
  const T = pool.threads, sc = scratchFor(2 * align(4 * n) + T * RADIX_HIST_BYTES, pool);
  if (!sc) return false;
  try {
    const A = sc.base, B = A + align(4 * n), H = B + align(4 * n), buf = sc.memory.buffer;
    new Uint32Array(buf, A, n).set(src.subarray(base, base + n));
    const h = new Uint32Array(buf, H, T * COUNTERS);
    h.fill(0);
    const lo = Array.from({ length: T + 1 }, (_, t) => Math.floor((t * n) / T));
    const chunk = (t: number) => [lo[t + 1] - lo[t], 4 * lo[t]];
    const keys = pool.op("radixKeys"), count = pool.op("radixHist");
    const scatter = pool.op("radixScatter");
    runAll(
      pool,
      lo.slice(0, T).map((_, t) => {
        const [len, at] = chunk(t);
        return { op: keys, args: [A + at, A + at, len, H + t * RADIX_HIST_BYTES, mode] };
      }),
      n,
    );
    const ds = splitDigits(h, T, n);
    if (!ds.length) return false; // one key value throughout: the caller's path handles it
    let from = A, to = B;
    ds.forEach((d, p) => {
      const table = (t: number) => H + t * RADIX_HIST_BYTES + d * 8192;
      if (p > 0) {
        // the keys moved since the first sweep: count this digit in each thread's new chunk
        for (let t = 0; t < T; t++) {
          h.fill(0, t * COUNTERS + d * 2048, t * COUNTERS + (d + 1) * 2048);
        }
        runAll(
          pool,
          lo.slice(0, T).map((_, t) => {
            const [len, at] = chunk(t);
            return { op: count, args: [from + at, len, table(t), 11 * d] };
          }),
          n,
        );
      }
      offsets(h, T, d);
      const last = p === ds.length - 1;
      const [am, om] = last ? [mode === 1 ? -1 : 0, 0x80000000 | 0] : [0, 0];
      runAll(
        pool,
        lo.slice(0, T).map((_, t) => {
          const [len, at] = chunk(t);
          return { op: scatter, args: [from + at, len, to, table(t), 11 * d, am, om] };
        }),
        n,
      );
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
