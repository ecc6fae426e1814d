/**
 * int8, uint8, uint32 and float16 on WebGPU (#13 item 5) against the reference backend: a
 * representative op set (elementwise with wraparound, casts, reductions, scans, sort, gather /
 * scatter-add, movement, matmul, pooling, random draws) eager and under jit, plus the WGSL that the
 * narrow dtypes render to (float16 rounding, int wrapping). Skipped where there is no WebGPU.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, np, random, type Tensor } from "../mod.ts";
import type { DType } from "../lib/dtype.ts";
import { f16roundEmulated } from "../lib/float16.ts";
import * as nn from "../lib/nn.ts";
import { renderKernelWgsl } from "../kernels/render_wgsl.ts";
import type { Kernel } from "../lib/compile/kernel.ts";
import { webgpuRuntime } from "../lib/backend/webgpu/backend.ts";
import { webgpuReady } from "./_webgpu_env.ts";
import { bind1 } from "../lib/core.ts";
import type { OpDef } from "../lib/ops/_define.ts";
import * as ew from "../lib/ops/elementwise.ts";
import { OPS } from "../lib/ops/registry.ts";
import { OP_SAMPLES, paramsOf, sampleArgsAs } from "./_op_samples.ts";
import { onBackend as on } from "./_prop_util.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

const NEW_DTYPES: DType[] = ["int8", "uint8", "uint32", "float16"];

/** Two [2, 4] operands per dtype whose sums and products leave the dtype's range. */
const DATA: Record<string, [number[], number[]]> = {
  int8: [[100, -100, 7, -128, 127, 55, -3, 0], [100, 29, -7, -1, 1, 3, 0, -128]],
  uint8: [[200, 3, 255, 0, 128, 17, 99, 1], [100, 254, 1, 7, 128, 16, 0, 255]],
  uint32: [[4e9, 3, 2 ** 32 - 1, 0, 2 ** 31, 12345, 7, 1], [
    5e8,
    2 ** 32 - 2,
    1,
    9,
    2 ** 31,
    3,
    0,
    65537,
  ]],
  float16: [[0.1, 1.5, -2.25, 1000, 3.3, -0.7, 60000, 1e-5], [
    0.2,
    -1.5,
    4,
    0.5,
    7.7,
    2,
    30000,
    3,
  ]],
};

function operands(d: DType): [Tensor, Tensor] {
  const [a, b] = DATA[d];
  return [np.array(a, { dtype: d }).reshape([2, 4]), np.array(b, { dtype: d }).reshape([2, 4])];
}

type Case = [string, (x: Tensor, y: Tensor) => Tensor];
const small = (x: Tensor) => (x.dtype === "uint32" ? np.remainder(x, 2 ** 25) : x);

const bit = (op: OpDef, ...xs: Tensor[]) => bind1(op, xs);
const INT_CASES: Case[] = [
  [
    "bitwise and / or / xor / not",
    (x, y) => bit(ew.xorOp, bit(ew.orOp, x, y), bit(ew.notOp, bit(ew.andOp, x, y))),
  ],
];

/** The op set each new dtype runs on WebGPU (results compared with the reference backend). */
const CASES: Case[] = [
  ["add", (x, y) => np.add(x, y)],
  ["subtract", (x, y) => np.subtract(x, y)],
  ["multiply", (x, y) => np.multiply(x, y)],
  ["negative, abs, sign", (x) => np.stack([np.negative(x), np.abs(x), np.sign(x)])],
  ["maximum, minimum", (x, y) => np.stack([np.maximum(x, y), np.minimum(x, y)])],
  ["comparisons of wrapped sums", (x, y) => np.stack([np.less(np.add(x, y), x), np.equal(x, y)])],
  ["where", (x, y) => np.where(np.greater(x, y), x, y)],
  ["floorDivide, remainder", (x, y) => np.stack([np.floorDivide(x, y), np.remainder(x, y)])],
  [
    "astype float32 / int32",
    (x) => np.stack([x.astype("float32"), x.astype("int32").astype("float32")]),
  ],
  [
    "astype to every new dtype",
    (x) => np.stack(NEW_DTYPES.map((d) => x.astype(d).astype("float32"))),
  ],
  ["from float32", (x) => np.multiply(x.astype("float32"), 3.5).astype(x.dtype)],
  ["sum, max, min, argmax along an axis", (x) =>
    np.stack([
      np.sum(x, { axis: 1 }).astype("float32"),
      np.max(x, { axis: 1 }).astype("float32"),
      np.min(x, { axis: 1 }).astype("float32"),
      np.argmax(x, { axis: 1 }).astype("float32"),
    ])],
  ["long sum in the dtype", (x) => lax.reduceSum(np.tile(x, [64, 64]), [0, 1])],
  [
    "cumsum, cummax",
    (x) =>
      np.stack([
        np.cumsum(x, { axis: 1 }).astype("float32"),
        np.cummax(x, { axis: 1 }).astype("float32"),
      ]),
  ],
  [
    "sort, argsort",
    (x) => np.stack([np.sort(x).astype("float32"), np.argsort(x).astype("float32")]),
  ],
  ["gather and scatter-add", (x, y) => {
    const idx = np.array([1, 0, 1], { dtype: "int32" });
    return np.concatenate([
      x.slice(idx),
      x.at(idx).add(y.slice(np.array([0, 1, 0], { dtype: "int32" }))),
    ]);
  }],
  [
    "transpose, pad, concatenate, slice",
    (x, y) =>
      np.concatenate([
        np.pad(np.transpose(x), [[0, 0], [1, 0]]),
        lax.dynamicSlice(np.transpose(y), [0, 1], [4, 1]),
      ], 1),
  ],
  // uint32: operands below 2^25, so the reference's float64 sums are exact (and still wrap)
  ["matmul", (x, y) => np.matmul(small(x), np.transpose(small(y)))],
  ["maxPool", (x) => nn.maxPool(x.reshape([1, 1, 2, 4]), { window: [1, 2] })],
  ["reduceWindow sum (a wrapping window sum)", (x) => lax.reduceWindow(x, 0, "sum", [2, 2])],
  [
    "conv",
    (x, y) =>
      lax.conv(
        small(x).reshape([1, 2, 4]),
        lax.dynamicSlice(small(y).reshape([1, 2, 4]), [0, 0, 0], [1, 2, 3]),
        [
          1,
        ],
        "SAME",
      ),
  ],
];

function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  d: DType,
  what: string,
  ulps = 1,
) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (Object.is(g, w) || g === w || (Number.isNaN(g) && Number.isNaN(w))) continue;
    // float16 computes in float32 on the GPU and in float64 on the reference: one float16 ulp
    const tol = d === "float16" ? ulps * 2 ** -10 * Math.max(Math.abs(w), 2 ** -14) * 1.01 : 0;
    assert.ok(Math.abs(g - w) <= tol, `${what}: element ${i} is ${g}, the reference ${w}`);
  }
}

for (const d of NEW_DTYPES) {
  describe(`${d} on WebGPU equals the reference`, { skip }, () => {
    const cases = d === "float16" ? CASES : [...CASES, ...INT_CASES];
    for (const [name, f] of cases) {
      test(name, async () => {
        const want = on("reference", () => {
          const r = f(...operands(d));
          return { dtype: r.dtype, data: Array.from(r.dataSync() as ArrayLike<number>) };
        });
        const [x, y] = on("webgpu", () => operands(d));
        for (const [mode, g] of [["eager", f], ["jit", jit(f)]] as const) {
          const r = on("webgpu", () => g(x, y));
          assert.equal(r.dtype, want.dtype, `${mode}: dtype`);
          const got = await r.data();
          assert.equal(
            got.constructor,
            np.zeros([1], { dtype: want.dtype }).dataSync().constructor,
          );
          assertClose(got as ArrayLike<number>, want.data, d, `${d} ${name} (${mode})`);
        }
      });
    }
  });
}

describe("every primitive's float samples in float16 on WebGPU (eager and jit)", { skip }, () => {
  for (const [name, op] of Object.entries(OPS) as [string, OpDef][]) {
    const samples = OP_SAMPLES[name].samples.filter((s) =>
      !OP_SAMPLES[name].complex && s.args.some((a) => a.dtype === "float") &&
      !/float(32|64)/.test(JSON.stringify(paramsOf(s, "float32") ?? {}))
    );
    if (!samples.length) continue;
    test(name, async () => {
      for (const s of samples) {
        const params = paramsOf(s, "float32");
        const run = () => [
          bind1(op, sampleArgsAs(s, "float16", 7), params),
          (jit((...xs: Tensor[]) => bind1(op, xs, params)))(...sampleArgsAs(s, "float16", 7)),
        ];
        let ref: Tensor;
        try {
          ref = on("reference", run)[0];
        } catch (e) {
          // ops without float16 (complex parts take float32 / float64): refused on every backend
          if (e instanceof TypeError && /float16/.test(e.message)) continue;
          throw e;
        }
        const want = Array.from(ref.dataSync() as ArrayLike<number>);
        const got = on("webgpu", run);
        for (const [k, g] of got.entries()) {
          assert.equal(g.dtype, ref.dtype);
          // float32 compute on the GPU vs float64 on the reference, both rounded to float16
          const d = Array.from(await g.data() as ArrayLike<number>);
          want.forEach((w, i) => {
            if (g.dtype === "float16" && !Object.is(d[i], f16roundEmulated(d[i]))) {
              assert.fail(`${name} (${s.label}): element ${i} = ${d[i]} is not a float16 value`);
            }
            if (Object.is(d[i], w) || (Number.isNaN(d[i]) && Number.isNaN(w))) return;
            assert.ok(
              Math.abs(d[i] - w) <= 4e-3 * Math.abs(w) + 1e-3,
              `${name} (${s.label}) ${k ? "jit" : "eager"}: element ${i} is ${
                d[i]
              }, the reference ${w}`,
            );
          });
        }
      }
    });
  }
});

describe("float16 math on WebGPU", { skip }, () => {
  test("exp, log, sqrt, tanh, mean and a float16 round trip equal the reference", async () => {
    const f = (x: Tensor) =>
      np.stack([
        np.exp(x),
        np.log(np.abs(x)),
        np.sqrt(np.abs(x)),
        np.tanh(x),
        np.tile(np.mean(x).reshape([1]), [8]),
      ]);
    const xs = [0.1, 1.5, -2.25, 10, 3.3, -0.7, 6, 1e-3];
    const want = on(
      "reference",
      () => Array.from(f(np.array(xs, { dtype: "float16" })).dataSync()),
    );
    const got = await on("webgpu", () => jit(f)(np.array(xs, { dtype: "float16" }))).data();
    assertClose(got as ArrayLike<number>, want, "float16", "float16 math");
  });
  test("values are rounded to float16 where they become float16, ties to even, overflow to Infinity", async () => {
    const xs = [1 + 2 ** -11, 1 + 3 * 2 ** -11, 65519, 65520, -1e6, 2 ** -25 * 1.5, 1 / 3, NaN];
    const got = await on(
      "webgpu",
      () =>
        jit((x: Tensor) => np.multiply(x, 1).astype("float16"))(np.array(xs, { dtype: "float32" })),
    ).data();
    assert.deepEqual(Array.from(got as ArrayLike<number>), xs.map(f16roundEmulated));
    // a fused float32 -> float16 -> float32 round trip rounds in the middle of a kernel
    const mid = await on(
      "webgpu",
      () => jit((x: Tensor) => np.add(x.astype("float16").astype("float32"), 0))(np.array([1 / 3])),
    ).data();
    assert.equal(mid[0], f16roundEmulated(1 / 3));
  });
  test("uniform and normal draws in float16", async () => {
    for (const draw of [random.uniform, random.normal]) {
      const key = random.key(3);
      const want = on(
        "reference",
        () => Array.from(draw(key, [64], { dtype: "float16" }).dataSync()),
      );
      const r = on("webgpu", () => draw(random.key(3), [64], { dtype: "float16" }));
      assert.equal(r.dtype, "float16");
      const got = Array.from(await r.data() as ArrayLike<number>);
      got.forEach((v) => assert.equal(v, f16roundEmulated(v)));
      // normal: the reference rounds its uniform to float16 before the inverse erf (in float64),
      // the GPU computes the draw in float32 and rounds once
      assertClose(got, want, "float16", `${draw.name} float16`, draw === random.normal ? 8 : 1);
    }
  });
  test("float16 storage is 2-byte f16 where the adapter has shader-f16, else f32 words", () => {
    const rt = webgpuRuntime()!;
    assert.equal(typeof rt.shaderF16, "boolean");
    assert.equal(rt.f16, rt.shaderF16);
    const t = on("webgpu", () => np.array([1, 2, 3], { dtype: "float16" }));
    const a = (t as unknown as { buffer: { width: number; bytes: number } }).buffer;
    assert.deepEqual([a.width, a.bytes], rt.f16 ? [2, 8] : [4, 12]);
  });
});

describe("narrow dtypes render to WGSL (no device needed)", () => {
  const kernel = (d: DType, body: Kernel["body"]): Kernel => ({
    outShape: [8],
    outDtype: d,
    inputs: [d, d],
    body,
  });
  const load = (d: DType, input: number) =>
    ({ k: "load", input, index: { k: "var", name: "i0" }, dtype: d }) as const;
  const opt = { workgroupSize: 64, maxWorkgroupsPerDim: 65535 };
  test("int8 and uint8 are i32 words wrapped after arithmetic; uint32 is native u32", () => {
    const add = (d: DType) =>
      renderKernelWgsl(
        kernel(d, { k: "alu", op: "add", args: [load(d, 0), load(d, 1)], dtype: d }),
        opt,
      ).code;
    assert.match(add("int8"), /array<i32>/);
    assert.match(add("int8"), /= extractBits\(\(t\d \+ t\d\), 0u, 8u\);/);
    assert.match(add("uint8"), /& 255\)/);
    assert.match(add("uint32"), /array<u32>/);
    assert.doesNotMatch(add("uint32"), /extractBits|& 255/);
  });
  test("float16 is stored in f32 words and rounded on store by tg_f16r", () => {
    const d: DType = "float16";
    const code = renderKernelWgsl(
      kernel(d, { k: "alu", op: "mul", args: [load(d, 0), load(d, 1)], dtype: d }),
      opt,
    ).code;
    assert.match(code, /array<f32>/);
    assert.match(code, /fn tg_f16r\(x: f32\) -> f32/);
    assert.match(code, /out\[o\] = tg_f16r\(/);
  });
});
