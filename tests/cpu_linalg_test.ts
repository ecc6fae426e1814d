// Float32 solve on the CPU backend through the blocked LU (lib/backend/cpu/linalg.ts): against
// the float64 host kernel for orders across the threshold and block size, batched, several
// right-hand sides (inv), transposeA, under jit, and singular matrices (non-finite, no throw).
import { test } from "node:test";
import assert from "node:assert/strict";
import { jit, np, random, setBackend, type Tensor } from "../mod.ts";
import { BLOCKED_LU_MIN, solveFast } from "../lib/backend/cpu/linalg.ts";
import { solveP } from "../lib/ops/linalg.ts";

setBackend("cpu");

/** Random matrices [..., n, n] with a dominant diagonal (random signs) and their float64 copies. */
function wellConditioned(shape: number[], seed: number): Tensor {
  const n = shape[shape.length - 1];
  const u = random.uniform(random.key(seed), shape, { minval: -1, maxval: 1 });
  const sign = np.sign(
    random.uniform(random.key(seed + 1), [...shape.slice(0, -1), 1], { minval: -1, maxval: 1 }),
  );
  return np.add(u, np.multiply(np.eye(n), np.multiply(sign, n / 4)));
}

function relErr(got: Tensor, want: Tensor): number {
  const g = got.dataSync(), w = want.dataSync();
  let num = 0, den = 0;
  for (let i = 0; i < w.length; i++) {
    (num = Math.max(num, Math.abs(g[i] - w[i]))), (den = Math.max(den, Math.abs(w[i])));
  }
  return num / den;
}

for (const n of [BLOCKED_LU_MIN, 130, 200]) {
  test(`blocked float32 solve matches the float64 kernel (n = ${n}, batched, k = 3)`, () => {
    const a = wellConditioned([2, n, n], n), b = random.uniform(random.key(7), [2, n, 3]);
    const x = np.linalg.solve(a, b);
    assert.equal(x.dtype, "float32");
    const want = np.linalg.solve(a.astype("float64"), b.astype("float64"));
    assert.ok(relErr(x, want) < 1e-5, `relative error ${relErr(x, want)}`);
    const direct = solveFast(
      [{ data: a.dataSync(), shape: a.shape, dtype: "float32" }, {
        data: b.dataSync(),
        shape: b.shape,
        dtype: "float32",
      }],
      { transposeA: false },
      [{ shape: b.shape, dtype: "float32", weak: false }],
    );
    assert.ok(direct, "the blocked path applies");
    assert.deepEqual([...direct[0]], [...x.dataSync()]);
  });
}

test("blocked solve: inv (k = n, GEMM substitutions), transposeA and jit", () => {
  const n = 160, a = wellConditioned([n, n], 3);
  const inv = np.linalg.inv(a);
  const eye = np.matmul(a.astype("float64"), inv.astype("float64")).dataSync();
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) assert.ok(Math.abs(eye[i * n + j] - (i === j ? 1 : 0)) < 1e-5);
  }
  const b = random.uniform(random.key(5), [n, 2]);
  const xt = solveP(a, b, { transposeA: true });
  const want = np.linalg.solve(a.astype("float64").T, b.astype("float64"));
  assert.ok(relErr(xt, want) < 1e-5);
  const jitted = jit((m: Tensor, r: Tensor) => np.linalg.solve(m, r))(a, b);
  assert.deepEqual([...jitted.dataSync()], [...np.linalg.solve(a, b).dataSync()]);
});

test("blocked solve: below the threshold and float64 stay on the host kernel; singular gives non-finite", () => {
  const small = { data: new Float32Array(4), shape: [2, 2], dtype: "float32" as const };
  assert.equal(
    solveFast([small, small], { transposeA: false }, [{
      shape: [2, 2],
      dtype: "float32",
      weak: false,
    }]),
    null,
  );
  const n = 128, rank1 = np.outer(np.arange(n), np.ones([n]));
  const x = np.linalg.solve(rank1.astype("float32"), np.ones([n, 1])).dataSync();
  assert.ok(x.some((v) => !Number.isFinite(v)));
});
