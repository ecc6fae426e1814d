/**
 * Shared pieces of the control-flow primitives (scan, while, cond): closing traced functions into
 * const-free jaxprs, aval checks, dead-code elimination, complex lowering of sub-jaxprs, and
 * running a body on concrete arrays.
 * @module
 */
import type { Tensor } from "../tensor.ts";
import { type Eqn, Jaxpr, Var } from "../ir.ts";
import type { Aval } from "./_define.ts";
import { traceToJaxpr } from "../transforms/stage.ts";
import { runProgram } from "../transforms/jit.ts";
import { ArrayValue } from "../core.ts";
import { storageAval } from "../dtype.ts";
import { lowerComplex } from "../transforms/complex_lower.ts";

/** A function of flat Tensor lists. */
export type FlatFn = (xs: Tensor[]) => Tensor[];

/** Same shape and dtype (weak types ignored). */
export function sameAval(a: Aval, b: Aval): boolean {
  return a.dtype === b.dtype && a.shape.length === b.shape.length &&
    a.shape.every((d, i) => d === b.shape[i]);
}

/** `dtype[shape]` for messages. */
export function fmtAval(a: Aval): string {
  return `${a.dtype}[${a.shape.join(",")}]`;
}

/** Traces `f` and moves its constants into leading inputs: `{ jaxpr, consts }`. */
export function closeFn(f: FlatFn, avals: Aval[]): { jaxpr: Jaxpr; consts: Tensor[] } {
  const j = traceToJaxpr(f, avals);
  return {
    jaxpr: new Jaxpr([], [], [...j.constVars, ...j.inVars], j.eqns, j.outs),
    consts: j.consts,
  };
}

/**
 * Traces several functions of the same inputs (cond branches) into jaxprs that all take
 * `[...consts of every branch, ...inputs]`, each ignoring the other branches' constants.
 */
export function closeBranches(
  op: string,
  fns: FlatFn[],
  avals: Aval[],
): { jaxprs: Jaxpr[]; consts: Tensor[] } {
  const js = fns.map((f) => traceToJaxpr(f, avals));
  const consts = js.flatMap((j) => j.consts);
  let off = 0;
  const jaxprs = js.map((j, k) => {
    const outs0 = js[0].outAvals, outs = j.outAvals;
    if (outs.length !== outs0.length || outs.some((a, i) => !sameAval(a, outs0[i]))) {
      throw new TypeError(
        `${op}: every branch must return the same structure, shapes and dtypes; branch 0 returns ` +
          `(${outs0.map(fmtAval).join(", ")}) but branch ${k} returns (${
            outs.map(fmtAval).join(", ")
          })`,
      );
    }
    const fresh = (cs: Tensor[]) => cs.map((c) => new Var(c.aval));
    const ins = [
      ...fresh(consts.slice(0, off)),
      ...j.constVars,
      ...fresh(consts.slice(off + j.consts.length)),
      ...j.inVars,
    ];
    off += j.consts.length;
    return new Jaxpr([], [], ins, j.eqns, j.outs);
  });
  return { jaxprs, consts };
}

/** Drops equations whose outputs are not needed by `outs` (keeps the inputs as they are). */
export function dce(j: Jaxpr, outs: Var[] = j.outs): Jaxpr {
  const live = new Set<Var>(outs);
  const eqns: Eqn[] = [];
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    const e = j.eqns[i];
    if (e.outs.some((v) => live.has(v))) {
      eqns.push(e);
      e.inputs.forEach((v) => live.add(v));
    }
  }
  return new Jaxpr(j.constVars, j.consts, j.inVars, eqns.reverse(), outs);
}

/** Runs a const-free jaxpr on concrete arrays as a program of their backend (compiled on CPU). */
export function runBody(j: Jaxpr, args: Tensor[]): Tensor[] {
  return runProgram(j, args as ArrayValue[]);
}

const derived = new WeakMap<object, Map<string, unknown>>();
/** Caches a jaxpr derived from `j` (a jaxpr or a list of them) under `key`. */
export function memo<T>(j: object, key: string, make: () => T): T {
  let m = derived.get(j);
  if (!m) derived.set(j, m = new Map());
  if (!m.has(key)) m.set(key, make());
  return m.get(key) as T;
}

/** True for a concrete array in host memory (its values can be read synchronously). */
export function isHost(t: Tensor): boolean {
  return t instanceof ArrayValue && ArrayBuffer.isView(t.buffer);
}

const lowered = (j: Jaxpr): FlatFn => (xs) => lowerComplex(j, xs, []);

/**
 * The real form of a const-free sub-jaxpr holding complex values (for a control-flow primitive's
 * `complexRule`): `[...consts, ...storage views of its inputs] -> storage views of its outputs`
 * (see `storageAval`), each equation replaced by its op's `complexRule`. Cached per jaxpr.
 */
export function realForm(j: Jaxpr): { jaxpr: Jaxpr; consts: Tensor[] } {
  return memo(j, "complex", () => closeFn(lowered(j), j.inAvals.map(storageAval)));
}

/** `realForm` of cond branches, sharing one list of constants (as `closeBranches`). */
export function realBranches(op: string, js: Jaxpr[]): { jaxprs: Jaxpr[]; consts: Tensor[] } {
  return memo(
    js,
    "complex",
    () => closeBranches(op, js.map(lowered), js[0].inAvals.map(storageAval)),
  );
}
