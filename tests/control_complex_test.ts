/**
 * Complex values through control flow (scan, foriLoop, whileLoop, cond, switch, map, checkpoint):
 * forward against JS complex-arithmetic oracles on every backend (complex64 on WebGPU), eager and
 * jit; grad (JAX's convention) against checkGrads and an unrolled loop; jvp; vmap against a loop;
 * checkGrads itself on complex arguments (it must catch a wrong convention).
 * @module
 */
import "./_backend.ts";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkGrads,
  checkpoint,
  customVjp,
  grad,
  init,
  jit,
  jvp,
  lax,
  makeJaxpr,
  np,
  type Tensor,
  vmap,
} from "../mod.ts";
import { backendNames } from "../lib/backend/backend.ts";
import { allCloseReport } from "./_test_utils.ts";
import { onBackend } from "./_prop_util.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
type C = [number, number];
const cmul = (a: C, b: C): C => [a[0] * b[0] - a[1] * b[1], a[0] * b[1] + a[1] * b[0]];
const cadd = (a: C, b: C): C => [a[0] + b[0], a[1] + b[1]];
const cabs = (a: C) => Math.hypot(a[0], a[1]);
const csin = (a: C): C => [Math.sin(a[0]) * Math.cosh(a[1]), Math.cos(a[0]) * Math.sinh(a[1])];

/** Deterministic complex values in [-1, 1)² on the float32 grid. */
function cvals(n: number, seed: number): C[] {
  let s = seed * 7919 + 17;
  const next = () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.round((s / 2147483648 * 2 - 1) * 4096) / 4096;
  };
  return Array.from({ length: n }, () => [next(), next()]);
}
function ctensor(v: C[], shape: number[], dtype: "complex64" | "complex128"): Tensor {
  const d = v.flat();
  return np.array(dtype === "complex64" ? Float32Array.from(d) : Float64Array.from(d), {
    dtype,
    shape,
  });
}
async function close(got: Tensor, want: number[], tol: { rtol: number; atol: number }, what = "") {
  const r = allCloseReport(Array.from(await got.data(), Number), want, tol);
  if (r !== null) assert.fail(`${what}: ${r}`);
}

await init();
const BACKENDS = backendNames().filter((b) =>
  b !== "webgpu" || !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu
);
const dtypeOn = (b: string): "complex64" | "complex128" =>
  b === "webgpu" ? "complex64" : "complex128";
const tolOf = (d: string) =>
  d === "complex64" ? { rtol: 2e-5, atol: 2e-6 } : { rtol: 1e-12, atol: 1e-13 };

/** body(c, x) = [c·x + sin(c)·a, (c², |c|)]: complex carry, xs and ys, a real ys and a constant. */
const body = (a: Tensor) => (c: Tensor, x: Tensor): Any => [
  c.mul(x).add(np.sin(c).mul(a)),
  [c.mul(c), np.abs(c)],
];
function bodyOracle(c0: C[], xs: C[][], a: C[], reverse: boolean) {
  let c = c0;
  const ys2: C[][] = new Array(xs.length), ysAbs: number[][] = new Array(xs.length);
  for (let t = 0; t < xs.length; t++) {
    const i = reverse ? xs.length - 1 - t : t;
    ys2[i] = c.map((v) => cmul(v, v));
    ysAbs[i] = c.map(cabs);
    c = c.map((v, k) => cadd(cmul(v, xs[i][k]), cmul(csin(v), a[k])));
  }
  return { c: c.flat(), y2: ys2.flat(2), yAbs: ysAbs.flat() };
}

describe("complex scan, foriLoop, map: forward vs a JS oracle", () => {
  const T = 5, K = 3;
  const c0 = cvals(K, 1), xs = Array.from({ length: T }, (_, t) => cvals(K, 10 + t));
  const a = cvals(K, 2);
  for (const b of BACKENDS) {
    const dt = dtypeOn(b);
    for (const reverse of [false, true]) {
      test(`scan on ${b} (${dt}, reverse ${reverse}): eager and jit`, async () => {
        const want = bodyOracle(c0, xs, a, reverse);
        const run = (f: (...ts: Tensor[]) => Any) =>
          onBackend(b, () => {
            const args = [
              ctensor(c0, [K], dt),
              ctensor(xs.flat(), [T, K], dt),
              ctensor(a, [K], dt),
            ];
            return f(...args);
          });
        const f = (c: Tensor, x: Tensor, av: Tensor) => lax.scan(body(av), c, x, { reverse });
        for (const [what, [c, [y2, yAbs]]] of [["eager", run(f)], ["jit", run(jit(f))]] as const) {
          assert.equal(c.dtype, dt);
          assert.deepEqual(y2.shape, [T, K]);
          assert.equal(yAbs.dtype, dt === "complex64" ? "float32" : "float64");
          await close(c, want.c, tolOf(dt), `${what} carry`);
          await close(y2, want.y2, tolOf(dt), `${what} ys`);
          await close(yAbs, want.yAbs, tolOf(dt), `${what} |c|`);
        }
      });
    }
    test(`foriLoop (static and traced bounds) and map on ${b} (${dt})`, async () => {
      const z = cvals(K, 3);
      let p: C[] = z.map(() => [1, 0]);
      for (let i = 0; i < 4; i++) p = p.map((v, k) => cmul(v, z[k]));
      const cube = (zt: Tensor) =>
        lax.foriLoop(0, 4, (_i: Tensor, v: Tensor) => v.mul(zt), np.onesLike(zt));
      const traced = jit((n: Tensor, zt: Tensor) =>
        lax.foriLoop(0, n, (_i: Tensor, v: Tensor) => v.mul(zt), np.onesLike(zt))
      );
      // traced bounds make a whileLoop, which WebGPU refuses (its condition cannot be read back)
      const [e, j, tr, m] = onBackend(b, () => {
        const zt = ctensor(z, [K], dt);
        const rows = ctensor([...z, ...p], [2, K], dt);
        return [
          cube(zt),
          jit(cube)(zt),
          b === "webgpu" ? cube(zt) : traced(np.array(4, { dtype: "int32" }), zt),
          lax.map((r: Tensor) => np.sum(r.mul(r)), rows),
        ];
      });
      for (const [what, t] of [["eager", e], ["jit", j], ["traced bounds", tr]] as const) {
        await close(t, p.flat(), tolOf(dt), `foriLoop ${what}`);
      }
      const sq = (v: C[]) => v.map((c) => cmul(c, c)).reduce(cadd);
      await close(m, [...sq(z), ...sq(p)], tolOf(dt), "map");
    });
  }
  test("scan of length 0 returns the complex carry and empty ys", async () => {
    const c = ctensor(cvals(2, 4), [2], "complex128");
    const f = (ct: Tensor) =>
      lax.scan(
        (k: Tensor, x: Tensor) => [k.mul(x), k],
        ct,
        np.zeros([0, 2], { dtype: "complex128" }),
      );
    for (const [k, ys] of [f(c), jit(f)(c)]) {
      await close(k, Array.from(c.dataSync()), { rtol: 0, atol: 0 });
      assert.deepEqual(ys.shape, [0, 2]);
      assert.equal(ys.dtype, "complex128");
    }
  });
});

/** Escape-time iteration z ← z² + c while |z| < 2 and k < 30: a data-dependent complex loop. */
const mandel = (c: Tensor) =>
  lax.whileLoop(
    ([z, k]: Tensor[]) => np.logicalAnd(np.abs(z).less(2), k.less(30)),
    ([z, k]: Tensor[]) => [z.mul(z).add(c), k.add(1)],
    [np.zerosLike(c), np.array(0, { dtype: "int32" })],
  );
function mandelOracle(c: C): [C, number] {
  let z: C = [0, 0], k = 0;
  while (cabs(z) < 2 && k < 30) [z, k] = [cadd(cmul(z, z), c), k + 1];
  return [z, k];
}

describe("complex whileLoop and cond/switch", () => {
  const cs: C[] = [[0.3, 0.5], [-1, 0], [0.5, 0.5], [-0.75, 0.125]];
  test("whileLoop: eager, jit and vmap (a masked loop) vs the oracle", async () => {
    const want = cs.map(mandelOracle);
    for (const [i, c] of cs.entries()) {
      const ct = ctensor([c], [], "complex128");
      for (const [z, k] of [mandel(ct), jit(mandel)(ct)]) {
        assert.equal(k.item(), want[i][1]);
        await close(z, want[i][0], tolOf("complex128"), `c = ${c}`);
      }
    }
    const [zs, ks] = vmap(mandel)(ctensor(cs, [4], "complex128"));
    assert.deepEqual(Array.from(ks.dataSync()), want.map((w) => w[1]));
    await close(zs, want.flatMap((w) => w[0]), tolOf("complex128"), "vmap");
  });
  test("whileLoop jvp is f'(c)·dc (holomorphic in c), as the unrolled loop", async () => {
    const loop = (c: Tensor) =>
      lax.whileLoop(
        ([, k]: Tensor[]) => k.less(3),
        ([z, k]: Tensor[]) => [z.mul(z).add(c), k.add(1)],
        [np.zerosLike(c), np.array(0, { dtype: "int32" })],
      )[0];
    const unrolled = (c: Tensor) => c.mul(c).add(c).mul(c.mul(c).add(c)).add(c);
    const c = ctensor(cs, [4], "complex128"), dc = ctensor(cvals(4, 5), [4], "complex128");
    const [yw, tw] = jvp(unrolled, [c], [dc]) as Tensor[];
    const jvpOf = (cc: Tensor, d: Tensor) => jvp(loop, [cc], [d]) as Tensor[];
    for (const [what, f] of [["eager", jvpOf], ["jit", jit(jvpOf)]] as const) {
      const [y, t] = f(c, dc);
      await close(y, Array.from(yw.dataSync()), tolOf("complex128"), `${what} primal`);
      await close(t, Array.from(tw.dataSync()), tolOf("complex128"), `${what} tangent`);
    }
    // vmap over directions of the jitted jvp equals a loop
    const dcs = ctensor(cvals(12, 6), [3, 4], "complex128");
    const vt = vmap((d: Tensor) => jit(jvpOf)(c, d)[1])(dcs) as Tensor;
    for (let i = 0; i < 3; i++) {
      const want = Array.from(jvpOf(c, dcs.slice(i))[1].dataSync());
      await close(vt.slice(i), want, tolOf("complex128"), `vmap row ${i}`);
    }
  });
  for (const b of BACKENDS) {
    const dt = dtypeOn(b);
    test(`cond and switch on ${b} (${dt}): concrete, traced and batched predicates`, async () => {
      const z = cvals(2, 6);
      const sq = z.map((v) => cmul(v, v)).flat(), ad = z.map((v) => cadd(v, [1, -2])).flat();
      const f = (p: Tensor, zt: Tensor) =>
        lax.cond(p, (v: Tensor) => v.mul(v), (v: Tensor) => v.add(lax.complex(1, -2)), zt);
      const g = (i: Tensor, x: Tensor) =>
        lax.switch(
          i,
          [(v: Tensor) => lax.complex(v, v), (v: Tensor) => lax.complex(v, v.mul(2))],
          x,
        );
      const outs = onBackend(b, () => {
        const zt = ctensor(z, [2], dt);
        const x = np.array([1, 2], { dtype: dt === "complex64" ? "float32" : "float64" });
        const t = np.array(true), fl = np.array(false);
        return [
          f(t, zt),
          jit(f)(fl, zt),
          vmap(f)(np.array([true, false]), zt),
          jit(g)(np.array(1, { dtype: "int32" }), x),
        ];
      });
      await close(outs[0], sq, tolOf(dt), "eager true");
      await close(outs[1], ad, tolOf(dt), "jit false");
      await close(outs[2], [...sq.slice(0, 2), ...ad.slice(2)], tolOf(dt), "batched predicate");
      await close(outs[3], [1, 2, 2, 4], { rtol: 0, atol: 0 }, "switch");
    });
  }
});

describe("complex control flow: derivatives (JAX's convention)", () => {
  const T = 4, K = 2;
  const c0 = ctensor(cvals(K, 7), [K], "complex128");
  const xs = ctensor(cvals(T * K, 8), [T, K], "complex128");
  const a = ctensor(cvals(K, 9), [K], "complex128");
  const loss = (c: Tensor, x: Tensor) => {
    const [k, [y2, yAbs]] = lax.scan(body(a), c, x);
    return np.sum(np.abs(k)).add(np.sum(np.real(y2))).add(np.sum(yAbs));
  };
  const unrolled = (c: Tensor, x: Tensor) => {
    let k = c, s: Tensor = np.zeros([], { dtype: "float64" });
    for (let t = 0; t < T; t++) {
      const [k2, [y2, yAbs]] = body(a)(k, x.slice(t));
      s = s.add(np.sum(np.real(y2))).add(np.sum(yAbs));
      k = k2;
    }
    return np.sum(np.abs(k)).add(s);
  };
  test("checkGrads of a real loss through scan (first and second order)", () => {
    checkGrads(loss, [c0, xs], { order: 2, atol: 1e-6, rtol: 1e-6 });
    checkGrads((c: Tensor, x: Tensor) => lax.scan(body(a), c, x, { reverse: true })[1][0], [
      c0,
      xs,
    ]);
  });
  test("grad through scan equals grad of the unrolled loop, eager and jit", async () => {
    const want = grad(unrolled, { argnums: [0, 1] })(c0, xs) as Tensor[];
    for (const g of [grad(loss, { argnums: [0, 1] }), jit(grad(loss, { argnums: [0, 1] }))]) {
      const got = g(c0, xs) as Tensor[];
      for (let i = 0; i < 2; i++) {
        assert.equal(got[i].dtype, "complex128");
        await close(got[i], Array.from(want[i].dataSync()), tolOf("complex128"), `arg ${i}`);
      }
    }
  });
  test("grad of |z|² through foriLoop and cond is 2·conj(z)", async () => {
    const z = ctensor(cvals(3, 11), [3], "complex128");
    const conj2 = Array.from(np.conj(z).mul(2).dataSync());
    const viaFori = (v: Tensor) =>
      np.sum(np.square(np.abs(lax.foriLoop(0, 3, (_i: Tensor, u: Tensor) => u, v))));
    const viaCond = (v: Tensor) =>
      np.sum(np.real(lax.cond(true, (u: Tensor) => u.mul(np.conj(u)), (u: Tensor) => u, v)));
    const viaCkpt = (v: Tensor) => np.sum(np.real(checkpoint((u: Tensor) => u.mul(np.conj(u)))(v)));
    for (const [what, f] of [["foriLoop", viaFori], ["cond", viaCond], ["checkpoint", viaCkpt]]) {
      const fn = f as (v: Tensor) => Tensor;
      await close(grad(fn)(z) as Tensor, conj2, tolOf("complex128"), `${what}`);
      await close(jit(grad(fn))(z) as Tensor, conj2, tolOf("complex128"), `jit ${what}`);
    }
    const viaSwitch = (i: Tensor, v: Tensor) =>
      np.sum(np.abs(lax.switch(i, [(u: Tensor) => u, (u: Tensor) => np.exp(u).mul(u)], v)));
    checkGrads((v: Tensor) => viaSwitch(np.array(1, { dtype: "int32" }), v), [z]);
    // a batched index under grad and jit: each example's own branch
    const idx = np.array([0, 1, 1], { dtype: "int32" });
    const zs = ctensor(cvals(6, 14), [3, 2], "complex128");
    const vg = jit(vmap(grad((i: Tensor, v: Tensor) => viaSwitch(i, v), { argnums: 1 })))(idx, zs);
    for (let i = 0; i < 3; i++) {
      const one = grad((v: Tensor) => viaSwitch(idx.slice(i), v))(zs.slice(i)) as Tensor;
      await close(
        (vg as Tensor).slice(i),
        Array.from(one.dataSync()),
        tolOf("complex128"),
        `row ${i}`,
      );
    }
  });
  test("vmap of grad through a complex scan equals a loop of calls", async () => {
    const cs = ctensor(cvals(3 * K, 12), [3, K], "complex128");
    const g = grad((c: Tensor) => loss(c, xs));
    const batched = vmap(g)(cs) as Tensor;
    for (let i = 0; i < 3; i++) {
      const one = g(cs.slice(i)) as Tensor;
      await close(batched.slice(i), Array.from(one.dataSync()), tolOf("complex128"), `row ${i}`);
    }
  });
  test("a complex scan stays one scan equation under jit and grad", () => {
    const count = (f: (...t: Tensor[]) => Tensor) =>
      makeJaxpr(f)(c0, xs).eqns.filter((e) => e.op.name === "scan").length;
    assert.equal(count(loss), 1);
    // the gradient: the forward scan (emitting residuals) and one reverse scan
    assert.equal(count((c: Tensor, x: Tensor) => np.sum(np.abs(grad(loss)(c, x) as Tensor))), 2);
  });
});

describe("checkGrads with complex arguments", () => {
  const z = ctensor(cvals(3, 13), [3], "complex128");
  test("holomorphic and real-valued functions pass, to second order", () => {
    checkGrads((v: Tensor) => np.sin(v).mul(v), [z], { order: 2 });
    checkGrads((v: Tensor) => np.sum(np.abs(np.exp(v))), [z], { order: 2 });
    checkGrads((v: Tensor, w: Tensor) => np.real(v.mul(w)), [z, np.array([0.5, -1, 2])]);
  });
  test("a gradient in the wrong convention (not conjugated) is caught", () => {
    // L(z) = Σ re(z)·im(z): JAX's grad is y − i·x; the rule below returns y + i·x
    const L = (v: Tensor) => np.sum(np.real(v).mul(np.imag(v)));
    const wrong = customVjp(L, {
      fwd: (v: Tensor) => [L(v), v],
      bwd: (v: Tensor, ct: Tensor) => [lax.complex(np.imag(v), np.real(v)).mul(ct)],
    });
    const right = customVjp(L, {
      fwd: (v: Tensor) => [L(v), v],
      bwd: (v: Tensor, ct: Tensor) => [lax.complex(np.imag(v), np.negative(np.real(v))).mul(ct)],
    });
    checkGrads(right, [z], { modes: ["rev"] });
    assert.throws(() => checkGrads(wrong, [z], { modes: ["rev"] }), /vjp inner product/);
  });
  test("a wrong derivative along the imaginary axis is caught", () => {
    // jvp that ignores im(dz): right for real directions only
    const f = customVjp((v: Tensor) => np.sum(np.abs(v)), {
      fwd: (v: Tensor) => [np.sum(np.abs(v)), v],
      bwd: (
        v: Tensor,
        ct: Tensor,
      ) => [lax.complex(np.real(v).div(np.abs(v)), np.zerosLike(np.real(v))).mul(ct)],
    });
    assert.throws(() => checkGrads(f, [z], { modes: ["rev"] }), RangeError);
  });
});
