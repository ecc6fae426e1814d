// Every primitive of OPS renders to every kernel target without a GPU: each sample of
// tests/_op_samples.ts is lowered as an eager op, and each kernel of the plan renders to JS, Wasm
// and (for dtypes WebGPU has) WGSL; elementwise ops also on int32 and bool operands. Where
// navigator.gpu exists, the WGSL compiles (createShaderModule + getCompilationInfo).
import { test } from "node:test";
import assert from "node:assert/strict";
import { OPS } from "../lib/ops/registry.ts";
import type { Aval, OpDef } from "../lib/ops/_define.ts";
import type { DType } from "../lib/dtype.ts";
import type { Kernel } from "../lib/compile/kernel.ts";
import { aluDef } from "../lib/compile/alu.ts";
import { lowerOp } from "../lib/compile/lower.ts";
import { argDType, OP_SAMPLES, paramsOf } from "../tests/_op_samples.ts";
import { renderKernel } from "./render_js.ts";
import { renderWasmKernel } from "./render_wasm.ts";
import { renderKernelWgsl } from "./render_wgsl.ts";

const OPT = { workgroupSize: 64, maxWorkgroupsPerDim: 65535 };

/** The kernels of one eager application (steps and contraction epilogues). */
function kernelsOf(op: OpDef, params: unknown, ins: Aval[]): Kernel[] {
  const plan = lowerOp(op, params, ins, op.abstractEval(ins, params));
  return plan.steps.flatMap((s) =>
    s.kind === "kernel" ? [s.kernel] : s.epilogue ? [s.epilogue.kernel] : []
  );
}

const usesFloat64 = (k: Kernel) => k.outDtype === "float64" || k.inputs.includes("float64");

/** Renders a kernel to all targets; returns its WGSL sources (none for float64 kernels). */
function renderAll(k: Kernel, label: string): string[] {
  assert.equal(typeof renderKernel(k), "function", `${label}: js`);
  assert.equal(typeof renderWasmKernel(k), "function", `${label}: wasm`);
  if (usesFloat64(k)) return [];
  const r = renderKernelWgsl(k, OPT);
  assert.match(r.code, /fn main/, `${label}: wgsl`);
  return r.combine ? [r.code, r.combine.code] : [r.code];
}

/** Every sample of every primitive, as avals, in float32 and float64. */
function* applications(): Generator<[string, OpDef, unknown, Aval[]]> {
  for (const [name, op] of Object.entries(OPS) as [string, OpDef][]) {
    if (OP_SAMPLES[name].complex) continue; // complex primitives run as real ones (complexRule)
    for (const s of OP_SAMPLES[name].samples) {
      for (const dt of ["float32", "float64"] as const) {
        const ins = s.args.map((a) => ({ shape: a.shape, dtype: argDType(a, dt), weak: false }));
        yield [`${name} ${s.label} (${dt})`, op, paramsOf(s, dt), ins];
      }
    }
  }
}

/** Elementwise applications on int32 and bool operands (where the op accepts them). */
function* integerApplications(): Generator<[string, OpDef, unknown, Aval[]]> {
  for (const op of Object.values(OPS) as OpDef[]) {
    if (op.kind !== "elementwise") continue;
    for (const d of ["int32", "bool"] as DType[]) {
      const ins = Array.from({ length: op.arity }, (_, i) => ({
        shape: [2, 4],
        dtype: i === 0 && op.arity === 3 ? "bool" as DType : d,
        weak: false,
      }));
      const params = op.name === "convert" ? { dtype: d === "bool" ? "int32" : "bool" } : {};
      try {
        op.abstractEval(ins, params);
      } catch {
        continue; // the op refuses these dtypes
      }
      yield [`${op.name} (${d})`, op, params, ins];
    }
  }
}

const wgslSources = new Map<string, string>();

test("every primitive renders to JS, Wasm and WGSL", () => {
  // complex / real / imag never reach a kernel: programs run their real forms (complexRule)
  const ops = new Set<string>(Object.keys(OPS).filter((n) => OP_SAMPLES[n].complex));
  for (const src of [applications(), integerApplications()]) {
    for (const [label, op, params, ins] of src) {
      for (const [i, k] of kernelsOf(op, params, ins).entries()) {
        for (const code of renderAll(k, `${label} k${i}`)) wgslSources.set(code, label);
      }
      ops.add(op.name);
    }
  }
  assert.deepEqual([...ops].sort(), Object.keys(OPS).sort());
  assert.ok(wgslSources.size > 50);
});

test("every elementwise primitive is in the kernel IR's op table with its arity", () => {
  for (const op of Object.values(OPS) as OpDef[]) {
    if (op.kind !== "elementwise") continue;
    const d = aluDef(op.name);
    assert.equal(d.arity, op.arity, op.name);
    assert.equal(d.scalar, op.scalar, op.name);
  }
  assert.throws(() => aluDef("reduceSum"), TypeError);
});

interface Gpu {
  requestAdapter(): Promise<{ requestDevice(): Promise<GpuDevice> } | null>;
}
interface GpuDevice {
  createShaderModule(d: { code: string }): {
    getCompilationInfo(): Promise<{ messages: { type: string; message: string }[] }>;
  };
  destroy(): void;
}
const gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;

test("the WGSL of every primitive compiles", { skip: !gpu && "no navigator.gpu" }, async (t) => {
  const adapter = await gpu!.requestAdapter();
  if (!adapter) return t.skip("no adapter");
  const device = await adapter.requestDevice();
  try {
    for (const [code, label] of wgslSources) {
      const info = await device.createShaderModule({ code }).getCompilationInfo();
      const errors = info.messages.filter((m) => m.type === "error").map((m) => m.message);
      assert.deepEqual(errors, [], `${label}:\n${code}`);
    }
  } finally {
    device.destroy();
  }
});
