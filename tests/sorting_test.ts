/**
 * Sorting, scans and order statistics: np functions against NumPy fixtures
 * (tests/fixtures/gen_sorting.py), lax.sort / topK / associativeScan, gradients against finite
 * differences, vmap against a loop, jit against eager, and large sorts / scans on every backend
 * (WebGPU's bitonic sort and parallel scan where it is available).
 * @module
 */
import "./_backend.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, getBackend, jit, lax, np, setBackend, type Tensor, vmap } from "../mod.ts";
import data from "./fixtures/sorting_cases.json" with { type: "json" };
import { webgpuReady } from "./_webgpu_env.ts";

// deno-lint-ignore no-explicit-any
type Case = any;
const nums = (v: unknown): number[] =>
  (Array.isArray(v) ? (v as unknown[]).flat(Infinity as 1) : [v]).map((e) =>
    e === null ? NaN : Number(e)
  );
const DT: Record<string, "float32" | "int32"> = { float32: "float32", int32: "int32" };

function arg(c: Case, i: number): Tensor {
  const d = DT[c.dtypes[i]] ?? "float32";
  const vals = nums(c.args[i]);
  return np.array(d === "int32" ? Int32Array.from(vals) : Float32Array.from(vals), {
    shape: c.shapes[i],
  });
}

function same(got: Tensor, want: unknown, shape: number[], what: string): void {
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  const g = Array.from(got.dataSync()), w = nums(want);
  g.forEach((v, i) => {
    const e = w[i];
    const ok = Number.isNaN(e) ? Number.isNaN(v) : Math.abs(v - e) <= 2e-6 * (1 + Math.abs(e));
    assert.ok(ok, `${what}[${i}]: ${v} vs ${e}`);
  });
}

for (const [k, c] of (data as { cases: Case[] }).cases.entries()) {
  test(`NumPy fixture ${k}: np.${c.fn} ${JSON.stringify(c.kwargs)}`, () => {
    const fn = (np as unknown as Record<string, (...a: unknown[]) => Tensor | Tensor[]>)[c.fn];
    const args: unknown[] = c.args.map((_: unknown, i: number) => arg(c, i));
    if (c.fn === "quantile" || c.fn === "percentile") args[1] = c.args[1];
    const kw = { ...c.kwargs };
    if (kw.weights) kw.weights = np.array(Float32Array.from(kw.weights));
    if (Array.isArray(kw.bins)) kw.bins = np.array(Float64Array.from(kw.bins));
    const out = fn(...args, kw);
    const outs = Array.isArray(out) ? out : [out];
    assert.equal(outs.length, c.want.length, "number of results");
    outs.forEach((o, j) => same(o, c.want[j], c.wantShapes[j], `result ${j}`));
  });
}

test("lax.sort: several operands, two keys, stable", () => {
  const k1 = np.array([1, 0, 1, 0, 1], { dtype: "int32" });
  const k2 = np.array([2, 2, 1, 2, 1], { dtype: "float32" });
  const v = np.array([10, 11, 12, 13, 14], { dtype: "float32" });
  const [a, b, c] = lax.sort([k1, k2, v], { numKeys: 2 }) as Tensor[];
  assert.deepEqual(Array.from(a.dataSync()), [0, 0, 1, 1, 1]);
  assert.deepEqual(Array.from(b.dataSync()), [2, 2, 1, 1, 2]);
  assert.deepEqual(Array.from(c.dataSync()), [11, 13, 12, 14, 10]);
});

test("lax.topK: values and indices along the last axis, ties lower index first", () => {
  const x = np.array([[1, 9, 3, 9], [4, 2, 8, 6]], { dtype: "float32" });
  const [v, i] = lax.topK(x, 3);
  assert.deepEqual(Array.from(v.dataSync()), [9, 9, 3, 8, 6, 4]);
  assert.deepEqual(Array.from(i.dataSync()), [1, 3, 2, 2, 3, 0]);
  assert.equal(i.dtype, "int32");
  assert.throws(() => lax.topK(x, 5), RangeError);
});

test("lax.associativeScan: non-commutative combine, reverse, axis, pytrees", () => {
  // affine maps x -> a x + b compose associatively but not commutatively
  const comp = (p: { a: Tensor; b: Tensor }, q: { a: Tensor; b: Tensor }) => ({
    a: q.a.mul(p.a),
    b: q.a.mul(p.b).add(q.b),
  });
  const a = np.array([2, 3, 1, 0.5, 4], { dtype: "float64" });
  const b = np.array([1, -1, 2, 3, 0], { dtype: "float64" });
  const r = lax.associativeScan(comp, { a, b });
  const want = { a: [] as number[], b: [] as number[] };
  let [ca, cb] = [1, 0];
  const av = a.dataSync(), bv = b.dataSync();
  for (let i = 0; i < 5; i++) {
    [ca, cb] = [av[i] * ca, av[i] * cb + bv[i]];
    want.a.push(ca), want.b.push(cb);
  }
  assert.deepEqual(Array.from(r.a.dataSync()), want.a);
  assert.deepEqual(Array.from(r.b.dataSync()), want.b);
  const rr = lax.associativeScan(
    (x: Tensor, y: Tensor) => x.sub(y),
    np.array([[1, 2, 3]], { dtype: "float64" }),
    {
      axis: 1,
      reverse: true,
    },
  ) as Tensor;
  // reverse (JAX: [..., f(f(z, y), x), f(z, y), z]): [(3-2)-1, 3-2, 3]
  assert.deepEqual(Array.from(rr.dataSync()), [0, 1, 3]);
  // JAX's documented example: reversed partial sums
  const rs = lax.associativeScan((x: Tensor, y: Tensor) => x.add(y), np.arange(4), {
    reverse: true,
  }) as Tensor;
  assert.deepEqual(Array.from(rs.dataSync()), [6, 6, 5, 3]);
});

test("checkGrads: sort, argsort-gathered values, cumulative ops (cumprod through a zero), quantiles, topK", () => {
  const x = np.array([[0.3, -1.2, 2.5, 0.7], [1.1, 0.4, -0.6, 2.2], [-0.9, 1.7, 0.2, -1.5]], {
    dtype: "float64",
  });
  checkGrads((a: Tensor) => np.sort(a, { axis: 0 }).mul(np.arange(12).reshape([3, 4])), [x]);
  checkGrads((a: Tensor) => np.takeAlongAxis(a, np.argsort(a, { axis: 1 }), 1).sin(), [x]);
  checkGrads((a: Tensor) => np.cumsum(a, { axis: 1, reverse: true }), [x]);
  checkGrads((a: Tensor) => np.cumprod(a, { axis: 1 }), [x]);
  checkGrads((a: Tensor) => np.cumprod(a), [np.array([1.5, 0, 2, -0.5], { dtype: "float64" })]);
  checkGrads((a: Tensor) => np.cummax(a, { axis: 0 }), [x]);
  checkGrads((a: Tensor) => np.cummin(a, { axis: 1 }), [x]);
  checkGrads((a: Tensor) => np.quantile(a, [0.2, 0.5], { axis: 1 }), [x]);
  checkGrads((a: Tensor) => np.median(a), [x]);
  checkGrads((a: Tensor) => lax.topK(a, 2)[0], [x]);
  checkGrads(
    (a: Tensor) =>
      lax.associativeScan((p: Tensor, q: Tensor) => p.mul(q), a, { axis: 1 }) as Tensor,
    [x],
  );
});

test("vmap and jit: sort, argsort, cumsum, searchsorted, topK", () => {
  const xs = np.array([[3, 1, 2, 2], [0, -1, 5, 4], [7, 7, 6, 1]], { dtype: "float32" });
  const f = (x: Tensor) =>
    np.sort(x).add(np.cumsum(x)).add(np.argsort(x).astype("float32")).add(
      lax.topK(x, 4)[0],
    ).add(np.searchsorted(np.array([0, 2, 4], { dtype: "float32" }), x).astype("float32"));
  const got = (vmap(f)(xs) as Tensor).dataSync();
  const loop = [0, 1, 2].flatMap((i) => Array.from(f(xs.slice(i)).dataSync()));
  assert.deepEqual(Array.from(got), loop);
  assert.deepEqual(Array.from((jit(f)(xs.slice(1)) as Tensor).dataSync()), loop.slice(4, 8));
});

test("bincount needs length under jit; unique and histogram are eager", () => {
  const x = np.array([0, 2, 2, -1], { dtype: "int32" });
  const f = jit((a: Tensor) => np.bincount(a, { length: 4 }));
  assert.deepEqual(Array.from((f(x) as Tensor).dataSync()), [2, 0, 2, 0]);
  assert.throws(() => jit((a: Tensor) => np.bincount(a))(x), /length/);
  assert.throws(() => jit((a: Tensor) => np.unique(a) as Tensor)(x), /eager/);
  assert.throws(() => np.sort(x, { axes: 0 } as never), /did you mean "axis"/);
});

/** Runs `fn` with `name` as the default backend. */
function on<R>(name: string, fn: () => R): R {
  const prev = getBackend();
  setBackend(name);
  try {
    return fn();
  } finally {
    setBackend(prev);
  }
}

const READY = await webgpuReady();
const BACKENDS = ["cpu", ...(READY ? ["webgpu"] : [])];
for (const b of BACKENDS) {
  test(`${b}: a 3000-element sort with payload and ties, and long scans, match the reference`, async () => {
    const n = 3000;
    const key = Float32Array.from(
      { length: n },
      (_, i) => (i * 7919) % 97 - 48 + (i % 5 === 0 ? NaN : 0),
    );
    const pay = Float32Array.from({ length: n }, (_, i) => i);
    const run = () => {
      const k = np.array(key), p = np.array(pay);
      const [sk, sp] = lax.sort([k, p]) as Tensor[];
      const rows = np.array(Float32Array.from(pay, (v) => (v % 13) - 6), { shape: [3, 1000] });
      return [sk, sp, np.cumsum(rows, { axis: 1 }), np.cummax(rows, { axis: 1, reverse: true })];
    };
    const want = on("reference", run).map((t) => t.dataSync());
    const got = on(b, run);
    for (const [i, g] of got.entries()) {
      const d = await g.data();
      assert.deepEqual(Array.from(d), Array.from(want[i]), `output ${i}`);
    }
  });
}

test("cpu radix sort: values-only and argsort of float32 / int32 rows along either axis", () => {
  const specials = [NaN, -0, 0, Infinity, -Infinity, 3e38, -3e38, 1e-45, -1e-45];
  const f = Float32Array.from(
    { length: 1200 },
    (_, i) => i % 17 === 0 ? specials[i % specials.length] : ((i * 7919) % 1013 - 506) / 7,
  );
  const k = Int32Array.from({ length: 1200 }, (_, i) => (i * 2654435761) | 0);
  k[3] = -2147483648, k[4] = 2147483647, k[5] = 0;
  for (const [data, dtype] of [[f, "float32"], [k, "int32"]] as const) {
    for (const axis of [0, 1]) {
      const run = () => {
        const x = np.array(data, { shape: [40, 30], dtype });
        return [np.sort(x, { axis }), np.argsort(x, { axis })];
      };
      const want = on("reference", run), got = on("cpu", run);
      got.forEach((g, i) =>
        assert.deepEqual(
          Array.from(g.dataSync(), (v) => Object.is(v, -0) ? 0 : v),
          Array.from(want[i].dataSync(), (v) => Object.is(v, -0) ? 0 : v),
          `${dtype} axis ${axis} output ${i}`,
        )
      );
    }
  }
});
