/**
 * The bfloat16 dtype: rounding (ties to even, overflow, subnormals, NaN) against an independent
 * oracle, JAX's promotion table, creation and reading (raw bits in `data()`), every primitive's
 * float samples in bfloat16 against the reference backend (CPU here, WebGPU in
 * bfloat16_webgpu_test.ts), gradients, jit vs eager, vmap, accumulation in float32, linalg refusal.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, io, jit, jvp, lax, np, random, type Tensor, vjp, vmap } from "../mod.ts";
import { type DType, promoteTypes } from "../lib/dtype.ts";
import { bf16Bits, bf16FromBits, bf16round } from "../lib/bfloat16.ts";
import { onBackend as on } from "./_prop_util.ts";
import { bf16SampleCases, closeBf16 } from "./_bf16_util.ts";

/**
 * The oracle: the two bfloat16 neighbours of x from its float64 value (truncating the float32
 * bits can be off by one; both candidates are checked), the nearer one, ties to the even bits.
 */
function oracleBits(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a >= 2 ** 127 * (2 - 2 ** -8)) return sign | 0x7f80; // halfway to the next binade or above
  let lo = 0; // the largest magnitude bits whose value is <= a
  for (let step = 0x4000; step >= 1; step >>= 1) {
    if (lo + step <= 0x7f7f && bf16FromBits(lo + step) <= a) lo += step;
  }
  const vl = bf16FromBits(lo), vh = bf16FromBits(lo + 1);
  const dl = a - vl, dh = vh - a;
  const m = dl < dh ? lo : dh < dl ? lo + 1 : (lo & 1 ? lo + 1 : lo);
  return sign | m;
}

describe("bfloat16 rounding", () => {
  test("ties to even, overflow to Infinity, subnormals, signed zero and NaN", () => {
    const cases: [number, number][] = [
      [1, 0x3f80],
      [1 + 2 ** -8, 0x3f80], // tie: to the even 1
      [1 + 3 * 2 ** -8, 0x3f82], // tie: to the even 1 + 2^-6
      [1 + 2 ** -8 + 2 ** -30, 0x3f81], // just above the tie
      [1 + 2 ** -8 + 2 ** -40, 0x3f81], // float32 rounding would make this a tie: still up
      [1 + 2 ** -8 - 2 ** -40, 0x3f80],
      [-2.5, 0xc020],
      [1 / 3, 0x3eab],
      [3.3895313892515355e38, 0x7f7f], // the largest finite bfloat16
      [3.3961e38, 0x7f7f], // below the halfway point 3.3961775e38
      [3.3962e38, 0x7f80], // past it: Infinity
      [-1e39, 0xff80],
      [Infinity, 0x7f80],
      [-Infinity, 0xff80],
      [2 ** -126, 0x0080], // the smallest normal
      [2 ** -133, 0x0001], // the smallest subnormal
      [2 ** -134, 0x0000], // tie: to the even zero
      [3 * 2 ** -134, 0x0002], // tie: to the even 2 * 2^-133
      [2 ** -140, 0x0000],
      [-0, 0x8000],
      [NaN, 0x7fc0],
    ];
    for (const [x, bits] of cases) {
      assert.equal(bf16Bits(x), bits, `bf16Bits(${x})`);
      assert.equal(oracleBits(x), bits, `oracle(${x})`);
    }
    assert.ok(Number.isNaN(bf16round(NaN)));
  });

  test("agrees with the oracle on random float32 and float64 values of every magnitude", () => {
    let s = 0x9e3779b9;
    const next = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
    const f = new Float32Array(1), u = new Uint32Array(f.buffer);
    for (let i = 0; i < 20000; i++) {
      u[0] = next();
      const x = f[0];
      if (Number.isNaN(x)) assert.equal(bf16Bits(x) & 0x7fff, 0x7fc0, "a quiet NaN");
      else assert.equal(bf16Bits(x), oracleBits(x), `float32 bits 0x${u[0].toString(16)}`);
      // float64 values near bfloat16 ties, where float32 rounding first would round twice
      const y = bf16FromBits(next() & 0x7f7e) * (1 + 2 ** -8 + (next() / 2 ** 32 - 0.5) * 2 ** -28);
      assert.equal(bf16Bits(y), oracleBits(y), `float64 ${y}`);
    }
  });

  test("np.array and astype round to nearest even; NaN stays NaN", () => {
    const xs = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.4e38, -1e39, 2 ** -134 * 3, 1 / 3, NaN, -0];
    const want = xs.map((x) => bf16Bits(x));
    assert.deepEqual([...np.array(xs, { dtype: "bfloat16" }).dataSync()], want);
    const f32 = np.array(xs, { dtype: "float32" });
    assert.deepEqual(
      [...f32.astype("bfloat16").dataSync()],
      xs.map((x) => bf16Bits(Math.fround(x))),
    );
    const jitted = jit((x: Tensor) => np.multiply(x, 1).astype("bfloat16"))(f32);
    assert.deepEqual([...jitted.dataSync()], [...f32.astype("bfloat16").dataSync()]);
  });
});

describe("bfloat16 promotion follows JAX's lattice", () => {
  const s = (dtype: DType) => ({ dtype, weak: false });
  const w = (dtype: DType) => ({ dtype, weak: true });
  // the bf16 row of JAX's documented promotion table (jax.numpy type promotion)
  const table: [ReturnType<typeof s>, DType, boolean][] = [
    [s("bool"), "bfloat16", false],
    [s("uint8"), "bfloat16", false],
    [s("uint32"), "bfloat16", false],
    [s("int8"), "bfloat16", false],
    [s("int32"), "bfloat16", false],
    [s("bfloat16"), "bfloat16", false],
    [s("float16"), "float32", false],
    [s("float32"), "float32", false],
    [s("float64"), "float64", false],
    [s("complex64"), "complex64", false],
    [s("complex128"), "complex128", false],
    [w("int32"), "bfloat16", false],
    [w("float32"), "bfloat16", false],
    [w("complex64"), "complex64", false],
  ];
  for (const [b, want, weak] of table) {
    test(`bfloat16 + ${b.weak ? "weak " : ""}${b.dtype} -> ${want}`, () => {
      assert.deepEqual(promoteTypes(s("bfloat16"), b), { dtype: want, weak });
      assert.deepEqual(promoteTypes(b, s("bfloat16")), { dtype: want, weak });
    });
  }
  test("the array functions promote the same way", () => {
    const x = np.array([1.5, 2], { dtype: "bfloat16" });
    assert.equal(np.add(x, 0.1).dtype, "bfloat16");
    assert.equal(np.multiply(x, 3).dtype, "bfloat16");
    assert.equal(np.add(x, np.array([1, 2], { dtype: "int32" })).dtype, "bfloat16");
    assert.equal(np.add(x, np.array([1, 2], { dtype: "float16" })).dtype, "float32");
    assert.equal(np.add(x, np.array([1, 2])).dtype, "float32");
    assert.equal(np.sin(np.array([1, 2], { dtype: "int8" }).astype("bfloat16")).dtype, "bfloat16");
    assert.equal(np.mean(x).dtype, "bfloat16");
    assert.equal(np.less(x, 2).dtype, "bool");
  });
});

describe("bfloat16 arrays", () => {
  test("data() and dataSync() are the raw bits in a Uint16Array; a Uint16Array reads back as bits", async () => {
    const x = np.array([[1, -2.5], [1 / 3, 65536]], { dtype: "bfloat16" });
    assert.equal(x.dtype, "bfloat16");
    const bits = await x.data();
    assert.ok(bits instanceof Uint16Array);
    assert.deepEqual([...bits], [0x3f80, 0xc020, 0x3eab, 0x4780]);
    assert.deepEqual(x.toNestedSync(), [[1, -2.5], [0.333984375, 65536]]);
    assert.deepEqual([...x.astype("float32").dataSync()], [1, -2.5, 0.333984375, 65536]);
    const back = np.array(bits, { dtype: "bfloat16", shape: [2, 2] });
    assert.deepEqual(back.toNestedSync(), x.toNestedSync());
    assert.equal(np.array(0.1, { dtype: "bfloat16" }).item(), 0.10009765625);
    assert.match(x.toString(), /dtype=bfloat16/);
    assert.match(x.toString(), /0\.333984[,\]]/); // six digits, as JAX prints bfloat16
  });
  test("safetensors reads and writes BF16 as bfloat16 (the bits, little-endian)", () => {
    const x = np.array([1, -2.5, 1 / 3], { dtype: "bfloat16" });
    const bytes = io.toSafetensors({ x });
    const head = new TextDecoder().decode(
      bytes.subarray(8, 8 + new DataView(bytes.buffer).getUint32(0, true)),
    );
    assert.match(head, /"dtype":"BF16"/);
    assert.deepEqual([...bytes.subarray(bytes.length - 6)], [0x80, 0x3f, 0x20, 0xc0, 0xab, 0x3e]);
    const back = io.fromSafetensors(bytes).x;
    assert.equal(back.dtype, "bfloat16");
    assert.deepEqual([...back.dataSync()], [...x.dataSync()]);
    assert.throws(
      () => io.toNpy(x),
      (e: Error) => e instanceof TypeError && /bfloat16/.test(e.message),
    );
  });
  test("zeros, ones, full, arange and random draws take bfloat16", () => {
    assert.deepEqual(np.full([2], 1 / 3, { dtype: "bfloat16" }).toNestedSync(), [
      0.333984375,
      0.333984375,
    ]);
    assert.equal(np.zeros([3], { dtype: "bfloat16" }).dtype, "bfloat16");
    assert.deepEqual(np.arange(3, { dtype: "bfloat16" }).toNestedSync(), [0, 1, 2]);
    for (const draw of [random.uniform, random.normal]) {
      const r = draw(random.key(1), [64], { dtype: "bfloat16" });
      assert.equal(r.dtype, "bfloat16");
      for (const v of r.toNestedSync() as number[]) assert.equal(v, bf16round(v));
    }
  });
  test("linalg refuses bfloat16 with a TypeError naming the op and dtype (as JAX); fft gives complex64", () => {
    const a = np.array([[2, 1], [1, 3]], { dtype: "bfloat16" });
    assert.throws(
      () => np.linalg.cholesky(a),
      (e: Error) => e instanceof TypeError && /cholesky.*bfloat16/.test(e.message),
    );
    assert.throws(
      () => np.linalg.inv(a),
      (e: Error) => e instanceof TypeError && /bfloat16/.test(e.message),
    );
    assert.throws(
      () => np.linalg.qr(a),
      (e: Error) => e instanceof TypeError && /qr.*bfloat16/.test(e.message),
    );
    assert.equal(np.fft.fft(np.array([1, 2, 3, 4], { dtype: "bfloat16" })).dtype, "complex64");
  });
});

describe("every primitive's float samples in bfloat16 on the CPU equal the reference (eager and jit)", () => {
  for (const { name, run } of bf16SampleCases()) {
    test(name, () => {
      const ref = on("reference", () => run(false));
      if (!ref) return; // refused with a TypeError naming bfloat16 on every backend
      for (const jitted of [false, true]) {
        const got = on("cpu", () => run(jitted))!;
        assert.equal(got.length, ref.length);
        got.forEach((g, k) => closeBf16(g, ref[k], `${name}${jitted ? " jit" : ""} out ${k}`));
      }
    });
  }
});

describe("bfloat16 under the transforms", () => {
  const f = (x: Tensor) => np.sum(np.multiply(np.sin(x), np.exp(np.multiply(x, 0.5))));
  const xs = [0.1, 0.7, -1.3, 2.2];
  test("grad of a bfloat16 function is bfloat16 and close to the float32 gradient", () => {
    const x = np.array(xs, { dtype: "bfloat16" });
    const g = grad(f)(x);
    assert.equal(g.dtype, "bfloat16");
    const g32 = grad(f)(x.astype("float32")).toNestedSync() as number[];
    (g.toNestedSync() as number[]).forEach((v, i) => {
      assert.equal(v, bf16round(v));
      assert.ok(
        Math.abs(v - g32[i]) <= 4 * 2 ** -8 * Math.abs(g32[i]) + 1e-3,
        `grad ${i}: ${v} vs ${g32[i]}`,
      );
    });
    const [, pull] = vjp(np.sin, x);
    assert.equal((pull(np.onesLike(x))[0] as Tensor).dtype, "bfloat16");
    const [, t] = jvp(np.exp, [x], [np.onesLike(x)]);
    assert.equal(t.dtype, "bfloat16");
  });
  test("jit equals eager bit for bit on elementwise chains (each op rounds as it would unfused)", () => {
    const x = np.array(xs, { dtype: "bfloat16" });
    const chain = (x: Tensor) => np.tanh(np.add(np.multiply(np.exp(x), 1.7), np.square(x)));
    assert.deepEqual([...jit(chain)(x).dataSync()], [...chain(x).dataSync()]);
    assert.deepEqual([...jit(grad(f))(x).dataSync()], [...grad(f)(x).dataSync()]);
  });
  test("vmap equals a loop", () => {
    const x = np.array([[0.1, 0.2, 0.3], [1, -2, 3]], { dtype: "bfloat16" });
    const h = (r: Tensor) => np.multiply(np.cumsum(r), np.max(r));
    const got = vmap(h)(x);
    assert.equal(got.dtype, "bfloat16");
    const loop = np.stack([h(x.slice(0)), h(x.slice(1))]);
    assert.deepEqual([...got.dataSync()], [...loop.dataSync()]);
  });
});

describe("bfloat16 sums, matmul and conv accumulate in float32 (as XLA)", () => {
  test("a long sum is the float32 sum rounded once", () => {
    const x = np.full([4096], 0.01, { dtype: "bfloat16" }); // 0.010009765625
    const want = bf16round(4096 * bf16round(0.01));
    assert.equal(np.sum(x).item(), want);
    assert.equal(jit((x: Tensor) => np.sum(x))(x).item(), want);
    const a = np.full([1, 4096], 0.01, { dtype: "bfloat16" });
    const m = np.matmul(a, np.ones([4096, 1], { dtype: "bfloat16" }));
    assert.equal(m.dtype, "bfloat16");
    assert.equal(m.item(), want);
  });
  test("sort, argsort, cumsum, matmul and conv take bfloat16", () => {
    const x = np.array([3, -1, 2.5, 0.1, 2.5], { dtype: "bfloat16" });
    assert.deepEqual(np.sort(x).toNestedSync(), [-1, 0.10009765625, 2.5, 2.5, 3]);
    assert.deepEqual([...np.argsort(x).dataSync()], [1, 3, 2, 4, 0]);
    assert.deepEqual(np.cumsum(x).toNestedSync(), [3, 2, 4.5, 4.59375, 7.09375]);
    const lhs = np.array([[[1, 2, 3, 4]]], { dtype: "bfloat16" });
    const rhs = np.array([[[0.5, 0.25]]], { dtype: "bfloat16" });
    const c = lax.convGeneralDilated(lhs, rhs, [1], "VALID");
    assert.equal(c.dtype, "bfloat16");
    assert.deepEqual(c.toNestedSync(), [[[1, 1.75, 2.5]]]);
  });
});
