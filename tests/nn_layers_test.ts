/**
 * nn.layers: each layer against the nn function it wraps (conv with every option and padding
 * mode, transposed conv, norms, attention), PyTorch's parameter shapes and init bounds, state
 * threading through sequential, and a jitted training step that learns.
 * @module
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { io, jit, nn, np, optim, random, type Tensor, valueAndGrad } from "../mod.ts";

const L = nn.layers;
const key = random.key(42);
const vals = (t: Tensor) => Array.from(t.dataSync(), Number);
function close(a: number[], b: number[], tol = 1e-5, what = ""): void {
  assert.equal(a.length, b.length, what);
  a.forEach((v, i) =>
    assert.ok(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])), `${what}[${i}] ${v} vs ${b[i]}`)
  );
}
const rand = (shape: number[], seed: number) => random.normal(random.key(seed), shape);

describe("nn.layers", () => {
  test("dense: PyTorch Linear shapes, U(±1/√in) init, y = x Wᵀ + b", () => {
    const l = L.dense(6);
    const p = l.init(key, [3, 16]);
    assert.deepEqual([p.weight.shape, p.bias!.shape], [[6, 16], [6]]);
    assert.ok([...vals(p.weight), ...vals(p.bias!)].every((v) => Math.abs(v) <= 0.25));
    const x = rand([3, 16], 1);
    close(vals(l.apply(p, x)), vals(np.matmul(x, p.weight.T).add(p.bias!)));
    assert.equal(L.dense(2, { useBias: false }).init(key, [1, 3]).bias, undefined);
    assert.throws(() => L.dense(0), /features must be an integer >= 1/);
    assert.throws(() => l.apply(p, x, { tarin: true } as never), /unknown option "tarin"/);
  });

  test("conv: every nn.convNd option and padding mode, 1-d to 3-d", () => {
    const cases: [number[], number | number[], nn.layers.ConvOptions][] = [
      [[2, 4, 9], 3, { stride: 2, padding: [[1, 2]], dilation: 2 }],
      [[2, 4, 7, 6], [3, 2], { padding: "same", paddingMode: "reflect", groups: 2 }],
      [[1, 2, 6, 6], 3, { padding: 1, paddingMode: "circular" }],
      [[1, 2, 5, 5], 3, { padding: 2, paddingMode: "replicate", stride: [1, 2] }],
      [[1, 3, 4, 5, 4], 2, { padding: "valid", useBias: false }],
    ];
    cases.forEach(([shape, k, o], i) => {
      const l = L.conv(4, k, o);
      const p = l.init(random.key(i), shape);
      const ks = typeof k === "number" ? new Array(shape.length - 2).fill(k) : k;
      assert.deepEqual(p.weight.shape, [4, shape[1] / (o.groups ?? 1), ...ks]);
      const fanIn = p.weight.shape.slice(1).reduce((a, b) => a * b, 1);
      assert.ok(vals(p.weight).every((v) => Math.abs(v) <= 1 / Math.sqrt(fanIn)));
      const x = rand(shape, 10 + i);
      const { useBias: _u, ...convOpts } = o;
      const want = nn.convNd(x, p.weight, { ...convOpts, bias: p.bias });
      close(vals(l.apply(p, x)), vals(want), 1e-5, `case ${i}`);
      assert.deepEqual(l.outputShape(p, shape), want.shape);
    });
    const t = L.convTranspose(3, 3, { stride: 2, padding: 1, outputPadding: 1 });
    const tp = t.init(key, [1, 2, 4, 4]);
    assert.deepEqual(tp.weight.shape, [2, 3, 3, 3]);
    const x = rand([1, 2, 4, 4], 30);
    close(
      vals(t.apply(tp, x)),
      vals(
        nn.convTransposeNd(x, tp.weight, {
          stride: 2,
          padding: 1,
          outputPadding: 1,
          bias: tp.bias,
        }),
      ),
    );
  });

  test("batchNorm layer: state in, new state out; eval uses running statistics", () => {
    const bn = L.batchNorm({ momentum: 0.5 });
    const shape = [4, 3, 5];
    const p = bn.init(key, shape);
    const s0 = bn.initState(shape);
    const x = rand(shape, 3).mul(2).add(1);
    const [y, s1] = bn.apply(p, x, { state: s0, train: true });
    const [want, ws] = nn.batchNorm(x, s0, {
      train: true,
      momentum: 0.5,
      scale: p.weight,
      bias: p.bias,
    });
    close(vals(y), vals(want));
    close(vals(s1.mean), vals(ws.mean));
    const [ye, se] = bn.apply(p, x, { state: s1 });
    assert.equal(se, s1);
    close(vals(ye), vals(nn.batchNorm(x, s1, {})[0]));
    assert.throws(() => bn.apply(p, x), /opts.state/);
  });

  test("layerNorm, groupNorm, embedding, dropout, flatten, activations", () => {
    const x = rand([2, 4, 6], 5);
    const ln = L.layerNorm();
    close(vals(ln.apply(ln.init(key, x.shape), x)), vals(nn.layerNorm(x)));
    const gn = L.groupNorm(2, { affine: false });
    assert.deepEqual(gn.init(key, x.shape), {});
    close(vals(gn.apply({}, x)), vals(nn.groupNorm(x, 2)));
    const em = L.embedding(7, 3);
    const ep = em.init(key, [2]);
    close(vals(em.apply(ep, np.array([6, 1]))), [
      ...vals(ep.weight).slice(18, 21),
      ...vals(ep.weight).slice(3, 6),
    ]);
    const d = L.dropout(0.5);
    assert.deepEqual(vals(d.apply({}, x)), vals(x));
    assert.throws(() => d.apply({}, x, { train: true }), /needs opts.key/);
    assert.deepEqual(L.flatten().apply({}, x).shape, [2, 24]);
    close(vals(L.gelu().apply({}, x)), vals(nn.gelu(x, { approximate: false })));
  });

  test("multiHeadAttention: projections + nn.dotProductAttention, masks and cross-attention", () => {
    const mha = L.multiHeadAttention(2, { outFeatures: 5 });
    const x = rand([2, 3, 8], 6), ctx = rand([2, 4, 8], 7);
    const p = mha.init(key, x.shape);
    assert.deepEqual([p.query.weight.shape, p.out.weight.shape], [[8, 8], [5, 8]]);
    const lin = (q: { weight: Tensor; bias?: Tensor }, t: Tensor) =>
      np.matmul(t, q.weight.T).add(q.bias!);
    const mask = np.array([[true, false, true, true], [true, true, false, true], [
      false,
      true,
      true,
      true,
    ]]);
    const heads = (t: Tensor) => t.reshape([2, t.shape[1], 2, 4]);
    const att = nn.dotProductAttention(
      heads(lin(p.query, x)),
      heads(lin(p.key, ctx)),
      heads(lin(p.value, ctx)),
      { mask },
    );
    const want = lin(p.out, att.reshape([2, 3, 8]));
    close(vals(mha.apply(p, x, { context: ctx, mask })), vals(want));
  });

  test("sequential: PyTorch-style names; a jitted train step with batch norm, dropout and chain(clip, adamw) learns", () => {
    const net = L.sequential(
      L.conv(4, 3, { padding: 1 }),
      L.batchNorm(),
      L.relu(),
      L.maxPool({ window: 2 }),
      L.flatten(),
      L.dropout(0.1),
      L.dense(2),
    );
    const shape = [8, 1, 6, 6];
    let params = net.init(key, shape);
    let state = net.initState(shape);
    const names = Object.keys(io.fromSafetensors(io.toSafetensors(Object.fromEntries(
      params.flatMap((p, i) =>
        Object.entries(p as Record<string, Tensor>).map(([k, v]) => [`${i}.${k}`, v])
      ),
    ))));
    assert.deepEqual(names.sort(), [
      "0.bias",
      "0.weight",
      "1.bias",
      "1.weight",
      "6.bias",
      "6.weight",
    ]);
    const x = rand(shape, 8);
    const labels = np.astype(np.greater(np.mean(x, { axis: [1, 2, 3] }), 0), "int32");
    const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adamw({ learningRate: 0.02 }));
    let ostate = opt.init(params);
    const loss = (p: unknown[], s: unknown[], k: Tensor) => {
      const [logits, s2] = net.apply(p, x, { state: s, train: true, key: k });
      return [np.mean(nn.losses.sparseSoftmaxCrossEntropy(logits, labels)), s2] as const;
    };
    const step = jit((p: unknown[], s: unknown[], o: unknown[], k: Tensor) => {
      const [[l, s2], g] = valueAndGrad(loss, { hasAux: true })(p, s, k);
      const [u, o2] = opt.update(g, o, p);
      return [optim.applyUpdates(p, u), s2, o2, l] as const;
    });
    let first = 0, last = 0;
    for (let i = 0; i < 40; i++) {
      let l: Tensor;
      [params, state, ostate, l] = step(params, state, ostate, random.foldIn(key, i));
      if (i === 0) first = Number(l.item());
      last = Number(l.item());
    }
    assert.ok(last < first * 0.7, `loss ${first} -> ${last}`);
    const bnState = state[1] as { mean: Tensor };
    assert.ok(vals(bnState.mean).some((v) => v !== 0), "running mean moved");
    const evalOut = net.apply(params, x, { state }) as [Tensor, unknown[]];
    assert.deepEqual(evalOut[0].shape, [8, 2]);
    assert.throws(() => net.apply(params, x), /has state; pass opts.state/);
  });
});
