/**
 * `np.fft` against NumPy fixtures (tests/fixtures/fft_cases.json from gen_fft_fixtures.py), on
 * every backend that runs it; gradients of real losses (finite differences in float64 and JAX's
 * convention for complex inputs), vmap vs a loop, jit vs eager, and errors.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, lax, np, type Tensor, vmap } from "../mod.ts";
import { assertAllClose } from "./_test_utils.ts";
import data from "./fixtures/fft_cases.json" with { type: "json" };

interface Spec {
  shape: number[];
  dtype: string;
  data: number[];
}
interface FftCase {
  name: string;
  fn: string;
  input: Spec;
  opts: Record<string, unknown>;
  expected: Spec;
}

type Fn = (a: Tensor, opts?: Record<string, unknown>) => Tensor;
const FNS = np.fft as unknown as Record<string, Fn>;

const arr = (s: Spec, dtype = s.dtype) =>
  np.array(
    dtype.endsWith("64") && !dtype.includes("128")
      ? Float32Array.from(s.data)
      : Float64Array.from(s.data),
    {
      dtype: dtype as "float64",
      shape: s.shape,
    },
  );

describe("np.fft vs NumPy", () => {
  for (const c of (data as { cases: FftCase[] }).cases) {
    test(`${c.fn} ${c.name} ${JSON.stringify(c.opts)}`, async () => {
      const y = FNS[c.fn](arr(c.input), c.opts);
      assert.deepEqual(y.shape, c.expected.shape, "shape");
      assert.equal(y.dtype, c.expected.dtype, "dtype");
      const tol = c.expected.dtype === "complex64" || c.expected.dtype === "float32"
        ? { atol: 1e-5, rtol: 1e-5 }
        : { atol: 1e-9, rtol: 1e-8 };
      await assertAllClose(y, c.expected.data, tol);
    });
  }
  test("fftfreq and rfftfreq", async () => {
    for (
      const f
        of (data as { freqs: { n: number; d: number; fftfreq: number[]; rfftfreq: number[] }[] })
          .freqs
    ) {
      await assertAllClose(np.fft.fftfreq(f.n, { d: f.d, dtype: "float64" }), f.fftfreq, {
        atol: 1e-12,
      });
      await assertAllClose(np.fft.rfftfreq(f.n, { d: f.d }), f.rfftfreq, {
        atol: 1e-6,
        rtol: 1e-6,
      });
    }
  });
  test("complex64 from float32, complex128 from float64, ints in float32", () => {
    assert.equal(np.fft.fft(np.ones([4])).dtype, "complex64");
    assert.equal(np.fft.fft(np.ones([4], { dtype: "float64" })).dtype, "complex128");
    assert.equal(np.fft.rfft(np.arange(4)).dtype, "complex64");
    assert.equal(np.fft.irfft(np.fft.rfft(np.ones([4], { dtype: "float64" }))).dtype, "float64");
  });
});

const r64 = (shape: number[], seed: number) =>
  np.array(
    Float64Array.from({
      length: shape.reduce((a, b) => a * b, 1),
    }, (_, i) => Math.sin(seed + i * 1.7)),
    {
      dtype: "float64",
      shape,
    },
  );

describe("np.fft: gradients", () => {
  const a = r64([3, 6], 1), b = r64([3, 6], 2), w = r64([3, 6], 3), v = r64([3, 6], 4);
  // a real loss of the complex result: <w, re y> + <v, im y>
  const loss = (y: Tensor) =>
    np.add(np.sum(np.multiply(np.real(y), w)), np.sum(np.multiply(np.imag(y), v)));
  for (const norm of ["backward", "ortho", "forward"] as const) {
    test(`fft / ifft / fft2 of complex(a, b), norm ${norm}: finite differences`, () => {
      for (const f of [np.fft.fft, np.fft.ifft, np.fft.fft2, np.fft.ifftn]) {
        checkGrads((x: Tensor, y: Tensor) => loss(f(lax.complex(x, y), { norm })), [a, b], {
          atol: 1e-6,
        });
      }
    });
  }
  test("rfft / rfftn (real in) and irfft / irfftn (complex in, odd and even n): finite differences", () => {
    const h = r64([3, 4], 5), g = r64([3, 4], 6);
    const lh = (y: Tensor) =>
      np.add(np.sum(np.multiply(np.real(y), h)), np.sum(np.multiply(np.imag(y), g)));
    checkGrads((x: Tensor) => lh(np.fft.rfft(x)), [a], { atol: 1e-6 });
    checkGrads((x: Tensor) => lh(np.fft.rfftn(x, { s: [3, 7] })), [a], { atol: 1e-6 });
    for (const n of [6, 7]) {
      checkGrads(
        (x: Tensor, y: Tensor) =>
          np.sum(np.multiply(np.fft.irfft(lax.complex(x, y), { n }), r64([3, n], 7))),
        [h, g],
        { atol: 1e-6 },
      );
    }
    checkGrads((x: Tensor, y: Tensor) => np.sum(np.square(np.fft.irfftn(lax.complex(x, y)))), [
      h,
      g,
    ], { atol: 1e-6 });
  });
  test("JAX's convention: grad of Σ re fft(z) is n at z_0; of Σ im fft(z) is -i·n", async () => {
    const z = lax.complex(r64([5], 8), r64([5], 9));
    const g1 = grad((q: Tensor) => np.sum(np.real(np.fft.fft(q))))(z);
    assert.equal(g1.dtype, "complex128");
    await assertAllClose(g1, [5, 0, 0, 0, 0, 0, 0, 0, 0, 0], { atol: 1e-12 });
    const g2 = grad((q: Tensor) => np.sum(np.imag(np.fft.fft(q))))(z);
    await assertAllClose(g2, [0, -5, 0, 0, 0, 0, 0, 0, 0, 0], { atol: 1e-12 });
  });
  test("second order through rfft and irfft", () => {
    checkGrads(
      (x: Tensor) => np.sum(np.square(np.fft.irfft(np.fft.rfft(np.multiply(x, x))))),
      [a],
      {
        order: 2,
        atol: 1e-5,
      },
    );
  });
});

describe("np.fft: transforms and errors", () => {
  test("vmap matches a loop; jit matches eager", async () => {
    const xs = lax.complex(r64([4, 9], 10), r64([4, 9], 11));
    const f = (x: Tensor) => np.fft.fft(x, { n: 12 });
    const batched = vmap(f)(xs);
    assert.deepEqual(batched.shape, [4, 12]);
    const jitted = jit(f);
    for (let i = 0; i < 4; i++) {
      const row = (xs.slice([i]) as Tensor).reshape([9]);
      await assertAllClose((batched.slice([i]) as Tensor).reshape([12]), await f(row).data(), {
        atol: 1e-12,
      });
      await assertAllClose(jitted(row), await f(row).data(), { atol: 1e-12 });
    }
    const g = jit((x: Tensor) => np.fft.irfft2(np.fft.rfft2(x), { s: [4, 9] }));
    await assertAllClose(g(r64([2, 4, 9], 12)), await r64([2, 4, 9], 12).data(), { atol: 1e-12 });
  });
  test("fftshift / ifftshift of complex arrays and single axes", async () => {
    const z = np.fft.fft(np.arange(5));
    const s = await np.fft.fftshift(z).data(), o = await z.data();
    assert.deepEqual(Array.from(s.slice(0, 2)), Array.from(o.slice(6, 8)));
    assert.deepEqual(
      Array.from(np.fft.ifftshift(np.arange(6).reshape([2, 3]), { axes: 1 }).dataSync()),
      [1, 2, 0, 4, 5, 3],
    );
  });
  test("errors name the op, the argument and the values", () => {
    assert.throws(() => np.fft.fft([1, 2], { n: 0 }), /fft: s must be a positive integer.*got 0/);
    assert.throws(() => np.fft.fft([1, 2], { norm: "none" as "ortho" }), /fft: norm "none"/);
    assert.throws(() => np.fft.fft([1, 2], { axis: 1 }), RangeError);
    assert.throws(() => np.fft.rfft(np.fft.fft([1, 2])), /rfft: input must be real, got complex64/);
    assert.throws(
      () => np.fft.fftn(np.ones([2, 2]), { axes: [0, 0] }),
      /fftn: axes \[0,0\] repeat an axis/,
    );
    assert.throws(
      () => np.fft.fftn(np.ones([2, 2]), { s: [2, 2], axes: [0] }),
      /fftn: s \[2,2\] and axes \[0\]/,
    );
    assert.throws(() => np.fft.fft([1, 2], { axes: [0] } as never), /did you mean "axis"/);
    assert.throws(() => np.fft.fftfreq(0), /fftfreq: n must be a positive integer/);
    assert.throws(
      () => np.fft.irfft([1]),
      /irfft: the transform length must be a positive integer number of points, got 0/,
    );
  });
  test("NaN propagates", async () => {
    const y = await np.fft.fft([1, NaN, 3]).data();
    assert.ok([0, 2, 4].every((i) => Number.isNaN(y[i])), "every real part is NaN (as NumPy)");
  });
});
