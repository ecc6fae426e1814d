/**
 * The `lax` namespace: JAX's `jax.lax` convolution front-ends (`convGeneralDilated`, `conv`,
 * `convWithGeneralPadding`, `convTranspose`), `reduceWindow`, `erf`, and thin wrappers of the
 * structural and reduction primitives. Everything lowers onto existing primitives, so every
 * function is differentiable to any order, batchable with `vmap` and jittable.
 * @module
 */
import type { DType } from "./dtype.ts";
import { checkDType, isFloat } from "./dtype.ts";
import type { ArrayLike, Tensor } from "./tensor.ts";
import { asTensor, resultType } from "./numpy/_convert.ts";
import { conv as convPrim } from "./ops/conv.ts";
import {
  type ConvDimensionNumbers, convOutputDim, type ConvOptions, dilateDim, type Padding, paddingForMode,
  resolveConvParams,
} from "./ops/conv_params.ts";
import * as ew from "./ops/elementwise.ts";
import * as mv from "./ops/movement.ts";
import * as red from "./ops/reduce.ts";
import { dotGeneral as dotGeneralPrim, type DotParams } from "./ops/dot.ts";
import { arange } from "./numpy/creation.ts";
import { fmt, isInt, promoteFloat, scalarOf } from "./nn/_args.ts";

export { erf } from "./nn/erf.ts";
export type { ConvDimensionNumbers, ConvOptions, DotParams, Padding };

/** Options of {@linkcode convGeneralDilated}: `ConvOptions` plus the accumulation dtype. */
export interface ConvGeneralDilatedOptions extends ConvOptions {
  /** Result dtype (a float dtype); the inputs are converted to it first when it is wider. */
  preferredElementType?: DType;
}

function preferred(op: string, t: DType | undefined): DType | undefined {
  if (t === undefined || t === null) return undefined;
  const d = checkDType(t, op);
  if (!isFloat(d)) throw new TypeError(`${op}: preferredElementType ${fmt(t)} must be a float dtype (float32 or float64)`);
  return d;
}

/**
 * General dilated convolution, exactly `jax.lax.conv_general_dilated`: cross-correlation with
 * window strides (floored when they do not tile), explicit or string padding (negative pads crop),
 * input (lhs) and kernel (rhs) dilation, any layout via dimension numbers, and feature / batch
 * groups. The operands are promoted to one float dtype. A kernel larger than the padded input gives
 * an empty output, not an error.
 *
 * @param lhs Input of rank n + 2.
 * @param rhs Kernel of rank n + 2.
 * @param windowStrides n positive strides (spatial order of the rhs spec).
 * @param padding "VALID" | "SAME" | "SAME_LOWER" or n `[lo, hi]` pairs.
 * @param opts Dilations, `dimensionNumbers`, `featureGroupCount`, `batchGroupCount`, `preferredElementType`.
 * @returns The convolution, laid out by the out spec.
 * @example NHWC images with an HWIO kernel
 * ```ts
 * import { np } from "../mod.ts";
 * import { convGeneralDilated } from "./lax.ts";
 * const x = np.ones([1, 4, 4, 1]);
 * const w = np.ones([3, 3, 1, 1]);
 * const y = convGeneralDilated(x, w, [4, 4], [[0, 0], [0, 0]], {
 *   lhsDilation: [2, 2],
 *   dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
 * });
 * if (y.shape.join() !== "1,2,2,1") throw new Error("shape");
 * ```
 */
export function convGeneralDilated(
  lhs: ArrayLike,
  rhs: ArrayLike,
  windowStrides: number[],
  padding: Padding,
  opts: ConvGeneralDilatedOptions = {},
): Tensor {
  const op = "convGeneralDilated";
  let [l, r] = promoteFloat(op, lhs, rhs);
  const pref = preferred(op, opts.preferredElementType);
  if (pref === "float64" && l.aval.dtype !== "float64") {
    l = ew.convert(l, "float64");
    r = ew.convert(r, "float64");
  }
  const { preferredElementType: _unused, ...convOpts } = opts;
  const p = resolveConvParams(l.aval.shape, r.aval.shape, windowStrides, padding, convOpts);
  const out = convPrim(l, r, p);
  return pref ? ew.convert(out, pref) : out;
}

/**
 * `jax.lax.conv`: NC+spatial / OI+spatial convolution with strides and a padding string (or pairs).
 *
 * @param lhs Input (N, C, spatial...).
 * @param rhs Kernel (O, I, spatial...).
 * @param windowStrides One stride per spatial dim.
 * @param padding "VALID" | "SAME" | "SAME_LOWER" or `[lo, hi]` pairs.
 * @returns The convolution (N, O, spatial...).
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { conv } from "./lax.ts";
 * const y = conv(np.ones([1, 1, 5]), np.ones([1, 1, 3]), [1], "SAME");
 * if (y.dataSync().join() !== "2,3,3,3,2") throw new Error("conv");
 * ```
 */
export function conv(lhs: ArrayLike, rhs: ArrayLike, windowStrides: number[], padding: Padding): Tensor {
  return convGeneralDilated(lhs, rhs, windowStrides, padding);
}

/**
 * `jax.lax.conv_with_general_padding`: `conv` plus lhs and rhs dilation.
 *
 * @param lhs Input (N, C, spatial...).
 * @param rhs Kernel (O, I, spatial...).
 * @param windowStrides One stride per spatial dim.
 * @param padding Padding string or `[lo, hi]` pairs.
 * @param lhsDilation Input dilation per spatial dim (or null for none).
 * @param rhsDilation Kernel dilation per spatial dim (or null for none).
 * @returns The convolution (N, O, spatial...).
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { convWithGeneralPadding } from "./lax.ts";
 * const y = convWithGeneralPadding(np.ones([1, 1, 3]), np.ones([1, 1, 2]), [1], [[0, 0]], [2], null);
 * if (y.dataSync().join() !== "1,1,1,1") throw new Error("dilated");
 * ```
 */
export function convWithGeneralPadding(
  lhs: ArrayLike,
  rhs: ArrayLike,
  windowStrides: number[],
  padding: Padding,
  lhsDilation?: number[] | null,
  rhsDilation?: number[] | null,
): Tensor {
  return convGeneralDilated(lhs, rhs, windowStrides, padding, {
    lhsDilation: lhsDilation ?? undefined,
    rhsDilation: rhsDilation ?? undefined,
  });
}

/** Options of {@linkcode convTranspose}. */
export interface ConvTransposeOptions {
  /** Kernel dilation per spatial dim (default 1). */
  rhsDilation?: number[];
  /** Layout; default N+spatial+C / spatial+I+O / N+spatial+C (NHWC, HWIO, NHWC in 2-D). */
  dimensionNumbers?: [string, string, string] | ConvDimensionNumbers;
  /** Flip the kernel's spatial axes and swap its I/O axes (TF Conv2DTranspose), default false. */
  transposeKernel?: boolean;
  /** Read explicit pads as the forward conv's padding (PyTorch style), default false. */
  useConsistentPadding?: boolean;
  /** Result dtype (float). */
  preferredElementType?: DType;
}

const SPATIAL_LETTERS = "HWDABEFGJKLMPQRSTUVXYZ";

function defaultTransposeDims(rank: number): [string, string, string] {
  if (rank - 2 > SPATIAL_LETTERS.length) throw new RangeError(`convTranspose: rank ${rank} is too large for default dimension numbers`);
  const sp = SPATIAL_LETTERS.slice(0, rank - 2);
  return ["N" + sp + "C", sp + "IO", "N" + sp + "C"];
}

/** JAX `_conv_transpose_padding`: pads of the transposed conv for dilated kernel k and stride s. */
function transposePadding(k: number, s: number, padding: string | [number, number]): [number, number] {
  let lo: number, total: number;
  if (padding === "SAME") {
    total = k + s - 2;
    lo = s > k - 1 ? k - 1 : Math.ceil(total / 2);
  } else if (padding === "VALID") {
    total = k + s - 2 + Math.max(k - s, 0);
    lo = k - 1;
  } else {
    const [a, b] = padding as [number, number];
    lo = k - a - 1;
    total = lo + (k - b - 1);
  }
  return [lo, total - lo];
}

/**
 * Transposed ("fractionally strided") convolution, as `jax.lax.conv_transpose`: a convolution
 * with `lhsDilation = strides`, unit window strides and padding derived from the forward conv
 * ("SAME" / "VALID"), or explicit `[lo, hi]` pairs taken literally (or, with
 * `useConsistentPadding`, as the forward conv's padding: `K~ - 1 - p`). The kernel is not flipped
 * unless `transposeKernel` is set.
 *
 * @param lhs Input, default layout N + spatial + C.
 * @param rhs Kernel, default layout spatial + I + O.
 * @param strides Fractional strides (positive), one per spatial dim.
 * @param padding "SAME" | "VALID" or `[lo, hi]` pairs.
 * @param opts `rhsDilation`, `dimensionNumbers`, `transposeKernel`, `useConsistentPadding`, `preferredElementType`.
 * @returns The transposed convolution.
 * @example Upsampling a 1-d signal by 2
 * ```ts
 * import { np } from "../mod.ts";
 * import { convTranspose } from "./lax.ts";
 * const y = convTranspose(np.ones([1, 3, 1]), np.ones([2, 1, 1]), [2], "SAME");
 * if (y.shape.join() !== "1,6,1") throw new Error("shape");
 * ```
 */
export function convTranspose(
  lhs: ArrayLike,
  rhs: ArrayLike,
  strides: number[],
  padding: "SAME" | "VALID" | (string & Record<never, never>) | [number, number][],
  opts: ConvTransposeOptions = {},
): Tensor {
  const op = "convTranspose";
  let [l, r] = promoteFloat(op, lhs, rhs);
  const rank = l.ndim;
  if (rank !== r.ndim || rank < 2) {
    throw new TypeError(`${op}: lhs shape ${fmt(l.shape)} and rhs shape ${fmt(r.shape)} must have the same rank, at least 2`);
  }
  const n = rank - 2;
  if (!Array.isArray(strides) || strides.length !== n || !strides.every((s) => isInt(s) && s > 0)) {
    throw new RangeError(`${op}: strides ${fmt(strides)} must be ${n} positive integers, one per spatial dimension`);
  }
  const rhsDilation = opts.rhsDilation ?? new Array<number>(n).fill(1);
  if (!Array.isArray(rhsDilation) || rhsDilation.length !== n || !rhsDilation.every((d) => isInt(d) && d > 0)) {
    throw new RangeError(`${op}: rhsDilation ${fmt(rhsDilation)} must be ${n} positive integers, one per spatial dimension`);
  }
  const dims = opts.dimensionNumbers ?? defaultTransposeDims(rank);
  // resolve the layout once (validates it) to find the kernel's spatial sizes and I/O axes
  // (on all-ones shapes, so that feature checks happen later, after an optional kernel transpose)
  const ones = new Array<number>(rank).fill(1);
  const probe = resolveConvParams(ones, ones, new Array<number>(n).fill(1), "VALID", { dimensionNumbers: dims }).dimensionNumbers;
  const kd = probe.rhs.slice(2).map((a, i) => dilateDim(r.shape[a], rhsDilation[i]));
  let pads: [number, number][];
  if (typeof padding === "string") {
    const mode = padding.toUpperCase();
    if (mode !== "SAME" && mode !== "VALID") {
      throw new RangeError(`${op}: padding ${fmt(padding)} must be "SAME", "VALID" or a list of [lo, hi] pairs`);
    }
    pads = kd.map((k, i) => transposePadding(k, strides[i], mode));
  } else {
    if (!Array.isArray(padding) || padding.length !== n || !padding.every((p) => Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1]))) {
      throw new RangeError(`${op}: padding ${fmt(padding)} must be ${n} integer [lo, hi] pairs, one per spatial dimension`);
    }
    pads = opts.useConsistentPadding ? kd.map((k, i) => transposePadding(k, strides[i], padding[i])) : padding.map(([a, b]) => [a, b]);
  }
  if (opts.transposeKernel) {
    const [o, i] = [probe.rhs[0], probe.rhs[1]];
    r = mv.rev(r, probe.rhs.slice(2));
    const perm = [...Array(rank).keys()];
    [perm[o], perm[i]] = [perm[i], perm[o]];
    r = mv.transpose(r, perm);
  }
  return convGeneralDilated(l, r, new Array<number>(n).fill(1), pads, {
    lhsDilation: [...strides],
    rhsDilation,
    dimensionNumbers: dims,
    preferredElementType: opts.preferredElementType,
  });
}

/** Options of {@linkcode reduceWindow}. */
export interface ReduceWindowOptions {
  /** Operand (base) dilation per dim, default 1 (interior holes that take no part in the reduction). */
  baseDilation?: number[];
  /** Window dilation per dim, default 1. */
  windowDilation?: number[];
}

/** The reductions {@linkcode reduceWindow} supports. */
export type WindowComputation = "max" | "min" | "sum";

function checkDims(op: string, name: string, v: unknown, n: number): number[] {
  if (!Array.isArray(v) || v.length !== n || !v.every((d) => isInt(d) && d > 0)) {
    throw new RangeError(`${op}: ${name} ${fmt(v)} must be ${n} positive integers, one per operand dimension`);
  }
  return [...v];
}

/**
 * Reduction over (strided, padded, dilated) windows of every dimension, as `jax.lax.reduce_window`
 * with `lax.max`, `lax.min` or `lax.add`. As in XLA, `initValue` starts each window's reduction
 * once, and padding positions and base-dilation holes take no part (so with an identity
 * `initValue` — 0, -Infinity, Infinity — they act as zeros / -Infinity / Infinity). Max / min send
 * the gradient to exactly one element per window, the first maximum (minimum) in row-major window
 * order; NaN wins, so it propagates to every window that reads it.
 *
 * Implementation: pad, gather the window taps as strided slices stacked on a new axis, reduce
 * (sum; or a select of the first argmax / argmin along that axis plus a sum). Memory is
 * `outputSize × windowSize`.
 *
 * @param operand Input array (float or int32).
 * @param initValue Scalar start value of every window (e.g. `-Infinity` for max, `0` for sum).
 * @param computation "max" | "min" | "sum".
 * @param windowDimensions Window size for every dimension.
 * @param windowStrides Stride for every dimension (default all 1).
 * @param padding "VALID" | "SAME" | "SAME_LOWER" (from the un-dilated operand shape) or `[lo, hi]` per dim.
 * @param opts `baseDilation`, `windowDilation`.
 * @returns The reduced windows.
 * @example 2×2 max pooling with stride 2
 * ```ts
 * import { np } from "../mod.ts";
 * import { reduceWindow } from "./lax.ts";
 * const x = np.arange(16, { dtype: "float32" }).reshape([4, 4]);
 * const y = reduceWindow(x, -Infinity, "max", [2, 2], [2, 2], "VALID");
 * if (y.dataSync().join() !== "5,7,13,15") throw new Error("pool");
 * ```
 */
export function reduceWindow(
  operand: ArrayLike,
  initValue: number,
  computation: WindowComputation,
  windowDimensions: number[],
  windowStrides?: number[] | null,
  padding: Padding = "VALID",
  opts: ReduceWindowOptions = {},
): Tensor {
  const op = "reduceWindow";
  const x = asTensor(operand, op);
  const rank = x.ndim;
  if (x.dtype === "bool") throw new TypeError(`${op}: operand dtype bool is not supported; convert it to int32 or a float dtype`);
  if (computation !== "max" && computation !== "min" && computation !== "sum") {
    throw new RangeError(`${op}: computation ${fmt(computation)} must be "max", "min" or "sum"`);
  }
  if (typeof initValue !== "number") throw new TypeError(`${op}: initValue ${fmt(initValue)} must be a number`);
  const K = checkDims(op, "windowDimensions", windowDimensions, rank);
  const S = checkDims(op, "windowStrides", windowStrides ?? new Array<number>(rank).fill(1), rank);
  const bd = checkDims(op, "baseDilation", opts.baseDilation ?? new Array<number>(rank).fill(1), rank);
  const wd = checkDims(op, "windowDilation", opts.windowDilation ?? new Array<number>(rank).fill(1), rank);
  const Kd = K.map((k, i) => dilateDim(k, wd[i]));
  let pads: [number, number][];
  if (typeof padding === "string") {
    if (!["VALID", "SAME", "SAME_LOWER"].includes(padding.toUpperCase())) {
      throw new RangeError(`${op}: padding ${fmt(padding)} must be "VALID", "SAME", "SAME_LOWER" or a list of [lo, hi] pairs`);
    }
    pads = paddingForMode(padding, x.shape, Kd, S);
  } else {
    if (!Array.isArray(padding) || padding.length !== rank || !padding.every((p) => Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1]))) {
      throw new RangeError(`${op}: padding ${fmt(padding)} must be ${rank} integer [lo, hi] pairs, one per operand dimension`);
    }
    pads = padding.map(([a, b]) => [a, b]);
  }
  const P = x.shape.map((d, i) => dilateDim(d, bd[i]) + pads[i][0] + pads[i][1]);
  P.forEach((p, i) => {
    if (p < 0) throw new RangeError(`${op}: padding ${fmt(pads[i])} of dimension ${i} crops more than the dilated operand size ${dilateDim(x.shape[i], bd[i])}`);
  });
  const dtype = x.dtype;
  const init = scalarOf(initValue, dtype);
  // padding and base-dilation holes are skipped by XLA: fill them with the computation's identity
  const identity = scalarOf(computation === "sum" ? 0 : computation === "max" ? -Infinity : Infinity, dtype);
  let t = mv.pad(x, identity, pads.map((p) => p[0]), pads.map((p) => p[1]), bd.map((b) => b - 1));
  const Y = P.map((p, i) => convOutputDim(p, Kd[i], S[i]));
  // gather taps: for each dim with a window > 1, stack its K strided slices on a new trailing axis
  let taps = 1;
  for (let i = 0; i < rank; i++) {
    const shape = t.aval.shape;
    const pieces: Tensor[] = [];
    for (let k = 0; k < K[i]; k++) {
      const start = Math.min(k * wd[i], P[i]);
      const limit = Y[i] === 0 ? start : start + (Y[i] - 1) * S[i] + 1;
      const piece = mv.slice(t, shape.map((_, j) => (j === i ? start : 0)), shape.map((d, j) => (j === i ? limit : d)), shape.map((_, j) => (j === i ? S[i] : 1)));
      pieces.push(K[i] === 1 ? piece : mv.reshape(piece, [...piece.aval.shape, 1]));
    }
    t = K[i] === 1 ? pieces[0] : mv.concatenate(pieces, shape.length);
    taps *= K[i];
  }
  t = mv.reshape(t, [...Y, taps]);
  const isIdentity = computation === "sum" ? initValue === 0 : computation === "max"
    ? initValue === -Infinity || (dtype === "int32" && initValue <= -2147483648)
    : initValue === Infinity || (dtype === "int32" && initValue >= 2147483647);
  if (computation === "sum") {
    const s = red.reduceSum(t, [rank]);
    return isIdentity ? s : ew.add(s, mv.broadcastInDim(init, Y, []));
  }
  if (!isIdentity) {
    // the init value takes part in every window; as the last tap it loses ties to real elements
    t = mv.concatenate([t, mv.broadcastInDim(init, [...Y, 1], [])], rank);
    taps += 1;
  }
  const idx = computation === "max" ? red.argMax(t, rank) : red.argMin(t, rank);
  const iota = mv.broadcastInDim(arange(taps), [...Y, taps], [rank]);
  const hit = ew.eq(iota, mv.broadcastInDim(idx, [...Y, taps], Y.map((_, i) => i)));
  const zero = mv.broadcastInDim(scalarOf(0, dtype), [...Y, taps], []);
  return red.reduceSum(ew.select(hit, t, zero), [rank]);
}

// ------------------------------------------------------------------------------------------
// Thin wrappers of primitives, under their JAX names.

/**
 * `jax.lax.pad`: low / high (negative crops) and interior padding with a scalar value.
 *
 * @param x Operand.
 * @param paddingValue Scalar pad value (converted to x's dtype).
 * @param paddingConfig `[lo, hi, interior]` per dimension.
 * @returns The padded array.
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { pad } from "./lax.ts";
 * const y = pad(np.array([1, 2, 3]), 0, [[1, -1, 1]]);
 * if (y.dataSync().join() !== "0,1,0,2,0") throw new Error("pad");
 * ```
 */
export function pad(x: ArrayLike, paddingValue: number, paddingConfig: [number, number, number][]): Tensor {
  const t = asTensor(x, "pad");
  if (!Array.isArray(paddingConfig) || paddingConfig.length !== t.ndim || !paddingConfig.every((c) => Array.isArray(c) && c.length === 3 && c.every(isInt) && c[2] >= 0)) {
    throw new RangeError(`pad: paddingConfig ${fmt(paddingConfig)} must give ${t.ndim} integer [lo, hi, interior] triples (interior >= 0)`);
  }
  return mv.pad(t, scalarOf(paddingValue, t.dtype), paddingConfig.map((c) => c[0]), paddingConfig.map((c) => c[1]), paddingConfig.map((c) => c[2]));
}

/**
 * `jax.lax.dot_general` with `[[lhsContract, rhsContract], [lhsBatch, rhsBatch]]` dimension numbers
 * (operands promoted to a common dtype). Output axes: batch, lhs free, rhs free.
 *
 * @param lhs Left operand.
 * @param rhs Right operand.
 * @param dimensionNumbers `[[lc, rc], [lb, rb]]`.
 * @returns The contraction.
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { dotGeneral } from "./lax.ts";
 * const y = dotGeneral(np.ones([2, 3]), np.ones([3, 4]), [[[1], [0]], [[], []]]);
 * if (y.shape.join() !== "2,4") throw new Error("dot");
 * ```
 */
export function dotGeneral(lhs: ArrayLike, rhs: ArrayLike, dimensionNumbers: [[number[], number[]], [number[], number[]]]): Tensor {
  const a = asTensor(lhs, "dotGeneral"), b = asTensor(rhs, "dotGeneral");
  const d = resultType([a, b]).dtype;
  const [contract, batch] = dimensionNumbers;
  return dotGeneralPrim(ew.convert(a, d), ew.convert(b, d), { contract, batch });
}

/**
 * `jax.lax.reduce_sum` over the given axes (dropped from the result).
 *
 * @param x Operand.
 * @param axes Axes to sum.
 * @returns The sums.
 * @example
 * ```ts
 * import { np } from "../mod.ts";
 * import { reduceSum } from "./lax.ts";
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
 * import { np } from "../mod.ts";
 * import { reduceMax } from "./lax.ts";
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
 * import { np } from "../mod.ts";
 * import { reduceMin } from "./lax.ts";
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
 * import { np } from "../mod.ts";
 * import { rev } from "./lax.ts";
 * if (rev(np.array([1, 2, 3]), [0]).dataSync().join() !== "3,2,1") throw new Error("rev");
 * ```
 */
export function rev(x: ArrayLike, dimensions: number[]): Tensor {
  return mv.rev(asTensor(x, "rev"), dimensions);
}
