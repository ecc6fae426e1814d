// Argument helpers shared by lax.ts, nn/*.ts and signal.ts: value formatting for error messages,
// per-spatial-dim integer options, float promotion of operand pairs, and index-mapped padding
// (edge / reflect / symmetric / circular) built from slices and concatenation.

import type { DType } from "../dtype.ts";
import { floatOf } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor, resultType, scalar } from "../numpy/_convert.ts";
import { convert } from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { fmtArg as fmt } from "../shape.ts";
import { padPairs } from "../ops/padding.ts";

/** Formats a value for an error message. */
export { fmt };

/** True for an integer JS number. */
export function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

/**
 * Expands a number or a per-dimension list to `n` integers, checking each against `min`.
 *
 * @param op Operation name for errors.
 * @param name Argument name for errors.
 * @param v A number (used for every dim) or a list of `n` numbers.
 * @param n Number of spatial dimensions.
 * @param min Smallest allowed value (1 for strides and dilations, 0 for paddings).
 * @returns `n` integers.
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { perDim } from "./_args.ts";
 * if (perDim("op", "stride", 2, 3, 1).join() !== "2,2,2") throw new Error("perDim");
 * ```
 */
export function perDim(op: string, name: string, v: unknown, n: number, min: number): number[] {
  const list = typeof v === "number" ? new Array<number>(n).fill(v) : v;
  if (!Array.isArray(list) || list.length !== n) {
    throw new RangeError(
      `${op}: ${name} ${
        fmt(v)
      } must be a number or a list of ${n} numbers, one per spatial dimension`,
    );
  }
  if (!Array.from(list).every((x) => isInt(x) && x >= min)) {
    const what = min === 1
      ? "positive integers"
      : min === 0
      ? "non-negative integers"
      : `integers >= ${min}`;
    throw new RangeError(`${op}: ${name} ${fmt(v)} must be ${what}`);
  }
  return [...list];
}

/**
 * Resolves nn-style padding (no mode strings): a number for every dimension, one number per
 * dimension, or `n` non-negative `[lo, hi]` pairs (checked by lib/ops/padding.ts).
 *
 * @param op Operation name for errors.
 * @param padding The argument.
 * @param n Number of padded dimensions.
 * @param per What one dimension is called in messages ("spatial dimension").
 * @returns One `[lo, hi]` pair per dimension.
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { nnPadding } from "./_args.ts";
 * if (nnPadding("op", 1, 2, "dimension").join() !== "1,1,1,1") throw new Error("nnPadding");
 * ```
 */
export function nnPadding(
  op: string,
  padding: unknown,
  n: number,
  per: string,
): [number, number][] {
  if (Array.isArray(padding) && padding.length > 0 && padding.every((p) => Array.isArray(p))) {
    return padPairs(op, padding, { n, per, nonNegative: true });
  }
  return perDim(op, "padding", padding, n, 0).map((p): [number, number] => [p, p]);
}

/**
 * Converts two operands to Tensors of one common float dtype (ints and bools become float32).
 *
 * @param op Operation name for errors.
 * @param a First operand.
 * @param b Second operand.
 * @returns Both operands, converted.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { promoteFloat } from "./_args.ts";
 * const [x, y] = promoteFloat("op", np.array([1, 2]), np.array([0.5], { dtype: "float64" }));
 * if (x.dtype !== "float64" || y.dtype !== "float64") throw new Error("promote");
 * ```
 */
export function promoteFloat(op: string, a: ArrayLike, b: ArrayLike): [Tensor, Tensor] {
  const x = asTensor(a, op), y = asTensor(b, op);
  const d = floatOf(resultType([x, y]).dtype);
  return [convert(x, d), convert(y, d)];
}

/**
 * Converts one operand to a float Tensor (ints and bools become float32).
 *
 * @param op Operation name for errors.
 * @param a The operand.
 * @returns The operand as float32 or float64.
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { toFloat } from "./_args.ts";
 * if (toFloat("op", [1, 2]).dtype !== "float32") throw new Error("toFloat");
 * ```
 */
export function toFloat(op: string, a: ArrayLike): Tensor {
  const x = asTensor(a, op);
  return convert(x, floatOf(x.aval.dtype));
}

/**
 * A 0-d constant of `dtype`; for int32, infinities become the int32 extremes.
 *
 * @param v The value.
 * @param dtype Its dtype.
 * @returns A concrete scalar Tensor.
 * @example
 * ```ts
 * import "../../mod.ts";
 * import { scalarOf } from "./_args.ts";
 * if (scalarOf(-Infinity, "int32").item() !== -2147483648) throw new Error("scalarOf");
 * ```
 */
export function scalarOf(v: number, dtype: DType): Tensor {
  if (dtype === "int32" && !Number.isFinite(v) && !Number.isNaN(v)) {
    v = v > 0 ? 2147483647 : -2147483648;
  }
  return scalar(v, dtype);
}

/** Boundary rules for {@linkcode padIndexed}. */
export type BoundaryMode = "edge" | "reflect" | "symmetric" | "circular";

/** Source index in `[0, n)` of padded position `i` (may be outside `[0, n)`) under `mode`. */
function sourceIndex(mode: BoundaryMode, i: number, n: number): number {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case "edge":
      return i < 0 ? 0 : n - 1;
    case "circular":
      return ((i % n) + n) % n;
    case "reflect": {
      if (n === 1) return 0;
      const period = 2 * (n - 1);
      const j = ((i % period) + period) % period;
      return j >= n ? period - j : j;
    }
    case "symmetric": {
      const period = 2 * n;
      const j = ((i % period) + period) % period;
      return j >= n ? period - 1 - j : j;
    }
  }
}

/**
 * Pads axis `axis` of `x` by `lo` and `hi` with values taken from `x` itself (edge, reflect
 * without repeating the edge, symmetric with the edge repeated, or circular wrap-around). Runs of
 * consecutive source indices become one slice (reversed where they run backwards), so the result
 * is a concatenation of a few slices: differentiable, batchable and jittable.
 *
 * @param x The array (its `axis` must be non-empty unless `lo = hi = 0`).
 * @param axis Axis to pad.
 * @param lo Elements added before (>= 0).
 * @param hi Elements added after (>= 0).
 * @param mode Boundary rule.
 * @returns The padded array.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { padIndexed } from "./_args.ts";
 * const y = padIndexed(np.array([1, 2, 3]), 0, 2, 1, "circular");
 * if (y.dataSync().join() !== "2,3,1,2,3,1") throw new Error("circular");
 * ```
 */
export function padIndexed(
  x: Tensor,
  axis: number,
  lo: number,
  hi: number,
  mode: BoundaryMode,
): Tensor {
  if (lo === 0 && hi === 0) return x;
  const shape = x.aval.shape;
  const n = shape[axis];
  const src: number[] = [];
  for (let i = -lo; i < n + hi; i++) src.push(sourceIndex(mode, i, n));
  const pieces: Tensor[] = [];
  let k = 0;
  while (k < src.length) {
    // extend a run of consecutive indices going up (dir 1) or down (dir -1)
    let end = k + 1;
    const dir = end < src.length && src[end] === src[k] - 1 ? -1 : 1;
    while (end < src.length && src[end] === src[end - 1] + dir) end++;
    const a = Math.min(src[k], src[end - 1]), b = Math.max(src[k], src[end - 1]) + 1;
    let piece = mv.slice(
      x,
      shape.map((_, j) => (j === axis ? a : 0)),
      shape.map((d, j) => (j === axis ? b : d)),
    );
    if (dir === -1) piece = mv.rev(piece, [axis]);
    pieces.push(piece);
    k = end;
  }
  return mv.concatenate(pieces, axis);
}
