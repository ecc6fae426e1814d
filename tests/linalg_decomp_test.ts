/**
 * np.linalg.qr / eigh / svd / lstsq / pinv and matrix norms 2, −2, "nuc": NumPy fixtures
 * (tests/fixtures/linalg_decomp_cases.json, from gen_linalg_fixtures.py) in float64 and float32,
 * properties (Q orthogonal, QR = A, U S Vᵀ = A, A v = λ v), gradients of sign-invariant losses vs
 * finite differences, vmap vs a loop, jit vs eager, errors.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, jit, jvp, np, type Tensor, vmap } from "../mod.ts";
import data from "./fixtures/linalg_decomp_cases.json" with { type: "json" };

interface Arr {
  shape: number[];
  data: (number | string)[];
}
interface Case {
  name: string;
  fn: string;
  args: Arr[];
  kwargs: Record<string, unknown>;
  expected: (Arr | null)[];
}
type F = "float32" | "float64";

const num = (v: number | string) => (typeof v === "string" ? Number(v) : v);
const arr = (a: Arr, dtype: F) => np.array(a.data.map(num), { dtype }).reshape(a.shape);

// deno-lint-ignore no-explicit-any
const FNS: Record<string, (...xs: any[]) => Tensor | Tensor[]> = {
  qr: np.linalg.qr,
  eigh: np.linalg.eigh,
  svd: np.linalg.svd,
  lstsq: np.linalg.lstsq,
  pinv: np.linalg.pinv,
  norm: np.linalg.norm,
};

function close(got: Tensor, want: Arr, tol: number, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const g = got.dataSync();
  want.data.map(num).forEach((w, i) => {
    const ok = w === g[i] || Math.abs(g[i] - w) <= tol * (1 + Math.abs(w));
    assert.ok(ok, `${what}: element ${i}: got ${g[i]}, want ${w}`);
  });
}

for (const c of (data as unknown as { cases: Case[] }).cases) {
  // float32 inputs of rank-deficient matrices are full rank at float32 noise level
  const dtypes: F[] = /rank/.test(c.name) && c.fn !== "svd" ? ["float64"] : ["float64", "float32"];
  for (const dtype of dtypes) {
    test(`linalg decomposition fixture: ${c.name} (${dtype})`, () => {
      const args = c.args.map((a) => arr(a, dtype));
      const extra = Object.keys(c.kwargs).length ? [c.kwargs] : [];
      const r = FNS[c.fn](...args, ...extra);
      const outs = Array.isArray(r) ? r : [r];
      assert.equal(outs.length, c.expected.length);
      outs.forEach((o, k) => {
        const want = c.expected[k];
        if (want === null) return;
        assert.equal(o.dtype, c.fn === "lstsq" && k === 2 ? "int32" : dtype);
        close(o, want, dtype === "float64" ? 1e-10 : 1e-4, `${c.name} output ${k}`);
      });
    });
  }
}

/** Deterministic values in [-1, 1). */
function rand(shape: number[], dtype: F, seed: number): Tensor {
  let s = seed >>> 0;
  const n = shape.reduce((a, b) => a * b, 1);
  const v = Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
  return np.array(v, { dtype }).reshape(shape);
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.dataSync(), y = b.dataSync();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
const eyeLike = (k: number, batch: number[], dtype: F) =>
  np.broadcastTo(np.eye(k, { dtype }), [...batch, k, k]);
const gram = (q: Tensor) => np.matmul(np.swapaxes(q, -1, -2), q);
const TOL = { float32: 2e-5, float64: 1e-12 };

test("qr: Q has orthonormal columns, R is upper triangular, QR = A", () => {
  for (const dtype of ["float64", "float32"] as F[]) {
    for (const shape of [[5, 3], [3, 5], [4, 4], [2, 3, 6, 2], [1, 1], [0, 3]]) {
      const a = rand(shape, dtype, 7);
      for (const mode of ["reduced", "complete"] as const) {
        const [q, r] = np.linalg.qr(a, { mode });
        const [m, n] = shape.slice(-2), b = shape.slice(0, -2);
        const qc = q.shape[q.shape.length - 1];
        assert.deepEqual(r.shape, [...b, mode === "complete" ? m : Math.min(m, n), n]);
        assert.ok(maxAbsDiff(gram(q), eyeLike(qc, b, dtype)) < TOL[dtype] * 4, `${shape} QᵀQ`);
        assert.ok(maxAbsDiff(np.matmul(q, r), a) < TOL[dtype] * 4, `${shape} ${mode} QR = A`);
        assert.ok(maxAbsDiff(np.triu(r), r) === 0, `${shape} R upper`);
      }
      assert.deepEqual(np.linalg.qr(a, { mode: "r" }).dataSync(), np.linalg.qr(a)[1].dataSync());
    }
  }
});

test("eigh: A v = v diag(w), v orthogonal, w ascending", () => {
  for (const dtype of ["float64", "float32"] as F[]) {
    for (const shape of [[5, 5], [3, 4, 4], [1, 1], [12, 12]]) {
      const x = rand(shape, dtype, 11);
      const a = np.add(x, np.swapaxes(x, -1, -2));
      const [w, v] = np.linalg.eigh(a);
      const k = shape[shape.length - 1], b = shape.slice(0, -2);
      assert.ok(maxAbsDiff(np.matmul(a, v), np.multiply(v, np.expandDims(w, -2))) < TOL[dtype] * 8);
      assert.ok(maxAbsDiff(gram(v), eyeLike(k, b, dtype)) < TOL[dtype] * 4);
      const wd = w.dataSync();
      for (let i = 1; i < wd.length; i++) if (i % k) assert.ok(wd[i - 1] <= wd[i], "ascending");
    }
  }
  // repeated eigenvalues still give an orthonormal basis
  const [w, v] = np.linalg.eigh(np.eye(3, { dtype: "float64" }));
  assert.deepEqual([...w.dataSync()], [1, 1, 1]);
  assert.ok(maxAbsDiff(gram(v), np.eye(3, { dtype: "float64" })) < 1e-15);
});

test("svd: U S Vᵀ = A, orthonormal factors, full and reduced, float32 accurate", () => {
  for (const dtype of ["float64", "float32"] as F[]) {
    for (const shape of [[6, 4], [4, 6], [5, 5], [2, 3, 7, 3], [1, 3], [3, 1]]) {
      const a = rand(shape, dtype, 3);
      const [m, n] = shape.slice(-2), b = shape.slice(0, -2), k = Math.min(m, n);
      for (const full of [true, false]) {
        const [u, s, vh] = np.linalg.svd(a, { fullMatrices: full });
        assert.deepEqual(u.shape, [...b, m, full ? m : k]);
        assert.deepEqual(vh.shape, [...b, full ? n : k, n]);
        assert.ok(maxAbsDiff(gram(u), eyeLike(full ? m : k, b, dtype)) < TOL[dtype] * 4);
        assert.ok(
          maxAbsDiff(gram(np.swapaxes(vh, -1, -2)), eyeLike(full ? n : k, b, dtype)) <
            TOL[dtype] * 4,
        );
        const uk = np.slice(u, "...", `:${k}`), vk = np.slice(vh, "...", `:${k}`, ":");
        assert.ok(
          maxAbsDiff(np.matmul(np.multiply(uk, np.expandDims(s, -2)), vk), a) < TOL[dtype] * 4,
        );
      }
    }
  }
  // rank deficient: zero singular values, U still orthogonal
  const low = np.matmul(rand([6, 2], "float64", 1), rand([2, 5], "float64", 2));
  const [u, s] = np.linalg.svd(low);
  assert.ok(s.dataSync()[2] < 1e-14 && s.dataSync()[1] > 0.01);
  assert.ok(maxAbsDiff(gram(u), np.eye(6, { dtype: "float64" })) < 1e-13);
  // graded singular values keep float32 relative accuracy
  const d = np.array([[1e4, 0], [0, 1e-3]], { dtype: "float32" });
  const sv = np.linalg.svd(np.matmul(np.linalg.qr(rand([2, 2], "float32", 5))[0], d), {
    computeUv: false,
  });
  assert.ok(
    Math.abs(sv.dataSync()[1] - 1e-3) < 1e-3 * 1e-3,
    `small singular value ${sv.dataSync()[1]}`,
  );
});

test("NaN input propagates through the decompositions", () => {
  const a = np.array([[1, NaN], [0, 1]], { dtype: "float64" });
  assert.ok(np.linalg.svd(a, { computeUv: false }).dataSync().every(Number.isNaN));
  assert.ok(np.linalg.eigh(a)[0].dataSync().every(Number.isNaN));
  assert.ok(np.linalg.qr(a)[1].dataSync().some(Number.isNaN));
});

const A43 = np.array([[4, 1, 0.5], [1, 3, -0.2], [0.5, -0.2, 2], [1, 2, 3]], { dtype: "float64" });
const S3 = np.array([[4, 1, 0.5], [1, 3, -0.2], [0.5, -0.2, 2]], { dtype: "float64" });

test("gradients of qr, eigh, svd, lstsq, pinv and matrix norms match finite differences", () => {
  const sq = (t: Tensor) => np.multiply(t, t);
  const fns: [string, (a: Tensor) => Tensor, Tensor, 1 | 2][] = [
    ["qr q tall", (a) => np.linalg.qr(a)[0], A43, 2],
    ["qr r tall", (a) => np.linalg.qr(a)[1], A43, 1],
    ["qr q wide", (a) => np.linalg.qr(a)[0], A43.T, 1],
    ["qr r wide", (a) => np.linalg.qr(a)[1], A43.T, 1],
    ["qr complete square", (a) => np.linalg.qr(a, { mode: "complete" })[0], S3, 1],
    ["eigh w", (a) => np.linalg.eigh(a)[0], S3, 2],
    ["eigh v²", (a) => sq(np.linalg.eigh(a)[1]), S3, 2],
    [
      "eigh v exp(w) vᵀ",
      (a) => {
        const [w, v] = np.linalg.eigh(a);
        return np.matmul(np.multiply(v, np.expandDims(np.exp(w), -2)), v.T);
      },
      S3,
      1,
    ],
    ["eigh UPLO U", (a) => sq(np.linalg.eigh(a, { UPLO: "U", symmetrizeInput: false })[1]), S3, 1],
    ["svd s tall", (a) => np.linalg.svd(a, { computeUv: false }), A43, 2],
    ["svd s wide", (a) => np.linalg.svd(a, { computeUv: false }), A43.T, 1],
    ["svd u² tall", (a) => sq(np.linalg.svd(a, { fullMatrices: false })[0]), A43, 1],
    ["svd vh² tall", (a) => sq(np.linalg.svd(a, { fullMatrices: false })[2]), A43, 1],
    [
      "svd polar u vh wide",
      (a) => {
        const [u, , vh] = np.linalg.svd(a, { fullMatrices: false });
        return np.matmul(u, vh);
      },
      A43.T,
      1,
    ],
    ["svd full square u²", (a) => sq(np.linalg.svd(a)[0]), S3, 1],
    ["pinv", (a) => np.linalg.pinv(a), A43, 1],
    ["lstsq x", (a) => np.linalg.lstsq(a, [1, 2, 0.5, -1])[0], A43, 1],
    ["norm 2", (a) => np.linalg.norm(a, { ord: 2 }), A43, 1],
    ["norm nuc", (a) => np.linalg.norm(a, { ord: "nuc" }), A43, 1],
  ];
  for (const [name, f, x, order] of fns) {
    assert.doesNotThrow(() => checkGrads(f, [x], { order }), name);
  }
});

test("derivatives JAX does not define are clear errors", () => {
  const dx = np.onesLike(A43);
  assert.throws(
    () => jvp((a: Tensor) => np.linalg.svd(a)[0], [A43], [dx]),
    /svd: the derivative with fullMatrices/,
  );
  assert.throws(
    () => jvp((a: Tensor) => np.linalg.qr(a, { mode: "complete" })[0], [A43], [dx]),
    /qr: the derivative of mode "complete" needs a square/,
  );
});

test("vmap matches a loop and jit matches eager", () => {
  const as = np.stack([A43, np.multiply(A43, 2), np.add(A43, 1)]);
  const f = (a: Tensor) => {
    const [q, r] = np.linalg.qr(a);
    const [w, v] = np.linalg.eigh(np.matmul(a.T, a));
    const [u, s, vh] = np.linalg.svd(a, { fullMatrices: false });
    return np.concatenate([
      np.ravel(np.multiply(q, q)),
      np.ravel(r),
      w,
      np.ravel(np.abs(v)),
      np.ravel(np.matmul(u, vh)),
      s,
      np.ravel(np.linalg.pinv(a)),
      np.linalg.lstsq(a, [1, 2, 3, 4])[0],
    ]);
  };
  const batched = vmap(f)(as);
  const looped = np.stack([0, 1, 2].map((i) => f(as.slice(i))));
  assert.ok(maxAbsDiff(batched, looped) < 1e-12);
  assert.ok(maxAbsDiff(jit(f)(A43), f(A43)) < 1e-12);
  const g = jit((a: Tensor) => np.linalg.norm(a, { ord: -2, axis: [1, 2] }));
  assert.ok(maxAbsDiff(g(as), np.linalg.norm(as, { ord: -2, axis: [1, 2] })) < 1e-12);
});

test("errors name the op and the argument", () => {
  assert.throws(() => np.linalg.qr([1, 2]), /qr: a must be at least 2-d, got shape \[2\]/);
  assert.throws(() => np.linalg.qr(A43, { mode: "full" } as never), /qr: mode must be/);
  assert.throws(() => np.linalg.eigh(A43), /eigh: a must be square.*\[4,3\]/);
  assert.throws(() => np.linalg.eigh(S3, { UPLO: "X" } as never), /eigh: UPLO must be "L" or "U"/);
  assert.throws(
    () => np.linalg.svd(A43, { fullMatrix: false } as never),
    /did you mean "fullMatrices"/,
  );
  assert.throws(() => np.linalg.svd(A43, { hermitian: true }), /svd: hermitian needs square/);
  assert.throws(() => np.linalg.lstsq(A43, [1, 2]), /lstsq: a must be \[m, n\]/);
  assert.throws(() => np.linalg.pinv(A43, { rtl: 1 } as never), /did you mean "rtol"/);
  assert.throws(() => np.linalg.norm(A43, { ord: 3 }), /norm: matrix ord 3 is not supported/);
});

test("hermitian svd and pinv read the symmetric part; int input computes in float32", () => {
  const s = np.linalg.svd(S3, { hermitian: true, computeUv: false });
  const w = np.linalg.eigh(S3)[0].dataSync();
  const want = [...w].map(Math.abs).sort((x, y) => y - x);
  s.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
  assert.ok(maxAbsDiff(np.linalg.pinv(S3, { hermitian: true }), np.linalg.inv(S3)) < 1e-12);
  assert.equal(np.linalg.svd([[1, 2], [3, 4]], { computeUv: false }).dtype, "float32");
});
