/**
 * Every primitive, in one table. `satisfies` makes the compiler check each entry's rules, and the
 * conformance suite iterates this table, so a new primitive gets tested automatically.
 * @module
 */
import type { OpDef } from "./_define.ts";
import * as ew from "./elementwise.ts";
import * as mv from "./movement.ts";
import * as red from "./reduce.ts";
import { dotGeneralOp } from "./dot.ts";
import { randomOp } from "./random.ts";
import { convOp } from "./conv.ts";
import * as win from "./window.ts";
import * as ix from "./gather.ts";
import * as so from "./sort.ts";

/** All first-order primitives by name (higher-order ones live with their transforms). */
export const OPS = {
  neg: ew.negOp,
  add: ew.addOp,
  sub: ew.subOp,
  mul: ew.mulOp,
  div: ew.divOp,
  pow: ew.powOp,
  max: ew.maxOp,
  min: ew.minOp,
  abs: ew.absOp,
  sign: ew.signOp,
  floor: ew.floorOp,
  ceil: ew.ceilOp,
  round: ew.roundOp,
  exp: ew.expOp,
  log: ew.logOp,
  log1p: ew.log1pOp,
  expm1: ew.expm1Op,
  sqrt: ew.sqrtOp,
  rsqrt: ew.rsqrtOp,
  sin: ew.sinOp,
  cos: ew.cosOp,
  tan: ew.tanOp,
  tanh: ew.tanhOp,
  logistic: ew.logisticOp,
  isnan: ew.isnanOp,
  isfinite: ew.isfiniteOp,
  not: ew.notOp,
  eq: ew.eqOp,
  ne: ew.neOp,
  lt: ew.ltOp,
  le: ew.leOp,
  gt: ew.gtOp,
  ge: ew.geOp,
  and: ew.andOp,
  or: ew.orOp,
  xor: ew.xorOp,
  select: ew.selectOp,
  convert: ew.convertOp,
  stopGradient: ew.stopGradientOp,
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
} as const satisfies Record<string, OpDef>;

/** A primitive's name. */
export type OpName = keyof typeof OPS;
