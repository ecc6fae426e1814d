/**
 * Issue 17 on WebGPU: float32 sums are compensated (2^22 equal terms within 1e-6 relative,
 * mixed magnitudes against a float64 sum), infinities and NaN still propagate through them, and a
 * lost device gives a clear error until `init()` creates a new one. Skipped where the runtime
 * has no WebGPU.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { init, jit, np, setBackend, type Tensor } from "../mod.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

async function onGpu<T>(f: () => Promise<T>): Promise<T> {
  setBackend("webgpu");
  try {
    return await f();
  } finally {
    setBackend("cpu");
  }
}
const first = async (t: Tensor) => (await t.data())[0];

test("webgpu: float32 mean of 2^22 terms of 0.1 is within 1e-6 relative", { skip }, async () => {
  await onGpu(async () => {
    for (const n of [1 << 22, (1 << 20) + 3, 4096, 1000]) {
      const m = await first(np.mean(np.full([n], 0.1)));
      assert.ok(Math.abs(m - 0.1) / 0.1 <= 1e-6, `mean of ${n} x 0.1 = ${m}`);
      const s = await first(jit((x: Tensor) => np.sum(x))(np.full([n], 0.1)));
      assert.ok(Math.abs(s - 0.1 * n) / (0.1 * n) <= 1e-6, `jit sum of ${n} x 0.1 = ${s}`);
    }
    // rows and columns (tree, combine and one-loop-per-output kernels)
    const rows = await np.sum(np.full([3, 1 << 20], 0.1), { axis: 1 }).data();
    for (const r of rows) assert.ok(Math.abs(r - 104857.6) / 104857.6 <= 1e-6, `row sum ${r}`);
    const cols = await np.sum(np.full([1 << 16, 64], 0.1), { axis: 0 }).data();
    for (const c of cols) assert.ok(Math.abs(c - 6553.6) / 6553.6 <= 1e-6, `column sum ${c}`);
  });
});

test("webgpu: float32 sums of mixed magnitudes match a float64 sum", { skip }, async () => {
  const n = 1 << 20;
  const data = new Float32Array(n);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) data[i] = (rnd() - 0.3) * 10 ** Math.floor(rnd() * 6 - 3);
  let want = 0, scale = 0;
  for (const v of data) {
    want += v;
    scale += Math.abs(v);
  }
  const got = await onGpu(() => first(np.sum(np.array(data, { dtype: "float32" }))));
  assert.ok(Math.abs(got - want) <= 1e-6 * scale, `sum ${got}, float64 ${want}`);
});

test("webgpu: compensated sums still propagate infinities and NaN", { skip }, async () => {
  await onGpu(async () => {
    const f = (v: number[]) => first(np.sum(np.array(v, { dtype: "float32" })));
    assert.equal(await f([1, Infinity, 2]), Infinity);
    assert.equal(await f([1, -Infinity, -2]), -Infinity);
    assert.ok(Number.isNaN(await f([1, -Infinity, Infinity])));
    assert.ok(Number.isNaN(await f([1, NaN, 2])));
    const long = new Float32Array(1 << 16).fill(0.5);
    long[77] = Infinity;
    assert.equal(await first(np.sum(np.array(long))), Infinity);
    long[99] = NaN;
    assert.ok(Number.isNaN(await first(np.sum(np.array(long)))));
  });
});

test("init() is idempotent while the device is alive", { skip }, async () => {
  const names = await init();
  assert.ok(names.includes("webgpu"));
});

test(
  "webgpu: a lost device gives a clear error and `await init()` recovers",
  { skip },
  async () => {
    const { webgpuRuntime } = await import("../lib/backend/webgpu/backend.ts");
    const old = webgpuRuntime()!;
    const f = jit((x: Tensor) => np.sum(x.mul(2)));
    setBackend("webgpu");
    try {
      const x = np.ones([16]);
      assert.equal(await first(f(x)), 32);
      old.device.destroy!();
      await old.device.lost;
      const lost = /webgpu: the device was lost \(.*\); call `await init\(\)` to create a new one/;
      assert.throws(() => np.ones([4]).add(1), lost);
      assert.throws(() => f(np.ones([16])), lost);
      await assert.rejects(x.data(), lost);
      x.dispose(); // releasing arrays of the lost device is harmless
      assert.ok((await init()).includes("webgpu"));
      assert.notEqual(webgpuRuntime(), old);
      assert.equal(await first(np.sum(np.ones([8]).add(1))), 16);
      assert.equal(await first(f(np.ones([16]))), 32);
    } finally {
      setBackend("cpu");
    }
  },
);
