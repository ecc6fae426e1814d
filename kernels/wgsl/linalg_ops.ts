/**
 * The WGSL kernels of the linalg primitives by name (kernels/wgsl/linalg.ts, linalg_decomp.ts).
 * @module
 */
import type { Aval } from "../../lib/ops/_define.ts";
import { fmtShape } from "../../lib/shape.ts";
import type { SolveParams, TriSolveParams } from "../../lib/ops/linalg.ts";
import {
  type LinalgSteps,
  LOOP_BUDGET,
  renderCholesky,
  renderDet,
  renderSolve,
  renderTriangularSolve,
} from "./linalg.ts";
import { renderEigh, renderQr } from "./linalg_decomp.ts";
import type { QrParams } from "../../lib/ops/linalg_decomp.ts";

type Render = (ins: Aval[], p: unknown, maxWg: number, budget: number) => LinalgSteps;
const KERNELS: Record<string, Render> = {
  triangularSolve: ([a, b], p, w) => renderTriangularSolve(a, b, p as TriSolveParams, w),
  cholesky: ([a], _p, w) => renderCholesky(a, w),
  solve: ([a, b], p, w) => renderSolve(a, b, p as SolveParams, w),
  det: ([a], _p, w) => renderDet(a, false, w),
  slogdet: ([a], _p, w) => renderDet(a, true, w),
  qr: ([a], p, w) => renderQr(a, p as QrParams, w),
  eigh: ([a], _p, w, budget) => renderEigh(a, w, budget),
};

/** The linalg primitives with a WGSL kernel. */
export const LINALG_OPS: ReadonlySet<string> = new Set(Object.keys(KERNELS));

/**
 * The dispatches of linalg primitive `name` on inputs `ins`. On software adapters (`software`),
 * a kernel whose invocations would run more loop iterations than `LOOP_BUDGET` is a RangeError.
 */
export function renderLinalg(
  name: string,
  ins: Aval[],
  p: unknown,
  maxWg: number,
  software: boolean,
): LinalgSteps {
  const budget = software ? LOOP_BUDGET : Infinity;
  const r = KERNELS[name](ins, p, maxWg, budget);
  if (r.loops > budget) {
    throw new RangeError(
      `webgpu: ${name} of shape ${fmtShape(ins[0].shape)} is too large for this software adapter ` +
        `(its one-workgroup-per-matrix kernel would run about ${
          Number.isFinite(r.loops) ? r.loops : "unboundedly many"
        } loop iterations per invocation; llvmpipe stops loops after 65535); use the cpu backend for it`,
    );
  }
  return r;
}
