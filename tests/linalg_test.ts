/**
 * np.linalg and lax.linalg.triangularSolve: NumPy/SciPy fixtures (tests/fixtures/linalg_cases.json,
 * made by `python3 tests/fixtures/gen_linalg_fixtures.py`) in float64 and float32, gradients vs
 * finite differences, vmap vs a loop, jit vs eager, and error messages.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, lax, np, type Tensor, vmap } from "../mod.ts";
import data from "./fixtures/linalg_cases.json" with { type: "json" };

interface Arr {
  shape: number[];
  data: (number | string)[];
}
interface Case {
  name: string;
  fn: string;
  args: Arr[];
  kwargs: Record<string, boolean>;
  expected: Arr[];
}

const num = (v: number | string) => (typeof v === "string" ? Number(v) : v);
const arr = (a: Arr, dtype: "float32" | "float64") =>
  np.array(a.data.map(num), { dtype }).reshape(a.shape);

// deno-lint-ignore no-explicit-any
const FNS: Record<string, (...xs: any[]) => Tensor | Tensor[]> = {
  cholesky: np.linalg.cholesky,
  inv: np.linalg.inv,
  det: np.linalg.det,
  slogdet: np.linalg.slogdet,
  solve: np.linalg.solve,
  triangularSolve: lax.linalg.triangularSolve,
};

function close(got: Tensor, want: Arr, rtol: number, what: string): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const g = got.dataSync();
  want.data.map(num).forEach((w, i) => {
    const ok = w === g[i] || Math.abs(g[i] - w) <= rtol * (1 + Math.abs(w));
    assert.ok(ok, `${what}: element ${i}: got ${g[i]}, want ${w}`);
  });
}

for (const c of (data as unknown as { cases: Case[] }).cases) {
  for (const dtype of ["float64", "float32"] as const) {
    test(`linalg fixture: ${c.name} (${dtype})`, () => {
      const args = c.args.map((a) => arr(a, dtype));
      const extra = Object.keys(c.kwargs).length ? [c.kwargs] : [];
      const r = FNS[c.fn](...args, ...extra);
      const outs = Array.isArray(r) ? r : [r];
      assert.equal(outs.length, c.expected.length);
      outs.forEach((o, k) => {
        assert.equal(o.dtype, dtype);
        close(o, c.expected[k], dtype === "float64" ? 1e-10 : 2e-5, `${c.name} output ${k}`);
      });
    });
  }
}

const A = np.array([[4, 1, 0.5], [1, 3, -0.2], [0.5, -0.2, 2]], { dtype: "float64" });
const B = np.array([[1, -1], [0.5, 2], [-1, 0.25]], { dtype: "float64" });

test("gradients of np.linalg functions match finite differences (float64)", () => {
  const fns: [string, (a: Tensor) => Tensor][] = [
    ["cholesky", (a) => np.linalg.cholesky(a)],
    ["inv", (a) => np.linalg.inv(a)],
    ["det", (a) => np.linalg.det(a)],
    ["slogdet", (a) => np.linalg.slogdet(a)[1]],
    ["solve in a", (a) => np.linalg.solve(a, B)],
    ["triangularSolve right upper", (a) => lax.linalg.triangularSolve(a, B.T, { lower: false })],
  ];
  for (const [name, f] of fns) {
    assert.doesNotThrow(() => checkGrads(f, [A], { order: 2 }), name);
  }
  checkGrads((b: Tensor) => np.linalg.solve(A, b), [B], { order: 1 });
});

test("grad of logdet is inv(a)ᵀ", () => {
  const g = grad((a: Tensor) => np.linalg.slogdet(a)[1])(A);
  const want = np.linalg.inv(A).T.dataSync();
  g.dataSync().forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-12));
});

test("vmap matches a loop and jit matches eager", () => {
  const as = np.stack([A, np.multiply(A, 2), np.add(A, np.eye(3, { dtype: "float64" }))]);
  const f = (a: Tensor) => np.linalg.solve(np.linalg.cholesky(a), np.linalg.inv(a));
  const batched = vmap(f)(as).dataSync();
  const looped = [0, 1, 2].flatMap((i) => [...f(as.slice(i)).dataSync()]);
  batched.forEach((v, i) => assert.ok(Math.abs(v - looped[i]) < 1e-12));
  const jitted = jit(f)(A).dataSync();
  f(A).dataSync().forEach((v, i) => assert.equal(jitted[i], v));
});

test("errors name the op and the shapes", () => {
  assert.throws(() => np.linalg.inv([[1, 2, 3], [4, 5, 6]]), /inv: a must be square.*\[2,3\]/);
  assert.throws(() => np.linalg.det([1, 2]), TypeError);
  assert.throws(() => np.linalg.solve(A, [1, 2]), /solve: b must have shape \[3\]/);
  assert.throws(
    () => np.linalg.solve(np.zeros([2, 3, 3]), np.zeros([4, 3, 1])),
    /solve/,
  );
  assert.throws(
    () => lax.linalg.triangularSolve(A, B, { lower: true, leftSide: false }),
    /triangularSolve: b must have shape/,
  );
  assert.throws(
    () => lax.linalg.triangularSolve(A, B, { lowr: true } as never),
    /did you mean "lower"/,
  );
});

test("non positive definite cholesky gives NaN, singular solve gives non-finite values", () => {
  const l = np.linalg.cholesky([[1, 2], [2, 1]]).dataSync();
  assert.ok(l.some(Number.isNaN));
  const x = np.linalg.solve([[1, 2], [2, 4]], [1, 1]).dataSync();
  assert.ok(x.some((v) => !Number.isFinite(v)));
});

test("matrixPower and norm match NumPy values", () => {
  const m = np.array([[1, 2], [3, 4]], { dtype: "float64" });
  assert.deepEqual([...np.linalg.matrixPower(m, 3).dataSync()], [37, 54, 81, 118]);
  assert.deepEqual([...np.linalg.matrixPower(m, 0).dataSync()], [1, 0, 0, 1]);
  const mi = np.linalg.matrixPower(m, -2).dataSync(); // inv(m)^2 = [[5.5,-2.5],[-3.75,1.75]]
  [5.5, -2.5, -3.75, 1.75].forEach((v, i) => assert.ok(Math.abs(mi[i] - v) < 1e-12));
  const x = np.array([[1, -2], [3, 4]], { dtype: "float64" });
  const n = (o?: Parameters<typeof np.linalg.norm>[1]) => Number(np.linalg.norm(x, o).item());
  assert.ok(Math.abs(n() - Math.sqrt(30)) < 1e-12);
  assert.equal(n({ ord: 1 }), 6);
  assert.equal(n({ ord: -1 }), 4);
  assert.equal(n({ ord: Infinity }), 7);
  assert.equal(n({ ord: -Infinity }), 3);
  assert.deepEqual([...np.linalg.norm(x, { ord: 1, axis: 1 }).dataSync()], [3, 7]);
  assert.deepEqual([...np.linalg.norm(x, { ord: 0, axis: 0 }).dataSync()], [2, 2]);
  assert.deepEqual(np.linalg.norm(x, { axis: [0, 1], keepdims: true }).shape, [1, 1]);
  const p3 = Number(np.linalg.norm([1, 2, 3], { ord: 3 }).item());
  assert.ok(Math.abs(p3 - Math.cbrt(36)) < 1e-6);
  assert.throws(() => np.linalg.norm(x, { ord: 0.5 }), /norm: matrix ord 0.5 is not supported/);
  checkGrads((a: Tensor) => np.linalg.matrixPower(a, 3), [A], { order: 1 });
  checkGrads((a: Tensor) => np.linalg.norm(a, { ord: 3, axis: 1 }), [A], { order: 1 });
});
