/**
 * Programs holding loops or branches (scan, while, cond: higher-order primitives without
 * `callJaxpr`) cannot be compiled whole: they run as compiled segments of ordinary equations
 * between the loop equations, each loop running its own compiled body.
 * @module
 */
import { type ArrayValue, bind } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { type Eqn, Jaxpr, type Var } from "../ir.ts";

/** A piece of a program: a compiled segment or one opaque (loop/branch) equation. */
type Segment = { prog: Jaxpr; ins: Var[]; outs: Var[] } | { eqn: Eqn };

const opaqueMemo = new WeakMap<Jaxpr, boolean>();
/** True when `j` holds an equation a backend cannot compile (directly or in a called program). */
export function hasOpaque(j: Jaxpr): boolean {
  let r = opaqueMemo.get(j);
  if (r === undefined) opaqueMemo.set(j, r = j.eqns.some(isOpaque));
  return r;
}
function isOpaque(e: Eqn): boolean {
  if (e.op.kind !== "higher") return false;
  const inner = e.op.callJaxpr?.(e.params);
  return !inner || hasOpaque(inner);
}

const segMemo = new WeakMap<Jaxpr, Segment[]>();
function segments(j: Jaxpr): Segment[] {
  let segs = segMemo.get(j);
  if (segs) return segs;
  // per equation index: the variables read at or after it (and the program outputs)
  const later: Set<Var>[] = new Array(j.eqns.length + 1);
  later[j.eqns.length] = new Set(j.outs);
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    later[i] = new Set(later[i + 1]);
    j.eqns[i].inputs.forEach((v) => later[i].add(v));
  }
  segs = [];
  let run: Eqn[] = [];
  const close = (end: number) => {
    if (!run.length) return;
    const defined = new Set(run.flatMap((e) => e.outs));
    const ins = [...new Set(run.flatMap((e) => e.inputs))].filter((v) => !defined.has(v));
    const outs = [...defined].filter((v) => later[end].has(v));
    segs!.push({ prog: new Jaxpr([], [], ins, run, outs), ins, outs });
    run = [];
  };
  j.eqns.forEach((e, i) => {
    if (isOpaque(e)) {
      close(i);
      segs!.push({ eqn: e });
    } else run.push(e);
  });
  close(j.eqns.length);
  segMemo.set(j, segs);
  return segs;
}

/**
 * Runs a program holding loops: each segment of ordinary equations through `run` (compiled by
 * the backend), each loop or branch equation through its primitive's evaluation.
 */
export function runSegmented(
  j: Jaxpr,
  args: ArrayValue[],
  run: (prog: Jaxpr, args: ArrayValue[]) => Tensor[],
): Tensor[] {
  const env = new Map<Var, Tensor>();
  j.constVars.forEach((v, i) => env.set(v, j.consts[i]));
  j.inVars.forEach((v, i) => env.set(v, args[i]));
  const read = (v: Var) => env.get(v)!;
  for (const s of segments(j)) {
    if ("eqn" in s) {
      const outs = bind(s.eqn.op, s.eqn.inputs.map(read), s.eqn.params);
      s.eqn.outs.forEach((v, i) => env.set(v, outs[i]));
    } else {
      const outs = run(s.prog, s.ins.map(read) as ArrayValue[]);
      s.outs.forEach((v, i) => env.set(v, outs[i]));
    }
  }
  return j.outs.map(read);
}
