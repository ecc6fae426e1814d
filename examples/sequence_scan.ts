/**
 * A recurrent sequence model written with `lax.scan`, trained on a synthetic memory task: the
 * target at step t is the input from `delay` steps earlier (`y[t] = x[t - delay]`, 0 before).
 * An Elman RNN cell (`h ← tanh(W_x x + W_h h + b)`, readout `nn.layers.dense`) runs over the
 * time axis inside one `lax.scan`; the whole training step (`valueAndGrad` through the scan,
 * `optim.chain(clipByGlobalNorm, adam)`) is one jitted program. The mean-squared error must fall
 * to a fraction of the trivial predictor's (always 0).
 *
 * Run: `DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A examples/sequence_scan.ts`.
 * @module
 */
import { jit, lax, nn, np, optim, random, type Tensor, valueAndGrad } from "../mod.ts";

/** Options of {@link main}. */
export interface SequenceOptions {
  /** Hidden units (default 24). */
  hidden?: number;
  /** Sequence length (default 16). */
  length?: number;
  /** How many steps back the target looks (default 2). */
  delay?: number;
  /** Training steps (default 400). */
  steps?: number;
  /** Sequences per batch (default 32). */
  batch?: number;
  /** Progress output (default console.log). */
  log?: (line: string) => void;
}

/** What {@link main} measured. */
export interface SequenceResult {
  /** Mean-squared error of the first batch before training. */
  initialLoss: number;
  /** Mean-squared error on held-out sequences after training. */
  finalLoss: number;
  /** The trivial predictor's error (the variance of the targets). */
  baseline: number;
}

type Params = { wx: Tensor; wh: Tensor; b: Tensor; out: nn.layers.DenseParams };

/** Inputs `[batch, length, 1]` uniform in ±1 and the delayed targets. */
function data(key: Tensor, batch: number, length: number, delay: number): [Tensor, Tensor] {
  const x = random.uniform(key, [batch, length, 1], { minval: -1, maxval: 1 });
  const y = np.pad(x, [[0, 0], [delay, 0], [0, 0]]).slice(":", `0:${length}`, ":");
  return [x, y];
}

/** Runs the example; returns the losses it checks. */
export function main(opts: SequenceOptions = {}): SequenceResult {
  const { hidden = 24, length = 16, delay = 2, steps = 400, batch = 32, log = console.log } = opts;
  const readout = nn.layers.dense(1);
  const [k1, k2, k3, kData] = random.splitList(random.key(7), 4);
  const init = nn.initializers.glorotUniform({ inAxis: 1, outAxis: 0 });
  let params: Params = {
    wx: init(k1, [hidden, 1]),
    wh: nn.initializers.glorotNormal()(k2, [hidden, hidden]).mul(0.5),
    b: np.zeros([hidden]),
    out: readout.init(k3, [batch, hidden]),
  };
  const predict = (p: Params, x: Tensor) => {
    const cell = (h: Tensor, xt: Tensor): [Tensor, Tensor] => {
      const hn = np.tanh(np.matmul(xt, p.wx.T).add(np.matmul(h, p.wh.T)).add(p.b));
      return [hn, readout.apply(p.out, hn)];
    };
    // scan over time: move the time axis to the front, and back
    const [, ys] = lax.scan(cell, np.zeros([x.shape[0], hidden]), np.transpose(x, [1, 0, 2]));
    return np.transpose(ys as Tensor, [1, 0, 2]);
  };
  const loss = (p: Params, x: Tensor, y: Tensor) => np.mean(nn.losses.mse(predict(p, x), y));
  const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam({ learningRate: 0.01 }));
  let state = opt.init(params);
  const step = jit((p: Params, s: unknown[], x: Tensor, y: Tensor) => {
    const [l, g] = valueAndGrad(loss)(p, x, y);
    const [u, s2] = opt.update(g, s, p);
    return [optim.applyUpdates(p, u), s2, l] as const;
  });
  let initialLoss = NaN;
  for (let i = 0; i < steps; i++) {
    const [x, y] = data(random.foldIn(kData, i), batch, length, delay);
    let l: Tensor;
    [params, state, l] = step(params, state, x, y);
    if (i === 0) initialLoss = Number(l.item());
    if ((i + 1) % 100 === 0) log(`step ${i + 1}: mse ${Number(l.item()).toFixed(4)}`);
  }
  const [xt, yt] = data(random.foldIn(kData, steps), 256, length, delay);
  const finalLoss = Number(loss(params, xt, yt).item());
  const baseline = Number(np.mean(np.square(yt)).item());
  log(`held-out mse ${finalLoss.toFixed(4)} (predicting 0: ${baseline.toFixed(4)})`);
  if (!(finalLoss < 0.25 * baseline)) {
    throw new Error(`sequence_scan: mse ${finalLoss} did not fall below a quarter of ${baseline}`);
  }
  return { initialLoss, finalLoss, baseline };
}

if (import.meta.main) main();
