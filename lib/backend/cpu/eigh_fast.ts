/**
 * The CPU backend's `eigh` from order EIGH_WY_MIN: the host tridiagonal QL route with Qᵀ accumulated
 * in WY blocks through the f64x2 GEMM (cpu/svd_wy.ts) and each QL sweep's rotations applied by the
 * Wasm kernel (kernels/wasm/rot_seq.ts), in a scratch Wasm memory.
 */
import type { Aval, HostArray } from "../../ops/_define.ts";
import { allocTyped, type TypedArray } from "../../dtype.ts";
import type { EighAccel } from "../../ops/eigh_tridiag.ts";
import { eighHost } from "../../ops/linalg_decomp_host.ts";
import { workspace } from "./linalg_f64.ts";
import { accumulateWy, WY_NB } from "./svd_wy.ts";
import { rotSeqFor } from "../../../kernels/wasm/rot_seq.ts";

/** Symmetric matrices of at least this order take the Wasm-accelerated route. */
export const EIGH_WY_MIN = 48;

/** [v, w] as the `eigh` primitive's impl, or null below EIGH_WY_MIN (the host kernel runs). */
export function eighFast(xs: HostArray[], outs: Aval[]): TypedArray[] | null {
  const a = xs[0], n = a.shape[a.shape.length - 1];
  if (n < EIGH_WY_MIN) return null;
  const count = a.data.length / (n * n);
  const vo = allocTyped(outs[0].dtype, n * n * count), wo = allocTyped(outs[1].dtype, n * count);
  const ok = workspace(n * n + 3 * n * WY_NB + 2 * n, (ws, base) => {
    const tmp = base + n * n, cs = tmp + 3 * n * WY_NB, rot = rotSeqFor(ws.mem);
    const c = ws.F.subarray(cs, cs + n), s = ws.F.subarray(cs + n, cs + 2 * n);
    const accel: EighAccel = {
      accumulate: (n, count, taus, vec) => {
        accumulateWy(ws, base, n, n, count, 1, taus, vec, tmp);
        return ws.F.subarray(base, base + n * n);
      },
      c,
      s,
      rotateDesc: (zt, n, l, h) => rot(zt.byteOffset, n, l, h, c.byteOffset, s.byteOffset, 1),
    };
    for (let q = 0; q < count; q++) {
      const { v, w } = eighHost(
        Float64Array.from(a.data.subarray(q * n * n, (q + 1) * n * n)),
        n,
        accel,
      );
      vo.set(v, q * n * n);
      wo.set(w, q * n);
    }
  });
  return ok ? [vo, wo] : null;
}
