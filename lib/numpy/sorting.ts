/**
 * Sorting, searching and cumulative functions of `np` over the `sort` and cumulative
 * primitives: `sort`, `argsort`, `searchsorted`, `unique` (eager), `cumsum`, `cumprod`,
 * `cummax`, `cummin`. Index results are int32.
 * @module
 */
import { bind1, fromHost } from "../core.ts";
import type { DType } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor, resultType } from "./_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { reduceSum } from "../ops/reduce.ts";
import { cumulative, iotaAlong, permuteAlong, sortN } from "../ops/sort.ts";
import { normAxis } from "../shape.ts";
import { checkOptions } from "../options.ts";

/** `x` and the axis to work on: flattened when `axis` is null. */
function axisOf(op: string, x: ArrayLike, axis: number | null | undefined, dflt: number | null) {
  let t = asTensor(x, op);
  const a = axis === undefined ? dflt : axis;
  if (a === null) return { t: mv.reshape(t, [t.size]), ax: 0 };
  if (t.ndim === 0) t = mv.reshape(t, [1]);
  return { t, ax: normAxis(op, a, t.ndim) };
}

/** Options of `sort` / `argsort`. */
export interface SortOptions {
  /** Axis to sort along (default -1; null: the flattened array). */
  axis?: number | null;
  /** Largest first (ties keep their order in argsort). */
  descending?: boolean;
  /** Accepted for NumPy / JAX compatibility: sorts are always stable. */
  stable?: boolean;
}
const SORT_KEYS = ["axis", "descending", "stable"];

/**
 * A sorted copy (NaN last; stable). Differentiable: the gradient flows back to where each value
 * came from.
 *
 * @param x The array.
 * @param opts `axis` (default -1, null = flattened), `descending`.
 * @returns The sorted array.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.sort(np.array([[3, 1, 2], [0, 5, 4]]), { axis: 1 });
 * assert.deepEqual(Array.from(y.dataSync()), [1, 2, 3, 0, 4, 5]);
 * ```
 */
export function sort(x: ArrayLike, opts?: SortOptions): Tensor {
  const o = checkOptions("sort", opts, SORT_KEYS);
  const { t, ax } = axisOf("sort", x, o.axis, -1);
  const [y] = sortN([t], { dimension: ax, numKeys: 1 });
  return o.descending ? mv.rev(y, [ax]) : y;
}

/**
 * Indices that sort `x` along `axis` (int32, stable: ties keep their order, also descending).
 *
 * @param x The array.
 * @param opts `axis` (default -1, null = flattened), `descending`.
 * @returns int32 indices.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const x = np.array([2, 1, 2, 0]);
 * assert.deepEqual(Array.from(np.argsort(x).dataSync()), [3, 1, 0, 2]);
 * assert.deepEqual(Array.from(np.argsort(x, { descending: true }).dataSync()), [0, 2, 1, 3]);
 * ```
 */
export function argsort(x: ArrayLike, opts?: SortOptions): Tensor {
  const o = checkOptions("argsort", opts, SORT_KEYS);
  const { t, ax } = axisOf("argsort", x, o.axis, -1);
  const iota = iotaAlong(t.shape, ax);
  if (!o.descending) return sortN([t, iota], { dimension: ax, numKeys: 1 })[1];
  // stable descending: sort the reversed array, map positions back, reverse
  const p = sortN([mv.rev(t, [ax]), iota], { dimension: ax, numKeys: 1 })[1];
  const last = mv.broadcastInDim(
    fromHost(Int32Array.of(t.shape[ax] - 1), [], "int32"),
    t.shape,
    [],
  );
  return mv.rev(ew.sub(last, p), [ax]);
}

/**
 * Insertion points of `v` into the sorted 1-d `a` (int32): `side: "left"` gives the first
 * position where `v` fits, `"right"` the last (NaN sorts last, as in NumPy). Compares every
 * pair, so it is jittable and vmappable; memory grows as `a.size * v.size`.
 *
 * @param a Sorted 1-d array.
 * @param v Values to insert.
 * @param opts `side`, `sorter` (indices that sort `a`).
 * @returns int32 indices shaped like `v`.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const a = np.array([1, 2, 2, 3]);
 * assert.deepEqual(Array.from(np.searchsorted(a, np.array([2, 0, 5])).dataSync()), [1, 0, 4]);
 * assert.deepEqual(Array.from(np.searchsorted(a, 2, { side: "right" }).dataSync()), [3]);
 * ```
 */
export function searchsorted(
  a: ArrayLike,
  v: ArrayLike,
  opts?: { side?: "left" | "right"; sorter?: ArrayLike },
): Tensor {
  const o = checkOptions("searchsorted", opts, ["side", "sorter"]);
  let s = asTensor(a, "searchsorted");
  if (s.ndim !== 1) throw new TypeError(`searchsorted: a must be 1-d, got shape [${s.shape}]`);
  if (o.side !== undefined && o.side !== "left" && o.side !== "right") {
    throw new RangeError(`searchsorted: side must be "left" or "right", got ${String(o.side)}`);
  }
  if (o.sorter !== undefined) {
    const idx = asTensor(o.sorter, "searchsorted");
    s = permuteAlong(s, ew.convert(idx, "int32"), 0);
  }
  let q = asTensor(v, "searchsorted");
  const d = resultType([s, q]).dtype;
  [s, q] = [ew.convert(s, d), ew.convert(q, d)];
  const shape = [...q.shape, s.size];
  const A = mv.broadcastInDim(s, shape, [q.ndim]);
  const V = mv.broadcastInDim(q, shape, q.shape.map((_, i) => i));
  const [ne, and, or, not] = [ew.neOp, ew.andOp, ew.orOp, ew.notOp].map((op) => (...xs: Tensor[]) =>
    bind1(op, xs)
  );
  const nan = (x: Tensor) => ne(x, x);
  // left: a <_sort v;  right: !(v <_sort a)   with  x <_sort y = !isnan(x) && (isnan(y) || x < y)
  const lessSort = (x: Tensor, y: Tensor) => and(not(nan(x)), or(nan(y), ew.lt(x, y)));
  const hit = o.side === "right" ? not(lessSort(V, A)) : lessSort(A, V);
  return reduceSum(ew.convert(hit, "int32"), [q.ndim]);
}

/** Options of {@link unique}. */
export interface UniqueOptions {
  /** Also return the index of each unique value's first occurrence. */
  returnIndex?: boolean;
  /** Also return, for each element, the index of its value in the result. */
  returnInverse?: boolean;
  /** Also return how often each unique value occurs. */
  returnCounts?: boolean;
}

/**
 * Sorted unique values of the flattened array (eager: the count depends on the values; NaNs
 * count as one value). With any `return*` option, returns `[values, index?, inverse?, counts?]`
 * in NumPy's order.
 *
 * @param x The array.
 * @param opts `returnIndex`, `returnInverse`, `returnCounts`.
 * @returns The unique values, or them with the requested int32 arrays.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [u, counts] = np.unique(np.array([3, 1, 3, 2, 1, 3]), { returnCounts: true }) as np.Tensor[];
 * assert.deepEqual(Array.from(u.dataSync()), [1, 2, 3]);
 * assert.deepEqual(Array.from(counts.dataSync()), [2, 1, 3]);
 * ```
 */
export function unique(x: ArrayLike, opts?: UniqueOptions): Tensor | Tensor[] {
  const o = checkOptions("unique", opts, ["returnIndex", "returnInverse", "returnCounts"]);
  const t = asTensor(x, "unique");
  let d;
  try {
    d = t._concrete()._valuesSync();
  } catch (e) {
    throw new TypeError(
      `unique: the result's size depends on the values (eager only): ${(e as Error).message}`,
    );
  }
  const order = Array.from(d, (_, i) => i).sort((i, j) => {
    const a = d[i], b = d[j];
    if (a !== a || b !== b) return (a !== a ? 1 : 0) - (b !== b ? 1 : 0) || i - j;
    return a < b ? -1 : a > b ? 1 : i - j;
  });
  const vals: number[] = [], first: number[] = [], counts: number[] = [];
  const inverse = new Int32Array(d.length);
  const same = (a: number, b: number) => a === b || (a !== a && b !== b);
  for (const i of order) {
    if (!vals.length || !same(vals[vals.length - 1], d[i])) {
      vals.push(d[i]), first.push(i), counts.push(0);
    }
    counts[counts.length - 1]++;
    inverse[i] = vals.length - 1;
  }
  const values = fromHost(Reflect.construct(d.constructor, [vals]), [vals.length], t.dtype);
  if (!o.returnIndex && !o.returnInverse && !o.returnCounts) return values;
  const out = [values];
  if (o.returnIndex) out.push(fromHost(Int32Array.from(first), [first.length], "int32"));
  if (o.returnInverse) out.push(fromHost(inverse, [...t.shape], "int32"));
  if (o.returnCounts) out.push(fromHost(Int32Array.from(counts), [counts.length], "int32"));
  return out;
}

type CumName = "cumsum" | "cumprod" | "cummax" | "cummin";

function cum(
  name: CumName,
  x: ArrayLike,
  opts?: { axis?: number | null; dtype?: DType; reverse?: boolean },
) {
  const o = checkOptions(name, opts, ["axis", "dtype", "reverse"]);
  const { t, ax } = axisOf(name, x, o.axis, null);
  const orig = t.dtype;
  let u = t;
  if (o.dtype) u = ew.convert(u, o.dtype);
  else if (orig === "bool") u = ew.convert(u, "int32");
  const y = cumulative(name, u, { axis: ax, reverse: o.reverse ?? false });
  return !o.dtype && orig === "bool" && (name === "cummax" || name === "cummin")
    ? ew.convert(y, "bool")
    : y;
}

/** Options of the cumulative functions. */
export interface CumOptions {
  /** Axis (default: the flattened array). */
  axis?: number | null;
  /** Result dtype (default: x's; bool sums as int32). */
  dtype?: DType;
  /** Accumulate from the end (JAX's `reverse`). */
  reverse?: boolean;
}

/**
 * Cumulative sum along `axis` (flattened by default). Its transpose is a reverse cumsum.
 *
 * @param x The array.
 * @param opts `axis`, `dtype`, `reverse`.
 * @returns The running sums.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.cumsum(np.array([[1, 2], [3, 4]]), { axis: 0 }).dataSync()), [1, 2, 4, 6]);
 * ```
 */
export function cumsum(x: ArrayLike, opts?: CumOptions): Tensor {
  return cum("cumsum", x, opts);
}

/**
 * Cumulative product along `axis` (flattened by default); its gradient is exact at zeros.
 *
 * @param x The array.
 * @param opts `axis`, `dtype`, `reverse`.
 * @returns The running products.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.cumprod(np.array([1, 2, 3, 4])).dataSync()), [1, 2, 6, 24]);
 * ```
 */
export function cumprod(x: ArrayLike, opts?: CumOptions): Tensor {
  return cum("cumprod", x, opts);
}

/**
 * Running maximum along `axis` (flattened by default; NaN propagates).
 *
 * @param x The array.
 * @param opts `axis`, `dtype`, `reverse`.
 * @returns The running maxima.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.cummax(np.array([1, 3, 2, 5])).dataSync()), [1, 3, 3, 5]);
 * ```
 */
export function cummax(x: ArrayLike, opts?: CumOptions): Tensor {
  return cum("cummax", x, opts);
}

/**
 * Running minimum along `axis` (flattened by default; NaN propagates).
 *
 * @param x The array.
 * @param opts `axis`, `dtype`, `reverse`.
 * @returns The running minima.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.cummin(np.array([3, 1, 2, 0])).dataSync()), [3, 1, 1, 0]);
 * ```
 */
export function cummin(x: ArrayLike, opts?: CumOptions): Tensor {
  return cum("cummin", x, opts);
}
