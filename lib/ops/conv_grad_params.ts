/**
 * The transpose rules of `conv` as convolution parameters (JAX's
 * `_conv_general_dilated_transpose_lhs/_rhs`, conv-semantics.md §1): both gradients of a
 * convolution are convolutions again, with rearranged kernels for grouped convolutions.
 * @module
 */
import { convOutputShape, type ConvParams, dilateDim } from "./conv_params.ts";
import { sizeOf } from "../shape.ts";

// ---------------------------------------------------------------------------------------
// Gradients (JAX `_conv_general_dilated_transpose_lhs/_rhs`, conv-semantics.md §1).

/**
 * Moves a group factor from one axis into another (JAX `_reshape_axis_out_of` followed by
 * `_reshape_axis_into`). With tensor ops on an array of shape S:
 * 1. reshape axis `fromAxis` (size A) into `(groups, A / groups)`, groups major;
 * 2. transpose so the new `groups` axis sits immediately before axis `intoAxis`;
 * 3. reshape to merge `(groups, S[intoAxis])` into one axis, groups major.
 * Element-wise: `out[.., a, .., g * S[intoAxis] + j, ..] = in[.., g * (A / groups) + a, .., j, ..]`
 * (a at `fromAxis`, the merged index at `intoAxis`; the result has the same rank).
 */
export interface GroupMove {
  /** The group count (divides the size of `fromAxis`). */
  groups: number;
  /** Axis the group factor is taken out of. */
  fromAxis: number;
  /** Axis the group factor is merged into, as its major part. */
  intoAxis: number;
}

/** Kernel rearrangement for the lhs gradient: first `groupMove` (if any), then reverse `reverseAxes`. */
export interface LhsGradRhsTransform {
  /** Group factor moved from the O axis into the I axis (G or B > 1), else null. */
  groupMove: GroupMove | null;
  /** Axes reversed after the move: the kernel's spatial axes. */
  reverseAxes: number[];
  /** Kernel shape after the rearrangement. */
  shape: number[];
}

/** Rearrangement of the lhs-gradient convolution result (batch groups only). */
export interface LhsGradOutTransform {
  /** Group factor moved from the feature axis into the batch axis (B > 1), else null. */
  groupMove: GroupMove | null;
  /** Shape after the rearrangement: always the lhs shape. */
  shape: number[];
}

/** How to compute the lhs gradient: `outTransform(conv(g, rhsTransform(rhs), params))`. */
export interface LhsGradPlan {
  /** Parameters of the gradient convolution (lhs = cotangent, rhs = transformed kernel). */
  params: ConvParams;
  /** Kernel rearrangement applied before the convolution. */
  rhsTransform: LhsGradRhsTransform;
  /** Result rearrangement applied after the convolution. */
  outTransform: LhsGradOutTransform;
  /** True when the gradient is identically zero (some operand or the cotangent has no elements): use zeros. */
  isZero: boolean;
}

/** How to compute the rhs gradient: `conv(lhs, g, params)`, already in the rhs layout and shape. */
export interface RhsGradPlan {
  /** Parameters of the gradient convolution (lhs = forward lhs, rhs = cotangent). */
  params: ConvParams;
  /** True when the gradient is identically zero (some operand or the cotangent has no elements): use zeros. */
  isZero: boolean;
}

function swap01(spec: number[]): number[] {
  return [spec[1], spec[0], ...spec.slice(2)];
}

function spatialSizes(lhsShape: number[], rhsShape: number[], p: ConvParams) {
  const { lhs, rhs, out } = p.dimensionNumbers;
  const outShape = convOutputShape(lhsShape, rhsShape, p);
  const n = lhs.length - 2;
  const Xd: number[] = [], Kd: number[] = [], Yd: number[] = [];
  for (let i = 0; i < n; i++) {
    Xd.push(dilateDim(lhsShape[lhs[2 + i]], p.lhsDilation[i]));
    Kd.push(dilateDim(rhsShape[rhs[2 + i]], p.rhsDilation[i]));
    Yd.push(dilateDim(outShape[out[2 + i]], p.windowStrides[i]));
  }
  return { outShape, Xd, Kd, Yd };
}

/**
 * Shape after a {@linkcode GroupMove}.
 *
 * @param shape Input shape.
 * @param m The move.
 * @returns The shape with `fromAxis` divided and `intoAxis` multiplied by `m.groups`.
 * @example
 * ```ts
 * import { groupMoveShape } from "./conv_grad_params.ts";
 * if (groupMoveShape([6, 2, 3], { groups: 3, fromAxis: 0, intoAxis: 1 }).join() !== "2,6,3") throw new Error();
 * ```
 */
export function groupMoveShape(shape: number[], m: GroupMove): number[] {
  const s = [...shape];
  s[m.fromAxis] = shape[m.fromAxis] / m.groups;
  s[m.intoAxis] = shape[m.intoAxis] * m.groups;
  return s;
}

/**
 * Parameters of the lhs (input) gradient as a convolution of the cotangent `g` (shape
 * `convOutputShape(lhsShape, rhsShape, p)`) with the rearranged kernel. Per spatial dim i,
 * with `X~ = dilateDim(X, lhsDilation)`, `K~ = dilateDim(K, rhsDilation)`,
 * `Y~ = dilateDim(Y, windowStrides)` and `lo` the forward low pad:
 * - `windowStrides = p.lhsDilation`, `lhsDilation = p.windowStrides`, `rhsDilation = p.rhsDilation`;
 * - `padding[i] = [K~ - 1 - lo, X~ + K~ - 1 - Y~ - (K~ - 1 - lo)]`;
 * - `dimensionNumbers = { lhs: out, rhs: [rhs[1], rhs[0], ...rhs spatial], out: lhs }`;
 * - `featureGroupCount = G > 1 ? G : B`, `batchGroupCount = 1`.
 * The kernel is first rearranged (G or B > 1: group factor moved from the O axis into the I axis,
 * `rhs'[o', g*I + i] = rhs[g*(O/groups) + o', i]`), then reversed on every spatial axis. With
 * B > 1 the result (batch N/B, features B*C) gets its group factor moved from the feature axis
 * into the batch axis (`dlhs[b*(N/B) + n, c] = res[n, b*C + c]`).
 *
 * @param lhsShape Forward input shape.
 * @param rhsShape Forward kernel shape.
 * @param p Forward parameters (resolved).
 * @returns The plan for the lhs gradient.
 * @example
 * ```ts
 * import { convLhsGradParams } from "./conv_grad_params.ts";
 * import { resolveConvParams } from "./conv_params.ts";
 * const p = resolveConvParams([1, 1, 5], [1, 1, 3], [2], [[1, 1]]);
 * const plan = convLhsGradParams([1, 1, 5], [1, 1, 3], p);
 * if (plan.params.padding[0].join() !== "1,1" || plan.params.lhsDilation[0] !== 2) throw new Error();
 * ```
 */
export function convLhsGradParams(
  lhsShape: number[],
  rhsShape: number[],
  p: ConvParams,
): LhsGradPlan {
  const { lhs, rhs, out } = p.dimensionNumbers;
  const { outShape, Xd, Kd, Yd } = spatialSizes(lhsShape, rhsShape, p);
  const G = p.featureGroupCount, B = p.batchGroupCount;
  const padding = Xd.map((xd, i): [number, number] => {
    const lo = Kd[i] - 1 - p.padding[i][0];
    return [lo, xd + Kd[i] - 1 - Yd[i] - lo];
  });
  const groups = Math.max(G, B);
  const kernelMove = groups > 1 ? { groups, fromAxis: rhs[0], intoAxis: rhs[1] } : null;
  const outMove = B > 1 ? { groups: B, fromAxis: lhs[1], intoAxis: lhs[0] } : null;
  return {
    params: {
      windowStrides: [...p.lhsDilation],
      padding,
      lhsDilation: [...p.windowStrides],
      rhsDilation: [...p.rhsDilation],
      dimensionNumbers: { lhs: [...out], rhs: swap01(rhs), out: [...lhs] },
      featureGroupCount: groups,
      batchGroupCount: 1,
    },
    rhsTransform: {
      groupMove: kernelMove,
      reverseAxes: rhs.slice(2),
      shape: kernelMove ? groupMoveShape(rhsShape, kernelMove) : [...rhsShape],
    },
    outTransform: { groupMove: outMove, shape: [...lhsShape] },
    isZero: sizeOf(outShape) === 0 || sizeOf(lhsShape) === 0 || sizeOf(rhsShape) === 0,
  };
}

/**
 * Parameters of the rhs (kernel) gradient as a convolution of the forward lhs (as lhs) with the
 * cotangent `g` (as rhs). Per spatial dim i (notation of {@linkcode convLhsGradParams}):
 * - `windowStrides = p.rhsDilation`, `lhsDilation = p.lhsDilation`, `rhsDilation = p.windowStrides`;
 * - `padding[i] = [lo, (Y~ - X~) + (K~ - lo - 1)]`;
 * - `dimensionNumbers = { lhs: [lhs[1], lhs[0], ..], rhs: [out[1], out[0], ..], out: [rhs[1], rhs[0], ..] }`;
 * - `featureGroupCount = B`, `batchGroupCount = G` (grouped convs need batch groups here).
 * The result has exactly the rhs shape and layout; no rearrangement is needed.
 *
 * @param lhsShape Forward input shape.
 * @param rhsShape Forward kernel shape.
 * @param p Forward parameters (resolved).
 * @returns The plan for the rhs gradient.
 * @example
 * ```ts
 * import { convRhsGradParams } from "./conv_grad_params.ts";
 * import { resolveConvParams } from "./conv_params.ts";
 * const p = resolveConvParams([1, 1, 5], [1, 1, 3], [2], "VALID");
 * const plan = convRhsGradParams([1, 1, 5], [1, 1, 3], p);
 * if (plan.params.rhsDilation[0] !== 2 || plan.params.padding[0].join() !== "0,0") throw new Error();
 * ```
 */
export function convRhsGradParams(
  lhsShape: number[],
  rhsShape: number[],
  p: ConvParams,
): RhsGradPlan {
  const { lhs, rhs, out } = p.dimensionNumbers;
  const { outShape, Xd, Kd, Yd } = spatialSizes(lhsShape, rhsShape, p);
  const padding = Xd.map((xd, i): [number, number] => {
    const lo = p.padding[i][0];
    return [lo, Yd[i] - xd + (Kd[i] - lo - 1)];
  });
  return {
    params: {
      windowStrides: [...p.rhsDilation],
      padding,
      lhsDilation: [...p.lhsDilation],
      rhsDilation: [...p.windowStrides],
      dimensionNumbers: { lhs: swap01(lhs), rhs: swap01(out), out: swap01(rhs) },
      featureGroupCount: p.batchGroupCount,
      batchGroupCount: p.featureGroupCount,
    },
    isZero: sizeOf(outShape) === 0 || sizeOf(lhsShape) === 0 || sizeOf(rhsShape) === 0,
  };
}
