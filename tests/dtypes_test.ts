/**
 * The dtypes beyond float32/int32/bool (int8, uint8, uint32, float16) and array creation rules:
 * number arrays default to float32, out-of-range integers are a RangeError (#17 item 2), typed
 * arrays keep their dtype, JAX's promotion lattice, and the compiled CPU kernels (fused, jitted)
 * agreeing with the reference backend, including wrapping inside fused expressions.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, grad, jit, np, type Tensor, vmap } from "../mod.ts";
import { type DType, promoteTypes } from "../lib/dtype.ts";
import { f16roundEmulated, HAS_FLOAT16 } from "../lib/float16.ts";
import { onBackend } from "./_prop_util.ts";

describe("#17 item 2: integers are never silently wrapped on the way in", () => {
  test("np.array([2**31], int32) and np.array([1, 2**40], int32) are RangeErrors", () => {
    assert.throws(() => np.array([2 ** 31], { dtype: "int32" }), RangeError);
    assert.throws(
      () => np.array([1, 2 ** 40], { dtype: "int32" }),
      /array: value 1099511627776 is out of range for dtype int32/,
    );
    assert.throws(() => np.array(new Float64Array([2 ** 31]), { dtype: "int32" }), RangeError);
    assert.throws(() => np.array([NaN], { dtype: "int32" }), RangeError);
    assert.deepEqual(
      Array.from(np.array([-(2 ** 31), 2 ** 31 - 1], { dtype: "int32" }).dataSync()),
      [
        -(2 ** 31),
        2 ** 31 - 1,
      ],
    );
  });
  test("np.array([2**31]) and np.array([1, 2**40]) are float32 with the values kept", () => {
    const a = np.array([1, 2 ** 40]);
    assert.equal(a.dtype, "float32");
    assert.deepEqual(Array.from(a.dataSync()), [1, 2 ** 40]);
    assert.equal(np.array([2 ** 31]).dataSync()[0], 2 ** 31);
  });
  test("ranges of the narrow dtypes", () => {
    assert.throws(
      () => np.array([128], { dtype: "int8" }),
      /out of range for dtype int8 \[-128, 127\]/,
    );
    assert.throws(() => np.array([-1], { dtype: "uint8" }), RangeError);
    assert.throws(() => np.array([2 ** 32], { dtype: "uint32" }), RangeError);
    assert.equal(np.array([2 ** 32 - 1], { dtype: "uint32" }).dataSync()[0], 2 ** 32 - 1);
    assert.throws(() => np.add(np.array([1], { dtype: "int8" }), 200), /add: value 200/);
  });
});

describe("array creation dtypes", () => {
  test("number arrays default to float32, so grad works on them", () => {
    const x = np.array([1, 2, 3]);
    assert.equal(x.dtype, "float32");
    assert.equal(np.array(3).dtype, "float32");
    const g = grad((t: Tensor) => np.sum(np.multiply(t, t)))(x);
    assert.deepEqual(Array.from(g.dataSync()), [2, 4, 6]);
  });
  test("typed arrays keep their dtype; Uint8Array is uint8, not bool", () => {
    const cases: [ArrayBufferView, DType][] = [
      [new Uint8Array([1, 200]), "uint8"],
      [new Int8Array([-1, 2]), "int8"],
      [new Uint32Array([4e9, 1]), "uint32"],
      [new Int32Array([1, -2]), "int32"],
    ];
    for (const [data, d] of cases) {
      const t = np.array(data);
      assert.equal(t.dtype, d);
      assert.deepEqual(Array.from(t.dataSync()), Array.from(data as Uint8Array));
      assert.equal(t.dataSync().constructor, data.constructor);
    }
    // deno-lint-ignore no-explicit-any
    const F16 = (globalThis as any).Float16Array;
    if (F16) assert.equal(np.array(new F16([1.5])).dtype, "float16");
  });
});

describe("promotion follows JAX's lattice", () => {
  const s = (dtype: DType) => ({ dtype, weak: false });
  const w = (dtype: DType) => ({ dtype, weak: true });
  const table: [ReturnType<typeof s>, ReturnType<typeof s>, DType, boolean][] = [
    [s("int8"), s("uint8"), "int32", false], // int16 in JAX
    [s("uint8"), s("int32"), "int32", false],
    [s("uint32"), s("int32"), "int32", false], // int64 in JAX, int32 without x64
    [s("uint8"), s("uint32"), "uint32", false],
    [s("int8"), s("int32"), "int32", false],
    [s("bool"), s("uint8"), "uint8", false],
    [s("int32"), s("float16"), "float16", false],
    [s("uint32"), s("float16"), "float16", false],
    [s("float16"), s("float32"), "float32", false],
    [s("float16"), s("float64"), "float64", false],
    [s("int8"), w("int32"), "int8", false],
    [s("uint8"), w("float32"), "float32", true],
    [s("float16"), w("float32"), "float16", false],
    [s("bool"), w("int32"), "int32", true],
    [w("int32"), w("float32"), "float32", true],
  ];
  for (const [a, b, want, weak] of table) {
    test(`${a.weak ? "weak " : ""}${a.dtype} + ${b.weak ? "weak " : ""}${b.dtype} -> ${want}`, () => {
      assert.deepEqual(promoteTypes(a, b), { dtype: want, weak });
      assert.deepEqual(promoteTypes(b, a), { dtype: want, weak });
    });
  }
});

describe("narrow ints and float16 through the compiler and transforms", () => {
  const mk = (d: DType) =>
    d === "float16"
      ? np.array([0.1, 1.5, -2.25, 1000], { dtype: d })
      : d === "int8"
      ? np.array([100, -100, 7, -128], { dtype: d })
      : d === "uint8"
      ? np.array([200, 3, 255, 0], { dtype: d })
      : np.array([4e9, 3, 2 ** 32 - 1, 0], { dtype: d });
  // fused: the sum wraps (or rounds) before the comparison and the product
  const f = (x: Tensor) => np.multiply(np.add(x, x), np.greater(np.add(x, x), x).astype(x.dtype));
  for (const d of ["int8", "uint8", "uint32", "float16"] as DType[]) {
    test(`${d}: eager and jit on ${getBackend()} equal the reference`, async () => {
      const want = onBackend("reference", () => Array.from(f(mk(d)).dataSync()));
      const eager = f(mk(d));
      assert.equal(eager.dtype, d);
      assert.deepEqual(Array.from(await eager.data()), want);
      const jitted = jit(f)(mk(d));
      assert.equal(jitted.dtype, d);
      assert.deepEqual(Array.from(await jitted.data()), want);
    });
  }
  test("long reductions over narrow ints (the Wasm path declines them) are exact", () => {
    const n = 5000;
    const i8 = Int8Array.from({ length: n }, (_, i) => ((i * 37) % 256) - 128);
    const u8 = Uint8Array.from({ length: n }, (_, i) => (i * 91) % 256);
    const total = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);
    assert.equal(np.sum(np.array(i8)).item(), total(i8));
    assert.equal(np.sum(np.array(u8)).item(), total(u8));
    assert.equal(
      jit((t: Tensor) => np.sum(np.multiply(t, t)))(np.array(u8)).item(),
      total(
        Array.from(u8, (v) => (v * v) % 256),
      ),
    );
  });
  test("vmap over an int8 batch equals a loop", () => {
    const xs = np.array([[100, 27], [-5, 127]], { dtype: "int8" });
    const out = vmap((x: Tensor) => np.add(x, x))(xs);
    assert.equal(out.dtype, "int8");
    const rows = [0, 1].map((i) => Array.from(np.add(xs.slice(i), xs.slice(i)).dataSync()));
    assert.deepEqual(Array.from(out.dataSync()), rows.flat());
  });
  test("grad in float16 gives float16 gradients rounded to float16", () => {
    const x = np.array([0.1, 3], { dtype: "float16" });
    const g = grad((t: Tensor) => np.sum(np.multiply(t, np.multiply(t, t))))(x);
    assert.equal(g.dtype, "float16");
    const xs = Array.from(x.dataSync() as ArrayLike<number>);
    const want = xs.map((v) => f16roundEmulated(f16roundEmulated(v * v) * 3));
    const got = Array.from(g.dataSync() as ArrayLike<number>);
    got.forEach((v, i) =>
      assert.ok(Math.abs(v - want[i]) <= 2e-3 * Math.abs(want[i]), `${v} vs ${want[i]}`)
    );
  });
  test("float16 is stored in 16 bits where the runtime has Float16Array", () => {
    const t = np.array([1 / 3], { dtype: "float16" });
    assert.equal(t.dataSync()[0], f16roundEmulated(1 / 3));
    assert.equal(t.dataSync().BYTES_PER_ELEMENT, HAS_FLOAT16 ? 2 : 4);
  });
});
