/**
 * float16 as 2-byte `f16` storage on WebGPU (devices with "shader-f16"; here Mesa lavapipe through
 * scripts/lavapipe.sh, which sets TRACEGRAD_LAVAPIPE=1 so that these tests cannot silently run the
 * f32-word path) against the CPU backend, eager and jit, odd sizes; and the WGSL of that path.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, lax, np, type Tensor } from "../mod.ts";
import type { ArrayValue } from "../lib/core.ts";
import type { DType } from "../lib/dtype.ts";
import type { Kernel } from "../lib/compile/kernel.ts";
import type { Plan } from "../lib/compile/lower.ts";
import { renderKernelWgsl } from "../kernels/render_wgsl.ts";
import { renderDot } from "../kernels/wgsl/matmul.ts";
import { renderScan, renderSort } from "../kernels/wgsl/sort.ts";
import { bind1 } from "../lib/core.ts";
import { cummaxOp, cumsumOp } from "../lib/ops/sort.ts";
import { webgpuRuntime, webgpuStats } from "../lib/backend/webgpu/backend.ts";
import type { GpuArray } from "../lib/backend/webgpu/runtime.ts";
import { viaF32Words } from "../lib/backend/webgpu/f16_steps.ts";
import { deviceWords, hostArray } from "../lib/backend/webgpu/words.ts";
import { allocTyped } from "../lib/dtype.ts";
import { f16roundEmulated } from "../lib/float16.ts";
import type { CStep } from "../lib/backend/webgpu/plan.ts";
import { webgpuReady } from "./_webgpu_env.ts";
import { onBackend as on, prng } from "./_prop_util.ts";

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
const LAVAPIPE = (G.Deno?.env.get("TRACEGRAD_LAVAPIPE") ?? G.process?.env?.TRACEGRAD_LAVAPIPE) ===
  "1";
const READY = await webgpuReady();
const F16 = READY && webgpuRuntime()!.f16;
const skip = F16 ? false : "no WebGPU device with shader-f16 (run under scripts/lavapipe.sh)";

describe(
  "f16 storage under lavapipe",
  { skip: LAVAPIPE ? false : "TRACEGRAD_LAVAPIPE unset" },
  () => {
    test("the device was created with shader-f16 and stores float16 in 2 bytes", () => {
      assert.ok(READY, "WebGPU did not initialize under lavapipe");
      const rt = webgpuRuntime()!;
      assert.ok(rt.shaderF16, `adapter ${rt.description} lacks shader-f16`);
      assert.ok(rt.f16, "float16 is not stored as f16");
    });
  },
);

/** Values in [lo, hi) rounded by np.array to float16, deterministic. */
function data(n: number, seed: number, lo = -4, hi = 4): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => lo + (hi - lo) * r());
}

/** `f` on the CPU backend and on WebGPU (eager and jit) from the same host values. */
async function compare(
  what: string,
  f: (...xs: Tensor[]) => Tensor,
  args: { v: number[]; shape: number[]; dtype?: DType }[],
  ulps = 0,
): Promise<void> {
  const make = () =>
    args.map((a) => np.array(a.v, { dtype: a.dtype ?? "float16" }).reshape(a.shape));
  // jit fuses: both backends then round float16 chains once, on store (eager: after every op)
  for (const [mode, g] of [["eager", f], ["jit", jit(f)]] as const) {
    const want = on("cpu", () => {
      const r = g(...make());
      return {
        dtype: r.dtype,
        shape: r.shape,
        data: Array.from(r.dataSync() as ArrayLike<number>),
      };
    });
    const r = on("webgpu", () => g(...make()));
    assert.equal(r.dtype, want.dtype, `${what} (${mode}): dtype`);
    assert.deepEqual(r.shape, want.shape, `${what} (${mode}): shape`);
    const got = Array.from(await r.data() as ArrayLike<number>);
    assert.equal(got.length, want.data.length);
    for (let i = 0; i < got.length; i++) {
      const [a, b] = [got[i], want.data[i]];
      if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
      // a fused chain computes in float32 on the GPU, in float64 on the CPU: one rounding apart
      const tol = (mode === "jit" ? Math.max(ulps, 1) : ulps) * 2 ** -10 *
        Math.max(Math.abs(b), 2 ** -14) * 1.01;
      assert.ok(Math.abs(a - b) <= tol, `${what} (${mode}): element ${i} is ${a}, the CPU ${b}`);
    }
  }
}

describe("float16 with f16 storage on WebGPU equals the CPU backend", { skip }, () => {
  test("storage: 2 bytes per element, whole words, special values round-trip", async () => {
    const special = [NaN, Infinity, -Infinity, -0, 0, 65504, -65504, 2 ** -24, -(2 ** -14), 0.1];
    for (const n of [1, 3, 5, special.length]) {
      const v = special.slice(0, n);
      const t = on("webgpu", () => np.array(v, { dtype: "float16" }));
      const a = (t as unknown as ArrayValue).buffer as GpuArray;
      assert.equal(a.width, 2);
      assert.equal(a.bytes, Math.ceil(n / 2) * 4);
      const back = Array.from(await t.data() as ArrayLike<number>);
      const cpu = on("cpu", () => Array.from(np.array(v, { dtype: "float16" }).dataSync()));
      back.forEach((x, i) => assert.ok(Object.is(x, cpu[i]) || (isNaN(x) && isNaN(cpu[i]))));
    }
  });
  test("elementwise chains, odd sizes (rounded after every op like the CPU)", async () => {
    for (const n of [1, 7, 1001, 70001]) {
      const a = { v: data(n, n), shape: [n] }, b = { v: data(n, n + 1, 0.5, 3), shape: [n] };
      await compare(
        `arith ${n}`,
        (x, y) => np.subtract(np.multiply(np.add(x, y), x), np.divide(x, y)),
        [a, b],
      );
      await compare(
        `select ${n}`,
        (x, y) => np.where(np.greater(x, y), np.maximum(x, 1), np.negative(y)),
        [a, b],
      );
      await compare(`overflow ${n}`, (x) => np.multiply(x, 30000), [a]);
      await compare(`exp * tanh ${n}`, (x, y) => np.multiply(np.exp(x), np.tanh(y)), [a, b], 3);
    }
  });
  test("broadcasts, scalars and float16 mixed with float32 and int32", async () => {
    const x = { v: data(3 * 37, 5), shape: [3, 37] };
    const y = { v: data(37, 6), shape: [37] };
    const z = { v: data(3, 7), shape: [3, 1], dtype: "float32" as const };
    const k = { v: [1, -2, 3], shape: [3, 1], dtype: "int32" as const };
    await compare("broadcast", (a, b) => np.multiply(np.add(a, b), 0.5), [x, y]);
    await compare("with float32", (a, c) => np.add(a, c), [x, z]);
    await compare("with int32", (a, c) => np.multiply(a, c), [x, k]);
  });
  test("casts to and from float16", async () => {
    const big = { v: [1e5, -7e4, 65519, 65520, 1 + 2 ** -11, 3 * 2 ** -25, 0.3], shape: [7] };
    await compare("float32 -> float16", (a) => a.astype("float16"), [{ ...big, dtype: "float32" }]);
    const x = { v: data(9, 8, -300, 300), shape: [9] };
    await compare("float16 -> int32/uint8/bool/float32", (a) =>
      np.stack([
        a.astype("int32").astype("float32"),
        a.astype("uint8").astype("float32"),
        a.astype("bool").astype("float32"),
        a.astype("float32"),
      ]), [x]);
    await compare("int32 -> float16", (a) => a.astype("float16"), [{
      v: [70000, -3, 2049],
      shape: [3],
      dtype: "int32",
    }]);
  });
  test("reductions accumulate in float32 and round once (loop, tree and split forms)", async () => {
    for (const [rows, cols] of [[5, 3], [3, 5001], [1, 200001], [257, 129]]) {
      const x = { v: data(rows * cols, rows + cols, 0, 1), shape: [rows, cols] };
      await compare(`sum ${rows}x${cols}`, (a) => np.sum(a, { axis: 1 }), [x], 1);
      await compare(
        `max/mean ${rows}x${cols}`,
        (a) => np.stack([np.max(a, { axis: 1 }), np.mean(a, { axis: 1 })]),
        [x],
        1,
      );
      await compare(`sum of squares ${rows}x${cols}`, (a) => np.sum(np.multiply(a, a)), [x], 1);
    }
  });
  test("matmul and conv accumulate in float32, with fused epilogues", async () => {
    const l = { v: data(17 * 33, 1, 0, 1), shape: [17, 33] };
    const r = { v: data(33 * 9, 2, 0, 1), shape: [33, 9] };
    const bias = { v: data(9, 3, 0, 1), shape: [9] };
    await compare("matmul", (a, b) => np.matmul(a, b), [l, r], 1);
    await compare("matmul + bias, relu", (a, b, c) => np.maximum(np.add(np.matmul(a, b), c), 0.5), [
      l,
      r,
      bias,
    ], 1);
    const img = { v: data(2 * 3 * 11, 4, 0, 1), shape: [2, 3, 11] };
    const w = { v: data(5 * 3 * 3, 5, 0, 1), shape: [5, 3, 3] };
    await compare("conv", (a, b) => lax.conv(a, b, [1], "SAME"), [img, w], 1);
  });
  test("gather, scatter-add, sort, argsort and cumsum on odd lengths", async () => {
    const x = { v: data(101, 9), shape: [101] };
    const i = { v: [0, 100, 3, 3, 50], shape: [5], dtype: "int32" as const };
    const u = { v: data(5, 10), shape: [5] };
    await compare("gather", (a, idx) => a.slice(idx), [x, i]);
    await compare("scatter-add", (a, idx, b) => a.at(idx).add(b), [x, i, u], 1);
    await compare("sort", (a) => np.sort(a), [x]);
    await compare("argsort", (a) => np.argsort(a), [x]);
    await compare("cumsum", (a) => np.cumsum(a), [{ v: data(101, 11, 0, 1), shape: [101] }], 1);
    const m = { v: data(7 * 9, 15), shape: [7, 9] };
    const rev = (op: typeof cumsumOp) => (a: Tensor) => bind1(op, [a], { axis: 0, reverse: true });
    await compare("reverse cumsum along axis 0", rev(cumsumOp), [m], 1);
    await compare("reverse cummax along axis 0", rev(cummaxOp), [m]);
    await compare("sort along axis 0", (a) => np.sort(a, { axis: 0 }), [m]);
  });
  test("fused kernels and matmul read f16 themselves: one dispatch, no widen/pack passes", async () => {
    const x = on("webgpu", () => np.array(data(65, 13), { dtype: "float16" }).reshape([5, 13]));
    const y = on("webgpu", () => np.array(data(13 * 3, 14), { dtype: "float16" }).reshape([13, 3]));
    const progs: ((a: Tensor, b: Tensor) => Tensor)[] = [
      jit((a: Tensor, _b: Tensor) => np.tanh(np.multiply(a, 2))),
      jit((a: Tensor, _b: Tensor) => np.sum(a, { axis: 1 })),
      jit((a: Tensor, b: Tensor) => np.matmul(a, b)),
    ];
    for (const [i, f] of progs.entries()) {
      await on("webgpu", () => f(x, y)).data(); // compiled
      const d0 = webgpuStats()!.dispatches;
      const r = on("webgpu", () => f(x, y));
      assert.equal(webgpuStats()!.dispatches - d0, 1, `program ${i}`);
      await r.data();
    }
  });
  test("gradients in float16", async () => {
    const x = { v: data(33, 12, -2, 2), shape: [33] };
    await compare("grad", grad((a: Tensor) => np.sum(np.multiply(np.tanh(a), a))), [x], 1);
  });
});

describe("f16 storage in WGSL (no device needed)", () => {
  const ld = (d: DType, input: number, name = "i0") =>
    ({ k: "load", input, index: { k: "var", name }, dtype: d }) as const;
  const opt = { workgroupSize: 64, maxWorkgroupsPerDim: 65535, f16: true };
  test("uploads hold binary16 bits padded to whole words; reads give the float16 array back", () => {
    const v = [1, NaN, 65504, -0, -Infinity, 2 ** -24, 0.1];
    const host = allocTyped("float16", v.length);
    v.forEach((x, i) => (host[i] = f16roundEmulated(x))); // as a Float32Array fallback holds them
    const bits = deviceWords(host, "float16", true) as Uint16Array;
    assert.ok(bits instanceof Uint16Array);
    assert.deepEqual(Array.from(bits), [0x3c00, 0x7e00, 0x7bff, 0x8000, 0xfc00, 1, 0x2e66, 0]);
    const back = hostArray("float16", bits.buffer as ArrayBuffer, v.length, true);
    assert.equal(back.constructor, host.constructor);
    back.forEach((x, i) => assert.ok(Object.is(x, host[i]) || (isNaN(x) && isNaN(host[i]))));
    // the f32-word layout is unchanged
    assert.ok(deviceWords(host, "float16") instanceof Float32Array);
  });
  test("a float16 map kernel reads and writes f16, computing in f32", () => {
    const k: Kernel = {
      outShape: [9],
      outDtype: "float16",
      inputs: ["float16", "float32"],
      body: { k: "alu", op: "add", args: [ld("float16", 0), ld("float32", 1)], dtype: "float16" },
    };
    const code = renderKernelWgsl(k, opt).code;
    assert.match(code, /^enable f16;/);
    assert.match(code, /in0: array<f16>/);
    assert.match(code, /in1: array<f32>/);
    assert.match(code, /out: array<f16>/);
    assert.match(code, /f32\(in0\[/);
    assert.match(code, /out\[o\] = tg_tof16\(/);
    assert.doesNotMatch(code, /arrayLength/); // a padded f16 binding is longer than the array
    assert.doesNotMatch(renderKernelWgsl(k, { ...opt, f16: false }).code, /f16>/);
  });
  test("a float16 sum accumulates in f32; a split one keeps f32 partials", () => {
    const k = (n: number): Kernel => ({
      outShape: [1],
      outDtype: "float16",
      inputs: ["float16"],
      body: ld("float16", 0, "r0"),
      reduce: { op: "sum", shape: [n] },
    });
    const small = renderKernelWgsl(k(100), opt);
    assert.match(small.code, /var acc: f32/);
    assert.match(small.code, /out: array<f16>/);
    const split = renderKernelWgsl(k(1 << 20), opt);
    assert.ok(split.combine, "a long reduction is split");
    assert.match(split.code, /out: array<f32>/);
    assert.match(split.combine!.code, /^enable f16;/);
    assert.match(split.combine!.code, /partial: array<f32>/);
    assert.match(split.combine!.code, /out: array<f16>/);
  });
  test("a float16 matmul reads f16, accumulates in f32 and stores f16", () => {
    const p = { contract: [[1], [0]], batch: [[], []] } as Parameters<typeof renderDot>[2];
    const code = renderDot([3, 5], [5, 7], p, "float16", 65535, undefined, true).code;
    assert.match(code, /^enable f16;/);
    assert.match(code, /lb: array<f16>/);
    assert.match(code, /out: array<f16>/);
    assert.match(code, /let u0 = f32\(/);
    assert.match(code, /var a0_0 = f32\(0\)/);
    assert.match(code, /out\[o\] = tg_tof16\(/);
    assert.doesNotMatch(renderDot([3, 5], [5, 7], p, "float16", 65535).code, /array<f16>/);
  });
  test("sort and scans of float16 read f16; scans combine in f32 temporaries", () => {
    const x = { shape: [4, 5], dtype: "float16" as const, weak: false };
    const sort = renderSort(
      [x, { shape: [4, 5], dtype: "int32", weak: false }],
      { dimension: 1, numKeys: 1 },
      65535,
      true,
    );
    const codes = sort.dispatches.map((d) => d.code).join("\n");
    assert.match(codes, /k0: array<f16>/);
    assert.match(codes, /let a0 = f32\(k0\[/);
    assert.match(codes, /out0: array<f16>/);
    assert.match(codes, /out1: array<i32>/);
    const scan = renderScan("cumsum", x, { axis: 1, reverse: false }, 65535, true);
    assert.equal(scan.dispatches.length, 3); // passes of 1, 2, 4
    assert.match(scan.dispatches[0].code, /src: array<f16>/);
    assert.match(scan.dispatches[0].code, /dst: array<f32>/);
    assert.match(scan.dispatches[2].code, /src: array<f32>/);
    assert.match(scan.dispatches[2].code, /dst\[o\] = tg_tof16\(/);
    assert.deepEqual(scan.temps.map((t) => t.dtype), ["float32", "float32"]);
  });
  test("a step computing on f32 words gets its float16 buffers widened and packed", () => {
    const plan = {
      avals: [
        { shape: [5], dtype: "float16" },
        { shape: [5], dtype: "int32" },
        { shape: [5], dtype: "float16" },
      ],
    } as unknown as Plan;
    const step: CStep = {
      kind: "gpu",
      dispatches: [{ code: "main", wg: [1, 1, 1], bind: [0, 1, -1, 2] }],
      temps: [{ dtype: "float16", length: 5 }],
      outs: [2],
      drop: [],
    };
    const c = viaF32Words(plan, step, 65535);
    assert.equal(c.kind, "gpu");
    if (c.kind !== "gpu") return;
    assert.deepEqual(c.temps.map((t) => t.dtype), ["float32", "float32", "float32"]);
    assert.equal(c.dispatches.length, 3);
    assert.deepEqual(c.dispatches[0].bind, [0, -2]); // widen input 0
    assert.match(c.dispatches[0].code, /src: array<f16>/);
    assert.deepEqual(c.dispatches[1].bind, [-2, 1, -1, -3]);
    assert.deepEqual(c.dispatches[2].bind, [-3, 2]); // pack output 2
    assert.match(c.dispatches[2].code, /dst: array<f16>/);
  });
});
