/**
 * Regression tests of issue 17 (no wrong answers from caches, no silent acceptance of bad input,
 * no limits that break valid programs): jit static keys, bounded caches, size checks and early
 * argument errors. Options checks are in options_errors_test.ts.
 * @module
 */
import "./_backend.ts"; // TRACEGRAD_TEST_BACKEND selects the backend the checks run on
import { test } from "node:test";
import assert from "node:assert/strict";
import { cacheStats, jit, np, setCacheLimit, type Tensor } from "../mod.ts";
import { ByteLru } from "../lib/cache.ts";

const vals = async (t: Tensor): Promise<number[]> => Array.from(await t.data());

test("jit static arguments: NaN, Infinity, -Infinity, -0 and null each get their own trace", async () => {
  const f = jit((x: Tensor, c: number | null) => x.mul(c ?? 2), { staticArgnums: 1 });
  const x = np.array([1, -2], { dtype: "float32" });
  assert.deepEqual(await vals(f(x, Infinity)), [Infinity, -Infinity]);
  assert.deepEqual(await vals(f(x, NaN)), [NaN, NaN]);
  assert.deepEqual(await vals(f(x, -Infinity)), [-Infinity, Infinity]);
  assert.deepEqual(await vals(f(x, null)), [2, -4]);
  assert.ok(Object.is((await vals(f(x, -0)))[0], -0));
  assert.ok(Object.is((await vals(f(x, 0)))[0], 0));
  assert.equal(f.traceCount, 6);
  // the same values again hit the cache
  assert.deepEqual(await vals(f(x, NaN)), [NaN, NaN]);
  assert.equal(f.traceCount, 6);
});

test("jit static arguments: nested data is keyed by value, key order ignored", async () => {
  const f = jit((x: Tensor, c: { a: number[]; b: number }) => x.mul(c.a[0] + c.b), {
    staticArgnums: [1],
  });
  const x = np.array([1], { dtype: "float32" });
  assert.deepEqual(await vals(f(x, { a: [Infinity], b: 1 })), [Infinity]);
  assert.deepEqual(await vals(f(x, { a: [NaN], b: 1 })), [NaN]);
  assert.deepEqual(await vals(f(x, { b: 1, a: [NaN] })), [NaN]);
  assert.equal(f.traceCount, 2);
});

test("ByteLru evicts the least recently used entries beyond its byte limit", () => {
  const c = new ByteLru<number, string>("eager", (v) => v.length, 100);
  for (let i = 0; i < 50; i++) c.set(i, "x".repeat(10));
  assert.equal(c.size, 10);
  assert.equal(c.bytes, 100);
  assert.ok(c.has(49) && !c.has(39));
  c.get(40);
  c.set(50, "x".repeat(10));
  assert.ok(c.has(40) && !c.has(41));
  // an entry above the limit on its own stays (the most recent entry always does)
  c.set(99, "x".repeat(500));
  assert.equal(c.size, 1);
  assert.ok(c.has(99));
});

test("setCacheLimit checks its arguments", () => {
  assert.throws(() => setCacheLimit("eagre" as "eager", 1), RangeError);
  assert.throws(() => setCacheLimit("eager", -1), /bytes must be a number >= 0/);
  assert.throws(() => setCacheLimit("eager", NaN), RangeError);
});

test("10,000 distinct shapes keep the eager and kernel caches bounded (entries and bytes)", async () => {
  const before = cacheStats();
  const limit = 1 << 20;
  setCacheLimit("eager", limit);
  setCacheLimit("kernels", limit);
  try {
    let peak = 0;
    for (let n = 1; n <= 10000; n++) {
      const y = np.exp(np.zeros([n], { dtype: "float32" }));
      if (n % 1000 === 0) {
        assert.equal((await y.data())[n - 1], 1);
        const s = cacheStats();
        peak = Math.max(peak, s.eager.bytes, s.kernels.bytes);
        // each cache of a kind (one per backend) is bounded by the limit
        assert.ok(s.eager.bytes <= limit * s.eager.caches, `eager caches: ${s.eager.bytes} bytes`);
        assert.ok(
          s.kernels.bytes <= limit * s.kernels.caches,
          `kernel caches: ${s.kernels.bytes} bytes`,
        );
      }
      y.dispose();
    }
    const after = cacheStats();
    assert.ok(after.eager.evictions > before.eager.evictions, "the eager cache evicted");
    assert.ok(
      after.eager.entries - before.eager.entries < 5000,
      `${after.eager.entries} eager entries kept`,
    );
    assert.ok(peak > 0);
  } finally {
    setCacheLimit("eager", before.eager.limitBytes);
    setCacheLimit("kernels", before.kernels.limitBytes);
  }
});

test("a jitted function's trace cache is bounded over 10,000 input shapes", async () => {
  const before = cacheStats().jit.limitBytes;
  setCacheLimit("jit", 1 << 20);
  // other jitted functions alive in this process keep their own (bounded) caches
  const others = cacheStats().jit;
  try {
    const f = jit((x: Tensor) => np.sum(np.sin(x).mul(2)));
    for (let n = 1; n <= 10000; n++) {
      const y = f(np.ones([n], { dtype: "float32" }));
      if (n % 2500 === 0) {
        assert.ok(Math.abs((await y.data())[0] - 2 * n * Math.sin(1)) < 1e-3 * n);
        const s = cacheStats().jit;
        assert.ok(s.bytes - others.bytes <= 1 << 20, `f's trace cache holds ${s.bytes} bytes`);
      }
    }
    assert.equal(f.traceCount, 10000);
    assert.ok(cacheStats().jit.entries - others.entries < 10000);
    // a shape still cached is not traced again
    f(np.ones([10000], { dtype: "float32" }));
    assert.equal(f.traceCount, 10000);
  } finally {
    setCacheLimit("jit", before);
  }
});
