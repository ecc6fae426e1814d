/**
 * exportOnnx: models of forward passes and whole training steps run in onnxruntime-node (a Node
 * subprocess, tests/_ort_run.mjs) with our results within 1e-4; primitives without an ONNX form
 * are errors naming them.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import process from "node:process";
import {
  exportOnnx,
  jit,
  lax,
  nn,
  np,
  optim,
  random,
  type Tensor,
  tree,
  valueAndGrad,
} from "../mod.ts";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, "examples", "_ort_run.mjs"))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}
const ROOT = repoRoot();
const ortAvailable = existsSync(join(ROOT, "node_modules", "onnxruntime-node"));

/** Runs `f` here and its ONNX export in onnxruntime; returns the largest relative difference. */
function compare(f: (...a: never[]) => unknown, ...args: unknown[]): number {
  const model = exportOnnx(f, ...args);
  const dir = mkdtempSync(join(tmpdir(), "tg-onnx-"));
  writeFileSync(join(dir, "m.onnx"), model);
  const leaves = tree.leaves(args).map((
    l,
  ) => (typeof l === "number" ? np.array(l, { dtype: "float32" }) : l as Tensor));
  const inputs = leaves.map((t) => ({
    dtype: t.dtype,
    shape: t.shape,
    data: Array.from(t.dataSync(), Number),
  }));
  writeFileSync(join(dir, "spec.json"), JSON.stringify({ model: join(dir, "m.onnx"), inputs }));
  const r = spawnSync("node", [join(ROOT, "examples", "_ort_run.mjs"), join(dir, "spec.json")], {
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout).outputs as { shape: number[]; data: number[] }[];
  const want = tree.leaves((f as (...a: unknown[]) => unknown)(...args)) as Tensor[];
  assert.equal(got.length, want.length, "output count");
  let worst = 0, where = "";
  want.forEach((w, i) => {
    assert.deepEqual(got[i].shape, w.shape, `output ${i} shape`);
    const wv = Array.from(w.dataSync(), Number);
    wv.forEach((v, j) => {
      const o = got[i].data[j] ?? NaN; // JSON writes NaN as null
      if (Number.isNaN(v) && Number.isNaN(o)) return;
      const err = Math.abs(v - o) / (1 + Math.abs(v));
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Infinity : err;
        where = `output ${i} [${j}]: ours ${v}, onnxruntime ${o}`;
      }
    });
  });
  if (worst >= 1e-4) console.error(`worst ${worst} at ${where}`);
  return worst;
}

/** The text of an exported model (its op types and attribute names appear verbatim). */
const ops = (f: (...a: never[]) => unknown, ...args: unknown[]): string =>
  new TextDecoder("latin1").decode(exportOnnx(f, ...args));

const rand = (shape: number[], seed: number) => random.normal(random.key(seed), shape);

describe("exportOnnx (onnxruntime-node)", {
  skip: !ortAvailable && "onnxruntime-node is not installed",
}, () => {
  test("elementwise, reductions, movement, dot and casts", () => {
    const f = (x: Tensor, y: Tensor) => {
      const a = np.tanh(x).mul(np.exp(y.mul(0.1))).add(np.sqrt(np.abs(x)));
      const b = np.where(np.greater(x, 0), np.log1p(np.abs(y)), np.expm1(x.mul(0.5)));
      const c = np.concatenate([np.transpose(a), np.flip(b, 0).T], 1);
      const s = [np.sum(c, { axis: 1 }), np.max(a, { axis: 0 }), np.min(b), np.mean(np.square(c))];
      const d = np.matmul(np.matmul(a, np.transpose(b)), a);
      const e = np.einsum("ij,kj->ik", a, b);
      return [
        ...s,
        d,
        e,
        np.argmax(a, { axis: 1 }),
        np.astype(np.greater(a, b), "float32"),
        nn.sigmoid(x).pow(2),
      ];
    };
    assert.ok(compare(f, rand([3, 4], 1), rand([3, 4], 2)) < 1e-4);
  });

  test("conv with every option: strides, padding (incl. negative), input and kernel dilation, groups, NHWC layout", () => {
    const x = rand([2, 4, 9, 8], 3), w = rand([6, 2, 3, 2], 4), wt = rand([4, 3, 2, 2], 5);
    const f = (x: Tensor, w: Tensor) => [
      lax.convGeneralDilated(x, w, [2, 1], [[1, 2], [-1, 1]], {
        rhsDilation: [1, 2],
        featureGroupCount: 2,
      }),
      lax.convGeneralDilated(x, w, [1, 1], [[1, 1], [0, 1]], {
        lhsDilation: [2, 1],
        featureGroupCount: 2,
      }),
      nn.convNd(x, w, { padding: "same", paddingMode: "reflect", groups: 2 }),
      nn.convTransposeNd(x, wt, { stride: 2, padding: 1, outputPadding: 1 }),
    ];
    assert.ok(compare(f, x, w) < 1e-4);
    const xh = rand([2, 7, 6, 3], 6), wh = rand([3, 3, 3, 5], 7);
    const g = (x: Tensor, w: Tensor) =>
      lax.convGeneralDilated(x, w, [1, 2], "VALID", { dimensionNumbers: ["NHWC", "HWIO", "NHWC"] });
    assert.ok(compare(g, xh, wh) < 1e-4);
    assert.ok(compare((x: Tensor) => nn.convNd(x, np.ones([2, 1, 3])), rand([1, 1, 10], 8)) < 1e-4);
  });

  test("pooling and the gradients of max pooling", () => {
    const x = rand([2, 3, 8, 8], 9);
    const f = (x: Tensor) => [
      nn.maxPool(x, { window: 3, stride: 2, padding: 1 }),
      nn.avgPool(x, { window: 2 }),
      np.negative(nn.maxPool(np.negative(x), { window: 2 })),
    ];
    assert.ok(compare(f, x) < 1e-4);
    const loss = (x: Tensor) => np.sum(np.square(nn.maxPool(x, { window: 2 })));
    assert.ok(compare(valueAndGrad(loss), x) < 1e-4);
  });

  test("optimizer updates: chain(clip, adamw), sgd with momentum, rmsprop", () => {
    const p = [rand([3, 4], 20), rand([5], 21)], gr = [rand([3, 4], 22).mul(3), rand([5], 23)];
    for (
      const opt of [
        optim.chain(optim.clipByGlobalNorm(1), optim.adamw({ learningRate: 0.01 })),
        optim.sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true }),
        optim.rmsprop({ learningRate: 0.01, centered: true }),
      ]
    ) {
      const o = opt.init(p);
      const upd = (p: Tensor[], g: Tensor[], o: unknown[]) => {
        const [u, o2] = opt.update(g, o, p);
        return [optim.applyUpdates(p, u), o2];
      };
      assert.ok(compare(upd, p, gr, o) < 1e-4);
    }
  });

  test("gather as GatherND: np.take, x[idx], takeAlongAxis, lax.gather with batching dims, fill mode; scatterAdd as ScatterND", () => {
    const x = rand([5, 4, 3], 30);
    const idx = np.array([[4, 0], [2, 2], [-1, 3]], { dtype: "int32" });
    const order = np.argsort(x, { axis: 2 }); // (sort has no ONNX form: an input here)
    const f = (x: Tensor, i: Tensor, order: Tensor) => [
      np.take(x, i, { axis: 1 }), // [5, 3, 2, 3]
      np.take(x, i), // flat: embedding-like lookup of rows
      x.slice(i, ":", 1), // x[idx, :, 1]
      x.slice(":", i.slice(":", 0), "1:3"), // x[:, idx[:, 0], 1:3]
      np.takeAlongAxis(x, order, 2),
      x.at(i.slice(":", 0)).get({ mode: "fill", fillValue: -7 }), // -1 and 4 wrap/clip
      x.at(np.array([7, -9, 2], { dtype: "int32" })).get({ mode: "fill" }), // NaN-filled rows
    ];
    assert.ok(compare(f, x, idx, order) < 1e-4);
    assert.ok(ops(f, x, idx, order).includes("GatherND"));
    // operand batching dims (as vmap of a gather over both operand and indices makes them)
    const xb = rand([3, 5, 4], 31),
      ib = np.array([[[1], [4]], [[0], [0]], [[3], [2]]], {
        dtype: "int32",
      });
    const batched = (x: Tensor, i: Tensor) =>
      lax.gather(x, i, {
        offsetDims: [2],
        collapsedSliceDims: [1],
        startIndexMap: [1],
        operandBatchingDims: [0],
        startIndicesBatchingDims: [0],
      }, [1, 1, 4]);
    assert.ok(compare(batched, xb, ib) < 1e-4);
    // scatterAdd directly (repeated indices accumulate; clip mode) and as gather's gradient
    const u = rand([3, 4, 3], 32), v = rand([5, 3], 33);
    const sa = (x: Tensor, i: Tensor, u: Tensor, v: Tensor) => [
      x.at(i.slice(":", 1)).add(u),
      x.at(":", i.slice(":", 0), 2).add(v), // indices 4, 2, -1 -> 4: the repeat accumulates
    ];
    assert.ok(compare(sa, x, idx, u, v) < 1e-4);
    assert.ok(ops(sa, x, idx, u, v).includes("ScatterND"));
    const loss = (x: Tensor) => np.sum(np.square(np.take(x, idx, { axis: 1 })).mul(np.arange(3)));
    assert.ok(compare(valueAndGrad(loss), x) < 1e-4);
  });

  test("a training step of an embedding model (gather forward, scatterAdd in the gradient)", () => {
    const L = nn.layers;
    const net = L.sequential(L.embedding(11, 6), L.flatten(), L.dense(3));
    const tokens = np.array([[1, 5, 10], [0, 5, 5]], { dtype: "int32" }), y = np.array([2, 0]);
    const params = net.init(random.key(2), tokens.shape);
    const opt = optim.adam({ learningRate: 0.05 });
    const step = (p: unknown[], o: unknown[], x: Tensor, y: Tensor) => {
      const [l, g] = valueAndGrad((p: unknown[]) =>
        np.mean(nn.losses.sparseSoftmaxCrossEntropy(net.apply(p, x) as Tensor, y))
      )(p);
      const [u, o2] = opt.update(g, o, p);
      return [l, optim.applyUpdates(p, u), o2];
    };
    const err = compare(step, params, opt.init(params), tokens, y);
    assert.ok(err < 1e-4, `embedding training step error ${err}`);
  });

  test("a whole training step (valueAndGrad + chain(clip, adamw)) of a layers CNN with batch norm", () => {
    const L = nn.layers;
    const net = L.sequential(
      L.conv(4, 3, { padding: 1, useBias: false }), // a bias before batch norm gets a ~0 gradient that Adam would amplify
      L.batchNorm(),
      L.relu(),
      L.maxPool({ window: 2 }),
      L.flatten(),
      L.dense(3),
    );
    const shape = [4, 1, 6, 6];
    const params = net.init(random.key(1), shape), state = net.initState(shape);
    const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adamw({ learningRate: 0.01 }));
    const ostate = opt.init(params);
    const x = rand(shape, 11), y = np.array([0, 1, 2, 1]);
    const step = jit((p: unknown[], s: unknown[], o: unknown[], x: Tensor, y: Tensor) => {
      const lossFn = (p: unknown[]) => {
        const [logits, s2] = net.apply(p, x, { state: s, train: true });
        return [np.mean(nn.losses.sparseSoftmaxCrossEntropy(logits, y)), s2] as const;
      };
      const [[l, s2], g] = valueAndGrad(lossFn, { hasAux: true })(p);
      const [u, o2] = opt.update(g, o, p);
      return [l, optim.applyUpdates(p, u), s2, o2];
    });
    const gradOnly = (p: unknown[], x: Tensor, y: Tensor) =>
      valueAndGrad((p: unknown[]) =>
        np.mean(nn.losses.sparseSoftmaxCrossEntropy(net.apply(p, x, { state, train: true })[0], y))
      )(p);
    assert.ok(compare(gradOnly, params, x, y) < 1e-4, "gradients");
    const forward = (p: unknown[], x: Tensor) => net.apply(p, x, { state })[0];
    assert.ok(compare(forward, params, x) < 1e-4);
    const err = compare(step, params, state, ostate, x, y);
    assert.ok(err < 1e-4, `training step error ${err}`);
  });
});

describe("exportOnnx errors", () => {
  test("a primitive without an ONNX form is a TypeError naming it", () => {
    assert.throws(
      () => exportOnnx((k: Tensor) => random.normal(k, [2]), random.key(0)),
      /primitive random has no ONNX form/,
    );
    const cumsum = (xs: Tensor) =>
      lax.scan((c: Tensor, x: Tensor) => [c.add(x), c], np.zeros([]), xs);
    assert.throws(() => exportOnnx(cumsum, np.ones([3])), /primitive scan has no ONNX form/);
    const window = (x: Tensor, i: Tensor) =>
      lax.gather(x, i, { offsetDims: [0, 1], collapsedSliceDims: [], startIndexMap: [0] }, [2, 3]);
    assert.throws(
      () => exportOnnx(window, np.ones([4, 3]), np.array([1], { dtype: "int32" })),
      /gather with slice sizes \[2,3\] has no ONNX form/,
    );
  });
});
