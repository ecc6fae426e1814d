/**
 * NumPy indexing functions over the gather / scatter primitives: `np.index` (advanced indexing
 * and bool masks), `x.at(...)` updates, `take`, `takeAlongAxis`, `putAlongAxis`, `nonzero`.
 * @module
 */
import { fromHost } from "../core.ts";
import type { ArrayLike, NestedArray, Tensor } from "../tensor.ts";
import { asTensor, broadcastTo } from "./_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { type Combine, gather, scatterWith } from "../ops/gather.ts";
import type { GatherMode } from "../ops/gather_params.ts";
import { broadcastShapes, fmtShape, normAxis } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { indexArray, type IndexSpec, indexWith, nonzeroHost, wrapNegative } from "./_indexing.ts";

export type { GatherMode, IndexSpec };

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
  try {
    t._concrete();
  } catch (e) {
    throw new TypeError(
      `nonzero: the result's shape depends on the values, so it cannot be traced (${
        (e as Error).message
      })`,
    );
  }
  return nonzeroHost(t);
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
