/**
 * Reduction primitives over a set of axes (the reduced axes are dropped; `np` adds keepdims):
 * reduceSum, reduceMax, reduceMin, and argMax/argMin over one axis.
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { sizeOf, stridesOf } from "../shape.ts";
import { type Aval, type BDim, defineOp, type HostArray, type OpDef } from "./_define.ts";
import { zerosOf } from "./_util.ts";
import { broadcastInDim } from "./movement.ts";
import { convert, div, eq, mul } from "./elementwise.ts";

function reducedAval(name: string, a: Aval, axes: number[]): Aval {
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
const outBdim = (axes: number[], bd: number): number => bd - axes.filter((a) => a < bd).length;

/** Parameters of the reductions. */
export interface ReduceParams {
  axes: number[];
}

function reduction(
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

function extremumJvp(opFn: (x: Tensor, axes: number[]) => Tensor): OpDef<ReduceParams>["jvp"] {
  return ([x], [dx], { axes }) => {
    // tangent: the mean of dx over the positions that attain the extremum
    const out = opFn(x, axes);
    const shape = x.aval.shape;
    const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const mask = convert(eq(x, broadcastInDim(out, shape, kept)), dx.aval.dtype);
    const count = reduceSum(mask, axes);
    return [[out], [div(reduceSum(mul(dx, mask), axes), count)]];
  };
}

const nanMax = (a: number, v: number) => (a !== a || v !== v ? NaN : a > v ? a : v);
const nanMin = (a: number, v: number) => (a !== a || v !== v ? NaN : a < v ? a : v);
/** `reduceMax` primitive (NaN propagates). */
export const reduceMaxOp: OpDef<ReduceParams> = reduction(
  "reduceMax",
  "max",
  -Infinity,
  nanMax,
  extremumJvp((x, a) => reduceMax(x, a)),
);
/** `reduceMin` primitive. */
export const reduceMinOp: OpDef<ReduceParams> = reduction(
  "reduceMin",
  "min",
  Infinity,
  nanMin,
  extremumJvp((x, a) => reduceMin(x, a)),
);

/** Parameters of argmax/argmin. */
export interface ArgParams {
  axis: number;
}
function argReduction(
  name: string,
  better: (v: number, best: number) => boolean,
): OpDef<ArgParams> {
  const op: OpDef<ArgParams> = defineOp({
    name,
    kind: "reduce",
    abstractEval: ([a], { axis }) => {
      if (a.shape[axis] === 0) {
        throw new RangeError(`${name}: attempt to get ${name} of an empty sequence`);
      }
      return [{ ...reducedAval(name, a, [axis]), dtype: "int32", weak: false }];
    },
    impl: ([x], { axis }, [out]) => {
      const res = new Int32Array(sizeOf(out.shape));
      const n = x.shape[axis];
      const inner = sizeOf(x.shape.slice(axis + 1));
      for (let o = 0; o < res.length; o++) {
        const base = Math.floor(o / inner) * n * inner + (o % inner);
        let best = x.data[base];
        let bi = 0;
        for (let i = 1; i < n && best === best; i++) {
          const v = x.data[base + i * inner];
          if (v !== v || better(v, best)) {
            best = v;
            bi = i;
          }
        }
        res[o] = bi;
      }
      return [res];
    },
    jvp: ([x], _dx, p) => {
      const out = bind1(op, [x], p);
      return [[out], [zerosOf(out)]];
    },
    vmap: ([x], [bd], { axis }) => {
      const ax = axis >= bd! ? axis + 1 : axis;
      return [[bind1(op, [x], { axis: ax })], [outBdim([ax], bd!) as BDim]];
    },
  });
  return op;
}
/** `argMax` primitive: first index of the maximum (NaN counts as maximal). */
export const argMaxOp: OpDef<ArgParams> = argReduction("argmax", (v, b) => v > b);
/** `argMin` primitive: first index of the minimum (NaN counts as minimal). */
export const argMinOp: OpDef<ArgParams> = argReduction("argmin", (v, b) => v < b);

/** Binds `reduceSum` (no-op for no axes). */
export function reduceSum(x: Tensor, axes: number[]): Tensor {
  return axes.length ? bind1(reduceSumOp, [x], { axes }) : x;
}
/** Binds `reduceMax`. */
export function reduceMax(x: Tensor, axes: number[]): Tensor {
  return axes.length ? bind1(reduceMaxOp, [x], { axes }) : x;
}
/** Binds `reduceMin`. */
export function reduceMin(x: Tensor, axes: number[]): Tensor {
  return axes.length ? bind1(reduceMinOp, [x], { axes }) : x;
}
/** Binds `argMax`. */
export function argMax(x: Tensor, axis: number): Tensor {
  return bind1(argMaxOp, [x], { axis });
}
/** Binds `argMin`. */
export function argMin(x: Tensor, axis: number): Tensor {
  return bind1(argMinOp, [x], { axis });
}
