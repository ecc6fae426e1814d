/**
 * The WGSL kernels of the linalg primitives by name (kernels/wgsl/linalg.ts, linalg_decomp.ts).
 * @module
 */
import type { Aval } from "../../lib/ops/_define.ts";
import type { SolveParams, TriSolveParams } from "../../lib/ops/linalg.ts";
import {
  type LinalgSteps,
  renderCholesky,
  renderDet,
  renderSolve,
  renderTriangularSolve,
} from "./linalg.ts";

const KERNELS: Record<string, (ins: Aval[], p: unknown, maxWg: number) => LinalgSteps> = {
  triangularSolve: ([a, b], p, w) => renderTriangularSolve(a, b, p as TriSolveParams, w),
  cholesky: ([a], _p, w) => renderCholesky(a, w),
  solve: ([a, b], p, w) => renderSolve(a, b, p as SolveParams, w),
  det: ([a], _p, w) => renderDet(a, false, w),
  slogdet: ([a], _p, w) => renderDet(a, true, w),
};

/** The linalg primitives with a WGSL kernel. */
export const LINALG_OPS: ReadonlySet<string> = new Set(Object.keys(KERNELS));

/** The dispatches of linalg primitive `name` on inputs `ins`. */
export function renderLinalg(name: string, ins: Aval[], p: unknown, maxWg: number): LinalgSteps {
  return KERNELS[name](ins, p, maxWg);
}
