// Programs holding loops keep the host buffers of their large intermediates (loop outputs,
// segment results) from one call to the next (lib/transforms/segments.ts): later calls give the
// same bits as the first and as the path that keeps nothing, earlier results never change, and
// outputs that share memory with an intermediate are never handed out as kept buffers.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, np, setBackend, type Tensor, valueAndGrad } from "../mod.ts";
import { segmentTuning } from "../lib/transforms/segments.ts";
import { allCloseReport } from "./_test_utils.ts";

const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
function rand(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  return np.array(d, { shape, dtype: "float32" });
}
/** `f` with nothing kept between calls (the general path). */
function keepingNothing<T>(f: () => T): T {
  const saved = segmentTuning.keepBytes;
  segmentTuning.keepBytes = 0;
  try {
    return f();
  } finally {
    segmentTuning.keepBytes = saved;
  }
}
function onReference<T>(f: () => T): T {
  setBackend("reference");
  try {
    return f();
  } finally {
    setBackend("cpu");
  }
}

// a loop whose stacked outputs (64 rows of [16, 32] float32: 128 KB) are consumed in the program
const W = rand([32, 32], 1);
const step = (h: Tensor, x: Tensor): [Tensor, Tensor] => {
  const h2 = np.tanh(np.matmul(h, W).add(x));
  return [h2, h2];
};
const loss = (h0: Tensor, xs: Tensor) => np.mean(lax.scan(step, h0, xs)[1].mul(2));

describe("programs with loops keep their intermediates between calls", () => {
  test("forward + grad: repeated calls give the first call's bits, as keeping nothing does", () => {
    const f = jit(valueAndGrad(loss, { argnums: [0, 1] }));
    const run = (h: Tensor, xs: Tensor) => {
      const [v, g] = f(h, xs) as [Tensor, Tensor[]];
      return [v, ...g];
    };
    const h0 = rand([16, 32], 2), xs = rand([64, 16, 32], 3), xs2 = rand([64, 16, 32], 4);
    const first = run(h0, xs), firstVals = first.map(vals);
    const other = run(h0, xs2).map(vals);
    const again = run(h0, xs).map(vals);
    assert.deepEqual(again, firstVals, "same inputs, same bits on a later call");
    assert.deepEqual(first.map(vals), firstVals, "earlier results are not overwritten");
    assert.notDeepEqual(other, firstVals);
    assert.deepEqual(keepingNothing(() => run(h0, xs2).map(vals)), other);
    const ref = onReference(() => run(h0, xs2).map(vals));
    other.forEach((o, i) => {
      const rep = allCloseReport(o, ref[i], { rtol: 1e-4, atol: 1e-6 });
      if (rep !== null) assert.fail(`output ${i} vs reference: ${rep}`);
    });
  });

  test("a loop output returned as it is, and reshaped, is a fresh array on every call", () => {
    const f = jit((h0: Tensor, xs: Tensor) => {
      const ys = lax.scan(step, h0, xs)[1];
      return [ys, np.reshape(ys, [64, 512]), np.sum(ys)];
    });
    const h0 = rand([16, 32], 5);
    const a = f(h0, rand([64, 16, 32], 6)) as Tensor[];
    const aVals = a.map(vals);
    const b = f(h0, rand([64, 16, 32], 7)) as Tensor[];
    assert.deepEqual(a.map(vals), aVals, "the first call's outputs did not change");
    assert.notDeepEqual(b.map(vals), aVals);
    assert.deepEqual(vals(b[1]), vals(b[0]), "the reshape has the loop output's values");
  });

  test("a reshaped intermediate passed to a second loop, then returned", () => {
    const f = jit((h0: Tensor, xs: Tensor) => {
      const ys = np.reshape(lax.scan(step, h0, xs)[1], [64, 16, 32]);
      const [c, zs] = lax.scan((c: Tensor, y: Tensor) => [c.add(y), c.mul(y)], h0, ys);
      return [c, zs, ys];
    });
    const h0 = rand([16, 32], 8), xs = rand([64, 16, 32], 9);
    const a = (f(h0, xs) as Tensor[]).map(vals);
    const kept = f(h0, rand([64, 16, 32], 10)) as Tensor[];
    const keptVals = kept.map(vals);
    assert.deepEqual((f(h0, xs) as Tensor[]).map(vals), a);
    assert.deepEqual(kept.map(vals), keptVals, "outputs of the second call did not change");
    assert.deepEqual(keepingNothing(() => (f(h0, xs) as Tensor[]).map(vals)), a);
  });

  test("zero-length loops and float64 / int32 carries", () => {
    const f = jit((c: Tensor, xs: Tensor) => {
      const [c2, ys] = lax.scan((c: Tensor, x: Tensor) => [c.add(x), c.mul(x)], c, xs);
      return [c2, np.sum(ys, { axis: 0 })];
    });
    for (const dtype of ["float64", "int32"] as const) {
      const c = np.ones([8, 600], { dtype });
      const xs = np.reshape(np.arange(8 * 8 * 600, { dtype }), [8, 8, 600]);
      const a = (f(c, xs) as Tensor[]).map(vals);
      assert.deepEqual((f(c, xs) as Tensor[]).map(vals), a);
      assert.deepEqual(onReference(() => (f(c, xs) as Tensor[]).map(vals)), a);
    }
    const z = f(np.ones([8, 600]), np.zeros([0, 8, 600])) as Tensor[];
    assert.deepEqual(vals(z[0]), new Array(4800).fill(1));
    assert.deepEqual(vals(z[1]), new Array(4800).fill(0));
  });

  test("NaN flows through kept buffers", () => {
    const f = jit((h0: Tensor, xs: Tensor) => np.sum(lax.scan(step, h0, xs)[1], { axis: 0 }));
    const xs = np.where(
      np.arange(64 * 16 * 32).reshape([64, 16, 32]).equal(63 * 512 + 5),
      NaN,
      0.25,
    );
    const a = vals(f(np.zeros([16, 32]), xs) as Tensor);
    const b = vals(f(np.zeros([16, 32]), xs) as Tensor);
    assert.deepEqual(b, a);
    assert.ok(Number.isNaN(a[5]) && !Number.isNaN(a[6]));
  });
});
