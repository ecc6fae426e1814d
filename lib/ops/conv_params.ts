// Parameters of convGeneralDilated (jax.lax.conv_general_dilated, conv-semantics.md §0-§1):
// validation, dimension numbers, string padding and output shape. Pure shape arithmetic; the
// transpose rules that express both VJPs as convolutions are in conv_grad_params.ts.

import { fmtArg as fmt } from "../shape.ts";
import { checkCrop, checkPaddingForm, paddingForMode, padPairs } from "./padding.ts";

/** Padding of a convolution: a string mode (case-insensitive) or one `[lo, hi]` pair per spatial dim. */
export type Padding = "VALID" | "SAME" | "SAME_LOWER" | (string & Record<never, never>) | [
  number,
  number,
][];

/**
 * Integer dimension numbers, as `jax.lax.ConvDimensionNumbers`:
 * `lhs = [batchDim, featureDim, ...spatialDims]`, `rhs = [outFeatureDim, inFeatureDim, ...spatialDims]`,
 * `out = [batchDim, featureDim, ...spatialDims]`. The i-th spatial entry of each spec names the
 * same spatial dimension; windowStrides[i], padding[i], lhsDilation[i] and rhsDilation[i] refer to it.
 */
export interface ConvDimensionNumbers {
  /** Input axes: `[batch, feature, ...spatial]`. */
  lhs: number[];
  /** Kernel axes: `[outFeature, inFeature, ...spatial]`. */
  rhs: number[];
  /** Output axes: `[batch, feature, ...spatial]`. */
  out: number[];
}

/** Optional arguments of convGeneralDilated (JAX names in camelCase). */
export interface ConvOptions {
  /** Input (base) dilation per spatial dim, default all 1 (transposed convolution). */
  lhsDilation?: number[];
  /** Kernel (window) dilation per spatial dim, default all 1 (atrous convolution). */
  rhsDilation?: number[];
  /** `[lhsSpec, rhsSpec, outSpec]` strings such as `["NHWC", "HWIO", "NHWC"]`, or integer specs. */
  dimensionNumbers?: [string, string, string] | ConvDimensionNumbers;
  /** Number of contiguous feature groups G (default 1; depthwise: G = C). */
  featureGroupCount?: number;
  /** Number of contiguous batch groups B (default 1). */
  batchGroupCount?: number;
}

/** The keys of {@linkcode ConvOptions} (for option checks of the front-ends). */
export const CONV_KEYS: readonly string[] = [
  "lhsDilation",
  "rhsDilation",
  "dimensionNumbers",
  "featureGroupCount",
  "batchGroupCount",
];

/** Fully resolved convolution parameters: explicit pads, integer dimension numbers, all defaults filled. */
export interface ConvParams {
  /** Window stride per spatial dim (positive). */
  windowStrides: number[];
  /** `[lo, hi]` per spatial dim, applied to the dilated input; negative crops. */
  padding: [number, number][];
  /** Input dilation per spatial dim. */
  lhsDilation: number[];
  /** Kernel dilation per spatial dim. */
  rhsDilation: number[];
  /** Integer dimension numbers. */
  dimensionNumbers: ConvDimensionNumbers;
  /** Feature group count G. */
  featureGroupCount: number;
  /** Batch group count B (at most one of G and B exceeds 1). */
  batchGroupCount: number;
}

const OP = "convGeneralDilated";

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

function isPositiveIntList(v: unknown): v is number[] {
  // NOTE: Array.from turns holes into undefined, which `every` would otherwise skip
  return Array.isArray(v) && Array.from(v).every((x) => isInt(x) && x > 0);
}

/**
 * Size of a dimension of length `d` after inserting `dilation - 1` zeros between elements.
 *
 * @param d Dimension length (>= 0).
 * @param dilation Dilation factor (>= 1).
 * @returns `0` if `d == 0`, else `(d - 1) * dilation + 1`.
 * @example
 * ```ts
 * import { dilateDim } from "./conv_params.ts";
 * if (dilateDim(3, 2) !== 5 || dilateDim(0, 4) !== 0) throw new Error("unexpected");
 * ```
 */
export function dilateDim(d: number, dilation: number): number {
  return d === 0 ? 0 : (d - 1) * dilation + 1;
}

/**
 * Output length of one spatial axis (conv-semantics.md §0): number of window positions of a
 * dilated kernel of length `kd` on a padded input of length `padded` with the given stride.
 *
 * @param padded Padded, dilated input length P (>= 0).
 * @param kd Dilated kernel length K~.
 * @param stride Window stride (>= 1).
 * @returns `0` if `P == 0` or `K~ > P`, else `floor((P - K~) / s) + 1`.
 * @example
 * ```ts
 * import { convOutputDim } from "./conv_params.ts";
 * if (convOutputDim(8, 3, 2) !== 3 || convOutputDim(2, 3, 1) !== 0) throw new Error("unexpected");
 * ```
 */
export function convOutputDim(padded: number, kd: number, stride: number): number {
  if (padded <= 0 || kd > padded) return 0;
  return Math.floor((padded - kd) / stride) + 1;
}

function checkShape(name: string, shape: unknown): asserts shape is number[] {
  if (!Array.isArray(shape) || !Array.from(shape).every((d) => isInt(d) && d >= 0)) {
    throw new TypeError(
      `${OP}: ${name} shape ${fmt(shape)} must be a list of non-negative integers`,
    );
  }
}

function iota(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function isPermutation(spec: unknown, rank: number): spec is number[] {
  if (!Array.isArray(spec) || spec.length !== rank) return false;
  const seen = new Set<number>();
  for (const d of spec) {
    if (!isInt(d) || d < 0 || d >= rank || seen.has(d)) return false;
    seen.add(d);
  }
  return true;
}

/** JAX's conv_general_permutations: string specs -> integer specs, spatial order from rhs. */
function parseDimensionStrings(specs: readonly string[], rank: number): ConvDimensionNumbers {
  const pairs: [string, string][] = [["N", "C"], ["O", "I"], ["N", "C"]];
  for (let i = 0; i < 3; i++) {
    const s = specs[i];
    if (s.length !== rank) {
      throw new TypeError(
        `${OP}: dimensionNumbers[${i}] ${
          fmt(s)
        } must have length equal to the rank ${rank} of lhs and rhs`,
      );
    }
    const [a, b] = pairs[i];
    const count = (ch: string) => [...s].filter((c) => c === ch).length;
    if (count(a) !== 1 || count(b) !== 1) {
      throw new TypeError(
        `${OP}: dimensionNumbers[${i}] ${
          fmt(s)
        } must contain the characters ${a} and ${b} exactly once`,
      );
    }
    if (new Set(s).size !== s.length) {
      throw new TypeError(
        `${OP}: dimensionNumbers[${i}] ${fmt(s)} must not contain duplicate characters`,
      );
    }
  }
  const spatialSet = (s: string, [a, b]: [string, string]) =>
    [...s].filter((c) => c !== a && c !== b).sort().join("");
  const sets = specs.map((s, i) => spatialSet(s, pairs[i]));
  if (sets[0] !== sets[1] || sets[1] !== sets[2]) {
    throw new TypeError(
      `${OP}: dimensionNumbers ${
        fmt(specs)
      } must use the same set of spatial characters in all three specs`,
    );
  }
  const rhsSpatial = [...specs[1]].filter((c) => c !== "O" && c !== "I");
  const perm = (
    s: string,
    [a, b]: [string, string],
  ) => [s.indexOf(a), s.indexOf(b), ...rhsSpatial.map((c) => s.indexOf(c))];
  return {
    lhs: perm(specs[0], pairs[0]),
    rhs: perm(specs[1], pairs[1]),
    out: perm(specs[2], pairs[2]),
  };
}

function resolveDimensionNumbers(
  dn: ConvOptions["dimensionNumbers"],
  rank: number,
): ConvDimensionNumbers {
  if (dn === undefined || dn === null) return { lhs: iota(rank), rhs: iota(rank), out: iota(rank) };
  if (Array.isArray(dn)) {
    if (dn.length !== 3) {
      throw new TypeError(
        `${OP}: dimensionNumbers ${fmt(dn)} must have 3 entries [lhsSpec, rhsSpec, outSpec]`,
      );
    }
    if (!dn.every((s) => typeof s === "string")) {
      throw new TypeError(`${OP}: dimensionNumbers ${fmt(dn)} entries must all be strings`);
    }
    return parseDimensionStrings(dn, rank);
  }
  if (typeof dn === "object") {
    const d = dn as ConvDimensionNumbers;
    for (const key of ["lhs", "rhs", "out"] as const) {
      if (!isPermutation(d[key], rank)) {
        throw new TypeError(
          `${OP}: dimensionNumbers.${key} ${
            fmt(d[key])
          } must be a permutation of the ${rank} axes of lhs and rhs`,
        );
      }
    }
    return { lhs: [...d.lhs], rhs: [...d.rhs], out: [...d.out] };
  }
  throw new TypeError(
    `${OP}: dimensionNumbers ${fmt(dn)} must be three strings or {lhs, rhs, out} integer specs`,
  );
}

function checkGroupCount(name: string, v: unknown): asserts v is number {
  if (!isInt(v) || v <= 0) {
    throw new RangeError(`${OP}: ${name} ${fmt(v)} must be a positive integer`);
  }
}

function checkDilation(name: string, v: unknown, n: number): asserts v is number[] {
  if (!Array.isArray(v) || v.length !== n) {
    throw new RangeError(
      `${OP}: ${name} ${fmt(v)} must have ${n} entries, one per spatial dimension`,
    );
  }
  if (!isPositiveIntList(v)) {
    throw new RangeError(`${OP}: ${name} ${fmt(v)} must all be positive integers`);
  }
}

/**
 * Validates the arguments of `convGeneralDilated` and resolves them to explicit parameters.
 * Checks run in the order JAX runs them (ranks, dimension numbers, string padding with lhs
 * dilation, padding form, feature groups, batch groups, strides, dilations, pad count,
 * negative padding); shape, dimension-number and group-size mismatches throw `TypeError`,
 * bad strides, dilations, padding and group-count values throw `RangeError`.
 *
 * @param lhsShape Shape of the input (rank n + 2).
 * @param rhsShape Shape of the kernel (rank n + 2).
 * @param windowStrides n positive integers (spatial order of the rhs spec).
 * @param padding "VALID" | "SAME" | "SAME_LOWER" (any case) or n integer `[lo, hi]` pairs (may be negative).
 * @param opts Dilations, dimension numbers and group counts.
 * @param opName Operation name used in error messages.
 * @returns The resolved parameters.
 * @example
 * ```ts
 * import { resolveConvParams } from "./conv_params.ts";
 * const p = resolveConvParams([1, 5, 5, 3], [3, 3, 3, 8], [2, 2], "SAME", {
 *   dimensionNumbers: ["NHWC", "HWIO", "NHWC"],
 * });
 * if (p.padding[0][0] !== 1 || p.dimensionNumbers.rhs[0] !== 3) throw new Error("unexpected");
 * ```
 */
export function resolveConvParams(
  lhsShape: number[],
  rhsShape: number[],
  windowStrides: number[],
  padding: Padding,
  opts: ConvOptions = {},
): ConvParams {
  const n = checkRanks(lhsShape, rhsShape);
  const dn = resolveDimensionNumbers(opts.dimensionNumbers, n + 2);
  const lhsDilation = opts.lhsDilation ?? new Array<number>(n).fill(1);
  const rhsDilation = opts.rhsDilation ?? new Array<number>(n).fill(1);
  if (
    typeof padding === "string" && Array.isArray(lhsDilation) && lhsDilation.some((d) => d !== 1)
  ) {
    throw new RangeError(
      `${OP}: string padding ${fmt(padding)} cannot be combined with lhsDilation ${
        fmt(lhsDilation)
      }; give explicit [lo, hi] pads`,
    );
  }
  checkPaddingForm(OP, padding);
  const G = opts.featureGroupCount ?? 1;
  const B = opts.batchGroupCount ?? 1;
  checkGroups(lhsShape, rhsShape, dn, G, B);
  if (!Array.isArray(windowStrides) || windowStrides.length !== n) {
    throw new RangeError(
      `${OP}: windowStrides ${
        fmt(windowStrides)
      } must have ${n} entries, one per spatial dimension`,
    );
  }
  if (!isPositiveIntList(windowStrides)) {
    throw new RangeError(
      `${OP}: windowStrides ${fmt(windowStrides)} must all be positive integers`,
    );
  }
  checkDilation("lhsDilation", lhsDilation, n);
  checkDilation("rhsDilation", rhsDilation, n);
  const X = dn.lhs.slice(2).map((a) => lhsShape[a]);
  const Kd = dn.rhs.slice(2).map((a, i) => dilateDim(rhsShape[a], rhsDilation[i]));
  const pads = typeof padding === "string"
    ? paddingForMode(OP, padding, X, Kd, windowStrides)
    : padPairs(OP, padding, { n, per: "spatial dimension" });
  const Xd = X.map((x, i) => dilateDim(x, lhsDilation[i]));
  checkCrop(OP, pads, Xd, { per: "spatial dimension", of: "lhs" });
  return {
    windowStrides: [...windowStrides],
    padding: pads,
    lhsDilation: [...lhsDilation],
    rhsDilation: [...rhsDilation],
    dimensionNumbers: dn,
    featureGroupCount: G,
    batchGroupCount: B,
  };
}

/** Checks both shapes and their common rank (at least 2); returns the spatial rank. */
function checkRanks(lhsShape: number[], rhsShape: number[]): number {
  checkShape("lhs", lhsShape);
  checkShape("rhs", rhsShape);
  const rank = lhsShape.length;
  if (rank !== rhsShape.length) {
    throw new TypeError(
      `${OP}: lhs shape ${fmt(lhsShape)} and rhs shape ${
        fmt(rhsShape)
      } must have the same rank, got ${rank} and ${rhsShape.length}`,
    );
  }
  if (rank < 2) {
    throw new TypeError(
      `${OP}: lhs shape ${fmt(lhsShape)} and rhs shape ${fmt(rhsShape)} must have rank at least 2`,
    );
  }
  return rank - 2;
}

/** Checks the feature and batch group counts against the feature and batch sizes. */
function checkGroups(
  lhsShape: number[],
  rhsShape: number[],
  dn: ConvDimensionNumbers,
  G: number,
  B: number,
): void {
  const N = lhsShape[dn.lhs[0]];
  const C = lhsShape[dn.lhs[1]];
  const O = rhsShape[dn.rhs[0]];
  const I = rhsShape[dn.rhs[1]];
  checkGroupCount("featureGroupCount", G);
  if (C % G !== 0) {
    throw new TypeError(`${OP}: featureGroupCount ${G} must divide lhs feature dimension ${C}`);
  }
  if (C / G !== I) {
    throw new TypeError(
      `${OP}: lhs feature dimension ${C} divided by featureGroupCount ${G} must equal rhs input feature dimension ${I}`,
    );
  }
  if (O % G !== 0) {
    throw new TypeError(
      `${OP}: rhs output feature dimension ${O} must be a multiple of featureGroupCount ${G}`,
    );
  }
  checkGroupCount("batchGroupCount", B);
  if (N % B !== 0) {
    throw new TypeError(`${OP}: batchGroupCount ${B} must divide lhs batch dimension ${N}`);
  }
  if (O % B !== 0) {
    throw new TypeError(
      `${OP}: rhs output feature dimension ${O} must be a multiple of batchGroupCount ${B}`,
    );
  }
  if (G > 1 && B > 1) {
    throw new RangeError(
      `${OP}: at most one of featureGroupCount ${G} and batchGroupCount ${B} may be greater than 1`,
    );
  }
}

/**
 * Output shape of a convolution with resolved parameters, in the layout of the out spec:
 * batch `N / batchGroupCount`, feature `O`, spatial sizes per conv-semantics.md §0 (zero,
 * not an error, when the dilated kernel exceeds the padded input).
 *
 * @param lhsShape Input shape.
 * @param rhsShape Kernel shape.
 * @param p Parameters from {@linkcode resolveConvParams}.
 * @returns The output shape.
 * @example
 * ```ts
 * import { convOutputShape, resolveConvParams } from "./conv_params.ts";
 * const p = resolveConvParams([2, 3, 8], [4, 3, 3], [2], "VALID");
 * if (convOutputShape([2, 3, 8], [4, 3, 3], p).join() !== "2,4,3") throw new Error("unexpected");
 * ```
 */
export function convOutputShape(lhsShape: number[], rhsShape: number[], p: ConvParams): number[] {
  const { lhs, rhs, out } = p.dimensionNumbers;
  const shape = new Array<number>(lhsShape.length).fill(0);
  shape[out[0]] = lhsShape[lhs[0]] / p.batchGroupCount;
  shape[out[1]] = rhsShape[rhs[0]];
  for (let i = 0; i < lhs.length - 2; i++) {
    const xd = dilateDim(lhsShape[lhs[2 + i]], p.lhsDilation[i]);
    const kd = dilateDim(rhsShape[rhs[2 + i]], p.rhsDilation[i]);
    shape[out[2 + i]] = convOutputDim(
      xd + p.padding[i][0] + p.padding[i][1],
      kd,
      p.windowStrides[i],
    );
  }
  return shape;
}
