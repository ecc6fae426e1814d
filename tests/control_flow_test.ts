/**
 * lax control flow (scan, foriLoop, whileLoop, cond, switch, map): forward against JS loops,
 * jvp/vjp against finite differences (checkGrads, float64, second order), vmap against a loop of
 * calls, jit against eager, nesting (scan of scan, grad of scan of conv, scan under vmap, cond
 * under grad), the constant jaxpr size of a 1000-step scan and of its gradient, and the errors.
 * @module
 */
import "./_backend.ts"; // TRACEGRAD_TEST_BACKEND selects the backend the checks run on
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkGrads,
  grad,
  jacfwd,
  type Jaxpr,
  jit,
  jvp,
  lax,
  makeJaxpr,
  np,
  type Tensor,
  vjp,
  vmap,
} from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const f64 = (v: Any, shape?: number[]): Tensor => np.array(v, { dtype: "float64", shape });
const TIGHT = { rtol: 1e-10, atol: 1e-12 };
const EXACT = { rtol: 0, atol: 0 };
function close(got: Tensor, want: Tensor | number[], tol = TIGHT, what = "values"): void {
  const w = Array.isArray(want) ? want : Array.from(want.dataSync());
  if (!Array.isArray(want)) assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  const r = allCloseReport(got.dataSync(), w, tol);
  if (r !== null) assert.fail(`${what}: ${r}`);
}
/** A deterministic float64 array in [-1, 1). */
function rand(shape: number[], seed: number): Tensor {
  let s = seed * 7919 + 17;
  const n = shape.reduce((a, b) => a * b, 1);
  const d = Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.round((s / 2147483648 * 2 - 1) * 4096) / 4096;
  });
  return f64(d, shape);
}
/** Equations of a jaxpr, counting those of sub-jaxprs too. */
export function countEqns(j: Jaxpr): number {
  let n = 0;
  for (const e of j.eqns) {
    n++;
    for (const v of Object.values(e.params as Record<string, unknown>)) {
      const subs = Array.isArray(v) ? v : [v];
      for (const s of subs) {
        if (s && typeof s === "object" && "eqns" in s) n += countEqns(s as Jaxpr);
      }
    }
  }
  return n;
}

/** A tanh RNN over xs [T, B, I]: h <- tanh(h W + x U + b); returns [h, hs]. */
function rnn(
  params: { W: Tensor; U: Tensor; b: Tensor },
  h0: Tensor,
  xs: Tensor,
): [Tensor, Tensor] {
  return lax.scan(
    (h: Tensor, x: Tensor) => {
      const h2 = np.tanh(np.matmul(h, params.W).add(np.matmul(x, params.U)).add(params.b));
      return [h2, h2];
    },
    h0,
    xs,
  );
}
function rnnLoop(
  params: { W: Tensor; U: Tensor; b: Tensor },
  h0: Tensor,
  xs: Tensor,
): [Tensor, Tensor] {
  let h = h0;
  const hs: Tensor[] = [];
  for (let t = 0; t < xs.shape[0]; t++) {
    h = np.tanh(np.matmul(h, params.W).add(np.matmul(xs.slice(t), params.U)).add(params.b));
    hs.push(h);
  }
  return [h, np.stack(hs)];
}
const P = () => ({ W: rand([4, 4], 1).mul(0.5), U: rand([3, 4], 2), b: rand([4], 3) });

describe("lax.scan", () => {
  test("forward matches a JS loop (cumulative sum, pytrees, reverse, length)", () => {
    const [c, ys] = lax.scan((c: Tensor, x: Tensor) => [c.add(x), c.mul(x)], 1, f64([1, 2, 3]));
    close(c, [7]);
    close(ys, [1, 4, 12]);
    const [cr, ysr] = lax.scan((c: Tensor, x: Tensor) => [c.add(x), c.mul(x)], 1, f64([1, 2, 3]), {
      reverse: true,
    });
    close(cr, [7]);
    close(ysr, [6, 8, 3]);
    const [tree, out] = lax.scan(
      (c: Any, x: Any) => [{ a: c.a.add(x.u), b: [c.b[0].mul(2)] }, { s: x.u.add(x.v), n: 0 }],
      { a: f64(0), b: [f64([1, 1])] },
      { u: f64([1, 2]), v: f64([10, 20]) },
    );
    close(tree.a, [3]);
    close(tree.b[0], [4, 4]);
    close(out.s, [11, 22]);
    assert.deepEqual(out.n.shape, [2]);
    const [k] = lax.scan((c: Tensor) => [c.add(1), null], 0, null, { length: 5 });
    assert.equal(k.item(), 5);
    assert.equal(k.dtype, "int32");
    const [z, zs] = lax.scan(
      (c: Tensor, x: Tensor) => [c.add(np.sum(x)), x],
      f64(0),
      f64([], [0, 2]),
    );
    assert.deepEqual(zs.shape, [0, 2]);
    close(z, [0]);
  });

  test("an RNN matches the unrolled loop; jit matches eager", () => {
    const p = P(), h0 = rand([2, 4], 4), xs = rand([5, 2, 3], 5);
    const [h, hs] = rnn(p, h0, xs);
    const [hl, hsl] = rnnLoop(p, h0, xs);
    close(h, hl);
    close(hs, hsl);
    const [hj, hsj] = jit(rnn)(p, h0, xs);
    close(hj, hl, { rtol: 1e-12, atol: 1e-14 });
    close(hsj, hsl, { rtol: 1e-12, atol: 1e-14 });
  });

  test("grad and jvp match finite differences (second order too)", () => {
    const p = P(), h0 = rand([2, 4], 4), xs = rand([3, 2, 3], 5);
    const loss = (p: Any, h0: Tensor, xs: Tensor) => {
      const [h, hs] = rnn(p, h0, xs);
      return np.sum(h.mul(h)).add(np.sum(np.sin(hs)));
    };
    checkGrads(loss, [p, h0, xs], { order: 2, atol: 1e-6, rtol: 1e-6 });
    const g = grad(loss)(p, h0, xs);
    const gl = grad((p: Any, h0: Tensor, xs: Tensor) => {
      const [h, hs] = rnnLoop(p, h0, xs);
      return np.sum(h.mul(h)).add(np.sum(np.sin(hs)));
    })(p, h0, xs);
    for (const k of ["W", "U", "b"]) close(g[k], gl[k], { rtol: 1e-10, atol: 1e-12 }, k);
    const gj = jit(grad(loss, { argnums: [0, 1, 2] }))(p, h0, xs);
    close(gj[0].W, gl.W, { rtol: 1e-10, atol: 1e-12 }, "jit(grad)");
    const rev = (x: Tensor) =>
      lax.scan((c: Tensor, xi: Tensor) => [np.sin(c).mul(xi), c.mul(xi)], f64(0.5), x, {
        reverse: true,
      });
    checkGrads((x: Tensor) => np.sum(rev(x)[1]).add(rev(x)[0]), [rand([4], 9)], { order: 2 });
  });

  test("grad of a scan of a convolution", () => {
    const w = rand([2, 1, 3], 11), xs = rand([4, 1, 1, 6], 12);
    const f = (w: Tensor, xs: Tensor) =>
      np.sum(
        lax.scan(
          (c: Tensor, x: Tensor) => {
            const y = lax.conv(x.add(c), w, [1], "SAME");
            return [np.tanh(np.sum(y, { axis: 1, keepdims: true })), y];
          },
          np.zeros([1, 1, 6], { dtype: "float64" }),
          xs,
        )[1],
      );
    checkGrads(f, [w, xs], { atol: 1e-6, rtol: 1e-6 });
  });

  test("nested scans: forward, grad, vmap", () => {
    const inner = (c: Tensor, row: Tensor) =>
      lax.scan((a: Tensor, x: Tensor) => [np.sin(a.add(x)).mul(c), a.mul(x)], c, row);
    const f = (m: Tensor) => {
      const [c, ys] = lax.scan(
        (c: Tensor, row: Tensor) => {
          const [a, as] = inner(c, row);
          return [a.add(np.sum(as)), a];
        },
        f64(0.3),
        m,
      );
      return np.sum(ys).add(c);
    };
    const m = rand([3, 4], 21);
    let c = 0.3;
    const ys: number[] = [];
    const mv = Array.from(m.dataSync());
    for (let i = 0; i < 3; i++) {
      let a = c, s = 0;
      for (let j = 0; j < 4; j++) {
        const x = mv[i * 4 + j];
        s += a * x;
        a = Math.sin(a + x) * c;
      }
      ys.push(a);
      c = a + s;
    }
    close(f(m), [ys.reduce((a, b) => a + b) + c], { rtol: 1e-12, atol: 1e-12 });
    checkGrads(f, [m], { order: 2, atol: 1e-6, rtol: 1e-6 });
    const ms = rand([2, 3, 4], 22);
    close(vmap(f)(ms), np.stack([f(ms.slice(0)), f(ms.slice(1))]));
    close(vmap(grad(f))(ms), np.stack([grad(f)(ms.slice(0)), grad(f)(ms.slice(1))]));
  });

  test("vmap: batched xs, carry or constants match a loop (any axis)", () => {
    const p = P(), h0 = rand([2, 4], 4), xs = rand([5, 2, 3], 5);
    const hb = rand([3, 2, 4], 6);
    const got = vmap((h: Tensor) => rnn(p, h, xs))(hb);
    for (let i = 0; i < 3; i++) {
      const [h, hs] = rnn(p, hb.slice(i), xs);
      close(got[0].slice(i), h);
      close(got[1].slice(i), hs);
    }
    const xb = rand([5, 2, 3, 2], 7); // batched along the last axis
    const gx = vmap((x: Tensor) => rnn(p, h0, x)[1], { inAxes: 3 })(xb);
    for (let i = 0; i < 2; i++) close(gx.slice(i), rnn(p, h0, xb.slice(":", ":", ":", i))[1]);
    const Wb = rand([2, 4, 4], 8);
    const gw = vmap((W: Tensor) => rnn({ ...p, W }, h0, xs)[0])(Wb);
    for (let i = 0; i < 2; i++) close(gw.slice(i), rnn({ ...p, W: Wb.slice(i) }, h0, xs)[0]);
    const gj = jit(vmap((W: Tensor) => rnn({ ...p, W }, h0, xs)[0]))(Wb);
    close(gj, gw, { rtol: 1e-12, atol: 1e-14 });
    const jv = jvp((W: Tensor) => rnn({ ...p, W }, h0, xs)[0], [p.W], [Wb.slice(0)])[1];
    const fd = rnn({ ...p, W: p.W.add(Wb.slice(0).mul(1e-6)) }, h0, xs)[0]
      .sub(rnn({ ...p, W: p.W.sub(Wb.slice(0).mul(1e-6)) }, h0, xs)[0]).div(2e-6);
    close(jv, fd, { rtol: 1e-6, atol: 1e-8 }, "jvp");
  });

  test("a 1000-step scan's jaxpr, and its gradient's, stay small", () => {
    const p = { W: rand([8, 8], 1).mul(0.3), U: rand([3, 8], 2), b: rand([8], 3) };
    const xs = rand([1000, 2, 3], 4), h0 = rand([2, 8], 5);
    const loss = (p: Any, xs: Tensor) => np.sum(rnn(p, h0, xs)[1]);
    const fwd = makeJaxpr(loss)(p, xs);
    const bwd = makeJaxpr(grad(loss))(p, xs);
    assert.ok(countEqns(fwd) < 40, `forward: ${countEqns(fwd)} equations`);
    assert.ok(countEqns(bwd) < 120, `gradient: ${countEqns(bwd)} equations`);
    const f = jit(grad(loss));
    const g = f(p, xs);
    assert.ok(Number.isFinite(np.sum(g.W).item() as number));
    assert.equal(f.traceCount, 1);
  });

  test("errors name the op, the argument and the values", () => {
    assert.throws(
      () => lax.scan((c: Tensor, x: Tensor) => [c.add(x).astype("float32"), x], f64(0), f64([1])),
      /scan: carry leaf 0 enters the body as float64\[\] but the body returns float32\[\]/,
    );
    assert.throws(
      () => lax.scan((c: Tensor, x: Tensor) => [c.add(x), x], f64(0), f64([[1, 2]])),
      /scan: carry leaf 0 enters the body as float64\[\] but the body returns float64\[2\]/,
    );
    assert.throws(
      () => lax.scan((c: Tensor, x: Tensor) => [[c], x], f64(0), f64([1])),
      /scan: the body must return a carry with the structure/,
    );
    assert.throws(
      () => lax.scan((c: Tensor) => [c, c], 0, f64([1, 2]), { lenght: 2 } as Any),
      /scan: unknown option "lenght"; did you mean "length"/,
    );
    assert.throws(
      () => lax.scan((c: Tensor) => [c, c], 0, f64([1, 2]), { length: 3 }),
      /scan: xs leaves have leading sizes \[2\], which must all equal length 3/,
    );
    assert.throws(() => lax.scan((c: Tensor) => [c, c], 0, null), /length is required/);
    assert.throws(
      () => lax.scan((c: Tensor) => c as Any, 0, f64([1])),
      /f must return \[carry, y\]/,
    );
  });
});

describe("lax.foriLoop", () => {
  test("static bounds run as a scan: forward, grad (second order), jit", () => {
    const f = (x: Tensor) =>
      lax.foriLoop(1, 5, (i: Tensor, v: Tensor) => np.sin(v).mul(x).add(i.astype("float64")), x);
    let v = 0.7;
    for (let i = 1; i < 5; i++) v = Math.sin(v) * 0.7 + i;
    close(f(f64(0.7)), [v], { rtol: 1e-14, atol: 0 });
    checkGrads(f, [f64(0.7)], { order: 2 });
    const j = makeJaxpr(f)(f64(0.7));
    assert.ok(j.eqns.some((e) => e.op.name === "scan"));
    close(jit(grad(f))(f64(0.7)), grad(f)(f64(0.7)), { rtol: 1e-12, atol: 0 });
    close(lax.foriLoop(3, 3, (_i: Tensor, v: Tensor) => v.add(1), f64(2)), [2]);
    close(lax.foriLoop(5, 3, (_i: Tensor, v: Tensor) => v.add(1), f64(2)), [2]);
  });

  test("traced bounds run as a whileLoop (jvp works, grad is a clear error)", () => {
    const f = (x: Tensor, n: Tensor) =>
      lax.foriLoop(0, n, (_i: Tensor, v: Tensor) => v.mul(x), f64(1));
    close(jit(f)(f64(1.5), np.array(3, { dtype: "int32" })), [3.375]);
    const j = makeJaxpr(f)(f64(1.5), np.array(3, { dtype: "int32" }));
    assert.ok(j.eqns.some((e) => e.op.name === "while"));
    const [y, t] = jvp((x: Tensor) => jit(f)(x, np.array(3, { dtype: "int32" })), [f64(1.5)], [
      f64(1),
    ]);
    close(y, [3.375]);
    close(t, [3 * 1.5 * 1.5]);
    assert.throws(
      () => grad((x: Tensor) => jit(f)(x, np.array(3, { dtype: "int32" })))(f64(1.5)),
      /whileLoop: reverse-mode differentiation .* Use lax.scan, or lax.foriLoop with static/,
    );
  });
});

describe("lax.whileLoop", () => {
  const newton = (a: Tensor) =>
    lax.whileLoop(
      ([x, k]: Tensor[]) => np.logicalAnd(np.abs(x.mul(x).sub(a)).greater(1e-12), k.less(50)),
      ([x, k]: Tensor[]) => [x.sub(x.mul(x).sub(a).div(x.mul(2))), k.add(1)],
      [a, 0],
    );
  test("forward and jit match a JS loop; pytree carries", () => {
    const [x, k] = newton(f64(2));
    close(x, [Math.SQRT2], { rtol: 1e-15, atol: 0 });
    assert.equal(k.dtype, "int32");
    const [xj, kj] = jit(newton)(f64(2));
    close(xj, x, { rtol: 0, atol: 0 });
    assert.equal(kj.item(), k.item());
    const out = lax.whileLoop(
      (c: Any) => c.n.less(3),
      (c: Any) => ({ n: c.n.add(1), s: [c.s[0].mul(2)] }),
      {
        n: 0,
        s: [f64([1, 2])],
      },
    );
    close(out.s[0], [8, 16]);
    const none = lax.whileLoop(() => false, (c: Tensor) => c.add(1), f64(4));
    close(none, [4]);
  });

  test("jvp matches finite differences", () => {
    const f = (a: Tensor) => newton(a)[0];
    const [y, t] = jvp(f, [f64(3)], [f64(1)]);
    close(y, [Math.sqrt(3)], { rtol: 1e-15, atol: 0 });
    close(t, [0.5 / Math.sqrt(3)], { rtol: 1e-9, atol: 0 });
    close(jacfwd(f)(f64(3)), [0.5 / Math.sqrt(3)], { rtol: 1e-9, atol: 0 });
  });

  test("vmap runs a masked loop: each example stops at its own trip count", () => {
    const count = (n: Tensor) =>
      lax.whileLoop(([i]: Tensor[]) => i.less(n), ([i, s]: Tensor[]) => [i.add(1), s.add(i)], [
        0,
        0,
      ]);
    const ns = np.array([0, 3, 5, 1], { dtype: "int32" });
    const [is, ss] = vmap(count)(ns);
    assert.deepEqual(Array.from(is.dataSync()), [0, 3, 5, 1]);
    assert.deepEqual(Array.from(ss.dataSync()), [0, 3, 10, 0]);
    const [ij] = jit(vmap(count))(ns);
    assert.deepEqual(Array.from(ij.dataSync()), [0, 3, 5, 1]);
    const roots = vmap((a: Tensor) => newton(a)[0])(f64([2, 9, 0.25]));
    close(roots, [2, 9, 0.25].map((a) => newton(f64(a))[0].item() as number), EXACT);
  });

  test("errors", () => {
    assert.throws(
      () => lax.whileLoop((c: Tensor) => c, (c: Tensor) => c, f64(1)),
      /whileLoop: condFun must return a boolean scalar, got float64\[\]/,
    );
    assert.throws(
      () => lax.whileLoop((c: Tensor) => c.less(1), (c: Tensor) => [c], f64(1)),
      /whileLoop: the body must return a carry with the structure/,
    );
    assert.throws(
      () =>
        grad((x: Tensor) =>
          lax.whileLoop((c: Tensor) => c.less(10), (c: Tensor) => c.mul(x), f64(1))
        )(f64(2)),
      /whileLoop: reverse-mode differentiation/,
    );
  });
});

describe("lax.cond and lax.switch", () => {
  const branches = [
    (x: Tensor, y: Tensor) => np.sin(x).mul(y),
    (x: Tensor, y: Tensor) => x.mul(x).add(y),
    (x: Tensor, _y: Tensor) => np.exp(x),
  ];
  const ref = [
    (x: number, y: number) => Math.sin(x) * y,
    (x: number, y: number) => x * x + y,
    (x: number, _y: number) => Math.exp(x),
  ];
  test("forward: the chosen branch runs; the index is clamped; jit matches", () => {
    for (const i of [-1, 0, 1, 2, 7]) {
      const want = ref[Math.min(2, Math.max(0, i))](0.3, 2);
      close(lax.switch(i, branches, f64(0.3), f64(2)), [want], { rtol: 1e-15, atol: 0 });
      close(
        jit((k: Tensor) => lax.switch(k, branches, f64(0.3), f64(2)))(
          np.array(i, { dtype: "int32" }),
        ),
        [want],
        {
          rtol: 1e-15,
          atol: 0,
        },
      );
    }
    const pick = (p: Tensor, x: Tensor) =>
      lax.cond(p, (v: Tensor) => v.add(1), (v: Tensor) => v.sub(1), x);
    close(pick(np.array(true), f64(5)), [6]);
    close(pick(np.array(false), f64(5)), [4]);
    close(lax.cond(2, (v: Any) => ({ a: v }), (v: Any) => ({ a: v.neg() }), f64(5)).a, [5]);
  });

  test("cond under grad (second order), jvp and jit(grad)", () => {
    for (const i of [0, 1, 2]) {
      const f = (x: Tensor, y: Tensor) => lax.switch(i, branches, x, y);
      checkGrads(f, [f64(0.3), f64(2)], { order: 2 });
      close(jit(grad(f))(f64(0.3), f64(2)), grad(f)(f64(0.3), f64(2)), { rtol: 1e-14, atol: 0 });
    }
    const g = (x: Tensor) =>
      lax.cond(x.greater(0), (v: Tensor) => v.mul(v).mul(v), (v: Tensor) => v.neg(), x);
    close(grad(g)(f64(2)), [12]);
    close(grad(g)(f64(-2)), [-1]);
    const [, pull] = vjp(g, f64(2));
    close(pull(f64(1))[0], [12]);
  });

  test("vmap: a batched index selects per example; batched operands under a fixed index", () => {
    const idx = np.array([2, 0, 1, 5, -3], { dtype: "int32" });
    const xs = f64([0.1, 0.2, 0.3, 0.4, 0.5]);
    const got = vmap((i: Tensor, x: Tensor) => lax.switch(i, branches, x, f64(2)))(idx, xs);
    const want = [2, 0, 1, 2, 0].map((b, k) => ref[b]([0.1, 0.2, 0.3, 0.4, 0.5][k], 2));
    close(got, want, { rtol: 1e-15, atol: 0 });
    close(jit(vmap((i: Tensor, x: Tensor) => lax.switch(i, branches, x, f64(2))))(idx, xs), want, {
      rtol: 1e-15,
      atol: 0,
    });
    const fixed = vmap((x: Tensor) => lax.switch(1, branches, x, f64(2)))(xs);
    close(fixed, [0.1, 0.2, 0.3, 0.4, 0.5].map((x) => ref[1](x, 2)), { rtol: 1e-15, atol: 0 });
    const gb = vmap(grad((x: Tensor, i: Tensor) => lax.switch(i, branches, x, f64(2))))(xs, idx);
    const gw = [2, 0, 1, 2, 0].map((b, k) => {
      const x = [0.1, 0.2, 0.3, 0.4, 0.5][k];
      return [Math.cos(x) * 2, 2 * x, Math.exp(x)][b];
    });
    close(gb, gw, { rtol: 1e-14, atol: 0 });
  });

  test("cond inside scan, differentiated", () => {
    const f = (xs: Tensor) =>
      lax.scan(
        (c: Tensor, x: Tensor) => [
          lax.cond(x.greater(0), (v: Tensor) => np.sin(v.add(x)), (v: Tensor) => v.mul(x), c),
          c,
        ],
        f64(0.5),
        xs,
      )[0];
    checkGrads(f, [f64([0.3, -0.2, 0.9, -1.1])], { order: 2 });
  });

  test("errors", () => {
    assert.throws(
      () => lax.switch(0, [(x: Tensor) => x, (x: Tensor) => x.astype("float32")], f64(1)),
      /switch: every branch must return the same structure, shapes and dtypes; branch 0 returns \(float64\[\]\) but branch 1 returns \(float32\[\]\)/,
    );
    assert.throws(() => lax.switch(0, [], f64(1)), /switch: branches must be a non-empty array/);
    assert.throws(
      () => lax.switch(f64(0), [(x: Tensor) => x], f64(1)),
      /switch: index must be an integer scalar/,
    );
    assert.throws(
      () => lax.cond(np.array([true, false]), (x: Tensor) => x, (x: Tensor) => x, f64(1)),
      /cond: pred must be a scalar, got bool\[2\]/,
    );
  });
});
