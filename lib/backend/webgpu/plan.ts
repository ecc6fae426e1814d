/**
 * Compiles a lowered `Plan` (lib/compile/lower.ts) to WebGPU dispatches and runs it: fused kernels
 * through kernels/render_wgsl.ts, contractions as GEMM kernels with fused epilogues, own kernels
 * for argmax/argmin, random and the window choosers; control flow (scan, cond, while) runs its
 * `evalImpl` on device arrays. Dispatches are recorded, nothing waits.
 * @module
 */
import type { DType } from "../../dtype.ts";
import type { Aval, OpDef } from "../../ops/_define.ts";
import type { ConvParams } from "../../ops/conv_params.ts";
import type { DotParams } from "../../ops/dot.ts";
import type { RandomParams } from "../../ops/random.ts";
import type { KernelStep, LowerOptions, Plan } from "../../compile/lower.ts";
import { sizeOf } from "../../shape.ts";
import { renderKernelWgsl } from "../../../kernels/render_wgsl.ts";
import { convGeometry, type ConvTuning } from "../../../kernels/wgsl/conv.ts";
import { convVariant, renderConv } from "../../../kernels/wgsl/conv_variants.ts";
import { renderArgReduce, renderDot } from "../../../kernels/wgsl/matmul.ts";
import { renderRandom } from "../../../kernels/wgsl/random.ts";
import { renderWindowOp, WINDOW_OPS } from "../../../kernels/wgsl/window.ts";
import { GATHER_OPS, renderScatter } from "../../../kernels/wgsl/gather.ts";
import type { ScatterParams } from "../../ops/gather_params.ts";
import { renderScan, renderSort, SORT_OPS, type SortSteps } from "../../../kernels/wgsl/sort.ts";
import { renderFft } from "../../../kernels/wgsl/fft.ts";
import type { FftParams } from "../../ops/fft.ts";
import { LINALG_OPS, renderLinalg } from "../../../kernels/wgsl/linalg_ops.ts";
import type { CumParams, SortParams } from "../../ops/sort.ts";
import type { WindowParams } from "../../ops/window.ts";
import { epilogueFusible, type EpilogueSpec } from "../../../kernels/wgsl/epilogue.ts";
import { type BindRange, GpuArray, type GpuRuntime } from "./runtime.ts";
import { isNarrow, narrowKernel } from "../../../kernels/wgsl/expr.ts";
import { viaF32Words } from "./f16_steps.ts";

/** A dispatch over plan buffers (ids >= 0) and step temporaries (id -1 - t). */
export interface Dispatch {
  code: string;
  wg: [number, number, number];
  bind: number[];
  /** Byte ranges of some bindings (the rest bind whole). */
  ranges?: (BindRange | undefined)[];
}

/** A step temporary; `data` makes it a constant (uploaded once per runtime, see `constArray`). */
type Temp = { dtype: DType; length: number; data?: Float32Array };

/** One compiled plan step. */
export type CStep =
  | {
    kind: "gpu";
    dispatches: Dispatch[];
    temps: Temp[];
    /** Plan buffers this step allocates. */
    outs: number[];
    /** Plan buffers released at the end of the step (unfused contraction results). */
    drop: number[];
    /** Its kernels read and write float16 as f16 storage (else f16_steps.ts widens). */
    f16?: boolean;
  }
  | {
    kind: "eval";
    op: OpDef;
    params: unknown;
    inputs: number[];
    outs: number[];
    outAvals: Aval[];
  };

/** A plan compiled for one device. */
export interface GpuPlan {
  plan: Plan;
  steps: CStep[];
  /** The options it was compiled with. */
  options: PlanOptions;
}

/** Runs higher-order ops without a compiled form (scan, cond, while) on device arrays. */
export type EvalRunner = (
  op: OpDef,
  params: unknown,
  inputs: GpuArray[],
  inAvals: Aval[],
  outAvals: Aval[],
) => GpuArray[];

/** Which contraction kernels to use. */
export interface PlanOptions {
  convVariant: "register" | "shared";
  /** Workgroups a contraction should spread over (split-K below that); default per variant. */
  targetGroups?: number;
}

function checkDtype(a: Aval, what: string): void {
  if (a.dtype === "float64") {
    throw new TypeError(
      `webgpu: ${what} has dtype float64, which WebGPU does not support; use float32 (np.astype(x, "float32"))`,
    );
  }
}

/**
 * The dispatches of a fused kernel; a split reduction adds its partials buffer to `temps`
 * (temporary ids are -1 - index into `temps`).
 */
function kernelDispatches(
  rt: GpuRuntime,
  s: KernelStep,
  temps: { dtype: DType; length: number }[],
  f16 = false,
): Dispatch[] {
  const r = renderKernelWgsl(s.kernel, {
    workgroupSize: 64,
    maxWorkgroupsPerDim: rt.limits.maxComputeWorkgroupsPerDimension,
    maxWorkgroupStorage: rt.limits.maxComputeWorkgroupStorageSize,
    f16,
  });
  if (!r.combine) return [{ code: r.code, wg: r.dispatch, bind: [...s.inputs, s.out] }];
  // partials of a float16 result stay f32 with f16 storage (accumulated in f32, rounded once)
  const pd = f16 && s.kernel.outDtype === "float16" ? "float32" : s.kernel.outDtype;
  temps.push({ dtype: pd, length: r.combine.partials });
  const part = -temps.length;
  checkBindings(rt, s.inputs.length + 2, `fused kernel ${s.label}`);
  return [
    { code: r.code, wg: r.dispatch, bind: [...s.inputs, part] },
    { code: r.combine.code, wg: r.combine.dispatch, bind: [...s.inputs, part, s.out] },
  ];
}

function checkBindings(rt: GpuRuntime, n: number, what: string): void {
  const max = rt.limits.maxStorageBuffersPerShaderStage;
  if (n > max) {
    throw new RangeError(
      `webgpu: ${what} needs ${n} storage buffers; this device allows ${max} per shader`,
    );
  }
}

/** The contraction step (conv / dotGeneral) with its epilogue fused or appended. */
function contraction(
  rt: GpuRuntime,
  plan: Plan,
  s: Extract<Plan["steps"][number], { kind: "op" }>,
  opt: PlanOptions,
): CStep {
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  const [l, r] = s.inputs;
  const res = s.outs[0];
  const dtype = plan.avals[res].dtype;
  const e = s.epilogue;
  const slot = e ? e.inputs.indexOf(res) : -1;
  const fuse = e && slot >= 0 && epilogueFusible(e.kernel, slot) &&
    e.kernel.outShape.join() === plan.avals[res].shape.join();
  const ep: EpilogueSpec | undefined = fuse ? { kernel: e!.kernel, resultSlot: slot } : undefined;
  const finalOut = fuse ? e!.out : res;
  const dispatches: Dispatch[] = [];
  const temps: { dtype: DType; length: number }[] = [];
  let extraSlots: number[];
  if (s.op.name === "conv") {
    const g = convGeometry(
      plan.avals[l].shape,
      plan.avals[r].shape,
      plan.avals[res].shape,
      s.params as ConvParams,
    );
    const k = renderConv(g, dtype, convTuning(rt, opt), ep);
    // the rearranged weights (a temporary), or rhs itself when the kernel reads it directly
    let wt = r;
    if (k.prep) {
      temps.push({ dtype, length: k.wtLength });
      wt = -temps.length;
      dispatches.push({ code: k.prep.code, wg: k.prep.dispatch, bind: [r, wt] });
    }
    extraSlots = k.extraSlots;
    const extra = extraSlots.map((q) => e!.inputs[q]);
    if (k.reduce) temps.push({ dtype, length: k.partLength! });
    const part = -temps.length;
    const bind = k.reduce ? [l, wt, part] : [l, wt, ...extra, finalOut];
    // uniform weights: one dispatch per range of the rearranged weights
    const mr = k.mainRanges;
    for (let d = 0; d < (mr?.count ?? 1); d++) {
      const ranges = mr && [undefined, { offset: d * mr.stride * 4, size: mr.stride * 4 }];
      dispatches.push({ code: k.main.code, wg: k.main.dispatch, bind, ranges });
    }
    if (k.reduce) {
      dispatches.push({
        code: k.reduce.code,
        wg: k.reduce.dispatch,
        bind: [part, ...extra, finalOut],
      });
    }
  } else {
    const k = renderDot(
      plan.avals[l].shape,
      plan.avals[r].shape,
      s.params as DotParams,
      dtype,
      maxWg,
      ep,
      rt.f16,
    );
    extraSlots = k.extraSlots;
    dispatches.push({
      code: k.code,
      wg: k.dispatch,
      bind: [l, r, ...extraSlots.map((q) => e!.inputs[q]), finalOut],
    });
  }
  checkBindings(
    rt,
    dispatches[dispatches.length - 1].bind.length,
    `${s.op.name} with its epilogue`,
  );
  // dotGeneral reads and writes f16 storage itself; conv computes on f32 words (f16_steps.ts)
  const f16 = rt.f16 && s.op.name === "dotGeneral";
  if (e && !fuse) {
    dispatches.push(...kernelDispatches(rt, e, temps, f16));
    return { kind: "gpu", dispatches, temps, outs: [res, e.out], drop: [res], f16 };
  }
  return { kind: "gpu", dispatches, temps, outs: [finalOut], drop: [], f16 };
}

/** The tuning of a convolution on this runtime. */
function convTuning(rt: GpuRuntime, opt: PlanOptions): ConvTuning {
  return {
    variant: opt.convVariant,
    software: rt.software,
    maxWorkgroupsPerDim: rt.limits.maxComputeWorkgroupsPerDimension,
    maxWorkgroupStorage: rt.limits.maxComputeWorkgroupStorageSize,
    targetGroups: opt.targetGroups,
    // uniform weights only where the pool's buffers allow it (software adapters)
    maxUniformBytes: rt.software ? rt.limits.maxUniformBufferBindingSize ?? 16384 : 0,
    uniformAlign: rt.limits.minUniformBufferOffsetAlignment ?? 256,
  };
}

/**
 * How the compiler should lower programs for this runtime: convolutions that a `direct` variant
 * of kernels/wgsl/conv_variants.ts takes stay conv op steps instead of becoming generated
 * reduction kernels.
 */
export function lowerOptions(rt: GpuRuntime, opt: PlanOptions): LowerOptions {
  return {
    // a kernel binds its inputs, its output and (two-pass reductions, contractions with an
    // epilogue) one more buffer
    maxKernelInputs: rt.limits.maxStorageBuffersPerShaderStage - 2,
    directConv(l, r, out, p) {
      if (l.dtype !== "float32") return false;
      try {
        const g = convGeometry(l.shape, r.shape, out.shape, p);
        return convVariant(g, l.dtype, convTuning(rt, opt)).direct === true;
      } catch {
        return false; // NOTE: a geometry the WGSL conv does not describe: the generic kernel
      }
    },
  };
}

/** A scatter step (kernels/wgsl/gather.ts). */
function indexStep(
  plan: Plan,
  s: Extract<Plan["steps"][number], { kind: "op" }>,
  maxWg: number,
): CStep {
  const [x, idx, upd] = s.inputs.map((b) => plan.avals[b]);
  const r = renderScatter(s.op.name, x, idx, upd, s.params as ScatterParams, maxWg);
  const role = { x: s.inputs[0], idx: s.inputs[1], upd: s.inputs[2], out: s.outs[0], tmp: -1 };
  return {
    kind: "gpu",
    dispatches: r.dispatches.map((d) => ({
      code: d.code,
      wg: d.dispatch,
      bind: d.bind.map((k) => role[k]),
    })),
    temps: r.temps,
    outs: s.outs,
    drop: [],
  };
}

/** A sort, cumulative-scan (kernels/wgsl/sort.ts) or fft (kernels/wgsl/fft.ts) step. */
function sortStep(
  rt: GpuRuntime,
  plan: Plan,
  s: Extract<Plan["steps"][number], { kind: "op" }>,
  maxWg: number,
): CStep {
  const ins = s.inputs.map((b) => plan.avals[b]);
  const r = s.op.name === "sort"
    ? renderSort(ins, s.params as SortParams, maxWg, rt.f16)
    : s.op.name === "fft"
    ? renderFft(ins[0], s.params as FftParams, maxWg)
    : renderScan(s.op.name, ins[0], s.params as CumParams, maxWg, rt.f16);
  // sort and scans read and write f16 storage themselves (fft takes no float16)
  return { ...namedStep(rt, s, r), f16: rt.f16 && s.op.name !== "fft" } as CStep;
}

/** A step whose dispatches bind "in{k}", "out{k}" and "t{k}" (temporaries) by name. */
function namedStep(
  rt: GpuRuntime,
  s: Extract<Plan["steps"][number], { kind: "op" }>,
  r: SortSteps,
): CStep {
  const buf = (k: string) => {
    const i = Number(k.replace(/^\D+/, ""));
    return k.startsWith("in") ? s.inputs[i] : k.startsWith("out") ? s.outs[i] : -1 - i;
  };
  r.dispatches.forEach((d) => checkBindings(rt, d.bind.length, `${s.op.name} kernel`));
  return {
    kind: "gpu",
    dispatches: r.dispatches.map((d) => ({
      code: d.code,
      wg: d.dispatch,
      bind: d.bind.map(buf),
      ranges: d.ranges,
    })),
    temps: r.temps,
    outs: s.outs,
    drop: [],
  };
}

/**
 * Appends to an op step's dispatches a pass bringing its int8 / uint8 / float16 outputs into
 * range (`narrowKernel`): its kernel stored them in their wider storage type.
 */
function narrowed(plan: Plan, c: CStep, maxWg: number): CStep {
  if (c.kind !== "gpu") return c;
  for (const b of c.outs) {
    const a = plan.avals[b];
    // (f16 storage kernels round float16 on store)
    if (!isNarrow(a.dtype) || (c.f16 && a.dtype === "float16")) continue;
    const k = narrowKernel(a.dtype, sizeOf(a.shape), maxWg);
    c.dispatches.push({ code: k.code, wg: k.dispatch, bind: [b] });
  }
  return c;
}

/** Compiles a plan's steps to dispatches (pipelines compile lazily, on first use). */
export function compileGpuPlan(rt: GpuRuntime, plan: Plan, opt: PlanOptions): GpuPlan {
  plan.avals.forEach((a, i) => checkDtype(a, `program value b${i}`));
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  const steps = plan.steps.map((s): CStep => {
    const c = compileStep(rt, plan, s, opt, maxWg);
    // fused kernels read and write f16 storage natively; the others compute on f32 words
    return rt.f16 && c.kind === "gpu" && !c.f16 ? viaF32Words(plan, c, maxWg) : c;
  });
  return { plan, steps, options: { ...opt } };
}

/** Compiles one plan step. */
function compileStep(
  rt: GpuRuntime,
  plan: Plan,
  s: Plan["steps"][number],
  opt: PlanOptions,
  maxWg: number,
): CStep {
  if (s.kind === "kernel") {
    checkBindings(rt, s.inputs.length + 1, `fused kernel ${s.label}`);
    const temps: { dtype: DType; length: number }[] = [];
    return {
      kind: "gpu",
      dispatches: kernelDispatches(rt, s, temps, rt.f16),
      temps,
      outs: [s.out],
      drop: [],
      f16: rt.f16,
    };
  }
  const name = s.op.name;
  if (name === "conv" || name === "dotGeneral") return contraction(rt, plan, s, opt);
  if (name === "argmax" || name === "argmin") {
    const x = plan.avals[s.inputs[0]];
    const k = renderArgReduce(
      x.shape,
      (s.params as { axis: number }).axis,
      x.dtype,
      name === "argmax",
      maxWg,
    );
    return {
      kind: "gpu",
      dispatches: [{ code: k.code, wg: k.dispatch, bind: [s.inputs[0], s.outs[0]] }],
      temps: [],
      outs: s.outs,
      drop: [],
    };
  }
  if (WINDOW_OPS.has(name)) {
    const x = plan.avals[s.inputs[s.inputs.length - 1]];
    const k = renderWindowOp(name, s.params as WindowParams, x.shape, x.dtype, maxWg);
    return narrowed(plan, {
      kind: "gpu",
      dispatches: [{ code: k.code, wg: k.dispatch, bind: [...s.inputs, s.outs[0]] }],
      temps: [],
      outs: s.outs,
      drop: [],
    }, maxWg);
  }
  if (GATHER_OPS.has(name)) return narrowed(plan, indexStep(plan, s, maxWg), maxWg);
  if (SORT_OPS.has(name) || name === "fft") {
    return narrowed(plan, sortStep(rt, plan, s, maxWg), maxWg);
  }
  if (LINALG_OPS.has(name)) {
    const ins = s.inputs.map((b) => plan.avals[b]);
    return namedStep(rt, s, renderLinalg(name, ins, s.params, maxWg, rt.software));
  }
  if (name === "random") {
    const k = renderRandom(s.params as RandomParams, s.outAvals[0].dtype, maxWg);
    return narrowed(plan, {
      kind: "gpu",
      dispatches: [{ code: k.code, wg: k.dispatch, bind: [s.inputs[0], s.outs[0]] }],
      temps: [],
      outs: s.outs,
      drop: [],
    }, maxWg);
  }
  if (s.op.evalImpl) {
    return {
      kind: "eval",
      op: s.op,
      params: s.params,
      inputs: s.inputs,
      outs: s.outs,
      outAvals: s.outAvals,
    };
  }
  throw new TypeError(`webgpu: op ${name} has no WebGPU kernel`);
}

const constArrays = new WeakMap<Float32Array, GpuArray>();
const constRegistry = typeof FinalizationRegistry === "undefined"
  ? undefined
  : new FinalizationRegistry<GpuArray>((a) => a.owner?.release(a));

/**
 * The device copy of a step constant (FFT twiddles): uploaded once per runtime, released when the
 * host array (held by the compiled plans that bind it) is collected.
 */
function constArray(rt: GpuRuntime, data: Float32Array): GpuArray {
  let a = constArrays.get(data);
  if (!a || a.owner !== rt) {
    a = rt.upload(data, "float32");
    constArrays.set(data, a);
    constRegistry?.register(data, a);
  }
  return a;
}

/** The state of one run of a plan: steps are recorded one at a time. */
function planRun(rt: GpuRuntime, gp: GpuPlan, inputs: GpuArray[], evalOp: EvalRunner) {
  const { plan } = gp;
  const bufs: (GpuArray | undefined)[] = new Array(plan.avals.length);
  plan.inputs.forEach((b, i) => (bufs[b] = inputs[i]));
  const owned = new Set<number>();
  const alloc = (b: number) => {
    const a = plan.avals[b];
    bufs[b] = rt.alloc(a.dtype, sizeOf(a.shape));
    owned.add(b);
  };
  const drop = (b: number) => {
    if (owned.has(b)) {
      rt.release(bufs[b]!);
      owned.delete(b);
    }
    bufs[b] = undefined;
  };
  const step = (i: number) => {
    const s = gp.steps[i];
    if (s.kind === "gpu") {
      s.outs.forEach(alloc);
      const temps = s.temps.map((t) =>
        t.data ? constArray(rt, t.data) : rt.alloc(t.dtype, t.length)
      );
      for (const d of s.dispatches) {
        const bs = d.bind.map((b) => (b >= 0 ? bufs[b]! : temps[-1 - b]));
        rt.dispatch(d.code, bs, d.wg, d.ranges);
      }
      s.temps.forEach((t, k) => t.data || rt.release(temps[k]));
      s.drop.forEach(drop);
    } else {
      const ins = s.inputs.map((b) => bufs[b]!);
      const outs = evalOp(s.op, s.params, ins, s.inputs.map((b) => plan.avals[b]), s.outAvals);
      s.outs.forEach((b, k) => {
        bufs[b] = outs[k];
        owned.add(b);
      });
    }
    for (const b of plan.frees[i]) drop(b);
  };
  const finish = (): GpuArray[] => {
    const seen = new Set<number>();
    return plan.outputs.map((b) => {
      const src = bufs[b]!;
      if (owned.has(b) && !seen.has(b)) {
        seen.add(b);
        owned.delete(b);
        return src;
      }
      const c = rt.alloc(src.dtype, src.length);
      rt.copy(src, c);
      return c;
    });
  };
  const cleanup = () => {
    for (const b of owned) rt.release(bufs[b]!);
  };
  return { step, finish, cleanup };
}

/**
 * Runs a compiled plan on device arrays (one per plan input); returns fresh arrays for the
 * outputs (an output that is an input, or repeats, is copied). Intermediates go back to the
 * pool after their last use; nothing is submitted here unless the runtime's batch is full.
 */
export function runGpuPlan(
  rt: GpuRuntime,
  gp: GpuPlan,
  inputs: GpuArray[],
  evalOp: EvalRunner,
): GpuArray[] {
  const r = planRun(rt, gp, inputs, evalOp);
  try {
    gp.steps.forEach((_, i) => r.step(i));
    return r.finish();
  } finally {
    r.cleanup();
  }
}

/** One step's share of a profiled run. */
export interface StepProfile {
  /** The step as `describePlan` lists it (k<i> ...). */
  step: number;
  /** Dispatches the step recorded. */
  dispatches: number;
  /** Wall time from recording the step to the queue being idle (includes one sync). */
  ms: number;
}

/** Runs a plan step by step, waiting for the GPU after each (a debugging aid: one sync per step). */
export async function profileGpuPlan(
  rt: GpuRuntime,
  gp: GpuPlan,
  inputs: GpuArray[],
  evalOp: EvalRunner,
): Promise<{ outputs: GpuArray[]; steps: StepProfile[] }> {
  const r = planRun(rt, gp, inputs, evalOp);
  const steps: StepProfile[] = [];
  try {
    await rt.sync();
    for (let i = 0; i < gp.steps.length; i++) {
      const d0 = rt.stats.dispatches, t0 = performance.now();
      r.step(i);
      await rt.sync();
      steps.push({ step: i, dispatches: rt.stats.dispatches - d0, ms: performance.now() - t0 });
    }
    return { outputs: r.finish(), steps };
  } finally {
    r.cleanup();
  }
}

/** Wraps a device array without taking ownership (releasing the wrapper is a no-op). */
export function borrow(a: GpuArray): GpuArray {
  const w = new GpuArray(a.buffer, a.length, a.dtype, a.width);
  w.borrowed = true;
  return w;
}
