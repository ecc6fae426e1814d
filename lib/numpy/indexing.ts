/**
 * NumPy indexing over the gather / scatter primitives: integer-array (advanced) indices with
 * broadcasting, negative indices and NumPy's placement of the advanced axes, bool masks (eager),
 * `x.at(...)` updates, `take`, `takeAlongAxis`, `putAlongAxis`, `nonzero`.
 * @module
 */
import { fromHost } from "../core.ts";
import { Tensor } from "../tensor.ts";
import type { ArrayLike, NestedArray } from "../tensor.ts";
import { arrayFrom, asTensor, broadcastTo, scalar } from "./_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { type Combine, gather, scatterWith } from "../ops/gather.ts";
import type { GatherMode } from "../ops/gather_params.ts";

export type { GatherMode };
import { broadcastShapes, fmtShape, normAxis, sizeOf } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { slice as basicSlice, type SliceSpec } from "./shape_ops.ts";

/** One index: a number, a slice string, null (new axis), "...", or an integer / bool array. */
export type IndexSpec = SliceSpec | Tensor | NestedArray;

type Entry =
  | { k: "basic"; s: number | string | null }
  | { k: "adv"; t: Tensor };

/** Converts an index array to int32 (JS arrays: integers or booleans; Tensors: int32 or bool). */
function indexArray(op: string, v: Tensor | NestedArray): Tensor {
  if (v instanceof Tensor) {
    if (v.dtype === "int32" || v.dtype === "bool") return v;
    if (v.aval.weak && v.ndim === 0) return ew.convert(v, "int32");
    throw new TypeError(`${op}: index arrays must be int32 or bool, got ${v.dtype}`);
  }
  const flat = (v as unknown[]).flat(Infinity as 1) as unknown[];
  const isBool = flat.length > 0 && flat.every((e) => typeof e === "boolean");
  if (!isBool && !flat.every((e) => Number.isInteger(e))) {
    throw new TypeError(`${op}: index arrays must hold integers or booleans`);
  }
  return arrayFrom(v, { dtype: isBool ? "bool" : "int32" }, op);
}

/** The int32 index arrays of a bool mask (eager: the result's shape depends on its values). */
function maskIndices(op: string, m: Tensor): Tensor[] {
  let conc;
  try {
    conc = m._concrete();
  } catch {
    throw new TypeError(
      `${op}: a boolean mask index needs concrete values (the result's shape depends on them), ` +
        "so it cannot be used inside jit or vmap; use np.where(mask, x, other) to keep the shape",
    );
  }
  return nonzero(conc);
}

/** Expands "..." and masks; returns entries covering every axis of an `ndim` array. */
function parse(op: string, ndim: number, specs: IndexSpec[]): Entry[] {
  const pre: Entry[] = [];
  let ell = -1;
  for (const s of specs) {
    if (s === "...") {
      if (ell >= 0) throw new TypeError(`${op}: an index can only have a single ellipsis`);
      ell = pre.length;
    } else if (s === null || typeof s === "number" || typeof s === "string") {
      pre.push({ k: "basic", s });
    } else {
      const t = indexArray(op, s as Tensor | NestedArray);
      if (t.dtype === "bool") {
        if (t.ndim === 0) throw new TypeError(`${op}: a 0-d bool index is not supported`);
        for (const a of maskIndices(op, t)) pre.push({ k: "adv", t: a });
      } else pre.push({ k: "adv", t });
    }
  }
  const used = pre.filter((e) => !(e.k === "basic" && e.s === null)).length;
  if (used > ndim) {
    throw new RangeError(`${op}: too many indices (${used}) for an array of dimension ${ndim}`);
  }
  const fill: Entry[] = Array.from({ length: ndim - used }, () => ({ k: "basic", s: ":" }));
  return ell >= 0 ? [...pre.slice(0, ell), ...fill, ...pre.slice(ell)] : [...pre, ...fill];
}

/**
 * Indexes `x` (NumPy rules); `mode` handles out-of-bounds array indices after negative ones
 * wrap (`clip` clamps, `fill` reads `fillValue`).
 */
export function indexWith(
  op: string,
  x: Tensor,
  specs: IndexSpec[],
  mode: GatherMode,
  fillValue: number | null,
): Tensor {
  const entries = parse(op, x.ndim, specs);
  if (!entries.some((e) => e.k === "adv")) {
    return basicSlice(x, ...entries.map((e) => (e as { s: SliceSpec }).s));
  }
  // integers count as advanced indices once any array index is present (NumPy)
  const ents = entries.map((e): Entry =>
    e.k === "basic" && typeof e.s === "number" ? { k: "adv", t: scalar(e.s, "int32") } : e
  );
  const t = basicSlice(x, ...ents.map((e) => (e.k === "adv" ? ":" : e.s)));
  const pos: number[] = [];
  const advs: Tensor[] = [];
  ents.forEach((e, ax) => {
    if (e.k === "adv") pos.push(ax), advs.push(e.t);
  });
  const B = broadcastShapes(op, ...advs.map((a) => a.shape));
  const cols = advs.map((a, j) =>
    mv.reshape(broadcastTo(wrapNegative(a, t.shape[pos[j]]), B), [...B, 1])
  );
  const idx = mv.concatenate(cols, B.length);
  const win = t.shape.map((_, d) => d).filter((d) => !pos.includes(d));
  const adjacent = pos.every((p, j) => j === 0 || p === pos[j - 1] + 1);
  const offsetDims = win.map((d, j) => (adjacent && d < pos[0] ? j : j + B.length));
  return gather(t, idx, {
    dimensionNumbers: {
      offsetDims,
      collapsedSliceDims: pos,
      startIndexMap: pos,
      operandBatchingDims: [],
      startIndicesBatchingDims: [],
    },
    sliceSizes: t.shape.map((n, d) => (pos.includes(d) ? 1 : n)),
    mode,
    fillValue,
  });
}

/**
 * NumPy / JAX indexing: numbers, slice strings (`"1:5"`, `"::-1"`), `null` (new axis), `"..."`,
 * integer arrays (broadcast together; negative indices count from the end; out-of-bounds ones
 * are clamped as in JAX) and bool masks (eager only). `x.slice(...)` is the method form.
 *
 * @param x The array.
 * @param indices One index per axis (fewer: the rest are `":"`).
 * @returns The indexed array.
 * @example Integer arrays and a mask
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const x = np.arange(12).reshape([3, 4]);
 * assert.deepEqual(Array.from(np.index(x, [2, 0], [-1, 1]).dataSync()), [11, 1]);
 * assert.deepEqual(np.index(x, ":", [[0], [3]]).shape, [3, 2, 1]);
 * assert.deepEqual(Array.from(np.index(x, x.greater(9)).dataSync()), [10, 11]);
 * ```
 */
export function index(x: ArrayLike, ...indices: IndexSpec[]): Tensor {
  return indexWith("index", asTensor(x, "index"), indices, "clip", null);
}

/**
 * Indices of the nonzero elements, one int32 array per axis (eager: the count depends on the
 * values).
 *
 * @param x The array.
 * @returns One index array per axis.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [r, c] = np.nonzero(np.array([[0, 1], [2, 0]]));
 * assert.deepEqual([...r.dataSync(), ...c.dataSync()], [0, 1, 1, 0]);
 * ```
 */
export function nonzero(x: ArrayLike): Tensor[] {
  const t = asTensor(x, "nonzero");
  let d;
  try {
    d = t._concrete().dataSync();
  } catch (e) {
    throw new TypeError(
      `nonzero: the result's shape depends on the values, so it cannot be traced (${
        (e as Error).message
      })`,
    );
  }
  const hits: number[] = [];
  for (let i = 0; i < d.length; i++) if (d[i] !== 0) hits.push(i);
  const st = t.shape.map((_, a) => sizeOf(t.shape.slice(a + 1)));
  return t.shape.map((n, a) =>
    fromHost(Int32Array.from(hits, (f) => Math.floor(f / st[a]) % n), [hits.length], "int32")
  );
}

/** Options of the `x.at(...)` updates. */
export interface AtOptions {
  /** `"fill"` (default): out-of-bounds indices are dropped; `"clip"`: clamped. */
  mode?: GatherMode;
}

/** `x.at(...indices)`: out-of-place updates at an index (JAX's `x.at[...]`). */
export class AtIndexer {
  readonly #x: Tensor;
  readonly #specs: IndexSpec[];
  /** Indexer of `x` at `specs`. */
  constructor(x: Tensor, specs: IndexSpec[]) {
    this.#x = x;
    this.#specs = specs;
  }
  /** `x[idx]`; `mode: "fill"` reads `fillValue` (default NaN) where an index is out of bounds. */
  get(opts?: { mode?: GatherMode; fillValue?: number }): Tensor {
    const o = checkOptions("at.get", opts, ["mode", "fillValue"]);
    return indexWith("at.get", this.#x, this.#specs, o.mode ?? "clip", o.fillValue ?? null);
  }
  /** A copy with `x[idx] = v` (the last of repeated indices wins). */
  set(v: ArrayLike, opts?: AtOptions): Tensor {
    return this.#update("set", v, opts);
  }
  /** A copy with `x[idx] += v`; repeated indices accumulate. */
  add(v: ArrayLike, opts?: AtOptions): Tensor {
    return this.#update("add", v, opts);
  }
  /** A copy with `x[idx] *= v`. */
  multiply(v: ArrayLike, opts?: AtOptions): Tensor {
    return this.#update("mul", v, opts);
  }
  /** A copy with `x[idx] = minimum(x[idx], v)`. */
  min(v: ArrayLike, opts?: AtOptions): Tensor {
    return this.#update("min", v, opts);
  }
  /** A copy with `x[idx] = maximum(x[idx], v)`. */
  max(v: ArrayLike, opts?: AtOptions): Tensor {
    return this.#update("max", v, opts);
  }
  #update(combine: Combine, v: ArrayLike, opts?: AtOptions): Tensor {
    const op = `at.${combine === "mul" ? "multiply" : combine}`;
    const o = checkOptions(op, opts, ["mode"]);
    const x = this.#x;
    // the flat positions the index selects (-1 where out of bounds), then one flat scatter
    const ids = fromHost(Int32Array.from({ length: x.size }, (_, i) => i), x.shape, "int32");
    const sel = indexWith(op, ids, this.#specs, o.mode ?? "fill", -1);
    let u = asTensor(v, op);
    if (u.dtype !== x.dtype) u = ew.convert(u, x.dtype);
    const ub = broadcastShapes(op, u.shape, sel.shape);
    if (ub.join() !== sel.shape.join()) {
      throw new TypeError(
        `${op}: values of shape ${fmtShape(u.shape)} do not broadcast to the indexed shape ${
          fmtShape(sel.shape)
        }`,
      );
    }
    const out = scatterWith(
      combine,
      mv.reshape(x, [x.size]),
      mv.reshape(sel, [...sel.shape, 1]),
      broadcastTo(u, sel.shape),
      {
        dimensionNumbers: {
          updateWindowDims: [],
          insertedWindowDims: [0],
          scatterDimsToOperandDims: [0],
          operandBatchingDims: [],
          scatterIndicesBatchingDims: [],
        },
        mode: "fill",
      },
    );
    return mv.reshape(out, x.shape);
  }
}

/**
 * `x.at(...indices)` as a function (JAX's `x.at[...]`): `.get()`, `.set(v)`, `.add(v)`,
 * `.multiply(v)`, `.min(v)`, `.max(v)` return updated copies.
 *
 * @param x The array.
 * @param indices As for {@link index}.
 * @returns The indexer.
 * @example Repeated indices accumulate in add
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.zeros([3]).at([0, 0, 2]).add(1);
 * assert.deepEqual(Array.from(y.dataSync()), [2, 0, 1]);
 * ```
 */
export function at(x: ArrayLike, ...indices: IndexSpec[]): AtIndexer {
  return new AtIndexer(asTensor(x, "at"), indices);
}

function takeMode(op: string, mode: unknown): GatherMode {
  if (mode === undefined) return "fill";
  if (mode !== "clip" && mode !== "fill") {
    throw new RangeError(`${op}: mode must be "clip" or "fill", got ${JSON.stringify(mode)}`);
  }
  return mode;
}

/** Wraps negative indices of an int32 array by the axis size `n`. */
function wrapNegative(i: Tensor, n: number): Tensor {
  const zero = mv.broadcastInDim(scalar(0, "int32"), i.shape, []);
  return ew.select(
    ew.lt(i, zero),
    ew.add(i, mv.broadcastInDim(scalar(n, "int32"), i.shape, [])),
    i,
  );
}

/**
 * `jnp.take`: elements along `axis` (default: of the flattened array) at integer indices;
 * negative indices wrap, out-of-bounds ones read `fillValue` (mode `"fill"`, default NaN) or
 * are clamped (`"clip"`).
 *
 * @param x The array.
 * @param indices int32 indices.
 * @param opts `axis`, `mode`, `fillValue`.
 * @returns `x.shape[:axis] + indices.shape + x.shape[axis+1:]`.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.take(np.array([[1, 2], [3, 4]]), [[1], [-1]], { axis: 1 });
 * assert.deepEqual(y.shape, [2, 2, 1]);
 * assert.deepEqual(Array.from(y.dataSync()), [2, 2, 4, 4]);
 * ```
 */
export function take(
  x: ArrayLike,
  indices: ArrayLike,
  opts?: { axis?: number | null; mode?: GatherMode; fillValue?: number },
): Tensor {
  const o = checkOptions("take", opts, ["axis", "mode", "fillValue"]);
  let t = asTensor(x, "take");
  if (o.axis === undefined || o.axis === null) t = mv.reshape(t, [t.size]);
  const ax = normAxis("take", o.axis ?? 0, t.ndim);
  const i = wrapNegative(indexArray("take", indices as Tensor | NestedArray), t.shape[ax]);
  const before = t.shape.slice(0, ax).map((_, d) => d);
  const after = t.shape.slice(ax + 1).map((_, d) => ax + i.ndim + d);
  return gather(t, mv.reshape(i, [...i.shape, 1]), {
    dimensionNumbers: {
      offsetDims: [...before, ...after],
      collapsedSliceDims: [ax],
      startIndexMap: [ax],
      operandBatchingDims: [],
      startIndicesBatchingDims: [],
    },
    sliceSizes: t.shape.map((n, d) => (d === ax ? 1 : n)),
    mode: takeMode("take", o.mode),
    fillValue: o.fillValue ?? null,
  });
}

/** x and idx broadcast against each other on every axis but `ax` (x keeps its own size there). */
function alongAxis(op: string, x: Tensor, idx: Tensor, ax: number): [Tensor, Tensor, number[]] {
  if (idx.ndim !== x.ndim) {
    throw new TypeError(
      `${op}: indices ${fmtShape(idx.shape)} must have as many axes as the array ${
        fmtShape(x.shape)
      }`,
    );
  }
  const without = (s: number[]) => s.filter((_, d) => d !== ax);
  const common = broadcastShapes(op, without(x.shape), without(idx.shape));
  const put = (s: number[], n: number) => [...s.slice(0, ax), n, ...s.slice(ax)];
  const xb = broadcastTo(x, put(common, x.shape[ax]));
  const ib = broadcastTo(wrapNegative(idx, x.shape[ax]), put(common, idx.shape[ax]));
  return [xb, mv.reshape(ib, [...ib.shape, 1]), x.shape.map((_, d) => d).filter((d) => d !== ax)];
}

/**
 * `jnp.take_along_axis`: `out[..., j, ...] = x[..., idx[..., j, ...], ...]` along `axis`
 * (other axes broadcast); negative indices wrap, out-of-bounds ones read NaN (mode `"fill"`).
 *
 * @param x The array.
 * @param indices int32 indices with x's number of axes.
 * @param axis The axis to index.
 * @param opts `mode`, `fillValue`.
 * @returns An array shaped like the (broadcast) indices.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const x = np.array([[10, 30, 20], [60, 40, 50]]);
 * const y = np.takeAlongAxis(x, np.argmax(x, { axis: 1, keepdims: true }), 1);
 * assert.deepEqual(Array.from(y.dataSync()), [30, 60]);
 * ```
 */
export function takeAlongAxis(
  x: ArrayLike,
  indices: ArrayLike,
  axis: number,
  opts?: { mode?: GatherMode; fillValue?: number },
): Tensor {
  const o = checkOptions("takeAlongAxis", opts, ["mode", "fillValue"]);
  const t = asTensor(x, "takeAlongAxis");
  const ax = normAxis("takeAlongAxis", axis, t.ndim);
  const [xb, ib, batch] = alongAxis(
    "takeAlongAxis",
    t,
    indexArray("takeAlongAxis", indices as Tensor),
    ax,
  );
  return gather(xb, ib, {
    dimensionNumbers: {
      offsetDims: [],
      collapsedSliceDims: [ax],
      startIndexMap: [ax],
      operandBatchingDims: batch,
      startIndicesBatchingDims: batch,
    },
    sliceSizes: xb.shape.map(() => 1),
    mode: takeMode("takeAlongAxis", o.mode),
    fillValue: o.fillValue ?? null,
  });
}

/**
 * `jnp.put_along_axis` (out of place): a copy of `x` with `values` written at `indices` along
 * `axis` (the last of repeated indices wins; out-of-bounds ones are dropped). `x`'s shape must
 * already be the broadcast shape on the other axes.
 *
 * @param x The array.
 * @param indices int32 indices with x's number of axes.
 * @param values Values, broadcast to the indices' shape.
 * @param axis The axis to index.
 * @returns The updated copy.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.putAlongAxis(np.zeros([2, 3]), np.array([[2], [0]], { dtype: "int32" }), 7, 1);
 * assert.deepEqual(Array.from(y.dataSync()), [0, 0, 7, 7, 0, 0]);
 * ```
 */
export function putAlongAxis(
  x: ArrayLike,
  indices: ArrayLike,
  values: ArrayLike,
  axis: number,
): Tensor {
  const t = asTensor(x, "putAlongAxis");
  const ax = normAxis("putAlongAxis", axis, t.ndim);
  const [xb, ib, batch] = alongAxis(
    "putAlongAxis",
    t,
    indexArray("putAlongAxis", indices as Tensor),
    ax,
  );
  if (xb.shape.join() !== t.shape.join()) {
    throw new TypeError(
      `putAlongAxis: indices ${fmtShape(ib.shape.slice(0, -1))} do not fit the array ${
        fmtShape(t.shape)
      } on the other axes`,
    );
  }
  const u = broadcastTo(
    ew.convert(asTensor(values, "putAlongAxis"), t.dtype),
    ib.shape.slice(0, -1),
  );
  return scatterWith("set", t, ib, u, {
    dimensionNumbers: {
      updateWindowDims: [],
      insertedWindowDims: [ax],
      scatterDimsToOperandDims: [ax],
      operandBatchingDims: batch,
      scatterIndicesBatchingDims: batch,
    },
    mode: "fill",
  });
}
