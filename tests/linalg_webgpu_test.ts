/**
 * np.linalg and lax.linalg.triangularSolve on WebGPU (float32 WGSL kernels): the NumPy fixtures
 * eager and jit, batches around the workgroup width vs the CPU, gradients vs the CPU, vmap vs a
 * loop, singular and NaN inputs, size limits on software adapters. Skipped without WebGPU.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, lax, np, type Tensor, vmap } from "../mod.ts";
import { webgpuRuntime, webgpuStats } from "../lib/backend/webgpu/backend.ts";
import data from "./fixtures/linalg_cases.json" with { type: "json" };
import decompData from "./fixtures/linalg_decomp_cases.json" with { type: "json" };
import { webgpuReady } from "./_webgpu_env.ts";
import { onBackend } from "./_prop_util.ts";
import { LINALG_OPS, renderLinalg } from "../kernels/wgsl/linalg_ops.ts";
import { bind } from "../lib/core.ts";
import { OPS } from "../lib/ops/registry.ts";
import type { OpDef } from "../lib/ops/_define.ts";
import { buildArgs, OP_SAMPLES, paramsOf } from "./_op_samples.ts";
import { allCloseReport } from "./_test_utils.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

interface Arr {
  shape: number[];
  data: (number | string)[];
}
interface Case {
  name: string;
  fn: string;
  args: Arr[];
  kwargs: Record<string, unknown>;
  expected: (Arr | null)[];
}

const num = (v: number | string) => (typeof v === "string" ? Number(v) : v);

// deno-lint-ignore no-explicit-any
const FNS: Record<string, (...xs: any[]) => Tensor | Tensor[]> = {
  cholesky: np.linalg.cholesky,
  inv: np.linalg.inv,
  det: np.linalg.det,
  slogdet: np.linalg.slogdet,
  solve: np.linalg.solve,
  triangularSolve: lax.linalg.triangularSolve,
  qr: np.linalg.qr,
  eigh: np.linalg.eigh,
  svd: np.linalg.svd,
  lstsq: np.linalg.lstsq,
  pinv: np.linalg.pinv,
  norm: np.linalg.norm,
};

/** Values of `got` within rtol·(1 + |want|) of `want` (equal non-finite values match). */
function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, what: string) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const ok = Object.is(g, w) || g === w || Math.abs(g - w) <= rtol * (1 + Math.abs(w));
    assert.ok(ok, `${what}: element ${i}: got ${g}, want ${w}`);
  }
}

const outsOf = (r: Tensor | Tensor[]) => (Array.isArray(r) ? r : [r]);

describe("linalg fixtures on WebGPU (float32, eager and jit)", () => {
  const cases = [data, decompData].flatMap((d) => (d as unknown as { cases: Case[] }).cases)
    // float32 inputs of rank-deficient matrices are full rank at float32 noise level (as on the CPU)
    .filter((c) => !/rank/.test(c.name) || c.fn === "svd");
  for (const c of cases) {
    test(c.name, { skip }, async () => {
      await onBackend("webgpu", async () => {
        const args = c.args.map((a) =>
          np.array(a.data.map(num), { dtype: "float32" }).reshape(a.shape)
        );
        const extra = Object.keys(c.kwargs).length ? [c.kwargs] : [];
        const f = (...xs: Tensor[]) => FNS[c.fn](...xs, ...extra);
        for (const [what, r] of [["eager", f(...args)], ["jit", jit(f)(...args)]] as const) {
          const outs = outsOf(r);
          assert.equal(outs.length, c.expected.length);
          for (const [k, o] of outs.entries()) {
            const want = c.expected[k];
            if (want === null) continue;
            assert.deepEqual(o.shape, want.shape);
            assertClose(await o.data(), want.data.map(num), 1e-4, `${what} output ${k}`);
          }
        }
      });
    });
  }
});

describe("every linalg primitive sample on WebGPU: all outputs vs the reference", () => {
  for (const name of LINALG_OPS) {
    const op = (OPS as Record<string, OpDef>)[name];
    for (const smp of OP_SAMPLES[name].samples) {
      test(`${name} (${smp.label})`, { skip }, async () => {
        const params = paramsOf(smp, "float32");
        const run = () => {
          const eager = bind(op, buildArgs(smp, "float32", 7), params);
          const jitted = jit((...xs: Tensor[]) => bind(op, xs, params))(
            ...buildArgs(smp, "float32", 7),
          ) as Tensor[];
          return [eager, jitted];
        };
        const want = await Promise.all(onBackend("reference", run)[0].map((t) => t.data()));
        const got = onBackend("webgpu", run);
        for (const [w, outs] of got.entries()) {
          for (const [k, o] of outs.entries()) {
            const report = allCloseReport(await o.data(), want[k], { rtol: 1e-4, atol: 1e-5 });
            if (report !== null) assert.fail(`${w ? "jit" : "eager"} output ${k}: ${report}`);
          }
        }
      });
    }
  }
});

/** Deterministic pseudo-random values in [-1, 1). */
function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** [batch..., n, n] well-conditioned matrices (diagonal n/4 + 2 with random signs). */
function wellConditioned(batch: number[], n: number, seed: number): number[] {
  const v = values(batch.reduce((p, d) => p * d, 1) * n * n, seed);
  return v.map((x, i) => {
    const r = Math.floor(i / n) % n, c = i % n;
    return r === c ? (x < 0 ? -1 : 1) * (n / 4 + 2 + Math.abs(x)) : x;
  });
}

/** The same function on the CPU and on WebGPU, from the same float32 data. */
async function bothBackends(
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  args: { data: number[]; shape: number[] }[],
): Promise<{ cpu: Float32Array[]; gpu: Float32Array[] }> {
  const run = (name: string) =>
    onBackend(name, () => {
      const xs = args.map((a) => np.array(a.data, { dtype: "float32" }).reshape(a.shape));
      return outsOf(f(...xs));
    });
  const cpu = await Promise.all(run("cpu").map((t) => t.data() as Promise<Float32Array>));
  const gpu = await Promise.all(run("webgpu").map((t) => t.data() as Promise<Float32Array>));
  return { cpu, gpu };
}

async function assertBackendsAgree(
  what: string,
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  args: { data: number[]; shape: number[] }[],
  rtol = 2e-4,
): Promise<void> {
  const { cpu, gpu } = await bothBackends(f, args);
  cpu.forEach((c, k) => assertClose(gpu[k], c, rtol, `${what} output ${k}`));
}

const sizes: [number[], number][] = [[[3], 1], [[2], 7], [[], 64], [[2], 70], [[1], 130]];

describe("batched linalg on WebGPU agrees with the CPU", () => {
  for (const [batch, n] of sizes) {
    const a = { data: wellConditioned(batch, n, 11 + n), shape: [...batch, n, n] };
    const b = { data: values(a.data.length / n * 3, 5 + n), shape: [...batch, n, 3] };
    test(`[${batch}] ${n}×${n}`, { skip }, async () => {
      const t =
        (lower: boolean, transposeA: boolean, unitDiagonal = false) => (x: Tensor, y: Tensor) =>
          lax.linalg.triangularSolve(x, y, { leftSide: true, lower, transposeA, unitDiagonal });
      await assertBackendsAgree("solve", (x, y) => np.linalg.solve(x, y), [a, b]);
      await assertBackendsAgree("solve aᵀ", (x, y) => np.linalg.solve(np.swapaxes(x, -1, -2), y), [
        a,
        b,
      ]);
      await assertBackendsAgree("inv", (x) => np.linalg.inv(x), [a]);
      await assertBackendsAgree("det", (x) => np.linalg.det(np.multiply(x, 0.5)), [a]);
      await assertBackendsAgree("slogdet", (x) => np.linalg.slogdet(x), [a]);
      await assertBackendsAgree(
        "cholesky",
        (x) => np.linalg.cholesky(np.matmul(x, np.swapaxes(x, -1, -2))),
        [a],
      );
      for (
        const [lo, tr, unit] of [[true, false], [false, false, true], [true, true], [false, true]]
      ) {
        await assertBackendsAgree(`triangularSolve ${lo} ${tr} ${unit}`, t(lo, tr, unit), [a, b]);
      }
      await assertBackendsAgree(
        "triangularSolve right side",
        (x, y) =>
          lax.linalg.triangularSolve(x, np.swapaxes(y, -1, -2), { leftSide: false, lower: true }),
        [a, b],
      );
    });
  }
});

/** [batch..., m, n] matrices with separated singular values / eigenvalues (diagonal 1.5 (i + 1)). */
function spreadOut(batch: number[], m: number, n: number, seed: number): number[] {
  const v = values(batch.reduce((p, d) => p * d, 1) * m * n, seed);
  return v.map((x, i) => {
    const r = Math.floor(i / n) % m, c = i % n;
    return r === c ? 1.5 * (r + 1) + 0.25 * x : 0.3 * x;
  });
}

describe("qr and eigh on WebGPU agree with the CPU", () => {
  const qrShapes: [number[], number, number][] = [
    [[2], 5, 3],
    [[], 3, 5],
    [[3], 7, 7],
    [[], 70, 9],
    [
      [],
      9,
      70,
    ],
    [[1], 66, 66],
  ];
  for (const [batch, m, n] of qrShapes) {
    test(`qr [${batch}] ${m}×${n}`, { skip }, async () => {
      const a = {
        data: values(batch.reduce((p, d) => p * d, 1) * m * n, m + 7 * n),
        shape: [...batch, m, n],
      };
      await assertBackendsAgree("qr", (x) => np.linalg.qr(x), [a]);
      await assertBackendsAgree("qr complete", (x) => np.linalg.qr(x, { mode: "complete" }), [a]);
      await assertBackendsAgree("qr r", (x) => np.linalg.qr(x, { mode: "r" }), [a]);
    });
  }
  for (
    const [batch, n] of [[[3], 1], [[2], 5], [[], 16], [[2], 33], [[], 48]] as [number[], number][]
  ) {
    test(`eigh [${batch}] ${n}×${n}`, { skip }, async () => {
      const a = { data: spreadOut(batch, n, n, 3 + n), shape: [...batch, n, n] };
      await assertBackendsAgree("eigh", (x) => np.linalg.eigh(x), [a], 1e-3);
    });
  }
  const svdShapes: [number[], number, number][] = [[[2], 4, 3], [[], 3, 5], [[3], 6, 6], [
    [],
    20,
    12,
  ], [
    [],
    12,
    20,
  ], [[], 3, 0]];
  for (const [batch, m, n] of svdShapes) {
    test(`svd [${batch}] ${m}×${n}`, { skip }, async () => {
      const a = { data: spreadOut(batch, m, n, m + 3 * n), shape: [...batch, m, n] };
      await assertBackendsAgree("svd", (x) => np.linalg.svd(x, { fullMatrices: false }), [a], 1e-3);
      await assertBackendsAgree("svd full", (x) => np.linalg.svd(x), [a], 1e-3);
      await assertBackendsAgree("svd values", (x) => np.linalg.svd(x, { computeUv: false }), [a]);
      await assertBackendsAgree("pinv", (x) => np.linalg.pinv(x), [a], 1e-3);
    });
  }
  test("a kernel step too long for a software adapter is a RangeError naming the op", {
    skip,
  }, async () => {
    if (!webgpuRuntime()!.software) return;
    await onBackend("webgpu", async () => {
      assert.throws(() => np.linalg.eigh(np.eye(1000)), /eigh of shape \[1000,1000\] \(n = 1000\)/);
      // the old single-kernel caps (eigh 59, inv 138) no longer apply
      assert.deepEqual([...await np.linalg.eigh(np.eye(80))[0].data()], new Array(80).fill(1));
      assert.deepEqual([...await np.linalg.inv(np.eye(200)).data()], [...await np.eye(200).data()]);
    });
  });
});

describe("linalg on WebGPU: transforms", () => {
  const n = 4;
  const a = { data: wellConditioned([3], n, 3), shape: [3, n, n] };
  const b = { data: values(3 * n * 2, 9), shape: [3, n, 2] };
  test("grads agree with the CPU", { skip }, async () => {
    const loss = (x: Tensor, y: Tensor) =>
      np.add(
        np.add(np.sum(np.sin(np.linalg.solve(x, y))), np.sum(np.linalg.slogdet(x)[1])),
        np.add(
          np.sum(np.linalg.det(np.multiply(x, 0.5))),
          np.sum(np.linalg.cholesky(np.matmul(x, np.swapaxes(x, -1, -2)))),
        ),
      );
    const g = (x: Tensor, y: Tensor) => grad(loss, { argnums: [0, 1] })(x, y) as Tensor[];
    await assertBackendsAgree("grad", g, [a, b], 1e-3);
    await assertBackendsAgree("jit(grad)", jit(g), [a, b], 1e-3);
    const tri = (x: Tensor, y: Tensor) =>
      np.sum(np.square(lax.linalg.triangularSolve(x, y, { leftSide: true, lower: false })));
    await assertBackendsAgree("grad triangularSolve", grad(tri, { argnums: [0, 1] }), [a, b], 1e-3);
    const s = { data: spreadOut([2], n, n, 5), shape: [2, n, n] };
    const dec = (x: Tensor) => {
      const [w, v] = np.linalg.eigh(x);
      const [q, r] = np.linalg.qr(x);
      // sign-invariant: eigenvalues, squared eigenvectors, |diag r| and q r
      return np.add(
        np.add(np.sum(np.sin(w)), np.sum(np.square(np.square(v)))),
        np.add(
          np.sum(np.abs(np.diagonal(r, { axis1: -2, axis2: -1 }))),
          np.sum(np.cos(np.matmul(q, r))),
        ),
      );
    };
    await assertBackendsAgree("grad eigh and qr", grad(dec), [s], 2e-3);
    const sv = (x: Tensor) => {
      const [u, sg, vt] = np.linalg.svd(x, { fullMatrices: false });
      return np.add(
        np.sum(np.sqrt(sg)),
        np.sum(np.cos(np.matmul(np.multiply(u, np.expandDims(sg, -2)), vt))),
      );
    };
    await assertBackendsAgree("grad svd", grad(sv), [s], 2e-3);
  });

  test("vmap matches a loop; a jitted call records one submission", { skip }, async () => {
    await onBackend("webgpu", async () => {
      const x = np.array(a.data, { dtype: "float32" }).reshape(a.shape);
      const f = (m: Tensor) => np.matmul(np.linalg.inv(m), np.linalg.cholesky(np.matmul(m, m.T)));
      const batched = await vmap(f)(x).data();
      const looped = (await Promise.all([0, 1, 2].map((i) => f(x.slice(i)).data())))
        .flatMap((d) => [...d]);
      assertClose(batched, looped, 1e-5, "vmap");
      const jf = jit(f);
      await jf(x.slice(0)).data();
      const s0 = webgpuStats()!.submits;
      await jf(x.slice(1)).data();
      assert.ok(
        webgpuStats()!.submits - s0 <= 2,
        "one submission for the call (one more for slice)",
      );
    });
  });
});

test("singular, non-positive-definite and NaN inputs on WebGPU", { skip }, async () => {
  await onBackend("webgpu", async () => {
    assert.equal(Math.abs((await np.linalg.det([[1, 2], [2, 4]]).data())[0]), 0);
    const [s, l] = np.linalg.slogdet([[1, 2], [2, 4]]);
    assert.deepEqual([Math.abs((await s.data())[0]), ...await l.data()], [0, -Infinity]);
    const x = await np.linalg.solve([[1, 2], [2, 4]], [1, 1]).data();
    assert.ok(x.some((v) => !Number.isFinite(v)));
    assert.ok((await np.linalg.cholesky([[1, 2], [2, 1]]).data()).some(Number.isNaN));
    const nan = [[1, NaN], [0.5, 2]];
    assert.ok((await np.linalg.inv(nan).data()).every(Number.isNaN));
    assert.ok(Number.isNaN((await np.linalg.det(nan).data())[0]));
    // (qr's q depends only on the first column here, so it stays finite, as on the CPU)
    for (const t of [...np.linalg.eigh(nan), ...np.linalg.svd(nan), np.linalg.qr(nan)[1]]) {
      assert.ok((await t.data()).some(Number.isNaN), "NaN propagates");
    }
    // a zero-size batch and an empty matrix
    assert.deepEqual(np.linalg.inv(np.zeros([0, 3, 3])).shape, [0, 3, 3]);
    assert.deepEqual([...await np.linalg.det(np.zeros([2, 0, 0])).data()], [1, 1]);
  });
});

test("every linalg kernel binds at most 8 storage buffers (WebGPU's default limit)", () => {
  const av = (shape: number[]) => ({ shape, dtype: "float32" as const, weak: false });
  const cases: [string, number[][], unknown][] = [
    ["triangularSolve", [[2, 5, 5], [2, 5, 3]], {
      lower: true,
      transposeA: true,
      unitDiagonal: false,
    }],
    ["cholesky", [[5, 5]], {}],
    ["solve", [[2, 5, 5], [2, 5, 3]], { transposeA: true }],
    ["det", [[5, 5]], {}],
    ["slogdet", [[5, 5]], {}],
    ["qr", [[6, 4]], { fullMatrices: true }],
    ["eigh", [[5, 5]], {}],
    ["svd", [[4, 6]], { fullMatrices: true, computeUv: true }],
  ];
  assert.deepEqual(new Set(cases.map((c) => c[0])), LINALG_OPS);
  for (const [name, shapes, p] of cases) {
    const r = renderLinalg(name, shapes.map(av), p, 65535, true);
    assert.ok(r.dispatches.length > 0, name);
    for (const d of r.dispatches) assert.ok(d.bind.length <= 8, `${name}: ${d.bind.length}`);
  }
});
