/**
 * Float32 `solve` for large matrices: blocked right-looking LU with partial pivoting (LAPACK's
 * sgetrf order: panel in JS, trailing update a₂₂ −= l₂₁ u₁₂ through the Wasm SIMD GEMM), then
 * blocked substitutions whose off-diagonal updates also run through the GEMM.
 * @module
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { TypedArray } from "../../dtype.ts";
import type { SolveParams } from "../../ops/linalg.ts";
import { dotGeneralF32 } from "./matmul.ts";

/** Matrices below this order stay on the float64 host kernel (the GEMM does not pay off). */
export const BLOCKED_LU_MIN = 96;
const NB = 32;
const MATMUL = {
  contract: [[1], [0]] as [number[], number[]],
  batch: [[], []] as [number[], number[]],
};

/** c (m×n, row stride ldc at offset co) −= a (m×k) · b (k×n); a, b contiguous row-major. */
function gemmSub(
  a: Float32Array,
  b: Float32Array,
  m: number,
  n: number,
  k: number,
  c: Float32Array,
  co: number,
  ldc: number,
): void {
  const out: Aval = { shape: [m, n], dtype: "float32", weak: false };
  const p = dotGeneralF32(
    { data: a, shape: [m, k], dtype: "float32" },
    { data: b, shape: [k, n], dtype: "float32" },
    MATMUL,
    out,
  );
  for (let i = 0; i < m; i++) {
    const ro = co + i * ldc;
    if (p) { for (let j = 0; j < n; j++) c[ro + j] -= p[i * n + j]; }
    else {
      for (let t = 0; t < k; t++) {
        const f = a[i * k + t];
        if (f !== 0) { for (let j = 0; j < n; j++) c[ro + j] -= f * b[t * n + j]; }
      }
    }
  }
}

/** Copies rows r0..r1, columns c0..c1 of a row-major matrix with `ld` columns. */
function block(w: Float32Array, ld: number, r0: number, r1: number, c0: number, c1: number) {
  const cols = c1 - c0, out = new Float32Array((r1 - r0) * cols);
  for (let i = r0; i < r1; i++) out.set(w.subarray(i * ld + c0, i * ld + c1), (i - r0) * cols);
  return out;
}

/** Unblocked LU of columns k0..k1 (rows k0..n), swapping whole rows; records pivots in perm. */
function panel(w: Float32Array, n: number, k0: number, k1: number, perm: Int32Array): void {
  for (let j = k0; j < k1; j++) {
    let p = j, best = Math.abs(w[j * n + j]);
    for (let i = j + 1; i < n; i++) {
      const v = Math.abs(w[i * n + j]);
      if (v > best) (best = v), (p = i);
    }
    if (p !== j) {
      const rj = w.slice(j * n, j * n + n);
      w.copyWithin(j * n, p * n, p * n + n);
      w.set(rj, p * n);
      const t = perm[j];
      perm[j] = perm[p];
      perm[p] = t;
    }
    const d = w[j * n + j];
    if (d === 0) continue; // singular: later divisions give inf/NaN
    for (let i = j + 1; i < n; i++) {
      const f = (w[i * n + j] /= d);
      if (f !== 0) { for (let c = j + 1; c < k1; c++) w[i * n + c] -= f * w[j * n + c]; }
    }
  }
}

/** Blocked LU of one n×n float32 matrix in place; returns the row order. */
export function blockedLu(w: Float32Array, n: number): Int32Array {
  const perm = new Int32Array(n).map((_, i) => i);
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(n, k0 + NB);
    panel(w, n, k0, k1, perm);
    if (k1 === n) break;
    // u₁₂ = l₁₁⁻¹ a₁₂ (unit lower), rows k0..k1, columns k1..n
    for (let j = k0; j < k1; j++) {
      for (let i = j + 1; i < k1; i++) {
        const f = w[i * n + j];
        if (f !== 0) { for (let c = k1; c < n; c++) w[i * n + c] -= f * w[j * n + c]; }
      }
    }
    const l21 = block(w, n, k1, n, k0, k1), u12 = block(w, n, k0, k1, k1, n);
    gemmSub(l21, u12, n - k1, n - k1, k1 - k0, w, k1 * n + k1, n);
  }
  return perm;
}

/** Solves T X = B in place on x (n×k), T = the unit lower (`lower`) or upper triangle of lu. */
function blockedTri(lu: Float32Array, n: number, x: Float32Array, k: number, lower: boolean) {
  for (let b = 0; b < n; b += NB) {
    const r0 = lower ? b : Math.max(0, n - b - NB), r1 = lower ? Math.min(n, b + NB) : n - b;
    for (let s = r0; s < r1; s++) { // the diagonal block by substitution
      const i = lower ? s : r1 - 1 - (s - r0);
      const j0 = lower ? r0 : i + 1, j1 = lower ? i : r1;
      for (let j = j0; j < j1; j++) {
        const f = lu[i * n + j];
        if (f !== 0) { for (let c = 0; c < k; c++) x[i * k + c] -= f * x[j * k + c]; }
      }
      if (!lower) { for (let c = 0; c < k; c++) x[i * k + c] /= lu[i * n + i]; }
    }
    // the rows still to solve −= (their block of T) · (the rows just solved)
    const [o0, o1] = lower ? [r1, n] : [0, r0];
    if (o1 > o0) {
      gemmSub(
        block(lu, n, o0, o1, r0, r1),
        x.slice(r0 * k, r1 * k),
        o1 - o0,
        k,
        r1 - r0,
        x,
        o0 * k,
        k,
      );
    }
  }
}

/**
 * The CPU backend's `solve` for float32 matrices of order ≥ BLOCKED_LU_MIN, or null (the float64
 * host kernel then runs). Float32 arithmetic throughout, as LAPACK's sgesv.
 */
export function solveFast(xs: HostArray[], p: SolveParams, outs: Aval[]): TypedArray[] | null {
  const [a, b] = xs;
  const n = a.shape[a.shape.length - 1], k = b.shape[b.shape.length - 1];
  if (!(a.data instanceof Float32Array) || outs[0].dtype !== "float32" || n < BLOCKED_LU_MIN) {
    return null;
  }
  const count = a.data.length / (n * n), res = new Float32Array(b.data.length);
  for (let q = 0; q < count; q++) {
    const w = a.data.slice(q * n * n, (q + 1) * n * n);
    if (p.transposeA) transposeInPlace(w, n);
    const perm = blockedLu(w, n);
    const x = new Float32Array(n * k), bq = b.data.subarray(q * n * k, (q + 1) * n * k);
    for (let i = 0; i < n; i++) x.set(bq.subarray(perm[i] * k, perm[i] * k + k), i * k);
    blockedTri(w, n, x, k, true);
    blockedTri(w, n, x, k, false);
    res.set(x, q * n * k);
  }
  return [res];
}

function transposeInPlace(w: Float32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const t = w[i * n + j];
      w[i * n + j] = w[j * n + i];
      w[j * n + i] = t;
    }
  }
}
