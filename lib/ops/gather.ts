/**
 * `gather` and the scatter family (`scatter`, `scatterAdd`, `scatterMul`, `scatterMin`,
 * `scatterMax`) with XLA's dimension numbers: every rule. A gather transposes to a scatter-add and
 * back; batching adds operand / indices batching axes (vmap never loops).
 * @module
 */
import { bind1, fromHost } from "../core.ts";
import { allocTyped, type TypedArray } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { sizeOf } from "../shape.ts";
import {
  type Aval,
  type BDim,
  defineOp,
  type HostArray,
  type OpDef,
  type ReadAt,
  UndefPrimal,
} from "./_define.ts";
import { cmpIdx, dynIdx, type Expr, iadd, type Idx, landAll, lit } from "../compile/kernel.ts";
import { batchAt0, full, zerosOf } from "./_util.ts";
import { forEachIndex } from "./movement.ts";
import { add, convert, div, eq, mul, select } from "./elementwise.ts";
import {
  defaultFill,
  gatherGeometry,
  type GatherParams,
  gatherToScatter,
  operandOffset,
  scatterGeometry,
  type ScatterParams,
  scatterToGather,
} from "./gather_params.ts";

const up = (a: number[]) => a.map((d) => d + 1);

/** Host gather (reference impl; the CPU backend uses it too). */
export function gatherHost(x: HostArray, idx: HostArray, p: GatherParams, out: Aval): TypedArray {
  const g = gatherGeometry("gather", x, idx, p);
  const res = allocTyped(out.dtype, sizeOf(out.shape));
  const at = operandOffset(g, idx.data, p.mode);
  const fill = defaultFill(out.dtype, p.fillValue);
  forEachIndex(out.shape, (i, flat) => {
    const o = at(i);
    res[flat] = o < 0 ? fill : x.data[o];
  });
  return res;
}

/**
 * gather's index map: the output element at `idx` is the operand element at the clamped start
 * (loaded from the indices: a data-dependent index) plus the window offset, as `operandOffset`;
 * in "fill" mode a select of the fill value where the start is out of bounds.
 */
function gatherAt(idx: Idx[], read: ReadAt, p: GatherParams, [x, ix]: Aval[], out: Aval): Expr {
  const g = gatherGeometry("gather", x, ix, p);
  const isWin = out.shape.map((_, d) => g.windowPos.includes(d));
  const batch = idx.filter((_, d) => !isWin[d]);
  const start: Idx[] = x.shape.map(() => lit(0));
  const conds: Expr[] = [];
  g.startMap.forEach((d, k) => {
    const v = read(1, [...batch, lit(k)]), hi = Math.max(x.shape[d] - g.sizes[d], 0);
    start[d] = dynIdx(v, 0, hi);
    if (p.mode !== "fill") return;
    // the start clamped to [-1, hi + 1] is in bounds exactly where the start is
    const end = x.shape[d] - g.sizes[d] + 1, s = dynIdx(v, -1, end);
    conds.push(cmpIdx(">=", s, lit(0)), cmpIdx("<", s, lit(end)));
  });
  g.opBatch.forEach((d, i) => (start[d] = batch[g.idxBatch[i]]));
  g.windowPos.forEach((pos, w) => {
    const d = g.windowOperandDims[w];
    start[d] = iadd(start[d], idx[pos]);
  });
  const c = landAll(conds), val = read(0, start);
  if (!c) return val;
  const fill: Expr = { k: "const", v: defaultFill(out.dtype, p.fillValue), dtype: out.dtype };
  return { k: "alu", op: "select", args: [c, val, fill], dtype: out.dtype };
}

/**
 * `gather` primitive: `(operand, indices)` with XLA gather dimension numbers. A movement op whose
 * index map loads its starts from the indices, so it fuses with producers and consumers.
 */
export const gatherOp: OpDef<GatherParams> = defineOp({
  name: "gather",
  kind: "structural",
  view: { at: gatherAt, cost: () => 2 },
  abstractEval: ([x, idx], p) => [{
    shape: gatherGeometry("gather", x, idx, p).outShape,
    dtype: x.dtype,
    weak: x.weak,
  }],
  impl: ([x, idx], p, [out]) => [gatherHost(x, idx, p, out)],
  jvp: ([x, idx], [dx], p) => [[gather(x, idx, p)], [gather(dx, idx, { ...p, fillValue: 0 })]],
  vmap: ([x, idx], [bx, bi], p, size) => [[gatherBatched(x, idx, bx, bi, p, size)], [0]],
  transpose: ([ct], [x, idx], p) => {
    if (!(x instanceof UndefPrimal)) return [null, null];
    return [scatterAdd(zerosOf(x.aval), idx as Tensor, ct, gatherToScatter(p)), null];
  },
});

function gatherBatched(
  x: Tensor,
  idx: Tensor,
  bx: BDim,
  bi: BDim,
  p: GatherParams,
  size: number,
): Tensor {
  const dn = p.dimensionNumbers;
  if (bi === null) {
    // only the operand is batched: its batch axis becomes a leading window axis
    return gather(batchAt0(x, bx, size), idx, {
      ...p,
      sliceSizes: [size, ...p.sliceSizes],
      dimensionNumbers: {
        offsetDims: [0, ...up(dn.offsetDims)],
        collapsedSliceDims: up(dn.collapsedSliceDims),
        startIndexMap: up(dn.startIndexMap),
        operandBatchingDims: up(dn.operandBatchingDims),
        startIndicesBatchingDims: dn.startIndicesBatchingDims,
      },
    });
  }
  const i0 = batchAt0(idx, bi, size);
  if (bx === null) {
    return gather(x, i0, {
      ...p,
      dimensionNumbers: {
        ...dn,
        offsetDims: up(dn.offsetDims),
        startIndicesBatchingDims: up(dn.startIndicesBatchingDims),
      },
    });
  }
  return gather(batchAt0(x, bx, size), i0, {
    ...p,
    sliceSizes: [1, ...p.sliceSizes],
    dimensionNumbers: {
      offsetDims: up(dn.offsetDims),
      collapsedSliceDims: up(dn.collapsedSliceDims),
      startIndexMap: up(dn.startIndexMap),
      operandBatchingDims: [0, ...up(dn.operandBatchingDims)],
      startIndicesBatchingDims: [0, ...up(dn.startIndicesBatchingDims)],
    },
  });
}

/** How a scatter combines an update with the current value. */
export type Combine = "set" | "add" | "mul" | "min" | "max";
const COMBINE: Record<Combine, (a: number, b: number) => number> = {
  set: (_a, b) => b,
  add: (a, b) => a + b,
  mul: (a, b) => a * b,
  min: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)),
  max: (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)),
};

/** Host scatter: updates applied in row-major order (so the last duplicate wins in `set`). */
export function scatterHost(
  combine: Combine,
  x: HostArray,
  idx: HostArray,
  upd: HostArray,
  p: ScatterParams,
  out: Aval,
): TypedArray {
  const g = scatterGeometry(`scatter`, x, idx, upd, p);
  const res = allocTyped(out.dtype, x.data.length);
  const f = COMBINE[combine];
  for (let i = 0; i < x.data.length; i++) res[i] = x.data[i];
  const at = operandOffset(g, idx.data, p.mode);
  forEachIndex(upd.shape, (i, flat) => {
    const o = at(i);
    if (o >= 0) res[o] = f(res[o], upd.data[flat]);
  });
  return res;
}

function scatterBatched(
  name: Combine,
  [x, idx, u]: Tensor[],
  [bx, bi, bu]: BDim[],
  p: ScatterParams,
  size: number,
): Tensor {
  const dn = p.dimensionNumbers;
  return scatterWith(name, batchAt0(x, bx, size), batchAt0(idx, bi, size), batchAt0(u, bu, size), {
    ...p,
    dimensionNumbers: {
      updateWindowDims: up(dn.updateWindowDims),
      insertedWindowDims: up(dn.insertedWindowDims),
      scatterDimsToOperandDims: up(dn.scatterDimsToOperandDims),
      operandBatchingDims: [0, ...up(dn.operandBatchingDims)],
      scatterIndicesBatchingDims: [0, ...up(dn.scatterIndicesBatchingDims)],
    },
  });
}

/** The scatter primitive that combines with `combine`. */
function scatterOp(combine: Combine, rules: Pick<OpDef<ScatterParams>, "jvp" | "transpose">) {
  const name = combine === "set"
    ? "scatter"
    : `scatter${combine[0].toUpperCase()}${combine.slice(1)}`;
  return defineOp<ScatterParams>({
    name,
    kind: "reduce",
    abstractEval: ([x, idx, u], p) => {
      scatterGeometry(name, x, idx, u, p);
      if (x.dtype === "bool" && combine !== "set") {
        throw new TypeError(`${name}: bool operands are not supported (use scatter)`);
      }
      return [{ shape: [...x.shape], dtype: x.dtype, weak: x.weak && u.weak }];
    },
    impl: ([x, idx, u], p, [out]) => [scatterHost(combine, x, idx, u, p, out)],
    vmap: (args, bdims, p, size) => [[scatterBatched(combine, args, bdims, p, size)], [0]],
    ...rules,
  });
}

/** Gathers cotangents of updates (fill 0 where a scatter dropped them). */
const readBack = (ct: Tensor, idx: Tensor, u: Aval, p: ScatterParams) =>
  gather(ct, idx, scatterToGather(p, scatterGeometry("scatter", ct.aval, idx.aval, u, p)));

/** Which update elements a `set` scatter kept (the last of duplicates, not dropped ones). */
function winners(x: Aval, idx: Tensor, u: Aval, p: ScatterParams): Tensor {
  const ids = new Int32Array(sizeOf(u.shape)).map((_, i) => i);
  const idT = fromHost(ids, [...u.shape], "int32");
  const owner = scatterWith("set", full(x.shape, -1, "int32"), idx, idT, p);
  return eq(readBack(owner, idx, { ...u, dtype: "int32" }, p), idT);
}

/** `scatter` primitive (set; the last duplicate in row-major order wins). Linear in (operand, updates). */
export const scatterSetOp: OpDef<ScatterParams> = scatterOp("set", {
  jvp: ([x, idx, u], [dx, , du], p) => [[scatterWith("set", x, idx, u, p)], [
    scatterWith("set", dx, idx, du, p),
  ]],
  transpose: ([ct], [x, idx, u], p) => {
    const i = idx as Tensor;
    const ctx = x instanceof UndefPrimal ? scatterWith("set", ct, i, zerosOf(u.aval), p) : null;
    const ctu = u instanceof UndefPrimal
      ? select(winners(x.aval, i, u.aval, p), readBack(ct, i, u.aval, p), zerosOf(u.aval))
      : null;
    return [ctx, null, ctu];
  },
});

/** `scatterAdd` primitive: repeated indices accumulate. Linear in (operand, updates). */
export const scatterAddOp: OpDef<ScatterParams> = scatterOp("add", {
  jvp: ([x, idx, u], [dx, , du], p) => [[scatterAdd(x, idx, u, p)], [scatterAdd(dx, idx, du, p)]],
  transpose: ([ct], [x, idx, u], p) => [
    x instanceof UndefPrimal ? ct : null,
    null,
    u instanceof UndefPrimal ? readBack(ct, idx as Tensor, u.aval, p) : null,
  ],
});

/**
 * `scatterMul` primitive. Linear in the operand; the derivative w.r.t. updates assumes unique
 * indices (as JAX's).
 */
export const scatterMulOp: OpDef<ScatterParams> = scatterOp("mul", {
  jvp: ([x, idx, u], [dx, , du], p) => {
    const xs = readBack(x, idx, u.aval, p);
    const t = add(scatterWith("mul", dx, idx, u, p), scatterAdd(zerosOf(x), idx, mul(du, xs), p));
    return [[scatterWith("mul", x, idx, u, p)], [t]];
  },
  transpose: ([ct], [x, idx, u], p) => {
    if (u instanceof UndefPrimal) {
      throw new TypeError("scatterMul: not linear in the updates (transpose of a nonlinear use)");
    }
    return [
      x instanceof UndefPrimal ? scatterWith("mul", ct, idx as Tensor, u, p) : null,
      null,
      null,
    ];
  },
});

/** JAX's derivative of scatter-min/max: ties between operand and updates share the tangent. */
function extremalJvp(combine: "min" | "max") {
  return ([x, idx, u]: Tensor[], [dx, , du]: Tensor[], p: ScatterParams): [Tensor[], Tensor[]] => {
    const y = scatterWith(combine, x, idx, u, p);
    const fd = x.aval.dtype;
    const mx = convert(eq(x, y), fd);
    const mu = convert(eq(u, readBack(y, idx, u.aval, p)), fd);
    const count = scatterAdd(mx, idx, mu, p);
    const t = div(scatterAdd(mul(mx, dx), idx, mul(mu, du), p), count);
    return [[y], [t]];
  };
}

/** `scatterMin` primitive. */
export const scatterMinOp: OpDef<ScatterParams> = scatterOp("min", { jvp: extremalJvp("min") });
/** `scatterMax` primitive. */
export const scatterMaxOp: OpDef<ScatterParams> = scatterOp("max", { jvp: extremalJvp("max") });

const SCATTERS: Record<Combine, OpDef<ScatterParams>> = {
  set: scatterSetOp,
  add: scatterAddOp,
  mul: scatterMulOp,
  min: scatterMinOp,
  max: scatterMaxOp,
};

/** Binds `gather` (params complete). */
export function gather(x: Tensor, idx: Tensor, p: GatherParams): Tensor {
  return bind1(gatherOp, [x, idx], p);
}

/** Binds the scatter primitive of `combine` (params complete). */
export function scatterWith(
  combine: Combine,
  x: Tensor,
  idx: Tensor,
  u: Tensor,
  p: ScatterParams,
): Tensor {
  return bind1(SCATTERS[combine], [x, idx, u], p);
}

/** Binds `scatterAdd` (params complete). */
export function scatterAdd(x: Tensor, idx: Tensor, u: Tensor, p: ScatterParams): Tensor {
  return bind1(scatterAddOp, [x, idx, u], p);
}
