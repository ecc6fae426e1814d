// Thin lax wrappers of structural and reduction primitives under their JAX names: pad,
// dotGeneral, reduceSum, reduceMax, reduceMin, rev.

import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor, resultType } from "../numpy/_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import * as red from "../ops/reduce.ts";
import { dotGeneral as dotGeneralPrim, type DotParams } from "../ops/dot.ts";
import { fmt, isInt, scalarOf } from "./_args.ts";
import { checkOptions } from "../options.ts";
import { checkDType, type DType, isFloat } from "../dtype.ts";

/** Options of {@linkcode dotGeneral}. */
export interface DotGeneralOptions {
  /** Result dtype; a float dtype wider than the operands' is also the accumulation dtype. */
  preferredElementType?: DType;
}

export type { DotParams };

/**
 * `jax.lax.pad`: low / high (negative crops) and interior padding with a scalar value.
 *
 * @param x Operand.
 * @param paddingValue Scalar pad value (converted to x's dtype).
 * @param paddingConfig `[lo, hi, interior]` per dimension.
 * @returns The padded array.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { pad } from "./wrappers.ts";
 * const y = pad(np.array([1, 2, 3]), 0, [[1, -1, 1]]);
 * if (y.dataSync().join() !== "0,1,0,2,0") throw new Error("pad");
 * ```
 */
export function pad(
  x: ArrayLike,
  paddingValue: number,
  paddingConfig: [number, number, number][],
): Tensor {
  const t = asTensor(x, "pad");
  if (
    !Array.isArray(paddingConfig) || paddingConfig.length !== t.ndim ||
    !paddingConfig.every((c) => Array.isArray(c) && c.length === 3 && c.every(isInt) && c[2] >= 0)
  ) {
    throw new RangeError(
      `pad: paddingConfig ${
        fmt(paddingConfig)
      } must give ${t.ndim} integer [lo, hi, interior] triples (interior >= 0)`,
    );
  }
  return mv.pad(
    t,
    scalarOf(paddingValue, t.dtype),
    paddingConfig.map((c) => c[0]),
    paddingConfig.map((c) => c[1]),
    paddingConfig.map((c) => c[2]),
  );
}

/**
 * `jax.lax.dot_general` with `[[lhsContract, rhsContract], [lhsBatch, rhsBatch]]` dimension numbers
 * (operands promoted to a common dtype). Output axes: batch, lhs free, rhs free.
 *
 * @param lhs Left operand.
 * @param rhs Right operand.
 * @param dimensionNumbers `[[lc, rc], [lb, rb]]`.
 * @param opts `preferredElementType`.
 * @returns The contraction.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { dotGeneral } from "./wrappers.ts";
 * const y = dotGeneral(np.ones([2, 3]), np.ones([3, 4]), [[[1], [0]], [[], []]]);
 * if (y.shape.join() !== "2,4") throw new Error("dot");
 * ```
 */
export function dotGeneral(
  lhs: ArrayLike,
  rhs: ArrayLike,
  dimensionNumbers: [[number[], number[]], [number[], number[]]],
  opts?: DotGeneralOptions,
): Tensor {
  if (arguments.length > 4) {
    throw new TypeError(
      `dotGeneral: expected at most 4 arguments (lhs, rhs, dimensionNumbers, options), got ${arguments.length}`,
    );
  }
  const o = checkOptions("dotGeneral", opts, ["preferredElementType"]);
  const a = asTensor(lhs, "dotGeneral"), b = asTensor(rhs, "dotGeneral");
  let d = resultType([a, b]).dtype;
  const pref = o.preferredElementType === undefined
    ? undefined
    : checkDType(o.preferredElementType, "dotGeneral");
  if (pref && isFloat(pref) && (pref === "float64" || !isFloat(d))) d = pref;
  if (!Array.isArray(dimensionNumbers) || dimensionNumbers.length !== 2) {
    throw new TypeError(
      `dotGeneral: dimensionNumbers must be [[lhsContract, rhsContract], [lhsBatch, rhsBatch]], got ${
        fmt(dimensionNumbers)
      }`,
    );
  }
  const [contract, batch] = dimensionNumbers;
  const out = dotGeneralPrim(ew.convert(a, d), ew.convert(b, d), { contract, batch });
  return pref ? ew.convert(out, pref) : out;
}

/**
 * `jax.lax.reduce_sum` over the given axes (dropped from the result).
 *
 * @param x Operand.
 * @param axes Axes to sum.
 * @returns The sums.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { reduceSum } from "./wrappers.ts";
 * if (reduceSum(np.ones([2, 3]), [1]).dataSync().join() !== "3,3") throw new Error("sum");
 * ```
 */
export function reduceSum(x: ArrayLike, axes: number[]): Tensor {
  return red.reduceSum(asTensor(x, "reduceSum"), axes);
}

/**
 * `jax.lax.reduce_max` over the given axes.
 *
 * @param x Operand.
 * @param axes Axes to reduce.
 * @returns The maxima.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { reduceMax } from "./wrappers.ts";
 * if (reduceMax(np.array([[1, 5], [7, 2]]), [1]).dataSync().join() !== "5,7") throw new Error("max");
 * ```
 */
export function reduceMax(x: ArrayLike, axes: number[]): Tensor {
  return red.reduceMax(asTensor(x, "reduceMax"), axes);
}

/**
 * `jax.lax.reduce_min` over the given axes.
 *
 * @param x Operand.
 * @param axes Axes to reduce.
 * @returns The minima.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { reduceMin } from "./wrappers.ts";
 * if (reduceMin(np.array([[1, 5], [7, 2]]), [1]).dataSync().join() !== "1,2") throw new Error("min");
 * ```
 */
export function reduceMin(x: ArrayLike, axes: number[]): Tensor {
  return red.reduceMin(asTensor(x, "reduceMin"), axes);
}

/**
 * `jax.lax.rev`: reverses the given axes.
 *
 * @param x Operand.
 * @param dimensions Axes to reverse.
 * @returns The reversed array.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { rev } from "./wrappers.ts";
 * if (rev(np.array([1, 2, 3]), [0]).dataSync().join() !== "3,2,1") throw new Error("rev");
 * ```
 */
export function rev(x: ArrayLike, dimensions: number[]): Tensor {
  return mv.rev(asTensor(x, "rev"), dimensions);
}
