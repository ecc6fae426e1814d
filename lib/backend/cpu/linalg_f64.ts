/**
 * Blocked float64 factorizations for large matrices, in Wasm memory: LU with partial pivoting and
 * its substitutions (`solve`), and right-looking Cholesky, whose trailing updates run through the
 * f64x2 GEMM kernel (kernels/wasm/dgemm.ts) in place; panels and diagonal blocks in JS.
 * @module
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { TypedArray } from "../../dtype.ts";
import { allocTyped } from "../../dtype.ts";
import type { SolveParams } from "../../ops/linalg.ts";
import { type DgemmSubExport, dgemmSubFor } from "../../../kernels/wasm/dgemm.ts";
import { scratchFor } from "./kernel_support.ts";

/** Matrices below this order stay on the unblocked float64 host kernels. */
export const BLOCKED_F64_MIN = 64;
const NB = 32;

/** A matrix workspace: the memory's float64 view, element offsets, and `C -= A·B` on it. */
export interface Ws {
  F: Float64Array;
  mem: WebAssembly.Memory;
  gemm: (
    c: number,
    a: number,
    b: number,
    m: number,
    n: number,
    k: number,
    ldc: number,
    lda: number,
    ldb: number,
  ) => void;
}

/** Runs `run` on a scratch Wasm memory of `elems` float64 (from element `base`); false if none. */
export function workspace(elems: number, run: (ws: Ws, base: number) => void): boolean {
  const sc = scratchFor(8 * elems + 64, undefined);
  if (!sc) return false;
  try {
    const f: DgemmSubExport = dgemmSubFor(sc.memory), F = new Float64Array(sc.memory.buffer);
    const gemm: Ws["gemm"] = (c, a, b, m, n, k, ldc, lda, ldb) => {
      if (m > 0 && n > 0 && k > 0) f(8 * c, 8 * a, 8 * b, m, n, k, ldc, lda, ldb);
    };
    run({ F, gemm, mem: sc.memory }, Math.ceil(sc.base / 8));
    return true;
  } finally {
    sc.release();
  }
}

/** Blocked LU of the n×n matrix at element `w` (row-major) in place; returns the row order. */
export function luBlocked64(ws: Ws, w: number, n: number): Int32Array {
  const F = ws.F, perm = new Int32Array(n).map((_, i) => i);
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(n, k0 + NB);
    for (let j = k0; j < k1; j++) { // the panel, swapping whole rows
      let p = j, best = Math.abs(F[w + j * n + j]);
      for (let i = j + 1; i < n; i++) {
        const v = Math.abs(F[w + i * n + j]);
        if (v > best) (best = v), (p = i);
      }
      if (p !== j) {
        const rj = F.slice(w + j * n, w + j * n + n);
        F.copyWithin(w + j * n, w + p * n, w + p * n + n);
        F.set(rj, w + p * n);
        [perm[j], perm[p]] = [perm[p], perm[j]];
      }
      const d = F[w + j * n + j];
      if (d === 0) continue; // singular: later divisions give inf/NaN
      for (let i = j + 1; i < n; i++) {
        const f = (F[w + i * n + j] /= d), ri = w + i * n, rj = w + j * n;
        if (f !== 0) { for (let c = j + 1; c < k1; c++) F[ri + c] -= f * F[rj + c]; }
      }
    }
    if (k1 === n) break;
    for (let j = k0; j < k1; j++) { // u₁₂ = l₁₁⁻¹ a₁₂
      for (let i = j + 1; i < k1; i++) {
        const f = F[w + i * n + j], ri = w + i * n, rj = w + j * n;
        if (f !== 0) { for (let c = k1; c < n; c++) F[ri + c] -= f * F[rj + c]; }
      }
    }
    const m = n - k1;
    ws.gemm(w + k1 * n + k1, w + k1 * n + k0, w + k0 * n + k1, m, m, k1 - k0, n, n, n);
  }
  return perm;
}

/** Solves T X = B in place on X (n×k at element `x`), T the unit lower or upper triangle at `t`. */
function triBlocked(ws: Ws, t: number, n: number, x: number, k: number, lower: boolean): void {
  const F = ws.F;
  for (let b = 0; b < n; b += NB) {
    const r0 = lower ? b : Math.max(0, n - b - NB), r1 = lower ? Math.min(n, b + NB) : n - b;
    for (let s = r0; s < r1; s++) { // the diagonal block by substitution
      const i = lower ? s : r1 - 1 - (s - r0), xi = x + i * k;
      const j0 = lower ? r0 : i + 1, j1 = lower ? i : r1;
      for (let j = j0; j < j1; j++) {
        const f = F[t + i * n + j], xj = x + j * k;
        if (f !== 0) { for (let c = 0; c < k; c++) F[xi + c] -= f * F[xj + c]; }
      }
      if (!lower) { for (let c = 0; c < k; c++) F[xi + c] /= F[t + i * n + i]; }
    }
    const [o0, o1] = lower ? [r1, n] : [0, r0]; // the rows still to solve
    ws.gemm(x + o0 * k, t + o0 * n + r0, x + r0 * k, o1 - o0, k, r1 - r0, k, n, k);
  }
}

/**
 * The CPU backend's `solve` for float64 matrices of order ≥ BLOCKED_F64_MIN, or null (the host
 * kernel then runs).
 */
export function solveF64(xs: HostArray[], p: SolveParams, outs: Aval[]): TypedArray[] | null {
  const [a, b] = xs;
  const n = a.shape[a.shape.length - 1], k = b.shape[b.shape.length - 1];
  if (outs[0].dtype !== "float64" || n < BLOCKED_F64_MIN) return null;
  const count = a.data.length / (n * n), res = new Float64Array(b.data.length);
  const ok = workspace(n * n + n * k, (ws, w) => {
    const F = ws.F, x = w + n * n;
    for (let q = 0; q < count; q++) {
      for (let i = 0; i < n * n; i++) F[w + i] = a.data[q * n * n + i];
      if (p.transposeA) transposeAt(F, w, n);
      const perm = luBlocked64(ws, w, n);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < k; c++) F[x + i * k + c] = b.data[q * n * k + perm[i] * k + c];
      }
      triBlocked(ws, w, n, x, k, true);
      triBlocked(ws, w, n, x, k, false);
      res.set(F.subarray(x, x + n * k), q * n * k);
    }
  });
  return ok ? [res] : null;
}

function transposeAt(F: Float64Array, w: number, n: number): void {
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const t = F[w + i * n + j];
      F[w + i * n + j] = F[w + j * n + i];
      F[w + j * n + i] = t;
    }
  }
}

/** Blocked lower Cholesky of sym(A) at element `w` in place (upper part zeroed; NaN if not PD). */
export function choleskyBlocked64(ws: Ws, w: number, n: number, tmp: number): void {
  const F = ws.F, at = (i: number, j: number) => w + i * n + j;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) F[at(i, j)] = (F[at(i, j)] + F[at(j, i)]) / 2;
  }
  for (let k0 = 0; k0 < n; k0 += NB) {
    const k1 = Math.min(n, k0 + NB);
    for (let j = k0; j < k1; j++) {
      let d = F[at(j, j)];
      for (let p = k0; p < j; p++) d -= F[at(j, p)] * F[at(j, p)];
      const ljj = d > 0 ? Math.sqrt(d) : NaN;
      F[at(j, j)] = ljj;
      for (let i = j + 1; i < n; i++) { // the diagonal block's column and the panel below
        let s = F[at(i, j)];
        for (let p = k0; p < j; p++) s -= F[at(i, p)] * F[at(j, p)];
        F[at(i, j)] = s / ljj;
      }
    }
    if (k1 === n) break;
    const m = n - k1, kb = k1 - k0;
    for (let p = 0; p < kb; p++) { // tmp = l₂₁ᵀ (kb × m)
      for (let i = 0; i < m; i++) F[tmp + p * m + i] = F[at(k1 + i, k0 + p)];
    }
    for (let r0 = k1; r0 < n; r0 += NB) { // the lower part of a₂₂ −= l₂₁ l₂₁ᵀ, by row strips
      const r1 = Math.min(n, r0 + NB);
      ws.gemm(at(r0, k1), at(r0, k0), tmp, r1 - r0, r1 - k1, kb, n, n, m);
    }
  }
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) F[at(i, j)] = 0;
}

/**
 * The CPU backend's `cholesky` for float32/float64 matrices of order ≥ BLOCKED_F64_MIN (computed
 * in float64, rounded once), or null (the host kernel then runs).
 */
export function choleskyFast(x: HostArray, out: Aval): TypedArray[] | null {
  const n = x.shape[x.shape.length - 1];
  if ((out.dtype !== "float64" && out.dtype !== "float32") || n < BLOCKED_F64_MIN) return null;
  const count = x.data.length / (n * n), res = allocTyped(out.dtype, x.data.length);
  const ok = workspace(n * n + NB * n, (ws, w) => {
    for (let q = 0; q < count; q++) {
      for (let i = 0; i < n * n; i++) ws.F[w + i] = x.data[q * n * n + i];
      choleskyBlocked64(ws, w, n, w + n * n);
      res.set(ws.F.subarray(w, w + n * n), q * n * n);
    }
  });
  return ok ? [res] : null;
}
