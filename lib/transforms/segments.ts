/**
 * Programs holding loops or branches (scan, while, cond: higher-order primitives without
 * `callJaxpr`) cannot be compiled whole: they run as compiled segments of ordinary equations
 * between the loop equations, each loop running its own compiled body.
 * @module
 */
import { ArrayValue, bind } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import { type Eqn, Jaxpr, type Var } from "../ir.ts";
import { isComplex, type TypedArray } from "../dtype.ts";
import type { Backend } from "../backend/backend.ts";

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
 * Host buffers of a program's intermediate values (loop outputs, segment results), kept from one
 * call to the next: writing a stacked loop output into memory touched before costs far less than
 * into a fresh allocation (page faults dominated W9's per-step time beyond its arithmetic).
 */
interface Kept {
  bufs: Map<Var, TypedArray>;
  runners: Map<Jaxpr, Runner>;
  busy: boolean;
}
type Runner = (inputs: unknown[], dests?: (unknown | undefined)[]) => unknown[];
const keptMemo = new WeakMap<Jaxpr, Kept>();

/**
 * @internal `keepBytes`: the most bytes of intermediates one program keeps between calls (0: none);
 * only buffers above `minBytes` are kept (smaller ones come from shared slabs cheaply).
 */
export const segmentTuning: { keepBytes: number; minBytes: number } = {
  keepBytes: 256 << 20,
  minBytes: 16384,
};

/**
 * Runs a program holding loops: each segment of ordinary equations through `run` (compiled by
 * the backend), each loop or branch equation through its primitive's evaluation. On a host
 * backend with `programRunner`, intermediates are written into buffers kept from the last call.
 */
export function runSegmented(
  j: Jaxpr,
  args: ArrayValue[],
  run: (prog: Jaxpr, args: ArrayValue[]) => Tensor[],
  backend?: Backend,
): Tensor[] {
  const env = new Map<Var, Tensor>();
  j.constVars.forEach((v, i) => env.set(v, j.consts[i]));
  j.inVars.forEach((v, i) => env.set(v, args[i]));
  const read = (v: Var) => env.get(v)!;
  const host = backend?.programRunner && segmentTuning.keepBytes > 0 ? backend : undefined;
  let kept = host && keptMemo.get(j);
  if (host && !kept) keptMemo.set(j, kept = { bufs: new Map(), runners: new Map(), busy: false });
  const k = kept && !kept.busy ? kept : undefined; // a re-entrant call keeps nothing
  if (k) k.busy = true;
  try {
    const outSet = new Set(j.outs);
    const dests = (vs: Var[]) => vs.map((v) => outSet.has(v) ? undefined : k!.bufs.get(v));
    for (const s of segments(j)) {
      if ("eqn" in s) {
        const e = s.eqn, ins = e.inputs.map(read);
        const direct = k && e.op.evalImpl && onHost(ins, host!) &&
          !e.outs.some((v) => isComplex(v.aval.dtype));
        const outs = direct
          ? e.op.evalImpl!(ins, e.params, dests(e.outs))
          : bind(e.op, ins, e.params);
        e.outs.forEach((v, i) => env.set(v, outs[i]));
      } else if (k && onHost(s.ins.map(read), host!)) {
        let r = k.runners.get(s.prog);
        if (!r) k.runners.set(s.prog, r = host!.programRunner!(s.prog));
        const ins = s.ins.map((v) => (read(v) as ArrayValue).buffer);
        const bufs = r(ins, dests(s.outs));
        s.outs.forEach((v, i) => env.set(v, new ArrayValue(bufs[i], v.aval, host!)));
      } else {
        const outs = run(s.prog, s.ins.map(read) as ArrayValue[]);
        s.outs.forEach((v, i) => env.set(v, outs[i]));
      }
    }
    const outs = j.outs.map(read);
    if (k) {
      keepIntermediates(k, env, new Set([...j.constVars, ...j.inVars, ...j.outs]), outs, host!);
    }
    return outs;
  } finally {
    if (k) k.busy = false;
  }
}

/** True when every value is a host array of `backend`. */
function onHost(xs: Tensor[], backend: Backend): boolean {
  return xs.every((x) =>
    x instanceof ArrayValue && x.backend === backend && ArrayBuffer.isView(x.buffer)
  );
}

/** True when two typed arrays share bytes. */
function overlaps(a: TypedArray, b: TypedArray): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength;
}

/**
 * Records the large host buffers of this call's intermediates for the next call: only ones that
 * share memory with no argument, constant, output or other kept buffer (a value passed through
 * unchanged is the same buffer); an output that shares memory with a kept buffer is copied.
 */
function keepIntermediates(
  k: Kept,
  env: Map<Var, Tensor>,
  outer: Set<Var>,
  outs: Tensor[],
  backend: Backend,
): void {
  const buf = (t: Tensor | undefined) =>
    t instanceof ArrayValue && ArrayBuffer.isView(t.buffer) ? t.buffer as TypedArray : undefined;
  const fixed: TypedArray[] = [];
  for (const [v, t] of env) if (outer.has(v) && buf(t)) fixed.push(buf(t)!);
  const bufs = new Map<Var, TypedArray>();
  let bytes = 0;
  for (const [v, t] of env) {
    const b = buf(t);
    if (outer.has(v) || !b || b.byteLength <= segmentTuning.minBytes) continue;
    if (bytes + b.byteLength > segmentTuning.keepBytes) continue;
    if (fixed.some((f) => overlaps(f, b)) || [...bufs.values()].some((f) => overlaps(f, b))) {
      continue;
    }
    bufs.set(v, b);
    bytes += b.byteLength;
  }
  k.bufs = bufs;
  outs.forEach((t, i) => {
    const b = buf(t);
    if (b && [...bufs.values()].some((f) => overlaps(f, b))) {
      outs[i] = new ArrayValue(b.slice(), t.aval, backend);
    }
  });
}
