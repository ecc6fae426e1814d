/**
 * `lax.scan`'s `unroll` (JAX's semantics): the loop runs a body of `unroll` steps on blocks of as
 * many rows, and a length not divisible by `unroll` ends with one shorter block. Results equal the
 * rolled loop (every backend, eager and jit, forward and reverse, grad, vmap, complex); the
 * block layout, the k-step body's jaxpr and its compiled plan are checked; bad values are errors.
 * @module
 */
import "./_backend.ts";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, init, type Jaxpr, jit, lax, makeJaxpr, np, type Tensor, vmap } from "../mod.ts";
import { backendNames } from "../lib/backend/backend.ts";
import { cpuBackend } from "../lib/backend/cpu/backend.ts";
import { blockBody, scanBlocks, type ScanLoopParams } from "../lib/ops/scan_loop.ts";
import { allCloseReport } from "./_test_utils.ts";
import { onBackend } from "./_prop_util.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

await init();
const BACKENDS = backendNames().filter((b) =>
  b !== "webgpu" || !!(globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu
);

/** A body with a pytree carry, a constant, and two ys (one of them the incoming carry). */
const body = (w: Tensor) => ([h, s]: Tensor[], x: Tensor): Any => {
  const n = np.tanh(h.mul(x).add(w));
  return [[n, s.add(np.sum(n))], { y: n.mul(2), prev: h }];
};
const values = (r: Any): Promise<number[][]> =>
  Promise.all(
    [r[0][0], r[0][1], r[1].y, r[1].prev].map(async (t: Tensor) => Array.from(await t.data())),
  );

async function same(got: Any, want: Any, what: string): Promise<void> {
  const [g, w] = [await values(got), await values(want)];
  g.forEach((a, i) => {
    const r = allCloseReport(a, w[i], { rtol: 1e-6, atol: 1e-7 });
    if (r !== null) assert.fail(`${what}, output ${i}: ${r}`);
  });
}

describe("scan unroll: block layout (JAX's remainder rule)", () => {
  test("floor(length / k) blocks of k rows, then the remainder; reversed from the end", () => {
    const fmt = (l: number, k: number, r: boolean) =>
      scanBlocks(l, k, r).map((b) => `${b.start}+${b.size}`).join(" ");
    assert.equal(fmt(7, 3, false), "0+3 3+3 6+1");
    assert.equal(fmt(7, 3, true), "4+3 1+3 0+1");
    assert.equal(fmt(6, 3, true), "3+3 0+3");
    assert.equal(fmt(5, 1, false), "0+1 1+1 2+1 3+1 4+1");
    assert.equal(fmt(5, 5, false), "0+5");
    assert.equal(fmt(5, 99, true), "0+5");
    assert.equal(fmt(0, 4, false), "");
  });
});

describe("scan unroll: results equal the rolled loop", () => {
  for (const b of BACKENDS) {
    test(`lengths 0, 1, 5, 7, 12; unroll 2, 3, 4, true, > length; reverse; eager and jit on ${b}`, async () => {
      // WebGPU compiles shaders per block shape: fewer cases there
      const gpu = b === "webgpu";
      for (const L of gpu ? [0, 7] : [0, 1, 5, 7, 12]) {
        for (const reverse of [false, true]) {
          const run = (unroll: number | boolean, jitted: boolean) =>
            onBackend(b, () => {
              const h = np.array([0.1, -0.2, 0.3]), s = np.zeros([]);
              const xs = np.arange(L * 3).reshape([L, 3]).mul(0.05).sub(0.4);
              const f = (hh: Tensor, ss: Tensor, xx: Tensor, w: Tensor) =>
                lax.scan(body(w), [hh, ss], xx, { reverse, unroll });
              return (jitted ? jit(f) : f)(h, s, xs, np.array(0.25));
            });
          const want = run(1, false);
          for (const unroll of gpu ? [3, true] : [2, 3, 4, true, L + 5]) {
            for (const jitted of [false, true]) {
              await same(
                run(unroll, jitted),
                want,
                `L=${L} reverse=${reverse} unroll=${unroll} jit=${jitted}`,
              );
            }
          }
        }
      }
    });
  }
  test("grad, vmap and complex carries keep unroll and the values", async () => {
    const xs = np.arange(21, { dtype: "float64" }).reshape([7, 3]).mul(0.05);
    const h0 = np.array([0.1, -0.2, 0.3], { dtype: "float64" });
    const loss = (unroll: number) => (h: Tensor, w: Tensor) => {
      const [[hT, s], ys] = lax.scan(body(w), [h, np.zeros([], { dtype: "float64" })], xs, {
        unroll,
        reverse: true,
      });
      return np.sum(hT).add(s).add(np.sum(ys.y.mul(ys.prev)));
    };
    const w = np.array(0.25, { dtype: "float64" });
    const want = grad(loss(1), { argnums: [0, 1] })(h0, w) as Tensor[];
    const got = jit(grad(loss(3), { argnums: [0, 1] }))(h0, w) as Tensor[];
    got.forEach((g, i) => {
      const r = allCloseReport(g.dataSync(), want[i].dataSync(), { rtol: 1e-12, atol: 1e-14 });
      if (r !== null) assert.fail(`grad ${i}: ${r}`);
    });
    const scans = makeJaxpr(grad(loss(3)))(h0, w).eqns.filter((e) => e.op.name === "scan");
    assert.equal(scans.length, 2);
    for (const e of scans) assert.equal((e.params as { unroll: number }).unroll, 3);
    const hs = np.arange(12, { dtype: "float64" }).reshape([4, 3]).mul(0.1);
    const vm = vmap((h: Tensor) => loss(4)(h, w))(hs);
    const loop = [0, 1, 2, 3].map((i) => loss(1)(hs.slice(i), w).item() as number);
    const r = allCloseReport(vm.dataSync(), loop, { rtol: 1e-12, atol: 1e-14 });
    if (r !== null) assert.fail(`vmap: ${r}`);
    const z = lax.complex(xs, xs.mul(-0.5));
    const cf = (unroll: number) =>
      lax.scan((c: Tensor, x: Tensor) => [c.mul(x).add(1), np.abs(c)], z.slice(0), z, { unroll });
    const [c1, y1] = cf(1), [c3, y3] = jit(() => cf(3))();
    for (const [a, bb] of [[c3, c1], [y3, y1]]) {
      const rr = allCloseReport(await a.data(), await bb.data(), { rtol: 1e-12, atol: 1e-14 });
      if (rr !== null) assert.fail(`complex: ${rr}`);
    }
  });
});

describe("scan unroll: the loop body is one program of k steps", () => {
  const scanParams = (unroll: number): ScanLoopParams => {
    const j = makeJaxpr((h: Tensor, xs: Tensor) =>
      lax.scan(
        (c: Tensor, x: Tensor) => {
          const n = np.tanh(c.mul(x).add(1));
          return [n, n.mul(2)];
        },
        h,
        xs,
        { unroll },
      )
    )(np.ones([3]), np.ones([10, 3]));
    const e = j.eqns.find((q) => q.op.name === "scan")!;
    return e.params as ScanLoopParams;
  };
  const count = (j: Jaxpr, name: string) => j.eqns.filter((e) => e.op.name === name).length;
  const kernels = (j: Jaxpr) => Number(/(\d+) kernel/.exec(cpuBackend.describeProgram!(j))![1]);
  test("the scan equation records unroll; the k-step body holds k copies of the step", () => {
    const p = scanParams(4);
    assert.equal(p.unroll, 4);
    const one = blockBody(p, 1).jaxpr, four = blockBody(p, 4).jaxpr;
    assert.equal(one, p.jaxpr, "a 1-step block runs the scan body itself");
    assert.equal(count(one, "tanh"), 1);
    assert.equal(count(four, "tanh"), 4);
    assert.deepEqual(four.inAvals.at(-1)!.shape, [4, 3], "x block of 4 rows");
    assert.deepEqual(four.outAvals.at(-1)!.shape, [4, 3], "y block of 4 rows");
    assert.deepEqual(blockBody(p, 2).jaxpr.inAvals.at(-1)!.shape, [2, 3], "remainder block");
    assert.ok(kernels(four) <= 4 * kernels(one), "steps fuse across the block");
  });
  test("unroll must be a positive integer or a boolean", () => {
    const f = (unroll: unknown) => () =>
      lax.scan((c: Tensor, x: Tensor) => [c.add(x), c], 0, np.ones([3]), { unroll } as Any);
    for (const bad of [0, -1, 1.5, NaN]) {
      assert.throws(f(bad), { name: "RangeError", message: /unroll/ });
    }
    assert.doesNotThrow(f(false));
    assert.doesNotThrow(f(true));
  });
});
