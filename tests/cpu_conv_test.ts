/**
 * The CPU backend's GEMM convolution path (above the small-kernel threshold, single-threaded and
 * on the worker pool) against the reference backend, across layouts, groups, strides, dilations.
 * @module
 */
import { test } from "node:test";
import { getBackend, lax, random, setBackend, type Tensor } from "../mod.ts";
import { currentPool, startPool } from "../lib/backend/cpu/conv.ts";
import assert from "node:assert/strict";
import { assertAllClose } from "./_test_utils.ts";

interface Case {
  name: string;
  x: number[];
  w: number[];
  strides: number[];
  padding: "SAME" | "VALID" | [number, number][];
  opts?: Parameters<typeof lax.convGeneralDilated>[4];
}

const CASES: Case[] = [
  { name: "NCHW SAME", x: [2, 16, 24, 24], w: [32, 16, 3, 3], strides: [1, 1], padding: "SAME" },
  {
    name: "NCHW strided, dilated, asymmetric pads",
    x: [2, 8, 31, 29],
    w: [24, 8, 3, 5],
    strides: [2, 3],
    padding: [[2, 1], [0, 3]],
    opts: { rhsDilation: [2, 1] },
  },
  {
    name: "NHWC/HWIO",
    x: [2, 20, 20, 12],
    w: [3, 3, 12, 40],
    strides: [1, 1],
    padding: "VALID",
    opts: { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] },
  },
  {
    name: "feature groups",
    x: [2, 16, 20, 20],
    w: [32, 4, 3, 3],
    strides: [1, 1],
    padding: "SAME",
    opts: { featureGroupCount: 4 },
  },
  {
    name: "lhs dilation (transposed conv)",
    x: [2, 16, 12, 12],
    w: [16, 16, 3, 3],
    strides: [1, 1],
    padding: [[2, 2], [2, 2]],
    opts: { lhsDilation: [2, 2] },
  },
  { name: "3-d", x: [1, 4, 12, 12, 12], w: [8, 4, 3, 3, 3], strides: [1, 1, 1], padding: "VALID" },
  {
    name: "long K in several blocks, fewer columns than rows (split by rows)",
    x: [1, 40, 9, 9],
    w: [64, 40, 5, 5],
    strides: [1, 1],
    padding: [[1, 0], [0, 1]],
  },
  {
    name: "weight-gradient layout (small output, images change inside a panel)",
    x: [6, 8, 14, 13],
    w: [6, 24, 12, 12],
    strides: [1, 1],
    padding: [[1, 1], [1, 1]],
    opts: { dimensionNumbers: ["CNHW", "IOHW", "NCHW"] },
  },
];

function run(c: Case, x: Tensor, w: Tensor, backend: string): Float32Array {
  const prev = getBackend();
  setBackend(backend);
  try {
    return lax.convGeneralDilated(x, w, c.strides, c.padding, c.opts).dataSync() as Float32Array;
  } finally {
    setBackend(prev);
  }
}

for (const pooled of [false, true]) {
  for (const c of CASES) {
    test(`cpu conv (${pooled ? "worker pool" : "single thread"}): ${c.name} matches the reference`, async () => {
      if (pooled) await startPool();
      const x = random.normal(random.key(1), c.x), w = random.normal(random.key(2), c.w);
      const want = run(c, x, w, "reference");
      await assertAllClose(run(c, x, w, "cpu"), want, { rtol: 1e-4, atol: 1e-4 });
    });
  }
}

test("cpu conv: a worker that dies mid-kernel gives a clear error on that call, and the next call works", async () => {
  await startPool();
  const p = currentPool();
  if (!p || p.threads < 2) return; // no worker threads on this runtime: nothing to kill
  const c = CASES[0];
  const x = random.normal(random.key(1), c.x), w = random.normal(random.key(2), c.w);
  const want = run(c, x, w, "reference");
  p._killWorker(0);
  let message = "";
  try {
    run(c, x, w, "cpu");
  } catch (e) {
    message = String((e as Error).message);
  }
  // Bun and Node: the task never completes, so the call fails with a clear error (not a hang).
  // NOTE: Deno's terminate() does not stop a worker parked in Atomics.wait, so there the worker
  // survives and the call simply succeeds; the next call must work either way.
  if (message) assert.match(message, /convGeneralDilated: the worker pool failed/);
  await assertAllClose(run(c, x, w, "cpu"), want, { rtol: 1e-4, atol: 1e-4 });
});
