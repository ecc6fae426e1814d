/**
 * Property tests of the linear-algebra primitives (issue 17: fast-check properties over new
 * primitives): np.linalg.solve, cholesky, det, inv and lax.linalg.triangularSolve with random
 * sizes, batch shapes and options on the cpu backend (eager and jit) against the reference
 * backend in float64 and the defining identities (A x = b, L Lᵀ = A, A A⁻¹ = I, det by
 * cofactor expansion); gradients against finite differences for a few.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { checkGrads, jit, lax, np, type Tensor } from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";
import { onBackend, prng } from "./_prop_util.ts";

/** True on every k-th call (the runs that also check gradients). */
let calls = 0;
const gradRun = (k: number) => calls++ % k === 0;
const SEED = 1719;
const RUNS = 10;
const f64 = (data: ArrayLike<number>, shape: number[]) =>
  np.array(Float64Array.from(data), { dtype: "float64", shape });
const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>, Number);
const close = (got: number[], want: number[], what: string, tol = 1e-9) => {
  assert.equal(got.length, want.length, `${what}: length ${got.length} vs ${want.length}`);
  const bad = allCloseReport(got, want, { rtol: tol, atol: tol });
  assert.equal(bad, null, `${what}: ${bad}`);
};
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Random matrices [...batch, n, n]: uniform entries, plus `diag` on the diagonal. */
function matrices(batch: number[], n: number, seed: number, diag: number): number[] {
  const r = prng(seed);
  return Array.from({ length: size(batch) * n * n }, (_, p) => {
    const i = Math.floor(p / n) % n, j = p % n;
    return 2 * r() - 1 + (i === j ? diag : 0);
  });
}
/** Each matrix times its transpose plus n I (symmetric positive definite). */
function spd(a: number[], count: number, n: number): number[] {
  const out = new Array(a.length).fill(0);
  for (let m = 0; m < count; m++) {
    const o = m * n * n;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? n : 0;
        for (let k = 0; k < n; k++) s += a[o + i * n + k] * a[o + j * n + k];
        out[o + i * n + j] = s;
      }
    }
  }
  return out;
}
/** Matrix product of each batch entry: [m, k] x [k, q]. */
function matmul(a: number[], b: number[], count: number, m: number, k: number, q: number) {
  const out = new Array(count * m * q).fill(0);
  for (let c = 0; c < count; c++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < q; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += a[c * m * k + i * k + t] * b[c * k * q + t * q + j];
        out[c * m * q + i * q + j] = s;
      }
    }
  }
  return out;
}
/** Determinant by cofactor expansion (n <= 4). */
function detOf(a: number[], n: number): number {
  if (n === 1) return a[0];
  let s = 0;
  for (let j = 0; j < n; j++) {
    const minor: number[] = [];
    for (let i = 1; i < n; i++) for (let c = 0; c < n; c++) if (c !== j) minor.push(a[i * n + c]);
    s += (j % 2 ? -1 : 1) * a[j] * detOf(minor, n - 1);
  }
  return s;
}

/** `f` on the reference backend, the cpu backend eager and the cpu backend under jit. */
function everywhere(f: (...a: Tensor[]) => Tensor, make: () => Tensor[]): number[][] {
  const run = (name: string, jitted: boolean) =>
    onBackend(name, () => vals((jitted ? jit(f) : f)(...make())));
  return [run("reference", false), run("cpu", false), run("cpu", true)];
}
function agree(results: number[][], what: string, tol = 1e-9): number[] {
  close(results[1], results[0], `${what}: cpu vs reference`, tol);
  close(results[2], results[0], `${what}: cpu jit vs reference`, tol);
  return results[0];
}

const batchArb = fc.array(fc.integer({ min: 1, max: 2 }), { minLength: 0, maxLength: 2 });
const nArb = fc.integer({ min: 1, max: 4 });

test("property: solve / inv / det (random size and batch) satisfy A x = b, A A⁻¹ = I, cofactors", () => {
  fc.assert(
    fc.property(batchArb, nArb, fc.integer({ min: 1, max: 3 }), fc.nat(), (batch, n, q, seed) => {
      const count = size(batch), a = matrices(batch, n, seed, n);
      const b = matrices(batch, Math.max(n, q), seed + 1, 0).slice(0, count * n * q);
      const A = () => f64(a, [...batch, n, n]);
      const x = agree(
        everywhere((p, r) => np.linalg.solve(p, r), () => [A(), f64(b, [...batch, n, q])]),
        `solve ${batch} n ${n}`,
      );
      close(matmul(a, x, count, n, n, q), b, "A x = b");
      const ai = agree(everywhere((p) => np.linalg.inv(p), () => [A()]), `inv ${batch} n ${n}`);
      const eye = Array.from(
        { length: count * n * n },
        (_, p) => (Math.floor((p % (n * n)) / n) === p % n ? 1 : 0),
      );
      close(matmul(a, ai, count, n, n, n), eye, "A A⁻¹ = I");
      const d = agree(everywhere((p) => np.linalg.det(p), () => [A()]), `det ${batch} n ${n}`);
      const want = Array.from(
        { length: count },
        (_, c) => detOf(a.slice(c * n * n, (c + 1) * n * n), n),
      );
      close(d, want, "det vs cofactor expansion");
      if (gradRun(3)) {
        checkGrads((p: Tensor) => np.linalg.det(p), [A()]);
        checkGrads((p: Tensor, r: Tensor) => np.linalg.solve(p, r), [
          A(),
          f64(b, [...batch, n, q]),
        ]);
        checkGrads((p: Tensor) => np.linalg.inv(p), [A()]);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test("property: cholesky (random SPD matrices) is lower triangular with L Lᵀ = A; grads", () => {
  fc.assert(
    fc.property(batchArb, nArb, fc.nat(), (batch, n, seed) => {
      const count = size(batch), a = spd(matrices(batch, n, seed, 0), count, n);
      const A = () => f64(a, [...batch, n, n]);
      const l = agree(everywhere((p) => np.linalg.cholesky(p), () => [A()]), `cholesky n ${n}`);
      const lt = l.map((_, p) => {
        const o = p - (p % (n * n)), i = Math.floor((p % (n * n)) / n), j = p % n;
        return l[o + j * n + i];
      });
      l.forEach((v, p) => {
        if (p % n > Math.floor((p % (n * n)) / n)) assert.equal(v, 0, `upper entry ${p}`);
      });
      close(matmul(l, lt, count, n, n, n), a, "L Lᵀ = A");
      if (gradRun(3)) {
        // through a symmetrization, so the finite differences stay on symmetric matrices
        const f = (p: Tensor) => np.linalg.cholesky(p.add(np.swapaxes(p, -1, -2)).mul(0.5));
        checkGrads(f, [A()]);
      }
    }),
    { seed: SEED, numRuns: RUNS },
  );
});

test("property: lax.linalg.triangularSolve (every option, batch) solves op(a) x = b or x op(a) = b", () => {
  fc.assert(
    fc.property(
      batchArb,
      nArb,
      fc.integer({ min: 1, max: 3 }),
      fc.record({ leftSide: fc.boolean(), lower: fc.boolean(), transposeA: fc.boolean() }),
      fc.boolean(),
      fc.nat(),
      (batch, n, q, o, unitDiagonal, seed) => {
        const count = size(batch), a = matrices(batch, n, seed, n);
        const bShape = o.leftSide ? [...batch, n, q] : [...batch, q, n];
        const b = matrices(batch, Math.max(n, q), seed + 1, 0).slice(0, count * n * q);
        const opts = { ...o, unitDiagonal };
        const ts = (p: Tensor, r: Tensor) => lax.linalg.triangularSolve(p, r, opts);
        const x = agree(
          everywhere(ts, () => [f64(a, [...batch, n, n]), f64(b, bShape)]),
          `triangularSolve ${JSON.stringify(opts)} n ${n}`,
        );
        // op(a): the chosen triangle (unit diagonal if asked), transposed if asked
        const t = a.map((v, p) => {
          const i = Math.floor((p % (n * n)) / n), j = p % n;
          if (i === j) return unitDiagonal ? 1 : v;
          return (o.lower ? i > j : i < j) ? v : 0;
        });
        const op = o.transposeA
          ? t.map((_, p) => {
            const base = p - (p % (n * n)), i = Math.floor((p % (n * n)) / n), j = p % n;
            return t[base + j * n + i];
          })
          : t;
        const back = o.leftSide ? matmul(op, x, count, n, n, q) : matmul(x, op, count, q, n, n);
        close(back, b, `op(a) x = b (${JSON.stringify(opts)})`);
        if (gradRun(4)) checkGrads(ts, [f64(a, [...batch, n, n]), f64(b, bShape)]);
      },
    ),
    { seed: SEED, numRuns: 16 },
  );
});
