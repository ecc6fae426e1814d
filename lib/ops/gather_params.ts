/**
 * Gather / scatter dimension numbers (XLA's, index vector = last axis of the indices): validation,
 * output shapes, the index arithmetic shared by the reference impls and the fast kernels, and the
 * maps between a gather and the scatter that transposes it.
 * @module
 */
import type { DType } from "../dtype.ts";
import { fmtShape } from "../shape.ts";
import type { Aval } from "./_define.ts";

/** What the geometry reads of an array: shape and dtype. */
type Shaped = Pick<Aval, "shape" | "dtype">;

/** `jax.lax.GatherDimensionNumbers` (camelCase). */
export interface GatherDimensionNumbers {
  /** Output axes that hold the slice (window) axes, ascending. */
  offsetDims: number[];
  /** Operand axes of slice size 1 that the output drops. */
  collapsedSliceDims: number[];
  /** Operand axis indexed by each entry of an index vector. */
  startIndexMap: number[];
  /** Operand axes that are batch axes shared with the indices (slice size 1, dropped). */
  operandBatchingDims?: number[];
  /** Indices axes matching `operandBatchingDims`, in the same order. */
  startIndicesBatchingDims?: number[];
}

/** `jax.lax.ScatterDimensionNumbers` (camelCase). */
export interface ScatterDimensionNumbers {
  /** Updates axes that are window axes, ascending. */
  updateWindowDims: number[];
  /** Operand axes of window size 1 that the updates omit. */
  insertedWindowDims: number[];
  /** Operand axis indexed by each entry of an index vector. */
  scatterDimsToOperandDims: number[];
  /** Operand axes that are batch axes shared with the indices. */
  operandBatchingDims?: number[];
  /** Indices axes matching `operandBatchingDims`, in the same order. */
  scatterIndicesBatchingDims?: number[];
}

/** Out-of-bounds handling: `clip` clamps starts so the window fits; `fill` fills (gather) or drops (scatter). */
export type GatherMode = "clip" | "fill";

/** Params of the `gather` primitive (every field present). */
export interface GatherParams {
  dimensionNumbers: Required<GatherDimensionNumbers>;
  sliceSizes: number[];
  mode: GatherMode;
  /** Value of out-of-bounds slices in `fill` mode; null = NaN (floats), the minimum (int32), true (bool). */
  fillValue: number | null;
}

/** Params of the scatter primitives (every field present). */
export interface ScatterParams {
  dimensionNumbers: Required<ScatterDimensionNumbers>;
  mode: GatherMode;
}

/** The uniform geometry of a gather or scatter: how an element maps to an operand element. */
export interface IndexGeometry {
  /** Operand shape. */
  opShape: number[];
  /** Indices shape (last axis = index vector). */
  idxShape: number[];
  /** Shape of the gathered output / the updates. */
  outShape: number[];
  /** Positions of window axes in outShape (ascending). */
  windowPos: number[];
  /** Operand axis of each window axis. */
  windowOperandDims: number[];
  /** Window size of every operand axis (1 for collapsed / batching axes). */
  sizes: number[];
  /** Operand axis of each index-vector entry. */
  startMap: number[];
  /** Operand batching axes and their indices axes. */
  opBatch: number[];
  idxBatch: number[];
}

const isIntArr = (a: unknown): a is number[] =>
  Array.isArray(a) && a.every((v) => Number.isInteger(v));
const js = (v: unknown) => JSON.stringify(v);

function checkAxes(op: string, what: string, a: number[], n: number, sorted = false): void {
  if (!isIntArr(a) || a.some((d) => d < 0 || d >= n) || new Set(a).size !== a.length) {
    throw new RangeError(`${op}: ${what} ${js(a)} must be distinct axes in [0, ${n})`);
  }
  if (sorted && a.some((d, i) => i > 0 && d <= a[i - 1])) {
    throw new RangeError(`${op}: ${what} ${js(a)} must be sorted ascending`);
  }
}

/** Checks the indices aval (int32, at least 1-d). */
function checkIndices(op: string, idx: Shaped, nStart: number): void {
  if (idx.dtype !== "int32") {
    throw new TypeError(`${op}: indices must be int32, got ${idx.dtype}`);
  }
  const last = idx.shape[idx.shape.length - 1];
  if (idx.shape.length === 0 || last !== nStart) {
    throw new TypeError(
      `${op}: indices shape ${fmtShape(idx.shape)} must end in an index vector of length ${nStart}`,
    );
  }
}

/** Common checks of window / batching axes; returns the window operand dims. */
function windowDims(
  op: string,
  opShape: number[],
  idxShape: number[],
  dropped: number[],
  droppedName: string,
  startMap: number[],
  opBatch: number[],
  idxBatch: number[],
): number[] {
  const r = opShape.length;
  checkAxes(op, droppedName, dropped, r, true);
  checkAxes(op, "operandBatchingDims", opBatch, r);
  checkAxes(op, "start index map", startMap, r);
  checkAxes(op, "indices batching dims", idxBatch, Math.max(0, idxShape.length - 1));
  if (opBatch.length !== idxBatch.length) {
    throw new RangeError(`${op}: ${js(opBatch)} and ${js(idxBatch)} must have equal lengths`);
  }
  if (opBatch.some((d) => dropped.includes(d) || startMap.includes(d))) {
    throw new RangeError(
      `${op}: operandBatchingDims ${js(opBatch)} overlap ${droppedName} or the start index map`,
    );
  }
  opBatch.forEach((d, i) => {
    if (opShape[d] !== idxShape[idxBatch[i]]) {
      throw new TypeError(
        `${op}: operand batch axis ${d} (size ${opShape[d]}) and indices axis ${
          idxBatch[i]
        } (size ${idxShape[idxBatch[i]]}) differ`,
      );
    }
  });
  return opShape.map((_, d) => d).filter((d) => !dropped.includes(d) && !opBatch.includes(d));
}

/** Validates a gather and returns its geometry. */
export function gatherGeometry(op: string, x: Shaped, idx: Shaped, p: GatherParams): IndexGeometry {
  const dn = p.dimensionNumbers;
  checkIndices(op, idx, dn.startIndexMap.length);
  const opShape = x.shape, r = opShape.length;
  if (!isIntArr(p.sliceSizes) || p.sliceSizes.length !== r) {
    throw new RangeError(`${op}: sliceSizes ${js(p.sliceSizes)} must give ${r} sizes`);
  }
  // no index vectors (an empty result): a size-1 slice of an empty axis reads nothing (NumPy's
  // zeros((0, 3))[[]] is empty, not an error)
  const noStarts = idx.shape.slice(0, -1).some((n) => n === 0);
  p.sliceSizes.forEach((s, d) => {
    if (s < 0 || (s > opShape[d] && !(noStarts && s === 1))) {
      throw new RangeError(
        `${op}: slice size ${s} of axis ${d} must be in [0, ${opShape[d]}] (operand ${
          fmtShape(opShape)
        })`,
      );
    }
  });
  const wd = windowDims(
    op,
    opShape,
    idx.shape,
    dn.collapsedSliceDims,
    "collapsedSliceDims",
    dn.startIndexMap,
    dn.operandBatchingDims,
    dn.startIndicesBatchingDims,
  );
  for (const d of [...dn.collapsedSliceDims, ...dn.operandBatchingDims]) {
    if (p.sliceSizes[d] !== 1) {
      throw new RangeError(`${op}: collapsed / batching axis ${d} must have slice size 1`);
    }
  }
  const batchShape = idx.shape.slice(0, -1);
  const outRank = batchShape.length + wd.length;
  if (dn.offsetDims.length !== wd.length) {
    throw new RangeError(
      `${op}: offsetDims ${
        js(dn.offsetDims)
      } must list ${wd.length} axes (operand rank ${r} minus collapsed and batching axes)`,
    );
  }
  checkAxes(op, "offsetDims", dn.offsetDims, outRank, true);
  const outShape: number[] = [];
  for (let d = 0, w = 0, b = 0; d < outRank; d++) {
    outShape.push(dn.offsetDims.includes(d) ? p.sliceSizes[wd[w++]] : batchShape[b++]);
  }
  return {
    opShape,
    idxShape: idx.shape,
    outShape,
    windowPos: dn.offsetDims,
    windowOperandDims: wd,
    sizes: p.sliceSizes,
    startMap: dn.startIndexMap,
    opBatch: dn.operandBatchingDims,
    idxBatch: dn.startIndicesBatchingDims,
  };
}

/** Validates a scatter and returns its geometry (outShape = the updates' shape). */
export function scatterGeometry(
  op: string,
  x: Shaped,
  idx: Shaped,
  upd: Shaped,
  p: ScatterParams,
): IndexGeometry {
  const dn = p.dimensionNumbers;
  checkIndices(op, idx, dn.scatterDimsToOperandDims.length);
  if (upd.dtype !== x.dtype) {
    throw new TypeError(`${op}: updates dtype ${upd.dtype} must equal operand dtype ${x.dtype}`);
  }
  const opShape = x.shape;
  const wd = windowDims(
    op,
    opShape,
    idx.shape,
    dn.insertedWindowDims,
    "insertedWindowDims",
    dn.scatterDimsToOperandDims,
    dn.operandBatchingDims,
    dn.scatterIndicesBatchingDims,
  );
  const batchShape = idx.shape.slice(0, -1);
  const rank = batchShape.length + wd.length;
  checkAxes(op, "updateWindowDims", dn.updateWindowDims, Math.max(rank, 0), true);
  if (dn.updateWindowDims.length !== wd.length || upd.shape.length !== rank) {
    throw new TypeError(
      `${op}: updates shape ${
        fmtShape(upd.shape)
      } must have ${rank} axes (${batchShape.length} scatter axes, ${wd.length} window axes in updateWindowDims ${
        js(dn.updateWindowDims)
      })`,
    );
  }
  const sizes = opShape.map(() => 1);
  for (let d = 0, w = 0, b = 0; d < rank; d++) {
    if (dn.updateWindowDims.includes(d)) {
      const od = wd[w++];
      sizes[od] = upd.shape[d];
      if (upd.shape[d] > opShape[od]) {
        throw new TypeError(
          `${op}: window axis ${d} of updates ${fmtShape(upd.shape)} exceeds operand axis ${od} (${
            opShape[od]
          })`,
        );
      }
    } else if (upd.shape[d] !== batchShape[b++]) {
      throw new TypeError(
        `${op}: updates shape ${fmtShape(upd.shape)} does not match the indices' batch shape ${
          fmtShape(batchShape)
        }`,
      );
    }
  }
  return {
    opShape,
    idxShape: idx.shape,
    outShape: upd.shape,
    windowPos: dn.updateWindowDims,
    windowOperandDims: wd,
    sizes,
    startMap: dn.scatterDimsToOperandDims,
    opBatch: dn.operandBatchingDims,
    idxBatch: dn.scatterIndicesBatchingDims,
  };
}

/**
 * A function from the multi-index of a gathered / update element to the flat operand offset, or
 * -1 when its window is out of bounds in `fill` mode.
 */
export function operandOffset(
  g: IndexGeometry,
  indices: ArrayLike<number>,
  mode: GatherMode,
): (idx: number[]) => number {
  const r = g.opShape.length, nv = g.startMap.length;
  const opStrides = new Array<number>(r);
  for (let d = r - 1, s = 1; d >= 0; d--) opStrides[d] = s, s *= g.opShape[d];
  const isWin = new Array<boolean>(g.outShape.length).fill(false);
  g.windowPos.forEach((p) => (isWin[p] = true));
  const batchPos = g.outShape.map((_, d) => d).filter((d) => !isWin[d]);
  const bShape = g.idxShape.slice(0, -1);
  const start = new Array<number>(r);
  return (idx) => {
    let base = 0;
    for (let b = 0; b < batchPos.length; b++) base = base * bShape[b] + idx[batchPos[b]];
    base *= nv;
    start.fill(0);
    for (let k = 0; k < nv; k++) {
      const d = g.startMap[k], hi = g.opShape[d] - g.sizes[d];
      let s = indices[base + k];
      if (mode === "clip") s = s < 0 ? 0 : s > hi ? hi : s;
      else if (s < 0 || s > hi) return -1;
      start[d] = s;
    }
    for (let i = 0; i < g.opBatch.length; i++) start[g.opBatch[i]] = idx[batchPos[g.idxBatch[i]]];
    for (let w = 0; w < g.windowPos.length; w++) {
      start[g.windowOperandDims[w]] += idx[g.windowPos[w]];
    }
    let off = 0;
    for (let d = 0; d < r; d++) off += start[d] * opStrides[d];
    return off;
  };
}

/** JAX's default gather fill: NaN for floats, the minimum for int32, true for bool. */
export function defaultFill(dtype: DType, v: number | null): number {
  if (v !== null) return v;
  return dtype === "bool" ? 1 : dtype === "int32" ? -2147483648 : NaN;
}

/** The scatter-add that transposes a gather (same index geometry). */
export function gatherToScatter(p: GatherParams): ScatterParams {
  const dn = p.dimensionNumbers;
  return {
    dimensionNumbers: {
      updateWindowDims: dn.offsetDims,
      insertedWindowDims: dn.collapsedSliceDims,
      scatterDimsToOperandDims: dn.startIndexMap,
      operandBatchingDims: dn.operandBatchingDims,
      scatterIndicesBatchingDims: dn.startIndicesBatchingDims,
    },
    mode: p.mode,
  };
}

/** The gather that reads back what a scatter wrote (same index geometry; fill 0). */
export function scatterToGather(p: ScatterParams, g: IndexGeometry): GatherParams {
  const dn = p.dimensionNumbers;
  return {
    dimensionNumbers: {
      offsetDims: dn.updateWindowDims,
      collapsedSliceDims: dn.insertedWindowDims,
      startIndexMap: dn.scatterDimsToOperandDims,
      operandBatchingDims: dn.operandBatchingDims,
      startIndicesBatchingDims: dn.scatterIndicesBatchingDims,
    },
    sliceSizes: [...g.sizes],
    mode: p.mode,
    fillValue: 0,
  };
}
