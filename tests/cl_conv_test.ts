/**
 * The CPU backend's channels-last convolution kernel (lib/backend/cpu/cl_conv.ts): NHWC/HWIO and
 * other layouts whose output feature is minor, against the float64 reference and the NumPy
 * fixtures (strides, padding, dilation, groups, feature tails, 1-3 spatial dims, NaN/Inf); which
 * convolutions take it (W3's forward and both gradients); values through eager, jit and grad.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { clConvApplies, clConvF32 } from "../lib/backend/cpu/cl_conv.ts";
import { convGeneralDilatedRef } from "../lib/ops/conv_ref.ts";
import {
  type ConvOptions,
  convOutputShape,
  type ConvParams,
  type Padding,
  resolveConvParams,
} from "../lib/ops/conv_params.ts";
import { convLhsGradParams, convRhsGradParams } from "../lib/ops/conv_grad_params.ts";
import {
  checkGrads,
  getBackend,
  grad,
  jit,
  lax,
  nn,
  np,
  setBackend,
  type Tensor,
  valueAndGrad,
} from "../mod.ts";
import { assertAllClose } from "./_test_utils.ts";
import convData from "./fixtures/conv_cases.json" with { type: "json" };
import { lowerOp } from "../lib/compile/lower.ts";
import { convOp } from "../lib/ops/conv.ts";
import { renderKernel } from "../kernels/render_js.ts";
import { renderWasmKernel } from "../kernels/render_wasm.ts";

interface Case {
  x: number[];
  w: number[];
  strides?: number[];
  padding?: Padding;
  opts?: ConvOptions;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const f32 = (shape: number[]) => ({ shape, dtype: "float32" as const, weak: false });
const NHWC: [string, string, string] = ["NHWC", "HWIO", "NHWC"];

/** Deterministic float32 values in [-1, 1) (LCG), with optional non-finite values. */
function data(n: number, seed: number, poison: [number, number][] = []): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s / 2 ** 32) * 2 - 1;
  }
  for (const [at, v] of poison) if (n > 0) a[at % n] = v;
  return a;
}

function params(c: Case): ConvParams {
  return resolveConvParams(
    c.x,
    c.w,
    c.strides ?? c.x.slice(2).map(() => 1),
    c.padding ?? "VALID",
    c.opts,
  );
}

/** clConvF32 on (x, w) against the float64 reference within the float32 summation bound. */
function check(xs: number[], ws: number[], p: ConvParams, x: Float32Array, w: Float32Array) {
  const label = JSON.stringify([xs, ws, p]);
  const outShape = convOutputShape(xs, ws, p);
  const got = clConvF32(
    { data: x, shape: xs, dtype: "float32" },
    { data: w, shape: ws, dtype: "float32" },
    p,
    f32(outShape),
  );
  assert.ok(got, `${label}: the channels-last kernel should apply`);
  const ref = convGeneralDilatedRef(Float64Array.from(x), xs, Float64Array.from(w), ws, p);
  const abs = (a: Float32Array) => Float64Array.from(a, Math.abs);
  const bound = convGeneralDilatedRef(abs(x), xs, abs(w), ws, p).data;
  const terms = size(ws) / Math.max(1, ws[p.dimensionNumbers.rhs[0]]);
  assert.equal(got.length, ref.data.length, `${label}: length`);
  for (let i = 0; i < got.length; i++) {
    const e = Math.fround(ref.data[i]), a = got[i];
    if (!Number.isFinite(e)) {
      assert.ok(Object.is(a, e) || (Number.isNaN(a) && Number.isNaN(e)), `${label}[${i}]`);
      continue;
    }
    const tol = (terms + 2) * 2 ** -23 * bound[i];
    assert.ok(Math.abs(a - ref.data[i]) <= tol, `${label}[${i}]: ${a} vs ${ref.data[i]}`);
  }
}

// deno-fmt-ignore
const CASES: Case[] = [
  // W3 and its neighbours: feature counts 4..13 (tails of 1-3 lanes, several chunks)
  ...[4, 5, 6, 7, 8, 12, 13].map((O): Case => ({ x: [2, 10, 11, 5], w: [2, 3, 5, O], opts: { dimensionNumbers: NHWC } })),
  { x: [2, 10, 11, 5], w: [2, 3, 5, 4], padding: "SAME", opts: { dimensionNumbers: NHWC } },
  { x: [3, 9, 23, 3], w: [3, 3, 3, 8], strides: [2, 3], padding: "SAME_LOWER", opts: { dimensionNumbers: NHWC } },
  { x: [2, 10, 11, 5], w: [2, 3, 5, 7], strides: [2, 1], padding: [[1, 2], [0, 3]], opts: { dimensionNumbers: NHWC, rhsDilation: [2, 1] } },
  { x: [1, 8, 9, 2], w: [3, 2, 2, 4], padding: [[-1, 2], [3, -2]], opts: { dimensionNumbers: NHWC, rhsDilation: [1, 3] } },
  // windows entirely in the padding (outputs 0) and kernels larger than the image
  { x: [1, 2, 3, 2], w: [2, 2, 2, 4], padding: [[4, 4], [1, 5]], opts: { dimensionNumbers: NHWC } },
  { x: [2, 3, 3, 1], w: [5, 5, 1, 4], padding: "SAME", opts: { dimensionNumbers: NHWC } },
  // feature groups (4, 5 features per group), 1-D and 3-D, other layouts with the feature minor
  { x: [2, 10, 11, 6], w: [3, 3, 2, 15], strides: [1, 2], padding: "SAME", opts: { dimensionNumbers: NHWC, featureGroupCount: 3 } },
  { x: [2, 7, 8], w: [3, 2, 16], padding: "SAME", opts: { dimensionNumbers: ["NWC", "WIO", "NWC"], featureGroupCount: 4 } },
  { x: [3, 17, 6], w: [4, 6, 12], padding: [[-1, 2]], opts: { dimensionNumbers: ["NWC", "WIO", "NWC"] } },
  { x: [2, 40, 3], w: [9, 3, 4], strides: [3], opts: { dimensionNumbers: ["NWC", "WIO", "NWC"], rhsDilation: [2] } },
  { x: [3, 5, 6, 7, 6], w: [2, 3, 1, 6, 8], padding: "SAME", opts: { dimensionNumbers: ["NDHWC", "DHWIO", "NDHWC"] } },
  { x: [3, 10, 11, 6], w: [12, 6, 3, 3], padding: "SAME", opts: { dimensionNumbers: ["NHWC", "OIHW", "NHWC"] } },
  { x: [3, 6, 10, 11], w: [3, 3, 6, 12], padding: "SAME", opts: { dimensionNumbers: ["NCHW", "HWIO", "NHWC"] } },
  { x: [9, 7, 4, 2], w: [5, 4, 3, 4], opts: { dimensionNumbers: ["HWCN", "OIHW", "NHWC"] } },
  // one image, many images (blocks along the batch)
  { x: [1, 30, 40, 3], w: [3, 3, 3, 4], padding: "SAME", opts: { dimensionNumbers: NHWC } },
  { x: [20, 3, 2, 3], w: [3, 2, 3, 4], opts: { dimensionNumbers: NHWC } },
];

describe("channels-last conv: kernel against the float64 reference", () => {
  for (const c of CASES) {
    test(JSON.stringify(c), () => {
      const p = params(c);
      check(c.x, c.w, p, data(size(c.x), 1), data(size(c.w), 8));
    });
  }

  test("both gradient convolutions of W3-like shapes (strides, padding, dilation)", () => {
    for (const c of CASES.slice(0, 12)) {
      const p = params(c), ys = convOutputShape(c.x, c.w, p);
      const lhs = convLhsGradParams(c.x, c.w, p), rhs = convRhsGradParams(c.x, c.w, p);
      const ct = data(size(ys), 3), x = data(size(c.x), 4);
      if (clConvApplies(f32(c.x), f32(ys), f32(c.w), rhs.params)) {
        check(c.x, ys, rhs.params, x, ct);
      }
      // the input gradient without lhs dilation: stride 1 forwards
      if (!lhs.isZero && lhs.params.lhsDilation.every((d) => d === 1)) {
        const k = data(size(c.w), 5), wShape = c.w;
        if (clConvApplies(f32(ys), f32(wShape), f32(c.x), lhs.params)) {
          check(ys, wShape, lhs.params, ct, k);
        }
      }
    }
  });

  test("the generated reduction kernel (JS and Wasm renderers) agrees with the Wasm SIMD kernel", () => {
    for (const c of [CASES[1], CASES[9], CASES[13], CASES[16]]) {
      const p = params(c), ys = convOutputShape(c.x, c.w, p);
      const plan = lowerOp(convOp, p, [f32(c.x), f32(c.w)], [f32(ys)]);
      const step = plan.steps[0];
      assert.ok(plan.steps.length === 1 && step.kind === "kernel", "one reduction kernel");
      const x = data(size(c.x), 11), w = data(size(c.w), 12);
      const simd = clConvF32(
        { data: x, shape: c.x, dtype: "float32" },
        { data: w, shape: c.w, dtype: "float32" },
        p,
        f32(ys),
      )!;
      for (const render of [renderKernel, renderWasmKernel]) {
        const out = new Float32Array(size(ys));
        render(step.kernel)([x, w], out);
        for (let i = 0; i < out.length; i++) {
          assert.ok(
            Math.abs(out[i] - simd[i]) <= 2e-5 * (1 + Math.abs(simd[i])),
            `${JSON.stringify(c)}[${i}]`,
          );
        }
      }
    }
  });

  test("non-finite values with padding: the same NaN/Inf positions as the reference", () => {
    const c: Case = {
      x: [2, 9, 10, 3],
      w: [3, 3, 3, 5],
      padding: "SAME",
      opts: { dimensionNumbers: NHWC },
    };
    const x = data(size(c.x), 2, [[40, NaN], [301, Infinity]]);
    check(c.x, c.w, params(c), x, data(size(c.w), 3, [[0, Infinity]]));
  });

  test("NumPy fixtures whose output feature is minor (forward)", () => {
    const fx = convData as unknown as {
      cases: {
        name: string;
        lhsShape: number[];
        rhsShape: number[];
        windowStrides: number[];
        padding: Padding;
        opts: ConvOptions;
        out: number[];
        outShape: number[];
      }[];
    };
    let ran = 0;
    for (const c of fx.cases) {
      const p = resolveConvParams(c.lhsShape, c.rhsShape, c.windowStrides, c.padding, c.opts);
      if (!clConvApplies(f32(c.lhsShape), f32(c.rhsShape), f32(c.outShape), p)) continue;
      const got = clConvF32(
        { data: fx32(c, "lhs"), shape: c.lhsShape, dtype: "float32" },
        { data: fx32(c, "rhs"), shape: c.rhsShape, dtype: "float32" },
        p,
        f32(c.outShape),
      )!;
      for (let i = 0; i < got.length; i++) {
        assert.ok(Math.abs(got[i] - c.out[i]) <= 1e-5, `${c.name}[${i}]: ${got[i]} vs ${c.out[i]}`);
      }
      ran++;
    }
    assert.ok(ran >= 3, `fixture cases run: ${ran}`);
  });
});

function fx32(c: unknown, k: "lhs" | "rhs"): Float32Array {
  return Float32Array.from((c as Record<string, number[]>)[k]);
}

test("channels-last conv: applies only to float32, no lhs dilation or batch groups, feature minor, >= 4 features per group", () => {
  const p = (c: Case) => params(c);
  const nhwc = { x: [2, 10, 11, 5], w: [2, 3, 5, 4], opts: { dimensionNumbers: NHWC } };
  const yes = (c: Case, dt = "float32" as const) =>
    clConvApplies(
      { shape: c.x, dtype: dt },
      { shape: c.w, dtype: dt },
      { shape: convOutputShape(c.x, c.w, p(c)), dtype: dt },
      p(c),
    );
  assert.ok(yes(nhwc));
  assert.ok(
    !clConvApplies(
      { shape: nhwc.x, dtype: "float64" },
      { shape: nhwc.w, dtype: "float64" },
      { shape: [2, 9, 9, 4], dtype: "float64" },
      p(nhwc),
    ),
  );
  assert.ok(!yes({ ...nhwc, w: [2, 3, 5, 3] }), "3 output features");
  assert.ok(
    !yes({ ...nhwc, padding: [[0, 0], [0, 0]], opts: { ...nhwc.opts, lhsDilation: [2, 1] } }),
    "lhs dilation",
  );
  assert.ok(
    !yes({
      x: [4, 10, 11, 5],
      w: [2, 3, 5, 8],
      opts: { dimensionNumbers: NHWC, batchGroupCount: 2 },
    }),
  );
  assert.ok(!yes({ x: [2, 5, 10, 11], w: [4, 5, 2, 3] }), "NCHW output");
  assert.ok(
    yes({
      x: [2, 5, 10, 11],
      w: [8, 5, 2, 3],
      opts: { dimensionNumbers: ["NCHW", "OIHW", "NHWC"] },
    }),
  );
  assert.ok(
    !yes({ x: [2, 10, 11, 0], w: [2, 3, 0, 4], opts: { dimensionNumbers: NHWC } }),
    "empty",
  );
});

async function onBackend<T>(backend: string, f: () => T): Promise<T> {
  const prev = getBackend();
  setBackend(backend);
  try {
    return await f();
  } finally {
    setBackend(prev);
  }
}

describe("channels-last conv: through the cpu backend (W3)", () => {
  const conv = (x: Tensor, w: Tensor) =>
    lax.convGeneralDilated(x, w, [1, 1], "VALID", { dimensionNumbers: NHWC });
  const x = np.array(data(1100, 3), { shape: [2, 10, 11, 5] });
  const w = np.array(data(120, 4), { shape: [2, 3, 5, 4] });
  const loss = (a: Tensor, b: Tensor) => np.sum(np.square(conv(a, b)));

  test("W3's forward and both gradients are op steps (no generated reduction kernel)", async () => {
    const fwd = await onBackend("cpu", () => jit(conv).lower(x, w).asText());
    assert.match(fwd, /k0 conv: b2:float32\[2,9,9,4\]/);
    const g = jit(valueAndGrad((a: Tensor, b: Tensor) => np.sum(conv(a, b)), { argnums: [0, 1] }));
    const text = await onBackend("cpu", () => g.lower(x, w).asText());
    assert.equal(text.match(/ conv: /g)?.length, 3, text);
    assert.doesNotMatch(text, /conv\(sum\)/);
    const shapes = [[2, 10, 11, 5], [2, 3, 5, 4], [2, 9, 9, 4]].map((s) => f32(s));
    const p = params({ x: [2, 10, 11, 5], w: [2, 3, 5, 4], opts: { dimensionNumbers: NHWC } });
    assert.ok(clConvApplies(shapes[0], shapes[1], shapes[2], p));
    assert.ok(
      clConvApplies(
        shapes[0],
        shapes[2],
        shapes[1],
        convRhsGradParams(shapes[0].shape, shapes[1].shape, p).params,
      ),
    );
    assert.ok(
      clConvApplies(
        shapes[2],
        shapes[1],
        shapes[0],
        convLhsGradParams(shapes[0].shape, shapes[1].shape, p).params,
      ),
    );
  });

  test("eager and jit forward match the reference backend", async () => {
    const want = await onBackend("reference", () => conv(x, w).dataSync());
    for (const f of [conv, jit(conv)]) {
      const got = await onBackend("cpu", () => f(x, w).dataSync());
      await assertAllClose(got, want, { rtol: 1e-5, atol: 1e-5 });
    }
  });

  test("gradients (both transposed convolutions) match the reference backend, eager and jit", async () => {
    for (const g of [grad(loss, { argnums: [0, 1] }), jit(grad(loss, { argnums: [0, 1] }))]) {
      const want = await onBackend(
        "reference",
        () => (g(x, w) as Tensor[]).map((t) => t.dataSync()),
      );
      const got = await onBackend("cpu", () => (g(x, w) as Tensor[]).map((t) => t.dataSync()));
      for (let i = 0; i < 2; i++) await assertAllClose(got[i], want[i], { rtol: 1e-4, atol: 1e-4 });
    }
  });

  test("strided, padded, dilated, grouped NHWC under jit(grad) match the reference backend", async () => {
    const cases: [number[], number[], number[], Padding, ConvOptions][] = [
      [[2, 9, 12, 4], [3, 3, 4, 6], [2, 1], "SAME", {
        dimensionNumbers: NHWC,
        rhsDilation: [1, 2],
      }],
      [[2, 8, 8, 6], [3, 2, 3, 8], [1, 1], [[2, 0], [1, 1]], {
        dimensionNumbers: NHWC,
        featureGroupCount: 2,
      }],
      [[3, 30, 4], [5, 4, 5], [1], "SAME", { dimensionNumbers: ["NWC", "WIO", "NWC"] }],
    ];
    for (const [xs, ws, s, pad, opts] of cases) {
      const a = np.array(data(size(xs), 6), { shape: xs }),
        b = np.array(data(size(ws), 7), { shape: ws });
      const f = (u: Tensor, v: Tensor) =>
        np.sum(np.tanh(lax.convGeneralDilated(u, v, s, pad, opts)));
      const g = jit(valueAndGrad(f, { argnums: [0, 1] }));
      const run = () => {
        const [val, gs] = g(a, b) as [Tensor, Tensor[]];
        return [val, ...gs].map((t) => t.dataSync());
      };
      const want = await onBackend("reference", run);
      const got = await onBackend("cpu", run);
      for (let i = 0; i < 3; i++) await assertAllClose(got[i], want[i], { rtol: 1e-4, atol: 1e-4 });
    }
  });

  test("a fused bias + relu epilogue stays with the conv step", async () => {
    const b = np.array(data(4, 9), { shape: [4] });
    const f = (u: Tensor, v: Tensor, c: Tensor) => nn.relu(conv(u, v).add(c));
    const text = await onBackend("cpu", () => jit(f).lower(x, w, b).asText());
    assert.match(text, /conv\+epilogue/);
    const want = await onBackend("reference", () => f(x, w, b).dataSync());
    const got = await onBackend("cpu", () => jit(f)(x, w, b).dataSync());
    await assertAllClose(got, want, { rtol: 1e-5, atol: 1e-5 });
  });

  test("float64 gradients by finite differences (float64 keeps the generic kernels)", () => {
    const x64 = np.array(Float64Array.from(data(2 * 5 * 6 * 3, 2)), { shape: [2, 5, 6, 3] });
    const w64 = np.array(Float64Array.from(data(2 * 2 * 3 * 4, 3)), { shape: [2, 2, 3, 4] });
    const f = (a: Tensor, b: Tensor) =>
      np.sum(np.sin(lax.convGeneralDilated(a, b, [1, 2], "SAME", { dimensionNumbers: NHWC })));
    checkGrads(f, [x64, w64], { modes: ["rev"], atol: 1e-6, rtol: 1e-6 });
  });
});

describe("one-op-step programs as loop bodies (the runner's fast path writes the loop's buffers)", () => {
  type Body = (c: Tensor[], x: Tensor) => [Tensor[], Tensor];
  const run = (backend: string, body: Body, carries: number) =>
    onBackend(backend, () => {
      const c0 = np.array(data(2 * 6 * 6 * 4, 21), { shape: [2, 6, 6, 4] });
      const c1 = np.array(data(2 * 6 * 6 * 4, 22), { shape: [2, 6, 6, 4] });
      const xs = np.array(data(5 * 2 * 6 * 6 * 4, 23), { shape: [5, 2, 6, 6, 4] });
      const [c, ys] = lax.scan(body, [c0, c1].slice(0, carries), xs) as [Tensor[], Tensor];
      return [...c, ys].map((t) => t.dataSync());
    });
  const k = np.array(data(3 * 3 * 4 * 4, 24), { shape: [3, 3, 4, 4] });
  const bodies: [string, number, Body][] = [
    ["a conv carry", 2, ([a, b]) => {
      const y = lax.convGeneralDilated(a, k, [1, 1], "SAME", { dimensionNumbers: NHWC });
      return [[y, b.add(1)], np.tanh(b)];
    }],
    ["a two-operand sort giving a carry and the stacked output", 1, ([a], x) => {
      const [s, t] = lax.sort([a, x]) as Tensor[];
      return [[s], t];
    }],
  ];
  for (const [name, carries, body] of bodies) {
    test(name, async () => {
      const want = await run("reference", body, carries);
      const got = await run("cpu", body, carries);
      for (let i = 0; i < want.length; i++) {
        await assertAllClose(got[i], want[i], { rtol: 1e-5, atol: 1e-5 });
      }
    });
  }
});
