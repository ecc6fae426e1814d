/**
 * Lowers a jaxpr to a plan of kernels and op steps, branching on OpDef kinds and fields only:
 * elementwise and movement equations fuse into their consumer, reductions (and contractions with
 * a reduction form) read fused producers, other ops take buffers; program calls (`callJaxpr`:
 * jit, customJvp/Vjp) are inlined first. Values are materialized for outputs, reuse and op steps.
 * @module
 */
import type { Aval, OpDef, ReductionForm, StructuralOpDef } from "../ops/_define.ts";
import { type Eqn, Jaxpr, Var } from "../ir.ts";
import { bufferNode, elementwiseNode, type Node, viewNode } from "./fuse.ts";
import {
  type Expr,
  flatIndex,
  type Idx,
  ivar,
  type Kernel,
  mapSubExprs,
  subExprs,
} from "./kernel.ts";
import type { ConvParams } from "../ops/conv_params.ts";
import { sizeOf } from "../shape.ts";
import { ReadSets } from "./budget.ts";

export { SMALL_CONV_MACS } from "./conv_kernel.ts";

/** Backend choices that change how a program is lowered (the CPU backend passes its own). */
export interface LowerOptions {
  /**
   * Whether the backend runs this convolution with a dedicated kernel (it then stays an op step
   * rather than a generated reduction kernel, and fuses with nothing); asked for every conv.
   */
  directConv?: (lhs: Aval, rhs: Aval, out: Aval, p: ConvParams) => boolean;
  /**
   * Most buffers one generated kernel may read (default: no limit). Fused values are
   * materialized, and long concatenates split, so that no kernel reads more.
   */
  maxKernelInputs?: number;
  /**
   * Whether the backend runs this application of a fusible op as an op step with a kernel of
   * its own (e.g. block copies of long contiguous runs) instead of fusing it.
   */
  opStep?: (op: OpDef, params: unknown, ins: Aval[], outs: Aval[]) => boolean;
}

/** Whether the backend keeps this equation an op step (see `LowerOptions.opStep`). */
const keptStep = (e: Eqn, opts: LowerOptions): boolean =>
  opts.opStep?.(e.op, e.params, e.inputs.map((v) => v.aval), e.outs.map((v) => v.aval)) ?? false;

/** The reduction form of a contraction equation when it runs as a generated kernel. */
function reductionOf(e: Eqn, opts: LowerOptions): ReductionForm<unknown> | null {
  if (e.op.kind !== "contraction" || !e.op.reduction) return null;
  const ins = e.inputs.map((v) => v.aval), out = e.outs[0].aval;
  const direct = opts.directConv?.(ins[0], ins[1], out, e.params as ConvParams) ?? false;
  return e.op.reduction.use(ins, out, e.params, direct) ? e.op.reduction : null;
}

/** One step of a plan. */
export type Step =
  | { kind: "kernel"; kernel: Kernel; inputs: number[]; out: number; label: string }
  | {
    kind: "op";
    op: OpDef;
    params: unknown;
    inputs: number[];
    outs: number[];
    outAvals: Aval[];
    /** An elementwise kernel applied to the op's result in the same step (bias, activation). */
    epilogue?: KernelStep;
  };

/** A kernel step. */
export type KernelStep = Extract<Step, { kind: "kernel" }>;

/** True when every load of input slot `slot` in `e` reads the element at the output index. */
function loadsAtOutput(e: Expr, slot: number, identity: string[]): boolean {
  if (e.k === "load" && e.input === slot) return identity.includes(JSON.stringify(e.index));
  return subExprs(e).every((a) => loadsAtOutput(a, slot, identity));
}

/** Replaces loads of slot `slot` by the accumulator and renumbers the other slots. */
function toEpilogue(e: Expr, slot: number, renum: (s: number) => number): Expr {
  if (e.k === "load" && e.input === slot) return { k: "acc", dtype: e.dtype };
  const r = mapSubExprs(e, (a) => toEpilogue(a, slot, renum));
  return r.k === "load" ? { ...r, input: renum(r.input) } : r;
}

/** Merges a reduction kernel with the elementwise kernel that is the sole consumer of its result. */
function fuseReduceEpilogue(r: KernelStep, e: KernelStep): KernelStep | null {
  const b = r.out;
  const slot = e.inputs.indexOf(b);
  const shape = r.kernel.outShape;
  if (
    r.kernel.epilogue || e.kernel.reduce || e.inputs.lastIndexOf(b) !== slot ||
    e.kernel.outShape.join() !== shape.join()
  ) return null;
  const identity = [
    JSON.stringify(ivar("o")),
    JSON.stringify(flatIndex(shape.map((_, d) => ivar(`i${d}`)), shape)),
  ];
  if (!loadsAtOutput(e.kernel.body, slot, identity)) return null;
  const inputs = [...r.inputs];
  const inDt = [...r.kernel.inputs];
  const renum = (s: number) => {
    const buf = e.inputs[s];
    let k = inputs.indexOf(buf);
    if (k < 0) {
      k = inputs.push(buf) - 1;
      inDt.push(e.kernel.inputs[s]);
    }
    return k;
  };
  const epilogue = toEpilogue(e.kernel.body, slot, renum);
  return {
    kind: "kernel",
    label: `${r.label}+epilogue`,
    inputs,
    out: e.out,
    kernel: { ...r.kernel, inputs: inDt, outDtype: e.kernel.outDtype, epilogue },
  };
}

/** Merges each contraction with the elementwise kernel that is the sole consumer of its result. */
function fuseEpilogues(steps: Step[], outputs: number[], avals: Aval[]): Step[] {
  const useCount = new Map<number, number>();
  for (const s of steps) {
    for (const b of s.inputs) useCount.set(b, (useCount.get(b) ?? 0) + 1);
    if (s.kind === "op" && s.epilogue) {
      for (const b of s.epilogue.inputs) useCount.set(b, (useCount.get(b) ?? 0) + 1);
    }
  }
  const out = [...steps];
  for (let i = 0; i < out.length; i++) {
    const s = out[i];
    if (
      s.kind === "kernel" && s.kernel.reduce && useCount.get(s.out) === 1 &&
      !outputs.includes(s.out)
    ) {
      const j = out.findIndex((e, k) => k > i && e.kind === "kernel" && e.inputs.includes(s.out));
      const merged = j < 0 ? null : fuseReduceEpilogue(s, out[j] as KernelStep);
      if (merged) {
        out[j] = merged;
        out.splice(i, 1);
        i--;
      }
      continue;
    }
    const host = s.kind === "op" && s.op.kind === "contraction" && s.op.epilogue;
    if (!host || s.epilogue || s.outs.length !== 1) continue;
    const b = s.outs[0];
    if (useCount.get(b) !== 1 || outputs.includes(b)) continue;
    const j = out.findIndex((e, k) => k > i && e.kind === "kernel" && e.inputs.includes(b));
    if (j < 0) continue;
    const e = out[j] as KernelStep;
    if (e.kernel.reduce || e.kernel.outShape.join() !== avals[b].shape.join()) continue;
    out[j] = { ...s, epilogue: e };
    out.splice(i, 1);
    i--;
  }
  return out;
}

/** A lowered program over numbered buffers. */
export interface Plan {
  steps: Step[];
  /** Buffer ids of the program inputs. */
  inputs: number[];
  /** Buffer ids of the outputs. */
  outputs: number[];
  /** Avals of all buffers. */
  avals: Aval[];
  /** Buffers that can be dropped after each step. */
  frees: number[][];
  /**
   * Per buffer, the scratch slot that holds it between its definition and last use (-1 for
   * inputs and outputs): buffers of one dtype and size whose lifetimes do not overlap share one.
   */
  slots: number[];
}

/** Replaces calls of programs (`callJaxpr`: nested jit, customJvp/customVjp) by their bodies. */
function inline(j: Jaxpr): { inVars: Var[]; eqns: Eqn[]; outs: Var[] } {
  const eqns: Eqn[] = [];
  const walk = (jj: Jaxpr, sub: Map<Var, Var>) => {
    const r = (v: Var) => sub.get(v) ?? v;
    for (const e of jj.eqns) {
      const inner = e.op.callJaxpr?.(e.params);
      if (inner) {
        const m = new Map<Var, Var>();
        inner.inVars.forEach((v, i) => m.set(v, r(e.inputs[i])));
        if (inner.constVars.length) {
          throw new TypeError(`lower: nested ${e.op.name} program has unhoisted constants`);
        }
        walk(inner, m);
        inner.outs.forEach((v, i) => sub.set(e.outs[i], m.get(v) ?? v));
      } else eqns.push({ ...e, inputs: e.inputs.map(r) });
    }
    return r;
  };
  const r = walk(j, new Map());
  return { inVars: j.inVars, eqns, outs: j.outs.map(r) };
}

/** Whether an equation fuses into its consumer or reads fused producers (else it takes buffers). */
function fusible(e: Eqn, opts: LowerOptions): boolean {
  const k = e.op.kind;
  if (keptStep(e, opts)) return false;
  return k === "elementwise" || k === "structural" || (k === "reduce" && !!e.op.monoid) ||
    reductionOf(e, opts) !== null;
}

/** Lowering state: buffers, fused nodes and steps built while walking the equations. */
class Lowering {
  readonly avals: Aval[] = [];
  readonly steps: Step[] = [];
  readonly bufOf = new Map<Var, number>();
  readonly nodeOf = new Map<Var, Node>();
  /** Buffers each fused value reads, when kernels have an input limit (`maxKernelInputs`). */
  readonly rs: ReadSets | undefined;

  constructor(maxKernelInputs?: number) {
    this.rs = maxKernelInputs ? new ReadSets(maxKernelInputs) : undefined;
  }

  /** A new buffer holding `v`. */
  define(v: Var): number {
    const b = this.avals.push(v.aval) - 1;
    this.bufOf.set(v, b);
    this.nodeOf.set(v, bufferNode(b, v.aval));
    this.rs?.buffer(v, b);
    return b;
  }

  /** A new buffer computing fused node `n` (a map kernel). */
  materializeNode(n: Node): number {
    const out = this.avals.push(n.aval) - 1;
    this.steps.push(mapKernel(n, out, "fused", this.avals));
    return out;
  }

  /** The buffer of `v`, computing its fused node into one if it has none. */
  materialize(v: Var): number {
    const b = this.bufOf.get(v);
    if (b !== undefined) return b;
    const out = this.materializeNode(this.nodeOf.get(v)!);
    this.bufOf.set(v, out);
    this.nodeOf.set(v, bufferNode(out, v.aval));
    this.rs?.buffer(v, out);
    return out;
  }

  /** A reduction kernel step over fused operands: `body` reads them, `shape` the loop extents. */
  reduce(e: Eqn, ins: Node[], monoid: "sum" | "max" | "min", form?: ReductionForm<unknown>): void {
    const out = e.outs[0];
    const b = this.define(out);
    if (form) {
      const read = (i: number, idx: Idx[]) => ins[i].at(idx);
      const avals = ins.map((n) => n.aval);
      const { body, shape } = form.body(read, avals, out.aval, e.params);
      this.steps.push(
        finish(body, out.aval.shape, b, out.aval, "conv", this.avals, { op: "sum", shape }),
      );
    } else {
      const axes = (e.params as { axes: number[] }).axes;
      this.steps.push(reduceKernel(ins[0], axes, monoid, b, out.aval, this.avals));
    }
  }

  /** An op step on materialized buffers. */
  opStep(e: Eqn): void {
    const inputs = e.inputs.map((v) => this.materialize(v));
    const outs = e.outs.map((v) => this.define(v));
    const outAvals = e.outs.map((v) => v.aval);
    this.steps.push({ kind: "op", op: e.op, params: e.params, inputs, outs, outAvals });
  }
}

/** The aval of a concatenate of the groups `g` along its `axis` (a split long concatenate). */
function concatAval(out: Aval, g: Node[], params: unknown): Aval {
  const axis = (params as { axis: number }).axis;
  return {
    ...out,
    shape: out.shape.map((d, i) => i === axis ? g.reduce((s, n) => s + n.aval.shape[i], 0) : d),
  };
}

/** Lowers a const-free jaxpr to a plan. */
export function lowerJaxpr(jaxpr: Jaxpr, opts: LowerOptions = {}): Plan {
  if (jaxpr.constVars.length) throw new TypeError("lower: the program has unhoisted constants");
  const { inVars, eqns, outs } = inline(jaxpr);
  const uses = new Map<Var, number>();
  const needsBuffer = new Set<Var>(outs);
  for (const e of eqns) {
    const f = fusible(e, opts);
    for (const v of e.inputs) {
      uses.set(v, (uses.get(v) ?? 0) + 1);
      if (!f) needsBuffer.add(v);
    }
  }
  const L = new Lowering(opts.maxKernelInputs);
  const inputs = inVars.map((v) => L.define(v));
  for (const e of eqns) {
    const out = e.outs[0], op = e.op;
    const ins = L.rs && fusible(e, opts)
      ? L.rs.fit(
        e,
        (v) => L.nodeOf.get(v)!,
        (v) => L.materialize(v),
        (n) => L.materializeNode(n),
        (g) => viewNode(op as StructuralOpDef, e.params, g, concatAval(out.aval, g, e.params)),
      )
      : e.inputs.map((v) => L.nodeOf.get(v)!);
    L.rs?.union(out, e.inputs);
    if (!fusible(e, opts)) L.opStep(e);
    else if (op.kind === "reduce" && op.monoid) L.reduce(e, ins, op.monoid);
    else if (op.kind === "contraction" && reductionOf(e, opts)) {
      L.reduce(e, ins, "sum", reductionOf(e, opts)!);
    } else if (op.kind === "elementwise" || op.kind === "structural") {
      const node = op.kind === "elementwise"
        ? elementwiseNode(op, ins, out.aval)
        : viewNode(op, e.params, ins, out.aval);
      L.nodeOf.set(out, node);
      if (needsBuffer.has(out) || ((uses.get(out) ?? 0) > 1 && node.cost >= 4)) L.materialize(out);
    } else L.opStep(e);
  }
  const outputs = outs.map((v) => L.materialize(v));
  const steps = fuseEpilogues(L.steps, outputs, L.avals);
  const keep = new Set([...outputs, ...inputs]);
  const frees = computeFrees(steps, keep);
  return {
    steps,
    inputs,
    outputs,
    avals: L.avals,
    frees,
    slots: planSlots(steps, frees, keep, L.avals),
  };
}

/**
 * Buffer planning: walks the steps in order, giving each buffer a step defines a free slot of
 * its dtype and size (or a new one) and returning the slots of the buffers freed after the step.
 * A step's outputs never share a slot with its own inputs.
 */
function planSlots(steps: Step[], frees: number[][], keep: Set<number>, avals: Aval[]): number[] {
  const slots = avals.map(() => -1);
  const idle = new Map<string, number[]>();
  let next = 0;
  const kind = (b: number) => `${avals[b].dtype}:${sizeOf(avals[b].shape)}`;
  steps.forEach((s, i) => {
    const defs = s.kind === "kernel"
      ? [s.out]
      : [...s.outs, ...(s.epilogue ? [s.epilogue.out] : [])];
    for (const b of defs) {
      if (keep.has(b) || slots[b] >= 0) continue;
      slots[b] = idle.get(kind(b))?.pop() ?? next++;
    }
    for (const b of frees[i]) {
      if (slots[b] < 0) continue;
      const list = idle.get(kind(b));
      if (list) list.push(slots[b]);
      else idle.set(kind(b), [slots[b]]);
    }
  });
  return slots;
}

/** Renumbers the buffer loads of an expression to kernel input slots. */
function remapLoads(e: Expr, slots: Map<number, number>): Expr {
  const r = mapSubExprs(e, (a) => remapLoads(a, slots));
  if (r.k !== "load") return r;
  let s = slots.get(r.input);
  if (s === undefined) slots.set(r.input, s = slots.size);
  return { ...r, input: s };
}

function finish(
  body: Expr,
  outShape: number[],
  out: number,
  aval: Aval,
  label: string,
  avals: Aval[],
  reduce?: Kernel["reduce"],
): Step {
  const slots = new Map<number, number>();
  const b = remapLoads(body, slots);
  const inputs = [...slots.keys()];
  const kernel: Kernel = {
    outShape,
    outDtype: aval.dtype,
    inputs: inputs.map((i) => avals[i].dtype),
    body: b,
    reduce,
  };
  return { kind: "kernel", kernel, inputs, out, label };
}

function mapKernel(n: Node, out: number, label: string, avals: Aval[]): Step {
  const shape = n.aval.shape;
  const body = n.flat ? n.flat(ivar("o")) : n.at(shape.map((_, i) => ivar(`i${i}`)));
  return finish(body, shape, out, n.aval, label, avals);
}

function reduceKernel(
  x: Node,
  axes: number[],
  op: "sum" | "max" | "min",
  out: number,
  aval: Aval,
  avals: Aval[],
): Step {
  const xs = x.aval.shape;
  const sorted = [...axes].sort((a, b) => a - b);
  let oi = 0, ri = 0;
  const idx: Idx[] = xs.map((_, d) => (sorted.includes(d) ? ivar(`r${ri++}`) : ivar(`i${oi++}`)));
  return finish(x.at(idx), aval.shape, out, aval, `reduce_${op}`, avals, {
    op,
    shape: sorted.map((a) => xs[a]),
  });
}

function computeFrees(steps: Step[], keep: Set<number>): number[][] {
  const last = new Map<number, number>();
  steps.forEach((s, i) => {
    s.inputs.forEach((b) => last.set(b, i));
    if (s.kind === "op" && s.epilogue) s.epilogue.inputs.forEach((b) => last.set(b, i));
  });
  const frees: number[][] = steps.map(() => []);
  for (const [b, i] of last) if (!keep.has(b)) frees[i].push(b);
  return frees;
}

/** Cache key of an eager op: name, params and input types. */
export function eagerKey(op: OpDef, params: unknown, inputs: Aval[]): string {
  return `${op.name}|${JSON.stringify(params)}|${
    inputs.map((a) => `${a.dtype}${a.shape}`).join(";")
  }`;
}

/** Lowers one primitive application (an eager op) to a plan. */
export function lowerOp(
  op: OpDef,
  params: unknown,
  inputs: Aval[],
  outAvals: Aval[],
  opts: LowerOptions = {},
): Plan {
  const ins = inputs.map((a) => new Var({ ...a, weak: false }));
  const outs = outAvals.map((a) => new Var(a));
  return lowerJaxpr(new Jaxpr([], [], ins, [{ op, inputs: ins, params, outs }], outs), opts);
}
