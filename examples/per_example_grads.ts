/**
 * Per-example gradients of a small convolutional classifier with `vmap(grad(loss))`, checked
 * against a loop of `grad` calls and against the gradient of the batch loss; then per-example
 * gradient norms and a DP-SGD style clip (clip each example's gradient to norm C, average, add
 * Gaussian noise) as an illustration.
 *
 * Run: `DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A examples/per_example_grads.ts`
 * (or `bun run examples/per_example_grads.ts`).
 * @module
 */
import { grad, jit, nn, np, random, type Tensor, vmap } from "../mod.ts";

/** The model's parameters: one 3×3 conv layer (4 filters) and a dense layer to 3 classes. */
export interface Params {
  /** Conv filters, OIHW: [4, 1, 3, 3]. */
  w1: Tensor;
  /** Conv bias: [4]. */
  b1: Tensor;
  /** Dense weights: [4 * (H/2) * (W/2), 3]. */
  w2: Tensor;
  /** Dense bias: [3]. */
  b2: Tensor;
}

/** Options of {@linkcode main}. */
export interface PerExampleOptions {
  /** Batch size (default 16). */
  batch?: number;
  /** Image side length, even (default 8). */
  size?: number;
  /** Where the report goes (default console.log). */
  log?: (line: string) => void;
}

/** What {@linkcode main} measured. */
export interface PerExampleResult {
  /** Largest |vmap(grad) - loop of grad| over all parameters and examples. */
  loopError: number;
  /** Largest |mean of per-example grads - grad of the batch loss|. */
  meanError: number;
  /** Per-example gradient norms before clipping. */
  norms: number[];
  /** Per-example gradient norms after clipping. */
  clippedNorms: number[];
}

const CLASSES = 3;

/** Random parameters for images of the given side length. */
export function initParams(key: Tensor, size: number): Params {
  const [k1, k2] = random.splitList(key, 2);
  const features = 4 * (size / 2) * (size / 2);
  return {
    w1: random.normal(k1, [4, 1, 3, 3]).mul(1 / 3),
    b1: np.zeros([4]),
    w2: random.normal(k2, [features, CLASSES]).mul(1 / Math.sqrt(features)),
    b2: np.zeros([CLASSES]),
  };
}

/** Cross-entropy loss of ONE example: `x` is [1, H, W] (CHW), `y` an int32 label (shape []). */
export function loss(p: Params, x: Tensor, y: Tensor): Tensor {
  // the model is written for a single example; vmap adds the batch dimension for us
  const h = nn.relu(nn.convNd(x.expandDims(0), p.w1, { padding: 1, bias: p.b1 })); // [1, 4, H, W]
  const pooled = nn.avgPool(h, { window: 2 }).reshape([-1]); // [4 * H/2 * W/2]
  const logits = np.matmul(pooled, p.w2).add(p.b2); // [3]
  return np.sum(nn.logSoftmax(logits).mul(nn.oneHot(y, CLASSES))).neg();
}

/** Largest absolute difference between two pytrees of the same structure. */
function maxDiff(a: Params, b: Params): number {
  let worst = 0;
  for (const k of Object.keys(a) as (keyof Params)[]) {
    worst = Math.max(worst, np.max(np.abs(a[k].sub(b[k]))).item() as number);
  }
  return worst;
}

/** Sum over the leaves of the per-example squared norms: [B] from a pytree of [B, ...] leaves. */
function perExampleNorms(g: Params): Tensor {
  const sq = Object.values(g).map((leaf: Tensor) =>
    np.sum(np.square(leaf.reshape([leaf.shape[0], -1])), { axis: 1 })
  );
  return np.sqrt(sq.reduce((s, t) => s.add(t)));
}

/**
 * Computes per-example gradients two ways, compares them, and runs one clipped, noised update.
 * Throws if the checks fail.
 */
export function main(opts: PerExampleOptions = {}): PerExampleResult {
  const { batch = 16, size = 8, log = console.log } = opts;
  const [kp, kx, ky, kn] = random.splitList(random.key(42), 4);
  const params = initParams(kp, size);
  const xs = random.normal(kx, [batch, 1, size, size]);
  const ys = random.randint(ky, [batch], 0, CLASSES);

  // (1) every example's gradient in one call: params shared (null), images and labels mapped (0)
  const perExampleGrads = jit(vmap(grad(loss), { inAxes: [null, 0, 0] }));
  const g: Params = perExampleGrads(params, xs, ys);
  log(
    `per-example gradients: w1 ${fmt(g.w1.shape)}, b1 ${fmt(g.b1.shape)}, ` +
      `w2 ${fmt(g.w2.shape)}, b2 ${fmt(g.b2.shape)}`,
  );

  // (2) the same with a JS loop over the batch
  let loopError = 0;
  for (let i = 0; i < batch; i++) {
    const gi: Params = grad(loss)(params, xs.slice(i), ys.slice(i));
    const row = Object.fromEntries(
      Object.entries(g).map(([k, v]: [string, Tensor]) => [k, v.slice(i)]),
    ) as unknown as Params;
    loopError = Math.max(loopError, maxDiff(gi, row));
  }
  log(
    `vmap(grad) vs a loop of ${batch} grad calls: max |difference| ${loopError.toExponential(2)}`,
  );

  // (3) their mean is the gradient of the mean loss
  const batchLoss = (p: Params, x: Tensor, y: Tensor) =>
    np.mean(vmap(loss, { inAxes: [null, 0, 0] })(p, x, y));
  const gMean: Params = grad(batchLoss)(params, xs, ys);
  const meanOfPerExample = Object.fromEntries(
    Object.entries(g).map(([k, v]: [string, Tensor]) => [k, np.mean(v, { axis: 0 })]),
  ) as unknown as Params;
  const meanError = maxDiff(gMean, meanOfPerExample);
  log(`mean of per-example grads vs grad of the batch loss: ${meanError.toExponential(2)}`);

  // (4) DP-SGD style: clip every example's gradient to norm <= C, average, add noise.
  // (C is usually a fixed hyperparameter; here it is the median norm, so that half are clipped.)
  const norms = perExampleNorms(g);
  const sorted = Array.from(norms.dataSync()).sort((a, b) => a - b);
  const C = sorted[Math.floor(batch / 2)], sigma = 1.0;
  const scale = np.minimum(1, np.divide(C, np.maximum(norms, 1e-12))); // [B]
  const clipped = Object.fromEntries(
    Object.entries(g).map(([k, v]: [string, Tensor]) => [
      k,
      v.mul(scale.reshape([batch, ...v.shape.slice(1).map(() => 1)])),
    ]),
  ) as unknown as Params;
  const clippedNorms = perExampleNorms(clipped);
  const noiseKeys = random.splitList(kn, 4);
  const update = Object.fromEntries(
    (Object.entries(clipped) as [string, Tensor][]).map(([k, v], j) => {
      const noise = random.normal(noiseKeys[j], v.shape.slice(1)).mul(sigma * C);
      return [k, np.sum(v, { axis: 0 }).add(noise).div(batch)];
    }),
  ) as unknown as Params;
  const normList = Array.from(norms.dataSync());
  const clippedList = Array.from(clippedNorms.dataSync());
  const range = (v: number[]) => `${Math.min(...v).toFixed(3)} .. ${Math.max(...v).toFixed(3)}`;
  log(`per-example gradient norms: ${range(normList)}`);
  log(
    `clipped to C = ${C.toFixed(3)}: ${normList.filter((n) => n > C).length} of ${batch} ` +
      `examples scaled down, norms now ${range(clippedList)}`,
  );
  log(
    `noisy mean update (sigma = ${sigma}): |w1| = ${
      (np.sqrt(np.sum(np.square(update.w1))).item() as number).toFixed(4)
    }`,
  );

  const ok = loopError < 1e-5 && meanError < 1e-5 &&
    clippedList.every((n, i) =>
      n <= C * (1 + 1e-5) && Math.abs(n - Math.min(normList[i], C)) < 1e-4
    );
  if (!ok) {
    throw new Error(
      `per_example_grads: check failed (loop error ${loopError}, mean error ${meanError}, ` +
        `clipped norms ${clippedList.join(", ")})`,
    );
  }
  log("ok: vmap(grad) matches the loop, the batch gradient, and every clipped norm is <= C");
  return { loopError, meanError, norms: normList, clippedNorms: clippedList };
}

function fmt(shape: number[]): string {
  return `[${shape.join(", ")}]`;
}

// Runs when executed directly (Deno, Bun); importing it (tests, bundles) does not.
if ((import.meta as { main?: boolean }).main && import.meta.url.endsWith(".ts")) main();
