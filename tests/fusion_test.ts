/**
 * Fusion on the cpu backend: kernel counts of jitted programs (elementwise chains become one
 * kernel, reductions absorb their producers, convolutions absorb bias + activation) and equality
 * of the fused results with the reference backend.
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { getBackend, grad, jit, lax, nn, np, random, setBackend, type Tensor } from "../mod.ts";
import { assertAllClose } from "./_test_utils.ts";
import { lowerJaxpr } from "../lib/compile/lower.ts";

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

async function onBoth(f: (...a: Tensor[]) => Tensor | Tensor[], ...args: Tensor[]): Promise<void> {
  const prev = getBackend();
  try {
    setBackend("reference");
    const want = [f(...args)].flat();
    setBackend("cpu");
    const got = [f(...args)].flat();
    for (const [i, g] of got.entries()) {
      await assertAllClose(g, want[i].dataSync(), { rtol: 2e-5, atol: 2e-5 });
    }
  } finally {
    setBackend(prev);
  }
}

const x = random.normal(random.key(0), [2, 3, 8, 8]);
const w = random.normal(random.key(1), [4, 3, 3, 3]);
const b = random.normal(random.key(2), [4]);
const conv = (x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "SAME");

test("fusion: an elementwise chain is one kernel", async () => {
  const f = jit((a: Tensor) => np.tanh(np.exp(a).mul(2).add(1)).sub(a));
  assert.equal(kernels(f, x), 1);
  await onBoth(f, x);
});

test("fusion: a reduction absorbs its elementwise producers", async () => {
  const f = jit((a: Tensor) => np.sum(np.square(np.sin(a)), { axis: [1, 2] }));
  assert.equal(kernels(f, x), 1);
  await onBoth(f, x);
});

test("fusion: relu(conv(x, w) + b) is one kernel", async () => {
  const f = jit((a: Tensor, k: Tensor, c: Tensor) =>
    nn.relu(conv(a, k).add(c.reshape([1, 4, 1, 1])))
  );
  assert.equal(kernels(f, x, w, b), 1);
  await onBoth(f, x, w, b);
});

test("fusion: the training step of sum(relu(conv + b)) stays small and matches the reference", async () => {
  const loss = (a: Tensor, k: Tensor, c: Tensor) =>
    np.sum(nn.relu(conv(a, k).add(c.reshape([1, 4, 1, 1]))));
  const step = jit(grad(loss, { argnums: [0, 1, 2] }));
  assert.ok(kernels(step, x, w, b) <= 6, `kernels: ${kernels(step, x, w, b)}`);
  await onBoth((a, k, c) => step(a, k, c), x, w, b);
});

test("fusion: pad, slice, transpose and concatenate fuse as index maps", async () => {
  const f = jit((a: Tensor) =>
    np.concatenate([np.pad(a, 1), np.flip(np.pad(a, 1), 3)], 1).transpose([0, 2, 3, 1]).slice(
      ":",
      "::2",
    )
  );
  assert.equal(kernels(f, x), 1);
  await onBoth(f, x);
});

test("fusion: max pooling is one window step, its gradient one selectAndScatterAdd step", async () => {
  const f = jit((a: Tensor) => nn.maxPool(nn.relu(a), { window: 2 }));
  assert.equal(kernels(f, x), 2); // relu, reduceWindowMax
  await onBoth(f, x);
  const loss = (a: Tensor) =>
    np.sum(np.square(nn.maxPool(a, { window: 3, stride: 2, padding: 1 })));
  const step = jit(grad(loss));
  // reduceWindowMax, the cotangent 2 * y, selectAndScatterAdd
  assert.equal(kernels(step, x), 3);
  await onBoth(step, x);
});

test("buffer planning: intermediates with disjoint lifetimes share a kept buffer", async () => {
  const m = random.normal(random.key(2), [16, 16]);
  // a, b, c are op steps (matmuls) of one size: a dies when b is made, so c takes a's buffer
  const f = jit((x: Tensor) => {
    const a = np.matmul(x, x);
    const b = np.matmul(a, x);
    const c = np.matmul(b, x);
    return np.sum(np.matmul(c, x));
  });
  const plan = lowerJaxpr(f.lower(m).jaxpr);
  const owner = plan.steps.map((s) => (s.kind === "op" ? s.outs[0] : s.out));
  const [a, b, c] = owner;
  assert.equal(plan.slots[a], plan.slots[c], "a and c share a slot");
  assert.notEqual(plan.slots[a], plan.slots[b], "a and b are alive together");
  for (const o of plan.outputs) assert.equal(plan.slots[o], -1, "outputs are never kept");
  for (let i = 0; i < 3; i++) await onBoth(f, m); // repeated calls reuse the shared buffers
});
