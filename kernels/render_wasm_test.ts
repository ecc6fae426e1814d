// Tests for kernels/render_wasm.ts: kernels lowered from real programs (elementwise chains,
// int32 and bool arithmetic, reductions over NaN and ±Infinity, a small conv, movement ops, grads)
// render to JS and to Wasm, and both must give bit-identical outputs on inputs full of special
// values; plus the runner's choice of Wasm for large reductions and the wrapper's errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, lax, makeJaxpr, nn, np, type Tensor } from "../mod.ts";
import type { DType, TypedArray } from "../lib/dtype.ts";
import { allocTyped } from "../lib/dtype.ts";
import { hoistConsts } from "../lib/ir.ts";
import type { Kernel } from "../lib/compile/kernel.ts";
import { lowerJaxpr, type Plan } from "../lib/compile/lower.ts";
import { renderKernel } from "./render_js.ts";
import { isWasmKernel, renderWasmKernel, wasmImports, wasmWarmup } from "./render_wasm.ts";
import { compilePlan, kernelRenderer } from "../lib/compile/runner.ts";

/** A small deterministic generator (xorshift32). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const SPECIAL = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.5, -2.5, 3.5, 1e30, -1e-30, 88.8, 710];
const INT_SPECIAL = [0, 1, -1, 2147483647, -2147483648, 65536, -65537, 7];

/** Random contents for a buffer: mostly ordinary values, some special ones. */
function fill(d: DType, n: number, rand: () => number, specials: boolean): TypedArray {
  const a = allocTyped(d, n);
  for (let i = 0; i < n; i++) {
    const u = rand();
    const sp = specials && u < 0.15;
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    if (d === "bool") a[i] = u < 0.5 ? 1 : 0;
    else if (d === "int32") a[i] = sp ? pick(INT_SPECIAL) : Math.floor((rand() - 0.5) * 200);
    else a[i] = sp ? pick(SPECIAL) : (rand() - 0.5) * 8;
  }
  return a;
}

/** Lowers a program traced on example arguments (constants hoisted into inputs). */
function lowerFn(f: (...a: Tensor[]) => Tensor | Tensor[], ...args: Tensor[]): Plan {
  const j = makeJaxpr(f)(...args);
  return lowerJaxpr(j.constVars.length ? hoistConsts(j) : j);
}

/** Every kernel of a plan (steps and contraction epilogues) with its input sizes. */
function kernelsOf(plan: Plan): { kernel: Kernel; sizes: number[] }[] {
  const size = (b: number) => plan.avals[b].shape.reduce((x, y) => x * y, 1);
  const out: { kernel: Kernel; sizes: number[] }[] = [];
  for (const s of plan.steps) {
    if (s.kind === "kernel") out.push({ kernel: s.kernel, sizes: s.inputs.map(size) });
    else if (s.epilogue) {
      // the op's own result is the epilogue's accumulator input; give it the output's size
      out.push({ kernel: s.epilogue.kernel, sizes: s.epilogue.inputs.map(size) });
    }
  }
  return out;
}

/** Index of the first element where two outputs differ bitwise (NaNs all equal), or -1. */
function firstDiff(a: TypedArray, b: TypedArray): number {
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return a.length === b.length ? -1 : a.length;
}

/** Runs a kernel both ways on several random inputs; returns the number of kernels checked. */
function checkPlan(plan: Plan, label: string, seeds = 3): number {
  const ks = kernelsOf(plan);
  assert.ok(ks.length > 0, `${label}: no kernels`);
  for (const [ki, { kernel, sizes }] of ks.entries()) {
    assert.ok(wasmImports(kernel), `${label} k${ki}: not renderable`);
    const js = renderKernel(kernel);
    const wasm = renderWasmKernel(kernel);
    const n = kernel.outShape.reduce((x, y) => x * y, 1);
    for (let seed = 1; seed <= seeds; seed++) {
      const rand = rng(seed * 7919 + ki);
      const ins = kernel.inputs.map((d, i) => fill(d, sizes[i], rand, seed > 1));
      const want = allocTyped(kernel.outDtype, n);
      const got = allocTyped(kernel.outDtype, n);
      js(ins, want);
      wasm(ins, got);
      const i = firstDiff(want, got);
      assert.equal(i, -1, `${label} k${ki} seed ${seed}: [${i}] js ${want[i]} wasm ${got[i]}`);
    }
  }
  return ks.length;
}

const f32 = (...shape: number[]) => np.zeros(shape, { dtype: "float32" });
const f64 = (...shape: number[]) => np.zeros(shape, { dtype: "float64" });
const i32 = (...shape: number[]) => np.zeros(shape, { dtype: "int32" });
const bool = (...shape: number[]) => np.zeros(shape, { dtype: "bool" });

describe("render_wasm: bit-identical to render_js on lowered programs", () => {
  test("elementwise chains with exp, log, tanh, sin, cos, sqrt, abs, div", () => {
    checkPlan(lowerFn((a) => np.tanh(np.exp(a).mul(2).add(1)).sub(a), f32(4, 5)), "chain");
    checkPlan(
      lowerFn(
        (a, b) => np.log(np.abs(a)).add(np.sqrt(b)).div(np.cos(a).add(np.sin(b))),
        f32(3, 7),
        f32(3, 7),
      ),
      "log-sqrt",
    );
    checkPlan(lowerFn((a) => np.exp(np.neg(a)).mul(a).sub(1.5), f64(17)), "f64");
    checkPlan(lowerFn((a) => nn.sigmoid(a).mul(np.square(a)), f32(2, 9)), "sigmoid");
    checkPlan(lowerFn((a, b) => np.power(a, b).add(np.maximum(a, b)), f32(11), f32(11)), "pow");
  });

  test("comparisons, where, logical ops and casts", () => {
    checkPlan(
      lowerFn((a, b) => np.where(np.greater(a, b), a, np.neg(b)), f32(6, 6), f32(6, 6)),
      "where",
    );
    checkPlan(
      lowerFn(
        (a, b) => [np.equal(a, b), np.notEqual(a, b), np.lessEqual(a, b), np.less(a, 0)],
        f32(13),
        f32(13),
      ),
      "cmp",
    );
    checkPlan(
      lowerFn(
        (a) => np.logicalNot(np.isnan(a)).astype("float32").add(np.isfinite(a).astype("float32")),
        f32(20),
      ),
      "isnan",
    );
    checkPlan(
      lowerFn((a) => np.astype(a, "int32").add(np.astype(a, "bool").astype("int32")), f32(40)),
      "casts",
    );
    checkPlan(
      lowerFn((a, c) => np.where(c, a, a.mul(-1)).astype("float64"), f32(9), bool(9)),
      "bool where",
    );
    checkPlan(lowerFn((a) => np.clip(a, -1, 2), f32(30)), "clip");
  });

  test("int32 arithmetic wraps like the JS", () => {
    checkPlan(lowerFn((a, b) => a.mul(b).add(a).sub(b.mul(3)), i32(50), i32(50)), "imul");
    checkPlan(
      lowerFn((a, b) => np.neg(a).add(np.abs(b)).astype("float32"), i32(50), i32(50)),
      "ineg",
    );
    checkPlan(
      lowerFn((a, b) => np.where(np.greater(a, b), a, b).mul(np.maximum(a, b)), i32(33), i32(33)),
      "imax",
    );
    checkPlan(
      lowerFn((a) => np.arange(12, { dtype: "int32" }).reshape([3, 4]).mul(a), i32(3, 4)),
      "iota",
    );
    checkPlan(lowerFn((a, b) => np.logicalAnd(a, b).astype("int32"), bool(8), bool(8)), "land");
  });

  test("reductions: sum, max, min over NaN and ±Infinity, with epilogues", () => {
    checkPlan(lowerFn((a) => np.sum(a, { axis: 1 }), f32(7, 50)), "sum");
    checkPlan(lowerFn((a) => np.max(a, { axis: [0, 2] }), f32(6, 5, 9)), "max");
    checkPlan(lowerFn((a) => np.min(a, { axis: 0 }), f32(40, 3)), "min");
    checkPlan(lowerFn((a) => np.max(np.exp(a), { axis: 1 }).mul(2), f64(5, 8)), "max epilogue");
    checkPlan(
      lowerFn((a) => np.sum(np.square(np.sin(a)), { axis: [1, 2] }), f32(2, 3, 8, 8)),
      "sum-sin",
    );
    checkPlan(lowerFn((a) => np.sum(a), i32(300)), "isum");
    checkPlan(lowerFn((a) => np.max(a, { axis: 1 }), i32(4, 30)), "imax");
    checkPlan(lowerFn((a) => np.sum(a, { axis: 0 }), bool(20, 3)), "bsum");
    checkPlan(
      lowerFn((a) => np.mean(a, { axis: -1 }).sub(np.logsumexp(a, { axis: -1 })), f32(4, 16)),
      "lse",
    );
    checkPlan(lowerFn((a) => nn.softmax(a, { axis: -1 }), f32(3, 10)), "softmax");
  });

  test("small convolutions (W3-shaped NHWC/HWIO VALID; padded, strided, dilated NCHW)", () => {
    const dn = { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] as [string, string, string] };
    const w3 = lowerFn(
      (x, w) => lax.convGeneralDilated(x, w, [1, 1], "VALID", dn),
      f32(2, 10, 11, 5),
      f32(2, 3, 5, 4),
    );
    assert.ok(
      w3.steps.some((s) => s.kind === "kernel" && s.label === "conv"),
      "W3 is a conv kernel",
    );
    checkPlan(w3, "W3");
    checkPlan(
      lowerFn(
        (x, w) => lax.convGeneralDilated(x, w, [2, 1], "SAME"),
        f32(1, 3, 9, 8),
        f32(2, 3, 3, 3),
      ),
      "same",
    );
    checkPlan(
      lowerFn(
        (x, w) =>
          lax.convGeneralDilated(x, w, [1, 1], [[2, 1], [1, 2]], {
            lhsDilation: [2, 1],
            rhsDilation: [1, 2],
          }),
        f32(1, 2, 5, 6),
        f32(3, 2, 2, 2),
      ),
      "dilated",
    );
    checkPlan(
      lowerFn(
        (x, w, b) =>
          nn.relu(lax.convGeneralDilated(x, w, [1, 1], "SAME").add(b.reshape([1, 4, 1, 1]))),
        f32(2, 3, 8, 8),
        f32(4, 3, 3, 3),
        f32(4),
      ),
      "relu(conv+b)",
    );
    const loss = (x: Tensor, w: Tensor) =>
      np.sum(np.tanh(lax.convGeneralDilated(x, w, [1, 1], "VALID", dn)));
    checkPlan(
      lowerFn(
        grad(loss, { argnums: [0, 1] }) as (...a: Tensor[]) => Tensor[],
        f32(2, 10, 11, 5),
        f32(2, 3, 5, 4),
      ),
      "W3 grad",
    );
  });

  test("movement: transposes, slices, pads, flips, concatenates, broadcasts", () => {
    checkPlan(lowerFn((a) => a.transpose([2, 0, 1]).mul(2), f32(3, 4, 5)), "transpose");
    checkPlan(lowerFn((a) => np.pad(a, [[1, 2], [0, 3]]).add(1), f32(4, 5)), "pad");
    checkPlan(
      lowerFn(
        (a) =>
          np.concatenate([np.pad(a, 1), np.flip(np.pad(a, 1), 3)], 1).transpose([0, 2, 3, 1]).slice(
            ":",
            "::2",
          ),
        f32(2, 3, 4, 4),
      ),
      "concat",
    );
    checkPlan(
      lowerFn((a, b) => a.add(b.reshape([1, 5])).slice("1:", "::-2"), f32(4, 5), f32(5)),
      "bcast-slice",
    );
    checkPlan(
      lowerFn((a) => np.sum(np.pad(a, [[2, 2], [1, 1]]), { axis: 0 }), f32(6, 3)),
      "pad-sum",
    );
    // negative index coefficients (rev) in float64 and in reductions
    checkPlan(lowerFn((a) => np.flip(a).mul(3), f64(9)), "flip f64");
    checkPlan(lowerFn((a) => np.sum(np.flip(a, 1), { axis: 1 }), f64(6, 9)), "flip-sum");
    checkPlan(lowerFn((a) => np.max(np.flip(a, 0), { axis: 0 }), f64(7, 5)), "flip-max");
    // reshapes inside reductions: div/mod index atoms on reduction and lane variables
    checkPlan(lowerFn((a) => np.sum(a.reshape([6, 35]), { axis: 1 }), f32(7, 30)), "reshape-sum");
    checkPlan(
      lowerFn((a) => np.sum(a.reshape([14, 15]).transpose([1, 0]), { axis: 1 }), f32(7, 30)),
      "reshape-T",
    );
    checkPlan(
      lowerFn((a) => np.min(a.transpose([2, 0, 1]).reshape([9, 10]), { axis: 0 }), i32(2, 5, 9)),
      "reshape-min",
    );
  });

  test("gather: data-dependent loads (clip and fill) through fused producers, in reductions", () => {
    // random int32 indices (extremes included) exercise the clamp of the loaded starts
    const take = (mode: "clip" | "fill") => (a: Tensor, i: Tensor) =>
      np.take(np.exp(a), i, { axis: 1, mode }).mul(2);
    checkPlan(lowerFn(take("clip"), f32(5, 7), i32(3, 4)), "take clip");
    checkPlan(lowerFn(take("fill"), f32(5, 7), i32(6)), "take fill");
    checkPlan(
      lowerFn(
        (e, i, c) => np.sum(np.take(e, i, { axis: 0 }).mul(c), { axis: 1 }),
        f32(9, 24),
        i32(40),
        f32(40, 24),
      ),
      "row take-sum",
    );
    checkPlan(
      lowerFn(
        (e, i) => np.sum(np.take(e, i, { axis: 0, mode: "fill" }), { axis: 0 }),
        f64(9, 33),
        i32(64),
      ),
      "take-sum over the indices",
    );
  });

  test("jit programs with several kernels", () => {
    const f = jit((a: Tensor, b: Tensor) => {
      const h = np.tanh(np.matmul(a, b));
      return [np.sum(h, { axis: 0 }), np.max(h.mul(h), { axis: 1 }), np.exp(h).astype("int32")];
    });
    assert.ok(f.lower(f32(5, 6), f32(6, 7)).asText().startsWith("program:"));
    checkPlan(lowerFn((a, b) => f(a, b) as Tensor[], f32(5, 6), f32(6, 7)), "jit");
  });
});

describe("render_wasm: the runner's choice", () => {
  /** Renderer picked for each kernel step of a plan, and what compilePlan actually built. */
  function picks(plan: Plan): { want: string; built: string }[] {
    const cp = compilePlan(plan);
    return plan.steps.flatMap((s, i) =>
      s.kind === "kernel"
        ? [{ want: kernelRenderer(s.kernel), built: isWasmKernel(cp.fns[i]!) ? "wasm" : "js" }]
        : []
    );
  }
  const dn = { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] as [string, string, string] };
  const conv = (x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "VALID", dn);

  test("W3-sized conv kernels (forward and both gradients) and big sums run as Wasm", () => {
    const fwd = lowerFn(conv, f32(2, 10, 11, 5), f32(2, 3, 5, 4));
    const g = grad((x: Tensor, w: Tensor) => np.sum(conv(x, w)), { argnums: [0, 1] });
    const bwd = lowerFn(g as (...a: Tensor[]) => Tensor[], f32(2, 10, 11, 5), f32(2, 3, 5, 4));
    const big = lowerFn((a) => np.sum(a, { axis: 1 }), f32(64, 512));
    for (const plan of [fwd, bwd, big]) {
      const got = picks(plan);
      assert.ok(got.length > 0);
      for (const p of got) assert.deepEqual(p, { want: "wasm", built: "wasm" });
    }
  });

  test("elementwise kernels, small or max/min reductions and reductions calling Math stay JS", () => {
    const plans = [
      lowerFn((a) => np.exp(a).add(1), f32(256, 256)),
      lowerFn((a) => np.sum(a, { axis: 1 }), f32(2, 3)),
      lowerFn((a) => np.sum(a, { axis: 1 }), f32(4096, 4)),
      lowerFn((a) => np.max(a, { axis: 0 }), f32(256, 64)),
      lowerFn((a) => np.sum(np.exp(a), { axis: 1 }), f32(64, 64)),
    ];
    for (const plan of plans) {
      for (const p of picks(plan)) assert.deepEqual(p, { want: "js", built: "js" });
    }
  });
});

describe("render_wasm: module and wrapper", () => {
  const k: Kernel = {
    outShape: [2, 3],
    outDtype: "float32",
    inputs: ["float32", "int32"],
    body: {
      k: "alu",
      op: "add",
      args: [
        { k: "load", input: 0, index: { k: "var", name: "i1" }, dtype: "float32" },
        { k: "load", input: 1, index: { k: "var", name: "i0" }, dtype: "int32" },
      ],
      dtype: "float32",
    },
  };
  test("a kernel without calls to JS imports only the memory", () => {
    assert.deepEqual(wasmImports(k), []);
    const fn = renderWasmKernel(k);
    const out = new Float32Array(6);
    fn([new Float32Array([0.5, 1.5, 2.5]), new Int32Array([10, 20])], out);
    assert.deepEqual([...out], [10.5, 11.5, 12.5, 20.5, 21.5, 22.5]);
  });
  test("memory grows for larger inputs between calls", () => {
    const sum: Kernel = {
      outShape: [],
      outDtype: "float64",
      inputs: ["float64"],
      body: { k: "load", input: 0, index: { k: "var", name: "r0" }, dtype: "float64" },
      reduce: { op: "sum", shape: [3] },
    };
    const fn = renderWasmKernel(sum);
    const out = new Float64Array(1);
    fn([new Float64Array([1, 2, 3])], out);
    assert.equal(out[0], 6);
    // the kernel reads 3 elements, but a longer input is copied in whole
    const long = new Float64Array(100_000).fill(1);
    long.set([4, 5, 6]);
    fn([long], out);
    assert.equal(out[0], 15);
    // past the kept size the memory is dropped after the call and made afresh by the next
    const huge = new Float64Array(2_500_000);
    huge.set([7, 8, 9]);
    fn([huge], out);
    assert.equal(out[0], 24);
    fn([new Float64Array([1, 1, 1])], out);
    assert.equal(out[0], 3);
  });
  test("wrong inputs are TypeErrors and RangeErrors naming the function", () => {
    const fn = renderWasmKernel(k);
    const out = new Float32Array(6);
    assert.throws(() => fn([new Float32Array(3)], out), RangeError);
    assert.throws(
      () => fn([new Float64Array(3), new Int32Array(2)], out),
      (e: unknown) => e instanceof TypeError && /renderWasmKernel: input 0/.test(e.message),
    );
    assert.throws(
      () => fn([new Float32Array(3), new Int32Array(2)], new Float32Array(5)),
      TypeError,
    );
  });
  test("the first call's warm-up reruns leave the results bit-identical (forced on and off)", () => {
    const saved = { ...wasmWarmup };
    const plan = lowerFn(
      (x: Tensor, w: Tensor) => [np.sum(x.mul(x), { axis: 1 }), np.max(x.mul(w), { axis: 0 })],
      f32(24, 300),
      f32(24, 300),
    );
    try {
      for (const forced of [true, false]) {
        // forced: never stops early (every first call reruns maxRuns times); else: no reruns
        Object.assign(wasmWarmup, {
          maxRuns: forced ? 12 : 0,
          budgetMs: Infinity,
          maxFirstMs: Infinity,
          maxRerunMs: Infinity,
          speedup: 0,
        });
        for (const { kernel, sizes } of kernelsOf(plan)) {
          const js = renderKernel(kernel), wasm = renderWasmKernel(kernel);
          const n = kernel.outShape.reduce((x, y) => x * y, 1);
          for (let seed = 1; seed <= 3; seed++) {
            const rand = rng(seed);
            const ins = kernel.inputs.map((d, i) => fill(d, sizes[i], rand, true));
            const want = allocTyped(kernel.outDtype, n), got = allocTyped(kernel.outDtype, n);
            js(ins, want);
            wasm(ins, got);
            assert.equal(firstDiff(want, got), -1, `forced ${forced}, seed ${seed}`);
          }
        }
      }
    } finally {
      Object.assign(wasmWarmup, saved);
    }
  });
  test("unsupported IR is refused up front", () => {
    const bad: Kernel = { ...k, body: { k: "acc", dtype: "float32" } };
    assert.equal(wasmImports(bad), null);
    assert.throws(() => renderWasmKernel(bad), TypeError);
  });
});
