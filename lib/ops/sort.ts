/**
 * `sort` (multi-operand, stable, lexicographic over the first `numKeys` operands, NaN last) and
 * the cumulative primitives `cumsum`, `cumprod`, `cummax`, `cummin`. The sort's jvp sorts an
 * iota along and gathers the tangents with the permutation; cumsum transposes to a reverse
 * cumsum; the other scans differentiate through an associative scan of (value, tangent) pairs.
 * @module
 */
import { bind, bind1, fromHost } from "../core.ts";
import { allocTyped, type TypedArray } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, sizeOf } from "../shape.ts";
import { type Aval, defineOp, type HostArray, type OpDef } from "./_define.ts";
import { batchAt0, moveAxis } from "./_util.ts";
import { broadcastInDim, reshape } from "./movement.ts";
import { gather } from "./gather.ts";
import { add, gt, lt, maxOp, minOp, mul, select } from "./elementwise.ts";

const maxE = (a: Tensor, b: Tensor) => bind1(maxOp, [a, b]);
const minE = (a: Tensor, b: Tensor) => bind1(minOp, [a, b]);
import { associativeScanFlat } from "./assoc_scan.ts";

/** Params of `sort`. */
export interface SortParams {
  /** The axis sorted along. */
  dimension: number;
  /** How many leading operands are keys (compared lexicographically). */
  numKeys: number;
}

/** Rows of an array along `axis`: count, length, and the offset of element i of row r. */
export function rowsOf(shape: number[], axis: number): { rows: number; n: number; post: number } {
  const n = shape[axis], post = sizeOf(shape.slice(axis + 1));
  return { rows: sizeOf(shape) / Math.max(n, 1) || 0, n, post };
}

/** a < b in sort order (NaN last; -0 and 0 tie). */
const less = (a: number, b: number) => a < b || (b !== b && a === a);

/** Reference sort: stable, lexicographic over the keys. */
function sortImpl(xs: HostArray[], p: SortParams, outs: Aval[]): TypedArray[] {
  const { rows, n, post } = rowsOf(xs[0].shape, p.dimension);
  const res = outs.map((o) => allocTyped(o.dtype, sizeOf(o.shape)));
  const keys = xs.slice(0, p.numKeys).map((x) => x.data);
  const perm = new Array<number>(n);
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / post) * n * post + (r % post);
    for (let i = 0; i < n; i++) perm[i] = i;
    perm.sort((i, j) => {
      for (const k of keys) {
        const a = k[base + i * post], b = k[base + j * post];
        if (less(a, b)) return -1;
        if (less(b, a)) return 1;
      }
      return i - j;
    });
    xs.forEach((x, k) => {
      for (let i = 0; i < n; i++) res[k][base + i * post] = x.data[base + perm[i] * post];
    });
  }
  return res;
}

/** An int32 iota along `axis` of `shape`. */
export function iotaAlong(shape: number[], axis: number): Tensor {
  const v = fromHost(Int32Array.from({ length: shape[axis] }, (_, i) => i), [shape[axis]], "int32");
  return broadcastInDim(v, shape, [axis]);
}

/** `x` permuted along `axis` by `perm` (same shape, int32): `out[..i..] = x[..perm[..i..]..]`. */
export function permuteAlong(x: Tensor, perm: Tensor, axis: number): Tensor {
  const r = x.aval.shape.length;
  if (x.aval.shape[axis] === 0) return x;
  const batch = x.aval.shape.map((_, d) => d).filter((d) => d !== axis);
  return gather(x, reshape(perm, [...perm.aval.shape, 1]), {
    dimensionNumbers: {
      offsetDims: [],
      collapsedSliceDims: [axis],
      startIndexMap: [axis],
      operandBatchingDims: batch,
      startIndicesBatchingDims: batch,
    },
    sliceSizes: new Array(r).fill(1),
    mode: "clip",
    fillValue: null,
  });
}

/** `sort` primitive. */
export const sortOp: OpDef<SortParams> = defineOp({
  name: "sort",
  kind: "reduce",
  abstractEval: (avals, { dimension, numKeys }) => {
    const s = avals[0].shape;
    if (avals.some((a) => a.shape.join() !== s.join())) {
      throw new TypeError(
        `sort: operands must have equal shapes, got ${
          avals.map((a) => fmtShape(a.shape)).join(", ")
        }`,
      );
    }
    if (!Number.isInteger(dimension) || dimension < 0 || dimension >= s.length) {
      throw new RangeError(`sort: dimension ${dimension} is out of range for shape ${fmtShape(s)}`);
    }
    if (!Number.isInteger(numKeys) || numKeys < 1 || numKeys > avals.length) {
      throw new RangeError(`sort: numKeys ${numKeys} must be in [1, ${avals.length}]`);
    }
    return avals.map((a) => ({ shape: [...a.shape], dtype: a.dtype, weak: a.weak }));
  },
  impl: sortImpl,
  jvp: (xs, ts, p) => {
    const outs = sortN([...xs, iotaAlong(xs[0].aval.shape, p.dimension)], p);
    const perm = outs.pop()!;
    return [outs, ts.map((t) => permuteAlong(t, perm, p.dimension))];
  },
  vmap: (xs, bds, p, size) => {
    const ys = xs.map((x, i) => batchAt0(x, bds[i], size));
    return [sortN(ys, { ...p, dimension: p.dimension + 1 }), ys.map(() => 0)];
  },
});

/** Binds `sort`. */
export function sortN(xs: Tensor[], p: SortParams): Tensor[] {
  return bind(sortOp, xs, p);
}

/** Params of the cumulative primitives. */
export interface CumParams {
  axis: number;
  reverse: boolean;
}

type Cum = "cumsum" | "cumprod" | "cummax" | "cummin";
const STEP: Record<Cum, (a: number, b: number) => number> = {
  cumsum: (a, b) => a + b,
  cumprod: (a, b) => a * b,
  cummax: (a, b) => (a !== a || b !== b ? NaN : Math.max(a, b)),
  cummin: (a, b) => (a !== a || b !== b ? NaN : Math.min(a, b)),
};

function cumImpl(name: Cum, [x]: HostArray[], p: CumParams, [out]: Aval[]): TypedArray[] {
  const { rows, n, post } = rowsOf(x.shape, p.axis);
  const res = allocTyped(out.dtype, x.data.length);
  const f = STEP[name];
  for (let r = 0; r < rows; r++) {
    const base = Math.floor(r / post) * n * post + (r % post);
    let acc = 0;
    for (let j = 0; j < n; j++) {
      const i = base + (p.reverse ? n - 1 - j : j) * post;
      acc = j === 0 ? x.data[i] : f(acc, x.data[i]);
      res[i] = acc;
    }
  }
  return [res];
}

/** (value, tangent) pair combiners of the nonlinear scans. */
const PAIR: Record<Exclude<Cum, "cumsum">, (a: Tensor[], b: Tensor[]) => Tensor[]> = {
  cumprod: ([p1, t1], [p2, t2]) => [mul(p1, p2), add(mul(t1, p2), mul(p1, t2))],
  cummax: ([m1, t1], [m2, t2]) => [maxE(m1, m2), select(gt(m2, m1), t2, t1)],
  cummin: ([m1, t1], [m2, t2]) => [minE(m1, m2), select(lt(m2, m1), t2, t1)],
};

function cumOp(name: Cum): OpDef<CumParams> {
  const op: OpDef<CumParams> = defineOp<CumParams>({
    name,
    kind: "reduce",
    abstractEval: ([a], { axis }) => {
      if (a.dtype === "bool") throw new TypeError(`${name}: bool operands are not supported`);
      if (!Number.isInteger(axis) || axis < 0 || axis >= a.shape.length) {
        throw new RangeError(
          `${name}: axis ${axis} is out of range for shape ${fmtShape(a.shape)}`,
        );
      }
      return [{ shape: [...a.shape], dtype: a.dtype, weak: a.weak }];
    },
    impl: (xs, p, outs) => cumImpl(name, xs, p, outs),
    jvp: ([x], [t], p) => {
      if (name === "cumsum") return [[cumulative(name, x, p)], [cumulative(name, t, p)]];
      const [y, ty] = associativeScanFlat(PAIR[name], [x, t], p.axis, p.reverse);
      return [[y], [ty]];
    },
    vmap: (
      [x],
      [bd],
      p,
    ) => [[cumulative(name, moveAxis(x, bd!, 0), { ...p, axis: p.axis + 1 })], [0]],
    ...(name === "cumsum"
      ? {
        transpose: ([ct]: Tensor[], _args: unknown[], p: CumParams) => [
          cumulative(name, ct, { ...p, reverse: !p.reverse }),
        ],
      }
      : {}),
  });
  return op;
}

/** `cumsum` primitive (linear). */
export const cumsumOp: OpDef<CumParams> = cumOp("cumsum");
/** `cumprod` primitive. */
export const cumprodOp: OpDef<CumParams> = cumOp("cumprod");
/** `cummax` primitive. */
export const cummaxOp: OpDef<CumParams> = cumOp("cummax");
/** `cummin` primitive. */
export const cumminOp: OpDef<CumParams> = cumOp("cummin");
const CUM: Record<Cum, OpDef<CumParams>> = {
  cumsum: cumsumOp,
  cumprod: cumprodOp,
  cummax: cummaxOp,
  cummin: cumminOp,
};

/** Binds a cumulative primitive. */
export function cumulative(name: Cum, x: Tensor, p: CumParams): Tensor {
  return bind1(CUM[name], [x], p);
}
