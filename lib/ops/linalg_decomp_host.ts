/**
 * Host (float64) kernels of the decompositions: Householder QR (LAPACK's reflector signs),
 * cyclic Jacobi (small) or tridiagonal QL (eigh_tridiag.ts) for symmetric eigenproblems, and
 * one-sided (Hestenes) Jacobi for the SVD.
 * Eigenvectors and right singular vectors are sign-normalized (largest-magnitude entry positive).
 * @module
 */

import { type EighAccel, eighTridiagQl } from "./eigh_tridiag.ts";

const EPS = 2.220446049250313e-16;
/** Symmetric eigenproblems of at least this order use tridiagonalization + implicit QL. */
export const EIGH_QL_MIN = 12;

/** Householder QR of one m×n row-major matrix: q m×(complete ? m : k), r (complete ? m : k)×n. */
export function qrHost(
  a: Float64Array,
  m: number,
  n: number,
  complete: boolean,
): { q: Float64Array; r: Float64Array } {
  const k = Math.min(m, n), w = a.slice();
  const vs: Float64Array[] = [], taus: number[] = [];
  for (let j = 0; j < k; j++) {
    const alpha = w[j * n + j];
    let xn = 0;
    for (let i = j + 1; i < m; i++) xn = Math.hypot(xn, w[i * n + j]);
    const v = new Float64Array(m - j);
    v[0] = 1;
    if (xn === 0) { // no reflection (LAPACK: tau = 0, beta = alpha)
      vs.push(v), taus.push(0);
      continue;
    }
    const beta = (alpha < 0 ? 1 : -1) * Math.hypot(alpha, xn);
    const tau = (beta - alpha) / beta, scale = 1 / (alpha - beta);
    for (let i = j + 1; i < m; i++) v[i - j] = w[i * n + j] * scale;
    w[j * n + j] = beta;
    for (let i = j + 1; i < m; i++) w[i * n + j] = 0;
    applyReflector(w, n, j, j + 1, n, v, tau);
    vs.push(v), taus.push(tau);
  }
  const qc = complete ? m : k, rr = complete ? m : k;
  const q = new Float64Array(m * qc);
  for (let i = 0; i < qc; i++) q[i * qc + i] = 1;
  for (let j = k - 1; j >= 0; j--) applyReflector(q, qc, j, j, qc, vs[j], taus[j]);
  const r = new Float64Array(rr * n);
  for (let i = 0; i < Math.min(rr, m); i++) {
    for (let c = i; c < n; c++) r[i * n + c] = w[i * n + c];
  }
  return { q, r };
}

/** Applies (I − τ v vᵀ) to rows j.. of the columns c0..c1 of a row-major matrix with `cols` columns. */
function applyReflector(
  x: Float64Array,
  cols: number,
  j: number,
  c0: number,
  c1: number,
  v: Float64Array,
  tau: number,
): void {
  if (tau === 0) return;
  for (let c = c0; c < c1; c++) {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i] * x[(j + i) * cols + c];
    s *= tau;
    for (let i = 0; i < v.length; i++) x[(j + i) * cols + c] -= s * v[i];
  }
}

/** Flips columns of the n-row matrix `v` (row-major, `cols` columns) so each largest entry is positive. */
function normalizeSigns(v: Float64Array, rows: number, cols: number, other?: Float64Array): void {
  for (let c = 0; c < cols; c++) {
    let best = 0;
    for (let i = 0; i < rows; i++) {
      if (Math.abs(v[i * cols + c]) > Math.abs(best)) best = v[i * cols + c];
    }
    if (best >= 0) continue;
    for (let i = 0; i < rows; i++) v[i * cols + c] = -v[i * cols + c];
    if (other) { for (let i = 0; i < other.length / cols; i++) other[i * cols + c] *= -1; }
  }
}

/** Rotation (c, s) zeroing the off-diagonal of [[app, apq], [apq, aqq]] by Jᵀ A J. */
function jacobiRotation(app: number, aqq: number, apq: number): [number, number] {
  const tau = (aqq - app) / (2 * apq);
  const t = (tau >= 0 ? 1 : -1) / (Math.abs(tau) + Math.hypot(1, tau));
  const c = 1 / Math.hypot(1, t);
  return [c, t * c];
}

/**
 * Eigen-decomposition of the symmetric n×n matrix (a + aᵀ)/2 (cyclic Jacobi below order
 * EIGH_QL_MIN, else Householder tridiagonalization + implicit QL): eigenvalues `w`
 * ascending, eigenvectors as the columns of `v` (row-major). NaN input gives NaN output.
 * `accel`: the CPU backend's Wasm paths for the tridiagonal route.
 */
export function eighHost(
  a: Float64Array,
  n: number,
  accel?: EighAccel,
): { w: Float64Array; v: Float64Array } {
  const s = new Float64Array(n * n);
  let fro = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      s[i * n + j] = (a[i * n + j] + a[j * n + i]) / 2;
      fro = Math.hypot(fro, s[i * n + j]);
    }
  }
  const v = new Float64Array(n * n), w = new Float64Array(n);
  if (!Number.isFinite(fro)) return { w: w.fill(NaN), v: v.fill(NaN) };
  const { w: ev, zt: vc } = n >= EIGH_QL_MIN ? eighTridiagQl(s, n, accel) : jacobiEigh(s, n, fro);
  const order = [...Array(n).keys()].sort((i, j) => ev[i] - ev[j]);
  const vs = new Float64Array(n * n);
  order.forEach((src, dst) => {
    w[dst] = ev[src];
    for (let i = 0; i < n; i++) vs[i * n + dst] = vc[src * n + i];
  });
  normalizeSigns(vs, n, n);
  return { w, v: vs };
}

/** Cyclic Jacobi on the symmetric `s` (overwritten): eigenvalues and eigenvectors as rows. */
function jacobiEigh(
  s: Float64Array,
  n: number,
  fro: number,
): { w: Float64Array; zt: Float64Array } {
  const vc = new Float64Array(n * n); // eigenvectors as contiguous columns: vc[j·n + i] = v[i][j]
  for (let i = 0; i < n; i++) vc[i * n + i] = 1;
  const thr = EPS * 1e-3 * fro;
  for (let sweep = 0, rotated = true; rotated && sweep < 100; sweep++) {
    rotated = false;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = s[p * n + q];
        if (Math.abs(apq) <= thr) continue;
        rotated = true;
        const app = s[p * n + p], aqq = s[q * n + q];
        const [c, sn] = jacobiRotation(app, aqq, apq), t = sn / c;
        // rows p, q of Jᵀ A J off the 2×2 block are those of Jᵀ A; columns follow by symmetry
        rotateSegments(s, p * n, q * n, n, c, sn);
        for (let k = 0; k < n; k++) (s[k * n + p] = s[p * n + k]), (s[k * n + q] = s[q * n + k]);
        s[p * n + p] = app - t * apq;
        s[q * n + q] = aqq + t * apq;
        s[p * n + q] = s[q * n + p] = 0;
        rotateSegments(vc, p * n, q * n, n, c, sn);
      }
    }
  }
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = s[i * n + i];
  return { w, zt: vc };
}

/** x[p..p+len) , x[q..q+len) ← (c x_p − s x_q, s x_p + c x_q). */
function rotateSegments(x: Float64Array, p: number, q: number, len: number, c: number, s: number) {
  for (let k = 0; k < len; k++) {
    const xp = x[p + k], xq = x[q + k];
    x[p + k] = c * xp - s * xq;
    x[q + k] = s * xp + c * xq;
  }
}

/** Result of {@link svdHost}: u m×uc, s descending, vt vr×n (row-major). */
export interface SvdHost {
  u: Float64Array;
  s: Float64Array;
  vt: Float64Array;
}

/**
 * SVD of one m×n row-major matrix by one-sided Jacobi (on aᵀ when m < n). `full`: u m×m and
 * vt n×n, else m×k and k×n. Singular values descend; each right singular vector's largest entry is positive.
 */
export function svdHost(a: Float64Array, m: number, n: number, full: boolean): SvdHost {
  if (m < n) {
    const t = new Float64Array(n * m);
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) t[j * m + i] = a[i * n + j];
    const r = svdTall(t, n, m, full); // aᵀ = U' S V'ᵀ ⇒ a = V' S U'ᵀ
    const uc = r.vt.length / m, vr = r.u.length / n;
    const u = new Float64Array(m * uc), vt = new Float64Array(vr * n);
    for (let i = 0; i < uc; i++) for (let j = 0; j < m; j++) u[j * uc + i] = r.vt[i * m + j];
    for (let i = 0; i < n; i++) for (let j = 0; j < vr; j++) vt[j * n + i] = r.u[i * vr + j];
    // sign rule on the right vectors of a
    const k = m;
    for (let c = 0; c < k; c++) {
      let best = 0;
      for (let i = 0; i < n; i++) {
        if (Math.abs(vt[c * n + i]) > Math.abs(best)) best = vt[c * n + i];
      }
      if (best >= 0) continue;
      for (let i = 0; i < n; i++) vt[c * n + i] = -vt[c * n + i];
      for (let i = 0; i < m; i++) u[i * uc + c] = -u[i * uc + c];
    }
    return { u, s: r.s, vt };
  }
  return svdTall(a, m, n, full);
}

/** One-sided Jacobi for m ≥ n. */
function svdTall(a: Float64Array, m: number, n: number, full: boolean): SvdHost {
  const g = a.slice(), v = new Float64Array(n * n);
  const uc = full ? m : n;
  if (a.some((x) => !Number.isFinite(x))) {
    return {
      u: new Float64Array(m * uc).fill(NaN),
      s: new Float64Array(n).fill(NaN),
      vt: v.fill(NaN),
    };
  }
  // columns stored contiguously: gc[j·m + k] = g[k][j], vc[j·n + i] = v[i][j]
  const gc = new Float64Array(m * n), vc = new Float64Array(n * n), sq = new Float64Array(n);
  if (n >= EIGH_QL_MIN) preconditionSvd(g, m, n, gc, vc);
  else {
    for (let k = 0; k < m; k++) for (let j = 0; j < n; j++) gc[j * m + k] = g[k * n + j];
    for (let i = 0; i < n; i++) vc[i * n + i] = 1;
  }
  const dot = (p: number, q: number) => {
    let d = 0;
    for (let k = 0, po = p * m, qo = q * m; k < m; k++) d += gc[po + k] * gc[qo + k];
    return d;
  };
  for (let sweep = 0, rotated = true; rotated && sweep < 100; sweep++) {
    rotated = false;
    for (let j = 0; j < n; j++) sq[j] = dot(j, j);
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const gamma = dot(p, q), alpha = sq[p], beta = sq[q];
        if (gamma === 0 || Math.abs(gamma) <= m * EPS * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const [c, s] = jacobiRotation(alpha, beta, gamma), t = s / c;
        rotateSegments(gc, p * m, q * m, m, c, s);
        rotateSegments(vc, p * n, q * n, n, c, s);
        sq[p] = alpha - t * gamma;
        sq[q] = beta + t * gamma;
      }
    }
  }
  for (let k = 0; k < m; k++) for (let j = 0; j < n; j++) g[k * n + j] = gc[j * m + k];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) v[i * n + j] = vc[j * n + i];
  const col = (p: number) => {
    let d = 0;
    for (let k = 0; k < m; k++) d += gc[p * m + k] * gc[p * m + k];
    return d;
  };
  const norms = [...Array(n).keys()].map((j) => Math.sqrt(col(j)));
  const order = [...Array(n).keys()].sort((i, j) => norms[j] - norms[i]);
  const s = new Float64Array(n), vs = new Float64Array(n * n), gs = new Float64Array(m * n);
  order.forEach((src, dst) => {
    s[dst] = norms[src];
    for (let i = 0; i < n; i++) vs[i * n + dst] = v[i * n + src];
    for (let i = 0; i < m; i++) gs[i * n + dst] = g[i * n + src];
  });
  normalizeSigns(vs, n, n, gs);
  const u = orthonormalColumns(gs, m, n, s, uc);
  const vt = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) vt[j * n + i] = vs[i * n + j];
  return { u, s, vt };
}

/**
 * Starts one-sided Jacobi from V₀ = the eigenvectors of gᵀg (tridiagonal QL) and the columns of
 * g V₀, which are then nearly orthogonal: the sweeps that follow (and their convergence test, so
 * the accuracy is Jacobi's) take a few passes instead of many.
 */
function preconditionSvd(
  g: Float64Array,
  m: number,
  n: number,
  gc: Float64Array,
  vc: Float64Array,
) {
  const c = new Float64Array(n * n);
  for (let k = 0; k < m; k++) {
    for (let i = 0; i < n; i++) {
      const x = g[k * n + i];
      if (x !== 0) { for (let j = i; j < n; j++) c[i * n + j] += x * g[k * n + j]; }
    }
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) c[i * n + j] = c[j * n + i];
  vc.set(eighTridiagQl(c, n).zt); // vc[j·n + i] = component i of vector j
  for (let k = 0; k < m; k++) {
    for (let j = 0; j < n; j++) {
      let d = 0;
      for (let i = 0; i < n; i++) d += g[k * n + i] * vc[j * n + i];
      gc[j * m + k] = d;
    }
  }
}

/**
 * U (m×uc) from the rotated columns g (m×n) and their norms s: g_j / s_j, re-orthogonalized in
 * order (two Gram-Schmidt passes); columns with s_j = 0 (or lost to rounding) and the columns past
 * n are completed with an orthonormal basis of the remaining space.
 */
function orthonormalColumns(g: Float64Array, m: number, n: number, s: Float64Array, uc: number) {
  const cols: (Float64Array | null)[] = [];
  const basis: Float64Array[] = [];
  const project = (x: Float64Array) => {
    for (let pass = 0; pass < 2; pass++) {
      for (const b of basis) {
        let d = 0;
        for (let i = 0; i < m; i++) d += b[i] * x[i];
        for (let i = 0; i < m; i++) x[i] -= d * b[i];
      }
    }
    let nrm = 0;
    for (let i = 0; i < m; i++) nrm = Math.hypot(nrm, x[i]);
    return nrm;
  };
  for (let j = 0; j < uc; j++) {
    let x: Float64Array | null = null;
    if (j < n && s[j] > 0) {
      x = new Float64Array(m);
      for (let i = 0; i < m; i++) x[i] = g[i * n + j] / s[j];
      const nrm = project(x);
      if (nrm < 0.5) x = null;
      else for (let i = 0; i < m; i++) x[i] /= nrm;
    }
    cols.push(x);
    if (x) basis.push(x);
  }
  for (let j = 0; j < uc; j++) {
    if (cols[j]) continue;
    let best: Float64Array | null = null, bestN = -1;
    for (let e = 0; e < m; e++) {
      const x = new Float64Array(m);
      x[e] = 1;
      const nrm = project(x);
      if (nrm > bestN + 1e-12) (best = x), (bestN = nrm);
    }
    for (let i = 0; i < m; i++) best![i] /= bestN;
    cols[j] = best;
    basis.push(best!);
  }
  const u = new Float64Array(m * uc);
  cols.forEach((x, j) => {
    for (let i = 0; i < m; i++) u[i * uc + j] = x![i];
  });
  return u;
}
