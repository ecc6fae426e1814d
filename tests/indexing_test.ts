/**
 * NumPy indexing, `x.at(...)` updates, take / takeAlongAxis / putAlongAxis and the lax
 * gather / scatter front ends: against NumPy fixtures (tests/fixtures/gen_indexing.py), with
 * gradients against finite differences, vmap against a loop and jit against eager.
 * @module
 */
import "./_backend.ts";
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, lax, np, type Tensor, vmap } from "../mod.ts";
import type { IndexSpec } from "../lib/numpy/indexing.ts";
import data from "./fixtures/indexing_cases.json" with { type: "json" };

type Spec = { n?: number; s?: string; none?: boolean; ell?: boolean; a?: unknown; m?: unknown };
// deno-lint-ignore no-explicit-any
type Case = any;

function decode(s: Spec): IndexSpec {
  if (s.ell) return "...";
  if (s.none) return null;
  if (s.n !== undefined) return s.n;
  if (s.s !== undefined) return s.s;
  if (s.m !== undefined) return np.array(s.m as boolean[]);
  return s.a as number[];
}

const f32 = (v: unknown, shape: number[]) => np.array(Float32Array.from(flat(v)), { shape });
const flat = (v: unknown) =>
  Array.isArray(v) ? (v as unknown[]).flat(Infinity as 1) as number[] : [v as number];

function close(got: Tensor, want: unknown, shape: number[], what: string): void {
  assert.deepEqual(got.shape, shape, `${what}: shape`);
  const g = Array.from(got.dataSync()), w = flat(want);
  assert.equal(g.length, w.length, what);
  g.forEach((v, i) =>
    assert.ok(
      Math.abs(v - Math.fround(w[i])) <= 1e-5 * (1 + Math.abs(w[i])),
      `${what}[${i}]: ${v} vs ${w[i]}`,
    )
  );
}

for (const c of (data as { cases: Case[] }).cases) {
  test(`NumPy fixture: ${c.kind} ${c.name}`, () => {
    const x = f32(c.x, c.shape);
    let got: Tensor;
    if (c.kind === "index") got = x.slice(...c.specs.map(decode));
    else if (c.kind === "at") {
      const v = f32(c.v, c.vShape);
      const a = x.at(...c.specs.map(decode));
      got = c.op === "add"
        ? a.add(v)
        : c.op === "multiply"
        ? a.multiply(v)
        : c.op === "min"
        ? a.min(v)
        : c.op === "max"
        ? a.max(v)
        : a.set(v);
    } else if (c.kind === "take") got = np.take(x, c.idx, { axis: c.axis });
    else if (c.kind === "takeAlong") {
      got = np.takeAlongAxis(x, np.array(c.idx, { dtype: "int32" }), c.axis);
    } else {
      got = np.putAlongAxis(x, np.array(c.idx, { dtype: "int32" }), f32(c.v, c.vShape), c.axis);
    }
    close(got, c.want, c.wantShape, c.name);
  });
}

test("index: jit matches eager for integer-array indices (traced indices too)", () => {
  const x = np.arange(20).reshape([4, 5]).astype("float32");
  const i = np.array([3, -1, 0], { dtype: "int32" });
  const f = (a: Tensor, b: Tensor) => a.slice(b, "1:4");
  const want = f(x, i).dataSync();
  assert.deepEqual(Array.from((jit(f)(x, i) as Tensor).dataSync()), Array.from(want));
});

test("index: a bool mask under jit is a TypeError pointing to np.where", () => {
  const f = jit((a: Tensor) => a.slice(a.greater(0)));
  assert.throws(() => f(np.array([1, -1, 2], { dtype: "float32" })), /np\.where/);
});

test("index: out-of-bounds integer arrays clamp (JAX), at().set drops them", () => {
  const x = np.array([1, 2, 3], { dtype: "float32" });
  assert.deepEqual(Array.from(x.slice([5, -9]).dataSync()), [3, 1]);
  assert.deepEqual(Array.from(x.at([5, 1]).set(0).dataSync()), [1, 0, 3]);
  assert.ok(Number.isNaN(x.at([7]).get({ mode: "fill" }).dataSync()[0]));
  assert.throws(() => x.at([0]).add(1, { mod: "clip" } as never), /did you mean "mode"/);
  assert.throws(() => x.slice([0.5]), TypeError);
});

test("index: an empty index of an empty axis is empty (NumPy), under jit, grad and vmap too", () => {
  const none = np.array([], { dtype: "int32" });
  const pick = (x: Tensor) => x.slice(":", none);
  assert.deepEqual(jit(pick)(np.zeros([2, 0])).shape, [2, 0]);
  assert.deepEqual(grad((x: Tensor) => pick(x).sum())(np.zeros([3, 0])).shape, [3, 0]);
  assert.deepEqual(vmap((x: Tensor) => np.take(x, none))(np.zeros([2, 0])).shape, [2, 0]);
  assert.deepEqual(np.zeros([0, 3]).at(none).add(np.ones([0, 3])).shape, [0, 3]);
  assert.throws(() => np.zeros([3, 0]).slice(":", [0]), /gather: slice size 1 of axis 1/);
});

test("grad through gather and at().add: repeated indices accumulate", () => {
  const x = np.array([1, 2, 3, 4], { dtype: "float32" });
  const g = grad((a: Tensor) =>
    a.slice([0, 0, 3]).mul(np.array([1, 2, 3], { dtype: "float32" })).sum()
  )(x);
  assert.deepEqual(Array.from(g.dataSync()), [3, 0, 0, 3]);
  const h = grad((v: Tensor) => np.zeros([3]).at([1, 1]).add(v).square().sum())(
    np.array([1, 2], { dtype: "float32" }),
  );
  assert.deepEqual(Array.from(h.dataSync()), [6, 6]);
});

test("checkGrads: indexing, at() updates, take, takeAlongAxis, putAlongAxis, dynamic slices", () => {
  const x = np.array([[0.5, -1.2, 2.0], [1.5, 0.3, -0.7], [0.9, 2.2, -1.1]], { dtype: "float64" });
  const v = np.array([0.4, -0.8], { dtype: "float64" });
  const idx = np.array([[2, 0], [1, 1]], { dtype: "int32" });
  checkGrads((a: Tensor) => a.slice([2, 0, 2], "::-1").sin(), [x]);
  checkGrads((a: Tensor, b: Tensor) => a.at([0, 2], [1, 1]).set(b).square(), [x, v]);
  checkGrads((a: Tensor, b: Tensor) => a.at(1, [0, 2]).multiply(b), [x, v]);
  checkGrads((a: Tensor, b: Tensor) => a.at([0, 2], 1).max(b), [x, v]);
  checkGrads((a: Tensor, b: Tensor) => a.at([0, 0], 2).min(b.mul(5)), [x, v]);
  checkGrads((a: Tensor) => np.take(a, idx, { axis: 1 }).square(), [x]);
  checkGrads(
    (a: Tensor) => np.takeAlongAxis(a, np.array([[2, 0, 1], [1, 1, 0]], { dtype: "int32" }), 0),
    [x],
  );
  checkGrads(
    (a: Tensor) =>
      np.putAlongAxis(a, np.array([[1, 0, 2]], { dtype: "int32" }), a.slice(":1").mul(3), 0),
    [x],
  );
  checkGrads((a: Tensor) => lax.dynamicSlice(a, [1, 2], [2, 2]).exp(), [x]);
  checkGrads((a: Tensor) => lax.dynamicUpdateSlice(a, a.slice("1:", "1:").square(), [0, 1]), [x]);
});

test("vmap of indexing and at().add matches a loop", () => {
  const xs = np.arange(24).reshape([2, 3, 4]).astype("float32");
  const is = np.array([[2, 0], [1, 1]], { dtype: "int32" });
  const f = (x: Tensor, i: Tensor) => x.slice(":", i).add(x.at(0, i).add(10).slice(0, "1:3"));
  const got = vmap(f)(xs, is) as Tensor;
  const want = [0, 1].map((b) => f(xs.slice(b), is.slice(b)));
  assert.deepEqual(Array.from(got.dataSync()), want.flatMap((w) => Array.from(w.dataSync())));
});

test("lax.dynamicSlice / dynamicUpdateSlice with traced starts under jit and grad", () => {
  const x = np.arange(10).astype("float32");
  const f = jit((a: Tensor, s: Tensor) =>
    lax.dynamicUpdateSlice(a, lax.dynamicSlice(a, [s], [3]).mul(-1), [s])
  );
  const y = f(x, np.array(8, { dtype: "int32" })) as Tensor;
  assert.deepEqual(Array.from(y.dataSync()), [0, 1, 2, 3, 4, 5, 6, -7, -8, -9]);
  const g = grad((a: Tensor) => lax.dynamicSlice(a, [np.array(2, { dtype: "int32" })], [2]).sum())(
    x,
  );
  assert.deepEqual(Array.from(g.dataSync()), [0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
});

test("lax.gather / scatter reject bad dimension numbers with clear errors", () => {
  const x = np.zeros([3, 4]);
  const i = np.array([[0]], { dtype: "int32" });
  assert.throws(
    () =>
      lax.gather(x, i, { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }, [2, 4]),
    /collapsed \/ batching axis 0 must have slice size 1/,
  );
  assert.throws(
    () =>
      lax.gather(x, np.array([[0.5]]), {
        offsetDims: [1],
        collapsedSliceDims: [0],
        startIndexMap: [0],
      }, [1, 4]),
    /indices must be int32/,
  );
  assert.throws(
    () =>
      lax.scatterAdd(x, i, np.zeros([1, 5]), {
        updateWindowDims: [1],
        insertedWindowDims: [0],
        scatterDimsToOperandDims: [0],
      }),
    /exceeds operand axis/,
  );
  assert.throws(
    () =>
      lax.gather(x, i, { offsetDims: [1], collapsedSliceDims: [0], startIndexMap: [0] }, [1, 4], {
        mode: "wrap" as never,
      }),
    RangeError,
  );
});
