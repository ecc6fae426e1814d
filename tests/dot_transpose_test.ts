// dotGeneral's transpose rule computes the rhs cotangent as other·ct, in the rhs's own layout:
// the gradient of a matrix product's rhs needs no transpose step after the product (W9's dW and
// dU), while batched, multi-axis and permuted contractions still give the reference's values.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, lax, makeJaxpr, np, setBackend, type Tensor } from "../mod.ts";

const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
function rand(shape: number[], seed: number, dtype: "float32" | "float64" = "float32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  return np.array(d, { shape, dtype });
}
function onReference<T>(f: () => T): T {
  setBackend("reference");
  try {
    return f();
  } finally {
    setBackend("cpu");
  }
}
const opNames = (f: (...a: Tensor[]) => unknown, ...args: Tensor[]) =>
  makeJaxpr(f)(...args).eqns.map((e) => e.op.name);

describe("dotGeneral transpose: the rhs cotangent in its own layout", () => {
  const loss = (a: Tensor, b: Tensor) => np.sum(np.tanh(np.matmul(a, b)));

  test("grad of a matrix product: no transpose equation for either operand", () => {
    const a = rand([32, 16], 1), b = rand([16, 24], 2);
    const names = opNames(grad(loss, { argnums: [0, 1] }) as (...a: Tensor[]) => unknown, a, b);
    assert.ok(!names.includes("transpose"), `equations: ${names.join(", ")}`);
    const m = /^program: (\d+) kernel/.exec(
      jit(grad(loss, { argnums: [0, 1] })).lower(a, b).asText(),
    );
    assert.ok(m && Number(m[1]) <= 4, "products, their epilogue and the reductions only");
  });

  test("values: cpu equals the reference backend (float32 and float64)", () => {
    for (const dtype of ["float32", "float64"] as const) {
      const a = rand([32, 16], 3, dtype), b = rand([16, 24], 4, dtype);
      const g = jit(grad(loss, { argnums: [0, 1] }));
      const cpu = (g(a, b) as Tensor[]).map(vals);
      const ref = onReference(() => (g(a, b) as Tensor[]).map(vals));
      cpu.forEach((c, i) =>
        c.forEach((v, j) => assert.ok(Math.abs(v - ref[i][j]) <= 1e-5 * (1 + Math.abs(ref[i][j]))))
      );
    }
  });

  test("batched, two contracting axes, permuted: finite differences in float64", () => {
    const a = rand([3, 4, 2, 5], 5, "float64"), b = rand([5, 3, 4, 6], 6, "float64");
    // batch a0 with b1, contract (a1, a3) with (b2, b0): the rhs's axes come back permuted
    const f = (a: Tensor, b: Tensor) =>
      np.sum(np.sin(lax.dotGeneral(a, b, [[[1, 3], [2, 0]], [[0], [1]]])));
    checkGrads(f, [a, b], { order: 1, modes: ["rev"] });
    const names = opNames(grad(f, { argnums: [0, 1] }) as (...a: Tensor[]) => unknown, a, b);
    assert.ok(names.includes("transpose"), "a permuted operand still gets its transpose");
  });

  test("a vector times a matrix, and a zero-size contraction", () => {
    const v = rand([7], 7, "float64"), m = rand([7, 3], 8, "float64");
    checkGrads((v: Tensor, m: Tensor) => np.sum(np.matmul(v, m).mul(2)), [v, m], {
      modes: ["rev"],
    });
    const z = grad((a: Tensor, b: Tensor) => np.sum(np.matmul(a, b)), { argnums: [0, 1] })(
      np.ones([2, 0]),
      np.ones([0, 3]),
    ) as Tensor[];
    assert.deepEqual(z.map((t) => t.shape), [[2, 0], [0, 3]]);
  });
});
