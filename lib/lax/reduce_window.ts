// lax.reduceWindow: windowed max / min / sum over every dimension (XLA semantics for the init
// value, padding and base dilation), built from pad, strided slices, argMax/argMin and a select, so
// it differentiates to any order, vmaps and jits.

import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor } from "../numpy/_convert.ts";
import { convOutputDim, dilateDim, type Padding, paddingForMode } from "../ops/conv_params.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import * as red from "../ops/reduce.ts";
import { arange } from "../numpy/creation.ts";
import { fmt, isInt, scalarOf } from "../nn/_args.ts";

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
  const x = asTensor(operand, op);
  const rank = x.ndim;
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
  const K = checkDims(op, "windowDimensions", windowDimensions, rank);
  const S = checkDims(op, "windowStrides", windowStrides ?? new Array<number>(rank).fill(1), rank);
  const bd = checkDims(
    op,
    "baseDilation",
    opts.baseDilation ?? new Array<number>(rank).fill(1),
    rank,
  );
  const wd = checkDims(
    op,
    "windowDilation",
    opts.windowDilation ?? new Array<number>(rank).fill(1),
    rank,
  );
  const Kd = K.map((k, i) => dilateDim(k, wd[i]));
  let pads: [number, number][];
  if (typeof padding === "string") {
    if (!["VALID", "SAME", "SAME_LOWER"].includes(padding.toUpperCase())) {
      throw new RangeError(
        `${op}: padding ${
          fmt(padding)
        } must be "VALID", "SAME", "SAME_LOWER" or a list of [lo, hi] pairs`,
      );
    }
    pads = paddingForMode(padding, x.shape, Kd, S);
  } else {
    if (
      !Array.isArray(padding) || padding.length !== rank ||
      !padding.every((p) => Array.isArray(p) && p.length === 2 && isInt(p[0]) && isInt(p[1]))
    ) {
      throw new RangeError(
        `${op}: padding ${
          fmt(padding)
        } must be ${rank} integer [lo, hi] pairs, one per operand dimension`,
      );
    }
    pads = padding.map(([a, b]) => [a, b]);
  }
  const P = x.shape.map((d, i) => dilateDim(d, bd[i]) + pads[i][0] + pads[i][1]);
  P.forEach((p, i) => {
    if (p < 0) {
      throw new RangeError(
        `${op}: padding ${
          fmt(pads[i])
        } of dimension ${i} crops more than the dilated operand size ${
          dilateDim(x.shape[i], bd[i])
        }`,
      );
    }
  });
  const dtype = x.dtype;
  const init = scalarOf(initValue, dtype);
  // padding and base-dilation holes are skipped by XLA: fill them with the computation's identity
  const identity = scalarOf(
    computation === "sum" ? 0 : computation === "max" ? -Infinity : Infinity,
    dtype,
  );
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
      const piece = mv.slice(
        t,
        shape.map((_, j) => (j === i ? start : 0)),
        shape.map((d, j) => (j === i ? limit : d)),
        shape.map((_, j) => (j === i ? S[i] : 1)),
      );
      pieces.push(K[i] === 1 ? piece : mv.reshape(piece, [...piece.aval.shape, 1]));
    }
    t = K[i] === 1 ? pieces[0] : mv.concatenate(pieces, shape.length);
    taps *= K[i];
  }
  t = mv.reshape(t, [...Y, taps]);
  const isIdentity = computation === "sum"
    ? initValue === 0
    : computation === "max"
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
