/**
 * checkpoint / remat: same values and derivatives as the plain function (checkGrads, second
 * order, vmap, jit), and the policy decides what is saved: nothingSaveable stores no
 * intermediate (the backward pass recomputes them), dotsSaveable stores only the products.
 * @module
 */
import "./_backend.ts"; // TRACEGRAD_TEST_BACKEND selects the backend the checks run on
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  checkGrads,
  checkpoint,
  checkpointPolicies,
  grad,
  type Jaxpr,
  jit,
  lax,
  makeJaxpr,
  np,
  remat,
  type Tensor,
  valueAndGrad,
  vmap,
} from "../mod.ts";
import { allCloseReport } from "./_test_utils.ts";

// deno-lint-ignore no-explicit-any
type Any = any;
const f64 = (v: Any, shape?: number[]): Tensor => np.array(v, { dtype: "float64", shape });
function close(got: Tensor, want: Tensor, tol = { rtol: 1e-12, atol: 1e-14 }): void {
  assert.deepEqual(got.shape, want.shape);
  const r = allCloseReport(got.dataSync(), want.dataSync(), tol);
  if (r !== null) assert.fail(r);
}
const W1 = f64([[0.5, -0.2, 0.1], [0.3, 0.8, -0.5]]);
const W2 = f64([[0.2, 0.4], [-0.7, 0.1], [0.6, 0.3]]);
/** Two dense tanh layers. */
const mlp = (x: Tensor) => np.sum(np.tanh(np.matmul(np.sin(np.matmul(x, W1)), W2)));
const X = f64([[0.1, -0.4], [0.7, 0.2]]);

/** Names of the primitives in a jaxpr and its sub-jaxprs. */
function prims(j: Jaxpr): string[] {
  return j.eqns.flatMap((e) => [
    e.op.name,
    ...Object.values(e.params as Record<string, unknown>).flatMap((v) =>
      v && typeof v === "object" && "eqns" in v ? prims(v as Jaxpr) : []
    ),
  ]);
}
/** The `checkpoint` equation of a gradient's program: how many values its forward pass saves. */
function savedBy(f: (x: Tensor) => Tensor, x: Tensor): { saved: number; j: Jaxpr } {
  const j = makeJaxpr(valueAndGrad(f))(x);
  const e = j.eqns.find((e) => e.op.name === "checkpoint");
  assert.ok(e, "the gradient program has a checkpoint equation");
  return { saved: e!.outs.length - 1, j };
}

describe("checkpoint", () => {
  test("values and derivatives are those of the function (order 2, jit, vmap)", () => {
    for (const policy of ["nothingSaveable", "dotsSaveable", "everythingSaveable"] as const) {
      const c = checkpoint(mlp, { policy });
      close(c(X), mlp(X));
      close(grad(c)(X), grad(mlp)(X));
      close(jit(grad(c))(X), grad(mlp)(X));
      checkGrads(c, [X], { order: 2 });
      const xs = f64([[[0.1, 0.2], [0.3, 0.4]], [[-0.5, 0.6], [0.7, -0.8]]]);
      close(vmap(grad(c))(xs), vmap(grad(mlp))(xs));
    }
    const tree = remat((p: Any) => np.sum(np.sin(p.a).mul(p.b[0])));
    const g = grad(tree)({ a: f64([1, 2]), b: [f64([3, 4])] });
    close(g.a, np.cos(f64([1, 2])).mul(f64([3, 4])));
  });

  test("nothingSaveable saves no intermediate: the backward pass recomputes them", () => {
    const { saved, j } = savedBy(checkpoint(mlp), X);
    assert.equal(saved, 0);
    // the transposed tangent program recomputes sin and both products from the input
    const back = j.eqns.filter((e) => e.op.name === "jit").flatMap((e) =>
      prims((e.params as { jaxpr: Jaxpr }).jaxpr)
    );
    assert.ok(back.includes("sin") && back.includes("tanh"), back.join(","));
  });

  test("dotsSaveable saves exactly the two products; everythingSaveable more", () => {
    const dots = savedBy(checkpoint(mlp, { policy: checkpointPolicies.dotsSaveable }), X);
    assert.equal(dots.saved, 2);
    const all = savedBy(checkpoint(mlp, { policy: "everythingSaveable" }), X);
    assert.ok(all.saved > 2, `everythingSaveable saved ${all.saved}`);
    const custom = savedBy(checkpoint(mlp, { policy: (p: string) => p === "sin" }), X);
    assert.equal(custom.saved, 1);
  });

  test("inside a scan: a rematerialized RNN step has the plain gradient", () => {
    const W = f64([[0.5, -0.3], [0.2, 0.9]]);
    const step = (h: Tensor, x: Tensor) => np.tanh(np.matmul(h, W).add(x));
    const run = (s: typeof step) => (xs: Tensor) =>
      np.sum(lax.scan((h: Tensor, x: Tensor) => [s(h, x), h], f64([0, 0]), xs)[0]);
    const xs = f64([[0.1, 0.2], [0.3, -0.1], [0.5, 0.4]]);
    close(grad(run(checkpoint(step)))(xs), grad(run(step))(xs));
  });

  test("errors", () => {
    assert.throws(
      () => checkpoint(mlp, { polcy: "x" } as Any),
      /checkpoint: unknown option "polcy"/,
    );
    assert.throws(
      () => checkpoint(mlp, { policy: "dots" as Any }),
      /checkpoint: policy must be a function or one of nothingSaveable/,
    );
  });
});
