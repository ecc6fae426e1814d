// optim: every optimizer's parameter trajectory against optax's formulas written in NumPy float64
// (tests/fixtures/gen_optim_fixtures.py) to 1e-9 over several steps, eager and jitted; schedules
// against the same script; chain / masks / errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { jit, np, type Tensor, valueAndGrad } from "../mod.ts";
import * as optim from "./optim.ts";
import fx from "../tests/fixtures/optim_trajectories.json" with { type: "json" };

type Case = { kind: string; opts: Record<string, unknown>; trajectory: number[][][] };
const f64 = (v: number[], shape: number[]) => np.array(v, { dtype: "float64" }).reshape(shape);

function make(c: Case): optim.GradientTransformation<unknown> {
  const o = c.opts as never;
  switch (c.kind) {
    case "sgd":
      return optim.sgd(o);
    case "adam":
      return optim.adam(o);
    case "adamw":
      return optim.adamw(o);
    case "rmsprop":
      return optim.rmsprop(o);
    case "adagrad":
      return optim.adagrad(o);
    case "lion":
      return optim.lion(o);
    case "clip_adamw": {
      const { maxNorm, ...rest } = c.opts;
      return optim.chain(optim.clipByGlobalNorm(maxNorm as number), optim.adamw(rest as never));
    }
  }
  throw new Error(c.kind);
}

function closeTo(got: ArrayLike<number>, want: number[], tol: number, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    const err = Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i]));
    assert.ok(err <= tol, `${what}[${i}]: ${got[i]} vs ${want[i]} (err ${err})`);
  }
}

describe("optim: optax trajectories (float64, 1e-9)", () => {
  for (const [name, c] of Object.entries(fx.cases as Record<string, Case>)) {
    for (const mode of ["eager", "jit"] as const) {
      test(`${name} (${mode})`, () => {
        const opt = make(c);
        let params: Tensor[] = fx.p0.map((v, i) => f64(v, fx.shapes[i]));
        let state = opt.init(params);
        const step = (p: Tensor[], s: unknown, g: Tensor[]) => {
          const [u, s2] = opt.update(g, s, p);
          return [optim.applyUpdates(p, u), s2] as const;
        };
        const run = mode === "jit" ? jit(step) : step;
        fx.grads.forEach((g, t) => {
          [params, state] = run(params, state, g.map((v, i) => f64(v, fx.shapes[i])));
          params.forEach((p, i) => {
            assert.equal(p.dtype, "float64");
            closeTo(p.dataSync(), c.trajectory[t][i], 1e-9, `${name} step ${t + 1} leaf ${i}`);
          });
        });
      });
    }
  }
});

describe("optim: schedules", () => {
  const make = (name: string, o: Record<string, unknown>): optim.Schedule => {
    switch (name) {
      case "exponential":
      case "exponential_staircase_end":
        return optim.exponentialDecay(o as never);
      case "cosine":
        return optim.cosineDecay(o as never);
      case "warmup_cosine":
        return optim.warmupCosineDecay(o as never);
      case "piecewise":
        return optim.piecewiseConstant(o.initValue as number, o.boundariesAndScales as never);
    }
    throw new Error(name);
  };
  for (const [name, s] of Object.entries(fx.schedules)) {
    test(`${name} matches optax's formula at steps 0..39 (float32), eager and jitted`, () => {
      const sched = make(name, s.opts);
      const counts = np.arange(40, { dtype: "int32" });
      closeTo(Array.from(s.values, (_, i) => Number(sched(i).item())), s.values, 1e-6, name);
      closeTo(jit((c: Tensor) => sched(c))(counts).dataSync(), s.values, 1e-6, `${name} jit`);
    });
  }

  test("a schedule as learningRate is evaluated at the transformation's count", () => {
    const opt = optim.sgd({ learningRate: optim.piecewiseConstant(1, { 1: 0.5, 2: 0.5 }) });
    let p = [np.zeros([1], { dtype: "float64" })];
    let s = opt.init(p);
    const got: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [u, s2] = opt.update([np.ones([1], { dtype: "float64" })], s, p);
      [p, s] = [optim.applyUpdates(p, u), s2];
      got.push(Number(p[0].item()));
    }
    assert.deepEqual(got, [-1, -1.5, -1.75]);
    assert.equal(optim.constant(3)(7).item(), 3);
  });
});

describe("optim: composition, jit, errors", () => {
  test("a jitted training step traces once and converges (float32, nested pytree)", () => {
    const loss = (p: { a: Tensor; b: { c: Tensor } }) =>
      np.sum(np.square(p.a.sub(2))).add(np.sum(np.square(p.b.c.add(1))));
    const opt = optim.chain(
      optim.clipByGlobalNorm(10),
      optim.adamw({ learningRate: 0.05, weightDecay: 0 }),
    );
    let params = { a: np.zeros([3]), b: { c: np.zeros([2, 2]) } };
    let state = opt.init(params);
    let traces = 0;
    const step = jit((p: typeof params, s: typeof state) => {
      traces++;
      const [l, g] = valueAndGrad(loss)(p);
      const [u, s2] = opt.update(g, s, p);
      return [optim.applyUpdates(p, u), s2, l] as const;
    });
    for (let i = 0; i < 300; i++) [params, state] = step(params, state);
    assert.equal(traces, 1);
    assert.equal(params.a.dtype, "float32");
    closeTo(params.a.dataSync(), [2, 2, 2], 1e-2, "a");
    closeTo(params.b.c.dataSync(), [-1, -1, -1, -1], 1e-2, "c");
  });

  test("masks select the leaves that decay; clipByGlobalNorm leaves small updates alone", () => {
    const p = { w: np.ones([2]), b: np.ones([1]) };
    const t = optim.addDecayedWeights({
      weightDecay: 0.5,
      mask: (x: unknown) => ({ ...(x as object), w: true, b: false }),
    });
    const [u] = t.update({ w: np.zeros([2]), b: np.zeros([1]) }, t.init(p), p);
    assert.deepEqual([...u.w.dataSync(), ...u.b.dataSync()], [0.5, 0.5, 0]);
    const c = optim.clipByGlobalNorm(10);
    const [v] = c.update([np.array([3, 4], { dtype: "float32" })], c.init([]));
    assert.deepEqual([...v[0].dataSync()], [3, 4]);
  });

  test("bad arguments are clear errors", () => {
    assert.throws(
      () => optim.adam({ lr: 0.1 } as never),
      /adam: unknown option "lr"/,
    );
    assert.throws(() => optim.sgd({} as never), /learningRate is required/);
    assert.throws(
      () => optim.adam({ learningRate: 0.1, b1: 1.5 }),
      /b1 1.5 must be a number in \[0, 1\]/,
    );
    const opt = optim.adam({ learningRate: 0.1 });
    const s = opt.init({ w: np.zeros([2]) });
    assert.throws(() => opt.update({ v: np.zeros([2]) }, s), /structure/);
    assert.throws(() => opt.update({ w: np.zeros([2], { dtype: "int32" }) }, s), /dtype int32/);
    assert.throws(() => optim.chain(optim.sgd({ learningRate: 1 }), {} as never), /argument 1/);
    assert.throws(
      () =>
        optim.adamw({ learningRate: 1 }).update(
          [np.zeros([1])],
          optim.adamw({ learningRate: 1 }).init([np.zeros([1])]),
        ),
      /params are required/,
    );
  });
});
