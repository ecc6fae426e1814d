/**
 * Programs with complex values run as real programs: each equation touching a complex value is
 * replaced by its op's `complexRule` over storage views (`storageAval`), traced once per jaxpr.
 * @module
 */
import { ArrayValue, bind, fromStorage, storageView } from "../core.ts";
import { isComplex, storageAval } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import { evalJaxpr, type Jaxpr, type Var } from "../ir.ts";
import { traceToJaxpr } from "./stage.ts";

const hasCache = new WeakMap<Jaxpr, boolean>();
const realCache = new WeakMap<Jaxpr, { real: Jaxpr; constViews: Tensor[] }>();

/** True when a value of the program (input, constant, result or intermediate) is complex. */
export function hasComplex(j: Jaxpr): boolean {
  let r = hasCache.get(j);
  if (r === undefined) {
    const c = (v: Var) => isComplex(v.aval.dtype);
    r = j.inVars.some(c) || j.constVars.some(c) ||
      j.eqns.some((e) => e.outs.some(c) || e.inputs.some(c));
    hasCache.set(j, r);
  }
  return r;
}

/**
 * Evaluates `j` on storage views `xs` (constants: `consts`), binding real ops only: equations on
 * complex values apply their op's `complexRule`; called programs (`callJaxpr`) are inlined.
 */
export function lowerComplex(j: Jaxpr, xs: Tensor[], consts: Tensor[]): Tensor[] {
  const env = new Map<Var, Tensor>();
  j.constVars.forEach((v, i) => env.set(v, consts[i]));
  j.inVars.forEach((v, i) => env.set(v, xs[i]));
  const read = (v: Var) => env.get(v)!;
  for (const e of j.eqns) {
    const ins = e.inputs.map(read);
    const avals = e.inputs.map((v) => v.aval);
    const outAvals = e.outs.map((v) => v.aval);
    let outs: Tensor[];
    if (![...avals, ...outAvals].some((a) => isComplex(a.dtype))) {
      outs = bind(e.op, ins, e.params);
    } else if (e.op.callJaxpr) {
      const inner = e.op.callJaxpr(e.params);
      outs = lowerComplex(inner, ins, inner.consts.map(viewOfConst));
    } else if (e.op.complexRule) {
      outs = e.op.complexRule(ins, e.params, avals, outAvals);
    } else {
      throw new TypeError(`${e.op.name}: complex operands are not supported`);
    }
    e.outs.forEach((v, i) => env.set(v, outs[i]));
  }
  return j.outs.map(read);
}

function viewOfConst(c: Tensor): Tensor {
  if (!isComplex(c.aval.dtype)) return c;
  if (!(c instanceof ArrayValue)) {
    throw new TypeError("complex: a traced complex constant cannot be lowered to real storage");
  }
  return storageView(c);
}

/**
 * Runs a program holding complex values with `run` on its real form (traced once per jaxpr);
 * arguments and results are passed as storage views. Programs with traced complex constants run
 * equation by equation.
 */
export function runComplex(
  j: Jaxpr,
  args: ArrayValue[],
  run: (real: Jaxpr, args: ArrayValue[]) => Tensor[],
): Tensor[] {
  if (!j.consts.every((c) => c instanceof ArrayValue || !isComplex(c.aval.dtype))) {
    return evalJaxpr(j, args);
  }
  let r = realCache.get(j);
  if (!r) {
    const constViews = j.consts.map(viewOfConst);
    const real = traceToJaxpr(
      (xs) => lowerComplex(j, xs, constViews),
      j.inAvals.map(storageAval),
    );
    realCache.set(j, r = { real, constViews });
  }
  const views = args.map(storageView);
  const outs = run(r.real, views) as ArrayValue[];
  return outs.map((o, i) =>
    fromStorage(o, j.outAvals[i], [...views, ...r.constViews], [...args, ...j.consts])
  );
}
