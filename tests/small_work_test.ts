// The eager fast paths for small work: shared small host buffers, cached constants of JS scalar
// operands, per-op recent eager plans, and small contractions on the calling thread; each
// against the reference backend or a plain JS loop.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, init, jit, makeJaxpr, np, setBackend, type Tensor } from "../mod.ts";
import { allocHost, copyHost } from "../lib/host_alloc.ts";
import { gemmTuning } from "../lib/backend/cpu/matmul.ts";

const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);

describe("small host buffers", () => {
  test("many small arrays never overlap, and dtypes keep their alignment", () => {
    const made: [Float64Array | Int8Array | Float32Array, number][] = [];
    for (let i = 0; i < 600; i++) {
      const a = i % 3 === 0
        ? allocHost("float64", 1 + (i % 7))
        : i % 3 === 1
        ? allocHost("int8", 1 + (i % 13))
        : allocHost("float32", 1 + (i % 64));
      assert.equal(a.byteOffset % a.BYTES_PER_ELEMENT, 0);
      assert.ok(a.every((v) => v === 0), "fresh buffers are zeroed");
      a.fill(i % 100);
      made.push([a as Float32Array, i % 100]);
    }
    for (const [a, v] of made) assert.ok(a.every((x) => x === v));
  });

  test("copyHost copies (the source can change afterwards)", () => {
    const src = new Int32Array([1, 2, 3]);
    const c = copyHost(src, "int32");
    src[0] = 9;
    assert.deepEqual(Array.from(c), [1, 2, 3]);
    assert.ok(c instanceof Int32Array);
  });

  test("results of small ops stay distinct and dataSync gives an unshared buffer", () => {
    const x = np.array([1, 2, 3, 4]);
    const ys = Array.from({ length: 500 }, (_, i) => x.mul(i));
    ys.forEach((y, i) => assert.deepEqual(vals(y), [i, 2 * i, 3 * i, 4 * i]));
    const d = ys[7].dataSync();
    assert.equal(new Float32Array(d.buffer).length, 4);
  });
});

describe("JS scalar operands evaluated eagerly", () => {
  test("values, dtypes and weak types match NumPy's rules", () => {
    const i8 = np.array([1, -2, 3], { dtype: "int8" });
    assert.equal(i8.add(1).dtype, "int8");
    assert.deepEqual(vals(i8.add(1)), [2, -1, 4]);
    assert.equal(np.add(i8, 1.5).dtype, "float32");
    const f = np.array([0.5, 1.5]);
    assert.deepEqual(vals(np.subtract(10, f)), [9.5, 8.5]);
    assert.deepEqual(vals(np.subtract(f, 10)), [-9.5, -8.5]);
    assert.equal(np.add(2, 3).dtype, "int32");
    assert.equal(np.add(2, 3).item(), 5);
  });

  test("-0 and 0, NaN, and shapes are cached apart", () => {
    const z = np.array([-0, -0]);
    assert.ok(Object.is(vals(np.add(z, -0))[0], -0));
    assert.ok(Object.is(vals(np.add(z, 0))[0], 0));
    assert.ok(Object.is(vals(np.add(z, -0))[1], -0));
    assert.ok(Number.isNaN(vals(np.add(z, NaN))[0]));
    assert.deepEqual(np.add(np.zeros([2, 3]), 1).shape, [2, 3]);
    assert.deepEqual(np.add(np.zeros([3, 2]), 1).shape, [3, 2]);
    assert.deepEqual(vals(np.add(np.zeros([6]), 1)), [1, 1, 1, 1, 1, 1]);
  });

  test("disposing results and operands does not break later calls", () => {
    const x = np.array([1, 2]);
    for (let i = 0; i < 3; i++) {
      const y = x.add(1);
      assert.deepEqual(vals(y), [2, 3]);
      y.dispose();
    }
    const s = np.maximum(np.array(0), 1);
    s.dispose();
    assert.deepEqual(vals(np.maximum(np.array(0), 1)), [1]);
  });

  test("under jit the scalar stays a constant of the program; grad sees it as a constant", () => {
    const f = (x: Tensor) => x.mul(2).add(1);
    const text = String(makeJaxpr(f)(np.zeros([3])));
    assert.match(text, /broadcast/);
    assert.match(text, /lambda a:f32\[\] b:f32\[\] ;/, "the constants are 0-d scalars");
    assert.deepEqual(vals(jit(f)(np.array([1, 2, 3]))), [3, 5, 7]);
    assert.equal(grad((x: Tensor) => np.sum(f(x)))(np.array([1, 2])).dataSync()[1], 2);
  });

  test("same results on the reference backend", async () => {
    await init();
    const f = () => vals(np.tanh(np.array([0.1, -0.2, 0.3]).mul(2).add(1)));
    const cpu = f();
    setBackend("reference");
    try {
      const ref = f();
      cpu.forEach((v, i) => assert.ok(Math.abs(v - ref[i]) < 1e-6));
    } finally {
      setBackend("cpu");
    }
  });
});

describe("recent eager plans", () => {
  test("one op alternating between more params and shapes than are kept", () => {
    const x = np.reshape(np.arange(24), [2, 3, 4]);
    for (let round = 0; round < 3; round++) {
      for (let axis = 0; axis < 3; axis++) {
        const want = [2, 3, 4].filter((_, i) => i !== axis);
        assert.deepEqual(np.sum(x, { axis }).shape, want);
      }
      for (const shape of [[6, 4], [4, 6], [24], [2, 12], [12, 2], [3, 8]]) {
        const r = np.reshape(x, shape);
        assert.deepEqual(r.shape, shape);
        assert.deepEqual(vals(r), vals(x));
      }
      assert.deepEqual(vals(np.sum(x, { axis: [0, 2] })), [60, 92, 124]);
      assert.deepEqual(vals(np.sum(x, { axis: [1, 2] })), [66, 210]);
    }
  });
});

describe("small contractions", () => {
  test("on the calling thread and on the pool: the same bits", async () => {
    await init();
    const a = np.reshape(np.sin(np.arange(32 * 128)), [32, 128]);
    const b = np.reshape(np.cos(np.arange(128 * 128)), [128, 128]);
    const keep = gemmTuning.poolMinMacs;
    try {
      gemmTuning.poolMinMacs = 1;
      np.matmul(a, b); // starts the pool
      await new Promise((r) => setTimeout(r, 200));
      const pooled = vals(np.matmul(a, b));
      gemmTuning.poolMinMacs = Infinity;
      const here = vals(np.matmul(a, b));
      assert.deepEqual(here, pooled);
      const a0 = a.dataSync(), b0 = b.dataSync();
      let s = 0;
      for (let k = 0; k < 128; k++) s += a0[5 * 128 + k] * b0[k * 128 + 7];
      assert.ok(Math.abs(here[5 * 128 + 7] - s) < 1e-3);
    } finally {
      gemmTuning.poolMinMacs = keep;
    }
  });
});
