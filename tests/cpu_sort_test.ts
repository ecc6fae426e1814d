/**
 * The CPU sort kernel (lib/backend/cpu/sort.ts) against the reference sort: row lengths around
 * each algorithm switch (insertion / 8-bit / 11-bit digits), either axis, float32 specials (NaN,
 * ±0, ±inf, subnormals, ties), int32 extremes, argsort and multi-operand stability, jit vs eager.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, np, type Tensor } from "../mod.ts";
import { sortFast, sortTuning } from "../lib/backend/cpu/sort.ts";
import {
  parallelSortTuning,
  sortRowPooled,
  sortRowWasm,
} from "../lib/backend/cpu/sort_parallel.ts";
import { createPool } from "../lib/backend/cpu/pool/pool.ts";
import { buildRadixModule } from "../kernels/wasm/radix_sort.ts";
import type { HostArray } from "../lib/ops/_define.ts";
import { onBackend } from "./_prop_util.ts";

const SPECIALS = [NaN, -0, 0, Infinity, -Infinity, 3e38, -3e38, 1e-45, -1e-45, 1, -1];

/** Deterministic float32 data: specials every 13th element, many ties, random signs. */
function floats(len: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: len }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (i % 13 === 5) return SPECIALS[s % SPECIALS.length];
    return i % 3 === 0 ? ((s >>> 20) % 9) - 4 : (s / 2 ** 31 - 1) * 1e3;
  });
}

function ints(len: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const a = Int32Array.from({ length: len }, (_, i) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return i % 4 === 0 ? (s % 7) - 3 : s | 0;
  });
  if (len > 2) [a[0], a[1], a[2]] = [-2147483648, 2147483647, 0];
  return a;
}

/** Bit patterns with -0 read as 0 (the reference keeps ties in input order; NaN is canonical). */
function bits(t: Tensor): number[] {
  const d = t.dataSync();
  return Array.from(d, (v) => (Object.is(v, -0) ? 0 : Number.isNaN(v) ? "NaN" : v) as number);
}

const { wideFrom, insertionBelow } = sortTuning;
const { wasmFrom } = parallelSortTuning;
const LENGTHS = [
  0,
  1,
  2,
  insertionBelow - 1,
  insertionBelow,
  insertionBelow + 1,
  255,
  257,
  wasmFrom - 1,
  wasmFrom,
  wasmFrom + 3,
  wideFrom - 1,
  wideFrom,
  wideFrom + 3,
];

for (const n of LENGTHS) {
  test(`cpu sort: rows of ${n} (float32 / int32, both axes) match the reference`, () => {
    const rows = n > 1000 ? 2 : 5;
    for (const dtype of ["float32", "int32"] as const) {
      const data = dtype === "float32" ? floats(rows * n, n + 1) : ints(rows * n, n + 7);
      for (const [shape, axis] of [[[rows, n], 1], [[n, rows], 0]] as const) {
        const run = () => {
          const x = np.array(data, { shape: [...shape], dtype });
          return [np.sort(x, { axis }), np.argsort(x, { axis })];
        };
        const want = onBackend("reference", run), got = onBackend("cpu", run);
        got.forEach((g, i) => {
          assert.deepEqual(g.shape, want[i].shape);
          assert.deepEqual(bits(g), bits(want[i]), `${dtype} [${shape}] axis ${axis} output ${i}`);
        });
      }
    }
  });
}

test("cpu sort: values-only puts -0 before 0, NaN (any payload) last", () => {
  const nan2 = new Float32Array(new Uint32Array([0xffc00001]).buffer)[0];
  for (const n of [5, 100, wideFrom + 1]) {
    const d = new Float32Array(n);
    for (let i = 0; i < n; i++) d[i] = [0, -0, nan2, NaN, -1, 2][i % 6];
    const y = onBackend("cpu", () => np.sort(np.array(d)).dataSync());
    const nNaN = d.filter((v) => Number.isNaN(v)).length;
    const neg = d.filter((v) => v === -1).length, mz = d.filter((v) => Object.is(v, -0)).length;
    assert.ok(y.slice(n - nNaN).every((v) => Number.isNaN(v)), `n=${n}: NaN last`);
    assert.ok(y.slice(0, neg).every((v) => v === -1), `n=${n}: -1 first`);
    assert.ok(y.slice(neg, neg + mz).every((v) => Object.is(v, -0)), `n=${n}: -0 before 0`);
    assert.ok(y.slice(neg + mz, neg + 2 * mz).every((v) => Object.is(v, 0)), `n=${n}: then 0`);
  }
});

test("cpu sort: multi-operand lax.sort is stable and carries every payload (rows around the switches)", () => {
  for (const n of [3, insertionBelow + 2, 300, wideFrom + 5]) {
    const key = Float32Array.from({ length: 2 * n }, (_, i) => [0, -0, 1, NaN][(i * 7) % 4]);
    const pay = Int32Array.from({ length: 2 * n }, (_, i) => i);
    const pay2 = floats(2 * n, 3);
    const run = () =>
      lax.sort([
        np.array(key, { shape: [2, n] }),
        np.array(pay, { shape: [2, n], dtype: "int32" }),
        np.array(pay2, { shape: [2, n] }),
      ], { numKeys: 1 }) as Tensor[];
    const want = onBackend("reference", run), got = onBackend("cpu", run);
    got.forEach((g, i) => assert.deepEqual(bits(g), bits(want[i]), `n=${n} output ${i}`));
    // stability: within a run of equal keys the payload (original index) increases
    const k = got[0].dataSync(), p = got[1].dataSync();
    for (let i = 1; i < 2 * n; i++) {
      if (i % n === 0) continue;
      const same = k[i] === k[i - 1] || (Number.isNaN(k[i]) && Number.isNaN(k[i - 1]));
      if (same) assert.ok(p[i] > p[i - 1], `n=${n}: stable at ${i}`);
    }
  }
});

test("cpu sort: jit (sort result kept inside the program) matches eager", () => {
  const f = (x: Tensor) => np.multiply(np.sort(x, { axis: 0 }), 2);
  for (const n of [7, 600, wideFrom + 1]) {
    onBackend("cpu", () => {
      const x = np.array(floats(3 * n, 11), { shape: [n, 3] });
      const want = bits(f(x));
      const g = jit(f);
      for (let rep = 0; rep < 3; rep++) assert.deepEqual(bits(g(x)), want, `n=${n} call ${rep}`);
    });
  }
});

for (const workers of [1, 3]) {
  test(`cpu sort: the pool's parallel radix sort (${workers + 1} threads) is bit-identical to this thread's`, async () => {
    const pool = await createPool({ workers });
    const minThreads = parallelSortTuning.minThreads;
    parallelSortTuning.minThreads = 2; // two threads too (off by default)
    try {
      for (
        const n of [
          parallelSortTuning.minKeys,
          parallelSortTuning.minKeys + 5,
          parallelSortTuning.minKeys + 70_001,
        ]
      ) {
        for (const dtype of ["float32", "int32"] as const) {
          const data = dtype === "float32" ? floats(n, n) : ints(n, n);
          if (dtype === "float32") data[7] = NaN, data[8] = -0, data[9] = 0, data[10] = -NaN;
          const src = new Uint32Array(data.buffer);
          const mine = new Uint32Array(n + 6), theirs = new Uint32Array(n + 6);
          const args = [
            [{ data, shape: [n], dtype }],
            { dimension: 0, numKeys: 1 },
            [{ shape: [n], dtype }],
          ] as const;
          const saved = parallelSortTuning.minKeys;
          parallelSortTuning.minKeys = Infinity; // this thread only
          try {
            const [y] = sortFast(...(args as unknown as Parameters<typeof sortFast>))!;
            mine.set(new Uint32Array(y.buffer, y.byteOffset, n), 3);
          } finally {
            parallelSortTuning.minKeys = saved;
          }
          const used = sortRowPooled(
            src,
            0,
            n,
            dtype === "float32" ? 1 : 0,
            theirs.subarray(3),
            pool,
          );
          assert.equal(used, pool.threads > 1, "the pool sorts when it has threads");
          if (!used) continue;
          assert.deepEqual(theirs, mine, `${dtype} n=${n}`);
        }
      }
      // a row of one value has no digit to scatter: the caller's path sorts it
      const same = new Uint32Array(parallelSortTuning.minKeys).fill(0x3f800000);
      assert.equal(
        sortRowPooled(same, 0, same.length, 1, new Uint32Array(same.length), pool),
        false,
      );
    } finally {
      parallelSortTuning.minThreads = minThreads;
      await pool.terminate();
    }
  });
}

test("cpu sort: Wasm radix kernels map keys and scatter like the JS loops (unshared memory)", () => {
  const memory = new WebAssembly.Memory({ initial: 4 });
  const m = new WebAssembly.Instance(new WebAssembly.Module(buildRadixModule({ shared: false })), {
    env: { memory },
  }).exports as Record<string, (...a: number[]) => void>;
  const n = 5000, x = floats(n, 5), buf = memory.buffer;
  x[0] = -0, x[1] = NaN;
  const [A, B, H] = [1024, 1024 + 4 * n, 1024 + 8 * n];
  new Float32Array(buf, A, n).set(x);
  new Uint32Array(buf, H, 6144).fill(0);
  m.radixKeys(A, A, n, H, 1);
  const h = new Uint32Array(buf, H, 6144), keys = new Uint32Array(buf, A, n).slice();
  for (let d = 0; d < 3; d++) {
    // offsets are byte addresses in the pass's destination
    let run = d === 1 ? A : B;
    for (let b = d * 2048; b < (d + 1) * 2048; b++) [h[b], run] = [run, run + 4 * h[b]];
  }
  m.radixScatter(A, n, H, 0, 0, 0);
  m.radixScatter(B, n, H + 8192, 11, 0, 0);
  m.radixScatter(A, n, H + 16384, 22, -1, 0x80000000 | 0);
  const got = new Float32Array(buf, B, n);
  const want = onBackend("reference", () => np.sort(np.array(x)).dataSync());
  assert.deepEqual(bits(np.array(got.slice())), bits(np.array(want)));
  assert.equal(keys[1], 0xffc00000, "NaN maps to one key above +inf");
  assert.equal(keys[0], 0x7fffffff, "-0 keeps its own key in a values-only sort");
});

/** sortFast's values-only result for contiguous rows of n, with the given path switches. */
function sortRow(
  data: Float32Array | Int32Array,
  tuning: { wasmFrom: number; rows: boolean },
  n = data.length,
): Uint32Array {
  const saved = { ...parallelSortTuning };
  Object.assign(parallelSortTuning, { minKeys: Infinity, ...tuning });
  try {
    const dtype = data instanceof Float32Array ? "float32" : "int32";
    const shape = [data.length / n, n];
    const x: HostArray = { data, shape, dtype };
    const p = { dimension: 1, isStable: true, numKeys: 1 };
    const [y] = sortFast([x], p, [{ shape, dtype, weak: false }])!;
    return new Uint32Array(y.buffer, y.byteOffset, y.length);
  } finally {
    Object.assign(parallelSortTuning, saved);
  }
}

test("cpu sort: the Wasm row sorts are bit-identical to the JS radix (shared bytes, constant digits, one value)", () => {
  const n = 3 * wasmFrom + 1,
    f32 = (g: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => g(i));
  const i32 = (g: (i: number) => number) => Int32Array.from({ length: n }, (_, i) => g(i));
  const nan2 = new Float32Array(new Uint32Array([0x7f800001]).buffer)[0];
  const cases: [string, Float32Array | Int32Array][] = [
    ["random floats with specials", floats(n, 9)],
    ["floats in [1, 2): sign and exponent bytes shared", f32((i) => 1 + ((i * 7919) % n) / n)],
    ["subnormals only", f32((i) => ((i * 31) % 97) * 1e-45 * (i % 2 ? 1 : -1))],
    ["-0, 0 and NaN payloads only", f32((i) => [-0, 0, nan2, NaN][(i * 5) % 4])],
    ["one value throughout", f32(() => 2.5)],
    ["ints below 2048: only the low digit splits", i32((i) => (i * 977) % 2048)],
    ["ints differing in the top digit only", i32((i) => ((i * 13) % 5) << 22)],
    ["random ints with extremes", ints(n, 4)],
  ];
  for (const [what, data] of cases) {
    const js = sortRow(data, { wasmFrom: Infinity, rows: false });
    assert.deepEqual(sortRow(data, { wasmFrom: 1, rows: false }), js, `${what}: Wasm radix`);
    assert.deepEqual(sortRow(data, { wasmFrom: Infinity, rows: true }), js, `${what}: Wasm rows`);
    // the same data as short rows: the row kernel (insertion and radix) vs JS
    for (const len of [3, 31, 32, 33, 97]) {
      const d = data.subarray(0, len * Math.floor(n / len));
      const off = { wasmFrom: Infinity, rows: false }, on = { wasmFrom: Infinity, rows: true };
      assert.deepEqual(sortRow(d, on, len), sortRow(d, off, len), `${what}: rows of ${len}`);
    }
    // and the JS path matches the reference (NaN canonical, -0 before 0 in values-only sorts)
    const want = onBackend("reference", () => np.sort(np.array(data)).dataSync());
    const mine = data instanceof Float32Array
      ? new Float32Array(js.buffer)
      : new Int32Array(js.buffer);
    assert.deepEqual(bits(np.array(mine)), bits(np.array(want)), what);
  }
});

test("cpu sort: sortRowWasm sorts a row in place of a larger buffer, every tail length", () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 8, 9, 63, 64, 65]) {
    const src = new Uint32Array(new Float32Array(floats(n + 6, n).buffer));
    const out = new Uint32Array(n + 6).fill(7);
    assert.ok(sortRowWasm(src, 3, n, 1, out));
    assert.deepEqual([...out.subarray(0, 3), ...out.subarray(n + 3)], [7, 7, 7, 7, 7, 7], `n=${n}`);
    const want = new Float32Array(src.buffer).slice(3, n + 3);
    const ref = onBackend("reference", () => np.sort(np.array(want)).dataSync());
    const got = new Float32Array(out.buffer).slice(3, n + 3);
    assert.deepEqual(bits(np.array(got)), bits(np.array(ref)), `n=${n}`);
  }
});
