// lax.reduceWindow: windowed max / min / sum over every dimension (XLA semantics for the init
// value, padding and base dilation). Max / min are the reduceWindowMax / reduceWindowMin
// primitives (lib/ops/window.ts); sum is pad + strided slices + reduceSum. All differentiate to
// any order, vmap and jit.

import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor } from "../numpy/_convert.ts";
import { convOutputDim, dilateDim, type Padding } from "../ops/conv_params.ts";
import { checkCrop, paddingForMode, padPairs } from "../ops/padding.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import * as red from "../ops/reduce.ts";
import { reduceWindowChooser } from "../ops/window.ts";
import { bind1 } from "../core.ts";
import { fmt, isInt, scalarOf } from "./_args.ts";
import { checkOptions } from "../options.ts";

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
    throw new RangeError(
      `${op}: ${name} ${fmt(v)} must be ${n} positive integers, one per operand dimension`,
    );
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
 * Implementation: max / min bind the `reduceWindowMax` / `reduceWindowMin` primitives (their
 * gradient is `selectAndScatterAdd`, as in JAX); sum pads, gathers the window taps as strided
 * slices stacked on a new axis (memory `outputSize × windowSize`, fused under jit) and reduces.
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
 * import { np } from "../../mod.ts";
 * import { reduceWindow } from "./reduce_window.ts";
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
  opts = checkOptions(op, opts, ["baseDilation", "windowDilation"]);
  const x = asTensor(operand, op);
  if (x.dtype === "bool") {
    throw new TypeError(
      `${op}: operand dtype bool is not supported; convert it to int32 or a float dtype`,
    );
  }
  if (computation !== "max" && computation !== "min" && computation !== "sum") {
    throw new RangeError(`${op}: computation ${fmt(computation)} must be "max", "min" or "sum"`);
  }
  if (typeof initValue !== "number") {
    throw new TypeError(`${op}: initValue ${fmt(initValue)} must be a number`);
  }
  const w = windowArgs(op, x.shape, windowDimensions, windowStrides, padding, opts);
  const dtype = x.dtype;
  const init = scalarOf(initValue, dtype);
  const isIdentity = computation === "sum"
    ? initValue === 0
    : computation === "max"
    ? initValue === -Infinity || (dtype === "int32" && initValue <= -2147483648)
    : initValue === Infinity || (dtype === "int32" && initValue >= 2147483647);
  if (computation === "sum") {
    const s = windowSum(x, w);
    return isIdentity ? s : ew.add(s, mv.broadcastInDim(init, s.aval.shape, []));
  }
  const y = reduceWindowChooser(x, computation, {
    window: w.K,
    strides: w.S,
    padding: w.pads,
    baseDilation: w.bd,
    windowDilation: w.wd,
  });
  if (isIdentity) return y;
  // the init value takes part in every window; it loses ties to real elements, NaN wins
  const c = mv.broadcastInDim(init, y.aval.shape, []);
  const keep = bind1(computation === "max" ? ew.geOp : ew.leOp, [y, c], {});
  const isNan = bind1(ew.neOp, [y, y], {});
  return ew.select(bind1(ew.orOp, [keep, isNan], {}), y, c);
}

/** Checked window arguments: sizes, strides, dilations, pads and the padded operand sizes. */
interface WindowArgs {
  K: number[];
  S: number[];
  bd: number[];
  wd: number[];
  pads: [number, number][];
  P: number[];
}

function windowArgs(
  op: string,
  shape: number[],
  windowDimensions: number[],
  windowStrides: number[] | null | undefined,
  padding: Padding,
  opts: ReduceWindowOptions,
): WindowArgs {
  const rank = shape.length;
  const ones = () => new Array<number>(rank).fill(1);
  const K = checkDims(op, "windowDimensions", windowDimensions, rank);
  const S = checkDims(op, "windowStrides", windowStrides ?? ones(), rank);
  const bd = checkDims(op, "baseDilation", opts.baseDilation ?? ones(), rank);
  const wd = checkDims(op, "windowDilation", opts.windowDilation ?? ones(), rank);
  const Kd = K.map((k, i) => dilateDim(k, wd[i]));
  const pads = typeof padding === "string"
    ? paddingForMode(op, padding, shape, Kd, S)
    : padPairs(op, padding, { n: rank, per: "operand dimension" });
  const dilated = shape.map((d, i) => dilateDim(d, bd[i]));
  const P = checkCrop(op, pads, dilated, { per: "dimension", of: "operand" });
  return { K, S, bd, wd, pads, P };
}

/** Sum over windows: pad with zeros, stack the window taps as strided slices on a new axis, reduce. */
function windowSum(x: Tensor, { K, S, bd, wd, pads, P }: WindowArgs): Tensor {
  const rank = x.ndim;
  const zero = scalarOf(0, x.dtype);
  let t = mv.pad(x, zero, pads.map((p) => p[0]), pads.map((p) => p[1]), bd.map((b) => b - 1));
  const Y = P.map((p, i) => convOutputDim(p, dilateDim(K[i], wd[i]), S[i]));
  for (let i = 0; i < rank; i++) {
    const shape = t.aval.shape;
    const pieces: Tensor[] = [];
    for (let k = 0; k < K[i]; k++) {
      const start = Math.min(k * wd[i], P[i]);
      const limit = Y[i] === 0 ? start : start + (Y[i] - 1) * S[i] + 1;
      const piece = mv.slice(
        t,
        shape.map((_, j) => (j === i ? start : 0)),
        shape.map((d, j) => (j === i ? limit : d)),
        shape.map((_, j) => (j === i ? S[i] : 1)),
      );
      pieces.push(K[i] === 1 ? piece : mv.reshape(piece, [...piece.aval.shape, 1]));
    }
    t = K[i] === 1 ? pieces[0] : mv.concatenate(pieces, shape.length);
  }
  t = mv.reshape(t, [...Y, K.reduce((a, b) => a * b, 1)]);
  return red.reduceSum(t, [rank]);
}
