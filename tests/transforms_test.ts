/**
 * Composition of the public transforms (grad, valueAndGrad, vjp, jvp, linearize, vmap, jit, jacfwd,
 * jacrev, hessian, checkGrads, customJvp, customVjp): closed-form higher derivatives, Jacobians and
 * Hessians vs finite differences, per-example gradients, nesting in every order, pytrees, closures,
 * jit caching and its errors, escaped tracers, size-0/size-1 axes and np broadcasting.
 * @module
 */
import "./_backend.ts"; // TRACEGRAD_TEST_BACKEND selects the backend the checks run on
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkGrads,
  customJvp,
  customVjp,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  linearize,
  makeJaxpr,
  np,
  stopGradient,
  type Tensor,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
type Nested = number | Nested[];

const f64 = (v: Nested): Tensor => np.array(v as number[], { dtype: "float64" });
const vals = (t: Tensor): number[] => Array.from(t.dataSync());
const TIGHT = { rtol: 1e-10, atol: 1e-12 };

/** Asserts `got` has `want`'s values (and shape, when `want` is a Tensor or a shape is given). */
function close(got: Tensor, want: Tensor | number | number[], tol = TIGHT, shape?: number[]): void {
  const w = typeof want === "number" ? [want] : Array.isArray(want) ? want : vals(want);
  const s = shape ?? (typeof want === "object" && !Array.isArray(want) ? want.shape : undefined);
  if (s) assert.deepEqual(got.shape, s, "shape");
  const report = allCloseReport(got.dataSync(), w, tol);
  if (report !== null) assert.fail(report);
}
/** Compares pytrees of Tensors leaf by leaf. */
function closeTree(got: Any, want: Any, tol = TIGHT): void {
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, "pytree list structure");
    want.forEach((w, i) => closeTree(got[i], w, tol));
  } else if (want && typeof want === "object" && !("dataSync" in want)) {
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), "pytree keys");
    for (const k of Object.keys(want)) closeTree(got[k], want[k], tol);
  } else close(got, want, tol);
}
const stack = (ts: Tensor[]): Tensor => np.stack(ts, 0);
const row = (t: Tensor, i: number): Tensor => np.slice(t, i);

describe("higher derivatives of scalar functions", () => {
  const d2 = (f: (x: Tensor) => Tensor) => grad(grad(f));
  const xs = [-1.3, 0.4, 2.1];
  const cases: [string, (x: Tensor) => Tensor, (x: number) => number][] = [
    ["sin", (x) => np.sin(x), (x) => -Math.sin(x)],
    ["exp", (x) => np.exp(x), (x) => Math.exp(x)],
    ["x^3", (x) => x.mul(x).mul(x), (x) => 6 * x],
    ["tanh", (x) => np.tanh(x), (x) => -2 * Math.tanh(x) * (1 - Math.tanh(x) ** 2)],
    ["log", (x) => np.log(np.abs(x)), (x) => -1 / (x * x)],
    ["logistic", (x) => np.sigmoid(x), (x) => {
      const s = 1 / (1 + Math.exp(-x));
      return s * (1 - s) * (1 - 2 * s);
    }],
  ];
  for (const [name, f, want] of cases) {
    test(`grad(grad(${name})) matches the closed form`, () => {
      for (const x of xs) close(d2(f)(f64(x)), want(x), { rtol: 1e-10, atol: 1e-12 }, []);
    });
    test(`forward-over-reverse second derivative of ${name} equals grad(grad)`, () => {
      for (const x of xs) {
        close(jvp(grad(f), [f64(x)], [f64(1)])[1], want(x), { rtol: 1e-10, atol: 1e-12 });
      }
    });
  }
  test("mixed partials of x^2 y^3 + sin(x y) are equal and match the closed form", () => {
    const f = (x: Tensor, y: Tensor) => x.mul(x).mul(y.mul(y).mul(y)).add(np.sin(x.mul(y)));
    const [x, y] = [0.7, -1.2];
    const want = 6 * x * y * y + Math.cos(x * y) - x * y * Math.sin(x * y);
    close(grad(grad(f, { argnums: 0 }), { argnums: 1 })(f64(x), f64(y)), want);
    close(grad(grad(f, { argnums: 1 }), { argnums: 0 })(f64(x), f64(y)), want);
    close(hessian((v: Tensor) => f(row(v, 0), row(v, 1)))(f64([x, y])), [
      2 * y ** 3 - y * y * Math.sin(x * y),
      want,
      want,
      6 * x * x * y - x * x * Math.sin(x * y),
    ]);
  });
  test("grad(grad(grad(p))) of a quartic polynomial is 72x - 12", () => {
    const p = (x: Tensor) => x.pow(4).mul(3).sub(x.pow(3).mul(2)).add(x).sub(5);
    for (const x of [-2, 0.5, 3]) close(grad(grad(grad(p)))(f64(x)), 72 * x - 12);
    close(grad(grad(grad(grad(p))))(f64(1.5)), 72);
  });
  test("max/min split the tangent evenly at ties; reduceMax averages over tied maxima", () => {
    close(grad((x: Tensor) => np.maximum(x, f64(1)))(f64(1)), 0.5);
    close(grad((x: Tensor) => np.minimum(f64(1), x))(f64(1)), 0.5);
    close(grad((x: Tensor) => np.max(x))(f64([1, 3, 3])), [0, 0.5, 0.5]);
    close(grad((x: Tensor) => np.min(x))(f64([2, 2, 2, 5])), [1 / 3, 1 / 3, 1 / 3, 0]);
  });
  test("pow with a zero base has a finite derivative in the exponent", () => {
    close(grad((y: Tensor) => np.power(f64(0), y))(f64(2)), 0);
    close(grad((x: Tensor) => np.power(x, f64(2)))(f64(0)), 0);
    close(grad((y: Tensor) => np.power(f64(2), y))(f64(3)), 8 * Math.log(2));
  });
});

describe("Jacobians and Hessians", () => {
  const A = f64([[1, -2, 0.5], [0.3, 1, 2], [-1, 0, 1]]);
  const x0 = f64([0.3, -0.7, 1.1]);
  const scalarFns: [string, (x: Tensor) => Tensor][] = [
    ["sum(sin x) * sum(x^2)", (x) => np.sum(np.sin(x)).mul(np.sum(x.mul(x)))],
    ["logsumexp", (x) => np.logsumexp(x)],
    [
      "x^T A x + tanh(x0 x1)",
      (x) => np.dot(x, np.matmul(A, x)).add(np.tanh(row(x, 0).mul(row(x, 1)))),
    ],
  ];
  for (const [name, f] of scalarFns) {
    test(`hessian of ${name} matches finite differences of grad and is symmetric`, () => {
      const H = hessian(f)(x0) as Tensor;
      assert.deepEqual(H.shape, [3, 3]);
      const h = 1e-5;
      const g = grad(f);
      const cols = [0, 1, 2].map((j) => {
        const e = f64([0, 1, 2].map((i) => (i === j ? h : 0)));
        return vals(g(x0.add(e))).map((v, i) => (v - vals(g(x0.sub(e)))[i]) / (2 * h));
      });
      const fd = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => cols[j][i]));
      close(H, fd, { rtol: 1e-6, atol: 1e-7 });
      close(H, np.transpose(H), { rtol: 1e-12, atol: 1e-12 });
    });
  }
  const vectorFns: [string, (x: Tensor) => Tensor, Tensor][] = [
    ["softmax", (x) => np.exp(x).div(np.sum(np.exp(x))), x0],
    ["A tanh(x)", (x) => np.matmul(A, np.tanh(x)), x0],
    [
      "x * cumulative sum",
      (x) => x.mul(np.matmul(np.array([[1, 0, 0], [1, 1, 0], [1, 1, 1]], { dtype: "float64" }), x)),
      x0,
    ],
    ["matrix square (2-d in, 2-d out)", (x) => np.matmul(x, x), f64([[1, 2], [3, -1]])],
    ["vector to scalar", (x) => np.sum(np.sin(x)), x0],
    ["scalar to vector", (x) => np.stack([np.sin(x), x.mul(x)]), f64(0.4)],
  ];
  for (const [name, f, x] of vectorFns) {
    test(`jacfwd equals jacrev: ${name}`, () => {
      const jf = jacfwd(f)(x) as Tensor, jr = jacrev(f)(x) as Tensor;
      const outShape = (f(x) as Tensor).shape;
      assert.deepEqual(jf.shape, [...outShape, ...x.shape]);
      close(jr, jf, { rtol: 1e-12, atol: 1e-14 });
    });
  }
  test("jacfwd of A x is A; jacrev with argnums picks the argument", () => {
    close(jacfwd((x: Tensor) => np.matmul(A, x))(x0), A);
    close(jacrev((a: Tensor, x: Tensor) => x.mul(a), { argnums: 1 })(f64(2), f64([1, 2])), [
      2,
      0,
      0,
      2,
    ]);
  });
  test("vmap(hessian) equals a loop of hessians", () => {
    const f = (x: Tensor) => np.sum(x.mul(x).mul(np.sin(x)));
    const xs = f64([[0.1, 0.2], [1, -1], [2, 0.5]]);
    close(vmap(hessian(f))(xs), stack([0, 1, 2].map((i) => hessian(f)(row(xs, i)))));
  });
});

describe("per-example gradients", () => {
  const xs = f64([[1, 2, 3], [0, 1, 0], [2, -1, 1], [1, 1, 1]]);
  const models: [string, (p: Any, x: Tensor, y: Tensor) => Tensor, Tensor][] = [
    [
      "linear, squared loss",
      (p, x, y) => np.square(np.dot(x, p.w).add(p.b).sub(y)),
      f64([1, 2, 0, -1]),
    ],
    ["logistic, log loss", (p, x, y) => {
      const z = np.dot(x, p.w).add(p.b);
      return np.log1p(np.exp(z)).sub(y.mul(z)); // -[y log s + (1-y) log(1-s)]
    }, f64([1, 0, 0, 1])],
  ];
  const params = { w: f64([0.5, -1, 2]), b: f64(0.3) };
  for (const [name, loss, ys] of models) {
    const loop = () => {
      const gs = [0, 1, 2, 3].map((i) => grad(loss)(params, row(xs, i), row(ys, i)));
      return { w: stack(gs.map((g) => g.w)), b: stack(gs.map((g) => g.b)) };
    };
    test(`vmap(grad(loss), inAxes [null, 0, 0]) equals a loop (${name})`, () => {
      const got = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys);
      closeTree(got, loop());
      assert.deepEqual(got.w.shape, [4, 3]);
    });
    test(`jit(vmap(grad(loss))) equals a loop and traces once (${name})`, () => {
      const jf = jit(vmap(grad(loss), { inAxes: [null, 0, 0] }));
      closeTree(jf(params, xs, ys), loop());
      closeTree(jf(params, xs, ys), loop());
      assert.equal(jf.traceCount, 1);
    });
  }
  test("per-example gradients of the linear model match the closed form 2 (x.w + b - y) [x, 1]", () => {
    const loss = models[0][1], ys = models[0][2];
    const got = vmap(grad(loss), { inAxes: [null, 0, 0] })(params, xs, ys);
    const r = [0, 1, 2, 3].map((i) =>
      2 * (vals(row(xs, i)).reduce((s, v, k) => s + v * vals(params.w)[k], 0) + 0.3 - vals(ys)[i])
    );
    close(got.b, r);
    close(got.w, [0, 1, 2, 3].flatMap((i) => vals(row(xs, i)).map((v) => v * r[i])));
  });
});

describe("nesting transforms", () => {
  const f = (x: Tensor) => np.sum(np.sin(x).mul(x));
  const df = (x: Tensor) => np.cos(x).mul(x).add(np.sin(x));
  const x = f64([0.5, -1, 2]);
  test("grad(jit(f)), jit(grad(f)) and jit inside grad equal grad(f)", () => {
    close(grad(f)(x), df(x));
    close(grad(jit(f))(x), df(x));
    const jg = jit(grad(f));
    close(jg(x), df(x));
    close(jg(x.mul(2)), df(x.mul(2)));
    assert.equal(jg.traceCount, 1);
    const inner = jit((y: Tensor) => np.sin(y).mul(y));
    close(grad((y: Tensor) => np.sum(inner(y)))(x), df(x));
  });
  test("grad(jit(grad(f))) and jit(grad(grad)) give the second derivative", () => {
    const g = (s: Tensor) => np.sin(s).mul(s);
    const want = (s: number) => 2 * Math.cos(s) - s * Math.sin(s);
    close(grad(jit(grad(g)))(f64(0.3)), want(0.3));
    close(jit(grad(grad(g)))(f64(0.3)), want(0.3));
  });
  test("jit(vmap(grad(f))) and vmap(jit(grad(f))) equal a loop", () => {
    const xs = f64([[0.5, 1], [1, 2], [-3, 0.25]]);
    const want = stack([0, 1, 2].map((i) => df(row(xs, i))));
    close(jit(vmap(grad(f)))(xs), want);
    close(vmap(jit(grad(f)))(xs), want);
    close(vmap(grad(f), { inAxes: 1 })(np.transpose(xs)), want);
  });
  test("jvp(jit(f)) and linearize(jit(f)) match jvp(f)", () => {
    const v = f64([1, 0.5, -2]);
    const [, t] = jvp(f, [x], [v]);
    close(jvp(jit(f), [x], [v])[1], t);
    close(linearize(jit(f), x)[1](v), t);
  });
  test("vmap of vmap computes an outer product; inAxes per level", () => {
    const a = f64([1, 2, 3]), b = f64([10, 20]);
    const outer = vmap(vmap((p: Tensor, q: Tensor) => p.mul(q), { inAxes: [null, 0] }), {
      inAxes: [0, null],
    });
    close(outer(a, b), [10, 20, 20, 40, 30, 60], TIGHT, [3, 2]);
    const m = f64([[1, 2, 3], [4, 5, 6]]), n = f64([[1, 2], [3, 4], [5, 6]]);
    close(
      vmap(vmap((p: Tensor, q: Tensor) => p.mul(q)), { inAxes: [0, 1] })(m, n),
      [1, 6, 15, 8, 20, 36],
      TIGHT,
      [2, 3],
    );
  });
  test("vmap outAxes: 1, -1 and a pytree of axes", () => {
    const m = f64([[1, 2, 3], [4, 5, 6]]);
    close(vmap((r: Tensor) => r.mul(2), { outAxes: 1 })(m), [2, 8, 4, 10, 6, 12], TIGHT, [3, 2]);
    close(vmap((r: Tensor) => r.mul(2), { outAxes: -1 })(m), [2, 8, 4, 10, 6, 12], TIGHT, [3, 2]);
    const [p, s] = vmap((r: Tensor) => [r.mul(2), np.sum(r)], { outAxes: [1, 0] })(m);
    close(p, [2, 8, 4, 10, 6, 12], TIGHT, [3, 2]);
    close(s, [6, 15], TIGHT, [2]);
    // an output that does not depend on the mapped input is broadcast along the new axis
    const c = f64([7, 8, 9]);
    const [, u] = vmap((r: Tensor) => [r, c], { outAxes: -1 })(m);
    close(u, [7, 7, 8, 8, 9, 9], TIGHT, [3, 2]);
    close(vmap((_r: Tensor) => c, { outAxes: 0 })(m), [7, 8, 9, 7, 8, 9], TIGHT, [2, 3]);
  });
  test("linearize equals jvp, for several tangents", () => {
    const g = (a: Tensor, b: Tensor) => np.sin(a).mul(b).add(np.exp(a.mul(b)));
    const a = f64([1, 2]), b = f64([0.3, -0.4]);
    const [y, lin] = linearize(g, a, b);
    close(y, g(a, b));
    for (const [ta, tb] of [[f64([1, 0]), f64([0, 1])], [f64([0.5, -2]), f64([3, 0.1])]]) {
      const [yj, tj] = jvp(g, [a, b], [ta, tb]);
      close(yj, y);
      close(lin(ta, tb), tj);
    }
  });
});

describe("API options, pytrees and closures", () => {
  const h = (x: Tensor, y: Tensor) => np.sum(x.mul(y).mul(y));
  const a = f64([1, 2]), b = f64([3, 4]);
  test("valueAndGrad with argnums as a number and as an array", () => {
    const [v1, g1] = valueAndGrad(h, { argnums: 1 })(a, b);
    close(v1, 1 * 9 + 2 * 16);
    close(g1, [6, 16]);
    const [v2, g2] = valueAndGrad(h, { argnums: [0, 1] })(a, b);
    close(v2, 41);
    assert.ok(Array.isArray(g2) && g2.length === 2);
    close(g2[0], [9, 16]);
    close(g2[1], [6, 16]);
    close(grad(h, { argnums: -1 })(a, b), [6, 16]);
  });
  test("hasAux passes the auxiliary output through (grad and valueAndGrad)", () => {
    const f = (x: Tensor) => [np.sum(x.mul(x)), { doubled: x.mul(2), list: [np.sum(x)] }];
    const [g, aux] = grad(f, { hasAux: true })(a);
    close(g, [2, 4]);
    close(aux.doubled, [2, 4]);
    close(aux.list[0], 3);
    const [[v, aux2], g2] = valueAndGrad(f, { hasAux: true })(a);
    close(v, 5);
    close(aux2.doubled, [2, 4]);
    close(g2, [2, 4]);
  });
  test("pytrees in and out: grad, jvp, vjp, vmap and jit over nested objects and arrays", () => {
    const tree = { a: f64([1, 2]), b: [f64([2, 5]), f64(3)] };
    const f = (d: Any) => np.sum(d.a.mul(d.b[0])).add(d.b[1].mul(d.b[1]));
    closeTree(grad(f)(tree), { a: f64([2, 5]), b: [f64([1, 2]), f64(6)] });
    const g = (d: Any) => [d.a.mul(2), { q: d.b[1].mul(d.b[1]) }];
    const [po, to] = jvp(g, [tree], [{ a: f64([1, 0]), b: [f64([0, 0]), f64(1)] }]);
    closeTree(po, [f64([2, 4]), { q: f64(9) }]);
    closeTree(to, [f64([2, 0]), { q: f64(6) }]);
    const [out, pb] = vjp((p: Tensor, q: Tensor) => ({ s: p.mul(q), t: [p] }), a, b);
    closeTree(out, { s: f64([3, 8]), t: [a] });
    closeTree(pb({ s: f64([1, 1]), t: [f64([1, 0])] }), [f64([4, 4]), f64([1, 2])]);
    const jf = jit((d: Any) => ({ s: d.a.add(d.b[0]), t: [d.b[1].mul(2)] }));
    closeTree(jf(tree), { s: f64([3, 7]), t: [f64(6)] });
    const vf = vmap((d: Any) => d.a.add(d.b), { inAxes: [{ a: 0, b: null }] });
    close(vf({ a: f64([[1, 2], [3, 4]]), b: f64([10, 20]) }), [11, 22, 13, 24], TIGHT, [2, 2]);
  });
  test("closures over outer Tensors under grad, jit and vmap", () => {
    const c = f64([1, 2]);
    close(grad((x: Tensor) => np.sum(x.mul(c).mul(x)))(b), [6, 16]);
    const jf = jit((x: Tensor) => x.mul(c));
    close(jf(b), [3, 8]);
    close(jf(b), [3, 8]);
    assert.equal(jf.traceCount, 1);
    close(vmap((x: Tensor) => x.mul(c))(f64([[1, 1], [2, 2]])), [1, 2, 2, 4]);
    // jit closing over a tracer of an outer grad: the tracer is a constant of the staged program
    const g = (x: Tensor) => jit((y: Tensor) => y.mul(x).mul(y))(x);
    close(grad(g)(f64(3)), 27);
    close(grad(g)(f64(5)), 75);
    close(vmap((x: Tensor) => jit((y: Tensor) => y.mul(x))(f64([1, 1])))(f64([2, 3])), [
      2,
      2,
      3,
      3,
    ]);
  });
  test("stopGradient blocks derivatives (also through pytrees, jit and second order)", () => {
    close(grad((x: Tensor) => np.sum(x.mul(stopGradient(x))))(a), [1, 2]);
    close(grad(jit((x: Tensor) => np.sum(x.mul(stopGradient(x)))))(a), [1, 2]);
    const t = stopGradient({ p: a, q: [b] });
    close(t.q[0], b);
    close(grad(grad((x: Tensor) => x.mul(x).mul(stopGradient(x))))(f64(3)), 6);
    close(jvp((x: Tensor) => stopGradient(x).add(x), [a], [f64([1, 1])])[1], [1, 1]);
  });
});

describe("customJvp and customVjp", () => {
  const rule = ([x]: Tensor[], [dx]: Tensor[]): [Tensor, Tensor] => [np.sin(x), np.cos(x).mul(dx)];
  const cj = customJvp((x: Tensor) => np.sin(x), { jvp: rule });
  const x = f64([0.5, 1, -2]);
  test("customJvp: eval, grad, jvp, grad of grad", () => {
    close(cj(x), np.sin(x));
    close(grad((y: Tensor) => np.sum(cj(y)))(x), np.cos(x));
    close(jvp(cj, [x], [f64([1, 2, 3])])[1], np.cos(x).mul(f64([1, 2, 3])));
    close(grad(grad((y: Tensor) => cj(y)))(f64(0.5)), -Math.sin(0.5));
  });
  test("customJvp: the rule is used (not the function's own derivative)", () => {
    const softplus = customJvp((y: Tensor) => np.log1p(np.exp(y)), {
      jvp: ([y]: Tensor[], [dy]: Tensor[]) => [np.log1p(np.exp(y)), dy.mul(np.sigmoid(y))],
    });
    close(grad((y: Tensor) => softplus(y))(f64(800)), 1);
    const tagged = customJvp((y: Tensor) => y, {
      jvp: ([y]: Tensor[], [dy]: Tensor[]) => [y, dy.mul(3)],
    });
    close(grad((y: Tensor) => tagged(y))(f64(1)), 3);
  });
  test("customJvp under jit and vmap", () => {
    close(jit(cj)(x), np.sin(x));
    close(jit(grad((y: Tensor) => np.sum(cj(y))))(x), np.cos(x));
    close(grad(jit((y: Tensor) => np.sum(cj(y))))(x), np.cos(x));
    close(vmap(cj)(x), np.sin(x));
    close(vmap(grad((y: Tensor) => cj(y)))(x), np.cos(x));
    close(vmap((y: Tensor) => jvp(cj, [y], [np.onesLike(y)])[1])(x), np.cos(x));
    close(grad((y: Tensor) => np.sum(vmap(cj)(y)))(x), np.cos(x));
    close(vmap(jit(cj))(x), np.sin(x));
  });
  const cv = customVjp((p: Tensor, q: Tensor) => p.mul(q), {
    fwd: (p: Tensor, q: Tensor) => [p.mul(q), [p, q]],
    bwd: ([p, q]: Tensor[], ct: Tensor) => [ct.mul(q), ct.mul(p)],
  });
  const p = f64([1, 2]), q = f64([3, 4]);
  test("customVjp: eval, grad wrt both arguments, and the bwd rule is used", () => {
    close(cv(p, q), [3, 8]);
    const [gp, gq] = grad((s: Tensor, t: Tensor) => np.sum(cv(s, t)), { argnums: [0, 1] })(p, q);
    close(gp, q);
    close(gq, p);
    const clip = customVjp((y: Tensor) => y, {
      fwd: (y: Tensor) => [y, null],
      bwd: (_r: unknown, ct: Tensor) => [np.clip(ct, -1, 1)],
    });
    close(grad((y: Tensor) => clip(y).mul(5))(f64(1)), 1);
  });
  test("customVjp under jit and vmap", () => {
    close(jit(cv)(p, q), [3, 8]);
    close(jit(grad((s: Tensor) => np.sum(cv(s, q))))(p), q);
    close(vmap(cv)(p, q), [3, 8]);
    close(vmap(cv, { inAxes: [0, null] })(f64([[1, 2], [5, 6]]), q), [3, 8, 15, 24]);
    close(
      vmap(grad((s: Tensor, t: Tensor) => np.sum(cv(s, t))), { inAxes: [0, null] })(
        f64([[1, 2], [5, 6]]),
        q,
      ),
      [3, 4, 3, 4],
    );
    close(grad((s: Tensor) => np.sum(vmap(cv)(s, q)))(p), q);
  });
  test("customVjp: forward mode is rejected with a TypeError", () => {
    assert.throws(
      () => jvp((s: Tensor) => cv(s, q), [p], [p]),
      (e: unknown) => e instanceof TypeError && /customVjp/.test(String(e)),
    );
  });
  test("customVjp: grad(jit(f)) and vmap(grad(jit(f))) with Tensor residuals", () => {
    close(grad(jit((s: Tensor) => np.sum(cv(s, q))))(p), q);
    close(grad(jit((s: Tensor, t: Tensor) => np.sum(cv(s, t))), { argnums: [0, 1] })(p, q)[1], p);
    close(vmap(grad(jit((s: Tensor) => np.sum(cv(s, q)))))(f64([[1, 2], [5, 6]])), [3, 4, 3, 4]);
  });
});

describe("jit caching and errors", () => {
  test("retraces on new shapes and dtypes only", () => {
    const jf = jit((x: Tensor) => np.sum(x.mul(x)));
    close(jf(f64([1, 2])), 5);
    close(jf(f64([3, 4])), 25);
    assert.equal(jf.traceCount, 1);
    close(jf(f64([1, 2, 3])), 14);
    assert.equal(jf.traceCount, 2);
    close(jf(np.array([1, 2], { dtype: "float32" })), 5);
    assert.equal(jf.traceCount, 3);
    jf(f64([5, 6]));
    jf(f64([5, 6, 7]));
    assert.equal(jf.traceCount, 3);
  });
  test("staticArgnums: a JS number drives control flow and is part of the cache key", () => {
    const power = jit((x: Tensor, n: number) => {
      let y = x;
      for (let i = 1; i < n; i++) y = y.mul(x);
      return n > 2 ? y.add(1) : y;
    }, { staticArgnums: 1 });
    close(power(f64(2), 3), 9);
    close(power(f64(2), 2), 4);
    close(power(f64(3), 3), 28);
    assert.equal(power.traceCount, 2);
    close(grad((x: Tensor) => power(x, 3))(f64(2)), 12);
  });
  test("using a traced value as a JS number or boolean inside jit is a TypeError naming staticArgnums", () => {
    // Note: `if (tensor)` cannot be intercepted in JS (objects are always truthy); comparisons and
    // Number() go through Symbol.toPrimitive, which is where the error is raised.
    const isErr = (e: unknown) =>
      e instanceof TypeError && /staticArgnums/.test((e as Error).message);
    assert.throws(
      () => jit((x: Tensor) => (np.sum(x) > (0 as unknown as Tensor) ? x : x.neg()))(f64([1, 2])),
      isErr,
    );
    assert.throws(() => jit((x: Tensor) => x.mul(Number(x)))(f64(2)), isErr);
    assert.throws(() => jit((x: Tensor) => x.dataSync())(f64(2)), isErr);
  });
  test("makeJaxpr lists the primitives; lower().asText() shows the program", () => {
    const text = makeJaxpr((x: Tensor) => np.sum(np.sin(x).mul(2)))(f64([1, 2])).toString();
    for (const prim of ["sin", "mul", "reduceSum"]) assert.match(text, new RegExp(`\\b${prim}\\b`));
    const gtext = String(makeJaxpr(grad((x: Tensor) => np.sum(np.exp(x))))(f64([1, 2])));
    assert.match(gtext, /\bexp\b/);
    const lowered = jit((x: Tensor) => np.tanh(x)).lower(f64([1]));
    assert.match(lowered.jaxpr.toString(), /\btanh\b/);
    assert.ok(
      lowered.asText().length > 0,
      "asText is the program (or its kernel plan on a compiling backend)",
    );
  });
});

describe("checkGrads", () => {
  const fns: [string, (...a: Any[]) => Any, Any[]][] = [
    ["sin(x) * x", (x) => np.sin(x).mul(x), [f64([0.5, 1.5])]],
    ["tanh(A x) with two arguments", (A, x) => np.tanh(np.matmul(A, x)), [
      f64([[1, 2], [0.5, -1]]),
      f64([0.3, 0.2]),
    ]],
    ["logsumexp", (x) => np.logsumexp(x), [f64([0.1, -0.4, 2])]],
    ["pytree in and out", (d) => [np.tanh(d.a), d.b.mul(d.a)], [{
      a: f64([0.5, 1.5]),
      b: f64([1, 2]),
    }]],
    ["float32 input", (x) => np.exp(x), [np.array([0.5, 1.5], { dtype: "float32" })]],
  ];
  for (const [name, f, args] of fns) {
    test(`passes to order 2: ${name}`, () => checkGrads(f, args, { order: 2 }));
  }
  test("fails with a RangeError on a wrong customJvp rule", () => {
    const bad = customJvp((x: Tensor) => np.sin(x), {
      jvp: ([x]: Tensor[], [dx]: Tensor[]) => [np.sin(x), np.cos(x).mul(dx).mul(2)],
    });
    assert.throws(
      () => checkGrads(bad, [f64([0.5, 1.5])]),
      (e: unknown) => e instanceof RangeError && /checkGrads/.test(String(e)),
    );
  });
  test("a rule with a correct first but wrong second derivative fails only at order 2", () => {
    const bad = customJvp((x: Tensor) => np.sin(x), {
      jvp: ([x]: Tensor[], [dx]: Tensor[]) => [np.sin(x), np.cos(stopGradient(x)).mul(dx)],
    });
    checkGrads(bad, [f64([0.5, 1.5])], { order: 1 });
    assert.throws(() => checkGrads(bad, [f64([0.5, 1.5])], { order: 2 }), RangeError);
  });
  test("reverse mode only: checks customVjp functions and catches a wrong bwd", () => {
    const good = customVjp((x: Tensor) => np.sin(x), {
      fwd: (x: Tensor) => [np.sin(x), x],
      bwd: (x: Tensor, ct: Tensor) => [np.cos(x).mul(ct)],
    });
    checkGrads(good, [f64([0.5, 1.5])], { modes: ["rev"] });
    const bad = customVjp((x: Tensor) => np.sin(x), {
      fwd: (x: Tensor) => [np.sin(x), x],
      bwd: (x: Tensor, ct: Tensor) => [np.sin(x).mul(ct)],
    });
    assert.throws(() => checkGrads(bad, [f64([0.5, 1.5])], { modes: ["rev"] }), RangeError);
  });
});

describe("escaped tracers", () => {
  const escaped = (e: unknown) => e instanceof TypeError && /escaped/.test((e as Error).message);
  for (
    const [name, transform] of [
      ["grad", (f: (x: Tensor) => Tensor) => grad((x: Tensor) => np.sum(f(x)))],
      ["jit", (f: (x: Tensor) => Tensor) => jit(f)],
      ["vmap", (f: (x: Tensor) => Tensor) => vmap(f)],
    ] as const
  ) {
    test(`a tracer leaked out of ${name} through a side channel is a TypeError mentioning "escaped"`, () => {
      let leak: Tensor | undefined;
      transform((x: Tensor) => {
        leak = x.mul(2);
        return x;
      })(f64([1, 2]));
      assert.throws(() => np.add(leak!, 1), escaped);
    });
  }
});

describe("size-0 and size-1 axes, np broadcasting", () => {
  test("grad of sum over a (0,3) input is zeros (0,3); vmap(grad) over size-0 axes", () => {
    const g = grad((x: Tensor) => np.sum(x))(np.zeros([0, 3], { dtype: "float64" }));
    assert.deepEqual(g.shape, [0, 3]);
    assert.equal(g.dtype, "float64");
    const s = (x: Tensor) => np.sum(np.sin(x));
    assert.deepEqual(vmap(grad(s))(np.zeros([0, 3], { dtype: "float64" })).shape, [0, 3]);
    assert.deepEqual(vmap(grad(s))(np.zeros([2, 0], { dtype: "float64" })).shape, [2, 0]);
    close(vmap((x: Tensor) => np.sum(x))(np.zeros([3, 0], { dtype: "float64" })), [0, 0, 0]);
    assert.deepEqual(jit(grad(s))(np.zeros([0], { dtype: "float64" })).shape, [0]);
  });
  test("size-1 axes: grad, vmap over a batch of one, broadcasting a [1,1] operand", () => {
    close(grad((x: Tensor) => np.sum(np.sin(x)))(f64([[0.5]])), [Math.cos(0.5)], TIGHT, [1, 1]);
    close(vmap((x: Tensor) => np.sum(x))(f64([[0.5, 1]])), [1.5], TIGHT, [1]);
    const [ga, gb] = grad((p: Tensor, q: Tensor) => np.sum(p.mul(q)), { argnums: [0, 1] })(
      f64([[2]]),
      f64([[1, 2, 3], [4, 5, 6]]),
    );
    close(ga, [21], TIGHT, [1, 1]);
    close(gb, [2, 2, 2, 2, 2, 2], TIGHT, [2, 3]);
  });
  test("gradients through broadcasting np functions reduce over the broadcast axes", () => {
    const x = f64([[1, 2, 3], [4, 5, 6]]), r = f64([0.5, -1, 2]), c = f64([[2], [3]]);
    const [gx, gr] = grad((p: Tensor, q: Tensor) => np.sum(p.mul(q)), { argnums: [0, 1] })(x, r);
    close(gx, [0.5, -1, 2, 0.5, -1, 2], TIGHT, [2, 3]);
    close(gr, [5, 7, 9], TIGHT, [3]);
    close(grad((q: Tensor) => np.sum(np.add(c.mul(0), q)))(r), [2, 2, 2], TIGHT, [3]);
    close(grad((q: Tensor) => np.sum(np.maximum(x, q)))(c), [1.5, 0], TIGHT, [2, 1]); // row 0: wins once, ties once
    close(grad((q: Tensor) => np.sum(np.where(np.greater(x, 2.5), q, 0)))(r), [1, 1, 2], TIGHT, [
      3,
    ]);
    close(grad((q: Tensor) => np.sum(q.mul(2.5)))(r), [2.5, 2.5, 2.5]);
    checkGrads((p: Tensor, q: Tensor) => np.divide(np.sin(p), np.add(q, 3)), [x, c], { order: 2 });
    checkGrads((p: Tensor, q: Tensor) => np.power(np.add(p, 1), q), [r.mul(r), f64(1.5)], {
      order: 2,
    });
  });
  test("vmap of broadcasting np functions equals a loop", () => {
    const xs = f64([[1, 2, 3], [4, 5, 6]]), r = f64([0.5, -1, 2]);
    const f = (p: Tensor, q: Tensor) => np.add(np.multiply(np.expandDims(p, 1), q), 1);
    const want = stack([0, 1].map((i) => f(row(xs, i), r)));
    close(vmap(f, { inAxes: [0, null] })(xs, r), want);
    close(vmap(f, { inAxes: [1, null] })(np.transpose(xs), r), want);
  });
});
