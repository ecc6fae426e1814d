/**
 * Control flow on WebGPU against the CPU backend: a jitted scan (forward and gradient) records
 * every iteration into one submission; cond with a device predicate selects among its branches
 * on the device; a data-dependent whileLoop is a clear error there. Skipped without WebGPU.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, grad, jit, lax, np, setBackend, type Tensor } from "../mod.ts";
import { webgpuStats } from "../lib/backend/webgpu/backend.ts";
import { allCloseReport } from "./_test_utils.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

const rnn = (p: { W: Tensor; b: Tensor }, xs: Tensor) =>
  lax.scan(
    (h: Tensor, x: Tensor) => {
      const h2 = np.tanh(np.matmul(h, p.W).add(x).add(p.b));
      return [h2, h2.mul(h2)];
    },
    np.zeros([2, 3]),
    xs,
  );
const loss = (p: { W: Tensor; b: Tensor }, xs: Tensor) => {
  const [h, ys] = rnn(p, xs);
  return np.sum(h).add(np.mean(ys));
};
const W = [0.5, -0.2, 0.1, 0.3, 0.8, -0.5, 0.2, 0.4, -0.7];
const XS = Array.from({ length: 40 * 6 }, (_, i) => Math.sin(i * 0.37));

async function on(backend: string, f: () => Tensor[]): Promise<Float32Array[]> {
  const prev = getBackend();
  setBackend(backend);
  try {
    const outs = f();
    return await Promise.all(outs.map(async (o) => new Float32Array(await o.data())));
  } finally {
    setBackend(prev);
  }
}
const args = () => ({
  p: {
    W: np.array(W, { dtype: "float32", shape: [3, 3] }),
    b: np.array([0.1, 0, -0.1], { dtype: "float32" }),
  },
  xs: np.array(XS, { dtype: "float32", shape: [40, 2, 3] }),
});

test(
  "webgpu: a jitted scan and its gradient match the cpu backend, in one submission",
  { skip },
  async () => {
    const run = () => {
      const { p, xs } = args();
      const [h, ys] = jit(rnn)(p, xs);
      const g = jit(grad(loss))(p, xs);
      return [h, ys, g.W, g.b];
    };
    const [want, got] = [await on("cpu", run), await on("webgpu", run)];
    want.forEach((w, i) => {
      const r = allCloseReport(got[i], w, { rtol: 1e-4, atol: 1e-5 });
      if (r !== null) assert.fail(`output ${i}: ${r}`);
    });
    const prev = getBackend();
    setBackend("webgpu");
    try {
      const { p, xs } = args();
      const f = jit(rnn);
      await f(p, xs)[0].data();
      const s0 = webgpuStats()!.submits;
      const [h] = f(p, xs);
      assert.equal(webgpuStats()!.submits - s0, 1, "one submit for 40 iterations");
      await h.data();
    } finally {
      setBackend(prev);
    }
  },
);

test("webgpu: cond on a device predicate selects on the device; whileLoop is a clear error", {
  skip,
}, async () => {
  const f = jit((p: Tensor, x: Tensor) =>
    lax.cond(p, (v: Tensor) => v.add(1), (v: Tensor) => np.sin(v), x)
  );
  const run = (flag: boolean) => () => [f(np.array(flag), np.array([1, 2], { dtype: "float32" }))];
  for (const flag of [true, false]) {
    const [want, got] = [await on("cpu", run(flag)), await on("webgpu", run(flag))];
    assert.equal(allCloseReport(got[0], want[0], { rtol: 1e-6, atol: 1e-6 }), null);
  }
  await assert.rejects(
    on("webgpu", () => [
      jit((x: Tensor) => lax.whileLoop((v: Tensor) => v.less(10), (v: Tensor) => v.mul(2), x))(
        np.array(1, { dtype: "float32" }),
      ),
    ]),
    /whileLoop: on a device backend \(webgpu\) the loop condition would have to be read back/,
  );
});
