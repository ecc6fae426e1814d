/**
 * `np.linalg.matrixPower` and `np.linalg.norm` as compositions of existing ops (differentiable,
 * batchable and jittable through them); matrix norms 2, −2 and "nuc" through the singular values.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { fmtShape, normAxis } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { convert } from "../ops/elementwise.ts";
import { asTensor, broadcastTo } from "./_convert.ts";
import { abs, multiply, notEqual, power, sqrt } from "./math.ts";
import { max, min, sum } from "./reductions.ts";
import { matmul } from "./linalg.ts";
import { eye } from "./creation.ts";
import { expandDims, transpose } from "./shape_ops.ts";
import { singularValues } from "./linalg_svd.ts";
import { linalgDType, solveP } from "../ops/linalg.ts";

/**
 * Raises square matrices to an integer power by repeated squaring (negative: of the inverse).
 *
 * @param a Array of shape [..., n, n].
 * @param n Integer exponent.
 * @returns aⁿ, same shape (the identity for n = 0).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * const p = np.linalg.matrixPower([[1, 1], [0, 1]], 3);
 * if (p.dataSync().join() !== "1,3,0,1") throw new Error("matrixPower");
 * ```
 */
export function matrixPower(a: ArrayLike, n: number): Tensor {
  let x = asTensor(a, "matrixPower");
  const s = x.shape;
  if (s.length < 2 || s[s.length - 1] !== s[s.length - 2]) {
    throw new TypeError(`matrixPower: a must be square in its last two dims, got ${fmtShape(s)}`);
  }
  if (!Number.isInteger(n)) throw new TypeError(`matrixPower: n must be an integer, got ${n}`);
  if (n === 0) {
    return broadcastTo(eye(s[s.length - 1], { dtype: x.dtype }), s);
  }
  const d = n < 0 ? linalgDType(x.dtype, "matrixPower") : x.dtype;
  if (x.dtype !== d) x = convert(x, d);
  if (n < 0) {
    x = solveP(x, broadcastTo(eye(s[s.length - 1], { dtype: x.dtype }), s), { transposeA: false });
  }
  let k = Math.abs(n), acc: Tensor | null = null;
  for (let sq = x; k > 0; k >>= 1) {
    if (k & 1) acc = acc ? matmul(acc, sq) : sq;
    if (k > 1) sq = matmul(sq, sq);
  }
  return acc!;
}

/** Options of {@link norm}. */
export interface NormOptions {
  /** Order: a number (vector: any p, Infinity, -Infinity, 0; matrix: 1, -1, 2, -2, ±Infinity), "fro" or "nuc". */
  ord?: number | "fro" | "nuc";
  /** One axis (vector norm), two axes (matrix norm), or all axes of a 1-d/2-d input when omitted. */
  axis?: number | [number, number];
  /** Keep the reduced axes with size 1. */
  keepdims?: boolean;
}

function vectorNorm(x: Tensor, ord: number, axis: number[], keepdims: boolean): Tensor {
  const o = { axis, keepdims };
  const ax = abs(x);
  if (ord === Infinity) return max(ax, o);
  if (ord === -Infinity) return min(ax, o);
  if (ord === 0) return sum(convert(notEqual(x, 0), x.dtype), o);
  if (ord === 1) return sum(ax, o);
  if (ord === 2) return sqrt(sum(multiply(x, x), o));
  return power(sum(power(ax, ord), o), 1 / ord);
}

/**
 * Vector or matrix norm with NumPy's `ord` and `axis` rules.
 *
 * @param x Input array.
 * @param options `ord`, `axis`, `keepdims`.
 * @returns The norm(s), float.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * if (np.linalg.norm([3, 4]).item() !== 5) throw new Error("norm");
 * if (np.linalg.norm([[1, -2], [3, 4]], { ord: 1 }).item() !== 6) throw new Error("norm 1");
 * if (Math.abs(Number(np.linalg.norm([[3, 0], [0, -4]], { ord: 2 }).item()) - 4) > 1e-6) throw new Error("norm 2");
 * ```
 */
export function norm(x: ArrayLike, options?: NormOptions): Tensor {
  const o = checkOptions("norm", options, ["ord", "axis", "keepdims"]);
  let t = asTensor(x, "norm");
  const d = t.dtype === "bfloat16" ? t.dtype : linalgDType(t.dtype, "norm"); // JAX: norms of bfloat16 are bfloat16
  if (t.dtype !== d) t = convert(t, d);
  const keep = !!o.keepdims;
  const nd = t.ndim;
  if (o.axis === undefined && o.ord === undefined) {
    return sqrt(sum(multiply(t, t), { axis: null, keepdims: keep }));
  }
  const axes = o.axis === undefined
    ? [...Array(nd).keys()]
    : (typeof o.axis === "number" ? [o.axis] : o.axis).map((a) => normAxis("norm", a, nd, "axis"));
  if (axes.length === 1) {
    if (typeof o.ord === "string") {
      throw new RangeError(`norm: ord ${JSON.stringify(o.ord)} is for matrices, got one axis`);
    }
    return vectorNorm(t, o.ord ?? 2, axes, keep);
  }
  if (axes.length !== 2 || axes[0] === axes[1]) {
    throw new RangeError(
      `norm: axis must name 1 or 2 distinct axes, got ${JSON.stringify(o.axis)} for ndim ${nd}`,
    );
  }
  const ord = o.ord ?? "fro";
  if (ord === "fro") return sqrt(sum(multiply(t, t), { axis: axes, keepdims: keep }));
  const [r, c] = axes;
  const inner = (ord === 1 || ord === -1) ? r : c, outer = inner === r ? c : r;
  if (ord === 1 || ord === -1 || ord === Infinity || ord === -Infinity) {
    const s = sum(abs(t), { axis: inner, keepdims: true });
    const f = ord > 0 ? max : min;
    const y = f(s, { axis: outer, keepdims: true });
    return keep ? y : sum(y, { axis: axes });
  }
  if (ord === 2 || ord === -2 || ord === "nuc") {
    const rest = [...Array(nd).keys()].filter((i) => i !== r && i !== c);
    const sv = singularValues(transpose(t, [...rest, r, c]));
    const y = ord === 2
      ? max(sv, { axis: -1 })
      : ord === -2
      ? min(sv, { axis: -1 })
      : sum(sv, { axis: -1 });
    return keep ? expandDims(y, [...axes].sort((p, q) => p - q)) : y;
  }
  throw new RangeError(
    `norm: matrix ord ${ord} is not supported (supported: "fro", "nuc", 1, -1, 2, -2, Infinity, -Infinity)`,
  );
}
