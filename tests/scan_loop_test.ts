// The compiled scan loop on host backends (scanRaw: one compiled body run on raw buffers, carries
// double-buffered, ys written in place) against the body-call-by-body-call loop (bit for bit)
// and the reference backend; the transposed scan computing only the cotangents asked for; and
// small float32 products on the Wasm GEMM (threshold, batch independence).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  grad,
  type Jaxpr,
  jit,
  lax,
  makeJaxpr,
  np,
  setBackend,
  type Tensor,
  valueAndGrad,
  vmap,
} from "../mod.ts";
import { scanTuning } from "../lib/ops/scan_loop.ts";
import { dotGeneralF32, gemmTuning } from "../lib/backend/cpu/matmul.ts";
import { allCloseReport } from "./_test_utils.ts";

const vals = (t: Tensor) => Array.from(t.dataSync() as ArrayLike<number>);
function rand(shape: number[], seed: number, dtype: "float32" | "float64" = "float32"): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const d = Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  return np.array(d, { shape, dtype });
}
/** Runs `f` with the compiled loop on and off (and on the reference backend); outputs of each. */
function threeWays(f: () => Tensor[]): { raw: number[][]; old: number[][]; ref: number[][] } {
  const run = () => f().map(vals);
  const raw = run();
  scanTuning.raw = false;
  let old: number[][];
  try {
    old = run();
  } finally {
    scanTuning.raw = true;
  }
  setBackend("reference");
  let ref: number[][];
  try {
    ref = run();
  } finally {
    setBackend("cpu");
  }
  return { raw, old, ref };
}
function check(f: () => Tensor[], tol = { rtol: 1e-5, atol: 1e-6 }): void {
  const { raw, old, ref } = threeWays(f);
  assert.deepEqual(raw, old, "compiled loop vs body calls: the same bits");
  raw.forEach((r, i) => {
    const rep = allCloseReport(r, ref[i], tol);
    if (rep !== null) assert.fail(`output ${i} vs reference: ${rep}`);
  });
}

type P = { W: Tensor; U: Tensor; b: Tensor };
const step = (p: P) => (h: Tensor, x: Tensor): [Tensor, Tensor] => {
  const h2 = np.tanh(np.matmul(h, p.W).add(np.matmul(x, p.U)).add(p.b));
  return [h2, h2];
};
const rnnLoss = (p: P, xs: Tensor) => np.mean(lax.scan(step(p), np.zeros([8, 16]), xs)[1]);
const params = (): P => ({ W: rand([16, 16], 1), U: rand([12, 16], 2), b: rand([16], 3) });

describe("scan: compiled loop on raw buffers", () => {
  test("an RNN forward and gradient, eager and jit", () => {
    const p = params(), xs = rand([7, 8, 12], 4);
    const vg = (p: P, xs: Tensor) => {
      const [v, g] = valueAndGrad(rnnLoss)(p, xs);
      return [v, g.W, g.U, g.b];
    };
    check(() => vg(p, xs));
    const j = jit(vg);
    check(() => j(p, xs));
    check(() => [grad(rnnLoss, { argnums: 1 })(p, xs)]);
  });

  test("carries passed through, ys aliasing the carry and the x, reverse, lengths 0 and 1", () => {
    const xs = rand([5, 3], 5), c0 = rand([3], 6);
    const body = (c: [Tensor, Tensor, Tensor], x: Tensor): [[Tensor, Tensor, Tensor], Tensor[]] => {
      const [a, n, keep] = c;
      const a2 = a.mul(0.5).add(x);
      return [[a2, n.add(1), keep], [a2, x, a, n]];
    };
    for (const reverse of [false, true]) {
      for (const len of [0, 1, 5]) {
        const x = len === 5
          ? xs
          : np.array(Array.from(xs.dataSync()).slice(0, 3 * len), { shape: [len, 3] });
        check(() => {
          const [c, ys] = lax.scan(body, [c0, np.array(0, { dtype: "int32" }), c0.mul(2)], x, {
            reverse,
          });
          return [...c, ...ys];
        });
      }
    }
  });

  test("unrolled: blocks of rows and a shorter last block, forward, reverse and gradient", () => {
    const p = params(), xs = rand([7, 8, 12], 16);
    for (const unroll of [2, 3, 7]) {
      for (const reverse of [false, true]) {
        const loss = (p: P, xs: Tensor) =>
          np.mean(lax.scan(step(p), np.zeros([8, 16]), xs, { unroll, reverse })[1]);
        check(() => {
          const [v, g] = valueAndGrad(loss)(p, xs);
          return [v, g.W, g.U, g.b];
        });
      }
    }
  });

  test("a body of one kernel, and carries of several dtypes", () => {
    const xs = rand([6, 4], 7, "float64");
    check(() => {
      const [c, ys] = lax.scan(
        (c: Tensor, x: Tensor) => [c.add(x), c],
        np.zeros([4], { dtype: "float64" }),
        xs,
      );
      return [c, ys];
    }, { rtol: 1e-12, atol: 1e-12 });
    check(() => {
      const body = (c: [Tensor, Tensor], x: Tensor): [[Tensor, Tensor], Tensor] => [
        [c[0].add(x.astype("float32")), c[1].mul(2)],
        np.sum(c[0]),
      ];
      const init: [Tensor, Tensor] = [np.zeros([4]), np.ones([2], { dtype: "int32" })];
      const [c, ys] = lax.scan(body, init, xs);
      return [...c, ys];
    });
  });

  test("a body of one op step (no carry, ys from one product)", () => {
    const xs = rand([5, 16, 16], 17), w = rand([16, 16], 18);
    check(() => [lax.scan((c: Tensor[], x: Tensor) => [c, np.matmul(x, w)], [], xs)[1]]);
    check(() => {
      const [c, ys] = lax.scan(
        (c: Tensor, x: Tensor): [Tensor, Tensor] => [np.matmul(c, x), np.matmul(c, x)],
        np.eye(16),
        xs.mul(0.5),
      );
      return [c, ys];
    });
  });

  test("a scan nested in a scan body, and under vmap", () => {
    const xs = rand([4, 3, 2], 8);
    const inner = (c: Tensor, x: Tensor): [Tensor, Tensor] => [c.add(np.sin(x)), c];
    check(() => {
      const [c, ys] = lax.scan(
        (c: Tensor, x: Tensor): [Tensor, Tensor] => {
          const [ci, yi] = lax.scan(inner, c, x);
          return [ci.mul(0.9), np.sum(yi, { axis: 0 })];
        },
        np.zeros([2]),
        xs,
      );
      return [c, ys];
    });
    check(() => [vmap((x: Tensor) => lax.scan(inner, np.zeros([2]), x)[1])(xs)]);
  });
});

/** The reverse (transposed) scan equations of a jaxpr, nested ones included. */
function reverseScans(j: Jaxpr, found: { nCarry: number; outs: number }[] = []) {
  for (const e of j.eqns) {
    const p = e.params as Record<string, unknown>;
    if (e.op.name === "scan" && p.reverse) {
      found.push({ nCarry: p.nCarry as number, outs: e.outs.length });
    }
    for (const v of Object.values(p)) {
      if (v && typeof v === "object" && "eqns" in v) reverseScans(v as Jaxpr, found);
    }
  }
  return found;
}

describe("scan transpose", () => {
  test("computes no cotangent of xs when only the parameters are differentiated", () => {
    const p = params(), xs = rand([7, 8, 12], 4);
    const onlyP = reverseScans(makeJaxpr(grad(rnnLoss))(p, xs));
    assert.equal(onlyP.length, 1);
    assert.equal(onlyP[0].outs, onlyP[0].nCarry, "no stacked output: no xs cotangent");
    const both = reverseScans(makeJaxpr(grad(rnnLoss, { argnums: [0, 1] }))(p, xs));
    assert.equal(both[0].outs, both[0].nCarry + 1, "the xs cotangent when asked for");
  });

  test("cotangents of xs and of the parameters still match the reference", () => {
    const p = params(), xs = rand([5, 8, 12], 9);
    check(() => {
      const [gp, gx] = grad(rnnLoss, { argnums: [0, 1] })(p, xs);
      return [gp.W, gp.U, gp.b, gx];
    });
  });
});

describe("small float32 products on the Wasm GEMM", () => {
  const host = (t: Tensor) => ({
    data: t.dataSync() as Float32Array,
    shape: t.shape,
    dtype: "float32" as const,
  });
  const P = {
    contract: [[1], [0]] as [number[], number[]],
    batch: [[], []] as [number[], number[]],
  };

  test("from gemmTuning.minMacs multiply-adds on, close to the exact loop", () => {
    const a = rand([16, 16], 10), b = rand([16, 16], 11);
    assert.ok(16 * 16 * 16 >= gemmTuning.minMacs);
    const got = dotGeneralF32(host(a), host(b), P, {
      shape: [16, 16],
      dtype: "float32",
      weak: false,
    });
    assert.ok(got, "16×16×16 runs on the GEMM");
    setBackend("reference");
    try {
      const want = vals(np.matmul(a, b));
      const r = allCloseReport(Array.from(got), want, { rtol: 1e-5, atol: 1e-6 });
      if (r !== null) assert.fail(r);
    } finally {
      setBackend("cpu");
    }
    const keep = gemmTuning.minMacs;
    try {
      gemmTuning.minMacs = 16 * 16 * 16 + 1;
      assert.equal(
        dotGeneralF32(host(a), host(b), P, { shape: [16, 16], dtype: "float32", weak: false }),
        null,
      );
    } finally {
      gemmTuning.minMacs = keep;
    }
  });

  test("batch elements on the GEMM: vmap gives the bits of a loop", () => {
    const a = rand([6, 8, 16], 12), b = rand([16, 16], 13);
    assert.ok(8 * 16 * 16 >= gemmTuning.minMacs);
    const batched = vals(vmap((x: Tensor) => np.matmul(x, b))(a));
    const looped = Array.from({ length: 6 }, (_, i) => vals(np.matmul(a.slice(i), b))).flat();
    assert.deepEqual(batched, looped);
  });
});
