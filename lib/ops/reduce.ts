/**
 * Reduction primitives over a set of axes (the reduced axes are dropped; `np` adds keepdims):
 * reduceMax, reduceMin, argMax/argMin over one axis, and (defined in _util.ts) reduceSum.
 * @module
 */
import { bind1 } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { sizeOf } from "../shape.ts";
import { type BDim, defineOp, type OpDef } from "./_define.ts";
import {
  broadcastInDim,
  outBdim,
  reducedAval,
  type ReduceParams,
  reduceSum,
  reduction,
  zerosOf,
} from "./_util.ts";
import { convert, div, eq, mul } from "./elementwise.ts";

export { type ReduceParams, reduceSum, reduceSumOp } from "./_util.ts";

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
  -Infinity,
  nanMax,
  extremumJvp((x, a) => reduceMax(x, a)),
);
/** `reduceMin` primitive. */
export const reduceMinOp: OpDef<ReduceParams> = reduction(
  "reduceMin",
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
