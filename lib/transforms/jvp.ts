/**
 * Forward mode: tracers carry (primal, tangent); each op's `jvp` rule maps them. The rule table
 * lives on the ops; this file is only the interpreter.
 * @module
 */
import { type ArrayValue, type MainTrace, Trace, withMain } from "../core.ts";
import { Tensor } from "../tensor.ts";
import type { Aval, OpDef } from "../ops/_define.ts";
import { zerosOf } from "../ops/_util.ts";

/** A (primal, tangent) pair. */
export class JvpTracer extends Tensor {
  readonly #trace: JvpTrace;
  /** The primal value. */
  readonly primal: Tensor;
  /** The tangent value. */
  readonly tangent: Tensor;
  constructor(trace: JvpTrace, primal: Tensor, tangent: Tensor) {
    super();
    this.#trace = trace;
    this.primal = primal;
    this.tangent = tangent;
  }
  get aval(): Aval {
    return this.primal.aval;
  }
  get _main(): MainTrace {
    return this.#trace.main;
  }
  _concrete(): ArrayValue {
    return this.primal._concrete();
  }
}

/** The forward-mode interpreter. */
export class JvpTrace extends Trace {
  lift(x: Tensor): Tensor {
    return new JvpTracer(this, x, zerosOf(x));
  }
  process(op: OpDef, tracers: Tensor[], params: unknown): Tensor[] {
    const ps = tracers.map((t) => (t as JvpTracer).primal);
    const ts = tracers.map((t) => (t as JvpTracer).tangent);
    const [po, to] = op.jvp(ps, ts, params);
    return po.map((p, i) => new JvpTracer(this, p, to[i]));
  }
}

/** Runs flat `f` on (primals, tangents) and returns the output primals and tangents. */
export function jvpFlat(
  f: (xs: Tensor[]) => Tensor[],
  primals: Tensor[],
  tangents: Tensor[],
): [Tensor[], Tensor[]] {
  return withMain("jvp", (m) => new JvpTrace(m), (trace) => {
    const ins = primals.map((p, i) => new JvpTracer(trace as JvpTrace, p, tangents[i]));
    const outs = f(ins);
    const po: Tensor[] = [], to: Tensor[] = [];
    for (const o of outs) {
      if (o instanceof JvpTracer && o._main === trace.main) {
        po.push(o.primal);
        to.push(o.tangent);
      } else {
        po.push(o);
        to.push(zerosOf(o));
      }
    }
    return [po, to];
  });
}
