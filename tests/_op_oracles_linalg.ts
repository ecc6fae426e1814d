/**
 * Naive oracles of the linalg primitives: Gauss-Jordan elimination on dense op(A), row-wise
 * (Banachiewicz) Cholesky, and determinants by cofactor expansion.
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

/** Oracles by primitive name. */
export const LINALG_ORACLES: Record<string, Oracle> = {
  triangularSolve: triOracle,
  cholesky: cholOracle,
  solve: (xs, p) => {
    const bs = mats(xs[1]);
    const out = mats(xs[0]).map((a, q) => gaussJordan(p.transposeA ? tr(a) : a, bs[q]));
    return { shape: [...xs[1].shape], data: flat(out) };
  },
  det: (xs) => ({ shape: xs[0].shape.slice(0, -2), data: dets(xs[0]) }),
  slogdet: (xs) => ({
    shape: xs[0].shape.slice(0, -2),
    data: dets(xs[0]).map((d) => Math.log(Math.abs(d))),
  }),
};
