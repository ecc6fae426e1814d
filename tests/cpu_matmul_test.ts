// Float32 dotGeneral through the Wasm GEMM (lib/backend/cpu/matmul.ts) against the float64
// reference: plain, transposed, batched (batch axes first or in the middle), several free and
// contracted axes (in place and gathered), with and without the worker pool, and the threshold.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { init, jit, lax, np, random, setBackend, type Tensor } from "../mod.ts";
import { dotGeneralF32, gemmTuning } from "../lib/backend/cpu/matmul.ts";
import type { DotParams } from "../lib/ops/dot.ts";
import { assertAllClose } from "./_test_utils.ts";

interface Case {
  name: string;
  a: number[];
  b: number[];
  p: DotParams;
}

const CASES: Case[] = [
  {
    name: "matmul 64x96 · 96x80",
    a: [64, 96],
    b: [96, 80],
    p: { contract: [[1], [0]], batch: [[], []] },
  },
  {
    name: "aᵀ·b (contract lhs axis 0)",
    a: [96, 64],
    b: [96, 80],
    p: { contract: [[0], [0]], batch: [[], []] },
  },
  { name: "a·bᵀ", a: [64, 96], b: [80, 96], p: { contract: [[1], [1]], batch: [[], []] } },
  {
    name: "batched, batch first",
    a: [3, 40, 72],
    b: [3, 72, 48],
    p: { contract: [[2], [1]], batch: [[0], [0]] },
  },
  {
    name: "batch axis in the middle",
    a: [40, 3, 72],
    b: [72, 3, 48],
    p: { contract: [[2], [0]], batch: [[1], [1]] },
  },
  {
    name: "two free and two contracted axes, interleaved (gathered)",
    a: [8, 6, 10, 12],
    b: [12, 7, 6, 9],
    p: { contract: [[1, 3], [2, 0]], batch: [[], []] },
  },
];

function values(shape: number[], seed: number): Tensor {
  return random.normal(random.key(seed), shape);
}

describe("cpu matmul: Wasm GEMM against the float64 reference", () => {
  for (const [i, c] of CASES.entries()) {
    test(c.name, async () => {
      setBackend("reference");
      const a = values(c.a, 2 * i), b = values(c.b, 2 * i + 1);
      const want = lax.dotGeneral(a, b, [c.p.contract, c.p.batch]);
      setBackend("cpu");
      const ah = { data: a.dataSync() as Float32Array, shape: c.a, dtype: "float32" as const };
      const bh = { data: b.dataSync() as Float32Array, shape: c.b, dtype: "float32" as const };
      const got = dotGeneralF32(ah, bh, c.p, { ...want.aval, weak: false });
      assert.ok(got, "the GEMM path applies");
      const K = c.p.contract[0].reduce((s, ax) => s * c.a[ax], 1);
      await assertAllClose(got, want.dataSync(), { rtol: 1e-5 * Math.sqrt(K), atol: 1e-5 * K });
      // and through the backend, eager and jitted (the op step's kept buffer)
      const f = (x: Tensor, y: Tensor) => lax.dotGeneral(x, y, [c.p.contract, c.p.batch]);
      for (const g of [f, jit(f), jit(f)]) {
        await assertAllClose(g(a, b), want.dataSync(), {
          rtol: 1e-5 * Math.sqrt(K),
          atol: 1e-5 * K,
        });
      }
    });
  }

  test("with the worker pool: same bits as single-threaded", async () => {
    setBackend("cpu");
    const a = values([256, 192], 20), b = values([192, 160], 21);
    const p: DotParams = { contract: [[1], [0]], batch: [[], []] };
    const host = (t: Tensor) => ({
      data: t.dataSync() as Float32Array,
      shape: t.shape,
      dtype: "float32" as const,
    });
    const out = { shape: [256, 160], dtype: "float32" as const, weak: false };
    const before = dotGeneralF32(host(a), host(b), p, out)!;
    await init(); // the pool is up from here on
    const after = dotGeneralF32(host(a), host(b), p, out)!;
    assert.deepEqual(after, before);
    setBackend("reference");
    await assertAllClose(after, np.matmul(a, b).dataSync(), { rtol: 1e-4, atol: 1e-3 });
    setBackend("cpu");
  });

  test("small, thin and non-float32 products stay on the exact loop", () => {
    const f32 = (shape: number[]) => ({
      data: new Float32Array(shape.reduce((s, d) => s * d, 1)),
      shape,
      dtype: "float32" as const,
    });
    const p: DotParams = { contract: [[1], [0]], batch: [[], []] };
    const out = (shape: number[]) => ({ shape, dtype: "float32" as const, weak: false });
    assert.equal(dotGeneralF32(f32([8, 8]), f32([8, 8]), p, out([8, 8])), null);
    assert.ok(8 * 8 * 8 < gemmTuning.minMacs);
    assert.equal(dotGeneralF32(f32([4, 8192]), f32([8192, 64]), p, out([4, 64])), null); // M < 8
    const f64 = { data: new Float64Array(128 * 128), shape: [128, 128], dtype: "float64" as const };
    assert.equal(
      dotGeneralF32(f64, f64, p, { shape: [128, 128], dtype: "float64", weak: false }),
      null,
    );
  });
});
