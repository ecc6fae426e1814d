/**
 * The CPU backend's direct Wasm SIMD convolution (lib/backend/cpu/direct_conv.ts) against the
 * float64 loop reference: 1-D/2-D/3-D, layouts, channels, feature groups, padding (SAME, negative),
 * window dilation and strides in leading dims, rows shorter than a vector block, empty outputs,
 * NaN/Inf; the worker pool gives bit-identical results; routing through the compiler.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  directConvApplies,
  directConvF32,
  prefersDirectConv,
} from "../lib/backend/cpu/direct_conv.ts";
import { currentPool, startPool } from "../lib/backend/cpu/conv.ts";
import { convGeneralDilatedRef } from "../lib/ops/conv_ref.ts";
import { createPool, type WorkerPool } from "../lib/backend/cpu/pool/pool.ts";
import {
  type ConvOptions,
  convOutputShape,
  type ConvParams,
  type Padding,
  resolveConvParams,
} from "../lib/ops/conv_params.ts";
import { getBackend, grad, jit, lax, np, setBackend, type Tensor } from "../mod.ts";
import { assertAllClose } from "./_test_utils.ts";

interface Case {
  x: number[];
  w: number[];
  strides?: number[];
  padding?: Padding;
  opts?: ConvOptions;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Deterministic float32 values in [-1, 1) (LCG), with optional non-finite values. */
function data(n: number, seed: number, poison: [number, number][] = []): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  for (const [at, v] of poison) if (n > 0) a[at % n] = v;
  return a;
}

interface Prepared {
  p: ConvParams;
  outShape: number[];
  x: Float32Array;
  w: Float32Array;
}

function prepare(c: Case, seed = 1, poison: [number, number][][] = [[], []]): Prepared {
  const p = resolveConvParams(
    c.x,
    c.w,
    c.strides ?? c.x.slice(2).map(() => 1),
    c.padding ?? "VALID",
    c.opts,
  );
  return {
    p,
    outShape: convOutputShape(c.x, c.w, p),
    x: data(size(c.x), seed, poison[0]),
    w: data(size(c.w), seed + 7, poison[1]),
  };
}

function direct(c: Case, q: Prepared, pool: WorkerPool | null, minParallelFlops?: number) {
  return directConvF32(
    { data: q.x, shape: c.x, dtype: "float32" },
    { data: q.w, shape: c.w, dtype: "float32" },
    q.p,
    { shape: q.outShape, dtype: "float32", weak: false },
    { pool, minParallelFlops },
  );
}

/**
 * Checks `got` against the float64 reference: non-finite values exactly; finite ones within the
 * float32 summation bound (terms + 2)·2^-23·Σ|x·w| of each output.
 */
function checkAgainstReference(c: Case, q: Prepared, got: Float32Array | null, label: string) {
  assert.ok(got, `${label}: the direct kernel should apply`);
  const ref = convGeneralDilatedRef(Float64Array.from(q.x), c.x, Float64Array.from(q.w), c.w, q.p);
  assert.deepEqual(ref.shape, q.outShape, `${label}: shape`);
  const abs = (a: Float32Array) => Float64Array.from(a, Math.abs);
  const bound = convGeneralDilatedRef(abs(q.x), c.x, abs(q.w), c.w, q.p).data;
  const terms = size(c.w) / Math.max(1, c.w[q.p.dimensionNumbers.rhs[0]]);
  assert.equal(got.length, ref.data.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const e = Math.fround(ref.data[i]), a = got[i];
    if (!Number.isFinite(e)) {
      assert.ok(
        Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)),
        `${label} [${i}]: ${a} vs ${e}`,
      );
      continue;
    }
    const tol = (terms + 2) * 2 ** -23 * bound[i];
    assert.ok(
      Math.abs(a - ref.data[i]) <= tol,
      `${label} [${i}]: ${a} vs ${ref.data[i]} (tol ${tol})`,
    );
  }
}

const name = (c: Case) => JSON.stringify(c);

// deno-fmt-ignore
const CASES: Case[] = [
  // 1-D: lengths around the vector blocks (4, 32 outputs), taps around the 4× unrolling
  ...[1, 3, 4, 5, 31, 32, 33, 36, 37, 64, 67, 100, 129].flatMap((L) =>
    [1, 2, 3, 4, 5, 8, 13].map((K): Case => ({ x: [1, 1, L], w: [1, 1, K], padding: "SAME" }))),
  ...[5, 33, 70, 131].flatMap((L) =>
    [1, 3, 9].map((K): Case => ({ x: [1, 1, L], w: [1, 1, K] }))),
  { x: [3, 5, 70], w: [2, 5, 7], padding: [[2, 4]], opts: { rhsDilation: [3] } },
  { x: [2, 3, 77], w: [2, 3, 4], padding: [[3, -2]], opts: { rhsDilation: [2] } },
  { x: [2, 3, 50], w: [1, 3, 6], padding: [[-4, -3]] },
  { x: [1, 2, 40], w: [1, 2, 5], padding: [[9, 12]] },
  { x: [1, 1, 6], w: [1, 1, 3], padding: [[10, 10]] },
  { x: [2, 1, 45], w: [5, 1, 4], padding: "SAME_LOWER" },
  { x: [2, 6, 45], w: [3, 2, 5], padding: "SAME", opts: { featureGroupCount: 3 } },
  { x: [2, 6, 45], w: [6, 2, 3], opts: { featureGroupCount: 3 } },
  { x: [1, 4, 300], w: [4, 1, 11], padding: "SAME", opts: { featureGroupCount: 4 } },
  { x: [2, 37, 3], w: [5, 3, 2], padding: "SAME", opts: { dimensionNumbers: ["NWC", "WIO", "NWC"] } },
  // 2-D and 3-D: leading dims may have strides, dilation and any padding
  { x: [2, 3, 11, 40], w: [2, 3, 3, 5], padding: "SAME" },
  { x: [2, 3, 11, 40], w: [1, 3, 3, 5], strides: [2, 1], opts: { rhsDilation: [2, 2] } },
  { x: [1, 2, 9, 35], w: [2, 2, 2, 4], padding: [[-1, 2], [3, -2]] },
  { x: [1, 2, 6, 20], w: [1, 2, 2, 3], padding: [[4, 5], [1, 1]] },
  { x: [2, 4, 9, 40], w: [2, 2, 3, 5], strides: [3, 1], padding: "SAME", opts: { featureGroupCount: 2 } },
  { x: [3, 10, 11, 5], w: [2, 3, 5, 1], opts: { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] } },
  { x: [12, 30, 5, 2], w: [3, 5, 4, 2], padding: "SAME", opts: { dimensionNumbers: ["HWCN", "OIHW", "NHWC"] } },
  { x: [1, 2, 5, 6, 37], w: [3, 2, 2, 3, 3], padding: [[1, 0], [0, 2], [2, 2]], opts: { rhsDilation: [1, 2, 3] } },
  { x: [2, 1, 4, 7, 9], w: [1, 1, 3, 2, 2], strides: [2, 3, 1], padding: "SAME" },
  // empty outputs and operands with a zero dimension
  { x: [0, 1, 10], w: [1, 1, 3] },
  { x: [1, 1, 10], w: [0, 1, 3] },
  { x: [1, 1, 2], w: [1, 1, 5] },
  { x: [1, 0, 10], w: [2, 0, 3] },
  { x: [1, 1, 10], w: [1, 1, 0] },
  { x: [1, 1, 0], w: [1, 1, 3], padding: [[2, 2]] },
  { x: [1, 1, 0, 8], w: [1, 1, 2, 3], padding: [[2, 1], [0, 0]] },
];

describe("direct conv: single thread against the float64 reference", () => {
  for (const c of CASES) {
    test(name(c), () => {
      const q = prepare(c);
      checkAgainstReference(c, q, direct(c, q, null), name(c));
    });
  }
});

test("direct conv: random cases against the reference", () => {
  let s = 12345;
  const rnd = (lo: number, hi: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return lo + (s % (hi - lo + 1));
  };
  let checked = 0;
  for (let k = 0; k < 150; k++) {
    const nd = rnd(1, 3), G = rnd(1, 2);
    const X = Array.from(
      { length: nd },
      (_, d) => rnd(d === nd - 1 ? 1 : 1, d === nd - 1 ? 70 : 6),
    );
    const K = X.map(() => rnd(1, 4));
    const c: Case = {
      x: [rnd(1, 2), G * rnd(1, 3), ...X],
      w: [G * rnd(1, 3), 0, ...K],
      strides: X.map((_, d) => (d === nd - 1 ? 1 : rnd(1, 2))),
      padding: X.map((): [number, number] => [rnd(-2, 4), rnd(-2, 4)]),
      opts: { rhsDilation: X.map(() => rnd(1, 3)), featureGroupCount: G },
    };
    c.w[1] = c.x[1] / G;
    let q: Prepared;
    try {
      q = prepare(c, k);
    } catch {
      continue; // negative padding larger than the input: not a valid convolution
    }
    checkAgainstReference(c, q, direct(c, q, null), name(c));
    checked++;
  }
  assert.ok(checked > 100, `only ${checked} valid random cases`);
});

describe("direct conv: NaN and Inf behave as in the reference (padding is never multiplied)", () => {
  const poisons: [string, [number, number][][]][] = [
    ["NaN input", [[[5, NaN], [40, NaN]], []]],
    ["Inf input", [[[0, Infinity], [63, -Infinity]], []]],
    ["Inf kernel tap", [[], [[0, Infinity]]]],
    ["-Inf and NaN kernel taps", [[], [[2, -Infinity], [4, NaN]]]],
    ["Inf input and kernel", [[[17, Infinity]], [[1, -Infinity]]]],
  ];
  const cases: Case[] = [
    { x: [1, 1, 64], w: [1, 1, 5], padding: "SAME" },
    { x: [2, 2, 7, 40], w: [1, 2, 3, 3], padding: [[2, 1], [3, 4]] },
    { x: [1, 2, 70], w: [2, 2, 3], padding: [[5, 5]], opts: { rhsDilation: [4] } },
  ];
  for (const [label, poison] of poisons) {
    for (const c of cases) {
      test(`${label}: ${name(c)}`, () => {
        const q = prepare(c, 3, poison);
        checkAgainstReference(c, q, direct(c, q, null), `${label} ${name(c)}`);
      });
    }
  }
});

test("direct conv: does not apply to strided last dims, lhs dilation, batch groups, float64", () => {
  const f32 = (shape: number[]) => ({ shape, dtype: "float32" as const });
  const no: Case[] = [
    { x: [1, 1, 20], w: [1, 1, 3], strides: [2] },
    { x: [1, 1, 8, 20], w: [1, 1, 3, 3], strides: [1, 2] },
    { x: [1, 1, 20], w: [1, 1, 3], padding: [[1, 1]], opts: { lhsDilation: [2] } },
    { x: [1, 1, 8, 20], w: [1, 1, 3, 3], padding: [[0, 0], [0, 0]], opts: { lhsDilation: [2, 1] } },
    { x: [4, 1, 20], w: [2, 1, 3], opts: { batchGroupCount: 2 } },
    { x: [2, 3], w: [4, 3] },
  ];
  for (const c of no) {
    const q = prepare(c);
    assert.equal(directConvApplies(f32(c.x), f32(c.w), q.p), false, name(c));
    assert.equal(direct(c, q, null), null, name(c));
  }
  const c: Case = { x: [1, 1, 20], w: [1, 1, 3] };
  const q = prepare(c);
  const f64 = (shape: number[]) => ({ shape, dtype: "float64" as const });
  assert.equal(directConvApplies(f64(c.x), f64(c.w), q.p), false);
  const big = { x: [1, 16, 64, 64], w: [32, 16, 3, 3] };
  const pb = resolveConvParams(big.x, big.w, [1, 1], "SAME");
  const outB = f32(convOutputShape(big.x, big.w, pb));
  assert.equal(prefersDirectConv(f32(big.x), f32(big.w), outB, pb), false, "many output features");
  const dw = resolveConvParams([1, 16, 64, 64], [16, 1, 3, 3], [1, 1], "SAME", {
    featureGroupCount: 16,
  });
  assert.ok(prefersDirectConv(f32([1, 16, 64, 64]), f32([16, 1, 3, 3]), outB, dw), "depthwise");
});

describe("direct conv: the worker pool gives bit-identical results", () => {
  let pool: WorkerPool;
  const cases: Case[] = [
    { x: [1, 1, 20000], w: [1, 1, 31] }, // one row: split by columns
    { x: [1, 3, 3, 700], w: [1, 3, 3, 5], padding: "SAME" }, // 3 rows: columns
    { x: [4, 3, 50, 60], w: [2, 3, 3, 3], padding: "SAME" }, // many rows: rows
    { x: [3, 2, 5, 7, 33], w: [1, 2, 2, 3, 3], padding: [[1, 0], [0, 2], [2, 2]] },
  ];
  for (const c of cases) {
    test(name(c), async () => {
      pool ??= await createPool({ workers: 1 });
      const q = prepare(c, 5, [[[11, NaN]], []]);
      const one = direct(c, q, null)!;
      const split = direct(c, q, pool, 0)!;
      const pooledSerial = direct(c, q, pool, Infinity)!;
      assert.deepEqual(Array.from(split), Array.from(one));
      assert.deepEqual(Array.from(pooledSerial), Array.from(one));
      checkAgainstReference(c, q, split, name(c));
    });
  }
});

async function onBackend<T>(backend: string, f: () => T): Promise<T> {
  const prev = getBackend();
  setBackend(backend);
  try {
    return await f();
  } finally {
    setBackend(prev);
  }
}

describe("direct conv: through the cpu backend", () => {
  const conv = (a: Tensor, b: Tensor) => lax.convGeneralDilated(a, b, [1], "VALID");
  const x = np.array(data(30000, 1), { shape: [1, 1, 30000] });
  const w = np.array(data(101, 2), { shape: [1, 1, 101] });

  test("a long 1-D correlation is an op step (direct kernel), a tiny one a generated kernel", async () => {
    const text = await onBackend("cpu", () => jit(conv).lower(x, w).asText());
    assert.match(text, /k0 conv: /);
    const xs = np.array(data(200, 1), { shape: [1, 1, 200] });
    const ws = np.array(data(3, 2), { shape: [1, 1, 3] });
    const tiny = await onBackend("cpu", () => jit(conv).lower(xs, ws).asText());
    assert.match(tiny, /conv\(sum\)/);
  });

  test("eager and jit match the reference backend", async () => {
    const want = await onBackend("reference", () => conv(x, w).dataSync());
    for (const f of [conv, jit(conv)]) {
      const got = await onBackend("cpu", () => f(x, w).dataSync());
      await assertAllClose(got, want, { rtol: 1e-5, atol: 1e-5 });
    }
  });

  test("gradients (both transposed convolutions) match the reference backend", async () => {
    const loss = (a: Tensor, b: Tensor) => np.sum(np.square(conv(a, b)));
    const g = jit(grad(loss, { argnums: [0, 1] }));
    const want = await onBackend("reference", () => (g(x, w) as Tensor[]).map((t) => t.dataSync()));
    const got = await onBackend("cpu", () => (g(x, w) as Tensor[]).map((t) => t.dataSync()));
    for (let i = 0; i < 2; i++) await assertAllClose(got[i], want[i], { rtol: 1e-4, atol: 1e-3 });
  });

  test("non-finite kernels with padding: same NaN/Inf positions as the reference", async () => {
    const f = (a: Tensor, b: Tensor) => lax.convGeneralDilated(a, b, [1, 1], "SAME");
    const xa = data(2 * 2 * 60 * 70, 4, [[100, NaN]]), wa = data(2 * 3 * 3, 5, [[0, Infinity]]);
    const xt = np.array(xa, { shape: [2, 2, 60, 70] });
    const wt = np.array(wa, { shape: [1, 2, 3, 3] });
    const want = await onBackend("reference", () => f(xt, wt).dataSync());
    const got = await onBackend("cpu", () => jit(f)(xt, wt).dataSync());
    assert.ok(Array.from(got).some(Number.isFinite));
    await assertAllClose(got, want, { rtol: 1e-4, atol: 1e-4 });
  });

  test("a worker that dies mid-call gives a clear error or a result, and the next call works", async () => {
    await startPool();
    const p = currentPool();
    if (!p || p.threads < 2) return; // no worker threads on this runtime: nothing to kill
    const xb = np.array(data(100000, 6), { shape: [1, 1, 100000] });
    const want = await onBackend("reference", () => conv(xb, w).dataSync());
    p._killWorker(0);
    let message = "";
    try {
      await onBackend("cpu", () => conv(xb, w).dataSync());
    } catch (e) {
      message = String((e as Error).message);
    }
    // NOTE: Deno's terminate() does not stop a worker parked in Atomics.wait (it keeps working)
    if (message) assert.match(message, /convGeneralDilated: the worker pool failed/);
    const got = await onBackend("cpu", () => conv(xb, w).dataSync());
    await assertAllClose(got, want, { rtol: 1e-5, atol: 1e-5 });
  });
});
