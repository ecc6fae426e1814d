/**
 * Property tests of the control-flow primitives (issue 17: fast-check properties over new
 * primitives): lax.scan, lax.cond, lax.whileLoop and lax.foriLoop with random shapes, lengths,
 * directions, predicates and trip counts, on the cpu backend (eager and jit, values and
 * gradients) against the reference backend in float64 and against plain JS loops.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { grad, jit, lax, np, type Tensor, vmap } from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";
import { hostData, onBackend } from "./_prop_util.ts";

const SEED = 1717;
const RUNS = 12;
const f64 = (data: Float64Array, shape: number[]) =>
  np.array(Float64Array.from(data), { dtype: "float64", shape });
const vals = (t: Tensor) => Array.from(t.dataSync());
const close = (got: number[], want: number[], what: string) => {
  const bad = allCloseReport(got, want, { rtol: 1e-9, atol: 1e-11 });
  assert.equal(bad, null, `${what}: ${bad}`);
};

const shapeArb = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 });

test("property: lax.scan (random carry shape, length, direction) == reference == JS loop; grads too", () => {
  fc.assert(
    fc.property(
      shapeArb,
      fc.integer({ min: 0, max: 6 }),
      fc.boolean(),
      fc.double({ min: -1.5, max: 1.5, noNaN: true }),
      fc.integer({ min: 0, max: 1000 }),
      (shape, length, reverse, a, seed) => {
        const c0 = hostData(shape, seed, "float64");
        const xsData = hostData([length, ...shape], seed + 1, "float64");
        const body = (c: Tensor, x: Tensor): [Tensor, Tensor] => {
          const next = np.tanh(c.mul(a).add(x));
          return [next, next.mul(x)];
        };
        const run = (c: Tensor, xs: Tensor) => lax.scan(body, c, xs, { reverse });
        const loss = (c: Tensor, xs: Tensor) => {
          const [cf, ys] = run(c, xs);
          return np.sum(cf).add(np.sum(ys));
        };
        // JS loop oracle of the final carry
        const n = c0.length;
        const carry = Float64Array.from(c0);
        for (let s = 0; s < length; s++) {
          const t = reverse ? length - 1 - s : s;
          for (let i = 0; i < n; i++) carry[i] = Math.tanh(carry[i] * a + xsData[t * n + i]);
        }
        const eval_ = (name: string, jitted: boolean) =>
          onBackend(name, () => {
            const c = f64(c0, shape), xs = f64(xsData, [length, ...shape]);
            const [cf, ys] = (jitted ? jit(run) : run)(c, xs);
            const g =
              (jitted ? jit(grad(loss, { argnums: [0, 1] })) : grad(loss, { argnums: [0, 1] }))(
                c,
                xs,
              ) as Tensor[];
            return [vals(cf), vals(ys), vals(g[0]), vals(g[1])];
          });
        const ref = eval_("reference", false);
        close(ref[0], Array.from(carry), "reference carry vs JS loop");
        for (const jitted of [false, true]) {
          const got = eval_("cpu", jitted);
          ["carry", "ys", "grad init", "grad xs"].forEach((w, i) =>
            close(got[i], ref[i], `cpu${jitted ? " jit" : ""} ${w}`)
          );
        }
      },
    ),
    { seed: SEED, numRuns: RUNS },
  );
});

test("property: lax.cond (random predicate and shapes; batched under vmap) == select", () => {
  fc.assert(
    fc.property(
      shapeArb,
      fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
      fc.integer({ min: 0, max: 1000 }),
      (shape, preds, seed) => {
        const data = hostData([preds.length, ...shape], seed, "float64");
        const t = (x: Tensor) => np.sin(x).mul(2);
        const f = (x: Tensor) => np.exp(x).sub(1);
        const one = (p: Tensor, x: Tensor) => lax.cond(p, t, f, x);
        for (const name of ["reference", "cpu"]) {
          onBackend(name, () => {
            const xs = f64(data, [preds.length, ...shape]);
            const ps = np.array(preds);
            const batched = vals(vmap(one)(ps, xs));
            const jitted = vals(jit(vmap(one))(ps, xs));
            const want = vals(np.where(
              np.reshape(ps, [preds.length, ...shape.map(() => 1)]),
              t(xs),
              f(xs),
            ));
            close(batched, want, `${name} vmap(cond)`);
            close(jitted, want, `${name} jit(vmap(cond))`);
            const g = vals(
              grad((x: Tensor) => np.sum(one(np.array(preds[0]), x)))(xs),
            );
            const gw = preds[0] ? vals(np.cos(xs).mul(2)) : vals(np.exp(xs));
            close(g, gw, `${name} grad(cond)`);
          });
        }
      },
    ),
    { seed: SEED + 1, numRuns: RUNS },
  );
});

test("property: lax.whileLoop and lax.foriLoop (random trip counts) == JS loops; foriLoop grads == reference", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 9 }),
      fc.integer({ min: -3, max: 3 }),
      fc.double({ min: -2, max: 2, noNaN: true }),
      (trips, lower, x0) => {
        let want = x0;
        for (let i = 0; i < trips; i++) want = want * 0.5 + Math.sin(want);
        let wantFori = x0;
        for (let i = lower; i < lower + trips; i++) wantFori = wantFori * Math.cos(i) + 0.25;
        const fori = (x: Tensor) =>
          lax.foriLoop(
            lower,
            lower + trips,
            (i: Tensor, v: Tensor) => v.mul(np.cos(i.astype("float64"))).add(0.25),
            x,
          );
        const results = ["reference", "cpu"].map((name) =>
          onBackend(name, () => {
            const w = lax.whileLoop(
              ([, k]: Tensor[]) => k.less(trips),
              ([v, k]: Tensor[]) => [v.mul(0.5).add(np.sin(v)), k.add(1)],
              [np.array(x0, { dtype: "float64" }), np.array(0)],
            ) as Tensor[];
            const wj = jit((x: Tensor) =>
              lax.whileLoop(
                ([, k]: Tensor[]) => k.less(trips),
                ([v, k]: Tensor[]) => [v.mul(0.5).add(np.sin(v)), k.add(1)],
                [x, np.array(0)],
              )[0]
            )(np.array(x0, { dtype: "float64" }));
            const x = np.array(x0, { dtype: "float64" });
            return [
              vals(w[0])[0],
              vals(wj)[0],
              vals(fori(x))[0],
              vals(jit(fori)(x))[0],
              vals(grad(fori)(x))[0],
            ];
          })
        );
        for (const [k, r] of results.entries()) {
          close([r[0], r[1]], [want, want], `backend ${k}: whileLoop (eager, jit)`);
          close([r[2], r[3]], [wantFori, wantFori], `backend ${k}: foriLoop (eager, jit)`);
        }
        let d = 1;
        for (let i = lower; i < lower + trips; i++) d *= Math.cos(i);
        close([results[0][4], results[1][4]], [d, d], "grad foriLoop (reference, cpu)");
      },
    ),
    { seed: SEED + 2, numRuns: RUNS * 2 },
  );
});
