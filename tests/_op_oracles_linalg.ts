/**
 * Naive oracles of the linalg primitives: Gauss-Jordan elimination on dense op(A), row-wise
 * (Banachiewicz) Cholesky, determinants by cofactor expansion, QR by explicit Householder
 * matrices, eigh by classical (largest pivot) Jacobi, singular values from eigenvalues of aᵀa.
 * @module
 */
import type { Host, Oracle, OracleOut } from "./_op_oracles.ts";

type Mat = number[][];

/** Matrices of a [..., r, c] host array. */
function mats(x: Host): Mat[] {
  const s = x.shape, r = s[s.length - 2], c = s[s.length - 1];
  const count = s.slice(0, -2).reduce((a, d) => a * d, 1);
  return Array.from(
    { length: count },
    (_, q) =>
      Array.from(
        { length: r },
        (_, i) => Array.from({ length: c }, (_, j) => Number(x.data[q * r * c + i * c + j])),
      ),
  );
}

const flat = (ms: Mat[]): number[] => ms.flatMap((m) => m.flat());
const tr = (m: Mat): Mat => m.length ? m[0].map((_, j) => m.map((row) => row[j])) : [];

/** Solves m x = b by Gauss-Jordan elimination with partial pivoting on [m | b]. */
function gaussJordan(m: Mat, b: Mat): Mat {
  const n = m.length, k = b.length ? b[0].length : 0;
  const aug = m.map((row, i) => [...row, ...b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(aug[i][c]) > Math.abs(aug[p][c])) p = i;
    [aug[c], aug[p]] = [aug[p], aug[c]];
    const piv = aug[c][c];
    aug[c] = aug[c].map((v) => v / piv);
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = aug[i][c];
      aug[i] = aug[i].map((v, j) => v - f * aug[c][j]);
    }
  }
  return aug.map((row) => row.slice(n, n + k));
}

function triOracle(xs: Host[], p: { lower: boolean; transposeA: boolean; unitDiagonal: boolean }) {
  const as = mats(xs[0]), bs = mats(xs[1]);
  const out = as.map((a, q) => {
    const t = a.map((row, i) =>
      row.map((v, j) => (i === j ? (p.unitDiagonal ? 1 : v) : (p.lower ? j < i : j > i) ? v : 0))
    );
    return gaussJordan(p.transposeA ? tr(t) : t, bs[q]);
  });
  return { shape: [...xs[1].shape], data: flat(out) };
}

function cholOracle(xs: Host[]): OracleOut {
  const out = mats(xs[0]).map((a) => {
    const n = a.length;
    const s = a.map((row, i) => row.map((v, j) => (v + a[j][i]) / 2));
    const l: Mat = s.map((row) => row.map(() => 0));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let acc = 0;
        for (let k = 0; k < j; k++) acc += l[i][k] * l[j][k];
        l[i][j] = i === j ? Math.sqrt(s[i][i] - acc) : (s[i][j] - acc) / l[j][j];
      }
    }
    return l;
  });
  return { shape: [...xs[0].shape], data: flat(out) };
}

function cofactorDet(m: Mat): number {
  if (m.length === 0) return 1;
  let d = 0;
  for (let j = 0; j < m.length; j++) {
    const minor = m.slice(1).map((row) => row.filter((_, c) => c !== j));
    d += (j % 2 ? -1 : 1) * m[0][j] * cofactorDet(minor);
  }
  return d;
}

const dets = (x: Host) => mats(x).map(cofactorDet);

const eye = (n: number): Mat =>
  Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));
const mm = (a: Mat, b: Mat): Mat =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));

/** QR as products of explicit reflectors H = I − 2 v vᵀ / vᵀv with H x = β e₁, β = −sign(x₀)‖x‖. */
function householderQr(a: Mat, complete: boolean): [Mat, Mat] {
  const m = a.length, n = a[0].length, k = Math.min(m, n);
  let r = a.map((row) => [...row]), q = eye(m);
  for (let j = 0; j < k; j++) {
    const x = r.slice(j).map((row) => row[j]);
    if (Math.hypot(...x.slice(1)) === 0) continue;
    const beta = (x[0] < 0 ? 1 : -1) * Math.hypot(...x);
    const v = x.map((t, i) => (i === 0 ? t - beta : t));
    const vv = v.reduce((s, t) => s + t * t, 0);
    const h = eye(m);
    for (let i = j; i < m; i++) {
      for (let l = j; l < m; l++) h[i][l] -= (2 * v[i - j] * v[l - j]) / vv;
    }
    r = mm(h, r);
    q = mm(q, h);
  }
  r = r.map((row, i) => row.map((t, j) => (j < i ? 0 : t)));
  return complete ? [q, r] : [q.map((row) => row.slice(0, k)), r.slice(0, k)];
}

/** Classical Jacobi on a symmetric matrix: eigenvalues ascending, vectors with largest entry > 0. */
function jacobiEig(s: Mat): { w: number[]; v: Mat } {
  const n = s.length;
  let a = s.map((row) => [...row]), v = eye(n);
  const fro = Math.hypot(...a.flat());
  for (let it = 0; it < 100 * n * n; it++) {
    let p = 0, q = 1, big = 0;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        if (Math.abs(a[i][j]) > big) (big = Math.abs(a[i][j])), (p = i), (q = j);
      }
    }
    if (big <= 1e-19 * fro) break;
    const th = 0.5 * Math.atan2(2 * a[p][q], a[q][q] - a[p][p]);
    const j = eye(n);
    j[p][p] = j[q][q] = Math.cos(th);
    j[p][q] = Math.sin(th);
    j[q][p] = -Math.sin(th);
    a = mm(tr(j), mm(a, j));
    v = mm(v, j);
  }
  const order = [...Array(n).keys()].sort((i, k) => a[i][i] - a[k][k]);
  const cols = order.map((c) => {
    const col = v.map((row) => row[c]);
    const big = col.reduce((b, t) => (Math.abs(t) > Math.abs(b) ? t : b), 0);
    return col.map((t) => (big < 0 ? -t : t));
  });
  return { w: order.map((i) => a[i][i]), v: tr(cols) };
}

const sym = (a: Mat): Mat => a.map((row, i) => row.map((t, j) => (t + a[j][i]) / 2));

/** Oracles by primitive name. */
export const LINALG_ORACLES: Record<string, Oracle> = {
  triangularSolve: triOracle,
  cholesky: cholOracle,
  solve: (xs, p) => {
    const bs = mats(xs[1]);
    const out = mats(xs[0]).map((a, q) => gaussJordan(p.transposeA ? tr(a) : a, bs[q]));
    return { shape: [...xs[1].shape], data: flat(out) };
  },
  qr: (xs, p) => ({
    shape: [
      ...xs[0].shape.slice(0, -1),
      p.fullMatrices ? xs[0].shape.at(-2)! : Math.min(...xs[0].shape.slice(-2)),
    ],
    data: flat(mats(xs[0]).map((a) => householderQr(a, p.fullMatrices)[0])),
  }),
  eigh: (xs) => ({
    shape: [...xs[0].shape],
    data: flat(mats(xs[0]).map((a) => jacobiEig(sym(a)).v)),
  }),
  svd: (xs) => {
    const s = xs[0].shape, k = Math.min(s.at(-1)!, s.at(-2)!);
    const vals = mats(xs[0]).flatMap((a) => {
      const g = a.length >= a[0].length ? mm(tr(a), a) : mm(a, tr(a));
      return jacobiEig(g).w.map((l) => Math.sqrt(Math.max(l, 0))).reverse();
    });
    return { shape: [...s.slice(0, -2), k], data: vals };
  },
  det: (xs) => ({ shape: xs[0].shape.slice(0, -2), data: dets(xs[0]) }),
  slogdet: (xs) => ({
    shape: xs[0].shape.slice(0, -2),
    data: dets(xs[0]).map((d) => Math.log(Math.abs(d))),
  }),
};
