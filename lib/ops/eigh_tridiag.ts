/**
 * Symmetric eigenproblems by Householder tridiagonalization and the implicit QL algorithm with
 * Wilkinson-type shifts (float64): O(n³) with a small constant, for all but tiny matrices.
 * @module
 */

const EPS = 2.220446049250313e-16;

/** Optional fast paths for {@link eighTridiagQl} (the CPU backend's, on Wasm memory). */
export interface EighAccel {
  /** Qᵀ = H_{count−1}⋯H₀ (n×n) where Hₖ = I − τₖ vₖvₖᵀ, vₖ 1 at k+1 and `vec(k, i)` at i > k+1. */
  accumulate(
    n: number,
    count: number,
    taus: Float64Array,
    vec: (k: number, i: number) => number,
  ): Float64Array;
  /** Rotation scratch (length ≥ n) read by `rotateDesc`. */
  c: Float64Array;
  s: Float64Array;
  /** For k = h−1 down to l: rows k, k+1 of zt (n columns) ← (c_k r_k + s_k r_{k+1}, c_k r_{k+1} − s_k r_k). */
  rotateDesc(zt: Float64Array, n: number, l: number, h: number): void;
}

/**
 * Reduces the symmetric n×n `a` (row-major, overwritten) to tridiagonal form a = Q T Qᵀ; returns
 * T's diagonal `d`, subdiagonal `e` (e[i] = T[i+1][i], e[n-1] = 0) and Qᵀ (row-major).
 */
function tridiagonalize(a: Float64Array, n: number, accel?: EighAccel) {
  let qt: Float64Array = new Float64Array(accel ? 0 : n * n);
  const d = new Float64Array(n), e = new Float64Array(n);
  const vs = new Float64Array(accel ? n * n : 0), taus = new Float64Array(n);
  for (let i = 0; i < n && !accel; i++) qt[i * n + i] = 1;
  const v = new Float64Array(n), p = new Float64Array(n);
  for (let k = 0; k < n - 2; k++) { // only the upper triangle of the trailing block is kept
    const r0 = k + 1, ko = k * n;
    let norm = 0;
    for (let i = r0; i < n; i++) norm = Math.hypot(norm, a[ko + i]);
    const x0 = a[ko + r0], alpha = x0 > 0 ? -norm : norm;
    let vv = 0;
    for (let i = r0; i < n; i++) v[i] = a[ko + i], vv += i > r0 ? v[i] * v[i] : 0;
    v[r0] = x0 - alpha;
    vv += v[r0] * v[r0];
    if (norm === 0 || vv === 0) continue;
    const beta = 2 / vv;
    // p = β A v, K = (β/2) vᵀp, q = p − K v; A ← A − v qᵀ − q vᵀ on rows/cols r0..n
    p.fill(0, r0, n);
    for (let i = r0; i < n; i++) { // A v from the upper triangle, row by row
      const row = i * n, vi = v[i];
      let s = a[row + i] * vi;
      for (let j = i + 1; j < n; j++) {
        const x = a[row + j];
        s += x * v[j], p[j] += x * vi;
      }
      p[i] += s;
    }
    let vp = 0;
    for (let i = r0; i < n; i++) p[i] *= beta, vp += v[i] * p[i];
    const K = (beta / 2) * vp;
    for (let i = r0; i < n; i++) p[i] -= K * v[i];
    for (let i = r0; i < n; i++) {
      const vi = v[i], qi = p[i], row = i * n;
      for (let j = i; j < n; j++) a[row + j] -= vi * p[j] + qi * v[j];
    }
    a[r0 * n + k] = a[ko + r0] = alpha;
    for (let i = r0 + 1; i < n; i++) a[i * n + k] = a[ko + i] = 0;
    if (accel) { // keep H = I − τ v' v'ᵀ (v' = v / v[r0]) for the blocked accumulation
      taus[k] = beta * v[r0] * v[r0];
      for (let i = r0 + 1; i < n; i++) vs[k * n + i] = v[i] / v[r0];
      continue;
    }
    // Qᵀ ← H Qᵀ (H = I − β v vᵀ acts on rows r0..n of Qᵀ)
    for (let c = 0; c < n; c++) p[c] = 0;
    for (let i = r0; i < n; i++) {
      const f = beta * v[i], row = i * n;
      for (let c = 0; c < n; c++) p[c] += f * qt[row + c];
    }
    for (let i = r0; i < n; i++) {
      const vi = v[i], row = i * n;
      for (let c = 0; c < n; c++) qt[row + c] -= vi * p[c];
    }
  }
  for (let i = 0; i < n; i++) d[i] = a[i * n + i], e[i] = i + 1 < n ? a[i * n + i + 1] : 0;
  if (accel) qt = accel.accumulate(n, Math.max(0, n - 2), taus, (k, i) => vs[k * n + i]);
  return { d, e, qt };
}

/**
 * Eigenvalues (unsorted) and eigenvectors (as rows: `zt[j·n + i]` is component i of vector j) of
 * the symmetric n×n `a` (overwritten).
 *
 * @example
 * ```ts
 * const { w } = eighTridiagQl(new Float64Array([2, 1, 0, 1, 2, 0, 0, 0, 5]), 3);
 * const s = [...w].sort((x, y) => x - y);
 * if (s.some((v, i) => Math.abs(v - [1, 3, 5][i]) > 1e-12)) throw new Error(`got ${s}`);
 * ```
 */
export function eighTridiagQl(
  a: Float64Array,
  n: number,
  accel?: EighAccel,
): { w: Float64Array; zt: Float64Array } {
  const { d, e, qt: zt } = tridiagonalize(a, n, accel);
  for (let l = 0; l < n; l++) {
    for (let iter = 0; iter < 60; iter++) {
      let m = l;
      while (m < n - 1 && Math.abs(e[m]) > EPS * (Math.abs(d[m]) + Math.abs(d[m + 1]))) m++;
      if (m === l) break;
      // shift from the leading 2×2 block; chase the bulge from m up to l with rotations
      let g = (d[l + 1] - d[l]) / (2 * e[l]), r = Math.hypot(g, 1);
      g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
      let s = 1, c = 1, p = 0, i = m - 1, early = false;
      for (; i >= l; i--) {
        const f = s * e[i], b = c * e[i];
        r = Math.hypot(f, g);
        e[i + 1] = r;
        if (r === 0) { // underflow: deflate and restart this l
          d[i + 1] -= p, e[m] = 0, early = true;
          break;
        }
        s = f / r, c = g / r, g = d[i + 1] - p;
        r = (d[i] - g) * s + 2 * c * b;
        p = s * r, d[i + 1] = g + p, g = c * r - b;
        if (accel) {
          (accel.c[i] = c), (accel.s[i] = -s);
          continue;
        }
        const ri = i * n, rj = (i + 1) * n; // the same rotation on the eigenvector rows i, i+1
        for (let k = 0; k < n; k++) {
          const zi = zt[ri + k], zj = zt[rj + k];
          zt[rj + k] = s * zi + c * zj, zt[ri + k] = c * zi - s * zj;
        }
      }
      if (accel) accel.rotateDesc(zt, n, i + 1, m);
      if (early) continue;
      d[l] -= p, e[l] = g, e[m] = 0;
    }
  }
  return { w: d, zt };
}
