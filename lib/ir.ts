/**
 * The IR: a jaxpr is a list of equations in A-normal form over typed variables, with constants
 * hoisted into `consts`. `evalJaxpr` interprets it by binding each equation, so evaluating a
 * jaxpr under any transform applies that transform. `typecheck` re-runs shape inference.
 * @module
 */
import { bind } from "./core.ts";
import type { Tensor } from "./tensor.ts";
import type { Aval, OpDef } from "./ops/_define.ts";
import { shapeEqual } from "./shape.ts";

let nextId = 0;

/** A typed variable of the IR. */
export class Var {
  /** Abstract value. */
  readonly aval: Aval;
  /** Unique id (for printing and maps). */
  readonly id: number;
  /** Creates a fresh variable. */
  constructor(aval: Aval) {
    this.aval = aval;
    this.id = nextId++;
  }
}

/** One equation: `outs = op[params](inputs)`. */
export interface Eqn {
  /** The primitive. */
  op: OpDef;
  /** Input variables. */
  inputs: Var[];
  /** Primitive parameters. */
  params: unknown;
  /** Output variables. */
  outs: Var[];
}

const SHORT: Record<string, string> = {
  float32: "f32",
  float64: "f64",
  int32: "i32",
  bool: "bool",
  complex64: "c64",
  complex128: "c128",
};

/** A staged program: constants, inputs, equations and outputs. */
export class Jaxpr {
  /** Variables bound to `consts`. */
  readonly constVars: Var[];
  /** Values of the constants. */
  readonly consts: Tensor[];
  /** Input variables. */
  readonly inVars: Var[];
  /** Equations in order. */
  readonly eqns: Eqn[];
  /** Output variables (may repeat, may be inputs or consts). */
  readonly outs: Var[];
  /** Assembles a jaxpr. */
  constructor(constVars: Var[], consts: Tensor[], inVars: Var[], eqns: Eqn[], outs: Var[]) {
    this.constVars = constVars;
    this.consts = consts;
    this.inVars = inVars;
    this.eqns = eqns;
    this.outs = outs;
  }
  /** Input avals. */
  get inAvals(): Aval[] {
    return this.inVars.map((v) => v.aval);
  }
  /** Output avals. */
  get outAvals(): Aval[] {
    return this.outs.map((v) => v.aval);
  }
  /** Readable text, one equation per line. */
  toString(): string {
    const names = new Map<Var, string>();
    const name = (v: Var): string => {
      let n = names.get(v);
      if (!n) {
        let i = names.size;
        n = "";
        do {
          n = String.fromCharCode(97 + (i % 26)) + n;
          i = Math.floor(i / 26) - 1;
        } while (i >= 0);
        names.set(v, n);
      }
      return n;
    };
    const typed = (v: Var) => `${name(v)}:${SHORT[v.aval.dtype]}[${v.aval.shape.join(",")}]`;
    const fmtParams = (p: unknown) => {
      if (!p || typeof p !== "object") return "";
      const parts = Object.entries(p as Record<string, unknown>).map(([k, v]) =>
        `${k}=${
          v instanceof Jaxpr
            ? "{jaxpr}"
            : JSON.stringify(v, (_k, x) => (x instanceof Jaxpr ? "{jaxpr}" : x))
        }`
      );
      return parts.length ? `[${parts.join(" ")}]` : "";
    };
    const lines = [
      `{ lambda ${this.constVars.map(typed).join(" ")} ; ${this.inVars.map(typed).join(" ")} . let`,
    ];
    for (const e of this.eqns) {
      lines.push(
        `    ${e.outs.map(typed).join(" ")} = ${e.op.name}${fmtParams(e.params)} ${
          e.inputs.map(name).join(" ")
        }`,
      );
    }
    lines.push(`  in ( ${this.outs.map(name).join(" ")} ) }`);
    return lines.join("\n");
  }
}

/** Moves a jaxpr's constants into leading inputs (so cached programs take them as arguments). */
export function hoistConsts(j: Jaxpr): Jaxpr {
  return new Jaxpr([], [], [...j.constVars, ...j.inVars], j.eqns, j.outs);
}

/** Evaluates a jaxpr on arguments by binding its equations (so it runs under any transform). */
export function evalJaxpr(jaxpr: Jaxpr, args: Tensor[]): Tensor[] {
  const env = new Map<Var, Tensor>();
  jaxpr.constVars.forEach((v, i) => env.set(v, jaxpr.consts[i]));
  jaxpr.inVars.forEach((v, i) => env.set(v, args[i]));
  const read = (v: Var) => {
    const x = env.get(v);
    if (!x) throw new TypeError(`evalJaxpr: unbound variable ${v.id}`);
    return x;
  };
  for (const e of jaxpr.eqns) {
    const outs = bind(e.op, e.inputs.map(read), e.params);
    e.outs.forEach((v, i) => env.set(v, outs[i]));
  }
  return jaxpr.outs.map(read);
}

/** Re-runs shape inference over every equation; throws a TypeError on any inconsistency. */
export function typecheck(jaxpr: Jaxpr): void {
  const known = new Set<Var>([...jaxpr.constVars, ...jaxpr.inVars]);
  for (const e of jaxpr.eqns) {
    for (const v of e.inputs) {
      if (!known.has(v)) throw new TypeError(`typecheck: ${e.op.name} reads an undefined variable`);
    }
    const outs = e.op.abstractEval(e.inputs.map((v) => v.aval), e.params);
    e.outs.forEach((v, i) => {
      if (!shapeEqual(v.aval.shape, outs[i].shape) || v.aval.dtype !== outs[i].dtype) {
        throw new TypeError(
          `typecheck: ${e.op.name} output ${i} is declared ${v.aval.dtype}[${v.aval.shape}] but infers ${
            outs[i].dtype
          }[${outs[i].shape}]`,
        );
      }
      known.add(v);
    });
  }
  for (const v of jaxpr.outs) {
    if (!known.has(v)) throw new TypeError("typecheck: an output is undefined");
  }
}
