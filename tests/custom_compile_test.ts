/**
 * customJvp / customVjp keep their traced functions, so the compiler inlines them like a nested
 * jit: a jitted program around them fuses into as few kernels as without them, matches eager
 * evaluation, and their derivative rules still apply (grad of jit, jit of grad, vmap).
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  customJvp,
  customVjp,
  getBackend,
  grad,
  jit,
  np,
  setBackend,
  type Tensor,
  vmap,
} from "../mod.ts";

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

const close = (got: Tensor, want: Tensor | number[], tol = 1e-6) => {
  const w = Array.isArray(want) ? want : [...want.dataSync()];
  const g = [...got.dataSync()];
  assert.equal(g.length, w.length);
  g.forEach((v, i) =>
    assert.ok(Math.abs(v - w[i]) <= tol * (1 + Math.abs(w[i])), `${i}: ${v} vs ${w[i]}`)
  );
};

/** softplus with a stable derivative: the jvp rule uses sigmoid, not the autodiff of log1p(exp). */
const softplus = customJvp((x: Tensor) => np.log1p(np.exp(x)), {
  jvp: ([x]: Tensor[], [dx]: Tensor[]) => [np.log1p(np.exp(x)), dx.mul(np.sigmoid(x).mul(2))],
});
/** Identity forward, gradient clipped to [-1, 1] backward. */
const clipGrad = customVjp((x: Tensor) => x, {
  fwd: (x: Tensor) => [x, null],
  bwd: (_res: unknown, ct: Tensor) => [np.clip(ct, -1, 1)],
});

const x = np.array([-2, -0.5, 0, 0.75, 3], { dtype: "float32" });

describe("customJvp / customVjp under jit", () => {
  test("a jitted elementwise chain around customJvp is one kernel and matches eager", () => {
    const f = (t: Tensor) => softplus(t.mul(2)).add(1);
    const jf = jit(f);
    assert.equal(kernels(jf, x), 1);
    close(jf(x), f(x));
  });

  test("a jitted elementwise chain around customVjp is one kernel and matches eager", () => {
    const f = (t: Tensor) => np.sin(clipGrad(t.mul(3)));
    const jf = jit(f);
    assert.equal(kernels(jf, x), 1);
    close(jf(x), f(x));
  });

  test("constants the function closes over become inputs of the fused program", () => {
    const w = np.array([1, 2, 3, 4, 5], { dtype: "float32" });
    const scaled = customJvp((t: Tensor) => t.mul(w), {
      jvp: ([t]: Tensor[], [dt]: Tensor[]) => [t.mul(w), dt.mul(w)],
    });
    const jf = jit((t: Tensor) => scaled(t).add(1));
    assert.equal(kernels(jf, x), 1);
    close(jf(x), [-1, 0, 1, 4, 16]);
    close(grad((t: Tensor) => np.sum(jf(t)))(x), [1, 2, 3, 4, 5]);
  });

  test("the custom rules still apply: grad of jit, jit of grad, vmap of jit", () => {
    const sig = (t: Tensor) => [...np.sigmoid(t).dataSync()];
    const f = (t: Tensor) => np.sum(softplus(t));
    const want = sig(x).map((v) => 2 * v); // the rule's doubled derivative, not autodiff's
    close(grad(jit(f))(x), want);
    close(jit(grad(f))(x), want);
    const g = (t: Tensor) => np.sum(clipGrad(t).mul(5));
    close(grad(jit(g))(x), [1, 1, 1, 1, 1]);
    close(jit(grad(g))(x), [1, 1, 1, 1, 1]);
    const batch = np.stack([x, x.mul(-1)]);
    close(vmap(jit(softplus))(batch), np.stack([softplus(x), softplus(x.mul(-1))]));
    close(vmap(grad(f))(batch), np.stack([grad(f)(x), grad(f)(x.mul(-1))]));
  });
});
