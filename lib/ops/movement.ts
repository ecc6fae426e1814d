/**
 * Structural primitives that move data without arithmetic: slice, pad, concatenate, rev, and
 * (defined in _util.ts, re-exported here) broadcastInDim, reshape, transpose. All are linear.
 * @module
 */
import { bind1 } from "../core.ts";
import { allocTyped } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { fmtShape, sizeOf, stridesOf } from "../shape.ts";
import { type Aval, defineOp, type OpDef, type ReadAt, UndefPrimal } from "./_define.ts";
import {
  cmpIdx,
  type Expr,
  iadd,
  idiv,
  type Idx,
  imod,
  imul,
  landAll,
  lit,
} from "../compile/kernel.ts";
import { batchAt0, full, gatherImpl, reduceSum, shapeOf } from "./_util.ts";
import { add, sub } from "./elementwise.ts";

export {
  broadcastInDim,
  broadcastInDimOp,
  type BroadcastParams,
  forEachIndex,
  reshape,
  reshapeOp,
  transpose,
  transposeOp,
} from "./_util.ts";

/** Parameters of `slice`. */
export interface SliceParams {
  start: number[];
  limit: number[];
  strides: number[];
}
/** `slice` primitive: static start/limit with positive strides. */
export const sliceOp: OpDef<SliceParams> = defineOp({
  name: "slice",
  kind: "structural",
  view: {
    at: (idx, read, p) => read(0, idx.map((v, i) => iadd(imul(v, p.strides[i]), p.start[i]))),
  },
  abstractEval: ([a], { start, limit, strides }) => {
    const bad = start.length !== a.shape.length ||
      a.shape.some((d, i) =>
        !(start[i] >= 0 && start[i] <= limit[i] && limit[i] <= d && strides[i] >= 1)
      );
    if (bad) {
      throw new RangeError(
        `slice: start ${JSON.stringify(start)}, limit ${JSON.stringify(limit)}, strides ${
          JSON.stringify(strides)
        } do not fit shape ${fmtShape(a.shape)}`,
      );
    }
    return [{
      shape: a.shape.map((_, i) => Math.ceil((limit[i] - start[i]) / strides[i])),
      dtype: a.dtype,
      weak: a.weak,
    }];
  },
  impl: ([x], { start, strides }, [out]) => {
    const st = stridesOf(x.shape);
    return [
      gatherImpl(
        x,
        out,
        (idx) => idx.reduce((s, v, i) => s + (start[i] + v * strides[i]) * st[i], 0),
      ),
    ];
  },
  jvp: (
    [x],
    [dx],
    p,
  ) => [[slice(x, p.start, p.limit, p.strides)], [slice(dx, p.start, p.limit, p.strides)]],
  vmap: ([x], [bd], p) => {
    const ins = <T>(a: T[], v: T) => [...a.slice(0, bd!), v, ...a.slice(bd!)];
    return [[slice(x, ins(p.start, 0), ins(p.limit, x.aval.shape[bd!]), ins(p.strides, 1))], [bd]];
  },
  transpose: ([ct], [x], { start, strides }) => {
    const inShape = shapeOf(x);
    const outShape = ct.aval.shape;
    const lo = start.map((s, i) => Math.min(s, inShape[i]));
    const hi = inShape.map((d, i) =>
      d - lo[i] - (outShape[i] === 0 ? 0 : (outShape[i] - 1) * strides[i] + 1)
    );
    return [pad(ct, full([], 0, ct.aval.dtype), lo, hi, strides.map((s) => s - 1))];
  },
});

/** Parameters of `pad`. */
export interface PadParams {
  lo: number[];
  hi: number[];
  interior: number[];
}
/** pad's index map: operand 0 where the index lands on it, else the pad value (operand 1). */
function padAt(idx: Idx[], read: ReadAt, p: PadParams, [x]: Aval[], out: Aval): Expr {
  const conds: Expr[] = [];
  const src = idx.map((vi, i) => {
    const s = p.interior[i] + 1;
    if (p.lo[i] === 0 && s === 1 && out.shape[i] === x.shape[i]) return vi;
    const q = iadd(vi, -p.lo[i]);
    conds.push(cmpIdx(">=", q, lit(0)));
    if (s > 1) conds.push(cmpIdx("==", imod(q, s), lit(0)));
    const qi = idiv(q, s);
    conds.push(cmpIdx("<", qi, lit(x.shape[i])));
    return qi;
  });
  const c = landAll(conds);
  return c
    ? { k: "alu", op: "select", args: [c, read(0, src), read(1, [])], dtype: out.dtype }
    : read(0, src);
}

/** `pad` primitive: low/high padding (negative crops) and interior padding, with a scalar pad value. */
export const padOp: OpDef<PadParams> = defineOp({
  name: "pad",
  kind: "structural",
  view: { at: padAt, cost: () => 1 },
  abstractEval: ([a, v], { lo, hi, interior }) => {
    if (v.shape.length !== 0 || v.dtype !== a.dtype) {
      throw new TypeError(
        `pad: padding value must be a scalar of dtype ${a.dtype}, got shape ${
          fmtShape(v.shape)
        } ${v.dtype}`,
      );
    }
    const shape = a.shape.map((d, i) =>
      lo[i] + hi[i] + (d === 0 ? 0 : (d - 1) * (interior[i] + 1) + 1)
    );
    if (lo.length !== a.shape.length || shape.some((d) => d < 0) || interior.some((x) => x < 0)) {
      throw new RangeError(
        `pad: padding lo ${JSON.stringify(lo)}, hi ${JSON.stringify(hi)}, interior ${
          JSON.stringify(interior)
        } is invalid for shape ${fmtShape(a.shape)}`,
      );
    }
    return [{ shape, dtype: a.dtype, weak: a.weak }];
  },
  impl: ([x, v], { lo, interior }, [out]) => {
    const st = stridesOf(x.shape);
    return [gatherImpl(x, out, (idx) => {
      let s = 0;
      for (let i = 0; i < idx.length; i++) {
        const q = idx[i] - lo[i];
        const step = interior[i] + 1;
        if (q < 0 || q % step !== 0 || q / step >= x.shape[i]) return -1;
        s += (q / step) * st[i];
      }
      return s;
    }, v.data[0])];
  },
  jvp: (
    [x, v],
    [dx, dv],
    p,
  ) => [[pad(x, v, p.lo, p.hi, p.interior)], [pad(dx, dv, p.lo, p.hi, p.interior)]],
  vmap: ([x, v], [bx, bv], p, size) => {
    if (bv !== null) {
      throw new TypeError("pad: a batched padding value is not supported under vmap");
    }
    const ins = (a: number[], val: number) => [val, ...a];
    return [[pad(batchAt0(x, bx, size), v, ins(p.lo, 0), ins(p.hi, 0), ins(p.interior, 0))], [0]];
  },
  transpose: ([ct], [x, v], { lo, hi, interior }) => {
    let tx: Tensor | null = null;
    if (x instanceof UndefPrimal) {
      const unpadded = pad(
        ct,
        full([], 0, ct.aval.dtype),
        lo.map((l) => -Math.min(l, 0)),
        hi.map((h) => -Math.min(h, 0)),
        lo.map(() => 0),
      );
      const lo2 = lo.map((l) => Math.max(l, 0));
      const shp = unpadded.aval.shape;
      const inShape = x.aval.shape;
      tx = slice(
        unpadded,
        lo2,
        inShape.map((d, i) => (d === 0 ? lo2[i] : lo2[i] + (d - 1) * (interior[i] + 1) + 1)).map((
          l,
          i,
        ) => Math.min(l, shp[i])),
        interior.map((s) => s + 1),
      );
    }
    let tv: Tensor | null = null;
    if (v instanceof UndefPrimal) {
      const all = ct.aval.shape.map((_, i) => i);
      tv = reduceSum(ct, all);
      if (tx) tv = sub(tv, reduceSum(tx, all));
    }
    return [tx, tv];
  },
});

/** concatenate's index map: a select chain over the operands along the axis. */
function concatAt(
  idx: Idx[],
  read: ReadAt,
  { axis }: { axis: number },
  ins: Aval[],
  out: Aval,
): Expr {
  let off = ins.reduce((s, a) => s + a.shape[axis], 0);
  let e: Expr | null = null;
  for (let k = ins.length - 1; k >= 0; k--) {
    const n = ins[k].shape[axis];
    off -= n;
    if (n === 0) continue;
    const o = off;
    const here = read(k, idx.map((v, i) => (i === axis ? iadd(v, -o) : v)));
    e = e === null ? here : {
      k: "alu",
      op: "select",
      args: [cmpIdx("<", idx[axis], lit(o + n)), here, e],
      dtype: out.dtype,
    };
  }
  return e ?? { k: "const", v: 0, dtype: out.dtype };
}

/** `concatenate` primitive along `axis` (operands share all other dims and the dtype). */
export const concatenateOp: OpDef<{ axis: number }> = defineOp({
  name: "concatenate",
  kind: "structural",
  view: { at: concatAt, cost: (n) => n },
  abstractEval: (avals, { axis }) => {
    const a0 = avals[0];
    if (!Number.isInteger(axis) || axis < 0 || axis >= a0.shape.length) {
      throw new RangeError(
        `concatenate: axis ${axis} is out of bounds for arrays of dimension ${a0.shape.length}`,
      );
    }
    for (const a of avals) {
      if (
        a.shape.length !== a0.shape.length || a.dtype !== a0.dtype ||
        a.shape.some((d, i) => i !== axis && d !== a0.shape[i])
      ) {
        throw new TypeError(
          `concatenate: all input shapes must match except on axis ${axis}, got ${
            avals.map((b) => fmtShape(b.shape) + " " + b.dtype).join(", ")
          }`,
        );
      }
    }
    const shape = [...a0.shape];
    shape[axis] = avals.reduce((s, a) => s + a.shape[axis], 0);
    return [{ shape, dtype: a0.dtype, weak: avals.every((a) => a.weak) }];
  },
  impl: (xs, { axis }, [out]) => {
    const res = allocTyped(out.dtype, sizeOf(out.shape));
    const outer = sizeOf(out.shape.slice(0, axis));
    const inner = sizeOf(out.shape.slice(axis + 1));
    let off = 0;
    const rowOut = out.shape[axis] * inner;
    for (const x of xs) {
      const row = x.shape[axis] * inner;
      for (let o = 0; o < outer; o++) {
        res.set(x.data.subarray(o * row, (o + 1) * row), o * rowOut + off);
      }
      off += row;
    }
    return [res];
  },
  jvp: (xs, dxs, p) => [[concatenate(xs, p.axis)], [concatenate(dxs, p.axis)]],
  vmap: (
    xs,
    bds,
    p,
    size,
  ) => [[concatenate(xs.map((x, i) => batchAt0(x, bds[i], size)), p.axis + 1)], [0]],
  transpose: ([ct], xs, { axis }) => {
    let off = 0;
    const shp = ct.aval.shape;
    return xs.map((x) => {
      const n = x.aval.shape[axis];
      const start = shp.map((_, i) => (i === axis ? off : 0));
      const limit = shp.map((d, i) => (i === axis ? off + n : d));
      off += n;
      return x instanceof UndefPrimal ? slice(ct, start, limit, shp.map(() => 1)) : null;
    });
  },
});

/** `rev` primitive: reverses the listed axes. */
export const revOp: OpDef<{ axes: number[] }> = defineOp({
  name: "rev",
  kind: "structural",
  view: {
    at: (idx, read, { axes }, [x]) =>
      read(0, idx.map((v, i) => (axes.includes(i) ? iadd(imul(v, -1), x.shape[i] - 1) : v))),
  },
  abstractEval: ([a], { axes }) => {
    if (
      axes.some((x) => !Number.isInteger(x) || x < 0 || x >= a.shape.length) ||
      new Set(axes).size !== axes.length
    ) {
      throw new RangeError(
        `rev: axes ${JSON.stringify(axes)} are invalid for an array of dimension ${a.shape.length}`,
      );
    }
    return [{ ...a, shape: [...a.shape] }];
  },
  impl: ([x], { axes }, [out]) => {
    const st = stridesOf(x.shape);
    return [
      gatherImpl(
        x,
        out,
        (idx) =>
          idx.reduce((s, v, i) => s + (axes.includes(i) ? x.shape[i] - 1 - v : v) * st[i], 0),
      ),
    ];
  },
  jvp: ([x], [dx], p) => [[rev(x, p.axes)], [rev(dx, p.axes)]],
  vmap: ([x], [bd], p) => [[rev(x, p.axes.map((a) => (a >= bd! ? a + 1 : a)))], [bd]],
  transpose: ([ct], _x, p) => [rev(ct, p.axes)],
});

/** Binds `slice` (no-op for the whole array). */
export function slice(x: Tensor, start: number[], limit: number[], strides?: number[]): Tensor {
  const st = strides ?? start.map(() => 1);
  const s = x.aval.shape;
  if (s.length === start.length && s.every((d, i) => !start[i] && limit[i] === d && st[i] === 1)) {
    return x;
  }
  return bind1(sliceOp, [x], { start, limit, strides: st });
}
/** Binds `pad`. */
export function pad(
  x: Tensor,
  value: Tensor,
  lo: number[],
  hi: number[],
  interior?: number[],
): Tensor {
  return bind1(padOp, [x, value], { lo, hi, interior: interior ?? lo.map(() => 0) });
}
/** Binds `concatenate`. */
export function concatenate(xs: Tensor[], axis: number): Tensor {
  return xs.length === 1 ? xs[0] : bind1(concatenateOp, xs, { axis });
}
/** Binds `rev`. */
export function rev(x: Tensor, axes: number[]): Tensor {
  return axes.length ? bind1(revOp, [x], { axes }) : x;
}

/** Adds tangents/cotangents, treating null as zero. */
export function addAny(a: Tensor | null, b: Tensor | null): Tensor | null {
  if (!a) return b;
  if (!b) return a;
  return add(a, b);
}
