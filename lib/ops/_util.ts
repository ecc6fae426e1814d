/**
 * The primitives every other primitive's rules use: broadcastInDim, reshape, transpose and
 * reduceSum (each other's transposes), and helpers on them (constants, batch-dim movement).
 * Below movement.ts, reduce.ts and elementwise.ts (which re-export them), so no import cycles.
 * @module
 */
import { bind1, fromHost } from "../core.ts";
import { allocTyped, type DType, type TypedArray } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, invertPerm, sizeOf, stridesOf } from "../shape.ts";
import {
  type Aval,
  type BDim,
  defineOp,
  type HostArray,
  type OpDef,
  type UndefPrimal,
} from "./_define.ts";
import { type Idx, lit } from "../compile/kernel.ts";

/** Calls `cb` with each multi-index of `shape` in row-major order. */
export function forEachIndex(
  shape: readonly number[],
  cb: (idx: number[], flat: number) => void,
): void {
  const n = sizeOf(shape);
  const idx = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    cb(idx, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** Gathers `out[i] = x[srcIndex(i)]` (or `fill` where srcIndex returns -1). */
export function gatherImpl(
  x: HostArray,
  out: Aval,
  src: (idx: number[]) => number,
  fill = 0,
): TypedArray {
  const res = allocTyped(out.dtype, sizeOf(out.shape));
  forEachIndex(out.shape, (idx, flat) => {
    const s = src(idx);
    res[flat] = s < 0 ? fill : x.data[s];
  });
  return res;
}

export const shapeOf = (x: Tensor | UndefPrimal): number[] => x.aval.shape;

/** Parameters of `broadcastInDim`. */
export interface BroadcastParams {
  shape: number[];
  dims: number[];
}
/** `broadcastInDim`: operand axis i maps to output axis dims[i] (size equal or 1). */
export const broadcastInDimOp: OpDef<BroadcastParams> = defineOp({
  name: "broadcastInDim",
  kind: "structural",
  view: {
    at: (idx, read, { dims }, [x]) =>
      read(0, x.shape.map((d, i) => (d === 1 ? lit(0) : idx[dims[i]]))),
    flat: "sameShape",
  },
  abstractEval: ([a], { shape, dims }) => {
    const ok = dims.length === a.shape.length &&
      dims.every((d, i) =>
        d >= 0 && d < shape.length && (i === 0 || d > dims[i - 1]) &&
        (a.shape[i] === 1 || a.shape[i] === shape[d])
      );
    if (!ok) {
      throw new TypeError(
        `broadcastTo: cannot broadcast shape ${fmtShape(a.shape)} to ${fmtShape(shape)}`,
      );
    }
    return [{ shape: [...shape], dtype: a.dtype, weak: a.weak }];
  },
  impl: ([x], { dims }, [out]) => {
    const st = stridesOf(x.shape);
    return [gatherImpl(x, out, (idx) => {
      let s = 0;
      for (let i = 0; i < dims.length; i++) if (x.shape[i] !== 1) s += idx[dims[i]] * st[i];
      return s;
    })];
  },
  jvp: (
    [x],
    [dx],
    p,
  ) => [[broadcastInDim(x, p.shape, p.dims)], [broadcastInDim(dx, p.shape, p.dims)]],
  vmap: (
    [x],
    [bd],
    p,
    size,
  ) => [
    [broadcastInDim(moveAxis(x, bd!, 0), [size, ...p.shape], [0, ...p.dims.map((d) => d + 1)])],
    [0],
  ],
  transpose: ([ct], [x], { shape, dims }) => {
    const inShape = shapeOf(x);
    const sumAxes = shape.map((_, i) => i).filter((i) =>
      !dims.includes(i) || inShape[dims.indexOf(i)] !== shape[i]
    );
    const summed = sumAxes.length ? reduceSum(ct, sumAxes) : ct;
    return [reshape(summed, inShape)];
  },
});

/** `reshape` primitive (row-major). */
export const reshapeOp: OpDef<{ shape: number[] }> = defineOp({
  name: "reshape",
  kind: "structural",
  view: { flat: "always" },
  abstractEval: ([a], { shape }) => {
    if (sizeOf(shape) !== sizeOf(a.shape)) {
      throw new TypeError(
        `reshape: cannot reshape array of shape ${fmtShape(a.shape)} (size ${
          sizeOf(a.shape)
        }) into shape ${fmtShape(shape)}`,
      );
    }
    return [{ shape: [...shape], dtype: a.dtype, weak: a.weak }];
  },
  impl: ([x]) => [x.data.slice()],
  jvp: ([x], [dx], p) => [[reshape(x, p.shape)], [reshape(dx, p.shape)]],
  vmap: ([x], [bd], p, size) => [[reshape(moveAxis(x, bd!, 0), [size, ...p.shape])], [0]],
  transpose: ([ct], [x]) => [reshape(ct, shapeOf(x))],
});

/** `transpose` primitive: output axis i is operand axis perm[i]. */
export const transposeOp: OpDef<{ perm: number[] }> = defineOp({
  name: "transpose",
  kind: "structural",
  view: {
    at: (idx, read, { perm }) => {
      const src: Idx[] = new Array(perm.length);
      perm.forEach((q, i) => (src[q] = idx[i]));
      return read(0, src);
    },
  },
  abstractEval: ([a], { perm }) => {
    if (perm.length !== a.shape.length || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) {
      throw new RangeError(
        `transpose: axes ${JSON.stringify(perm)} are not a permutation of ${a.shape.length} axes`,
      );
    }
    return [{ shape: perm.map((p) => a.shape[p]), dtype: a.dtype, weak: a.weak }];
  },
  impl: ([x], { perm }, [out]) => {
    const st = stridesOf(x.shape);
    return [gatherImpl(x, out, (idx) => idx.reduce((s, v, i) => s + v * st[perm[i]], 0))];
  },
  jvp: ([x], [dx], p) => [[transpose(x, p.perm)], [transpose(dx, p.perm)]],
  vmap: (
    [x],
    [bd],
    p,
  ) => [[transpose(x, [bd!, ...p.perm.map((q) => (q >= bd! ? q + 1 : q))])], [0]],
  transpose: ([ct], _x, { perm }) => [transpose(ct, invertPerm(perm))],
});

/** Binds `broadcastInDim` (no-op when nothing changes). */
export function broadcastInDim(x: Tensor, shape: number[], dims: number[]): Tensor {
  const s = x.aval.shape;
  if (s.length === shape.length && s.every((d, i) => d === shape[i])) return x;
  return bind1(broadcastInDimOp, [x], { shape, dims });
}
/** Binds `reshape` (no-op when the shape is unchanged). */
export function reshape(x: Tensor, shape: number[]): Tensor {
  const s = x.aval.shape;
  if (s.length === shape.length && s.every((d, i) => d === shape[i])) return x;
  return bind1(reshapeOp, [x], { shape });
}
/** Binds `transpose` (no-op for the identity). */
export function transpose(x: Tensor, perm: number[]): Tensor {
  if (perm.every((p, i) => p === i) && perm.length === x.aval.shape.length) return x;
  return bind1(transposeOp, [x], { perm });
}
// ---- reductions (reduceSum here; reduceMax/Min and argmax/argmin in reduce.ts) ----

export function reducedAval(name: string, a: Aval, axes: number[]): Aval {
  if (axes.some((x) => x < 0 || x >= a.shape.length)) {
    throw new RangeError(
      `${name}: axes ${
        JSON.stringify(axes)
      } out of bounds for array of dimension ${a.shape.length}`,
    );
  }
  return { shape: a.shape.filter((_, i) => !axes.includes(i)), dtype: a.dtype, weak: a.weak };
}

/** Visits each output element with the flat input offsets of its reduction group, in order. */
function reduceImpl(
  x: HostArray,
  axes: number[],
  out: Aval,
  init: number,
  step: (acc: number, v: number) => number,
) {
  const res = allocTyped(out.dtype, sizeOf(out.shape));
  const st = stridesOf(x.shape);
  const keep = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const red = axes.slice().sort((a, b) => a - b);
  const redShape = red.map((a) => x.shape[a]);
  const nRed = sizeOf(redShape);
  const outIdx = new Array<number>(keep.length).fill(0);
  const redIdx = new Array<number>(red.length).fill(0);
  for (let o = 0; o < res.length; o++) {
    let base = 0;
    for (let k = 0; k < keep.length; k++) base += outIdx[k] * st[keep[k]];
    let acc = init;
    redIdx.fill(0);
    for (let r = 0; r < nRed; r++) {
      let off = base;
      for (let k = 0; k < red.length; k++) off += redIdx[k] * st[red[k]];
      acc = step(acc, x.data[off]);
      for (let k = red.length - 1; k >= 0; k--) {
        if (++redIdx[k] < redShape[k]) break;
        redIdx[k] = 0;
      }
    }
    res[o] = acc;
    for (let k = keep.length - 1; k >= 0; k--) {
      if (++outIdx[k] < out.shape[k]) break;
      outIdx[k] = 0;
    }
  }
  return res;
}

const shiftAxes = (axes: number[], bd: number): number[] => axes.map((a) => (a >= bd ? a + 1 : a));
/** Output batch dim after removing `axes` (given in the batched operand's numbering). */
export const outBdim = (axes: number[], bd: number): number =>
  bd - axes.filter((a) => a < bd).length;

/** Parameters of the reductions. */
export interface ReduceParams {
  axes: number[];
}

export function reduction(
  name: string,
  monoid: "sum" | "max" | "min",
  init: number,
  step: (a: number, v: number) => number,
  jvp: OpDef<ReduceParams>["jvp"],
  transpose?: OpDef<ReduceParams>["transpose"],
): OpDef<ReduceParams> {
  const op: OpDef<ReduceParams> = defineOp({
    name,
    kind: "reduce",
    monoid,
    abstractEval: ([a], { axes }) => [reducedAval(name, a, axes)],
    impl: ([x], { axes }, [out]) => [reduceImpl(x, axes, out, init, step)],
    jvp,
    vmap: ([x], [bd], { axes }) => {
      const ax = shiftAxes(axes, bd!);
      return [[bind1(op, [x], { axes: ax })], [outBdim(ax, bd!)]];
    },
    transpose,
  });
  return op;
}

/** `reduceSum` primitive. */
export const reduceSumOp: OpDef<ReduceParams> = reduction(
  "reduceSum",
  "sum",
  0,
  (a, v) => a + v,
  ([x], [dx], { axes }) => [[reduceSum(x, axes)], [reduceSum(dx, axes)]],
  ([ct], [x], { axes }) => {
    const shape = x.aval.shape;
    return [broadcastInDim(ct, shape, shape.map((_, i) => i).filter((i) => !axes.includes(i)))];
  },
);

/** Binds `reduceSum` (no-op for no axes). */
export function reduceSum(x: Tensor, axes: number[]): Tensor {
  return axes.length ? bind1(reduceSumOp, [x], { axes }) : x;
}

// ---- helpers ----

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
