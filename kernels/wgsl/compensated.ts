/**
 * Compensated float32 summation in WGSL (Neumaier): the statements a reduction kernel splices in
 * around its accumulator `acc`.
 * @module
 */
import type { DType } from "../../lib/dtype.ts";

/**
 * float32 sums accumulate with Neumaier's compensation (the rounding error of each addition
 * kept in `tg_c`), so a long sequential loop loses no more than a few ulps; the partial sums are
 * then added pairwise (workgroup tree) or compensated (combine pass).
 *
 * @example
 * ```ts
 * import { compensated } from "./compensated.ts";
 * if (!compensated("sum", "float32") || compensated("max", "float32")) throw new Error();
 * ```
 */
export function compensated(op: "sum" | "max" | "min", d: DType): boolean {
  return op === "sum" && (d === "float32" || d === "float16" || d === "bfloat16");
}
/** One compensated step adding `v` to `acc`. */
export const COMP_STEP =
  "{ let tg_t = acc + v; if (abs(acc) >= abs(v)) { tg_c = tg_c + ((acc - tg_t) + v); }" +
  " else { tg_c = tg_c + ((v - tg_t) + acc); } acc = tg_t; }";
/** Declares the compensation. */
export const COMP_DECL = "var tg_c: f32 = 0.0;";
/** Adds the compensation to a finite sum (an infinite or NaN one stays as it is). */
export const COMP_FIN = "if (abs(acc) <= 3.4e38) { acc = acc + tg_c; }";
