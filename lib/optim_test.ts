// Tests for lib/optim.ts: hand-computed first steps of sgd (plain, momentum, Nesterov) and adam,
// convergence on a quadratic over a nested pytree, jit (one trace, same numbers as eager),
// schedules, dtype preservation and argument errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, np, type Tensor, valueAndGrad } from "../mod.ts";
import { adam, type Optimizer, sgd } from "./optim.ts";

const f32 = (v: number | number[]) => np.array(v, { dtype: "float32" });
const vals = (t: Tensor) => Array.from(t.dataSync() as Float32Array);

function close(actual: number[], expected: number[], tol = 1e-6): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => {
    assert.ok(
      Math.abs(a - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `[${i}] ${a} vs ${expected[i]}`,
    );
  });
}

/** Runs `n` updates with constant gradients `gs[i]` at step i and returns the parameter after each. */
function trajectory<S>(opt: Optimizer<S>, p0: number[], gs: number[][]): number[][] {
  let p = [f32(p0)];
  let s = opt.init(p);
  return gs.map((g) => {
    [p, s] = opt.update([f32(g)], s, p);
    return vals(p[0]);
  });
}

describe("sgd", () => {
  test("plain gradient descent first steps", () => {
    const out = trajectory(sgd({ lr: 0.1 }), [1, -2], [[1, 2], [0.5, -1]]);
    close(out[0], [0.9, -2.2]);
    close(out[1], [0.85, -2.1]);
  });

  test("heavy-ball momentum: v = m v + g, p -= lr v", () => {
    const out = trajectory(sgd({ lr: 0.1, momentum: 0.9 }), [1], [[1], [1], [1]]);
    // v: 1, 1.9, 2.71 -> p: 0.9, 0.71, 0.439
    close(out.flat(), [0.9, 0.71, 0.439]);
  });

  test("Nesterov momentum: p -= lr (g + m v)", () => {
    const out = trajectory(sgd({ lr: 0.1, momentum: 0.9, nesterov: true }), [1], [[1], [1]]);
    // v1 = 1: step 1 + 0.9 = 1.9 -> 0.81; v2 = 1.9: step 1 + 1.71 = 2.71 -> 0.539
    close(out.flat(), [0.81, 0.539]);
  });

  test("no velocity state without momentum; the step counts updates", () => {
    const opt = sgd({ lr: 1 });
    const p = { w: f32([1]) };
    let s = opt.init(p);
    assert.equal(s.velocity, null);
    assert.equal(s.step.dtype, "int32");
    for (let i = 0; i < 3; i++) s = opt.update({ w: f32([0]) }, s, p)[1];
    assert.equal(s.step.item(), 3);
  });
});

describe("adam", () => {
  test("first two steps match the formulas", () => {
    const [lr, b1, b2, eps] = [0.01, 0.9, 0.999, 1e-8];
    const g1 = [5, -0.2, 0], g2 = [1, 0.3, 2];
    const out = trajectory(adam({ lr }), [1, -1, 0.5], [g1, g2]);
    // step 1: m̂ = g, v̂ = g², so p moves by lr * sign(g) (0 where g = 0)
    close(out[0], [0.99, -0.99, 0.5]);
    const step2 = out[0].map((p, i) => {
      const m = (1 - b1) * (b1 * g1[i] + g2[i]);
      const v = (1 - b2) * (b2 * g1[i] ** 2 + g2[i] ** 2);
      const mh = m / (1 - b1 ** 2), vh = v / (1 - b2 ** 2);
      return p - lr * mh / (Math.sqrt(vh) + eps);
    });
    close(out[1], step2, 1e-5);
  });

  test("keeps float64 parameters float64", () => {
    const opt = adam({ lr: 0.1 });
    const p = { w: np.array([1, 2], { dtype: "float64" }) };
    const [p1, s1] = opt.update({ w: np.array([1, 1], { dtype: "float64" }) }, opt.init(p), p);
    assert.equal(p1.w.dtype, "float64");
    assert.equal((s1.mu as { w: Tensor }).w.dtype, "float64");
    close(Array.from(p1.w.dataSync() as Float64Array), [0.9, 1.9], 1e-6);
  });
});

describe("convergence on a quadratic over a nested pytree", () => {
  type P = { w: Tensor; inner: { b: Tensor } };
  const target = { w: [3, -1, 0.5], b: -2 };
  const loss = (p: P) =>
    np.add(
      np.sum(np.multiply(np.square(np.subtract(p.w, f32(target.w))), f32([1, 4, 0.5]))),
      np.square(np.subtract(p.inner.b, target.b)).mul(2),
    );
  const cases: [string, Optimizer<unknown>, number][] = [
    ["sgd", sgd({ lr: 0.05 }) as Optimizer<unknown>, 300],
    ["sgd momentum", sgd({ lr: 0.02, momentum: 0.9 }) as Optimizer<unknown>, 300],
    ["sgd nesterov", sgd({ lr: 0.02, momentum: 0.9, nesterov: true }) as Optimizer<unknown>, 300],
    ["adam", adam({ lr: 0.05 }) as Optimizer<unknown>, 1000],
  ];
  for (const [name, opt, steps] of cases) {
    test(name, () => {
      let p: P = { w: np.zeros([3]), inner: { b: f32(0) } };
      let s = opt.init(p);
      const g = grad(loss);
      for (let i = 0; i < steps; i++) [p, s] = opt.update(g(p) as P, s, p);
      close(vals(p.w), target.w, 1e-3);
      close(vals(p.inner.b), [target.b], 1e-3);
      assert.ok((loss(p).item() as number) < 1e-5);
    });
  }
});

describe("under jit", () => {
  for (
    const [name, make] of [["sgd", () => sgd({ lr: 0.1, momentum: 0.5 })], [
      "adam",
      () => adam({ lr: 0.1 }),
    ]] as const
  ) {
    test(`${name}: traced once, same result as eager`, () => {
      const opt = make() as Optimizer<unknown>;
      const loss = (p: Tensor[]) => np.sum(np.square(np.subtract(p[0], f32([1, 2]))));
      const train = (p: Tensor[], s: unknown) => {
        const [l, g] = valueAndGrad(loss)(p);
        return [l, ...opt.update(g, s, p)];
      };
      const step = jit(train);
      let pj: Tensor[] = [np.zeros([2])], sj = opt.init(pj);
      let pe: Tensor[] = [np.zeros([2])], se = opt.init(pe);
      for (let i = 0; i < 20; i++) {
        [, pj, sj] = step(pj, sj);
        [, pe, se] = train(pe, se) as [Tensor, Tensor[], unknown];
      }
      assert.equal(step.traceCount, 1);
      close(vals(pj[0]), vals(pe[0]), 1e-5);
      assert.equal((sj as { step: Tensor }).step.item(), 20);
    });
  }

  test("a learning-rate schedule receives the step counter", () => {
    const seen: number[] = [];
    const opt = sgd({
      lr: (step) => {
        seen.push(step.ndim);
        return np.multiply(0.5, np.power(0.5, np.astype(step, "float32")));
      },
    });
    const step = jit((p: Tensor, s: unknown) => opt.update(p, s as never, p));
    let p = f32([1]), s = opt.init(p);
    for (let i = 0; i < 3; i++) [p, s] = step(p, s);
    // p *= (1 - 0.5), (1 - 0.25), (1 - 0.125)
    close(vals(p), [0.5 * 0.75 * 0.875]);
    assert.deepEqual(seen, [0]); // traced once
  });
});

describe("errors", () => {
  test("bad hyperparameters", () => {
    assert.throws(() => sgd({ lr: 0.1, momentum: 1 }), RangeError);
    assert.throws(() => sgd({ lr: 0.1, nesterov: true }), /nesterov needs a positive momentum/);
    assert.throws(() => adam({ lr: 0.1, b2: -0.1 }), /adam: b2 -0.1 must be in \[0, 1\)/);
    assert.throws(() => adam({ lr: Number.NaN }), TypeError);
  });

  test("mismatched structures and non-float leaves", () => {
    const opt = adam({ lr: 0.1 });
    const p = { a: f32(1), b: f32(2) };
    const s = opt.init(p);
    assert.throws(
      () => opt.update({ a: f32(1) } as typeof p, s, p),
      /adam.update: grads has structure \{a: \*\} but params has structure \{a: \*, b: \*\}/,
    );
    assert.throws(
      () => opt.init({ a: np.array([1, 2], { dtype: "int32" }) }),
      /adam.init: params leaves must be float32 or float64, leaf 0 has dtype int32/,
    );
    assert.throws(() => opt.init({ a: 1 }), /adam.init: params must be a pytree of Tensors/);
    assert.throws(
      () => opt.update(p, {} as never, p),
      /adam.update: state.step must be a scalar Tensor/,
    );
  });
});
