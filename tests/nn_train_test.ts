/**
 * nn functions for training: norms, dropout, attention, initializers and losses against
 * straightforward JS loops, gradients against finite differences (checkGrads, float64), and
 * jit / vmap against eager.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { checkGrads, grad, jit, nn, np, random, type Tensor, vmap } from "../mod.ts";

const f64 = (shape: number[], seed: number) =>
  random.normal(random.key(seed), shape, { dtype: "float64" });
const vals = (t: Tensor) => Array.from(t.dataSync(), Number);
function close(a: number[], b: number[], tol = 1e-9, what = ""): void {
  assert.equal(a.length, b.length, what);
  a.forEach((v, i) =>
    assert.ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}] ${v} vs ${b[i]}`)
  );
}
/** Mean and biased variance of `xs`. */
const stats = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return [m, xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length];
};

describe("nn norms", () => {
  test("layerNorm over the last axis with scale and bias; gradients", () => {
    const x = f64([3, 5], 1), s = f64([5], 2), b = f64([5], 3);
    const y = vals(nn.layerNorm(x, { scale: s, bias: b }));
    const xv = vals(x), sv = vals(s), bv = vals(b);
    const want: number[] = [];
    for (let r = 0; r < 3; r++) {
      const row = xv.slice(r * 5, r * 5 + 5);
      const [m, v] = stats(row);
      row.forEach((z, j) => want.push((z - m) / Math.sqrt(v + 1e-5) * sv[j] + bv[j]));
    }
    close(y, want);
    checkGrads(
      (x: Tensor, s: Tensor, b: Tensor) => nn.layerNorm(x, { scale: s, bias: b, axis: [0, 1] }),
      [x, s.reshape([1, 5]), b],
      { order: 2 },
    );
  });

  test("batchNorm: train uses batch statistics and updates running ones (PyTorch rule); eval uses running ones", () => {
    const x = f64([4, 3, 2], 4);
    const state = {
      mean: np.zeros([3], { dtype: "float64" }),
      var: np.ones([3], { dtype: "float64" }),
    };
    const [y, s1] = nn.batchNorm(x, state, { train: true, momentum: 0.2 });
    const xv = vals(x);
    const chan = (c: number) =>
      [0, 1, 2, 3].flatMap((n) => [0, 1].map((k) => xv[n * 6 + c * 2 + k]));
    const want = new Array(24);
    for (let c = 0; c < 3; c++) {
      const [m, v] = stats(chan(c));
      for (let n = 0; n < 4; n++) {
        for (let k = 0; k < 2; k++) {
          want[n * 6 + c * 2 + k] = (xv[n * 6 + c * 2 + k] - m) / Math.sqrt(v + 1e-5);
        }
      }
      close(
        [vals(s1.mean)[c], vals(s1.var)[c]],
        [0.2 * m, 0.8 + 0.2 * v * 8 / 7],
        1e-12,
        `running ${c}`,
      );
    }
    close(vals(y), want);
    const [ye, se] = nn.batchNorm(x, s1, { scale: np.full([3], 2, { dtype: "float64" }) });
    assert.equal(se, s1);
    const m = vals(s1.mean), v = vals(s1.var);
    close(
      vals(ye),
      xv.map((z, i) =>
        2 * (z - m[Math.floor(i / 2) % 3]) / Math.sqrt(v[Math.floor(i / 2) % 3] + 1e-5)
      ),
    );
    checkGrads((x: Tensor) => nn.batchNorm(x, state, { train: true })[0], [x]);
    assert.throws(
      () => nn.batchNorm(x, { mean: np.zeros([2]), var: np.ones([2]) }),
      /state has 2 channels but x has 3/,
    );
  });

  test("groupNorm matches per-group statistics; gradients; bad group count", () => {
    const x = f64([2, 4, 3], 5);
    const y = vals(nn.groupNorm(x, 2));
    const xv = vals(x);
    for (let n = 0; n < 2; n++) {
      for (let g = 0; g < 2; g++) {
        const idx = [...Array(6).keys()].map((i) => n * 12 + g * 6 + i);
        const [m, v] = stats(idx.map((i) => xv[i]));
        close(idx.map((i) => y[i]), idx.map((i) => (xv[i] - m) / Math.sqrt(v + 1e-5)));
      }
    }
    checkGrads(
      (x: Tensor) => nn.groupNorm(x, 2, { scale: np.arange(4).astype("float64"), bias: 1 }),
      [x],
    );
    assert.throws(() => nn.groupNorm(x, 3), /numGroups 3 must divide the 4 channels/);
  });

  test("dropout keeps about 1 − rate, scales by 1/(1 − rate); its gradient is the same mask", () => {
    const k = random.key(9), x = np.ones([4000]);
    const y = vals(nn.dropout(k, x, 0.25));
    const kept = y.filter((v) => v !== 0);
    assert.ok(Math.abs(kept.length / 4000 - 0.75) < 0.03);
    assert.ok(kept.every((v) => Math.abs(v - 4 / 3) < 1e-6));
    const g = vals(grad((x: Tensor) => np.sum(nn.dropout(k, x, 0.25)))(x));
    assert.deepEqual(g, y);
    assert.deepEqual(vals(nn.dropout(k, np.ones([3]), 1)), [0, 0, 0]);
    assert.throws(() => nn.dropout(k, x, 1.5), /rate 1.5 must be in \[0, 1\]/);
  });
});

describe("nn.dotProductAttention", () => {
  /** Attention by loops over [B, T, H, D] arrays. */
  function loop(q: Tensor, k: Tensor, v: Tensor, mask?: boolean[]): number[] {
    const [B, T, H, D] = q.shape, S = k.shape[1];
    const qv = vals(q), kv = vals(k), vv = vals(v), out = new Array(B * T * H * D).fill(0);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < T; t++) {
          const logits = [...Array(S).keys()].map((s) => {
            let acc = 0;
            for (let d = 0; d < D; d++) {
              acc += qv[((b * T + t) * H + h) * D + d] * kv[((b * S + s) * H + h) * D + d];
            }
            return mask && !mask[t * S + s] ? -Infinity : acc / Math.sqrt(D);
          });
          const mx = Math.max(...logits),
            e = logits.map((l) => Math.exp(l - mx)),
            z = e.reduce((a, c) => a + c);
          for (let s = 0; s < S; s++) {
            for (let d = 0; d < D; d++) {
              out[((b * T + t) * H + h) * D + d] += (e[s] / z) * vv[((b * S + s) * H + h) * D + d];
            }
          }
        }
      }
    }
    return out;
  }

  test("matches a loop, with and without a mask / causal; gradients; unbatched form", () => {
    const q = f64([2, 3, 2, 4], 11), k = f64([2, 5, 2, 4], 12), v = f64([2, 5, 2, 4], 13);
    close(vals(nn.dotProductAttention(q, k, v)), loop(q, k, v));
    const mask = Array.from({ length: 15 }, (_, i) => (i * 7) % 3 !== 0);
    const m = np.array(mask).reshape([3, 5]);
    close(vals(nn.dotProductAttention(q, k, v, { mask: m })), loop(q, k, v, mask));
    const causal = Array.from({ length: 15 }, (_, i) => i % 5 <= Math.floor(i / 5));
    close(vals(nn.dotProductAttention(q, k, v, { isCausal: true })), loop(q, k, v, causal));
    checkGrads((q: Tensor, k: Tensor, v: Tensor) => nn.dotProductAttention(q, k, v, { mask: m }), [
      q,
      k,
      v,
    ]);
    const [q3, k3, v3] = [f64([3, 2, 4], 15), f64([5, 2, 4], 16), f64([5, 2, 4], 17)];
    const batched = nn.dotProductAttention(
      q3.reshape([1, 3, 2, 4]),
      k3.reshape([1, 5, 2, 4]),
      v3.reshape([1, 5, 2, 4]),
    );
    close(vals(nn.dotProductAttention(q3, k3, v3)), vals(batched));
    assert.throws(
      () => nn.dotProductAttention(q, k, f64([2, 4, 2, 4], 14)),
      /do not match/,
    );
  });
});

describe("nn.initializers", () => {
  test("variance scaling: JAX's fans, uniform bounds, truncated normal std and range", () => {
    const k = random.key(3);
    const he = vals(nn.initializers.heNormal()(k, [400, 300]));
    const std = Math.sqrt(stats(he)[1]);
    assert.ok(Math.abs(std - Math.sqrt(2 / 400)) < 0.01 * Math.sqrt(2 / 400) * 3, `he std ${std}`);
    assert.ok(he.every((v) => Math.abs(v) <= 2 * Math.sqrt(2 / 400) / 0.87962566103423978 + 1e-6));
    const g = vals(nn.initializers.glorotUniform()(k, [3, 3, 16, 32]));
    const lim = Math.sqrt(6 / (9 * 16 + 9 * 32));
    assert.ok(g.every((v) => Math.abs(v) <= lim) && Math.max(...g.map(Math.abs)) > 0.95 * lim);
    const t = vals(nn.initializers.lecunNormal({ inAxis: 1, outAxis: 0 })(k, [64, 500]));
    assert.ok(Math.abs(Math.sqrt(stats(t)[1]) - Math.sqrt(1 / 500)) < 0.05 * Math.sqrt(1 / 500));
    assert.equal(nn.initializers.heUniform()(k, [4, 4], "float64").dtype, "float64");
    assert.deepEqual(vals(nn.initializers.zeros()(k, [2])), [0, 0]);
    assert.throws(() => nn.initializers.heNormal()(k, [5]), /at least 2 dims/);
    const jitted = jit((key: Tensor) => nn.initializers.glorotNormal()(key, [4, 4]));
    close(vals(jitted(k)), vals(nn.initializers.glorotNormal()(k, [4, 4])), 1e-6);
  });
});

describe("nn.losses", () => {
  test("values against their formulas; gradients; vmap equals the batch", () => {
    const z = f64([4, 3], 21);
    const p = nn.softmax(f64([4, 3], 22));
    const labels = np.array([2, 0, 1, 1]);
    const zv = vals(z), pv = vals(p);
    const lse = (r: number) =>
      Math.log(zv.slice(r * 3, r * 3 + 3).reduce((a, b) => a + Math.exp(b), 0));
    close(
      vals(nn.losses.softmaxCrossEntropy(z, p)),
      [0, 1, 2, 3].map((r) =>
        -[0, 1, 2].reduce((a, j) => a + pv[r * 3 + j] * (zv[r * 3 + j] - lse(r)), 0)
      ),
    );
    close(
      vals(nn.losses.sparseSoftmaxCrossEntropy(z, labels)),
      [2, 0, 1, 1].map((c, r) => lse(r) - zv[r * 3 + c]),
    );
    const y01 = np.array([1, 0, 0.3, 1], { dtype: "float64" }), z1 = f64([4], 23);
    close(
      vals(nn.losses.sigmoidBinaryCrossEntropy(z1, y01)),
      vals(z1).map((zz, i) => {
        const y = [1, 0, 0.3, 1][i], s = 1 / (1 + Math.exp(-zz));
        return -y * Math.log(s) - (1 - y) * Math.log(1 - s);
      }),
    );
    close(
      vals(
        nn.losses.huber(
          np.array([0, 0, 0], { dtype: "float64" }),
          np.array([0.5, -3, 1], { dtype: "float64" }),
          { delta: 1 },
        ),
      ),
      [0.125, 2.5, 0.5],
    );
    checkGrads((z: Tensor, p: Tensor) => nn.losses.softmaxCrossEntropy(z, p), [z, p]);
    checkGrads((z: Tensor) => nn.losses.sparseSoftmaxCrossEntropy(z, labels), [z], { order: 2 });
    checkGrads((z: Tensor, y: Tensor) => nn.losses.sigmoidBinaryCrossEntropy(z, y), [z1, y01]);
    checkGrads((a: Tensor, b: Tensor) => nn.losses.huber(a, b, { delta: 0.7 }), [
      f64([5], 24),
      f64([5], 25),
    ]);
    checkGrads((a: Tensor, b: Tensor) => nn.losses.mse(a, b), [f64([5], 26), f64([5], 27)]);
    const per = vmap((zz: Tensor, l: Tensor) => nn.losses.sparseSoftmaxCrossEntropy(zz, l))(
      z,
      labels,
    );
    close(vals(per), vals(nn.losses.sparseSoftmaxCrossEntropy(z, labels)));
    assert.throws(
      () => nn.losses.sparseSoftmaxCrossEntropy(z, np.array([1, 2])),
      /without its last axis/,
    );
  });
});
