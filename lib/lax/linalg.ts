/**
 * `lax.linalg`: JAX's `jax.lax.linalg.triangular_solve` on the `triangularSolve` primitive.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { broadcastShapes, fmtShape } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { convert } from "../ops/elementwise.ts";
import * as la from "../ops/linalg.ts";
import { asTensor, broadcastTo, resultType } from "../numpy/_convert.ts";

/** Options of {@link triangularSolve} (JAX's defaults: all false). */
export interface TriangularSolveOptions {
  /** true: solve op(a) x = b; false (default): x op(a) = b. */
  leftSide?: boolean;
  /** Use a's lower triangle (default false: upper). */
  lower?: boolean;
  /** op(a) = aᵀ (default false: a). */
  transposeA?: boolean;
  /** Assume ones on the diagonal (not read). */
  unitDiagonal?: boolean;
}

const KEYS = ["leftSide", "lower", "transposeA", "unitDiagonal"];

/**
 * Solves op(a) x = b (`leftSide`) or x op(a) = b for triangular a [..., m, m]; b is
 * [..., m, n] (left) or [..., n, m] (right); batch dims broadcast. Linear in b, differentiable in a.
 *
 * @param a Triangular matrices; only the chosen triangle is read.
 * @param b Right-hand sides.
 * @param options `leftSide`, `lower`, `transposeA`, `unitDiagonal`.
 * @returns x, the (broadcast) shape of b.
 * @example
 * ```ts
 * import { lax } from "../../mod.ts";
 * const x = lax.linalg.triangularSolve([[2, 0], [1, 1]], [[2], [3]], { leftSide: true, lower: true });
 * if (x.dataSync().join() !== "1,2") throw new Error("triangularSolve");
 * ```
 */
export function triangularSolve(
  a: ArrayLike,
  b: ArrayLike,
  options?: TriangularSolveOptions,
): Tensor {
  const o = checkOptions("triangularSolve", options, KEYS);
  let at = asTensor(a, "triangularSolve"), bt = asTensor(b, "triangularSolve");
  const d = la.linalgDType(resultType([at, bt]).dtype, "triangularSolve");
  if (at.aval.dtype !== d) at = convert(at, d);
  if (bt.aval.dtype !== d) bt = convert(bt, d);
  const as = at.aval.shape, bs = bt.aval.shape;
  const m = as[as.length - 1];
  if (as.length < 2 || as[as.length - 2] !== m) {
    throw new TypeError(
      `triangularSolve: a must be square in its last two dims, got ${fmtShape(as)}`,
    );
  }
  const left = !!o.leftSide;
  if (bs.length < 2 || bs[bs.length - (left ? 2 : 1)] !== m) {
    throw new TypeError(
      `triangularSolve: b must have shape [..., ${left ? `${m}, n` : `n, ${m}`}] for a of shape ${
        fmtShape(as)
      } (leftSide ${left}), got ${fmtShape(bs)}`,
    );
  }
  const batch = broadcastShapes("triangularSolve", as.slice(0, -2), bs.slice(0, -2));
  at = broadcastTo(at, [...batch, m, m]);
  bt = broadcastTo(bt, [...batch, ...bs.slice(-2)]);
  const p = { lower: !!o.lower, transposeA: !!o.transposeA, unitDiagonal: !!o.unitDiagonal };
  if (left) return la.triangularSolve(at, bt, p);
  // x op(a) = b  ⇔  op(a)ᵀ xᵀ = bᵀ
  return la.mT(la.triangularSolve(at, la.mT(bt), { ...p, transposeA: !p.transposeA }));
}
