/**
 * Blocked accumulation of the svd's Householder reflectors: x = E·Hₖ₋₁⋯H₀ (E = [I 0]) by compact
 * WY blocks (I − V T Vᵀ), the two products of each block through the f64x2 GEMM (kernels/wasm/dgemm.ts).
 */
import type { Ws } from "./linalg_f64.ts";

/** Reflectors per WY block. */
export const WY_NB = 32;

/** The upper triangular T of H_{k0}⋯H_{k0+b−1} = I − V T Vᵀ from Vᵀ (b×L at `vt`) and τ. */
function wyT(F: Float64Array, vt: number, b: number, L: number, taus: Float64Array, k0: number) {
  const t = new Float64Array(b * b), dots = new Float64Array(b);
  for (let j = 0; j < b; j++) {
    const tau = taus[k0 + j];
    t[j * b + j] = tau;
    if (tau === 0) continue;
    for (let i = 0; i < j; i++) {
      let s = 0;
      for (let p = 0, oi = vt + i * L, oj = vt + j * L; p < L; p++) s += F[oi + p] * F[oj + p];
      dots[i] = s;
    }
    for (let i = 0; i < j; i++) {
      let s = 0;
      for (let p = i; p < j; p++) s += t[i * b + p] * dots[p];
      t[i * b + j] = -tau * s;
    }
  }
  return t;
}

/**
 * Writes x (rows×len at element `x` of ws.F) = E·H_{count−1}⋯H₀ where reflector k (τ = taus[k])
 * is 1 at column k + off and `vec(k, i)` at columns i > k + off; `tmp` holds 3·len·WY_NB elements.
 */
export function accumulateWy(
  ws: Ws,
  x: number,
  rows: number,
  len: number,
  count: number,
  off: number,
  taus: Float64Array,
  vec: (k: number, i: number) => number,
  tmp: number,
): void {
  const F = ws.F;
  F.fill(0, x, x + rows * len);
  for (let i = 0; i < rows; i++) F[x + i * len + i] = 1;
  for (let k0 = Math.floor((count - 1) / WY_NB) * WY_NB; k0 >= 0; k0 -= WY_NB) {
    const b = Math.min(count, k0 + WY_NB) - k0, c0 = k0 + off, L = len - c0, R = rows - c0;
    if (R <= 0 || L <= 0) continue;
    const v = tmp, vt = tmp + L * b, w = vt + b * L;
    for (let j = 0; j < b; j++) {
      const head = k0 + j + off;
      for (let i = 0; i < L; i++) {
        const col = c0 + i, y = col < head ? 0 : col === head ? 1 : vec(k0 + j, col);
        F[v + i * b + j] = y;
        F[vt + j * L + i] = y;
      }
    }
    const t = wyT(F, vt, b, L, taus, k0), row = new Float64Array(b);
    F.fill(0, w, w + R * b);
    ws.gemm(w, x + c0 * len + c0, v, R, b, L, b, len, b); // w = −x V
    for (let r = 0; r < R; r++) { // w ← w (−Tᵀ) = x V Tᵀ
      const o = w + r * b;
      for (let j = 0; j < b; j++) {
        let s = 0;
        for (let i = j; i < b; i++) s += F[o + i] * t[j * b + i];
        row[j] = -s;
      }
      F.set(row, o);
    }
    ws.gemm(x + c0 * len + c0, w, vt, R, L, b, len, b, L); // x −= x V Tᵀ Vᵀ
  }
}
