/**
 * Staging: a trace whose tracers record equations instead of computing. Values from lower
 * levels that meet these tracers become constants. Used by makeJaxpr, jit and linearize.
 * @module
 */
import { escapeScopes, type MainTrace, Trace, withMain } from "../core.ts";
import { Tensor } from "../tensor.ts";
import type { ArrayValue } from "../core.ts";
import type { Aval, OpDef } from "../ops/_define.ts";
import { type Eqn, Jaxpr, Var } from "../ir.ts";

/** A tracer that stands for a variable of the jaxpr being built. */
export class StageTracer extends Tensor {
  readonly #trace: StageTrace;
  readonly #aval: Aval;
  /** The IR variable. */
  readonly v: Var;
  constructor(trace: StageTrace, aval: Aval) {
    super();
    this.#trace = trace;
    this.#aval = aval;
    this.v = new Var(aval);
  }
  get aval(): Aval {
    return this.#aval;
  }
  get _main(): MainTrace {
    return this.#trace.main;
  }
  _concrete(): ArrayValue {
    throw new TypeError(
      `jit: this Tensor (shape [${
        this.#aval.shape.join(",")
      }], ${this.#aval.dtype}) is traced, so its value is unknown ` +
        "here; reading it, or using it as a JS number or boolean, is not possible inside jit. Mark the argument " +
        "static with jit(f, { staticArgnums }) or move the value-dependent code outside jit",
    );
  }
}

/** Records equations. */
export class StageTrace extends Trace {
  /** Equations recorded so far. */
  readonly eqns: Eqn[] = [];
  /** Lifted lower-level values and their tracers. */
  readonly consts: Map<Tensor, StageTracer> = new Map();
  lift(x: Tensor): Tensor {
    let t = this.consts.get(x);
    if (!t) {
      t = new StageTracer(this, x.aval);
      this.consts.set(x, t);
    }
    return t;
  }
  process(op: OpDef, tracers: Tensor[], params: unknown, outAvals: Aval[]): Tensor[] {
    const outs = outAvals.map((a) => new StageTracer(this, a));
    this.eqns.push({
      op,
      inputs: tracers.map((t) => (t as StageTracer).v),
      params,
      outs: outs.map((o) => o.v),
    });
    return outs;
  }
  /** Builds the jaxpr from input tracers to outputs, dropping dead equations. */
  build(ins: StageTracer[], outs: Tensor[]): Jaxpr {
    const outTracers = outs.map((
      o,
    ) => (o instanceof StageTracer && o._main === this.main ? o : (this.lift(o) as StageTracer)));
    const live = new Set<Var>(outTracers.map((t) => t.v));
    const eqns: Eqn[] = [];
    for (let i = this.eqns.length - 1; i >= 0; i--) {
      const e = this.eqns[i];
      if (e.outs.some((v) => live.has(v))) {
        eqns.push(e);
        e.inputs.forEach((v) => live.add(v));
      }
    }
    eqns.reverse();
    const constVars: Var[] = [];
    const constVals: Tensor[] = [];
    for (const [val, t] of this.consts) {
      if (live.has(t.v)) {
        constVars.push(t.v);
        constVals.push(val);
      }
    }
    return new Jaxpr(constVars, constVals, ins.map((t) => t.v), eqns, outTracers.map((t) => t.v));
  }
}

/**
 * Traces `f` on fresh tracers of the given avals into a jaxpr. `f` maps flat lists. Its constants
 * escape open scopes (callers cache such programs), so a scope never frees them.
 */
export function traceToJaxpr(f: (xs: Tensor[]) => Tensor[], avals: Aval[]): Jaxpr {
  const j = withMain("jit", (m) => new StageTrace(m), (trace) => {
    const st = trace as StageTrace;
    const ins = avals.map((a) => new StageTracer(st, a));
    const outs = f(ins);
    return st.build(ins, outs);
  }, true);
  escapeScopes(j.consts);
  return j;
}
