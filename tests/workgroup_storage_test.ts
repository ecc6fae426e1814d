/**
 * Issue 17, item 3 (the workgroup-storage limit): kernels that stage data in workgroup memory
 * (the shared-tile convolution, reduction trees) fit the device's
 * `maxComputeWorkgroupStorageSize`, or fall back to kernels without it, at small simulated limits.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, makeJaxpr, np, setBackend, type Tensor } from "../mod.ts";
import { hoistConsts } from "../lib/ir.ts";
import { lowerJaxpr } from "../lib/compile/lower.ts";
import { renderKernelWgsl } from "../kernels/render_wgsl.ts";
import { workgroupBytes } from "../kernels/wgsl/expr.ts";
import { convGeometry, SHARED_TILE_BYTES } from "../kernels/wgsl/conv.ts";
import { convVariant, renderConv } from "../kernels/wgsl/conv_variants.ts";
import { resolveConvParams } from "../lib/ops/conv_params.ts";
import {
  defaultConvVariant,
  setConvVariant,
  simulateLimits,
  webgpuRuntime,
} from "../lib/backend/webgpu/backend.ts";
import { allCloseReport } from "./_test_utils.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";
const skipShared = skip ||
  (webgpuRuntime()!.limits.maxComputeInvocationsPerWorkgroup < 256
    ? "the device allows fewer than 256 invocations per workgroup"
    : false);

/** The fused kernels of a program (cpu lowering; the IR is backend-independent). */
function kernelsOf(f: (x: Tensor) => Tensor, x: Tensor) {
  const plan = lowerJaxpr(hoistConsts(makeJaxpr(f)(x)));
  return plan.steps.flatMap((s) => (s.kind === "kernel" ? [s.kernel] : []));
}

const LIMITS = [16384, 4096, 256, 64, 16, 8, 0];

test("workgroupBytes sizes var<workgroup> declarations", () => {
  assert.equal(workgroupBytes("fn main() {}"), 0);
  assert.equal(workgroupBytes("var<workgroup> p: array<f32, 64>;"), 256);
  assert.equal(
    workgroupBytes("var<workgroup> a: array<vec4<f32>, 256>;\nvar<workgroup> b : array<u32,8>;"),
    256 * 16 + 32,
  );
  assert.equal(workgroupBytes("var<workgroup> v: vec3<f32>;"), 16);
  assert.ok(Number.isNaN(workgroupBytes("var<workgroup> s: array<Foo, 4>;")));
});

test("reduction trees fit the workgroup storage limit or loop without workgroup memory", () => {
  const x = np.ones([2, 8192], { dtype: "float32" });
  for (const f of [(t: Tensor) => np.sum(t, { axis: 1 }), (t: Tensor) => np.max(t.mul(2))]) {
    const ks = kernelsOf(f, x);
    assert.ok(ks.some((k) => k.reduce), "a reduction kernel");
    for (const limit of LIMITS) {
      for (const k of ks) {
        const r = renderKernelWgsl(k, {
          workgroupSize: 64,
          maxWorkgroupsPerDim: 65535,
          maxWorkgroupStorage: limit,
        });
        for (const code of [r.code, r.combine?.code ?? ""]) {
          const bytes = workgroupBytes(code);
          assert.ok(bytes <= limit, `limit ${limit}: the kernel declares ${bytes} bytes`);
        }
        // the default (16384, WebGPU's minimum) keeps the 64-lane tree
        if (limit === 16384 && k.reduce) assert.equal(workgroupBytes(r.code), 256);
      }
    }
  }
});

test("the shared-tile convolution applies only where its tiles fit; else a register kernel", () => {
  const lhs = [2, 8, 16, 16], rhs = [16, 8, 3, 3];
  const p = resolveConvParams(lhs, rhs, [1, 1], "SAME");
  const g = convGeometry(lhs, rhs, [2, 16, 16, 16], p);
  for (const limit of [undefined, 16384, SHARED_TILE_BYTES, SHARED_TILE_BYTES - 4, 4096, 0]) {
    const tuning = {
      variant: "shared" as const,
      maxWorkgroupsPerDim: 65535,
      maxWorkgroupStorage: limit,
    };
    const v = convVariant(g, "float32", tuning);
    const fits = SHARED_TILE_BYTES <= (limit ?? 16384);
    assert.equal(v.name === "shared", fits, `limit ${limit}: variant ${v.name}`);
    if (!fits) assert.equal(v.family, "register");
    const ks = renderConv(g, "float32", tuning);
    const bytes = [ks.prep, ks.main, ks.reduce].map((d) => (d ? workgroupBytes(d.code) : 0));
    assert.ok(Math.max(...bytes) <= (limit ?? 16384), `limit ${limit}: ${bytes} bytes`);
    // the constant the variant is chosen by is what the kernel declares
    if (fits) assert.equal(bytes[1], SHARED_TILE_BYTES);
  }
});

async function onBackend(name: string, f: (...a: Tensor[]) => Tensor, xs: Tensor[]) {
  setBackend(name);
  try {
    const moved = xs.map((a) => np.array(a.dataSync(), { dtype: "float32", shape: a.shape }));
    return Array.from(await jit(f)(...moved).data());
  } finally {
    setBackend("cpu");
  }
}

test("webgpu: shared-tile kernels forced on run within a small simulated workgroup limit", {
  skip: skipShared,
}, async () => {
  const rt = webgpuRuntime()!;
  const r = (n: number, s: number) =>
    np.array(Array.from({ length: n }, (_, i) => Math.sin(i * s)), { dtype: "float32" });
  const x = r(2 * 8 * 12 * 12, 0.37).reshape([2, 8, 12, 12]);
  const w = r(16 * 8 * 9, 0.11).reshape([16, 8, 3, 3]);
  const v = r(3 * 20000, 0.013).reshape([3, 20000]);
  const conv = (x: Tensor, w: Tensor) => np.tanh(lax.convGeneralDilated(x, w, [1, 1], "SAME"));
  const red = (v: Tensor) => np.sum(v.mul(v), { axis: 1 });
  const wantConv = await onBackend("cpu", conv, [x, w]);
  const wantRed = await onBackend("cpu", red, [v]);
  setConvVariant("shared");
  try {
    for (const limit of [rt.limits.maxComputeWorkgroupStorageSize, 4096, 64, 8]) {
      simulateLimits({ maxComputeWorkgroupStorageSize: limit });
      assert.equal(rt.limits.maxComputeWorkgroupStorageSize, limit);
      // a kernel over the limit would throw here (runtime.pipeline checks every shader)
      const gotConv = await onBackend("webgpu", conv, [x, w]);
      const gotRed = await onBackend("webgpu", red, [v]);
      let bad = allCloseReport(gotConv, wantConv, { rtol: 1e-4, atol: 1e-5 });
      assert.equal(bad, null, `conv at limit ${limit}: ${bad}`);
      bad = allCloseReport(gotRed, wantRed, { rtol: 1e-5, atol: 1e-5 });
      assert.equal(bad, null, `sum at limit ${limit}: ${bad}`);
    }
    // the device limit let the shared tiles compile: the check above could have failed
    assert.ok(rt.stats.maxWorkgroupBytes >= SHARED_TILE_BYTES, `${rt.stats.maxWorkgroupBytes}`);
    simulateLimits({ maxComputeWorkgroupStorageSize: 1024 });
    assert.throws(
      () =>
        rt.pipeline(
          "var<workgroup> t: array<f32, 512>;\n@compute @workgroup_size(1) fn main() { t[0] = 1.0; }",
        ),
      (e: Error) =>
        e instanceof RangeError && /2048 bytes of workgroup memory.*1024/.test(e.message),
    );
    assert.throws(() => simulateLimits({ maxComputeWorkgroupStorageSize: 1 << 30 }), RangeError);
  } finally {
    simulateLimits(null);
    setConvVariant(defaultConvVariant());
  }
});
