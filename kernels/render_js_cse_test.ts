// The JS renderer computes a repeated subexpression that calls out (Math.tanh, Math.exp, scalar
// functions) once per element: fused programs such as 1 - tanh(x)² (the gradient of tanh) hold
// the same call twice. Results are those of the expression evaluated as written (NaN included);
// reductions keep body and epilogue temporaries apart; a gather's hoisted condition shares none.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Expr, Kernel } from "../lib/compile/kernel.ts";
import { renderKernel } from "./render_js.ts";
import { grad, jit, np, setBackend, type Tensor } from "../mod.ts";

const load = (input: number, v = "i0"): Expr => ({
  k: "load",
  input,
  index: { k: "var", name: v },
  dtype: "float32",
});
const alu = (op: string, ...args: Expr[]): Expr => ({ k: "alu", op, args, dtype: "float32" });
const one: Expr = { k: "const", v: 1, dtype: "float32" };
const count = (src: string, word: string) => src.split(word).length - 1;

function run(k: Kernel, ins: Float32Array[]): Float32Array {
  const out = new Float32Array(k.outShape.reduce((a, b) => a * b, 1));
  renderKernel(k)(ins, out);
  return out;
}

describe("JS kernels compute a repeated call once", () => {
  const x = new Float32Array([0.5, -2, NaN, Infinity, 0, -0, 3e-8, 20]);
  const t = alu("tanh", load(0));

  test("1 - tanh(x)·tanh(x): one Math.tanh, the values of the expression as written", () => {
    const k: Kernel = {
      outShape: [8],
      outDtype: "float32",
      inputs: ["float32"],
      body: alu("sub", one, alu("mul", t, t)),
    };
    assert.equal(count(String(renderKernel(k)), "Math.tanh"), 1);
    const want = Float32Array.from(x, (v) => 1 - Math.tanh(v) * Math.tanh(v));
    assert.deepEqual(run(k, [x]), want);
  });

  test("a nested repeat (exp(tanh x) twice) and a call used once stay correct", () => {
    const e = alu("exp", t);
    const k: Kernel = {
      outShape: [8],
      outDtype: "float32",
      inputs: ["float32"],
      body: alu("add", alu("mul", e, e), alu("log", load(0))),
    };
    const src = String(renderKernel(k));
    assert.equal(count(src, "Math.tanh"), 1);
    assert.equal(count(src, "Math.exp"), 1);
    // fused kernels compute in float64, rounding once on store
    const want = Float32Array.from(x, (v) => {
      const ev = Math.exp(Math.tanh(v));
      return ev * ev + Math.log(v);
    });
    assert.deepEqual(run(k, [x]), want);
  });

  test("a reduction: body and epilogue repeats each computed once, in their own scope", () => {
    const tr = alu("tanh", load(0, "r0"));
    const acc: Expr = { k: "acc", dtype: "float32" };
    const k: Kernel = {
      outShape: [1],
      outDtype: "float32",
      inputs: ["float32"],
      reduce: { op: "sum", shape: [8] },
      body: alu("mul", tr, tr),
      epilogue: alu("add", alu("exp", acc), alu("exp", acc)),
    };
    const src = String(renderKernel(k));
    assert.equal(count(src, "Math.tanh"), 1);
    assert.equal(count(src, "Math.exp"), 1);
    const y = Float32Array.from([0.5, -2, 0.25, 1, 0, -0, 3e-8, 20]);
    let s = 0;
    for (const v of y) s += Math.tanh(v) * Math.tanh(v);
    const e = Math.exp(s);
    assert.deepEqual(run(k, [y]), new Float32Array([e + e]));
  });

  test("jit(grad(sum(tanh))) on the CPU equals the reference backend, NaN included", () => {
    const xs = np.array([0.5, -2, NaN, Infinity, 0, 3e-8, 20, -0.75]);
    const g = jit(grad((x: Tensor) => np.sum(np.tanh(x.mul(3)))));
    const cpu = Array.from(g(xs).dataSync() as Float32Array);
    setBackend("reference");
    try {
      assert.deepEqual(Array.from(g(xs).dataSync() as Float32Array), cpu);
    } finally {
      setBackend("cpu");
    }
    assert.ok(Number.isNaN(cpu[2]));
  });
});
