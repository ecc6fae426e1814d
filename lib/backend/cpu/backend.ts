/**
 * The CPU backend: host typed arrays like the reference backend, with eager ops (cached per op,
 * params and input types) and whole jitted programs compiled to fused generated kernels; other
 * ops run their fast implementation when one exists, else the reference one.
 * @module
 */
import { roundHostOutputs, type TypedArray } from "../../dtype.ts";
import type { Aval, HostArray, OpDef } from "../../ops/_define.ts";
import { ArrayValue } from "../../core.ts";
import { hoistConsts, type Jaxpr } from "../../ir.ts";
import {
  eagerKey,
  lowerJaxpr,
  lowerOp,
  type LowerOptions,
  SMALL_CONV_MACS,
} from "../../compile/lower.ts";
import { convMacs } from "../../compile/conv_kernel.ts";
import {
  type CompiledPlan,
  compiledPlanBytes,
  compilePlan,
  describePlan,
  runPlan,
} from "../../compile/runner.ts";
import { ByteLru } from "../../cache.ts";
import { type Backend, registerBackend, setBackendImpl } from "../backend.ts";
import { hostBuffers, referenceBackend } from "../reference.ts";
import { settleHostAllocator } from "../../host_alloc.ts";
import { convF32 } from "./conv.ts";
import { directConvF32, prefersDirectConv } from "./direct_conv.ts";
import { clConvApplies, clConvF32 } from "./cl_conv.ts";
import { WINDOW_FAST_IMPLS } from "./window.ts";
import type { ConvParams } from "../../ops/conv_params.ts";
import type { DotParams } from "../../ops/dot.ts";
import { dotGeneralHost } from "./dot.ts";
import { dotGeneralF32 } from "./matmul.ts";
import { gatherFast, gatherPrefersBlocks, scatterAddFast } from "./index_ops.ts";
import { sortFast } from "./sort.ts";
import { solveFast } from "./linalg.ts";
import { choleskyFast, solveF64 } from "./linalg_f64.ts";
import { svdFast } from "./svd_bidiag.ts";
import { eighFast } from "./eigh_fast.ts";
import { qrFast } from "./qr_fast.ts";
import type { SolveParams } from "../../ops/linalg.ts";
import type { QrParams, SvdParams } from "../../ops/linalg_decomp.ts";
import type { SortParams } from "../../ops/sort.ts";
import type { GatherParams, ScatterParams } from "../../ops/gather_params.ts";
import { fftFast } from "./fft.ts";
import type { FftParams } from "../../ops/fft.ts";

/** Fast implementations of non-fused ops, installed by kernel modules (e.g. Wasm GEMM). */
const fastImpls = new Map<string, FastImpl>();

/**
 * A fast implementation of an op: its results, or null to fall back to the reference. `dest[k]`,
 * when given, is a buffer of output k's dtype and size (contents unspecified) that a jitted
 * program keeps between calls: writing every element of it and returning it saves an allocation.
 */
export type FastImpl = (
  inputs: HostArray[],
  params: unknown,
  outAvals: Aval[],
  dest?: (TypedArray | undefined)[],
) => TypedArray[] | null;

/** Which applications of an op that would fuse run as op steps with their fast implementation. */
const opStepPrefs = new Map<string, (ins: Aval[], params: unknown, outs: Aval[]) => boolean>();

/**
 * Registers a fast implementation for op `name`; returning null falls back to the reference.
 * `prefer`, for an op the compiler would fuse, says which applications run as an op step instead.
 */
export function registerFastImpl(
  name: string,
  f: FastImpl,
  prefer?: (ins: Aval[], params: unknown, outs: Aval[]) => boolean,
): void {
  fastImpls.set(name, f);
  if (prefer) opStepPrefs.set(name, prefer);
}

function runOp(
  op: OpDef,
  params: unknown,
  inputs: HostArray[],
  outAvals: Aval[],
  dest?: (TypedArray | undefined)[],
): TypedArray[] {
  const fast = fastImpls.get(op.name);
  const r = fast ? fast(inputs, params, outAvals, dest) : null;
  if (r) return roundHostOutputs(r, outAvals.map((a) => a.dtype));
  if (op.evalImpl) {
    // higher-order primitives without a compiled form yet (scan, cond, while) run their rule
    const args = inputs.map((h) =>
      new ArrayValue(h.data, { shape: h.shape, dtype: h.dtype, weak: false }, cpuBackend)
    );
    // host results are taken as they are unless they share memory with an input (then copied)
    return op.evalImpl(args, params, dest).map((t) => {
      const c = t._concrete();
      const b = c instanceof ArrayValue && c.backend === cpuBackend ? c.buffer as TypedArray : null;
      return b && !inputs.some((h) => overlaps(h.data, b)) ? b : c._valuesSync();
    });
  }
  return roundHostOutputs(op.impl(inputs, params, outAvals), outAvals.map((a) => a.dtype));
}

/** True when two typed arrays share bytes. */
function overlaps(a: TypedArray, b: TypedArray): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength;
}

const COMPILED = new Set(["elementwise", "reduce", "structural", "contraction"]);
/**
 * Convolutions the direct Wasm kernel prefers stay op steps (see direct_conv.ts), down to
 * this many multiply-adds: below it a generated JS kernel (which also fuses its producers and
 * consumer) is as fast; above it (e.g. W3's forward conv, 19440 MACs) the direct kernel wins.
 */
const DIRECT_CONV_MIN_MACS = 1 << 13;
/** The same threshold for the channels-last kernel (cl_conv.ts; W3's gradients included). */
const CL_CONV_MIN_MACS = 1 << 10;
const LOWER: LowerOptions = {
  opStep: (op, p, ins, outs) => opStepPrefs.get(op.name)?.(ins, p, outs) ?? false,
  directConv(l, r, out, p) {
    const macs = convMacs(l, r, out, p);
    if (macs >= CL_CONV_MIN_MACS && clConvApplies(l, r, out, p)) return true;
    if (!(macs >= DIRECT_CONV_MIN_MACS)) return false; // NaN for an empty kernel
    // a small one only with rows long enough for the kernel's vectors (e.g. not a weight gradient)
    const os = p.dimensionNumbers.out;
    if (macs < SMALL_CONV_MACS && !(out.shape[os[os.length - 1]] >= 8)) return false;
    return prefersDirectConv(l, r, out, p);
  },
};
/** Compiled eager ops (bounded: the "eager" cache limit, see `setCacheLimit`). */
const eagerCache = new ByteLru<string, CompiledPlan>(
  "eager",
  (cp, key) => 2 * key.length + compiledPlanBytes(cp),
);

/** Per op, its most recent eager plans, matched by params and input types without a key. */
const recentPlans = new WeakMap<
  OpDef,
  { params: unknown; avals: Aval[]; key: string; cp: CompiledPlan }[]
>();
const RECENT_PLANS = 4;

/** The compiled plan of an eager op (from `recentPlans`, else `eagerCache`, else compiled). */
function eagerPlan(op: OpDef, params: unknown, inAvals: Aval[], outAvals: Aval[]): CompiledPlan {
  let recent = recentPlans.get(op);
  if (!recent) recentPlans.set(op, recent = []);
  for (const r of recent) {
    if (sameAvals(r.avals, inAvals) && sameValue(r.params, params)) {
      // an entry the LRU has evicted is put back (it may still be in use)
      if (!eagerCache.has(r.key)) eagerCache.set(r.key, r.cp);
      return r.cp;
    }
  }
  const key = eagerKey(op, params, inAvals);
  let cp = eagerCache.get(key);
  if (!cp) eagerCache.set(key, cp = compilePlan(lowerOp(op, params, inAvals, outAvals, LOWER)));
  recent.unshift({ params, avals: inAvals, key, cp });
  if (recent.length > RECENT_PLANS) recent.pop();
  return cp;
}

function sameAvals(a: Aval[], b: Aval[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].dtype !== b[i].dtype || !sameValue(a[i].shape, b[i].shape)) return false;
  }
  return true;
}

/** Structural equality of params made of primitives, arrays and plain objects (else identity). */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b) || Object.getPrototypeOf(a) !== Object.prototype) return false;
  if (Object.getPrototypeOf(b) !== Object.prototype) return false;
  const ra = a as Record<string, unknown>, rb = b as Record<string, unknown>;
  let n = 0;
  for (const k in ra) {
    if (!Object.hasOwn(ra, k) || !Object.hasOwn(rb, k) || !sameValue(ra[k], rb[k])) return false;
    n++;
  }
  for (const k in rb) if (Object.hasOwn(rb, k)) n--;
  return n === 0;
}

const programs = new WeakMap<Jaxpr, CompiledPlan>();
/** The compiled plan of a jaxpr (constants become leading inputs). */
function compiled(j: Jaxpr): CompiledPlan {
  let cp = programs.get(j);
  if (!cp) {
    programs.set(j, cp = compilePlan(lowerJaxpr(j.constVars.length ? hoistConsts(j) : j, LOWER)));
  }
  return cp;
}

/** A host buffer of a cpu array, or of a jaxpr constant on another backend (read). */
function hostData(x: ArrayValue): TypedArray {
  const host = x.backend === cpuBackend || x.backend === referenceBackend;
  return (host ? x.buffer : x.backend.readSync(x.buffer, x.aval)) as TypedArray;
}

/** The CPU backend instance. */
export const cpuBackend: Backend = {
  name: "cpu",
  ...hostBuffers,
  execute(op: OpDef, params: unknown, inputs: ArrayValue[], outAvals: Aval[]): unknown[] {
    if (!COMPILED.has(op.kind) || op.name === "argmax" || op.name === "argmin") {
      const host = inputs.map((x) => ({
        data: hostData(x),
        shape: x.aval.shape,
        dtype: x.aval.dtype,
      }));
      return runOp(op, params, host, outAvals);
    }
    const inAvals = inputs.map((x) => x.aval);
    const cp = eagerPlan(op, params, inAvals, outAvals);
    const host: TypedArray[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) host[i] = hostData(inputs[i]);
    return runPlan(cp, host, runOp);
  },
  runProgram(jaxpr: Jaxpr, args: ArrayValue[]): unknown[] {
    const consts = (jaxpr.consts as ArrayValue[]).map(hostData);
    return runPlan(compiled(jaxpr), [...consts, ...args.map(hostData)], runOp);
  },
  programRunner(jaxpr: Jaxpr) {
    const cp = compiled(jaxpr);
    const consts = (jaxpr.consts as ArrayValue[]).map(hostData);
    return (ins: unknown[], dests?: (unknown | undefined)[]) =>
      runPlan(
        cp,
        (consts.length ? [...consts, ...ins] : ins) as TypedArray[],
        runOp,
        dests as (TypedArray | undefined)[] | undefined,
      );
  },
  describeProgram: (j: Jaxpr) => describePlan(compiled(j).plan),
};

registerBackend(cpuBackend);
setBackendImpl("cpu");
settleHostAllocator();

registerFastImpl("conv", ([l, r], p, [out], dest) => {
  const cp = p as ConvParams;
  const d = dest?.[0] instanceof Float32Array ? dest[0] : undefined;
  const res = clConvF32(l, r, cp, out, d) ??
    (prefersDirectConv(l, r, out, cp) ? directConvF32(l, r, cp, out, {}, d) : null) ??
    convF32(l, r, cp, out, d);
  return res ? [res] : null;
});
for (const [name, f] of Object.entries(WINDOW_FAST_IMPLS)) registerFastImpl(name, f);
registerFastImpl("dotGeneral", ([l, r], p, [out], dest) => [
  dotGeneralF32(l, r, p as DotParams, out, dest?.[0] as Float32Array | undefined) ??
    dotGeneralHost(l, r, p as DotParams, out, dest?.[0]),
]);
registerFastImpl("sort", (xs, p, outs, dest) => sortFast(xs, p as SortParams, outs, dest));
registerFastImpl(
  "solve",
  (xs, p, outs) => solveFast(xs, p as SolveParams, outs) ?? solveF64(xs, p as SolveParams, outs),
);
registerFastImpl("cholesky", ([x], _p, [out]) => choleskyFast(x, out));
registerFastImpl("svd", (xs, p, outs) => svdFast(xs, p as SvdParams, outs));
registerFastImpl("eigh", (xs, _p, outs) => eighFast(xs, outs));
registerFastImpl("qr", (xs, p, outs) => qrFast(xs, p as QrParams, outs));
registerFastImpl(
  "gather",
  (xs, p, outs, dest) => gatherFast(xs, p as GatherParams, outs, dest?.[0]),
  (ins, p) => gatherPrefersBlocks(ins, p as GatherParams),
);
registerFastImpl(
  "scatterAdd",
  (xs, p, outs, dest) => scatterAddFast(xs, p as ScatterParams, outs, dest?.[0]),
);
registerFastImpl("fft", ([x], p, [out], dest) => fftFast(x, p as FftParams, out, dest?.[0]));
