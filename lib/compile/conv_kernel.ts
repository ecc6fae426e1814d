/**
 * Small convolutions as a reduction kernel of the kernel IR: the output loops run over the
 * output layout, the reduction loops over (input feature within the group, kernel taps), and the
 * operands are fused nodes, so producers of the input fuse in (prologue) like any reduction.
 * Padding and dilation holes are index conditions, never loads.
 * @module
 */
import type { Aval } from "../ops/_define.ts";
import type { ConvParams } from "../ops/conv_params.ts";
import { sizeOf } from "../shape.ts";
import type { Node } from "./fuse.ts";
import { type Expr, iadd, idiv, type Idx, imod, imul, ivar, lit } from "./kernel.ts";

/** Multiply-adds of a convolution (for choosing between this kernel and the GEMM path). */
export function convMacs(_lhs: Aval, rhs: Aval, out: Aval, p: ConvParams): number {
  return sizeOf(out.shape) * sizeOf(rhs.shape) / rhs.shape[p.dimensionNumbers.rhs[0]];
}

/** The body and reduction extents of a convolution computed per output element. */
export function convReduceBody(
  lhs: Node,
  rhs: Node,
  p: ConvParams,
  out: Aval,
): { body: Expr; shape: number[] } {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const nd = ls.length - 2;
  const L = lhs.aval.shape, R = rhs.aval.shape;
  const O = R[rs[0]], I = R[rs[1]], N = L[ls[0]];
  const G = p.featureGroupCount, B = p.batchGroupCount;
  const oVars: Idx[] = out.shape.map((_, d) => ivar(`i${d}`));
  const n = oVars[os[0]], o = oVars[os[1]];
  const r = (k: number) => ivar(`r${k}`);
  const i = r(0);
  const taps = rs.slice(2).map((_, d) => r(d + 1));
  // feature groups pick the lhs channel block; batch groups pick the lhs batch block
  const c = G > 1 ? iadd(imul(idiv(o, O / G), I), i) : i;
  const nb = B > 1 ? iadd(imul(idiv(o, O / B), N / B), n) : n;
  const conds: Expr[] = [];
  const lIdx: Idx[] = new Array(L.length);
  lIdx[ls[0]] = nb;
  lIdx[ls[1]] = c;
  for (let d = 0; d < nd; d++) {
    const y = oVars[os[2 + d]];
    const q = iadd(
      iadd(imul(y, p.windowStrides[d]), imul(taps[d], p.rhsDilation[d])),
      -p.padding[d][0],
    );
    const dl = p.lhsDilation[d];
    const X = L[ls[2 + d]];
    const x = idiv(q, dl);
    if (p.padding[d][0] > 0) conds.push({ k: "cmpIdx", op: ">=", a: q, b: lit(0) });
    if (dl > 1) conds.push({ k: "cmpIdx", op: "==", a: imod(q, dl), b: lit(0) });
    // the highest index read can exceed X only with high padding or dilation
    if (p.padding[d][1] > 0 || dl > 1) conds.push({ k: "cmpIdx", op: "<", a: x, b: lit(X) });
    lIdx[ls[2 + d]] = x;
  }
  const rIdx: Idx[] = new Array(R.length);
  rIdx[rs[0]] = o;
  rIdx[rs[1]] = i;
  taps.forEach((t, d) => (rIdx[rs[2 + d]] = t));
  const prod: Expr = { k: "alu", op: "mul", args: [lhs.at(lIdx), rhs.at(rIdx)], dtype: out.dtype };
  const cond = conds.length
    ? conds.reduce((a, b) => ({ k: "alu", op: "land", args: [a, b], dtype: "bool" }))
    : null;
  const body: Expr = cond
    ? {
      k: "alu",
      op: "select",
      args: [cond, prod, { k: "const", v: 0, dtype: out.dtype }],
      dtype: out.dtype,
    }
    : prod;
  return { body, shape: [I, ...rs.slice(2).map((a) => R[a])] };
}
