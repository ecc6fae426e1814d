// jax.lax gather / scatter front ends and dynamicSlice / dynamicUpdateSlice (start indices may
// be traced scalars), all lowering onto the gather and scatter primitives.

import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor, scalar } from "../numpy/_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { type Combine, gather as gatherPrim, scatterWith } from "../ops/gather.ts";
import type {
  GatherDimensionNumbers,
  GatherMode,
  GatherParams,
  ScatterDimensionNumbers,
  ScatterParams,
} from "../ops/gather_params.ts";
import { checkOptions } from "../options.ts";
import { fmtShape } from "../shape.ts";

export type { GatherDimensionNumbers, GatherMode, ScatterDimensionNumbers };

/** Options of {@link gather}. */
export interface GatherOptions {
  /** `"fill"` (default, as JAX): out-of-bounds slices read `fillValue`; `"clip"` clamps starts. */
  mode?: GatherMode;
  /** Fill of out-of-bounds slices: default NaN (floats), the int32 minimum, true (bool). */
  fillValue?: number;
  /** Accepted for JAX compatibility (a hint; results do not depend on it). */
  indicesAreSorted?: boolean;
  /** Accepted for JAX compatibility (a hint; results do not depend on it). */
  uniqueIndices?: boolean;
}
const GATHER_KEYS = ["mode", "fillValue", "indicesAreSorted", "uniqueIndices"];

/** Options of the scatter functions. */
export interface ScatterOptions {
  /** `"fill"` (default, as JAX): updates whose window is out of bounds are dropped; `"clip"` clamps. */
  mode?: GatherMode;
  /** Accepted for JAX compatibility (a hint; results do not depend on it). */
  indicesAreSorted?: boolean;
  /** Accepted for JAX compatibility (a hint; results do not depend on it). */
  uniqueIndices?: boolean;
}
const SCATTER_KEYS = ["mode", "indicesAreSorted", "uniqueIndices"];

function checkMode(op: string, mode: unknown): GatherMode {
  if (mode === undefined) return "fill";
  if (mode !== "clip" && mode !== "fill") {
    throw new RangeError(`${op}: mode must be "clip" or "fill", got ${JSON.stringify(mode)}`);
  }
  return mode;
}

function intIndices(op: string, x: ArrayLike): Tensor {
  const t = asTensor(x, op);
  if (t.dtype !== "int32") {
    if (t.aval.weak) return ew.convert(t, "int32");
    throw new TypeError(`${op}: indices must be int32, got ${t.dtype}`);
  }
  return t;
}

/**
 * `jax.lax.gather`: slices of `operand` at the start indices held in the last axis of
 * `startIndices`, with XLA's dimension numbers.
 *
 * @param operand The array to read.
 * @param startIndices int32 indices; the last axis is the index vector.
 * @param dimensionNumbers Offset, collapsed and batching axes and the start index map.
 * @param sliceSizes Slice size per operand axis.
 * @param opts `mode` (`"fill"` default, or `"clip"`), `fillValue`.
 * @returns The gathered slices.
 * @example Rows 2 and 0 of a matrix
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const x = np.array([[1, 2], [3, 4], [5, 6]], { dtype: "float32" });
 * const idx = np.array([[2], [0]], { dtype: "int32" });
 * const y = lax.gather(x, idx, { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }, [1, 2]);
 * assert.deepEqual(Array.from(y.dataSync()), [5, 6, 1, 2]);
 * ```
 */
export function gather(
  operand: ArrayLike,
  startIndices: ArrayLike,
  dimensionNumbers: GatherDimensionNumbers,
  sliceSizes: number[],
  opts?: GatherOptions,
): Tensor {
  const o = checkOptions("gather", opts, GATHER_KEYS);
  const p: GatherParams = {
    dimensionNumbers: {
      operandBatchingDims: [],
      startIndicesBatchingDims: [],
      ...dimensionNumbers,
    },
    sliceSizes: [...sliceSizes],
    mode: checkMode("gather", o.mode),
    fillValue: o.fillValue ?? null,
  };
  return gatherPrim(asTensor(operand, "gather"), intIndices("gather", startIndices), p);
}

function scatterFront(
  combine: Combine,
  op: string,
  operand: ArrayLike,
  indices: ArrayLike,
  updates: ArrayLike,
  dn: ScatterDimensionNumbers,
  opts?: ScatterOptions,
): Tensor {
  const o = checkOptions(op, opts, SCATTER_KEYS);
  const x = asTensor(operand, op);
  let u = asTensor(updates, op);
  if (u.dtype !== x.dtype) {
    if (!u.aval.weak) {
      throw new TypeError(`${op}: updates dtype ${u.dtype} must equal operand dtype ${x.dtype}`);
    }
    u = ew.convert(u, x.dtype);
  }
  const p: ScatterParams = {
    dimensionNumbers: { operandBatchingDims: [], scatterIndicesBatchingDims: [], ...dn },
    mode: checkMode(op, o.mode),
  };
  return scatterWith(combine, x, intIndices(op, indices), u, p);
}

/**
 * `jax.lax.scatter`: writes `updates` into `operand` at the windows given by `scatterIndices`
 * (out of place; with repeated indices the last update in row-major order wins).
 *
 * @param operand The array to update.
 * @param scatterIndices int32 indices; the last axis is the index vector.
 * @param updates Values, shaped by the scatter and window axes.
 * @param dimensionNumbers Window, inserted and batching axes and the operand axis map.
 * @param opts `mode`: `"fill"` (drop out-of-bounds updates, default) or `"clip"`.
 * @returns The updated array.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const dn = { updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
 * const idx = np.array([[1], [3]], { dtype: "int32" });
 * const y = lax.scatter(np.zeros([4]), idx, np.array([5, 7], { dtype: "float32" }), dn);
 * assert.deepEqual(Array.from(y.dataSync()), [0, 5, 0, 7]);
 * ```
 */
export function scatter(
  operand: ArrayLike,
  scatterIndices: ArrayLike,
  updates: ArrayLike,
  dimensionNumbers: ScatterDimensionNumbers,
  opts?: ScatterOptions,
): Tensor {
  return scatterFront("set", "scatter", operand, scatterIndices, updates, dimensionNumbers, opts);
}

/**
 * `jax.lax.scatter_add`: like {@link scatter} but adds; repeated indices accumulate.
 *
 * @param operand The array to update.
 * @param scatterIndices int32 indices; the last axis is the index vector.
 * @param updates Values to add.
 * @param dimensionNumbers Scatter dimension numbers.
 * @param opts `mode`.
 * @returns The updated array.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const dn = { updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
 * const idx = np.array([[1], [1], [2]], { dtype: "int32" });
 * const y = lax.scatterAdd(np.zeros([3]), idx, np.array([1, 2, 4], { dtype: "float32" }), dn);
 * assert.deepEqual(Array.from(y.dataSync()), [0, 3, 4]);
 * ```
 */
export function scatterAdd(
  operand: ArrayLike,
  scatterIndices: ArrayLike,
  updates: ArrayLike,
  dimensionNumbers: ScatterDimensionNumbers,
  opts?: ScatterOptions,
): Tensor {
  return scatterFront(
    "add",
    "scatterAdd",
    operand,
    scatterIndices,
    updates,
    dimensionNumbers,
    opts,
  );
}

/**
 * `jax.lax.scatter_mul`: multiplies the operand by the updates at the indices.
 *
 * @param operand The array to update.
 * @param scatterIndices int32 indices; the last axis is the index vector.
 * @param updates Factors.
 * @param dimensionNumbers Scatter dimension numbers.
 * @param opts `mode`.
 * @returns The updated array.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const dn = { updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
 * const y = lax.scatterMul(np.ones([3]), np.array([[0], [0]], { dtype: "int32" }), np.array([2, 3], { dtype: "float32" }), dn);
 * assert.deepEqual(Array.from(y.dataSync()), [6, 1, 1]);
 * ```
 */
export function scatterMul(
  operand: ArrayLike,
  scatterIndices: ArrayLike,
  updates: ArrayLike,
  dimensionNumbers: ScatterDimensionNumbers,
  opts?: ScatterOptions,
): Tensor {
  return scatterFront(
    "mul",
    "scatterMul",
    operand,
    scatterIndices,
    updates,
    dimensionNumbers,
    opts,
  );
}

/**
 * `jax.lax.scatter_min`: the minimum of the operand and the updates at the indices.
 *
 * @param operand The array to update.
 * @param scatterIndices int32 indices; the last axis is the index vector.
 * @param updates Candidate values.
 * @param dimensionNumbers Scatter dimension numbers.
 * @param opts `mode`.
 * @returns The updated array.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const dn = { updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
 * const y = lax.scatterMin(np.zeros([2]), np.array([[1]], { dtype: "int32" }), np.array([-4], { dtype: "float32" }), dn);
 * assert.deepEqual(Array.from(y.dataSync()), [0, -4]);
 * ```
 */
export function scatterMin(
  operand: ArrayLike,
  scatterIndices: ArrayLike,
  updates: ArrayLike,
  dimensionNumbers: ScatterDimensionNumbers,
  opts?: ScatterOptions,
): Tensor {
  return scatterFront(
    "min",
    "scatterMin",
    operand,
    scatterIndices,
    updates,
    dimensionNumbers,
    opts,
  );
}

/**
 * `jax.lax.scatter_max`: the maximum of the operand and the updates at the indices.
 *
 * @param operand The array to update.
 * @param scatterIndices int32 indices; the last axis is the index vector.
 * @param updates Candidate values.
 * @param dimensionNumbers Scatter dimension numbers.
 * @param opts `mode`.
 * @returns The updated array.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const dn = { updateWindowDims: [], insertedWindowDims: [0], scatterDimsToOperandDims: [0] };
 * const y = lax.scatterMax(np.zeros([2]), np.array([[0]], { dtype: "int32" }), np.array([5], { dtype: "float32" }), dn);
 * assert.deepEqual(Array.from(y.dataSync()), [5, 0]);
 * ```
 */
export function scatterMax(
  operand: ArrayLike,
  scatterIndices: ArrayLike,
  updates: ArrayLike,
  dimensionNumbers: ScatterDimensionNumbers,
  opts?: ScatterOptions,
): Tensor {
  return scatterFront(
    "max",
    "scatterMax",
    operand,
    scatterIndices,
    updates,
    dimensionNumbers,
    opts,
  );
}

/** Start indices (numbers or 0-d Tensors) as one int32 index vector. */
function startVector(op: string, starts: (number | Tensor)[], rank: number): Tensor {
  if (!Array.isArray(starts) || starts.length !== rank) {
    throw new TypeError(`${op}: expected ${rank} start indices, got ${String(starts)}`);
  }
  const parts = starts.map((s, i) => {
    const t = typeof s === "number" ? scalar(s, "int32") : asTensor(s, op);
    if (t.ndim !== 0 || (t.dtype !== "int32" && !t.aval.weak)) {
      throw new TypeError(
        `${op}: start index ${i} must be a number or a 0-d int32 Tensor, got ${t.dtype} ${
          fmtShape(t.shape)
        }`,
      );
    }
    return mv.reshape(ew.convert(t, "int32"), [1]);
  });
  return parts.length ? mv.concatenate(parts, 0) : mv.reshape(scalar(0, "int32"), [0]);
}

/**
 * `jax.lax.dynamic_slice`: the slice of size `sizes` starting at `starts` (numbers or traced
 * 0-d int32 Tensors), starts clamped so the slice fits, as in JAX.
 *
 * @param x Operand.
 * @param starts One start index per axis.
 * @param sizes Slice size per axis.
 * @returns The slice.
 * @example
 * ```ts
 * import { jit, lax, np, type Tensor } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const f = jit((x: Tensor, i: Tensor) => lax.dynamicSlice(x, [i], [2]));
 * const y = f(np.array([1, 2, 3, 4]), np.array(1, { dtype: "int32" })) as Tensor;
 * assert.deepEqual(Array.from(y.dataSync()), [2, 3]);
 * ```
 */
export function dynamicSlice(x: ArrayLike, starts: (number | Tensor)[], sizes: number[]): Tensor {
  const t = asTensor(x, "dynamicSlice");
  const all = t.shape.map((_, i) => i);
  return gatherPrim(t, startVector("dynamicSlice", starts, t.ndim), {
    dimensionNumbers: {
      offsetDims: all,
      collapsedSliceDims: [],
      startIndexMap: all,
      operandBatchingDims: [],
      startIndicesBatchingDims: [],
    },
    sliceSizes: [...sizes],
    mode: "clip",
    fillValue: null,
  });
}

/**
 * `jax.lax.dynamic_update_slice`: `x` with `update` written at `starts` (numbers or traced
 * 0-d int32 Tensors), starts clamped so the update fits, as in JAX.
 *
 * @param x Operand.
 * @param update The block to write (x's dtype).
 * @param starts One start index per axis.
 * @returns The updated array.
 * @example
 * ```ts
 * import { lax, np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = lax.dynamicUpdateSlice(np.zeros([4]), np.ones([2]), [5]);
 * assert.deepEqual(Array.from(y.dataSync()), [0, 0, 1, 1]);
 * ```
 */
export function dynamicUpdateSlice(
  x: ArrayLike,
  update: ArrayLike,
  starts: (number | Tensor)[],
): Tensor {
  const t = asTensor(x, "dynamicUpdateSlice");
  const all = t.shape.map((_, i) => i);
  return scatterFront(
    "set",
    "dynamicUpdateSlice",
    t,
    startVector("dynamicUpdateSlice", starts, t.ndim),
    update,
    {
      updateWindowDims: all,
      insertedWindowDims: [],
      scatterDimsToOperandDims: all,
    },
    { mode: "clip" },
  );
}
