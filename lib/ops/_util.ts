/**
 * Small helpers shared by rules: constants shaped like an aval, and batch-dim movement.
 * @module
 */
import type { DType } from "../dtype.ts";
import { allocTyped } from "../dtype.ts";
import { fromHost } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { sizeOf } from "../shape.ts";
import type { Aval, BDim } from "./_define.ts";
import { broadcastInDim, transpose } from "./movement.ts";

/** A concrete array filled with `v`. */
export function full(shape: number[], v: number, dtype: DType, weak = false): Tensor {
  const scalar = allocTyped(dtype, 1);
  scalar[0] = v;
  const s = fromHost(scalar, [], dtype, weak);
  return shape.length === 0 ? s : broadcastInDim(s, shape, []);
}

/** Zeros with the shape and dtype of `a`. */
export function zerosOf(a: Aval | Tensor): Tensor {
  const aval = "aval" in a ? a.aval : a;
  return full(aval.shape, 0, aval.dtype);
}

/** A scalar constant broadcast to the shape of `x`, in x's dtype. */
export function fullLike(x: Tensor, v: number): Tensor {
  return full(x.aval.shape, v, x.aval.dtype);
}

/** Moves axis `from` of `x` to position `to`. */
export function moveAxis(x: Tensor, from: number, to: number): Tensor {
  if (from === to) return x;
  const perm = [...Array(x.aval.shape.length).keys()].filter((i) => i !== from);
  perm.splice(to, 0, from);
  return transpose(x, perm);
}

/** Gives `x` a batch dim at position 0: moves an existing one or broadcasts an unbatched value. */
export function batchAt0(x: Tensor, bdim: BDim, size: number): Tensor {
  if (bdim === null) {
    const shape = x.aval.shape;
    return broadcastInDim(x, [size, ...shape], shape.map((_, i) => i + 1));
  }
  return moveAxis(x, bdim, 0);
}

/** Number of elements of an aval. */
export function avalSize(a: Aval): number {
  return sizeOf(a.shape);
}
