/**
 * FFT kernels against a naive DFT (every radix, Bluestein lengths, real-input paths), and FFT
 * convolution (`signal.fftconvolve`, `oaconvolve`, `method`) against SciPy fixtures
 * (tests/fixtures/fft_cases.json from gen_fft_fixtures.py), gradients, vmap, jit and errors.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, np, type Tensor, vmap } from "../mod.ts";
import * as signal from "../lib/signal.ts";
import { fftHost, naiveLine } from "../lib/fft/host.ts";
import { nextFastLen } from "../lib/fft/pairs.ts";
import { assertAllClose } from "./_test_utils.ts";
import data from "./fixtures/fft_cases.json" with { type: "json" };

interface Spec {
  shape: number[];
  dtype: string;
  data: number[];
}
interface ConvCase {
  name: string;
  a: Spec;
  b: Spec;
  axes: number[] | null;
  modes: Record<string, { conv: Spec; corr?: Spec }>;
}

const arr = (s: Spec, dtype: "float32" | "float64" = "float64") =>
  np.array(dtype === "float64" ? Float64Array.from(s.data) : Float32Array.from(s.data), {
    dtype,
    shape: s.shape,
  });

function rand(n: number, seed: number): Float64Array {
  return Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 12.9898 + i * 78.233) * 0.9);
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i])), s = Math.max(s, Math.abs(b[i]));
  }
  return m / (s || 1);
}

describe("fft kernels vs the naive DFT", () => {
  const lengths = [
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    9,
    11,
    12,
    13,
    16,
    25,
    27,
    32,
    49,
    60,
    64,
    97,
    100,
    121,
    128,
    210,
    211,
    256,
    331,
    1000,
    1021,
    4096,
  ];
  test("complex FFT and IFFT, all lengths (radix 4, 2, 3, 5, generic, Bluestein)", () => {
    for (const n of lengths) {
      for (const t of ["FFT", "IFFT"] as const) {
        const x = rand(4 * n, n);
        const e = relErr(fftHost(x, [2, n], t, [n]), fftHost(x, [2, n], t, [n], true));
        assert.ok(e < 1e-12, `${t} n=${n}: relative error ${e}`);
      }
    }
  });
  test("RFFT and IRFFT (half-length trick for even n), and their round trip", () => {
    for (const n of lengths) {
      const x = rand(2 * n, n + 1), m = (n >> 1) + 1;
      const y = fftHost(x, [2, n], "RFFT", [n]);
      assert.ok(relErr(y, fftHost(x, [2, n], "RFFT", [n], true)) < 1e-12, `RFFT n=${n}`);
      const c = rand(4 * m, n + 2);
      const e = relErr(fftHost(c, [2, m], "IRFFT", [n]), fftHost(c, [2, m], "IRFFT", [n], true));
      assert.ok(e < 1e-12, `IRFFT n=${n}: ${e}`);
      assert.ok(relErr(fftHost(y, [2, m], "IRFFT", [n]), x) < 1e-12, `round trip n=${n}`);
    }
  });
  test("N-d transforms over non-trailing strides", () => {
    const shape = [3, 5, 6, 4], L = [5, 6, 4], x = rand(2 * 360, 3);
    for (const t of ["FFT", "IFFT"] as const) {
      assert.ok(relErr(fftHost(x, shape, t, L), fftHost(x, shape, t, L, true)) < 1e-12, t);
    }
    const xr = x.subarray(0, 360), y = fftHost(xr, shape, "RFFT", L);
    assert.ok(relErr(y, fftHost(xr, shape, "RFFT", L, true)) < 1e-12, "RFFT");
    assert.ok(relErr(fftHost(y, [3, 5, 6, 3], "IRFFT", L), xr) < 1e-12, "IRFFT");
  });
  test("the naive oracle itself: a unit impulse transforms to all ones", () => {
    const x = new Float64Array(10);
    x[0] = 1;
    naiveLine(x, 0, 5, false);
    assert.deepEqual(Array.from(x), [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
  });
  test("nextFastLen: the smallest 5-smooth length", () => {
    assert.deepEqual([1, 7, 11, 13, 17, 97, 1000, 1001, 1010001].map(nextFastLen), [
      1,
      8,
      12,
      15,
      18,
      100,
      1000,
      1024,
      1012500,
    ]);
  });
});

describe("FFT convolution vs SciPy", () => {
  for (const c of (data as { conv: ConvCase[] }).conv) {
    for (const [mode, want] of Object.entries(c.modes)) {
      const m = mode as "full" | "same" | "valid";
      const opts = c.axes ? { mode: m, axes: c.axes } : { mode: m };
      test(`${c.name} ${mode}`, async () => {
        const a = arr(c.a), b = arr(c.b);
        for (
          const [name, y] of [
            ["fftconvolve", signal.fftconvolve(a, b, opts)],
            ["oaconvolve", signal.oaconvolve(a, b, opts)],
            ...(c.axes ? [] : [
              ["convolve auto", signal.convolve(a, b, { mode: m })],
              ["convolve fft", signal.convolve(a, b, { mode: m, method: "fft" })],
            ]),
          ] as [string, Tensor][]
        ) {
          assert.deepEqual(y.shape, want.conv.shape, `${name} shape`);
          assert.equal(y.dtype, "float64");
          await assertAllClose(y, want.conv.data, { atol: 1e-9, rtol: 1e-7, message: name });
        }
        if (want.corr) {
          const y = signal.correlate(a, b, { mode: m, method: "fft" });
          assert.deepEqual(y.shape, want.corr.shape);
          await assertAllClose(y, want.corr.data, { atol: 1e-9, rtol: 1e-7, message: "correlate" });
        }
        // float32 operands compute in float32 storage (float64 arithmetic inside the kernels)
        const y32 = signal.fftconvolve(arr(c.a, "float32"), arr(c.b, "float32"), opts);
        assert.equal(y32.dtype, "float32");
        await assertAllClose(y32, want.conv.data, { atol: 2e-5, rtol: 1e-4, message: "float32" });
      });
    }
  }
});

describe("FFT convolution: transforms", () => {
  const a = np.array(rand(40, 1), { dtype: "float64" }),
    b = np.array(rand(6, 2), { dtype: "float64" });
  test("gradients in both operands match finite differences (float64, fwd and rev)", () => {
    for (const mode of ["full", "same", "valid"] as const) {
      checkGrads((x: Tensor, y: Tensor) => signal.fftconvolve(x, y, { mode }), [a, b], {
        atol: 1e-6,
      });
      checkGrads((x: Tensor, y: Tensor) => signal.oaconvolve(x, y, { mode }), [a, b], {
        atol: 1e-6,
      });
    }
  });
  test("second-order gradients (the fft primitive's rules compose)", () => {
    checkGrads((x: Tensor) => np.sum(np.square(signal.fftconvolve(x, b))), [a], {
      order: 2,
      atol: 1e-5,
    });
  });
  test("the gradient of an FFT convolution equals the direct one's", async () => {
    const w = np.array(rand(45, 3), { dtype: "float64" });
    const loss = (method: "fft" | "direct") => (x: Tensor) =>
      np.sum(np.multiply(signal.convolve(x, b, { method }), w));
    await assertAllClose(grad(loss("fft"))(a), await grad(loss("direct"))(a).data(), {
      atol: 1e-10,
    });
  });
  test("vmap matches a loop; jit matches eager", async () => {
    const xs = np.array(rand(3 * 40, 4), { dtype: "float64", shape: [3, 40] });
    const f = (x: Tensor) => signal.oaconvolve(x, b, { mode: "same" });
    const batched = vmap(f)(xs);
    for (let i = 0; i < 3; i++) {
      await assertAllClose(
        batched.slice([i]) as Tensor,
        await f((xs.slice([i]) as Tensor).reshape([40])).data(),
        {
          atol: 1e-12,
        },
      );
    }
    await assertAllClose(jit(f)(a), await f(a).data(), { atol: 1e-12 });
  });
  test("the axes option broadcasts the other axes", async () => {
    const x = np.array(rand(3 * 20, 5), { dtype: "float64", shape: [3, 20] });
    const k = np.array(rand(4, 6), { dtype: "float64", shape: [1, 4] });
    const y = signal.fftconvolve(x, k, { axes: 1, mode: "same" });
    assert.deepEqual(y.shape, [3, 20]);
    for (let i = 0; i < 3; i++) {
      const row = signal.convolve((x.slice([i]) as Tensor).reshape([20]), k.reshape([4]), {
        mode: "same",
        method: "direct",
      });
      await assertAllClose(y.slice([i]) as Tensor, await row.data(), { atol: 1e-12 });
    }
  });
  test('"auto" picks the FFT for a long filter and direct for a short one', () => {
    const jx = (n: number, k: number) =>
      jit((x: Tensor, y: Tensor) => signal.convolve(x, y)).lower(np.zeros([n]), np.zeros([k]))
        .asText();
    assert.match(jx(20000, 2000), /fft/);
    assert.doesNotMatch(jx(50, 3), /fft/);
  });
  test('"auto" stays direct (exact) for integer and bool operands, as SciPy does', () => {
    const ints = (n: number) => np.arange(n, { dtype: "int32" });
    for (const f of [signal.convolve, signal.correlate]) {
      const low = (a: Tensor, b: Tensor) => jit((x: Tensor, y: Tensor) => f(x, y)).lower(a, b);
      assert.doesNotMatch(low(ints(20000), ints(2000)).asText(), /fft/);
      assert.doesNotMatch(low(ints(20000), np.ones([2000], { dtype: "bool" })).asText(), /fft/);
      assert.match(low(ints(20000), np.ones([2000])).asText(), /fft/); // a float operand
    }
  });
  test("errors name the op, the argument and the values", () => {
    assert.throws(
      () => signal.convolve([1, 2], [1], { method: "fast" as "fft" }),
      /convolve: method "fast"/,
    );
    assert.throws(
      () => signal.convolve([[1, 2]], [[1]], { method: "fft", axes: [[1], [1]] }),
      /convolve: method "fft" supports scipy semantics only/,
    );
    assert.throws(
      () => signal.fftconvolve([1, 2], [[1]]),
      /fftconvolve: .* same number of dimensions/,
    );
    assert.throws(
      () => signal.fftconvolve([[1, 2], [3, 4]], [[1], [2], [3]], { axes: 1 }),
      /axis 0 is not convolved/,
    );
    assert.throws(
      () => signal.oaconvolve([1, 2], [1], { mode: "middle" as "same" }),
      /oaconvolve: mode "middle"/,
    );
    assert.throws(
      () => signal.fftconvolve([1, 2], [1], { axis: 0 } as never),
      /did you mean "axes"/,
    );
    assert.throws(
      () => signal.fftconvolve(np.fft.fft([1, 2]), [1, 1]),
      /fftconvolve: complex operands are not supported yet, got complex64/,
    );
    assert.throws(
      () => signal.fftconvolve([[1, 2, 3], [4, 5, 6]], [[1, 2], [3, 4], [5, 6]], { mode: "valid" }),
      /valid/,
    );
  });
  test("NaN propagates and float16 / int operands compute in float32", async () => {
    const y = await signal.fftconvolve([1, NaN, 3], [1, 1]).data();
    assert.ok(y.some(Number.isNaN));
    assert.equal(signal.fftconvolve([1, 2, 3], [1, 1]).dtype, "float32");
    await assertAllClose(signal.fftconvolve([1, 2, 3], [1, 1]), [1, 3, 5, 3], { atol: 1e-5 });
  });
});
