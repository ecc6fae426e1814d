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
    if (existsSync(join(dir, "tests", "_ort_run.mjs"))) return dir;
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
  const r = spawnSync("node", [join(ROOT, "tests", "_ort_run.mjs"), join(dir, "spec.json")], {
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
      const err = Math.abs(v - got[i].data[j]) / (1 + Math.abs(v));
      if (!(err <= worst)) {
        worst = Number.isNaN(err) ? Infinity : err;
        where = `output ${i} [${j}]: ours ${v}, onnxruntime ${got[i].data[j]}`;
      }
    });
  });
  if (worst >= 1e-4) console.error(`worst ${worst} at ${where}`);
  return worst;
}

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
  });
});
