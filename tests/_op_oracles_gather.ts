/**
 * Oracles of gather and the scatters, written from XLA's operation semantics loop by loop: for
 * each index vector, for each window element, compute the operand and output positions.
 * @module
 */
import { type Host, type Oracle, ravel, size, unravel } from "./_op_oracles.ts";

// deno-lint-ignore no-explicit-any
type P = any;

interface Walk {
  /** Operand axes of the window, in order. */
  winAxes: number[];
  /** Window size per operand axis. */
  win: number[];
}

/** Visits every (index-batch position, window position) pair with its operand index (or null). */
function walk(
  x: Host,
  idx: Host,
  startMap: number[],
  opBatch: number[],
  idxBatch: number[],
  w: Walk,
  clip: boolean,
  visit: (batch: number[], winPos: number[], operand: number[] | null) => void,
): void {
  const bShape = idx.shape.slice(0, -1), nv = idx.shape[idx.shape.length - 1];
  const winShape = w.winAxes.map((d) => w.win[d]);
  for (let b = 0; b < size(bShape); b++) {
    const bi = unravel(b, bShape);
    const start = x.shape.map(() => 0);
    let inBounds = true;
    for (let k = 0; k < nv; k++) {
      const d = startMap[k];
      const v = idx.data[b * nv + k], hi = x.shape[d] - w.win[d];
      if (clip) start[d] = Math.min(Math.max(v, 0), hi);
      else {
        start[d] = v;
        if (v < 0 || v > hi) inBounds = false;
      }
    }
    opBatch.forEach((d, i) => (start[d] = bi[idxBatch[i]]));
    for (let o = 0; o < size(winShape); o++) {
      const wi = unravel(o, winShape);
      const full = [...start];
      w.winAxes.forEach((d, j) => (full[d] += wi[j]));
      visit(bi, wi, inBounds ? full : null);
    }
  }
}

/** Interleaves batch and window coordinates into an output / updates index. */
function place(rank: number, winPos: number[], batch: number[], win: number[]): number[] {
  const out: number[] = [];
  let b = 0, w = 0;
  for (let d = 0; d < rank; d++) out.push(winPos.includes(d) ? win[w++] : batch[b++]);
  return out;
}

const gatherOracle: Oracle = ([x, idx], p: P) => {
  const dn = p.dimensionNumbers;
  const dropped = [...dn.collapsedSliceDims, ...dn.operandBatchingDims];
  const winAxes = x.shape.map((_, d) => d).filter((d) => !dropped.includes(d));
  const bShape = idx.shape.slice(0, -1);
  const rank = bShape.length + winAxes.length;
  const shape = place(rank, dn.offsetDims, bShape, winAxes.map((d) => p.sliceSizes[d]));
  const fill = p.fillValue ?? (x.dtype === "int32" ? -(2 ** 31) : x.dtype === "bool" ? 1 : NaN);
  const data = new Array<number>(size(shape)).fill(fill);
  const w = { winAxes, win: p.sliceSizes };
  walk(
    x,
    idx,
    dn.startIndexMap,
    dn.operandBatchingDims,
    dn.startIndicesBatchingDims,
    w,
    p.mode === "clip",
    (b, wi, at) => {
      if (at) data[ravel(place(rank, dn.offsetDims, b, wi), shape)] = x.data[ravel(at, x.shape)];
    },
  );
  return { shape, data };
};

function scatterOracle(f: (a: number, b: number) => number): Oracle {
  return ([x, idx, u], p: P) => {
    const dn = p.dimensionNumbers;
    const dropped = [...dn.insertedWindowDims, ...dn.operandBatchingDims];
    const winAxes = x.shape.map((_, d) => d).filter((d) => !dropped.includes(d));
    const win = x.shape.map(() => 1);
    winAxes.forEach((d, j) => (win[d] = u.shape[dn.updateWindowDims[j]]));
    const data = Array.from(x.data);
    const w = { winAxes, win };
    walk(
      x,
      idx,
      dn.scatterDimsToOperandDims,
      dn.operandBatchingDims,
      dn.scatterIndicesBatchingDims,
      w,
      p.mode === "clip",
      (b, wi, at) => {
        if (!at) return;
        const o = ravel(at, x.shape);
        data[o] = f(
          data[o],
          u.data[ravel(place(u.shape.length, dn.updateWindowDims, b, wi), u.shape)],
        );
      },
    );
    return { shape: [...x.shape], data };
  };
}

const nanOr = (g: (a: number, b: number) => number) => (a: number, b: number) =>
  Number.isNaN(a) || Number.isNaN(b) ? NaN : g(a, b);

/** Oracles of the gather / scatter primitives. */
export const GATHER_ORACLES: Record<string, Oracle> = {
  gather: gatherOracle,
  scatter: scatterOracle((_a, b) => b),
  scatterAdd: scatterOracle((a, b) => a + b),
  scatterMul: scatterOracle((a, b) => a * b),
  scatterMin: scatterOracle(nanOr(Math.min)),
  scatterMax: scatterOracle(nanOr(Math.max)),
};

/** Row r of `shape` along `axis`: the flat offsets of its elements, in order. */
function rowOffsets(shape: number[], axis: number): number[][] {
  const rows: number[][] = [];
  const outer = shape.filter((_, d) => d !== axis);
  for (let r = 0; r < size(outer); r++) {
    const o = unravel(r, outer);
    rows.push(
      Array.from(
        { length: shape[axis] },
        (_, i) => ravel([...o.slice(0, axis), i, ...o.slice(axis)], shape),
      ),
    );
  }
  return rows;
}

/** Insertion sort of each row, comparing the keys in order (NaN greatest), stable. */
const sortOracle: Oracle = (xs, p: P) => {
  const greater = (i: number, j: number, off: number[]) => {
    for (const k of xs.slice(0, p.numKeys)) {
      const a = k.data[off[i]], b = k.data[off[j]];
      const an = Number.isNaN(a), bn = Number.isNaN(b);
      if (an !== bn) return an;
      if (!an && a !== b) return a > b;
    }
    return false;
  };
  const data = new Array<number>(size(xs[0].shape));
  for (const off of rowOffsets(xs[0].shape, p.dimension)) {
    const order: number[] = [];
    for (let i = 0; i < off.length; i++) {
      let j = order.length;
      while (j > 0 && greater(order[j - 1], i, off)) j--;
      order.splice(j, 0, i);
    }
    order.forEach((src, i) => (data[off[i]] = xs[0].data[off[src]]));
  }
  return { shape: [...xs[0].shape], data };
};

function cumOracle(f: (a: number, b: number) => number): Oracle {
  return ([x], p: P) => {
    const data = new Array<number>(size(x.shape));
    for (const off of rowOffsets(x.shape, p.axis)) {
      const seq = p.reverse ? [...off].reverse() : off;
      seq.forEach((o, i) => (data[o] = i === 0 ? x.data[o] : f(data[seq[i - 1]], x.data[o])));
    }
    return { shape: [...x.shape], data };
  };
}

/** Oracles of sort and the cumulative primitives. */
export const SORT_ORACLES: Record<string, Oracle> = {
  sort: sortOracle,
  cumsum: cumOracle((a, b) => a + b),
  cumprod: cumOracle((a, b) => a * b),
  cummax: cumOracle(nanOr(Math.max)),
  cummin: cumOracle(nanOr(Math.min)),
};
