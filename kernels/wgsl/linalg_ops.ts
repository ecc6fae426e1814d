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
import type { QrParams, SvdParams } from "../../lib/ops/linalg_decomp.ts";
import { renderSvd } from "./linalg_svd.ts";

type Render = (ins: Aval[], p: unknown, maxWg: number, budget: number) => LinalgSteps;
const KERNELS: Record<string, Render> = {
  triangularSolve: ([a, b], p, w, budget) =>
    renderTriangularSolve(a, b, p as TriSolveParams, w, budget),
  cholesky: ([a], _p, w, budget) => renderCholesky(a, w, budget),
  solve: ([a, b], p, w, budget) => renderSolve(a, b, p as SolveParams, w, budget),
  det: ([a], _p, w, budget) => renderDet(a, false, w, budget),
  slogdet: ([a], _p, w, budget) => renderDet(a, true, w, budget),
  qr: ([a], p, w, budget) => renderQr(a, p as QrParams, w, budget),
  eigh: ([a], _p, w, budget) => renderEigh(a, w, budget),
  svd: ([a], p, w, budget) => renderSvd(a, p as SvdParams, w, budget),
};

/** The linalg primitives with a WGSL kernel. */
export const LINALG_OPS: ReadonlySet<string> = new Set(Object.keys(KERNELS));

/**
 * The dispatches of linalg primitive `name` on inputs `ins`: phases of one workgroup per matrix,
 * loops split over dispatches recorded into one submission. On software adapters (`software`)
 * every dispatch stays within `LOOP_BUDGET` loop iterations per invocation; an op one step of
 * which alone would run longer is a RangeError.
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
    const shape = ins[0].shape;
    throw new RangeError(
      `webgpu: ${name} of shape ${fmtShape(shape)} (n = ${shape[shape.length - 1]}) is too ` +
        `large for this software adapter: one step of its kernel would run about ${r.loops} loop iterations per invocation, over the limit of ${budget} (llvmpipe stops loops ` +
        `after 65535); use the cpu backend for it`,
    );
  }
  return r;
}
