/**
 * eigh through Householder tridiagonalization + implicit QL (lib/ops/eigh_tridiag.ts, orders ≥
 * EIGH_QL_MIN): residual and orthogonality on random, graded, degenerate and structured matrices;
 * ascending eigenvalues and sign normalization as the Jacobi path; NumPy fixture (n = 40); the
 * primitive's gradient still matches finite differences at such an order. The SVD's one-sided
 * Jacobi started from the Gram matrix's eigenvectors: reconstruction, orthogonality, order.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, np, type Tensor } from "../mod.ts";
import { EIGH_QL_MIN, eighHost, svdHost } from "../lib/ops/linalg_decomp_host.ts";
import fx from "./fixtures/linalg_blocked_cases.json" with { type: "json" };
import { vals } from "./_linalg_util.ts";

/** Checks S v = v w, vᵀ v = I, ascending w, each column's largest entry positive. */
function checkEigh(a: Float64Array, n: number, what: string): void {
  const { w, v } = eighHost(a, n);
  let scale = 1e-300;
  for (const x of a) scale = Math.max(scale, Math.abs(x));
  for (let j = 0; j < n; j++) {
    let big = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += ((a[i * n + k] + a[k * n + i]) / 2) * v[k * n + j];
      const r = Math.abs(s - w[j] * v[i * n + j]);
      assert.ok(r < 1e-12 * n * scale, `${what}: residual ${r} (column ${j})`);
      if (Math.abs(v[i * n + j]) > Math.abs(big)) big = v[i * n + j];
    }
    assert.ok(big > 0, `${what}: column ${j} sign`);
    if (j > 0) assert.ok(w[j] >= w[j - 1], `${what}: ascending`);
    for (let q = 0; q <= j; q++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += v[k * n + q] * v[k * n + j];
      assert.ok(Math.abs(s - (q === j ? 1 : 0)) < 1e-12 * n, `${what}: orthogonality ${q},${j}`);
    }
  }
}

test("random symmetric and nonsymmetric inputs across the switch-over order", () => {
  for (const n of [EIGH_QL_MIN - 1, EIGH_QL_MIN, 13, 31, 64, 100]) {
    checkEigh(vals(n * n, n), n, `n=${n}`);
  }
});

test("degenerate and structured matrices", () => {
  const n = 24, eye = new Float64Array(n * n), diag = new Float64Array(n * n);
  for (let i = 0; i < n; i++) eye[i * n + i] = 1, diag[i * n + i] = i % 3;
  const rank1 = new Float64Array(n * n), u = vals(n, 3);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rank1[i * n + j] = u[i] * u[j];
  const graded = vals(n * n, 9).map((x, k) => x * 10 ** -((k % n) / 3));
  const tri = new Float64Array(n * n); // already tridiagonal (every reflector is trivial)
  for (let i = 0; i < n; i++) {
    tri[i * n + i] = 2;
    if (i + 1 < n) tri[i * n + i + 1] = tri[(i + 1) * n + i] = -1;
  }
  const cases = { eye, diag, rank1, graded, tri, zero: new Float64Array(n * n) };
  for (const [k, a] of Object.entries(cases)) checkEigh(a, n, k);
  const w = eighHost(diag, n).w;
  assert.deepEqual([...w], [...diag.filter((_, k) => k % (n + 1) === 0)].sort((x, y) => x - y));
  // the -1, 2, -1 matrix: eigenvalues 2 - 2 cos(kπ/(n+1))
  eighHost(tri, n).w.forEach((x, k) => {
    assert.ok(Math.abs(x - (2 - 2 * Math.cos(((k + 1) * Math.PI) / (n + 1)))) < 1e-13);
  });
});

test("NaN and Inf give NaN", () => {
  const a = vals(20 * 20, 4);
  a[7] = NaN;
  assert.ok(eighHost(a, 20).w.every(Number.isNaN));
  a[7] = Infinity;
  assert.ok(eighHost(a, 20).v.every(Number.isNaN));
});

test("np.linalg.eigh (n = 40) matches NumPy", async () => {
  const n = 40, m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      m[i * n + j] = Math.sin(0.3 * (i + 1) * (j + 1)) + 0.5 * Math.cos(i - j) +
        (i === j ? 0.25 * i : 0);
    }
  }
  const [w, v] = np.linalg.eigh(np.array(m, { shape: [n, n], dtype: "float64" }));
  const wd = await w.data(), vd = await v.data();
  wd.forEach((x, i) => assert.ok(Math.abs(x - fx.eighW[i]) < 1e-11, `w[${i}]`));
  for (let j = 0; j < n; j++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.abs(vd[i * n + j]);
    assert.ok(Math.abs(s - fx.eighAbsColSums[j]) < 1e-9, `|v[:, ${j}]|`);
  }
});

test("eigh's gradient at order 14 matches finite differences", () => {
  const n = 14, a = np.array(vals(n * n, 21), { shape: [n, n], dtype: "float64" });
  const loss = (x: Tensor) => {
    const [w, v] = np.linalg.eigh(x);
    return np.add(
      np.sum(np.multiply(w, np.arange(n))),
      np.sum(np.square(np.slice(v, [0, 0], [3, n]))),
    );
  };
  checkGrads(loss, [a], { atol: 1e-5 });
});

/** Checks a = u diag(s) vᵀ, uᵀu = I, v vᵀ = I, s descending and ≥ 0. */
function checkSvd(
  a: Float64Array,
  m: number,
  n: number,
  full: boolean,
  what: string,
): Float64Array {
  const { u, s, vt } = svdHost(a, m, n, full), k = Math.min(m, n);
  const uc = u.length / m, vr = vt.length / n;
  assert.equal(uc, full ? m : k), assert.equal(vr, full ? n : k);
  let scale = 1e-300;
  for (const x of a) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let t = 0;
      for (let p = 0; p < k; p++) t += u[i * uc + p] * s[p] * vt[p * n + j];
      assert.ok(Math.abs(t - a[i * n + j]) < 1e-13 * k * scale, `${what}: reconstruction`);
    }
  }
  const gram = (x: Float64Array, rows: number, cols: number, byCols: boolean, label: string) => {
    const cnt = byCols ? cols : rows, len = byCols ? rows : cols;
    const at = (v: number, t: number) => byCols ? x[t * cols + v] : x[v * cols + t];
    for (let p = 0; p < cnt; p++) {
      for (let q = 0; q <= p; q++) {
        let d = 0;
        for (let t = 0; t < len; t++) d += at(p, t) * at(q, t);
        assert.ok(Math.abs(d - (p === q ? 1 : 0)) < 1e-12 * len, `${what}: ${label} ${p},${q}`);
      }
    }
  };
  gram(u, m, uc, true, "uᵀu"), gram(vt, vr, n, false, "v vᵀ");
  for (let p = 1; p < k; p++) assert.ok(s[p] <= s[p - 1] && s[p] >= 0, `${what}: order`);
  return s;
}

test("svd started from the Gram eigenvectors: square, tall, wide, graded, rank-deficient", () => {
  for (const [m, n] of [[40, 40], [60, 20], [20, 60], [13, 12]]) {
    checkSvd(vals(m * n, m + n), m, n, false, `${m}x${n}`);
    checkSvd(vals(m * n, m * n), m, n, true, `${m}x${n} full`);
  }
  const n = 30, graded = vals(n * n, 5).map((x, k) => x * 10 ** -(k % n % 12));
  checkSvd(graded, n, n, false, "graded");
  const low = new Float64Array(40 * 30), f = vals(40 * 3, 6), g = vals(3 * 30, 7);
  for (let i = 0; i < 40; i++) {
    for (let j = 0; j < 30; j++) {
      for (let p = 0; p < 3; p++) low[i * 30 + j] += f[i * 3 + p] * g[p * 30 + j];
    }
  }
  const s = checkSvd(low, 40, 30, true, "rank 3");
  assert.ok(s[3] < 1e-13 * s[0], `rank 3: s[3] = ${s[3]}`);
});

test("singular values of a symmetric matrix are |eigenvalues| (NumPy fixture, n = 40)", () => {
  const n = 40, m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      m[i * n + j] = Math.sin(0.3 * (i + 1) * (j + 1)) + 0.5 * Math.cos(i - j) +
        (i === j ? 0.25 * i : 0);
    }
  }
  const want = fx.eighW.map(Math.abs).sort((x, y) => y - x);
  svdHost(m, n, n, false).s.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-11, `s[${i}]`));
});
