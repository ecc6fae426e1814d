/**
 * conv's reduction form (its OpDef's `reduction`): small convolutions as a reduction kernel whose
 * output loops run over the output layout and reduction loops over (input feature within the
 * group, kernel taps); operands are read through fused nodes, so producers fuse in like in any
 * reduction. Padding and dilation holes are index conditions, never loads.
 * @module
 */
import type { Aval, ReadAt, ReductionForm } from "../ops/_define.ts";
import type { ConvParams } from "../ops/conv_params.ts";
import { sizeOf } from "../shape.ts";
import { mulOp, selectOp } from "../ops/elementwise.ts";
import {
  cmpIdx,
  type Expr,
  iadd,
  idiv,
  type Idx,
  imod,
  imul,
  ivar,
  landAll,
  lit,
} from "./kernel.ts";

/** Convolutions below this many multiply-adds run as a generated reduction kernel. */
export const SMALL_CONV_MACS = 1 << 18;

/** Multiply-adds of a convolution (for choosing between this kernel and the GEMM path). */
export function convMacs(_lhs: Aval, rhs: Aval, out: Aval, p: ConvParams): number {
  return sizeOf(out.shape) * sizeOf(rhs.shape) / rhs.shape[p.dimensionNumbers.rhs[0]];
}

/**
 * Whether a convolution runs as a generated reduction kernel rather than im2col + GEMM: small
 * problems, few output features per group (a GEMV-shaped GEMM gains nothing and im2col would
 * copy the input once per tap), or an im2col matrix too large to materialize, unless the backend
 * has a direct kernel for it (`direct`).
 */
function useReduction([l, r]: Aval[], out: Aval, p: ConvParams, direct: boolean): boolean {
  if (direct) return false;
  const macs = convMacs(l, r, out, p);
  if (macs < SMALL_CONV_MACS) return true;
  const outFeatures = r.shape[p.dimensionNumbers.rhs[0]] / p.featureGroupCount;
  const im2colBytes = (4 * macs) / outFeatures;
  return outFeatures < 4 || im2colBytes > 2 ** 28;
}

/** The body and reduction extents of a convolution computed per output element. */
function convReduceBody(
  read: ReadAt,
  [lhs, rhs]: Aval[],
  out: Aval,
  p: ConvParams,
): { body: Expr; shape: number[] } {
  const { lhs: ls, rhs: rs, out: os } = p.dimensionNumbers;
  const nd = ls.length - 2;
  const L = lhs.shape, R = rhs.shape;
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
    if (p.padding[d][0] > 0) conds.push(cmpIdx(">=", q, lit(0)));
    if (dl > 1) conds.push(cmpIdx("==", imod(q, dl), lit(0)));
    // the highest index read can exceed X only with high padding or dilation
    if (p.padding[d][1] > 0 || dl > 1) conds.push(cmpIdx("<", x, lit(X)));
    lIdx[ls[2 + d]] = x;
  }
  const rIdx: Idx[] = new Array(R.length);
  rIdx[rs[0]] = o;
  rIdx[rs[1]] = i;
  taps.forEach((t, d) => (rIdx[rs[2 + d]] = t));
  // bfloat16 multiplies and accumulates in float32 (as XLA; its ops round every result), the
  // store rounds the sum
  const acc = out.dtype === "bfloat16" ? "float32" : out.dtype;
  const prod: Expr = {
    k: "alu",
    op: mulOp.name,
    args: [read(0, lIdx), read(1, rIdx)],
    dtype: acc,
  };
  const cond = landAll(conds);
  const body: Expr = cond
    ? {
      k: "alu",
      op: selectOp.name,
      args: [cond, prod, { k: "const", v: 0, dtype: acc }],
      dtype: acc,
    }
    : prod;
  return { body, shape: [I, ...rs.slice(2).map((a) => R[a])] };
}

/** conv as a reduction kernel (see `useReduction`). */
export const convReduction: ReductionForm<ConvParams> = {
  use: useReduction,
  body: (read, ins, out, p) => convReduceBody(read, ins, out, p),
};
