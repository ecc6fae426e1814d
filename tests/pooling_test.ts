/**
 * Pooling (`nn.maxPool`, `nn.avgPool`) and `lax.reduceWindow` beyond the fixtures: tie-breaking
 * and determinism of max gradients, NaN propagation, XLA init semantics, int32 operands,
 * vmap / jit, and error messages. Values are hand-checked or computed by loops here.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, np, type Tensor, vmap } from "../mod.ts";
import * as lax from "../lib/lax.ts";
import * as nn from "../lib/nn.ts";
import { assertAllClose } from "./_test_utils.ts";
import { reduceWindowChooser, selectAndScatterAdd } from "../lib/ops/window.ts";

function throwsWith(fn: () => unknown, ctor: ErrorConstructor, ...needles: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(
      e instanceof ctor,
      `expected ${ctor.name}, got ${
        e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)
      }`,
    );
    for (const s of needles) {
      assert.ok(
        (e as Error).message.includes(s),
        `message ${JSON.stringify((e as Error).message)} lacks ${JSON.stringify(s)}`,
      );
    }
    return true;
  });
}

const f64 = (v: number[] | number[][] | number[][][] | number[][][][]) =>
  np.array(v, { dtype: "float64" });

describe("maxPool gradients", () => {
  test("ties: the whole gradient of a window goes to its first element (row-major), deterministically", () => {
    const x = np.ones([1, 1, 4, 4], { dtype: "float64" });
    const g = grad((a: Tensor) => np.sum(nn.maxPool(a, { window: 2 })))(x);
    assert.deepEqual(Array.from(g.dataSync()), [1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0]);
    const again = grad((a: Tensor) => np.sum(nn.maxPool(a, { window: 2 })))(x);
    assert.deepEqual(Array.from(again.dataSync()), Array.from(g.dataSync()));
  });
  test("overlapping windows accumulate on the shared maximum (mygrad np.add.at behaviour)", () => {
    const x = f64([[[1, 5, 2, 0, 3]]]);
    const g = grad((a: Tensor) => np.sum(nn.maxPool(a, { window: 3, stride: 1 })))(x);
    // windows [1,5,2] [5,2,0] [2,0,3] -> maxima 5, 5, 3
    assert.deepEqual(Array.from(nn.maxPool(x, { window: 3, stride: 1 }).dataSync()), [5, 5, 3]);
    assert.deepEqual(Array.from(g.dataSync()), [0, 2, 0, 0, 1]);
  });
  test("padding never receives gradient and never wins", () => {
    const x = f64([[[-3, -2, -5]]]);
    const y = nn.maxPool(x, { window: 2, stride: 2, padding: 1 });
    assert.deepEqual(Array.from(y.dataSync()), [-3, -2]);
    const g = grad((a: Tensor) => np.sum(nn.maxPool(a, { window: 2, stride: 2, padding: 1 })))(x);
    assert.deepEqual(Array.from(g.dataSync()), [1, 1, 0]);
  });
  test("NaN wins its windows and takes their gradient", () => {
    const x = f64([[[1, NaN, 2, 3, 0]]]);
    const y = nn.maxPool(x, { window: 2, stride: 1 }).dataSync();
    assert.deepEqual(Array.from(y).map((v) => (Number.isNaN(v) ? "nan" : v)), ["nan", "nan", 3, 3]);
    const g = grad((a: Tensor) => np.sum(nn.maxPool(a, { window: 2, stride: 1 })))(x).dataSync();
    assert.deepEqual(Array.from(g), [0, 2, 0, 2, 0]);
    const m = lax.reduceWindow(f64([4, NaN, 1]), Infinity, "min", [2], [1]).dataSync();
    assert.ok(Number.isNaN(m[0]) && Number.isNaN(m[1]));
  });
  test("second order: the Hessian of a max pool is zero, of an avg pool of squares is diagonal", () => {
    const x = f64([[[0.3, -0.2, 0.9, 0.1]]]);
    const h = grad((a: Tensor) =>
      np.sum(grad((b: Tensor) => np.sum(np.square(nn.maxPool(b, { window: 2 }))))(a))
    )(x);
    // d/dx sum(2 * max * onehot) = 2 * onehot
    assert.deepEqual(Array.from(h.dataSync()), [2, 0, 2, 0]);
    checkGrads(
      (a: Tensor) =>
        nn.avgPool(np.square(a), { window: 3, stride: 2, padding: 1, countIncludePad: false }),
      [x],
      { order: 2 },
    );
  });
});

describe("avgPool", () => {
  test("countIncludePad true divides by the window, false by the real elements", async () => {
    const x = f64([[[1, 2, 3, 4, 5]]]);
    await assertAllClose(nn.avgPool(x, { window: 3, stride: 2, padding: 1 }), [1, 3, 3]);
    await assertAllClose(
      nn.avgPool(x, { window: 3, stride: 2, padding: 1, countIncludePad: false }),
      [1.5, 3, 4.5],
    );
  });
  test("2-d, window list pools the trailing axes of a 3-d input", async () => {
    const x = np.arange(12, { dtype: "float64" }).reshape([1, 3, 4]);
    const y = nn.avgPool(x, { window: [3, 2] });
    assert.deepEqual(y.shape, [1, 1, 2]);
    await assertAllClose(y, [4.5, 6.5]);
  });
  test("int input gives float32", () => {
    assert.equal(nn.avgPool(np.array([[[1, 2]]]), { window: 2 }).dtype, "float32");
  });
});

describe("reduceWindow", () => {
  test("XLA semantics: init enters each window once, padding takes no part", async () => {
    const x = f64([1, 2, 3]);
    await assertAllClose(lax.reduceWindow(x, 10, "sum", [2], [1], [[1, 1]]), [11, 13, 15, 13]);
    await assertAllClose(lax.reduceWindow(x, 2.5, "max", [2], [1], [[1, 1]]), [2.5, 2.5, 3, 3]);
    await assertAllClose(lax.reduceWindow(x, 0, "min", [2], [2], [[0, 1]]), [0, 0]);
  });
  test("base dilation holes take no part; negative padding crops", async () => {
    const x = f64([1, 2, 3]);
    // dilated [1, _, 2, _, 3]; windows of 2 with stride 1
    await assertAllClose(lax.reduceWindow(x, 0, "sum", [2], [1], "VALID", { baseDilation: [2] }), [
      1,
      2,
      2,
      3,
    ]);
    await assertAllClose(
      lax.reduceWindow(x, -Infinity, "max", [2], [1], "VALID", { baseDilation: [2] }),
      [1, 2, 2, 3],
    );
    await assertAllClose(lax.reduceWindow(f64([1, 2, 3, 4]), 0, "sum", [2], [1], [[-1, 0]]), [
      5,
      7,
    ]);
  });
  test("int32 operands stay int32 and use the int32 extremes for infinite inits", () => {
    const y = lax.reduceWindow(
      np.array([[3, -1], [7, 2]], { dtype: "int32" }),
      -Infinity,
      "max",
      [2, 1],
      [1, 1],
      "SAME",
    );
    assert.equal(y.dtype, "int32");
    assert.deepEqual(Array.from(y.dataSync()), [7, 2, 7, 2]);
    assert.deepEqual(
      Array.from(
        lax.reduceWindow(np.array([5, 1, 4], { dtype: "int32" }), Infinity, "min", [2], [1])
          .dataSync(),
      ),
      [1, 1],
    );
  });
  test("vmap(grad) over a batch equals a loop; jit equals eager", async () => {
    const xs = np.array(Float64Array.from({ length: 3 * 5 * 6 }, (_, i) => Math.sin(i * 1.7)), {
      dtype: "float64",
      shape: [3, 5, 6],
    });
    const loss = (a: Tensor) =>
      np.sum(
        np.square(
          lax.reduceWindow(a, -Infinity, "max", [2, 3], [2, 2], "SAME", { windowDilation: [2, 1] }),
        ),
      );
    const batched = vmap(grad(loss))(xs) as Tensor;
    for (let i = 0; i < 3; i++) {
      await assertAllClose(batched.slice(i), grad(loss)(xs.slice(i)).dataSync(), {
        rtol: 0,
        atol: 0,
      });
    }
    await assertAllClose(jit(loss)(xs.slice(1)) as Tensor, [loss(xs.slice(1)).item() as number], {
      rtol: 1e-14,
    });
  });
});

describe("errors", () => {
  const x = np.ones([1, 2, 5, 5]);
  test("pools", () => {
    throwsWith(
      () => nn.maxPool(x, undefined as unknown as { window: number }),
      TypeError,
      "maxPool",
      "window",
    );
    throwsWith(
      () => nn.maxPool(np.ones([2, 5]), { window: 2 }),
      TypeError,
      "maxPool",
      "at least 3 dimensions",
      "[2,5]",
    );
    throwsWith(
      () => nn.maxPool(x, { window: [2, 2, 2, 2, 2] }),
      TypeError,
      "window [2,2,2,2,2]",
      "[1,2,5,5]",
    );
    throwsWith(() => nn.maxPool(x, { window: 0 }), RangeError, "window 0", "positive");
    throwsWith(
      () => nn.maxPool(x, { window: [2, 2], stride: [1] }),
      RangeError,
      "stride [1]",
      "2 numbers",
    );
    throwsWith(
      () => nn.maxPool(x, { window: 2, padding: 2 }),
      RangeError,
      "padding [2,2]",
      "at most half",
      "(1)",
    );
    throwsWith(
      () => nn.maxPool(x, { window: 6 }),
      RangeError,
      "fits nowhere",
      "window size 6",
      "padded input size 5",
    );
    throwsWith(
      () => nn.avgPool(x, { window: 2, padding: [[1, -1], [0, 0]] }),
      RangeError,
      "avgPool",
      "padding [[1,-1],[0,0]]",
    );
    throwsWith(
      () => nn.maxPool(np.array([[[true, false]]]), { window: 2 }),
      TypeError,
      "maxPool",
      "bool",
    );
  });
  test("reduceWindow", () => {
    const y = np.ones([4, 4]);
    throwsWith(
      () => lax.reduceWindow(y, 1, "prod" as "sum", [2, 2]),
      RangeError,
      "reduceWindow",
      'computation "prod"',
    );
    throwsWith(
      () => lax.reduceWindow(y, 0, "sum", [2]),
      RangeError,
      "windowDimensions [2]",
      "2 positive integers",
    );
    throwsWith(
      () => lax.reduceWindow(y, 0, "sum", [2, 2], [0, 1]),
      RangeError,
      "windowStrides [0,1]",
    );
    throwsWith(
      () => lax.reduceWindow(y, 0, "sum", [2, 2], null, "FULL"),
      RangeError,
      'padding "FULL"',
    );
    throwsWith(
      () => lax.reduceWindow(y, 0, "sum", [2, 2], null, [[0, 0]]),
      RangeError,
      "padding [[0,0]]",
      "2 integer",
    );
    throwsWith(
      () => lax.reduceWindow(y, 0, "sum", [2, 2], null, [[-5, 0], [0, 0]]),
      RangeError,
      "crops more",
      "4",
    );
    throwsWith(
      () => lax.reduceWindow(y, 0, "sum", [2, 2], null, "VALID", { baseDilation: [0, 1] }),
      RangeError,
      "baseDilation [0,1]",
    );
    throwsWith(() => lax.reduceWindow(np.array([true]), 0, "sum", [1]), TypeError, "bool");
    throwsWith(
      () => lax.reduceWindow(y, "0" as unknown as number, "sum", [1, 1]),
      TypeError,
      'initValue "0"',
    );
  });
  test("window primitives", () => {
    const g = { window: [2], strides: [2], padding: [[0, 0]] as [number, number][] };
    const p = { ...g, baseDilation: [1], windowDilation: [1], select: "max" as const };
    throwsWith(
      () => selectAndScatterAdd(np.ones([3]), np.ones([4]), p),
      TypeError,
      "selectAndScatterAdd",
      "cotangent shape [3]",
      "[2]",
    );
    throwsWith(
      () => reduceWindowChooser(np.ones([4]), "max", { ...p, strides: [0] }),
      RangeError,
      "reduceWindowMax",
      "strides [0]",
    );
    throwsWith(
      () => reduceWindowChooser(np.array([true]), "min", { ...p, window: [1] }),
      TypeError,
      "reduceWindowMin",
      "bool",
    );
  });
});

describe("ceilMode (PyTorch ceil_mode)", () => {
  // 1-d loop oracle: windows start at o·s − pl; positions in [0, L) are real, [−pl, L + ph) padded
  function oracle(
    x: number[],
    k: number,
    s: number,
    pl: number,
    ph: number,
    kind: "max" | "avg" | "avgReal",
  ): number[] {
    const L = x.length;
    let out = Math.floor((L + pl + ph - k + s - 1) / s) + 1;
    if ((out - 1) * s >= L + pl) out--;
    return Array.from({ length: out }, (_, o) => {
      let best = -Infinity, sum = 0, real = 0, padded = 0;
      for (let j = o * s - pl; j < o * s - pl + k; j++) {
        if (j >= -pl && j < L + ph) padded++;
        if (j < 0 || j >= L) continue;
        best = Math.max(best, x[j]);
        sum += x[j];
        real++;
      }
      return kind === "max" ? best : sum / (kind === "avg" ? padded : real);
    });
  }
  test("PyTorch's examples: max [1, 3, 4], avg [0.5, 2.5, 4] for arange(5), window 2", async () => {
    const x = np.arange(5, { dtype: "float32" }).reshape([1, 1, 5]);
    await assertAllClose(nn.maxPool(x, { window: 2, ceilMode: true }), [1, 3, 4]);
    await assertAllClose(nn.avgPool(x, { window: 2, ceilMode: true }), [0.5, 2.5, 4]);
    // without ceilMode the partial window is dropped
    await assertAllClose(nn.maxPool(x, { window: 2 }), [1, 3]);
  });
  test("random 1-d cases against a loop (max, avg with and without padding in the divisor)", async () => {
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let c = 0; c < 40; c++) {
      const L = 3 + Math.floor(rnd() * 10), k = 1 + Math.floor(rnd() * Math.min(4, L));
      const s = 1 + Math.floor(rnd() * 3), pl = Math.floor(rnd() * (Math.floor(k / 2) + 1));
      const ph = Math.floor(rnd() * (Math.floor(k / 2) + 1));
      const xs = Array.from({ length: L }, () => Math.round(rnd() * 20 - 10));
      const x = np.array(xs, { dtype: "float64" }).reshape([1, 1, L]);
      const padding: [number, number][] = [[pl, ph]];
      const what = JSON.stringify({ L, k, s, pl, ph });
      await assertAllClose(
        nn.maxPool(x, { window: k, stride: s, padding, ceilMode: true }),
        oracle(xs, k, s, pl, ph, "max"),
        { message: what },
      );
      await assertAllClose(
        nn.avgPool(x, { window: k, stride: s, padding, ceilMode: true }),
        oracle(xs, k, s, pl, ph, "avg"),
        { message: what },
      );
      await assertAllClose(
        nn.avgPool(x, { window: k, stride: s, padding, ceilMode: true, countIncludePad: false }),
        oracle(xs, k, s, pl, ph, "avgReal"),
        { message: what },
      );
    }
  });
  test("2-d, gradients and jit", () => {
    const x = np.reshape(np.sin(np.arange(2 * 3 * 7 * 6, { dtype: "float64" })), [2, 3, 7, 6]);
    const f = (a: Tensor) =>
      nn.avgPool(nn.maxPool(a, { window: 2, ceilMode: true }), { window: [2, 2], ceilMode: true });
    assert.deepEqual(f(x).shape, [2, 3, 2, 2]);
    assert.deepEqual(jit(f)(x).dataSync(), f(x).dataSync());
    checkGrads(f, [x], { order: 2 });
    assert.throws(() => nn.maxPool(x, { window: 2, ceilMode: 1 as unknown as boolean }), TypeError);
  });
});
