/**
 * Executes lowered plans: renders each kernel once (cached by its IR), then runs the steps over
 * host typed arrays, dropping intermediate buffers after their last use.
 * @module
 */
import { allocTyped, type TypedArray } from "../dtype.ts";
import { allocHost } from "../host_alloc.ts";
import { sizeOf } from "../shape.ts";
import type { Aval, HostArray, OpDef } from "../ops/_define.ts";
import { type KernelFn, renderKernel } from "../../kernels/render_js.ts";
import { renderWasmKernel, wasmImports } from "../../kernels/render_wasm.ts";
import { type Kernel, kernelKey, subExprs } from "./kernel.ts";
import type { Plan } from "./lower.ts";
import { ByteLru } from "../cache.ts";

/**
 * Runs a non-kernel step (contractions, argmax, random, higher-order ops). `dest[k]`, when given,
 * is a buffer of output k's dtype and size, kept by the plan between calls, that the op may write
 * its result into and return (contents unspecified: every element must be written); an op that
 * returns a fresh array instead is not offered one again.
 */
export type OpRunner = (
  op: OpDef,
  params: unknown,
  inputs: HostArray[],
  outAvals: Aval[],
  dest?: (TypedArray | undefined)[],
) => TypedArray[];

/** Rendered kernels by IR (bounded: the "kernels" cache limit, see `setCacheLimit`). */
const kernelCache = new ByteLru<string, KernelFn>(
  "kernels",
  (fn, key) => 2 * key.length + 2 * String(fn).length + 2048,
);

/** A plan with its kernels compiled. */
export interface CompiledPlan {
  plan: Plan;
  fns: (KernelFn | null)[];
  /** Intermediate buffers kept between calls, by plan slot (program outputs are always fresh). */
  scratch: (TypedArray | undefined)[];
  /** Per step: true once its op returned fresh arrays instead of the offered `dest` buffers. */
  freshOps: boolean[];
  /** True while running (a re-entrant call allocates instead of sharing scratch). */
  busy: boolean;
  /**
   * For a plan that is one kernel writing its one output (most eager ops): the positions of the
   * kernel's inputs among the plan's inputs, so it runs without the general step loop.
   */
  single?: number[];
  /** The same for a plan that is one op step (no epilogue) writing exactly the plan's outputs. */
  singleOp?: number[];
  /** The plan's output buffers. */
  outSet: Set<number>;
}

/**
 * Which renderer runs a kernel: Wasm for sum reductions (convolution kernels included) of at
 * least 8 outputs of more than 4 steps each, 4096 steps in all, that call nothing out to JS
 * (`Math.*`, reference scalar functions): there Wasm measured 1.3-4× faster than the JS kernel on
 * Deno and Bun, copies in and out included. JS for everything else (max/min reductions measured
 * no consistent gain, elementwise kernels are slower) and where WebAssembly is unavailable. Both
 * give bit-identical results.
 *
 * @example
 * ```ts
 * const k = {
 *   outShape: [4],
 *   outDtype: "float32" as const,
 *   inputs: [],
 *   body: { k: "const" as const, v: 1, dtype: "float32" as const },
 * };
 * if (kernelRenderer(k) !== "js") throw new Error("elementwise kernels stay JS");
 * ```
 */
export function kernelRenderer(k: Kernel): "wasm" | "js" {
  if (k.reduce?.op !== "sum") return "js";
  const outs = sizeOf(k.outShape), steps = sizeOf(k.reduce.shape);
  if (outs < 8 || steps <= 4 || outs * steps < 4096) return "js";
  return wasmImports(k)?.length === 0 ? "wasm" : "js";
}

function kernelFn(k: Kernel): KernelFn {
  const key = kernelKey(k);
  let fn = kernelCache.get(key);
  if (!fn) {
    fn = kernelRenderer(k) === "wasm" ? renderWasmKernel(k) : renderKernel(k);
    kernelCache.set(key, fn);
  }
  return fn;
}

/** Renders (or fetches from cache) every kernel of a plan. */
export function compilePlan(plan: Plan): CompiledPlan {
  const fns = plan.steps.map((
    s,
  ) => (s.kind === "kernel"
    ? kernelFn(s.kernel)
    : s.epilogue
    ? kernelFn(s.epilogue.kernel)
    : null)
  );
  const s0 = plan.steps[0];
  const single = plan.steps.length === 1 && s0.kind === "kernel" && plan.outputs.length === 1 &&
      plan.outputs[0] === s0.out && !plan.inputs.includes(s0.out)
    ? s0.inputs.map((b) => plan.inputs.indexOf(b))
    : undefined;
  const singleOp = plan.steps.length === 1 && s0.kind === "op" && !s0.epilogue &&
      s0.outs.join() === plan.outputs.join() && new Set(s0.outs).size === s0.outs.length &&
      !plan.outputs.some((b) => plan.inputs.includes(b))
    ? s0.inputs.map((b) => plan.inputs.indexOf(b))
    : undefined;
  const outSet = new Set(plan.outputs);
  return { plan, fns, scratch: [], freshOps: [], busy: false, single, singleOp, outSet };
}

/**
 * Estimated bytes a compiled plan keeps alive: its steps and the intermediate buffers it keeps
 * between calls (one per scratch slot; the kernels are counted in the kernel cache).
 */
export function compiledPlanBytes(cp: CompiledPlan): number {
  const { plan } = cp;
  const slotBytes: number[] = [];
  plan.slots.forEach((s, b) => {
    if (s >= 0) slotBytes[s] = Math.max(slotBytes[s] ?? 0, sizeOf(plan.avals[b].shape) * 8);
  });
  return 1024 + 512 * plan.steps.length + 64 * plan.avals.length +
    slotBytes.reduce((a, b) => a + (b ?? 0), 0);
}

/**
 * Runs a compiled plan on input arrays; returns the output arrays. `dests[k]`, when given, is an
 * array of output k's dtype and size that receives output k and is returned as it (kernels write
 * into it directly; a loop keeps its carries and stacked outputs this way). A dest must not
 * share memory with an input or with another dest.
 */
export function runPlan(
  cp: CompiledPlan,
  inputs: TypedArray[],
  runOp: OpRunner,
  dests?: (TypedArray | undefined)[],
): TypedArray[] {
  const single = cp.single;
  if (single && !single.includes(-1)) {
    const b = cp.plan.outputs[0], aval = cp.plan.avals[b];
    const out = dests?.[0] ?? allocHost(aval.dtype, sizeOf(aval.shape));
    const ins: TypedArray[] = new Array(single.length);
    for (let i = 0; i < single.length; i++) ins[i] = inputs[single[i]];
    cp.fns[0]!(ins, out);
    return [out];
  }
  const singleOp = cp.singleOp;
  if (singleOp && !singleOp.includes(-1)) {
    const s = cp.plan.steps[0] as Extract<Plan["steps"][number], { kind: "op" }>;
    const ins: HostArray[] = new Array(singleOp.length);
    for (let i = 0; i < singleOp.length; i++) {
      const a = cp.plan.avals[s.inputs[i]];
      ins[i] = { data: inputs[singleOp[i]], shape: a.shape, dtype: a.dtype };
    }
    return intoDests(runOp(s.op, s.params, ins, s.outAvals, dests), dests);
  }
  const reuse = !cp.busy;
  cp.busy = true;
  try {
    return intoDests(run(cp, inputs, runOp, reuse, dests), dests);
  } finally {
    if (reuse) cp.busy = false;
  }
}

/** `outs` with each output that has a dest copied into it (unless written there already). */
function intoDests(outs: TypedArray[], dests?: (TypedArray | undefined)[]): TypedArray[] {
  if (dests) {
    for (let k = 0; k < outs.length; k++) {
      const d: TypedArray | undefined = dests[k];
      if (d && outs[k] !== d) d.set(outs[k]), outs[k] = d;
    }
  }
  return outs;
}

function run(
  cp: CompiledPlan,
  inputs: TypedArray[],
  runOp: OpRunner,
  reuse: boolean,
  dests?: (TypedArray | undefined)[],
): TypedArray[] {
  const { plan, fns, outSet } = cp;
  const alloc = (b: number): TypedArray => {
    if (!reuse || outSet.has(b)) {
      const d = dests?.[plan.outputs.indexOf(b)];
      return d ?? allocHost(plan.avals[b].dtype, sizeOf(plan.avals[b].shape));
    }
    return (cp.scratch[plan.slots[b]] ??= allocTyped(
      plan.avals[b].dtype,
      sizeOf(plan.avals[b].shape),
    ));
  };
  // op results that stay inside the plan are written into kept buffers too (when the op can)
  const destOf = (i: number, outs: number[]): (TypedArray | undefined)[] | undefined => {
    if (!reuse || cp.freshOps[i]) return undefined;
    const dest = outs.map((b) => outSet.has(b) ? dests?.[plan.outputs.indexOf(b)] : alloc(b));
    return dest.some((d) => d !== undefined) ? dest : undefined;
  };
  const bufs: (TypedArray | undefined)[] = new Array(plan.avals.length);
  plan.inputs.forEach((b, i) => (bufs[b] = inputs[i]));
  plan.steps.forEach((s, i) => {
    if (s.kind === "kernel") {
      const out = alloc(s.out);
      fns[i]!(s.inputs.map((b) => bufs[b]!), out);
      bufs[s.out] = out;
    } else {
      const ins = s.inputs.map((b) => ({
        data: bufs[b]!,
        shape: plan.avals[b].shape,
        dtype: plan.avals[b].dtype,
      }));
      const dest = destOf(i, s.outs);
      const outs = runOp(s.op, s.params, ins, s.outAvals, dest);
      s.outs.forEach((b, k) => {
        bufs[b] = outs[k];
        if (dest?.[k] !== undefined && outs[k] !== dest[k] && !outSet.has(b)) {
          // the op allocates its own results: stop keeping (and offering) a buffer for it
          cp.freshOps[i] = true;
          cp.scratch[plan.slots[b]] = undefined;
        }
      });
      const e = s.epilogue;
      if (e) {
        const out = alloc(e.out);
        fns[i]!(e.inputs.map((b) => bufs[b]!), out);
        bufs[e.out] = out;
        bufs[s.outs[0]] = undefined;
      }
    }
    for (const b of plan.frees[i]) bufs[b] = undefined;
  });
  return plan.outputs.map((b) => bufs[b]!);
}

/** The elementwise ops a kernel evaluates, for listings. */
function opsIn(k: Kernel): string {
  const names = new Set<string>();
  const walk = (e: Kernel["body"]): void => {
    if (e.k === "alu" && e.op !== "land") names.add(e.op);
    subExprs(e).forEach(walk);
  };
  walk(k.body);
  if (k.epilogue) walk(k.epilogue);
  return [...names].join(",");
}

/** Text listing of a plan's kernels (for `jit(f).lower(...).asText()`). */
export function describePlan(plan: Plan): string {
  const fmt = (b: number) => `b${b}:${plan.avals[b].dtype}[${plan.avals[b].shape.join(",")}]`;
  const lines = plan.steps.map((s, i) =>
    s.kind === "kernel"
      ? `  k${i} ${s.label}${s.kernel.reduce ? `(${s.kernel.reduce.op})` : ""}[${
        opsIn(s.kernel)
      }]: ${fmt(s.out)} <- ${s.inputs.map(fmt).join(", ")}`
      : `  k${i} ${s.op.name}${s.epilogue ? `+epilogue[${opsIn(s.epilogue.kernel)}]` : ""}: ${
        (s.epilogue ? [s.epilogue.out] : s.outs).map(fmt).join(", ")
      } <- ${
        [...s.inputs, ...(s.epilogue?.inputs.filter((b) => !s.outs.includes(b)) ?? [])].map(fmt)
          .join(", ")
      }`
  );
  return [
    `program: ${plan.steps.length} kernel(s); inputs ${plan.inputs.map(fmt).join(", ")}`,
    ...lines,
    `  outputs ${plan.outputs.map(fmt).join(", ")}`,
  ].join("\n");
}
