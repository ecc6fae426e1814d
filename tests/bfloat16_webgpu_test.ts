/**
 * bfloat16 on WebGPU (stored as f32 words, rounded to bfloat16 after every op by `tg_bf16r`):
 * rounding, every primitive's float samples against the reference backend (eager and jit), jit
 * vs eager, gradients and random draws. Skipped where there is no WebGPU.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, lax, np, random, type Tensor } from "../mod.ts";
import { bf16Bits, bf16round } from "../lib/bfloat16.ts";
import { webgpuReady } from "./_webgpu_env.ts";
import { onBackend as on } from "./_prop_util.ts";
import { bf16SampleCases, closeBf16Values, valuesOf, valuesOfAsync } from "./_bf16_util.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

describe("bfloat16 rounding on WebGPU", { skip }, () => {
  test("ties to even, overflow to Infinity, NaN stays NaN, eager and fused", async () => {
    const xs = [1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3895e38, 3.3962e38, -1e39, 1 / 3, NaN, -2.5];
    const want = xs.map((x) => bf16Bits(Math.fround(x)));
    const x32 = () => np.array(xs, { dtype: "float32" });
    const eager = await on("webgpu", () => x32().astype("bfloat16")).data();
    assert.deepEqual([...eager], want);
    const fused = await on(
      "webgpu",
      () => jit((x: Tensor) => np.multiply(x, 1).astype("bfloat16"))(x32()),
    )
      .data();
    assert.deepEqual([...fused], want);
    // a float32 -> bfloat16 -> float32 round trip inside one kernel rounds in the middle
    const mid = await on(
      "webgpu",
      () =>
        jit((x: Tensor) => np.add(x.astype("bfloat16").astype("float32"), 0))(np.array([1 / 3])),
    ).data();
    assert.equal(mid[0], bf16round(1 / 3));
  });
});

describe(
  "every primitive's float samples in bfloat16 on WebGPU equal the reference (eager and jit)",
  {
    skip,
  },
  () => {
    for (const { name, run } of bf16SampleCases()) {
      test(name, async () => {
        const ref = on("reference", () => run(false));
        if (!ref) return; // refused with a TypeError naming bfloat16 on every backend
        for (const jitted of [false, true]) {
          const got = on("webgpu", () => run(jitted))!;
          assert.equal(got.length, ref.length);
          for (const [k, g] of got.entries()) {
            // float32 compute on the GPU vs float64 on the reference, both rounded to bfloat16
            closeBf16Values(
              { dtype: g.dtype, values: await valuesOfAsync(g) },
              { dtype: ref[k].dtype, values: valuesOf(ref[k]) },
              `${name}${jitted ? " jit" : ""} out ${k}`,
              2,
            );
          }
        }
      });
    }
  },
);

describe("bfloat16 transforms and draws on WebGPU", { skip }, () => {
  const xs = [0.1, 0.7, -1.3, 2.2, 3.5, -0.25, 1e-3, 7];
  test("jit equals eager bit for bit on an elementwise chain", async () => {
    const chain = (x: Tensor) => np.multiply(np.add(np.multiply(x, 1.7), np.square(x)), x);
    const x = () => np.array(xs, { dtype: "bfloat16" });
    const eager = await on("webgpu", () => chain(x())).data();
    const fused = await on("webgpu", () => jit(chain)(x())).data();
    assert.deepEqual([...fused], [...eager]);
  });
  test("grad is bfloat16 and matches the CPU's within an ulp or two", async () => {
    const f = (x: Tensor) => np.sum(np.multiply(np.sin(x), x));
    const want = on("cpu", () => valuesOf(grad(f)(np.array(xs, { dtype: "bfloat16" }))));
    const g = on("webgpu", () => jit(grad(f))(np.array(xs, { dtype: "bfloat16" })));
    closeBf16Values(
      { dtype: g.dtype, values: await valuesOfAsync(g) },
      { dtype: "bfloat16", values: want },
      "grad",
      2,
    );
  });
  test("sums, matmul and conv accumulate in float32 (the float32 sum rounded once)", async () => {
    const want = bf16round(4096 * bf16round(0.01));
    const got = await on("webgpu", () => {
      const x = np.full([4096], 0.01, { dtype: "bfloat16" });
      const a = np.full([1, 4096], 0.01, { dtype: "bfloat16" });
      const m = np.matmul(a, np.ones([4096, 1], { dtype: "bfloat16" }));
      const c = lax.convGeneralDilated(
        a.reshape([1, 1, 4096]),
        np.ones([1, 1, 4096], { dtype: "bfloat16" }),
        [1],
        "VALID",
      );
      return np.stack([
        np.sum(x),
        jit((x: Tensor) => np.sum(np.multiply(x, 1)))(x),
        m.reshape([]),
        c.reshape([]),
      ]);
    }).astype("float32").data();
    assert.deepEqual([...got], [want, want, want, want]);
  });
  test("uniform and normal draws in bfloat16", async () => {
    for (const draw of [random.uniform, random.normal]) {
      const r = on("webgpu", () => draw(random.key(3), [64], { dtype: "bfloat16" }));
      assert.equal(r.dtype, "bfloat16");
      const got = await valuesOfAsync(r);
      const want = on(
        "reference",
        () => valuesOf(draw(random.key(3), [64], { dtype: "bfloat16" })),
      );
      closeBf16Values(
        { dtype: "bfloat16", values: got },
        { dtype: "bfloat16", values: want },
        draw.name,
        8,
      );
    }
  });
});
