/**
 * The pool's MSD radix sort of long rows (lib/backend/cpu/sort_msd.ts, kernels/wasm/radix_msd.ts)
 * against TypedArray#sort: value spreads that give every bucket plan (insertion sort, three 7-bit
 * passes, 11 + 10 bits), a single bucket, ±0, subnormals and ±inf, int32 extremes, lengths that
 * split unevenly over 2 and 3 threads; rows holding NaN are declined, and np.sort of long rows with
 * and without NaN and ±inf matches.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { np } from "../mod.ts";
import { msdSortTuning, sortRowMsd } from "../lib/backend/cpu/sort_msd.ts";
import { createPool } from "../lib/backend/cpu/pool/pool.ts";
import { startPool } from "../lib/backend/cpu/conv.ts";
import { MSD_INSERTION_BELOW, MSD_SMALL_BELOW } from "../kernels/wasm/radix_msd.ts";

/** A deterministic LCG in [0, 1). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

const FLOATS: Record<string, (r: () => number, i: number) => number> = {
  "uniform [-1, 1)": (r) => 2 * r() - 1,
  "[1, 2): four large buckets": (r) => 1 + r(),
  "normal": (r) => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r()),
  "one value": () => -2.5,
  "descending": (_, i) => 1e6 - i,
  "±0, subnormals, extremes": (r, i) =>
    [-0, 0, 1e-45, -1e-45, 1e-40, -3e38, 3e38, 2 * r() - 1][i % 8],
  "wide exponents": (r) => (r() < 0.5 ? -1 : 1) * 2 ** (60 * r() - 30),
  "±inf among them": (r, i) => (i % 5 === 1 ? (r() < 0.5 ? -Infinity : Infinity) : 2 * r() - 1),
  "one -inf, one +inf": (r, i) => (i === 3 ? -Infinity : i === 4 ? Infinity : r()),
};
const INTS: Record<string, (r: () => number, i: number) => number> = {
  "int32 full range": (r) => (r() * 2 ** 32) | 0,
  "small ints": (r) => Math.floor(r() * 200) - 100,
  "extremes": (r, i) => [-2147483648, 2147483647, 0, -1, (r() * 2 ** 32) | 0][i % 5],
};

/**
 * Sorts `data` by sortRowMsd from offset 3 of a larger row into a view of a larger buffer (the
 * values land at 2 + 3); null when declined.
 */
function msdSorted(data: Float32Array | Int32Array, pool: Parameters<typeof sortRowMsd>[5]) {
  const n = data.length, src = new Uint32Array(n + 4), out = new Uint32Array(n + 7);
  src.set(new Uint32Array(data.buffer), 3);
  if (!sortRowMsd(src, 3, n, data instanceof Float32Array ? 1 : 0, out.subarray(2), pool)) {
    return null;
  }
  assert.deepEqual([...out.subarray(0, 5), out[n + 5], out[n + 6]], [0, 0, 0, 0, 0, 0, 0]);
  return out.slice(5, n + 5);
}

for (const workers of [1, 2]) {
  test(`cpu sort msd: ${workers + 1} threads sort like TypedArray#sort, every bucket plan`, async () => {
    const pool = await createPool({ workers });
    const saved = msdSortTuning.minKeys;
    msdSortTuning.minKeys = 0;
    try {
      const lens = [1, 2, 7, MSD_INSERTION_BELOW + 3, 1001, MSD_SMALL_BELOW + 5, 70001, 300007];
      const cases = [
        ...Object.entries(FLOATS).map(([k, g]) => [k, g, Float32Array] as const),
        ...Object.entries(INTS).map(([k, g]) => [k, g, Int32Array] as const),
      ];
      for (const [name, gen, Ctor] of cases) {
        for (const n of lens) {
          const r = lcg(n * 7 + name.length);
          const data: Float32Array | Int32Array = Ctor === Float32Array
            ? Float32Array.from({ length: n }, (_, i) => gen(r, i))
            : Int32Array.from({ length: n }, (_, i) => gen(r, i));
          const got = msdSorted(data, pool);
          assert.ok(got, `${name} n=${n}: sorted on the pool`);
          const want = new Uint32Array(data.slice().sort().buffer);
          assert.deepEqual(got, want, `${name} n=${n}`);
        }
      }
    } finally {
      msdSortTuning.minKeys = saved;
      await pool.terminate();
    }
  });
}

test("cpu sort msd: rows with NaN, short rows and a one-thread pool are declined", async () => {
  const pool = await createPool({ workers: 1 }), alone = await createPool({ workers: 0 });
  try {
    const r = lcg(3), n = msdSortTuning.minKeys;
    const data = Float32Array.from({ length: n }, () => 2 * r() - 1);
    // NaN of any sign and payload, also the ones whose top 11 bits are those of ±inf
    const nans = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0x7fa00000];
    for (const bits of nans) {
      const x = data.slice(), at = [7, n >> 1, n - 1];
      for (const i of at) new Uint32Array(x.buffer)[i] = bits;
      // with ±inf beside them, or not
      if (bits & 1) x.set([Infinity, -Infinity], 3);
      assert.ok(msdSorted(x, pool) === null, `NaN 0x${bits.toString(16)}`);
    }
    assert.ok(msdSorted(data, pool));
    assert.ok(msdSorted(data.subarray(1), pool) === null, "shorter than minKeys");
    assert.ok(msdSorted(data, alone) === null, "one thread");
  } finally {
    await Promise.all([pool.terminate(), alone.terminate()]);
  }
});

test("cpu sort msd: np.sort of long rows, with and without NaN / ±inf, matches", async () => {
  await startPool();
  const r = lcg(11), n = msdSortTuning.minKeys + 3;
  const data = Float32Array.from({ length: 2 * n }, () => 2 * r() - 1);
  const withSpecials = data.slice();
  withSpecials.set([NaN, Infinity, -Infinity, -0, 0], 100);
  for (const x of [data, withSpecials]) {
    const got = np.sort(np.array(x, { shape: [2, n] })).dataSync();
    const want = new Float32Array(2 * n);
    want.set(x.slice(0, n).sort(), 0);
    want.set(x.slice(n).sort(), n);
    assert.deepEqual(new Uint32Array(got.buffer), new Uint32Array(want.buffer));
  }
  const ints = Int32Array.from({ length: n }, () => (r() * 2 ** 32) | 0);
  assert.deepEqual([...np.sort(np.array(ints, { dtype: "int32" })).dataSync()], [...ints.sort()]);
});
