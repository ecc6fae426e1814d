/**
 * The CPU backend's `qr` from min(m, n) QR_WY_MIN: Householder reflectors applied row-wise to the
 * row-major matrix (LAPACK's signs, as the host kernel), Q accumulated in WY blocks through the
 * f64x2 GEMM (cpu/svd_wy.ts) in a scratch Wasm memory.
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import type { QrParams } from "../../ops/linalg_decomp.ts";
import { allocTyped, type TypedArray } from "../../dtype.ts";
import { workspace } from "./linalg_f64.ts";
import { accumulateWy, WY_NB } from "./svd_wy.ts";
import { house } from "./svd_bidiag.ts";

/** Matrices whose smaller side is at least this take the blocked route. */
export const QR_WY_MIN = 64;

/** Householder QR of the m×n row-major `w` in place (R above, vectors below the diagonal); τ. */
function householderRows(w: Float64Array, m: number, n: number): Float64Array {
  const k = Math.min(m, n), taus = new Float64Array(k), acc = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    const tau = (taus[j] = house(w, j * n + j, m - j, n));
    if (tau === 0 || j + 1 >= n) continue;
    acc.fill(0, j + 1, n); // rows j.. of columns j+1..: x ← x − τ v (vᵀ x)
    for (let i = j; i < m; i++) {
      const vi = i === j ? 1 : w[i * n + j], r = i * n;
      if (vi !== 0) { for (let c = j + 1; c < n; c++) acc[c] += vi * w[r + c]; }
    }
    for (let i = j; i < m; i++) {
      const f = tau * (i === j ? 1 : w[i * n + j]), r = i * n;
      if (f !== 0) { for (let c = j + 1; c < n; c++) w[r + c] -= f * acc[c]; }
    }
  }
  return taus;
}

/** [q, r] as the `qr` primitive's impl, or null below QR_WY_MIN (the host kernel runs). */
export function qrFast(xs: HostArray[], p: QrParams, outs: Aval[]): TypedArray[] | null {
  const a = xs[0], sh = a.shape, m = sh[sh.length - 2], n = sh[sh.length - 1], k = Math.min(m, n);
  if (k < QR_WY_MIN) return null;
  const qc = p.fullMatrices ? m : k, count = a.data.length / (m * n);
  const qo = allocTyped(outs[0].dtype, count * m * qc),
    ro = allocTyped(outs[1].dtype, count * qc * n);
  const ok = workspace(qc * m + 3 * m * WY_NB, (ws, base) => {
    const F = ws.F, tmp = base + qc * m;
    for (let q = 0; q < count; q++) {
      const w = Float64Array.from(a.data.subarray(q * m * n, (q + 1) * m * n));
      const taus = householderRows(w, m, n);
      accumulateWy(ws, base, qc, m, k, 0, taus, (j, i) => w[i * n + j], tmp); // Qᵀ's first qc rows
      const qq = q * m * qc, rq = q * qc * n;
      for (let j = 0; j < qc; j++) {
        for (let i = 0; i < m; i++) qo[qq + i * qc + j] = F[base + j * m + i];
      }
      for (let i = 0; i < Math.min(qc, m); i++) {
        for (let c = i; c < n; c++) ro[rq + i * n + c] = w[i * n + c];
      }
    }
  });
  return ok ? [qo, ro] : null;
}
