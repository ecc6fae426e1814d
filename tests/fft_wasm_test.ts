/**
 * The CPU backend's Wasm SIMD complex64 FFT (lib/backend/cpu/fft_wasm.ts) against the float64
 * plans of lib/fft: many lengths (1..64, primes, 2^k up to 2^20, Bluestein), batches, both
 * directions; the worker pool (rows split and passes split) gives bit-identical results; the
 * float32 `fft` primitive (FFT/IFFT/RFFT/IRFFT, N-d) against float64; NaN stays in its row.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { fftRowsF32, wasmFftSupports } from "../lib/backend/cpu/fft_wasm.ts";
import { fftInPlace } from "../lib/fft/kernel.ts";
import { createPool } from "../lib/backend/cpu/pool/pool.ts";
import { fft } from "../lib/ops/fft.ts";
import { np } from "../mod.ts";
import { vals } from "./_linalg_util.ts";

/** Deterministic values in [-1, 1) (the linalg tests' LCG). */
const data = (n: number, seed: number) => Float32Array.from(vals(n, seed));

/** The float64 plan's transform of every row of `x` (unscaled inverse). */
function ref64(x: Float32Array, rows: number, n: number, inverse: boolean): Float64Array {
  const a = Float64Array.from(x), w = new Float64Array(2 * n);
  for (let r = 0; r < rows; r++) fftInPlace(a.subarray(2 * n * r, 2 * n * (r + 1)), w, n, inverse);
  return a;
}

/** max |a - b| / max |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    e = Math.max(e, Math.abs(a[i] - b[i])), m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? e : e / m;
}

function check(n: number, rows: number, inverse: boolean, tol = 2e-6): void {
  const x = data(2 * n * rows, n * 7 + rows), y = new Float32Array(x.length);
  assert.ok(fftRowsF32(x, y, rows, n, inverse, { pool: null }), `length ${n} supported`);
  const e = relErr(y, ref64(x, rows, n, inverse));
  assert.ok(e < tol, `n=${n} rows=${rows} inverse=${inverse}: relative error ${e}`);
}

describe("Wasm complex64 FFT vs the float64 plan", () => {
  test("every length 1..64 that the Wasm plans take, batched, both directions", () => {
    let taken = 0;
    for (let n = 1; n <= 64; n++) {
      if (n > 1 && !wasmFftSupports(n)) continue;
      taken++;
      for (const rows of [1, 3]) for (const inv of [false, true]) check(n, rows, inv);
    }
    assert.equal(taken, 64);
  });

  test("primes and other Bluestein lengths", () => {
    for (const n of [97, 101, 127, 257, 1009, 4099, 12345, 65537]) {
      assert.ok(wasmFftSupports(n), `${n} runs in Wasm`);
      for (const inv of [false, true]) check(n, n < 5000 ? 2 : 1, inv, 4e-6);
    }
  });

  test("powers of two up to 2^20 and mixed radix lengths", () => {
    for (let k = 1; k <= 20; k += k < 12 ? 1 : 4) check(2 ** k, k < 14 ? 2 : 1, k % 2 === 1);
    for (const n of [3 ** 7, 5 ** 6, 1440, 3 * 5 * 4096 * 4, 1000, 750]) {
      check(n, 1, false), check(n, 1, true);
    }
  });

  test("lengths with a prime factor above 5 run Bluestein", () => {
    for (const n of [7, 11, 13, 49, 77, 7 * 4096]) {
      check(n, 2, false, 4e-6), check(n, 1, true, 4e-6);
    }
    assert.equal(wasmFftSupports(2 ** 26), false);
  });

  test("NaN stays in its row", () => {
    const n = 256, x = data(4 * n, 5), y = new Float32Array(x.length);
    x[10] = x[11] = NaN;
    assert.ok(fftRowsF32(x, y, 2, n, false, { pool: null }));
    assert.ok(y.subarray(0, 2 * n).every(Number.isNaN));
    assert.ok(y.subarray(2 * n).every(Number.isFinite));
  });
});

describe("Wasm FFT on the worker pool", () => {
  test("rows split and passes split are bit-identical to one thread", async () => {
    const pool = await createPool({ workers: 2, minParallelFlops: 0 });
    try {
      assert.ok(pool.threads > 1 || pool.workers === 0);
      const cases: [number, number][] = [[1024, 12], [2 ** 16, 1], [3 * 5 * 4 * 1000, 1]];
      cases.push([4099, 3], [60, 40], [2 ** 17, 2]);
      for (const [n, rows] of cases) {
        for (const inv of [false, true]) {
          const x = data(2 * n * rows, n + rows), one = new Float32Array(x.length);
          const par = new Float32Array(x.length);
          assert.ok(fftRowsF32(x, one, rows, n, inv, { pool: null }));
          assert.ok(fftRowsF32(x, par, rows, n, inv, { pool, minParallel: 0 }));
          assert.deepEqual(par, one, `n=${n} rows=${rows} inverse=${inv}`);
        }
      }
    } finally {
      await pool.terminate();
    }
  });
});

describe("the float32 fft primitive on the CPU backend", () => {
  const both = (shape: number[], seed: number) => {
    const v = data(shape.reduce((a, b) => a * b, 1), seed);
    return [np.array(v, { shape }), np.array(Float64Array.from(v), { shape, dtype: "float64" })];
  };
  const agree = async (a: ReturnType<typeof np.array>, b: ReturnType<typeof np.array>) => {
    const [x, y] = [await a.data(), await b.data()];
    assert.equal(a.dtype, "float32");
    assert.deepEqual(a.shape, b.shape);
    const e = relErr(x, y);
    assert.ok(e < 3e-6, `relative error ${e}`);
  };

  test("FFT / IFFT over 1, 2 and 3 trailing axes (inner axes transposed)", async () => {
    const [c32, c64] = both([3, 6, 10, 8, 2], 11);
    for (const lens of [[8], [10, 8], [6, 10, 8]]) {
      await agree(fft(c32, "FFT", lens), fft(c64, "FFT", lens));
      await agree(fft(c32, "IFFT", lens), fft(c64, "IFFT", lens));
    }
  });

  test("RFFT / IRFFT, even and odd lengths, 1-d and 2-d", async () => {
    for (
      const [shape, lens] of [[[4, 1000], [1000]], [[3, 45], [45]], [[6, 16], [6, 16]], [[5, 2], [
        2,
      ]]]
    ) {
      const [r32, r64] = both(shape, lens[0]);
      await agree(fft(r32, "RFFT", lens), fft(r64, "RFFT", lens));
      const h = [...shape.slice(0, -1), (shape[shape.length - 1] >> 1) + 1, 2];
      const [h32, h64] = both(h, 3 + lens[0]);
      await agree(fft(h32, "IRFFT", lens), fft(h64, "IRFFT", lens));
    }
  });

  test("a length with a prime factor above 5 (Bluestein)", async () => {
    const [c32, c64] = both([2, 21, 2], 4);
    await agree(fft(c32, "FFT", [21]), fft(c64, "FFT", [21]));
  });
});
