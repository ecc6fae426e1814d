/**
 * Transforms on the WebGPU backend against the reference backend (float32): grad, valueAndGrad
 * with aux, jit of grad, vmap of grad (per-example gradients), jvp, vjp, linearize, jacfwd,
 * jacrev, hessian, grad of grad, customJvp and stopGradient, over convolutions, pooling, matmul
 * and elementwise math. Skipped where the runtime has no WebGPU (Bun; Node without the npm
 * `webgpu` package).
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  customJvp,
  getBackend,
  grad,
  hessian,
  jacfwd,
  jacrev,
  jit,
  jvp,
  lax,
  linearize,
  nn,
  np,
  random,
  setBackend,
  stopGradient,
  Tensor,
  valueAndGrad,
  vjp,
  vmap,
} from "../mod.ts";
import { treeLeaves } from "../lib/tree.ts";
import { allCloseReport } from "./_test_utils.ts";
import { webgpuReady } from "./_webgpu_env.ts";

const READY = await webgpuReady();
const skip = READY ? false : "WebGPU is not available in this runtime";

/** Inputs are made on the reference backend and copied to the backend under test. */
function inputs(seed: number, shapes: number[][]): Float32Array[] {
  const prev = getBackend();
  setBackend("reference");
  try {
    return shapes.map((s, i) => random.normal(random.key(seed + i), s).dataSync() as Float32Array);
  } finally {
    setBackend(prev);
  }
}

/** Runs `f` on fresh arrays of `shapes` on `backend`; returns every output leaf's values. */
async function runOn(
  backend: string,
  f: (...xs: Tensor[]) => unknown,
  data: Float32Array[],
  shapes: number[][],
): Promise<{ shape: number[]; values: Float32Array }[]> {
  const prev = getBackend();
  setBackend(backend);
  try {
    const xs = data.map((d, i) => np.array(d, { dtype: "float32", shape: shapes[i] }));
    const leaves = treeLeaves(f(...xs), (v): v is Tensor => v instanceof Tensor, {
      scalarsAreLeaves: false,
    });
    const values = await Promise.all(leaves.map((t) => t.data())); // one sync for all
    return leaves.map((t, i) => ({ shape: t.shape, values: values[i] as Float32Array }));
  } finally {
    setBackend(prev);
  }
}

const TOL = { rtol: 1e-4, atol: 1e-5 };

function check(name: string, shapes: number[][], f: (...xs: Tensor[]) => unknown): void {
  test(`webgpu transforms: ${name}`, { skip }, async () => {
    const data = inputs(shapes.length * 17 + name.length, shapes);
    const want = await runOn("reference", f, data, shapes);
    const got = await runOn("webgpu", f, data, shapes);
    assert.equal(got.length, want.length, "number of outputs");
    for (const [k, g] of got.entries()) {
      assert.deepEqual(g.shape, want[k].shape, `output ${k}: shape`);
      const scale = Math.max(1, ...Array.from(want[k].values, Math.abs));
      const report = allCloseReport(g.values, want[k].values, {
        rtol: TOL.rtol,
        atol: TOL.atol * scale,
      });
      assert.equal(report, null, `output ${k}: ${report}`);
    }
  });
}

const conv = (x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "SAME");
const convNet = (w: Tensor, b: Tensor, x: Tensor) =>
  np.sum(np.square(nn.maxPool(nn.relu(conv(x, w).add(b.reshape([1, 4, 1, 1]))), { window: 2 })));

check(
  "grad through conv + bias + relu + maxPool",
  [[4, 3, 3, 3], [4], [2, 3, 8, 8]],
  (w, b, x) => grad(convNet, { argnums: [0, 1, 2] })(w, b, x),
);
check(
  "jit(grad(...)) equals eager",
  [[4, 3, 3, 3], [4], [2, 3, 8, 8]],
  (w, b, x) => jit(grad(convNet, { argnums: [0, 1] }))(w, b, x),
);
check("valueAndGrad with hasAux", [[5, 3], [3]], (a, v) =>
  valueAndGrad((m: Tensor, u: Tensor) => {
    const y = np.tanh(np.matmul(m, u));
    return [np.sum(np.square(y)), y];
  }, { hasAux: true })(a, v));
check(
  "vmap(grad) per-example gradients vs the batch",
  [[6, 4], [4, 3]],
  (xs, w) =>
    vmap(grad((x: Tensor, m: Tensor) => np.sum(np.sin(np.matmul(x, m))), { argnums: 1 }), {
      inAxes: [0, null],
    })(xs, w),
);
check(
  "jit(vmap(f)) with an unbatched argument",
  [[5, 2, 6, 6], [3, 2, 3, 3]],
  (xs, w) =>
    jit(vmap((x: Tensor, k: Tensor) => conv(x.reshape([1, 2, 6, 6]), k), { inAxes: [0, null] }))(
      xs,
      w,
    ),
);
check("jvp of a convolution in both arguments", [[2, 3, 7, 7], [4, 3, 3, 3], [2, 3, 7, 7], [
  4,
  3,
  3,
  3,
]], (x, w, dx, dw) => jvp(conv, [x, w], [dx, dw]));
check("vjp of a strided, dilated convolution", [[2, 3, 9, 9], [4, 3, 3, 3], [2, 4, 3, 3]], (
  x,
  w,
  ct,
) => {
  const f = (a: Tensor, k: Tensor) =>
    lax.convGeneralDilated(a, k, [2, 2], "VALID", { rhsDilation: [2, 2] });
  const [, back] = vjp(f, x, w);
  return back(ct);
});
check("linearize: the linear map at two tangents", [[3, 4], [3, 4], [3, 4]], (x, t1, t2) => {
  const [y, lin] = linearize((a: Tensor) => np.exp(np.sin(a)).mul(a), x);
  return [y, lin(t1), lin(t2)];
});
check("jacfwd and jacrev agree", [[3], [4, 3]], (x, m) => {
  const f = (v: Tensor) => np.tanh(np.matmul(m, v));
  return [jacfwd(f)(x), jacrev(f)(x)];
});
check(
  "hessian of a small function",
  [[4]],
  (x) => hessian((v: Tensor) => np.sum(np.sin(v).mul(np.square(v))))(x),
);
check(
  "grad of grad (elementwise)",
  [[6]],
  (x) => vmap(grad(grad((v: Tensor) => np.sin(v).mul(np.exp(v.mul(0.3))))))(x),
);
check("customJvp and stopGradient", [[5]], (x) => {
  const softplus = customJvp((v: Tensor) => np.log1p(np.exp(v)), {
    jvp: ([v]: Tensor[], [dv]: Tensor[]) => [np.log1p(np.exp(v)), dv.mul(np.sigmoid(v))],
  });
  return grad((v: Tensor) => np.sum(softplus(v).mul(stopGradient(v))))(x);
});
