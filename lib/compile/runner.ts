/**
 * Executes lowered plans: renders each kernel once (cached by its IR), then runs the steps over
 * host typed arrays, dropping intermediate buffers after their last use.
 * @module
 */
import { allocTyped, type TypedArray } from "../dtype.ts";
import { sizeOf } from "../shape.ts";
import type { Aval, HostArray, OpDef } from "../ops/_define.ts";
import { OPS } from "../ops/registry.ts";
import { type KernelFn, renderKernel } from "./render_js.ts";
import { kernelKey } from "./kernel.ts";
import type { Plan } from "./lower.ts";

/** Runs a non-kernel step (contractions, argmax, random, higher-order ops). */
export type OpRunner = (op: OpDef, params: unknown, inputs: HostArray[], outAvals: Aval[]) => TypedArray[];

const scalars = new Map<string, (...x: number[]) => number>();
for (const op of Object.values(OPS) as OpDef[]) if (op.scalar) scalars.set(op.name, op.scalar);

const kernelCache = new Map<string, KernelFn>();

/** A plan with its kernels compiled. */
export interface CompiledPlan {
  plan: Plan;
  fns: (KernelFn | null)[];
}

/** Renders (or fetches from cache) every kernel of a plan. */
export function compilePlan(plan: Plan): CompiledPlan {
  const fns = plan.steps.map((s) => {
    if (s.kind !== "kernel") return null;
    const key = kernelKey(s.kernel);
    let fn = kernelCache.get(key);
    if (!fn) kernelCache.set(key, (fn = renderKernel(s.kernel, scalars)));
    return fn;
  });
  return { plan, fns };
}

/** Runs a compiled plan on input arrays; returns the output arrays. */
export function runPlan(cp: CompiledPlan, inputs: TypedArray[], runOp: OpRunner): TypedArray[] {
  const { plan, fns } = cp;
  const bufs: (TypedArray | undefined)[] = new Array(plan.avals.length);
  plan.inputs.forEach((b, i) => (bufs[b] = inputs[i]));
  plan.steps.forEach((s, i) => {
    if (s.kind === "kernel") {
      const out = allocTyped(plan.avals[s.out].dtype, sizeOf(plan.avals[s.out].shape));
      fns[i]!(s.inputs.map((b) => bufs[b]!), out);
      bufs[s.out] = out;
    } else {
      const ins = s.inputs.map((b) => ({ data: bufs[b]!, shape: plan.avals[b].shape, dtype: plan.avals[b].dtype }));
      const outs = runOp(s.op, s.params, ins, s.outAvals);
      s.outs.forEach((b, k) => (bufs[b] = outs[k]));
    }
    for (const b of plan.frees[i]) bufs[b] = undefined;
  });
  return plan.outputs.map((b) => bufs[b]!);
}

/** Text listing of a plan's kernels (for `jit(f).lower(...).asText()`). */
export function describePlan(plan: Plan): string {
  const fmt = (b: number) => `b${b}:${plan.avals[b].dtype}[${plan.avals[b].shape.join(",")}]`;
  const lines = plan.steps.map((s, i) =>
    s.kind === "kernel"
      ? `  k${i} ${s.label}${s.kernel.reduce ? `(${s.kernel.reduce.op})` : ""}: ${fmt(s.out)} <- ${s.inputs.map(fmt).join(", ")}`
      : `  k${i} ${s.op.name}: ${s.outs.map(fmt).join(", ")} <- ${s.inputs.map(fmt).join(", ")}`
  );
  return [`program: ${plan.steps.length} kernel(s); inputs ${plan.inputs.map(fmt).join(", ")}`, ...lines, `  outputs ${plan.outputs.map(fmt).join(", ")}`].join("\n");
}
