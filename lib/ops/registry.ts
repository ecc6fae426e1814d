/**
 * Every primitive, in one table. `satisfies` makes the compiler check each entry's rules, and the
 * conformance suite iterates this table, so a new primitive gets tested automatically.
 * @module
 */
import type { OpDef } from "./_define.ts";
import * as ew from "./elementwise.ts";
import { ELEMENTWISE_MORE_OPS } from "./elementwise_more.ts";
import * as mv from "./movement.ts";
import * as red from "./reduce.ts";
import { dotGeneralOp } from "./dot.ts";
import { randomOp } from "./random.ts";
import { convOp } from "./conv.ts";
import * as win from "./window.ts";
import * as la from "./linalg.ts";
import * as ld from "./linalg_decomp.ts";
import * as ix from "./gather.ts";
import * as so from "./sort.ts";
import { COMPLEX_OPS } from "./complex.ts";
import "./complex_rules.ts";
import { fftOp } from "./fft.ts";

/** All first-order primitives by name (higher-order ones live with their transforms). */
export const OPS = {
  ...ELEMENTWISE_MORE_OPS,
  ...ew.ELEMENTWISE_OPS,
  broadcastInDim: mv.broadcastInDimOp,
  reshape: mv.reshapeOp,
  transpose: mv.transposeOp,
  slice: mv.sliceOp,
  pad: mv.padOp,
  concatenate: mv.concatenateOp,
  rev: mv.revOp,
  reduceSum: red.reduceSumOp,
  reduceMax: red.reduceMaxOp,
  reduceMin: red.reduceMinOp,
  argmax: red.argMaxOp,
  argmin: red.argMinOp,
  dotGeneral: dotGeneralOp,
  conv: convOp,
  reduceWindowMax: win.reduceWindowMaxOp,
  reduceWindowMin: win.reduceWindowMinOp,
  selectAndGatherAdd: win.selectAndGatherAddOp,
  selectAndScatterAdd: win.selectAndScatterAddOp,
  random: randomOp,
  triangularSolve: la.triangularSolveOp,
  cholesky: la.choleskyOp,
  solve: la.solveOp,
  det: la.detOp,
  slogdet: la.slogdetOp,
  qr: ld.qrOp,
  eigh: ld.eighOp,
  svd: ld.svdOp,
  gather: ix.gatherOp,
  scatter: ix.scatterSetOp,
  scatterAdd: ix.scatterAddOp,
  scatterMul: ix.scatterMulOp,
  scatterMin: ix.scatterMinOp,
  scatterMax: ix.scatterMaxOp,
  sort: so.sortOp,
  cumsum: so.cumsumOp,
  cumprod: so.cumprodOp,
  cummax: so.cummaxOp,
  cummin: so.cumminOp,
  ...COMPLEX_OPS,
  fft: fftOp,
} as const satisfies Record<string, OpDef>;

/** A primitive's name. */
export type OpName = keyof typeof OPS;
