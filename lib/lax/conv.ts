// lax convolution front-ends: convGeneralDilated (operand promotion, preferredElementType), the
// conv / convWithGeneralPadding shorthands and convTranspose (JAX padding rules, transposeKernel,
// useConsistentPadding), all binding the `conv` primitive with parameters from resolveConvParams.

import type { DType } from "../dtype.ts";
import { checkDType, isFloat } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { conv as convPrim } from "../ops/conv.ts";
import {
  CONV_KEYS,
  type ConvDimensionNumbers,
  type ConvOptions,
  dilateDim,
  type Padding,
  resolveConvParams,
} from "../ops/conv_params.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { padPairs } from "../ops/padding.ts";
import { fmt, isInt, promoteFloat } from "./_args.ts";
import { checkOptions } from "../options.ts";

export type { ConvDimensionNumbers, ConvOptions, Padding };

/** Options of {@linkcode convGeneralDilated}: `ConvOptions` plus the accumulation dtype. */
export interface ConvGeneralDilatedOptions extends ConvOptions {
  /** Result dtype (a float dtype); the inputs are converted to it first when it is wider. */
  preferredElementType?: DType;
}

function preferred(op: string, t: DType | undefined): DType | undefined {
  if (t === undefined || t === null) return undefined;
  if (typeof t !== "string") {
    throw new TypeError(`${op}: preferredElementType ${fmt(t)} must be a float dtype name`);
  }
  const d = checkDType(t, `${op}: preferredElementType`);
  if (!isFloat(d)) {
    throw new TypeError(
      `${op}: preferredElementType ${fmt(t)} must be a float dtype (float32 or float64)`,
    );
  }
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
 * import { np } from "../../mod.ts";
 * import { convGeneralDilated } from "./conv.ts";
 * const x = np.ones([1, 4, 4, 1]);
 * const w = np.ones([3, 3, 1, 1]);
 * const y = convGeneralDilated(x, w, [4, 4], [[0, 0], [0, 0]], {
 *   lhsDilation: [2, 2],
 *   dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
 * });
 * if (y.shape.join() !== "1,2,2,1") throw new Error("shape");
 * ```
 * @example The NHWC notebook: image [2,10,11,5], filter [2,3,5,4] (kh, kw, in, out), numerical gradient check
 * ```ts
 * import { checkGrads, grad, np, random } from "../../mod.ts";
 * import { convGeneralDilated } from "./conv.ts";
 * const [k1, k2] = random.splitList(random.key(0), 2);
 * const img = random.normal(k1, [2, 10, 11, 5]).astype("float64");
 * const filt = random.normal(k2, [2, 3, 5, 4]).astype("float64");
 * const f = (x: np.Tensor, w: np.Tensor) =>
 *   convGeneralDilated(x, w, [1, 1], "VALID", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] });
 * if (f(img, filt).shape.join() !== "2,9,9,4") throw new Error("shape");
 * const loss = (x: np.Tensor, w: np.Tensor) => np.sum(np.tanh(f(x, w)));
 * const dw = grad(loss, { argnums: 1 })(img, filt).dataSync();
 * // central differences, element by element, for every filter element
 * const wv = Float64Array.from(filt.dataSync());
 * for (let i = 0; i < wv.length; i++) {
 *   const at = (h: number) => {
 *     const v = wv.slice();
 *     v[i] += h;
 *     return loss(img, np.array(v, { dtype: "float64", shape: filt.shape })).item() as number;
 *   };
 *   const numeric = (at(1e-5) - at(-1e-5)) / 2e-5;
 *   if (Math.abs(numeric - dw[i]) > 1e-6 * (1 + Math.abs(numeric))) throw new Error(`filter element ${i}`);
 * }
 * checkGrads(loss, [img, filt], { order: 1 }); // random directions through every image element
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
  opts = checkOptions(op, opts, [...CONV_KEYS, "preferredElementType"]);
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
 * import { np } from "../../mod.ts";
 * import { conv } from "./conv.ts";
 * const y = conv(np.ones([1, 1, 5]), np.ones([1, 1, 3]), [1], "SAME");
 * if (y.dataSync().join() !== "2,3,3,3,2") throw new Error("conv");
 * ```
 */
export function conv(
  lhs: ArrayLike,
  rhs: ArrayLike,
  windowStrides: number[],
  padding: Padding,
): Tensor {
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
 * import { np } from "../../mod.ts";
 * import { convWithGeneralPadding } from "./conv.ts";
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
  if (rank - 2 > SPATIAL_LETTERS.length) {
    throw new RangeError(`convTranspose: rank ${rank} is too large for default dimension numbers`);
  }
  const sp = SPATIAL_LETTERS.slice(0, rank - 2);
  return ["N" + sp + "C", sp + "IO", "N" + sp + "C"];
}

/** JAX `_conv_transpose_padding`: pads of the transposed conv for dilated kernel k and stride s. */
function transposePadding(
  k: number,
  s: number,
  padding: string | [number, number],
): [number, number] {
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
 * import { np } from "../../mod.ts";
 * import { convTranspose } from "./conv.ts";
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
  opts = checkOptions(op, opts, [
    "rhsDilation",
    "dimensionNumbers",
    "transposeKernel",
    "useConsistentPadding",
    "preferredElementType",
  ]);
  let [l, r] = promoteFloat(op, lhs, rhs);
  const rank = l.ndim;
  if (rank !== r.ndim || rank < 2) {
    throw new TypeError(
      `${op}: lhs shape ${fmt(l.shape)} and rhs shape ${
        fmt(r.shape)
      } must have the same rank, at least 2`,
    );
  }
  const n = rank - 2;
  if (!Array.isArray(strides) || strides.length !== n || !strides.every((s) => isInt(s) && s > 0)) {
    throw new RangeError(
      `${op}: strides ${fmt(strides)} must be ${n} positive integers, one per spatial dimension`,
    );
  }
  const rhsDilation = opts.rhsDilation ?? new Array<number>(n).fill(1);
  if (
    !Array.isArray(rhsDilation) || rhsDilation.length !== n ||
    !rhsDilation.every((d) => isInt(d) && d > 0)
  ) {
    throw new RangeError(
      `${op}: rhsDilation ${
        fmt(rhsDilation)
      } must be ${n} positive integers, one per spatial dimension`,
    );
  }
  const dims = opts.dimensionNumbers ?? defaultTransposeDims(rank);
  // resolve the layout once (validates it) to find the kernel's spatial sizes and I/O axes
  // (on all-ones shapes, so that feature checks happen later, after an optional kernel transpose)
  const ones = new Array<number>(rank).fill(1);
  const probe =
    resolveConvParams(ones, ones, new Array<number>(n).fill(1), "VALID", { dimensionNumbers: dims })
      .dimensionNumbers;
  const kd = probe.rhs.slice(2).map((a, i) => dilateDim(r.shape[a], rhsDilation[i]));
  let pads: [number, number][];
  if (typeof padding === "string") {
    const mode = padding.toUpperCase();
    if (mode !== "SAME" && mode !== "VALID") {
      throw new RangeError(
        `${op}: padding ${fmt(padding)} must be "SAME", "VALID" or a list of [lo, hi] pairs`,
      );
    }
    pads = kd.map((k, i) => transposePadding(k, strides[i], mode));
  } else {
    const pairs = padPairs(op, padding, { n, per: "spatial dimension" });
    pads = opts.useConsistentPadding
      ? kd.map((k, i) => transposePadding(k, strides[i], pairs[i]))
      : pairs;
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
