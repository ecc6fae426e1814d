/**
 * The WebGPU backend: device arrays in pooled GPU buffers, eager ops and jitted programs compiled
 * to WGSL (one submit per call), asynchronous reads only, no float64. `initWebGPU()` registers it
 * when `navigator.gpu` yields an adapter (Deno built in; Node: see its doc).
 * @module
 */
import type { DType, TypedArray } from "../../dtype.ts";
import type { Aval, OpDef } from "../../ops/_define.ts";
import { ArrayValue } from "../../core.ts";
import { hoistConsts, type Jaxpr } from "../../ir.ts";
import type { Tensor } from "../../tensor.ts";
import { eagerKey, lowerJaxpr, lowerOp } from "../../compile/lower.ts";
import { describePlan } from "../../compile/runner.ts";
import { type Backend, registerBackend } from "../backend.ts";
import { ByteLru } from "../../cache.ts";
import { createRuntime, type GpuArray, type GpuRuntime, type GpuStats } from "./runtime.ts";
import type { LimitOverrides } from "./gpu_types.ts";
import {
  borrow,
  compileGpuPlan,
  type EvalRunner,
  type GpuPlan,
  lowerOptions,
  type PlanOptions,
  profileGpuPlan,
  runGpuPlan,
  type StepProfile,
} from "./plan.ts";

let rt: GpuRuntime | null = null;
const options: PlanOptions = { convVariant: "register" };

function runtime(): GpuRuntime {
  if (!rt) throw new TypeError("webgpu: the backend is not initialized; call `await init()` first");
  rt.checkAlive();
  return rt;
}

const F64_MESSAGE = "float64 arrays are not supported on WebGPU (no float64 in WGSL); use float32";

/** Device arrays of op or program arguments (all on this backend: see `onOneBackend`). */
function onDevice(xs: ArrayValue[]): GpuArray[] {
  return xs.map((x) => {
    const a = x.buffer as GpuArray;
    a.owner?.checkAlive();
    return a;
  });
}

const evalOp: EvalRunner = (op, params, inputs, inAvals) => {
  const r = runtime();
  const args = inputs.map((a, i) =>
    new ArrayValue(borrow(a), { ...inAvals[i], weak: false }, webgpuBackend)
  );
  const outs = op.evalImpl!(args, params);
  return outs.map((t) => {
    const c = t._concrete();
    if (c.backend !== webgpuBackend) {
      return r.upload(c.backend.readSync(c.buffer, c.aval), c.aval.dtype);
    }
    const src = c.buffer as GpuArray;
    const dst = r.alloc(src.dtype, src.length);
    r.copy(src, dst);
    return dst;
  });
};

/** Compiled eager ops (bounded: the "eager" cache limit, see `setCacheLimit`). */
const eagerCache = new ByteLru<string, GpuPlan>("eager", (gp, key) => {
  let bytes = 2 * key.length + 1024 + 256 * gp.plan.avals.length;
  for (const s of gp.steps) {
    bytes += 512;
    if (s.kind === "gpu") { for (const d of s.dispatches) bytes += 64 + 2 * d.code.length; }
  }
  return bytes;
});

/** The WebGPU backend instance (registered by `initWebGPU`). */
export const webgpuBackend: Backend = {
  name: "webgpu",
  fromHost(data: TypedArray, dtype: DType): unknown {
    if (dtype === "float64") throw new TypeError(`array: ${F64_MESSAGE}`);
    return runtime().upload(data, dtype);
  },
  read(buf: unknown): Promise<TypedArray> {
    const a = buf as GpuArray;
    return (a.owner ?? runtime()).read(a); // an array of a lost device rejects with the reason
  },
  readSync(): TypedArray {
    throw new TypeError(
      "dataSync: arrays on the webgpu backend can only be read asynchronously; use `await t.data()`",
    );
  },
  execute(op: OpDef, params: unknown, inputs: ArrayValue[], outAvals: Aval[]): unknown[] {
    const r = runtime();
    for (const a of [...inputs.map((x) => x.aval), ...outAvals]) {
      if (a.dtype === "float64") throw new TypeError(`${op.name}: ${F64_MESSAGE}`);
    }
    const inAvals = inputs.map((x) => x.aval);
    const key = `${options.convVariant}|${eagerKey(op, params, inAvals)}`;
    let gp = eagerCache.get(key);
    if (!gp) {
      const plan = lowerOp(op, params, inAvals, outAvals, lowerOptions(r, options));
      eagerCache.set(key, gp = compileGpuPlan(r, plan, options));
    }
    return runGpuPlan(r, gp, onDevice(inputs), evalOp);
  },
  runProgram: (jaxpr: Jaxpr, args: ArrayValue[]): unknown[] => runOnGpu(jaxpr, args),
  batch<T>(fn: () => T): T {
    const r = runtime();
    try {
      return r.hold(fn);
    } finally {
      if (!r.holding) r.flush();
    }
  },
  describeProgram: (j: Jaxpr) =>
    describePlan(lowerJaxpr(hoisted(j), lowerOptions(runtime(), options))),
  free(buf: unknown): void {
    rt?.release(buf as GpuArray);
  },
  isLost(buf: unknown): boolean {
    return (buf as GpuArray).owner?.lostReason != null;
  },
  deviceMemory: true,
};

// ---- jitted programs ----

let gpuPrograms = new WeakMap<Jaxpr, GpuPlan>();
let constUploads = new WeakMap<ArrayValue, GpuArray>();
const constRegistry = typeof FinalizationRegistry === "undefined"
  ? undefined
  : new FinalizationRegistry<GpuArray>((a) => rt?.release(a));

function hoisted(j: Jaxpr): Jaxpr {
  return j.constVars.length ? hoistConsts(j) : j;
}

/** A jaxpr constant on the device (host constants are uploaded once per constant). */
function constOnDevice(c: ArrayValue): GpuArray {
  if (c.backend === webgpuBackend) return c.buffer as GpuArray;
  let a = constUploads.get(c);
  if (!a) {
    if (c.aval.dtype === "float64") {
      throw new TypeError(`jit: constant of dtype float64: ${F64_MESSAGE}`);
    }
    a = runtime().upload(c.backend.readSync(c.buffer, c.aval), c.aval.dtype);
    constUploads.set(c, a);
    constRegistry?.register(c, a);
  }
  return a;
}

function runOnGpu(jaxpr: Jaxpr, args: ArrayValue[]): GpuArray[] {
  const r = runtime();
  let gp = gpuPrograms.get(jaxpr);
  if (!gp || gp.options.convVariant !== options.convVariant) {
    const plan = lowerJaxpr(hoisted(jaxpr), lowerOptions(r, options));
    gpuPrograms.set(jaxpr, gp = compileGpuPlan(r, plan, options));
  }
  const consts = jaxpr.consts.map((c) => constOnDevice(c as ArrayValue));
  const ins = [...consts, ...onDevice(args)];
  try {
    return r.hold(() => runGpuPlan(r, gp, ins, evalOp));
  } finally {
    // one submit per call; a program run inside another (a scan body) joins the caller's
    if (!r.holding) r.flush();
  }
}

/**
 * Detects WebGPU, creates the device and registers the "webgpu" backend (once; again after the
 * device was lost: arrays of the lost device stay unusable). Resolves to
 * false when the runtime has no WebGPU (Bun, Node without a WebGPU package) or no adapter.
 * Deno has WebGPU built in; on Node, install one as `navigator.gpu` first, e.g. the npm `webgpu`
 * package (Dawn): `Object.assign(globalThis, globals); globalThis.navigator = { gpu:
 * create(["backend=opengles"]) }` with `EGL_PLATFORM=surfaceless` on headless Linux (a
 * compatibility-level adapter is accepted).
 */
export async function initWebGPU(): Promise<boolean> {
  if (rt && rt.lostReason === null) return true;
  const created = await createRuntime();
  if (!created) return false;
  if (rt) {
    // the device was lost: nothing compiled for or uploaded to it is usable
    eagerCache.clear();
    gpuPrograms = new WeakMap();
    constUploads = new WeakMap();
  }
  rt = created;
  options.convVariant = defaultConvVariant();
  registerBackend(webgpuBackend);
  return true;
}

/** Device arrays currently allocated (held by Tensors, jit constants or pending work). */
export function liveBuffers(): number {
  return rt ? rt.liveBuffers() : 0;
}

/** Counters of the WebGPU runtime (syncs, submits, dispatches, compiles), or null before init. */
export function webgpuStats(): Readonly<GpuStats> | null {
  return rt ? rt.stats : null;
}

/** The runtime (device, limits, adapter kind), or null before `initWebGPU`. */
export function webgpuRuntime(): GpuRuntime | null {
  return rt;
}

/**
 * The convolution kernel variant for this device: "shared" (workgroup-memory tiles) on hardware
 * adapters that allow 256-invocation workgroups, else "register".
 */
export function defaultConvVariant(): "register" | "shared" {
  return rt && !rt.software && rt.limits.maxComputeInvocationsPerWorkgroup >= 256
    ? "shared"
    : "register";
}

/**
 * Selects the convolution kernel variant: "register" (no workgroup memory; the default on
 * software adapters) or "shared" (workgroup-memory tiles; the default on hardware adapters).
 * Applies to programs compiled afterwards.
 */
export function setConvVariant(v: "register" | "shared"): void {
  if (v === "shared" && rt && rt.limits.maxComputeInvocationsPerWorkgroup < 256) {
    throw new RangeError(
      "setConvVariant: this device allows fewer than 256 invocations per workgroup",
    );
  }
  options.convVariant = v;
  eagerCache.clear();
}

/**
 * Plans kernels for tighter limits than the device's, e.g. a small
 * `maxComputeWorkgroupStorageSize` (a test hook: programs compiled afterwards, eager and jit,
 * are planned for them); `null` restores the device's limits.
 */
export function simulateLimits(over: LimitOverrides | null): void {
  runtime().simulateLimits(over);
  eagerCache.clear();
  gpuPrograms = new WeakMap();
}

/**
 * Runs a jitted program step by step on the GPU and reports each step's time (one sync per step;
 * a debugging aid). `args` are the program's arguments (webgpu arrays); constants are added here.
 */
export async function profileProgram(jaxpr: Jaxpr, args: Tensor[]): Promise<StepProfile[]> {
  const r = runtime();
  const gp = compileGpuPlan(r, lowerJaxpr(hoisted(jaxpr), lowerOptions(r, options)), options);
  const foreign = args.findIndex((x) => (x as ArrayValue).backend !== webgpuBackend);
  if (foreign >= 0) {
    throw new TypeError(
      `profileProgram: argument ${foreign} is not an array on the webgpu backend`,
    );
  }
  const ins = [
    ...jaxpr.consts.map((c) => constOnDevice(c as ArrayValue)),
    ...onDevice(args as ArrayValue[]),
  ];
  const { outputs, steps } = await profileGpuPlan(r, gp, ins, evalOp);
  for (const o of outputs) r.release(o);
  return steps;
}
