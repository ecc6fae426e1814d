/**
 * Host (float64) kernels of the linear-algebra primitives: LU with partial pivoting, Cholesky and
 * triangular substitution over leading batch dims. Used as reference impls and as CPU op steps.
 * @module
 */

/** LU of one n×n row-major matrix in place (partial pivoting); returns the row order and the sign. */
export function luInPlace(m: Float64Array, n: number): { perm: Int32Array; sign: number } {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let sign = 1;
  for (let k = 0; k < n; k++) {
    let p = k, best = Math.abs(m[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(m[i * n + k]);
      if (v > best) (best = v), (p = i);
    }
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[p * n + j];
        m[p * n + j] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
      sign = -sign;
    }
    const d = m[k * n + k];
    if (d === 0) continue; // singular: leave the column, later divisions give inf/NaN
    for (let i = k + 1; i < n; i++) {
      const f = (m[i * n + k] /= d);
      if (f !== 0) { for (let j = k + 1; j < n; j++) m[i * n + j] -= f * m[k * n + j]; }
    }
  }
  return { perm, sign };
}

/** Copies matrix `b` (offset `off`, n×n) into a new Float64Array. */
export function matrixAt(data: ArrayLike<number>, off: number, len: number): Float64Array {
  const m = new Float64Array(len);
  for (let i = 0; i < len; i++) m[i] = data[off + i];
  return m;
}

/**
 * Solves op(T) X = B in place on `x` (n×k), T triangular n×n read at `t` (only its triangle).
 * `lower` names T's stored triangle; `trans` uses Tᵀ; `unit` assumes a unit diagonal.
 */
export function triSolveInPlace(
  t: ArrayLike<number>,
  tOff: number,
  x: Float64Array,
  n: number,
  k: number,
  lower: boolean,
  trans: boolean,
  unit: boolean,
): void {
  const at = (i: number, j: number) => (trans ? t[tOff + j * n + i] : t[tOff + i * n + j]);
  const forward = lower !== trans; // op(T) is lower triangular
  for (let s = 0; s < n; s++) {
    const i = forward ? s : n - 1 - s;
    for (let c = 0; c < k; c++) {
      let acc = x[i * k + c];
      if (forward) { for (let j = 0; j < i; j++) acc -= at(i, j) * x[j * k + c]; }
      else for (let j = i + 1; j < n; j++) acc -= at(i, j) * x[j * k + c];
      x[i * k + c] = unit ? acc : acc / at(i, i);
    }
  }
}

/** Solves op(A) X = B with an LU of A (one matrix): X overwrites `x` (n×k). */
export function luSolveInPlace(
  lu: Float64Array,
  perm: Int32Array,
  x: Float64Array,
  n: number,
  k: number,
  trans: boolean,
): void {
  if (!trans) {
    const pb = new Float64Array(n * k);
    for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) pb[i * k + c] = x[perm[i] * k + c];
    triSolveInPlace(lu, 0, pb, n, k, true, false, true);
    triSolveInPlace(lu, 0, pb, n, k, false, false, false);
    x.set(pb);
    return;
  }
  // Aᵀ = Uᵀ Lᵀ P: solve Uᵀ y = b, Lᵀ z = y, x = Pᵀ z
  triSolveInPlace(lu, 0, x, n, k, false, true, false);
  triSolveInPlace(lu, 0, x, n, k, true, true, true);
  const z = x.slice();
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) x[perm[i] * k + c] = z[i * k + c];
}

/** Cholesky factor of sym(A) = (A + Aᵀ)/2 (one matrix) in place as L (upper part zeroed); NaN if not PD. */
export function choleskyInPlace(a: Float64Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) a[i * n + j] = (a[i * n + j] + a[j * n + i]) / 2;
  }
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j];
    for (let p = 0; p < j; p++) d -= a[j * n + p] * a[j * n + p];
    const ljj = d > 0 ? Math.sqrt(d) : NaN;
    a[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j];
      for (let p = 0; p < j; p++) s -= a[i * n + p] * a[j * n + p];
      a[i * n + j] = s / ljj;
    }
    for (let i = 0; i < j; i++) a[i * n + j] = 0;
  }
}
