/**
 * Gather fused by the compiler: its starts are data-dependent loads of the kernel IR, so a gather
 * reads its operand through fused producers and its consumers fuse after it. Kernel counts of
 * jitted programs, and values against the reference backend on the cpu and WebGPU backends.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, jit, np, setBackend, type Tensor, valueAndGrad, vmap } from "../mod.ts";
import { assertAllClose } from "./_test_utils.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();

function kernels(f: ReturnType<typeof jit>, ...args: unknown[]): number {
  const prev = getBackend();
  setBackend("cpu");
  try {
    const m = /^program: (\d+) kernel/.exec(f.lower(...args).asText());
    assert.ok(m, "lower().asText() starts with the kernel count");
    return Number(m[1]);
  } finally {
    setBackend(prev);
  }
}

const x = np.array(Float32Array.from({ length: 35 }, (_, i) => Math.sin(i) * 2), { shape: [5, 7] });
const wide = np.array(Float32Array.from({ length: 240 }, (_, i) => Math.cos(i)), {
  shape: [6, 40],
});
// out-of-range and negative indices (take wraps negatives, then clip / fill applies)
const idx = np.array([[3, -1, 9], [0, 6, -12]], { dtype: "int32" });

test("np.take(exp(x), idx) * 2 is one kernel; a row take feeding a sum is one reduction", () => {
  const f = jit((a: Tensor, i: Tensor) => np.take(np.exp(a), i).mul(2));
  assert.equal(kernels(f, x, idx), 1);
  const g = jit((e: Tensor, i: Tensor, c: Tensor) => np.sum(np.take(e, i, { axis: 0 }).mul(c)));
  const rows = np.array([4, 0, 0, 2], { dtype: "int32" });
  assert.equal(kernels(g, x, rows, np.ones([4, 7])), 1);
  const h = jit((a: Tensor, i: Tensor) => a.slice(i.add(1), "::2").sum({ axis: 1 }));
  assert.equal(kernels(h, x, idx), 1);
  // the cpu backend copies long rows as blocks (an op step) instead of fusing them
  const text = g.lower(wide, rows, np.ones([4, 40])).asText();
  assert.match(text, /^program: 3 kernel\(s\)/); // negative-index wrap, gather, sum
  assert.match(text, / gather: /);
});

/** Gathers through fused producers and into fused consumers, in every mode and layout. */
const CASES: [string, (...a: Tensor[]) => Tensor | Tensor[], Tensor[]][] = [
  ["take clip", (a, i) => np.take(np.exp(a), i, { mode: "clip" }).mul(2), [x, idx]],
  ["take fill", (a, i) => np.take(a.add(1), i, { axis: 1, mode: "fill", fillValue: -3 }), [x, idx]],
  ["take fill NaN", (a, i) => np.take(a, i, { axis: 0, mode: "fill" }).sum({ axis: 0 }), [x, idx]],
  ["two index arrays", (a, i) => a.mul(a).slice(i.abs(), i.add(2)).neg(), [x, idx]],
  ["index arrays are computed", (a) => a.slice(np.argmax(a, { axis: 1 })).sum({ axis: 1 }), [x]],
  ["int32 operand", (a, i) => np.take(a.mul(10).astype("int32"), i).add(1), [x, idx]],
  ["bool operand", (a, i) => np.take(np.greater(a, 0), i, { axis: 1, mode: "fill" }), [x, idx]],
  ["takeAlongAxis", (a) => np.takeAlongAxis(a, np.argsort(a, { axis: 1 }), 1).mul(3), [x]],
  [
    "vmap (batching axes)",
    (a, i) => vmap((r: Tensor, j: Tensor) => r.slice(j))(a.slice("0:2"), i),
    [
      x,
      idx,
    ],
  ],
  ["long rows", (e, i) => np.take(e, i, { axis: 0, mode: "clip" }).mul(2), [wide, idx]],
  ["long rows fill", (e, i) => np.take(e, i, { axis: 0 }).sum({ axis: 2 }), [wide, idx]],
  ["W7 value and gradient", (e, i) => {
    const c = np.arange(42).reshape([6, 7]).astype("float32");
    const [v, g] = valueAndGrad((t: Tensor) =>
      np.sum(np.take(t, i.reshape([6]), { axis: 0 }).mul(c))
    )(e);
    return [v, g];
  }, [x, np.array([[4, 0, 4], [1, 9, 2]], { dtype: "int32" })]],
];

const BACKENDS = ["cpu", ...(READY ? ["webgpu"] : [])];
for (const b of BACKENDS) {
  for (const [name, f, args] of CASES) {
    test(`${b}: ${name} (jit and eager) matches the reference`, async () => {
      const prev = getBackend();
      try {
        setBackend("reference");
        const want = [f(...args)].flat().map((t) => t.dataSync());
        setBackend(b);
        for (const run of [jit(f), f]) {
          const got = [run(...args)].flat();
          for (const [k, g] of got.entries()) {
            await assertAllClose(g, want[k], { rtol: 2e-5, atol: 2e-5 });
          }
        }
      } finally {
        setBackend(prev);
      }
    });
  }
}
