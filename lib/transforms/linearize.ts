/**
 * Reverse mode = linearize + transpose (autodidax). `linearizeFlat` runs the jvp with primals at
 * their own level and tangents as staging tracers one level up, so the primal computation runs
 * (or is staged by outer traces) while the tangent computation is recorded as a linear jaxpr.
 * `backwardPass` transposes a jaxpr that is linear in some of its inputs.
 * @module
 */
import { bind, withMain } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { type LinearArg, UndefPrimal } from "../ops/_define.ts";
import { zerosOf } from "../ops/_util.ts";
import { add, convert } from "../ops/elementwise.ts";
import type { Jaxpr, Var } from "../ir.ts";
import { StageTrace, StageTracer } from "./stage.ts";
import { jvpFlat } from "./jvp.ts";

/** Linearizes flat `f` at `primals`: the primal outputs and the linear jaxpr tangents → tangents. */
export function linearizeFlat(f: (xs: Tensor[]) => Tensor[], primals: Tensor[]): [Tensor[], Jaxpr] {
  return withMain("linearize", (m) => new StageTrace(m), (trace) => {
    const st = trace as StageTrace;
    const tanIns = primals.map((p) => new StageTracer(st, { ...p.aval, weak: false }));
    const [po, to] = jvpFlat(f, primals, tanIns);
    for (const p of po) {
      if (p._main === st.main) {
        throw new TypeError("linearize: a primal output depends on a tangent (bad jvp rule)");
      }
    }
    return [po, st.build(tanIns, to)];
  });
}

/**
 * Transposes `jaxpr` with respect to the inputs given as UndefPrimal; the others are values.
 * Returns one cotangent per input (null for non-linear inputs and for zero cotangents).
 */
export function backwardPass(
  jaxpr: Jaxpr,
  args: LinearArg[],
  cts: (Tensor | null)[],
): (Tensor | null)[] {
  const linear = new Set<Var>();
  const env = new Map<Var, Tensor>();
  jaxpr.constVars.forEach((v, i) => env.set(v, jaxpr.consts[i]));
  jaxpr.inVars.forEach((v, i) => {
    const a = args[i];
    if (a instanceof UndefPrimal) linear.add(v);
    else env.set(v, a);
  });
  const linEqns = [];
  for (const e of jaxpr.eqns) {
    if (e.inputs.some((v) => linear.has(v))) {
      e.outs.forEach((v) => linear.add(v));
      linEqns.push(e);
    } else {
      const outs = bind(e.op, e.inputs.map((v) => env.get(v)!), e.params);
      e.outs.forEach((v, i) => env.set(v, outs[i]));
    }
  }
  const ctEnv = new Map<Var, Tensor>();
  const addCt = (v: Var, ct: Tensor | null) => {
    if (!ct || !linear.has(v)) return;
    if (ct.aval.dtype !== v.aval.dtype) ct = convert(ct, v.aval.dtype);
    const prev = ctEnv.get(v);
    ctEnv.set(v, prev ? add(prev, ct) : ct);
  };
  jaxpr.outs.forEach((v, i) => addCt(v, cts[i]));
  for (let k = linEqns.length - 1; k >= 0; k--) {
    const e = linEqns[k];
    const cto = e.outs.map((v) => ctEnv.get(v) ?? null);
    if (cto.every((c) => c === null)) continue;
    if (!e.op.transpose) {
      throw new TypeError(`${e.op.name}: the op is not linear, so it cannot be transposed`);
    }
    const ctFull = cto.map((c, i) => c ?? zerosOf(e.outs[i].aval));
    const eargs = e.inputs.map((v) => (linear.has(v) ? new UndefPrimal(v.aval) : env.get(v)!));
    const cti = e.op.transpose(ctFull, eargs, e.params);
    e.inputs.forEach((v, i) => addCt(v, cti[i]));
  }
  return jaxpr.inVars.map((v) => (linear.has(v) ? ctEnv.get(v) ?? null : null));
}

/**
 * vjp of flat `f`: primal outputs, a pullback from output cotangents to input cotangents, and the
 * linear jaxpr it transposes (its constants are the residuals).
 */
export function vjpFlat(
  f: (xs: Tensor[]) => Tensor[],
  primals: Tensor[],
): [Tensor[], (cts: Tensor[]) => Tensor[], Jaxpr] {
  const [po, lin] = linearizeFlat(f, primals);
  const pullback = (cts: Tensor[]): Tensor[] => {
    const res = backwardPass(lin, lin.inVars.map((v) => new UndefPrimal(v.aval)), cts);
    return res.map((r, i) => r ?? zerosOf(primals[i]));
  };
  return [po, pullback, lin];
}
