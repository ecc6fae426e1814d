/**
 * Blocked float64 solve and Cholesky on the CPU backend (lib/backend/cpu/linalg_f64.ts, f64x2
 * GEMM updates from kernels/wasm/dgemm.ts): the GEMM kernel against a loop on every edge shape;
 * solve and Cholesky against the unblocked host kernels across the threshold and block size,
 * batched, transposeA, float32 Cholesky, non-PD / singular inputs; NumPy fixtures (n = 100).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { jit, np, type Tensor } from "../mod.ts";
import { BLOCKED_F64_MIN, choleskyFast, solveF64 } from "../lib/backend/cpu/linalg_f64.ts";
import { dgemmSubFor } from "../kernels/wasm/dgemm.ts";
import { choleskyInPlace, luInPlace, luSolveInPlace } from "../lib/ops/linalg_host.ts";
import fx from "./fixtures/linalg_blocked_cases.json" with { type: "json" };
import { onCpu, vals } from "./_linalg_util.ts";

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]));
  return e;
}

const f64 = (data: Float64Array, shape: number[]) => ({ data, shape, dtype: "float64" as const });
const aval = (shape: number[], dtype: "float32" | "float64" = "float64") => ({
  shape,
  dtype,
  weak: false,
});

test("dgemmSub matches a loop on edge shapes (rows mod 4, columns mod 4, k = 0)", () => {
  const mem = new WebAssembly.Memory({ initial: 8 }), f = dgemmSubFor(mem);
  const F = new Float64Array(mem.buffer);
  for (const [m, n, k] of [[1, 1, 1], [4, 4, 4], [5, 7, 3], [13, 9, 17], [8, 2, 1], [3, 5, 0]]) {
    const lda = k + 2, ldb = n + 1, ldc = n + 3, a = 0, b = 8000, c = 16000;
    F.set(vals(24000, m * 100 + n * 10 + k));
    const want = F.slice(c, c + m * ldc + 8);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += F[a + i * lda + t] * F[b + t * ldb + j];
        want[i * ldc + j] -= s;
      }
    }
    f(8 * c, 8 * a, 8 * b, m, n, k, ldc, lda, ldb);
    assert.equal(maxAbs(F.subarray(c, c + want.length), want), 0, `${m}x${n}x${k}`);
  }
});

for (const n of [BLOCKED_F64_MIN, 65, 97, 130]) {
  test(`blocked float64 solve matches the host LU (n = ${n}, batched, k = 1 and 5, transposeA)`, () => {
    for (const k of [1, 5]) {
      for (const transposeA of [false, true]) {
        const a = vals(2 * n * n, n + k), b = vals(2 * n * k, 3 * n);
        for (let q = 0; q < 2; q++) for (let i = 0; i < n; i++) a[q * n * n + i * n + i] += n / 4;
        const [x] = solveF64([f64(a, [2, n, n]), f64(b, [2, n, k])], { transposeA }, [
          aval([2, n, k]),
        ])!;
        for (let q = 0; q < 2; q++) {
          const lu = a.slice(q * n * n, (q + 1) * n * n),
            want = b.slice(q * n * k, (q + 1) * n * k);
          const { perm } = luInPlace(lu, n);
          luSolveInPlace(lu, perm, want, n, k, transposeA);
          const e = maxAbs(x.subarray(q * n * k, (q + 1) * n * k), want);
          assert.ok(e < 1e-12, `n=${n} k=${k} transposeA=${transposeA}: ${e}`);
        }
      }
    }
  });

  test(`blocked Cholesky matches the host kernel (n = ${n}, batched, float64 and float32)`, () => {
    const a = vals(2 * n * n, 5 * n), s = new Float64Array(2 * n * n);
    for (let q = 0; q < 2; q++) { // s = a aᵀ / n + I, positive definite (and made asymmetric)
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let t = i === j ? 1 : 0;
          for (let p = 0; p < n; p++) t += a[q * n * n + i * n + p] * a[q * n * n + j * n + p] / n;
          s[q * n * n + i * n + j] = t + (i < j ? 0.01 : -0.01);
        }
      }
    }
    const [l] = choleskyFast(f64(s, [2, n, n]), aval([2, n, n]))!;
    const [l32] = choleskyFast(
      { data: Float32Array.from(s), shape: [2, n, n], dtype: "float32" },
      aval([2, n, n], "float32"),
    )!;
    assert.ok(l32 instanceof Float32Array);
    for (let q = 0; q < 2; q++) {
      const want = s.slice(q * n * n, (q + 1) * n * n);
      choleskyInPlace(want, n);
      const got = l.subarray(q * n * n, (q + 1) * n * n);
      assert.ok(maxAbs(got, want) < 1e-12, `float64: ${maxAbs(got, want)}`);
      const e32 = maxAbs(l32.subarray(q * n * n, (q + 1) * n * n), want);
      assert.ok(e32 < 1e-5, `float32: ${e32}`);
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) assert.equal(got[i * n + j], 0);
    }
  });
}

test("below the threshold the host kernels run (null)", () => {
  const n = BLOCKED_F64_MIN - 1;
  assert.equal(choleskyFast(f64(new Float64Array(n * n), [n, n]), aval([n, n])), null);
  const a = f64(new Float64Array(n * n), [n, n]), b = f64(new Float64Array(n), [n, 1]);
  assert.equal(solveF64([a, b], { transposeA: false }, [aval([n, 1])]), null);
});

test("not positive definite gives NaN, singular solve gives non-finite values (no throw)", () => {
  const n = 80, s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) s[i * n + i] = i === 40 ? -1 : 2;
  const [l] = choleskyFast(f64(s, [n, n]), aval([n, n]))!;
  assert.equal(l[0], Math.SQRT2);
  assert.ok(Number.isNaN(l[40 * n + 40]) && Number.isNaN(l[79 * n + 79]));
  const [x] = solveF64(
    [f64(new Float64Array(n * n), [n, n]), f64(new Float64Array(n).fill(1), [n, 1])],
    { transposeA: false },
    [aval([n, 1])],
  )!;
  assert.ok(x.every((v) => !Number.isFinite(v)));
});

test(
  "np.linalg.solve / cholesky (float64, n = 100) match NumPy, eager and jit",
  onCpu(async () => {
    const n = fx.n, k = fx.k, a = new Float64Array(n * n), b = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        a[i * n + j] = ((31 * i + 17 * j) % 23) / 23 - 0.5 + (i === j ? n / 4 : 0);
      }
      for (let c = 0; c < k; c++) b[i * k + c] = Math.cos(i + 2 * c);
    }
    const A = np.array(a, { shape: [n, n], dtype: "float64" });
    const B = np.array(b, { shape: [n, k], dtype: "float64" });
    const S = np.divide(np.matmul(A, np.transpose(A)), n);
    const close = (got: ArrayLike<number>, want: number[], what: string) => {
      const e = maxAbs(got, want);
      assert.ok(e < 1e-10, `${what}: ${e}`);
    };
    close(await np.linalg.solve(A, B).data(), fx.solve, "solve");
    close(await jit((x: Tensor, y: Tensor) => np.linalg.solve(x, y))(A, B).data(), fx.solve, "jit");
    close(await np.linalg.solve(np.transpose(A), B).data(), fx.solveT, "solve(aᵀ)");
    const L = np.linalg.cholesky(S), l = await L.data();
    close(Array.from({ length: n }, (_, i) => l[i * n + i]), fx.cholDiag, "diag(L)");
    close(l.subarray((n - 1) * n), fx.cholLastRow, "L[-1]");
    close(await np.sum(L, { axis: 1 }).data(), fx.cholRowSums, "L @ 1");
  }),
);
