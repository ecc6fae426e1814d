/**
 * The CPU backend's `svd` from order SVD_BIDIAG_MIN: Householder bidiagonalization A = Q B Pᵀ, then
 * implicit-shift QR on the bidiagonal (Golub–Kahan, zero-shift sweeps for tiny values) with the
 * rotations applied to the rows of Uᵀ = Qᵀ and Vᵀ = Pᵀ. Smaller matrices use the host Jacobi.
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { SvdParams } from "../../ops/linalg_decomp.ts";
import { allocTyped, type TypedArray } from "../../dtype.ts";
import { workspace, type Ws } from "./linalg_f64.ts";
import { accumulateWy, WY_NB } from "./svd_wy.ts";
import { rotSeqFor } from "../../../kernels/wasm/rot_seq.ts";

const EPS = 2.220446049250313e-16;
/** Matrices whose smaller side is at least this use bidiagonalization (below: one-sided Jacobi). */
export const SVD_BIDIAG_MIN = 8;
/** QR sweeps allowed per singular value before the result is declared NaN (never hangs). */
export const SVD_MAX_SWEEPS_PER_VALUE = 40;
/** From this order the reflectors are accumulated in WY blocks through the Wasm GEMM. */
export const SVD_WY_MIN = 48;

/** Result of {@link svdBidiag}: uᵀ (uc×m rows = columns of u), s descending, vt n×n (row-major). */
export interface SvdRows {
  ut: Float64Array;
  s: Float64Array;
  vt: Float64Array;
}

/**
 * Householder reflector zeroing x[1..] of the strided vector x (len entries from `o`, stride
 * `st`): overwrites x[0] by β and x[1..] by v (v₀ = 1 implied); returns τ (0: no reflection).
 */
function house(x: Float64Array, o: number, len: number, st: number): number {
  const alpha = x[o];
  let xn = 0;
  for (let i = 1; i < len; i++) xn = Math.hypot(xn, x[o + i * st]);
  if (xn === 0) return 0;
  const beta = (alpha < 0 ? 1 : -1) * Math.hypot(alpha, xn);
  const scale = 1 / (alpha - beta);
  for (let i = 1; i < len; i++) x[o + i * st] *= scale;
  x[o] = beta;
  return (beta - alpha) / beta;
}

/**
 * Bidiagonalizes the m×n (m ≥ n) row-major `w` in place: d (diagonal), e (superdiagonal); the
 * left reflectors' vectors stay below the diagonal, the right ones right of the superdiagonal.
 */
function bidiagonalize(w: Float64Array, m: number, n: number) {
  const d = new Float64Array(n), e = new Float64Array(n), tq = new Float64Array(n);
  const tp = new Float64Array(n), acc = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const tau = (tq[k] = house(w, k * n + k, m - k, n));
    d[k] = w[k * n + k];
    if (tau !== 0 && k + 1 < n) { // rows k.. of columns k+1..: x ← x − τ v (vᵀ x)
      acc.fill(0, k + 1, n);
      for (let i = k; i < m; i++) {
        const vi = i === k ? 1 : w[i * n + k], r = i * n;
        if (vi !== 0) { for (let j = k + 1; j < n; j++) acc[j] += vi * w[r + j]; }
      }
      for (let i = k; i < m; i++) {
        const f = tau * (i === k ? 1 : w[i * n + k]), r = i * n;
        if (f !== 0) { for (let j = k + 1; j < n; j++) w[r + j] -= f * acc[j]; }
      }
    }
    if (k + 1 >= n) continue;
    const tr = (tp[k] = k + 2 < n ? house(w, k * n + k + 1, n - k - 1, 1) : 0);
    e[k] = w[k * n + k + 1];
    if (tr === 0) continue;
    const r0 = k * n; // rows k+1.. of columns k+1..: x ← x − τ (x·u) u
    for (let i = k + 1; i < m; i++) {
      const r = i * n;
      let s = w[r + k + 1];
      for (let j = k + 2; j < n; j++) s += w[r + j] * w[r0 + j];
      s *= tr;
      if (s === 0) continue;
      w[r + k + 1] -= s;
      for (let j = k + 2; j < n; j++) w[r + j] -= s * w[r0 + j];
    }
  }
  return { d, e, tq, tp };
}

/**
 * Rows 0..rows of Hₖ₋₁ ⋯ H₀ as E·H (E = [I 0], rows×len): each reflector k (vector at `vec(k, i)`
 * for i ≥ 1, τ = taus[k]) acts on columns k+off..; rows below k+off stay unit rows.
 */
function accumulate(
  rows: number,
  len: number,
  count: number,
  off: number,
  taus: Float64Array,
  vec: (k: number, i: number) => number,
): Float64Array {
  const x = new Float64Array(rows * len), v = new Float64Array(len);
  for (let i = 0; i < rows; i++) x[i * len + i] = 1;
  for (let k = count - 1; k >= 0; k--) {
    const tau = taus[k], c0 = k + off;
    if (tau === 0) continue;
    v[c0] = 1;
    for (let i = c0 + 1; i < len; i++) v[i] = vec(k, i);
    for (let r = c0; r < rows; r++) {
      const o = r * len;
      let s = 0;
      for (let i = c0; i < len; i++) s += x[o + i] * v[i];
      s *= tau;
      if (s !== 0) { for (let i = c0; i < len; i++) x[o + i] -= s * v[i]; }
    }
  }
  return x;
}

/** Rows p, q (length len) of x ← (c x_p + s x_q, −s x_p + c x_q). */
function rot(x: Float64Array | null, p: number, q: number, len: number, c: number, s: number) {
  if (!x) return;
  for (let k = 0, po = p * len, qo = q * len; k < len; k++) {
    const a = x[po + k], b = x[qo + k];
    x[po + k] = c * a + s * b;
    x[qo + k] = c * b - s * a;
  }
}

/** Rotation zeroing z against y: [c, s, r] with c y + s z = r, −s y + c z = 0. */
function givens(y: number, z: number): [number, number, number] {
  if (z === 0) return [1, 0, y];
  const r = Math.hypot(y, z);
  return [y / r, z / r, r];
}

interface Bidiag {
  d: Float64Array;
  e: Float64Array;
  ut: Float64Array | null;
  m: number;
  vt: Float64Array | null;
  n: number;
  /** The right (columns) and left (rows) rotations of one sweep, applied after it. */
  rc: Float64Array;
  rs: Float64Array;
  lc: Float64Array;
  ls: Float64Array;
  /** Applies a sweep's rotations (rotSeqJs, or the Wasm kernel on views of its memory). */
  seq: typeof rotSeqJs;
}

/** e[i] = 0 chasing right from a zero d[i] (left rotations with rows j > i, up to h). */
function chaseRow(b: Bidiag, i: number, h: number): void {
  const { d, e } = b;
  let x = e[i];
  e[i] = 0;
  for (let j = i + 1; j <= h && x !== 0; j++) {
    const [c, s, r] = givens(d[j], x);
    d[j] = r;
    if (j < h) (x = -s * e[j]), (e[j] *= c);
    rot(b.ut, j, i, b.m, c, s);
  }
}

/** e[h−1] = 0 chasing up from a zero d[h] (right rotations of columns j < h with h, down to l). */
function chaseCol(b: Bidiag, l: number, h: number): void {
  const { d, e } = b;
  let x = e[h - 1];
  e[h - 1] = 0;
  for (let j = h - 1; j >= l && x !== 0; j--) {
    const [c, s, r] = givens(d[j], x);
    d[j] = r;
    if (j > l) (x = -s * e[j - 1]), (e[j - 1] *= c);
    rot(b.vt, j, h, b.n, c, s);
  }
}

/** One implicit QR sweep on the block l..h with shift μ² (0: Demmel–Kahan zero shift, same chase). */
function qrSweep(b: Bidiag, l: number, h: number, mu2: number): void {
  const { d, e } = b;
  let y = d[l] * d[l] - mu2, z = d[l] * e[l];
  for (let k = l; k < h; k++) {
    let [c, s, r] = givens(y, z); // right: columns k, k+1
    if (k > l) e[k - 1] = r;
    const dk = d[k];
    d[k] = c * dk + s * e[k];
    e[k] = c * e[k] - s * dk;
    const bulge = s * d[k + 1];
    d[k + 1] *= c;
    (b.rc[k] = c), (b.rs[k] = s);
    [c, s, r] = givens(d[k], bulge); // left: rows k, k+1
    d[k] = r;
    const ek = e[k];
    e[k] = c * ek + s * d[k + 1];
    d[k + 1] = c * d[k + 1] - s * ek;
    if (k + 1 < h) (y = e[k]), (z = s * e[k + 1]), (e[k + 1] *= c);
    (b.lc[k] = c), (b.ls[k] = s);
  }
  if (b.vt) b.seq(b.vt, b.n, l, h, b.rc, b.rs);
  if (b.ut) b.seq(b.ut, b.m, l, h, b.lc, b.ls);
}

/**
 * Rows l..h of x (row length len) ← the rotations (c[k], s[k]) of rows k, k+1 for k = l..h−1 in
 * order (the JS form of kernels/wasm/rot_seq.ts).
 */
function rotSeqJs(
  x: Float64Array,
  len: number,
  l: number,
  h: number,
  c: Float64Array,
  s: Float64Array,
) {
  for (let k = l; k < h; k++) rot(x, k, k + 1, len, c[k], s[k]);
}

/** Wilkinson shift μ² from the trailing 2×2 of BᵀB on l..h (scaled against overflow). */
function shift(d: Float64Array, e: Float64Array, l: number, h: number): number {
  const sc = Math.max(
    Math.abs(d[h - 1]),
    Math.abs(d[h]),
    Math.abs(e[h - 1]),
    h - 1 > l ? Math.abs(e[h - 2]) : 0,
  );
  if (sc === 0) return 0;
  const a = d[h - 1] / sc, bb = e[h - 1] / sc, c = d[h] / sc, p = h - 1 > l ? e[h - 2] / sc : 0;
  const t11 = a * a + p * p, t12 = a * bb, t22 = c * c + bb * bb;
  const half = (t11 - t22) / 2, root = Math.hypot(half, t12);
  const mu = t22 - (t12 * t12) / (half + (half >= 0 ? root : -root) || 1);
  return Math.max(mu, 0) * sc * sc;
}

/** Diagonalizes the bidiagonal in b (d, e) by QR sweeps; false when the sweep cap was reached. */
function bidiagQr(b: Bidiag): boolean {
  const { d, e } = b, n = d.length;
  let anorm = 0;
  for (let i = 0; i < n; i++) anorm = Math.max(anorm, Math.abs(d[i]), Math.abs(e[i]));
  const tiny = EPS * EPS * anorm + Number.MIN_VALUE;
  let budget = SVD_MAX_SWEEPS_PER_VALUE * n;
  for (let h = n - 1; h > 0;) {
    for (let i = 0; i < h; i++) {
      if (Math.abs(e[i]) <= EPS * (Math.abs(d[i]) + Math.abs(d[i + 1])) || Math.abs(e[i]) < tiny) {
        e[i] = 0;
      }
    }
    if (e[h - 1] === 0) {
      h--;
      continue;
    }
    let l = h - 1;
    while (l > 0 && e[l - 1] !== 0) l--;
    if (budget-- <= 0) return false;
    let zero = -1;
    for (let i = l; i <= h; i++) if (Math.abs(d[i]) < tiny) zero = i;
    if (zero === h) chaseCol(b, l, h);
    else if (zero >= 0) chaseRow(b, zero, h);
    else {
      const mu2 = shift(d, e, l, h);
      // a shift negligible next to d[l]² would only lose relative accuracy: sweep with zero shift
      qrSweep(b, l, h, mu2 <= EPS * d[l] * d[l] ? 0 : mu2);
    }
  }
  return true;
}

/**
 * SVD of one m×n (m ≥ n) row-major matrix: s descending (unsorted signs fixed), uᵀ with uc rows
 * (n, or m when `full`) and vᵀ (n×n), or only s when `uv` is false; null if the sweeps did not converge.
 */
export function svdBidiag(
  a: Float64Array,
  m: number,
  n: number,
  full: boolean,
  uv: boolean,
  ws?: { ws: Ws; base: number },
): SvdRows | null {
  let amax = 0;
  for (let i = 0; i < a.length; i++) amax = Math.max(amax, Math.abs(a[i]));
  // scale by a power of two (exact) so squares in the shifts neither overflow nor underflow
  const sc = amax > 0 ? 2 ** -Math.round(Math.log2(amax)) : 1, w = new Float64Array(m * n);
  for (let i = 0; i < a.length; i++) w[i] = a[i] * sc;
  const { d, e, tq, tp } = bidiagonalize(w, m, n);
  const uc = full ? m : n;
  const qv = (k: number, i: number) => w[i * n + k], pv = (k: number, i: number) => w[k * n + i];
  let ut: Float64Array | null = null, vt: Float64Array | null = null, seq = rotSeqJs;
  let rot4: Float64Array[] = Array.from({ length: 4 }, () => new Float64Array(n));
  if (uv && ws && n >= SVD_WY_MIN) { // Uᵀ, Vᵀ and the rotations in the Wasm workspace
    const { ws: W, base } = ws, vo = base + uc * m, tmp = vo + n * n, ro = tmp + 3 * m * WY_NB;
    accumulateWy(W, base, uc, m, n, 0, tq, qv, tmp);
    accumulateWy(W, vo, n, n, n - 2, 1, tp, pv, tmp);
    (ut = W.F.subarray(base, vo)), (vt = W.F.subarray(vo, tmp));
    rot4 = rot4.map((_, i) => W.F.subarray(ro + i * n, ro + i * n + n));
    const f = rotSeqFor(W.mem);
    seq = (x, len, l, h, c, s) => f(x.byteOffset, len, l, h, c.byteOffset, s.byteOffset);
  } else if (uv) {
    ut = accumulate(uc, m, n, 0, tq, qv);
    vt = accumulate(n, n, Math.max(0, n - 2), 1, tp, pv);
  }
  const [rc, rs, lc, ls] = rot4;
  if (!bidiagQr({ d, e, ut, m, vt, n, rc, rs, lc, ls, seq })) return null;
  for (let i = 0; i < n; i++) {
    if (d[i] >= 0) continue;
    d[i] = -d[i];
    if (vt) { for (let j = 0; j < n; j++) vt[i * n + j] = -vt[i * n + j]; }
  }
  const order = [...Array(n).keys()].sort((i, j) => d[j] - d[i]);
  const s = Float64Array.from(order, (i) => d[i] / sc);
  if (!ut || !vt) return { ut: new Float64Array(0), s, vt: new Float64Array(0) };
  const ut2 = ut.slice(), vt2 = new Float64Array(n * n);
  order.forEach((src, dst) => {
    ut2.set(ut.subarray(src * m, src * m + m), dst * m);
    vt2.set(vt.subarray(src * n, src * n + n), dst * n);
  });
  return { ut: ut2, s, vt: vt2 };
}

/** Flips row i of vt (length n) and row i of ut (length m) so vt's largest-magnitude entry is positive. */
function normalizeSign(vt: Float64Array, n: number, ut: Float64Array, m: number, i: number) {
  let best = 0;
  for (let j = 0; j < n; j++) if (Math.abs(vt[i * n + j]) > Math.abs(best)) best = vt[i * n + j];
  if (best >= 0) return;
  for (let j = 0; j < n; j++) vt[i * n + j] = -vt[i * n + j];
  for (let j = 0; j < m; j++) ut[i * m + j] = -ut[i * m + j];
}

/**
 * The CPU backend's `svd` (float32 and float64, computed in float64) when min(m, n) ≥
 * SVD_BIDIAG_MIN, else null (the host Jacobi runs). Non-finite matrices give NaN, as do matrices
 * whose sweeps hit the cap (SVD_MAX_SWEEPS_PER_VALUE per value).
 */
export function svdFast(xs: HostArray[], p: SvdParams, outs: Aval[]): TypedArray[] | null {
  const a = xs[0], sh = a.shape, m = sh[sh.length - 2], n = sh[sh.length - 1], k = Math.min(m, n);
  if (k < SVD_BIDIAG_MIN) return null;
  const res = outs.map((o) => allocTyped(o.dtype, o.shape.reduce((x, y) => x * y, 1)));
  const count = a.data.length / (m * n), tall = m >= n, [rm, rn] = tall ? [m, n] : [n, m];
  const x = new Float64Array(m * n);
  const run = (ws?: { ws: Ws; base: number }) => {
    for (let q = 0; q < count; q++) {
      const src = a.data.subarray(q * m * n, (q + 1) * m * n);
      let finite = true;
      for (let i = 0; i < m * n; i++) {
        const v = src[i]; // the wide case works on aᵀ = V S Uᵀ
        x[tall ? i : (i % n) * m + Math.floor(i / n)] = v;
        if (!Number.isFinite(v)) finite = false;
      }
      const r = finite ? svdBidiag(x, rm, rn, p.fullMatrices, p.computeUv, ws) : null;
      if (!r) {
        for (const o of res) o.fill(NaN, q * (o.length / count), (q + 1) * (o.length / count));
        continue;
      }
      res[0].set(r.s, q * k);
      if (!p.computeUv) continue;
      // u (m×uc) and vt (vr×n) of a, from the rows of the tall problem's factors
      const [ut, vt, uc, vr] = tall
        ? [r.ut, r.vt, r.ut.length / m, n]
        : [r.vt, r.ut, m, r.ut.length / n];
      for (let i = 0; i < k; i++) normalizeSign(vt, n, ut, m, i);
      const u = res[1], v = res[2], uo = q * m * uc, vo = q * vr * n;
      for (let i = 0; i < uc; i++) for (let j = 0; j < m; j++) u[uo + j * uc + i] = ut[i * m + j];
      v.set(vt, vo);
    }
  };
  const elems = rm * rm + rn * rn + 3 * rm * WY_NB + 4 * rn;
  if (!p.computeUv || k < SVD_WY_MIN || !workspace(elems, (ws, base) => run({ ws, base }))) run();
  return res;
}
