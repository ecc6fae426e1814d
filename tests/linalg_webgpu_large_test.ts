/**
 * WebGPU linalg beyond llvmpipe's loop limiter: loops split over dispatches of one submission.
 * Rendering (every dispatch within the loop budget up to the required sizes, a RangeError naming
 * op, n and limit beyond) runs everywhere; sizes around the old single-kernel caps and the new
 * targets vs the CPU, eager and jit, need WebGPU.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { jit, lax, np, type Tensor } from "../mod.ts";
import { webgpuRuntime, webgpuStats } from "../lib/backend/webgpu/backend.ts";
import { LOOP_BUDGET } from "../kernels/wgsl/linalg.ts";
import { renderLinalg } from "../kernels/wgsl/linalg_ops.ts";
import { chunkSteps } from "../kernels/wgsl/linalg_phases.ts";
import { webgpuReady } from "./_webgpu_env.ts";
import { onBackend } from "./_prop_util.ts";

const av = (shape: number[]) => ({ shape, dtype: "float32" as const, weak: false });
const TRI = { lower: true, transposeA: false, unitDiagonal: false };

/** [name, input shapes, params] of every linalg kernel on n×n matrices. */
const kernels = (n: number): [string, number[][], unknown][] => [
  ["triangularSolve", [[n, n], [n, n]], TRI],
  ["cholesky", [[n, n]], {}],
  ["solve", [[n, n], [n, n]], { transposeA: false }],
  ["solve", [[2, n, n], [2, n, 1]], { transposeA: true }],
  ["det", [[n, n]], {}],
  ["slogdet", [[n, n]], {}],
  ["qr", [[n, n]], { fullMatrices: true }],
  ["eigh", [[n, n]], {}],
  ["svd", [[n, n]], { fullMatrices: true, computeUv: true }],
  ["svd", [[n, n]], { fullMatrices: false, computeUv: false }],
];

describe("linalg kernels split over dispatches within the loop budget", () => {
  test("chunkSteps: consecutive chunks within the budget, one chunk when unbounded", () => {
    const cost = (s: number) => 10 - s;
    const { chunks, loops } = chunkSteps(10, cost, 20, 1);
    assert.deepEqual(chunks, [[0, 2], [2, 4], [4, 8], [8, 10]]);
    for (const [k0, k1] of chunks) {
      let l = 1;
      for (let s = k0; s < k1; s++) l += cost(s);
      assert.ok(l <= 20 && l <= loops, `[${k0}, ${k1}): ${l}`);
    }
    assert.deepEqual(chunkSteps(10, cost, Infinity).chunks, [[0, 10]]);
    assert.deepEqual(chunkSteps(0, cost, 20), { chunks: [], loops: 0 });
    assert.equal(chunkSteps(3, () => 30, 20).loops, 30, "one step over the budget");
  });

  test("n = 512 (128 for eigh and svd) on a software adapter: every dispatch fits", () => {
    for (const [name, shapes, p] of [...kernels(512), ...kernels(128)]) {
      if ((name === "eigh" || name === "svd") && shapes[0][0] === 512) continue;
      const r = renderLinalg(name, shapes.map(av), p, 65535, true);
      assert.ok(r.loops <= LOOP_BUDGET, `${name} ${shapes}: ${r.loops}`);
      assert.ok(r.dispatches.length > 1, `${name} ${shapes}: split`);
      for (const d of r.dispatches) assert.ok(d.bind.length <= 8, `${name}: ${d.bind.length}`);
      // hardware adapters: no budget, each loop one dispatch
      const hw = renderLinalg(name, shapes.map(av), p, 65535, false);
      assert.ok(hw.dispatches.length <= 8, `${name} ${shapes}: ${hw.dispatches.length}`);
    }
  });

  test("a step longer than the budget alone is a RangeError naming op, n and limit", () => {
    assert.throws(
      () => renderLinalg("eigh", [av([1000, 1000])], {}, 65535, true),
      /eigh of shape \[1000,1000\] \(n = 1000\) is too large .*limit of 60000/,
    );
    assert.throws(
      () => renderLinalg("solve", [av([2000, 2000]), av([2000, 1])], TRI, 65535, true),
      /solve of shape \[2000,2000\] \(n = 2000\) is too large/,
    );
    assert.ok(renderLinalg("eigh", [av([1000, 1000])], {}, 65535, false).dispatches.length);
  });
});

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

/** Deterministic pseudo-random values in [-1, 1). */
function values(count: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** An n×n matrix: random off the diagonal, `diag(i)` plus noise on it. */
function matrix(n: number, seed: number, diag: (i: number) => number, off = 1): number[] {
  return values(n * n, seed).map((x, i) => {
    const r = Math.floor(i / n);
    return r === i % n ? diag(r) + 0.25 * x : off * x;
  });
}

/** `f` on the CPU and on WebGPU (eager, and jit unless `eagerOnly`) agree within rtol. */
async function agree(
  what: string,
  f: (...xs: Tensor[]) => Tensor | Tensor[],
  args: { data: number[]; shape: number[] }[],
  rtol: number,
  eagerOnly = false,
): Promise<void> {
  const run = (name: string, g: typeof f) =>
    onBackend(name, () => {
      const r = g(...args.map((a) => np.array(a.data, { dtype: "float32" }).reshape(a.shape)));
      return Array.isArray(r) ? r : [r];
    });
  const want = await Promise.all(run("cpu", f).map((t) => t.data()));
  const modes: [string, typeof f][] = [["eager", f]];
  if (!eagerOnly) modes.push(["jit", jit(f)]);
  for (const [mode, g] of modes) {
    const got = await Promise.all(run("webgpu", g).map((t) => t.data()));
    got.forEach((o, k) => {
      assert.equal(o.length, want[k].length);
      for (let i = 0; i < o.length; i++) {
        const w = want[k][i];
        assert.ok(
          Math.abs(o[i] - w) <= rtol * (1 + Math.abs(w)),
          `${what} ${mode} output ${k}[${i}]: got ${o[i]}, want ${w}`,
        );
      }
    });
  }
}

const LU_FNS: [string, (...xs: Tensor[]) => Tensor | Tensor[]][] = [
  ["solve", (a, b) => np.linalg.solve(a, b)],
  ["solve aᵀ", (a, b) => np.linalg.solve(np.swapaxes(a, -1, -2), b)],
  ["slogdet", (a) => np.linalg.slogdet(a)],
  ["triangularSolve", (a, b) => lax.linalg.triangularSolve(a, b, { leftSide: true, lower: true })],
];

describe("linalg on WebGPU past the old single-kernel caps agrees with the CPU", () => {
  // old caps on llvmpipe: inv 138, solve / cholesky / det ~215, qr 119, eigh 59, svd 31
  for (const n of [136, 220, 512]) {
    test(`LU, triangular solves and cholesky ${n}×${n}`, { skip }, async () => {
      const a = { data: matrix(n, 11 + n, () => n / 4 + 2), shape: [n, n] };
      const b = { data: values(n * 3, 5 + n), shape: [n, 3] };
      // at 512: jit for solve and cholesky only (each LU costs about a second on llvmpipe)
      const big = n > 256;
      for (const [what, f] of LU_FNS) {
        await agree(`${what} ${n}`, f, [a, b], 2e-4, big && what !== "solve");
      }
      await agree(`inv ${n}`, (x) => np.linalg.inv(x), [a], 2e-4, big);
      const det = (x: Tensor) => np.linalg.det(np.multiply(x, 1 / (n / 4 + 2)));
      await agree(`det ${n}`, det, [a], 1e-3, big);
      const g = { data: values(n * n, 3 * n), shape: [n, n] };
      const spd = (x: Tensor) =>
        np.add(np.matmul(x, np.swapaxes(x, -1, -2)), np.multiply(np.eye(n), n));
      await agree(`cholesky ${n}`, (x) => np.linalg.cholesky(spd(x)), [g], 2e-4);
    });
  }
  for (const n of [116, 124, 512]) {
    test(`qr ${n}×${n}`, { skip }, async () => {
      const a = { data: values(n * n, 7 * n), shape: [n, n] };
      await agree(`qr ${n}`, (x) => np.linalg.qr(x), [a], n > 256 ? 2e-3 : 5e-4, n > 256);
    });
  }
  for (const n of [56, 64, 128]) {
    test(`eigh ${n}×${n}`, { skip }, async () => {
      const a = { data: matrix(n, 3 + n, (i) => 1.5 * (i + 1), 0.3), shape: [n, n] };
      await agree(`eigh ${n}`, (x) => np.linalg.eigh(x), [a], 2e-3);
    });
  }
  for (const n of [30, 40, 128]) {
    test(`svd ${n}×${n}`, { skip }, async () => {
      const a = { data: matrix(n, 5 + n, (i) => 1.5 * (i + 1), 0.3), shape: [n, n] };
      await agree(`svd ${n}`, (x) => np.linalg.svd(x), [a], 3e-3, n > 64);
      await agree(`svd values ${n}`, (x) => np.linalg.svd(x, { computeUv: false }), [a], 2e-4);
    });
  }
  test("a batch of 2 at 300: split kernels serve every matrix; jit is one submission", {
    skip,
  }, async () => {
    const n = 300;
    const a = { data: [1, 2].flatMap((s) => matrix(n, s, () => n / 4 + 2)), shape: [2, n, n] };
    const b = { data: values(2 * n * 2, 9), shape: [2, n, 2] };
    await agree("solve [2] 300", (x, y) => np.linalg.solve(x, y), [a, b], 2e-4);
    await onBackend("webgpu", async () => {
      const f = jit((x: Tensor, y: Tensor) => np.linalg.solve(x, y));
      const x = np.array(a.data, { dtype: "float32" }).reshape(a.shape);
      const y = np.array(b.data, { dtype: "float32" }).reshape(b.shape);
      await f(x, y).data();
      const s0 = webgpuStats()!.submits, d0 = webgpuStats()!.dispatches;
      await f(x, y).data();
      assert.ok(webgpuStats()!.submits - s0 <= 2, "one submission (and one for the read)");
      if (webgpuRuntime()!.software) assert.ok(webgpuStats()!.dispatches - d0 > 3, "split");
    });
  });
});
