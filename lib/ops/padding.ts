/**
 * The one padding validator of windowed operations (convolutions, reduceWindow and its
 * primitives, nn pooling and convolutions): mode strings, explicit `[lo, hi]` pairs, crops.
 * @module
 */
import { fmtArg as fmt } from "../shape.ts";

/** The padding modes of lax-style APIs (any case). */
export const PADDING_MODES: readonly string[] = ["VALID", "SAME", "SAME_LOWER"];

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);
const isPair = (p: unknown, nonNegative: boolean): p is [number, number] =>
  Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1]) &&
  (!nonNegative || (p[0] >= 0 && p[1] >= 0));

/** What a padding argument pads. */
export interface PaddingSpec {
  /** Number of padded dimensions. */
  n: number;
  /** What one dimension is called in messages ("spatial dimension", "operand dimension"). */
  per: string;
  /** Padding must not crop (nn-style APIs); else negative entries crop, as in XLA. */
  nonNegative?: boolean;
}

/**
 * Checks the form of a lax-style padding: a mode of {@linkcode PADDING_MODES} (any case) or a
 * list of integer `[lo, hi]` pairs (the count is checked by {@linkcode padPairs}).
 *
 * @param op Operation name for errors.
 * @param padding The argument.
 * @example
 * ```ts
 * import { checkPaddingForm } from "./padding.ts";
 * checkPaddingForm("op", "same");
 * checkPaddingForm("op", [[1, -1]]);
 * ```
 */
export function checkPaddingForm(op: string, padding: unknown): void {
  if (typeof padding === "string") {
    if (!PADDING_MODES.includes(padding.toUpperCase())) {
      throw new RangeError(
        `${op}: padding ${
          fmt(padding)
        } must be "VALID", "SAME", "SAME_LOWER" or a list of [lo, hi] pairs`,
      );
    }
  } else if (!Array.isArray(padding) || !Array.from(padding).every((p) => isPair(p, false))) {
    throw new RangeError(
      `${op}: padding ${fmt(padding)} must be a string or a list of integer [lo, hi] pairs`,
    );
  }
}

/**
 * Checks explicit padding: `spec.n` integer `[lo, hi]` pairs (non-negative where required).
 *
 * @param op Operation name for errors.
 * @param padding The argument.
 * @param spec Dimension count and naming.
 * @returns A copy of the pairs.
 * @example
 * ```ts
 * import { padPairs } from "./padding.ts";
 * const p = padPairs("op", [[1, 2]], { n: 1, per: "dimension" });
 * if (p[0].join() !== "1,2") throw new Error("padPairs");
 * ```
 */
export function padPairs(op: string, padding: unknown, spec: PaddingSpec): [number, number][] {
  const nonNeg = spec.nonNegative ?? false;
  if (
    !Array.isArray(padding) || padding.length !== spec.n ||
    !Array.from(padding).every((p) => isPair(p, nonNeg))
  ) {
    throw new RangeError(
      `${op}: padding ${fmt(padding)} must be ${spec.n} ${
        nonNeg ? "non-negative " : ""
      }integer [lo, hi] pairs, one per ${spec.per}`,
    );
  }
  return padding.map((p: [number, number]): [number, number] => [p[0], p[1]]);
}

/**
 * Pads of a mode: "VALID" none; "SAME" (and "SAME_LOWER", extra on the low side) as many as
 * make the output size ceil(input / stride).
 *
 * @param op Operation name for errors.
 * @param mode "VALID", "SAME" or "SAME_LOWER" (any case).
 * @param inSizes Input sizes.
 * @param dilatedKernel Window sizes after dilation.
 * @param strides Window strides.
 * @returns One `[lo, hi]` pair per dimension.
 * @example
 * ```ts
 * import { paddingForMode } from "./padding.ts";
 * const p = paddingForMode("op", "same", [5], [4], [1]);
 * if (p[0][0] !== 1 || p[0][1] !== 2) throw new Error("unexpected");
 * ```
 */
export function paddingForMode(
  op: string,
  mode: string,
  inSizes: number[],
  dilatedKernel: number[],
  strides: number[],
): [number, number][] {
  checkPaddingForm(op, mode);
  const m = mode.toUpperCase();
  return inSizes.map((x, i): [number, number] => {
    if (m === "VALID") return [0, 0];
    const s = strides[i];
    const out = Math.ceil(x / s);
    const t = Math.max((out - 1) * s + dilatedKernel[i] - x, 0);
    const small = Math.floor(t / 2);
    return m === "SAME" ? [small, t - small] : [t - small, small];
  });
}

/**
 * Checks that padding crops no dimension below zero: `sizes[i] + lo + hi >= 0`.
 *
 * @param op Operation name for errors.
 * @param pads One `[lo, hi]` pair per dimension.
 * @param sizes The (dilated) sizes being padded.
 * @param spec Naming of a dimension ("spatial dimension") and of the sizes ("lhs").
 * @returns The padded sizes.
 * @example
 * ```ts
 * import { checkCrop } from "./padding.ts";
 * if (checkCrop("op", [[-1, 2]], [4], { per: "dimension", of: "operand" })[0] !== 5) throw new Error();
 * ```
 */
export function checkCrop(
  op: string,
  pads: [number, number][],
  sizes: number[],
  spec: { per: string; of: string },
): number[] {
  return sizes.map((d, i) => {
    const padded = d + pads[i][0] + pads[i][1];
    if (padded < 0) {
      throw new RangeError(
        `${op}: padding ${
          fmt(pads[i])
        } of ${spec.per} ${i} crops more than the dilated ${spec.of} size ${d}`,
      );
    }
    return padded;
  });
}
