/**
 * `signal` beyond the fixtures: the HIPS autograd seeds, exact gradients for crossed dot axes
 * (where autograd itself is wrong), scipy centring rules, 0-d operands, vmap / jit, and errors.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, np, type Tensor, vjp, vmap } from "../mod.ts";
import * as signal from "../lib/signal.ts";
import { assertAllClose } from "./_test_utils.ts";

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

function rand(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return np.array(Float64Array.from({ length: n }, (_, i) => Math.sin(seed * 31.7 + i * 2.3)), {
    dtype: "float64",
    shape,
  });
}

describe("autograd seeds", () => {
  test("four 3×3 images, filter [[1,1],[-1,-1]], valid, axes ([1,2],[0,1]) -> each [[-2,-2],[0,0]]", () => {
    const row = [[1, 1, 1], [0, 0, 0], [0, 0, 0]];
    const out = signal.convolve(np.array([row, row, row, row]), np.array([[1, 1], [-1, -1]]), {
      axes: [[1, 2], [0, 1]],
      mode: "valid",
    });
    assert.deepEqual(out.shape, [4, 2, 2]);
    assert.deepEqual(out.toNestedSync(), [0, 1, 2, 3].map(() => [[-2, -2], [0, 0]]));
  });
  test("arange(60).reshape(3,4,5) with arange(24).reshape(4,3,2), axes ([],[]), dotAxes ([1,0],[0,1]) -> (5,2), row 0 [4400,4730]", () => {
    const a = np.arange(60).reshape([3, 4, 5]), b = np.arange(24).reshape([4, 3, 2]);
    const out = signal.convolve(a, b, { axes: [[], []], dotAxes: [[1, 0], [0, 1]] });
    assert.deepEqual(out.shape, [5, 2]);
    assert.deepEqual((out.toNestedSync() as number[][])[0], [4400, 4730]);
    assert.deepEqual(
      Array.from(out.dataSync()),
      Array.from(np.tensordot(a, b, [[1, 0], [0, 1]]).dataSync()),
    );
  });
});

describe("crossed dot axes: exact gradients (autograd's VJP is transposed here)", () => {
  test("tensordot seed: gradient shapes are the operand shapes and match tensordot's gradients", async () => {
    const a = rand([3, 4, 5], 1), b = rand([4, 3, 2], 2);
    const g = rand([5, 2], 3);
    const [, pull] = vjp(
      (x: Tensor, y: Tensor) =>
        signal.convolve(x, y, { axes: [[], []], dotAxes: [[1, 0], [0, 1]] }),
      a,
      b,
    );
    const [da, db] = pull(g) as Tensor[];
    assert.deepEqual(db.shape, [4, 3, 2]);
    const [, pullRef] = vjp((x: Tensor, y: Tensor) => np.tensordot(x, y, [[1, 0], [0, 1]]), a, b);
    const [ra, rb] = pullRef(g) as Tensor[];
    await assertAllClose(da, ra.dataSync(), { rtol: 1e-12, atol: 1e-12 });
    await assertAllClose(db, rb.dataSync(), { rtol: 1e-12, atol: 1e-12 });
  });
  test("equal-size crossed dot axes ([0,3],[3,0]) with a convolved axis: checkGrads order 2, all modes", () => {
    const a = rand([3, 5, 2, 3], 4), b = rand([3, 3, 2, 3], 5);
    for (const mode of ["full", "same", "valid"] as const) {
      checkGrads(
        (x: Tensor, y: Tensor) =>
          signal.convolve(x, y, { axes: [[1], [1]], dotAxes: [[0, 3], [3, 0]], mode }),
        [a, b],
        { order: 2 },
      );
    }
  });
  test("listing the dot pairs in another order is the same function", async () => {
    const a = rand([3, 5, 2, 4], 6), b = rand([4, 3, 3], 7);
    const y1 = signal.convolve(a, b, { axes: [[1], [2]], dotAxes: [[0, 3], [1, 0]] });
    const y2 = signal.convolve(a, b, { axes: [[1], [2]], dotAxes: [[3, 0], [0, 1]] });
    await assertAllClose(y1, y2.dataSync(), { rtol: 1e-12, atol: 1e-12 });
  });
});

describe("scipy semantics", () => {
  test("'same' centring: convolve takes offset (K-1)//2 of the full result, for odd and even kernels", async () => {
    const a = np.array([1, 2, 3, 4, 5], { dtype: "float64" });
    await assertAllClose(signal.convolve(a, np.array([1, 10]), { mode: "same" }), [
      1,
      12,
      23,
      34,
      45,
    ]);
    await assertAllClose(signal.convolve(a, np.array([1, 10, 100]), { mode: "same" }), [
      12,
      123,
      234,
      345,
      450,
    ]);
    // correlate = convolve with the flipped kernel (N-d scipy.signal.correlate)
    await assertAllClose(signal.correlate(a, np.array([1, 10]), { mode: "same" }), [
      10,
      21,
      32,
      43,
      54,
    ]);
  });
  test("'same' with a larger kernel keeps a's size; valid with a smaller first operand", async () => {
    const y = signal.convolve(np.array([1, 2]), np.array([1, 1, 1, 1]), { mode: "same" });
    await assertAllClose(y, [3, 3]);
    await assertAllClose(
      signal.convolve(np.array([1, 2]), np.array([1, 2, 3, 4]), { mode: "valid" }),
      [4, 7, 10],
    );
  });
  test("0-d operands multiply; int inputs promote to float32; float64 stays float64", async () => {
    await assertAllClose(signal.convolve(np.array(3), np.array(4)), [12]);
    assert.equal(signal.convolve(np.array([1, 2]), np.array([1])).dtype, "float32");
    assert.equal(signal.convolve(rand([3], 1), np.array([1])).dtype, "float64");
  });
  test("correlate2d 'same' follows scipy's correlate2d centring (differs from N-d correlate for even sizes)", async () => {
    const a = np.array([[1, 2, 3], [4, 5, 6]], { dtype: "float64" });
    const b = np.array([[1, 10]], { dtype: "float64" });
    await assertAllClose(signal.correlate2d(a, b, { mode: "same" }), [21, 32, 3, 54, 65, 6]);
    await assertAllClose(signal.correlate(a, b, { mode: "same" }), [10, 21, 32, 40, 54, 65]);
  });
});

describe("transforms", () => {
  test("vmap(grad) over a batch of signals equals a loop; jit equals eager", async () => {
    const xs = rand([4, 7, 3], 8), k = rand([3, 2], 9);
    const loss = (x: Tensor, w: Tensor) =>
      np.sum(np.square(signal.convolve(x, w, { mode: "same" })));
    const gb = vmap(grad(loss, { argnums: 1 }), { inAxes: [0, null] })(xs, k) as Tensor;
    for (let i = 0; i < 4; i++) {
      await assertAllClose(gb.slice(i), grad(loss, { argnums: 1 })(xs.slice(i), k).dataSync(), {
        rtol: 1e-12,
        atol: 1e-12,
      });
    }
    const f = (x: Tensor) => signal.convolve2d(x, k, { mode: "same", boundary: "symm" });
    await assertAllClose(jit(f)(xs.slice(0)) as Tensor, f(xs.slice(0)).dataSync(), {
      rtol: 1e-12,
      atol: 1e-12,
    });
  });
  test("checkGrads order 2 for every boundary of convolve2d / correlate2d", () => {
    const a = rand([4, 3], 10), b = rand([2, 3], 11);
    for (const boundary of ["fill", "wrap", "symm"] as const) {
      for (const mode of ["full", "same", "valid"] as const) {
        checkGrads(
          (x: Tensor, y: Tensor) => signal.convolve2d(x, y, { mode, boundary, fillvalue: 0.5 }),
          [a, b],
          { order: 2 },
        );
        checkGrads((x: Tensor, y: Tensor) => signal.correlate2d(x, y, { mode, boundary }), [a, b], {
          order: 2,
        });
      }
    }
  });
});

describe("errors", () => {
  const a = np.ones([4, 5]), b = np.ones([2, 3]);
  test("scipy mode", () => {
    throwsWith(
      () => signal.convolve(a, b, { mode: "circular" as "full" }),
      RangeError,
      "convolve",
      'mode "circular"',
    );
    throwsWith(
      () => signal.convolve(a, np.ones([3])),
      TypeError,
      "convolve",
      "[4,5]",
      "[3]",
      "same number of dimensions",
    );
    throwsWith(() => signal.convolve(np.ones([0, 3]), b), TypeError, "zero-size", "[0,3]");
    throwsWith(
      () => signal.convolve(a, np.ones([5, 2]), { mode: "valid" }),
      TypeError,
      '"valid"',
      "[4,5]",
      "[5,2]",
    );
    throwsWith(
      () => signal.correlate(a, np.ones([5, 2]), { mode: "valid" }),
      TypeError,
      "correlate",
      '"valid"',
    );
  });
  test("autograd mode", () => {
    throwsWith(
      () => signal.convolve(a, b, { axes: [[0, 1], [0]] }),
      RangeError,
      "axes [[0,1],[0]]",
      "2 and 1",
    );
    throwsWith(
      () => signal.convolve(a, b, { axes: [[2], [0]] }),
      RangeError,
      "axes[0] 2",
      "out of bounds",
    );
    throwsWith(
      () => signal.convolve(a, b, { axes: [[0], [0]], dotAxes: [[0], [1]] }),
      RangeError,
      "must not repeat",
      "[4,5]",
    );
    throwsWith(
      () => signal.convolve(a, b, { axes: [[0], [0]], dotAxes: [[1], [1]] }),
      TypeError,
      "dotAxes pair 0",
      "sizes 5",
      "3",
    );
    throwsWith(
      () => signal.convolve(np.ones([2, 3, 4]), np.ones([3, 2]), { dotAxes: [[1], [0]] }),
      TypeError,
      "without axes",
      "2 and b",
      "only 1",
    );
    throwsWith(
      () =>
        signal.convolve(a, np.ones([5, 2]), {
          axes: [[0, 1], [0, 1]],
          mode: "valid",
          dotAxes: [[], []],
        }),
      TypeError,
      '"valid"',
      "[4,5]",
      "[5,2]",
    );
    throwsWith(
      () => signal.convolve(a, b, { axes: "x" as unknown as [number[], number[]] }),
      RangeError,
      'axes "x"',
      "pair",
    );
  });
  test("2-d", () => {
    throwsWith(() => signal.convolve2d(np.ones([3]), b), TypeError, "convolve2d", "2-d", "[3]");
    throwsWith(
      () => signal.correlate2d(a, b, { boundary: "reflect" as "symm" }),
      RangeError,
      "correlate2d",
      'boundary "reflect"',
    );
    throwsWith(
      () => signal.convolve2d(a, b, { fillvalue: "1" as unknown as number, boundary: "fill" }),
      TypeError,
      'fillvalue "1"',
    );
  });
});

describe("correlate with axes / dotAxes", () => {
  // a[c, x] (dot axis 0, correlated axis 1), b[k, c] (correlated axis 0, dot axis 1)
  const A = [[1, 2, -1, 3, 0.5, 2], [0, -2, 1, 1, 4, -1]];
  const B = [[1, -1], [2, 0.5], [-3, 1]];
  const oracle = (lo: number, hi: number) => {
    const out: number[] = [];
    for (let i = lo; i <= hi; i++) {
      let s = 0;
      for (let c = 0; c < 2; c++) {
        for (let k = 0; k < 3; k++) if (i + k >= 0 && i + k < 6) s += A[c][i + k] * B[k][c];
      }
      out.push(s);
    }
    return out;
  };
  const opts = {
    axes: [[1], [0]] as [number[], number[]],
    dotAxes: [[0], [1]] as [number[], number[]],
  };
  test("valid and full against a loop", async () => {
    const a = np.array(A), b = np.array(B);
    await assertAllClose(signal.correlate(a, b, { ...opts, mode: "valid" }), oracle(0, 3));
    await assertAllClose(signal.correlate(a, b, opts), oracle(-2, 5));
  });
  test("gradients (checkGrads to order 2)", () => {
    const a = np.array(A, { dtype: "float64" }), b = np.array(B, { dtype: "float64" });
    checkGrads(
      (x: Tensor, y: Tensor) => signal.correlate(x, y, { ...opts, mode: "same" }),
      [a, b],
      {
        order: 2,
      },
    );
  });
});
