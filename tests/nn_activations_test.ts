/**
 * `nn` activations beyond the fixtures (which compare every activation and its VJP with jax.nn):
 * JAX's gradients at kinks, NaN propagation, no NaN gradients from unused branches, oneHot, and
 * errors.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, np, type Tensor, vmap } from "../mod.ts";
import * as nn from "../lib/nn.ts";
import { assertAllClose } from "./_test_utils.ts";

const f64 = (v: number[] | number[][]) => np.array(v, { dtype: "float64" });
const gradSum = (f: (x: Tensor) => Tensor) => grad((x: Tensor) => np.sum(f(x)));

describe("activations", () => {
  test("gradients at kinks follow JAX: relu'(0) = 0, relu6'(0) = relu6'(6) = 0, leakyRelu'(0) = 1", () => {
    assert.deepEqual(Array.from(gradSum(nn.relu)(f64([-1, 0, 2])).dataSync()), [0, 0, 1]);
    assert.deepEqual(Array.from(gradSum(nn.relu6)(f64([0, 3, 6, 7])).dataSync()), [0, 1, 0, 0]);
    assert.deepEqual(Array.from(gradSum((x) => nn.leakyRelu(x, 0.1))(f64([-1, 0, 1])).dataSync()), [
      0.1,
      1,
      1,
    ]);
  });
  test("NaN propagates through every activation", () => {
    const fns = [
      nn.relu,
      nn.relu6,
      nn.sigmoid,
      nn.softplus,
      nn.logSigmoid,
      nn.silu,
      nn.gelu,
      (x: Tensor) => nn.gelu(x, { approximate: false }),
      nn.elu,
      nn.celu,
      nn.selu,
      nn.leakyRelu,
      nn.hardTanh,
      nn.tanh,
    ];
    for (const f of fns) assert.ok(Number.isNaN(f(f64([NaN])).dataSync()[0]), f.name);
  });
  test("no NaN gradients from unused branches at extreme inputs", () => {
    const x = f64([-800, -40, 40, 800]);
    for (const f of [nn.elu, nn.selu, nn.softplus, nn.logSigmoid, nn.celu, nn.silu, nn.sigmoid]) {
      const g = gradSum(f)(x).dataSync();
      assert.ok(g.every(Number.isFinite), `${f.name}: ${Array.from(g)}`);
    }
  });
  test("gelu exact vs tanh approximation; erf-based gelu checks to order 2", async () => {
    const x = f64([-2, -0.5, 0.5, 1, 3]);
    await assertAllClose(nn.gelu(x, { approximate: false }), [
      -0.0455002638963584,
      -0.15426876936299344,
      0.34573123063700656,
      0.8413447460685429,
      2.99595030590511,
    ], { rtol: 1e-11, atol: 1e-12 });
    const diff = np.max(np.abs(np.subtract(nn.gelu(x), nn.gelu(x, { approximate: false }))))
      .item() as number;
    assert.ok(diff > 1e-5 && diff < 1e-3, `approximation error ${diff}`);
    checkGrads((a: Tensor) => nn.gelu(a, { approximate: false }), [x], { order: 2 });
  });
  test("softmax / logSoftmax: rows sum to 1, -inf entries get 0, vmap and jit agree", async () => {
    const x = f64([[1, 2, -Infinity], [0, 0, 0]]);
    await assertAllClose(nn.softmax(x), [
      1 / (1 + Math.E),
      Math.E / (1 + Math.E),
      0,
      1 / 3,
      1 / 3,
      1 / 3,
    ], { rtol: 1e-14 });
    const y = f64([[0.2, -1, 3], [1, 1.5, -0.5]]);
    await assertAllClose(
      vmap((r: Tensor) => nn.logSoftmax(r))(y) as Tensor,
      nn.logSoftmax(y).dataSync(),
      { rtol: 1e-14 },
    );
    await assertAllClose(
      jit((r: Tensor) => nn.softmax(r, { axis: 0 }))(y) as Tensor,
      nn.softmax(y, { axis: 0 }).dataSync(),
      { rtol: 1e-14 },
    );
    checkGrads((a: Tensor) => nn.softmax(a, { axis: [0, 1] }), [y], { order: 2 });
  });
  test("oneHot: values, dtype, axis, out-of-range labels", () => {
    assert.deepEqual(nn.oneHot(np.array([1, 3, -1]), 3).toNestedSync(), [[0, 1, 0], [0, 0, 0], [
      0,
      0,
      0,
    ]]);
    const t = nn.oneHot(np.array([[0, 2]]), 3, { dtype: "int32", axis: 1 });
    assert.equal(t.dtype, "int32");
    assert.deepEqual(t.shape, [1, 3, 2]);
    assert.deepEqual(t.toNestedSync(), [[[1, 0], [0, 0], [0, 1]]]);
  });
  test("errors name the argument", () => {
    assert.throws(
      () => nn.oneHot(np.array([1]), -2),
      (e: unknown) => e instanceof RangeError && e.message.includes("numClasses -2"),
    );
    assert.throws(
      () => nn.softmax(f64([1, 2]), { axis: 3 }),
      (e: unknown) =>
        e instanceof RangeError && e.message.includes("softmax") && e.message.includes("3"),
    );
  });
});
