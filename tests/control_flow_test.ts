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
  type Jaxpr,
  jit,
  jvp,
  lax,
  makeJaxpr,
  np,
  type Tensor,
  vmap,
} from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const f64 = (v: Any, shape?: number[]): Tensor => np.array(v, { dtype: "float64", shape });
const TIGHT = { rtol: 1e-10, atol: 1e-12 };
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
