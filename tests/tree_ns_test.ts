/**
 * The public `tree` namespace and registerNode: registered classes flatten, rebuild and pass
 * through grad, valueAndGrad, jit, vmap, jvp, vjp, optim and io.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { grad, jit, jvp, np, optim, type Tensor, tree, vjp, vmap } from "../mod.ts";

class Linear {
  constructor(readonly w: Tensor, readonly b: Tensor, readonly name: string) {}
  apply(x: Tensor): Tensor {
    return np.add(np.matmul(x, this.w), this.b);
  }
}
tree.registerNode(
  Linear,
  (l) => [[l.w, l.b], l.name],
  (name, [w, b]) => new Linear(w as Tensor, b as Tensor, name as string),
);

const vals = (t: Tensor) => Array.from(t.dataSync(), Number);
const lin = () =>
  new Linear(
    np.array([[1, 2], [3, 4]], { dtype: "float32" }),
    np.array([0.5, -1], { dtype: "float32" }),
    "l1",
  );

describe("tree", () => {
  test("map / leaves / flatten / unflatten / structure over plain trees and registered classes", () => {
    const t = { z: [1, 2], a: { k: 3 }, n: null };
    assert.deepEqual(tree.leaves(t), [3, 1, 2]);
    assert.deepEqual(tree.map((x) => Number(x) * 2, t), { a: { k: 6 }, n: null, z: [2, 4] });
    const [ls, def] = tree.flatten(t);
    assert.deepEqual(tree.unflatten(def, ls), { a: { k: 3 }, n: null, z: [1, 2] });
    const l = lin();
    assert.equal(String(tree.structure([l])), '[Linear("l1")[*, *]]');
    const doubled = tree.map((x) => np.multiply(x as Tensor, 2), l) as Linear;
    assert.ok(doubled instanceof Linear && doubled.name === "l1");
    assert.deepEqual(vals(doubled.b), [1, -2]);
    const other = new Linear(l.w, l.b, "l2");
    assert.ok(
      !tree.equalStructure(tree.structure(l), tree.structure(other)),
      "aux data is part of the structure",
    );
    assert.throws(() => tree.map((a) => a, l, other), /structure/);
    assert.throws(() => tree.flatten(new Map()), /unsupported Map at tree/);
  });

  test("registered classes pass through grad, jit, vmap, jvp, vjp and optim", () => {
    const x = np.array([[1, 1], [2, 0]], { dtype: "float32" });
    const loss = (m: Linear) => np.sum(np.square(m.apply(x)));
    const g = grad(loss)(lin());
    assert.ok(g instanceof Linear && g.name === "l1");
    const y = lin().apply(x);
    assert.deepEqual(vals(g.b), vals(np.sum(np.multiply(y, 2), { axis: 0 })));
    let traces = 0;
    const f = jit((m: Linear) => {
      traces++;
      return new Linear(m.w.mul(2), m.b, m.name);
    });
    f(lin());
    const out = f(lin());
    assert.equal(traces, 1);
    assert.ok(out instanceof Linear);
    assert.deepEqual(vals(out.w), [2, 4, 6, 8]);
    const batched = vmap((m: Linear) => m.apply(np.ones([2])))(
      new Linear(np.ones([3, 2, 2]), np.zeros([3, 2]), "b"),
    );
    assert.deepEqual(batched.shape, [3, 2]);
    const [, tan] = jvp(loss, [lin()], [new Linear(np.zeros([2, 2]), np.ones([2]), "l1")]);
    assert.ok(Math.abs(Number(tan.item()) - vals(g.b).reduce((a, b) => a + b)) < 1e-4);
    const [, pull] = vjp(loss, lin());
    assert.ok(pull(np.array(1, { dtype: "float32" }))[0] instanceof Linear);
    const opt = optim.adam({ learningRate: 0.1 });
    const p = lin();
    const [u] = opt.update(g, opt.init(p), p);
    assert.ok(optim.applyUpdates(p, u) instanceof Linear);
  });
});
