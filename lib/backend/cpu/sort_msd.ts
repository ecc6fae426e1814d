/**
 * The values-only sort of one long float32 / int32 row on the pool by the MSD radix kernels
 * (kernels/wasm/radix_msd.ts): count the top 11 bits, move each value into its bucket, sort the
 * buckets each on its own. Each phase splits over the threads: chunks of the row for the first two
 * (each thread with its own table; thread order keeps equal values in order), runs of buckets of
 * about equal size for the third. On one thread the LSD sort of sort_parallel.ts is as fast or
 * faster, so rows go there when the pool is missing or busy.
 * @module
 */
import { MSD_COUNT_BYTES, MSD_WORK_BYTES } from "../../../kernels/wasm/radix_msd.ts";
import { usablePool } from "./conv.ts";
import { scratchFor } from "./kernel_support.ts";
import { type PooledRowSort, poolThreads } from "./sort_parallel.ts";

/**
 * @internal Rows of at least `minKeys` values take the MSD sort, over up to `maxThreads` threads
 * of the pool when it is free and has two or more.
 */
export const msdSortTuning = { minKeys: 1 << 19, maxThreads: 4 };

const align = (v: number) => Math.ceil(v / 64) * 64;
const STRIDE = MSD_COUNT_BYTES / 4;

/**
 * The top 11 bits only NaN has (exponent all ones, top mantissa bits not 0); the digits of ±inf,
 * 0x3fc and 0x7fc, also hold the NaN of small payloads and are checked after the scatter.
 */
const NAN_DIGITS = [0x3fd, 0x3fe, 0x3ff, 0x7fd, 0x7fe, 0x7ff];

/** The top-11-bit bucket of the bit patterns that holds the K-th bucket in value order. */
const rawBucket = (k: number, float: boolean) => (float && k < 0x400 ? 0x7ff - k : k ^ 0x400);

/**
 * Sorts `src[base .. base + n)` (float32 / int32 bit patterns; `mode` 0 int32, 1 float32) into
 * `out` at the same place (-0 before 0) on the pool. False when the pool is missing, single-threaded,
 * busy or failed, the row holds NaN (float32) or is shorter than `msdSortTuning.minKeys`, or Wasm
 * memory cannot hold it: the caller sorts another way.
 */
export const sortRowMsd: PooledRowSort = (src, base, n, mode, out, pool = usablePool()) => {
  const T = poolThreads(pool, n, msdSortTuning.minKeys, 2, msdSortTuning.maxThreads);
  if (!pool || !T) return false;
  const sc = scratchFor(
    2 * align(4 * n) + T * (MSD_COUNT_BYTES + MSD_WORK_BYTES) + 2048 * 12,
    pool,
  );
  if (!sc) return false;
  try {
    const A = sc.base, B = A + align(4 * n), C = B + align(4 * n);
    const W = C + T * MSD_COUNT_BYTES, LIST = W + T * MSD_WORK_BYTES, buf = sc.memory.buffer;
    const lo = Array.from({ length: T + 1 }, (_, t) => Math.floor((t * n) / T));
    // a task slower than 1 value per µs (and 2 s) means its worker is gone
    const run = (op: "msdCount" | "msdScatter" | "msdBuckets", args: (t: number) => number[]) =>
      pool.runSync(
        lo.slice(0, T).map((_, t) => ({ op: pool.op(op), args: args(t) })),
        2e3 + n / 1e3,
      );
    const chunk = (t: number) => [A + 4 * lo[t], lo[t + 1] - lo[t], C + t * MSD_COUNT_BYTES];
    new Uint32Array(buf, A, n).set(src.subarray(base, base + n));
    run("msdCount", chunk);
    const h = new Int32Array(buf, C, T * STRIDE), float = mode === 1;
    // NaN does not order by its bits: a count in a NaN-only top digit declines the row
    const counted = (r: number) => lo.slice(0, T).some((_, t) => h[t * STRIDE + r] !== 0);
    if (float && NAN_DIGITS.some(counted)) return false;
    const inf: [number, number, number][] = [];
    // each thread's scatter addresses per bucket, buckets in value order, threads in row order;
    // the buckets of two or more values listed as (start, end, flip) for msdBuckets
    const list = new Int32Array(buf, LIST, 2048 * 3);
    let at = B, count = 0;
    for (let k = 0; k < 2048; k++) {
      const r = rawBucket(k, float), s = at;
      for (let t = 0; t < T; t++) {
        const c = h[t * STRIDE + r];
        h[t * STRIDE + r] = at;
        at += 4 * c;
      }
      if (float && (r === 0x3fc || r === 0x7fc) && at > s) inf.push([s, at, r << 21]);
      if (at - s < 8) continue;
      list.set([s, at, float && r >= 0x400 ? -1 : 0], 3 * count++);
    }
    run("msdScatter", chunk);
    for (const [s, e, bits] of inf) {
      if (new Uint32Array(buf, s, (e - s) / 4).some((v) => v !== bits >>> 0)) return false;
    }
    // runs of buckets of about n / T values each
    const cut = [0];
    for (let t = 1, i = 0; t < T; t++) {
      while (i < count && list[3 * i + 1] - B < (4 * t * n) / T) i++;
      cut.push(Math.min(count, i + 1));
    }
    cut.push(count);
    run(
      "msdBuckets",
      (t) => [LIST + 12 * cut[t], cut[t + 1] - cut[t], A, B, W + t * MSD_WORK_BYTES],
    );
    out.set(new Uint32Array(buf, B, n), base);
    return true;
  } catch (e) {
    if (pool.crashed) return false; // the pool is replaced; the caller sorts another way
    throw e;
  } finally {
    sc.release();
  }
};
