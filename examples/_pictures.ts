/**
 * The demo's pictures, drawn by dev-only npm libraries (never imported by the library): the
 * training curves as an SVG chart by vega-lite + vega (headless, no canvas or native binary), and
 * sample digits with their Laplacian edge maps as a grayscale PNG by fast-png.
 * @module
 */
import { encode as encodePng } from "fast-png";
import { parse, View } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { nn, np } from "../mod.ts";
import { type Digits, SIDE } from "./_mnist.ts";

/** What the demo records while it trains (x in epochs; per-step and per-epoch series). */
export interface History {
  stepX: number[];
  stepLoss: number[];
  stepAcc: number[];
  epochX: number[];
  testLoss: number[];
  testAcc: number[];
}

/** Exponential moving average, for the noisy per-step curves. */
function ema(ys: number[], beta = 0.95): number[] {
  let m = ys[0];
  return ys.map((y, i) => (m = i === 0 ? y : beta * m + (1 - beta) * y));
}

const SERIES = ["train (step)", "train (EMA)", "held-out"];
const COLORS = ["#a5c8e1", "#1f77b4", "#e66e14"];

/** One panel: the step curve (faint), its EMA and the held-out points over `epochs`. */
function panel(
  title: string,
  yTitle: string,
  rows: { x: number; y: number; s: string }[],
  epochs: number,
  yScale: Record<string, unknown>,
): Record<string, unknown> {
  const encoding = {
    x: { field: "x", type: "quantitative", title: "epoch", scale: { domain: [0, epochs] } },
    y: { field: "y", type: "quantitative", title: yTitle, scale: yScale },
    color: {
      field: "s",
      type: "nominal",
      title: null,
      scale: { domain: SERIES, range: COLORS },
    },
  };
  const layer = (s: string, mark: Record<string, unknown>) => ({
    transform: [{ filter: { field: "s", equal: s } }],
    mark: { type: "line", ...mark },
    encoding,
  });
  return {
    title,
    width: 420,
    height: 300,
    data: { values: rows },
    layer: [
      layer(SERIES[0], { strokeWidth: 1 }),
      layer(SERIES[1], { strokeWidth: 2 }),
      layer(SERIES[2], { strokeWidth: 2, point: true }),
    ],
  };
}

/** The loss (log scale) and accuracy curves side by side, as one SVG document. */
export async function curvesSvg(h: History, epochs: number): Promise<string> {
  const n = h.stepX.length, every = Math.max(1, Math.floor(n / 1000)); // at most ~1000 points
  const steps = (ys: number[], s: string) =>
    h.stepX.map((x, i) => ({ x, y: ys[i], s })).filter((_, i) => i % every === 0 || i === n - 1);
  const epochsOf = (ys: number[]) => h.epochX.map((x, i) => ({ x, y: ys[i], s: SERIES[2] }));
  const pc = (ys: number[]) => ys.map((v) => 100 * v);
  const loss = [
    ...steps(h.stepLoss, SERIES[0]),
    ...steps(ema(h.stepLoss), SERIES[1]),
    ...epochsOf(h.testLoss),
  ];
  const acc = [...steps(pc(ema(h.stepAcc)), SERIES[1]), ...epochsOf(pc(h.testAcc))];
  const low = Math.min(90, 10 * Math.floor(Math.min(...acc.map((r) => r.y)) / 10));
  const spec = {
    background: "white",
    hconcat: [
      panel("Loss", "softmax cross-entropy", loss, epochs, { type: "log" }),
      panel("Accuracy", "accuracy (%)", acc, epochs, { domain: [low, 100], clamp: true }),
    ],
  } as unknown as TopLevelSpec; // the panels are plain objects, checked by vega-lite at compile
  const view = new View(parse(compile(spec).spec), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * One held-out digit of each class (top row) and the magnitude of the Laplacian
 * `[[0,1,0],[1,-4,1],[0,1,0]]` over it (`nn.convNd`, bottom row), as a grayscale PNG.
 */
export function edgesPng(d: Digits, testIdx: Int32Array): Uint8Array {
  const px = SIDE * SIDE;
  const picks = [...Array(10).keys()].map((k) => testIdx.find((j) => d.labels[j] === k)!);
  const xs = new Float32Array(10 * px);
  picks.forEach((j, i) => xs.set(d.images.subarray(j * px, (j + 1) * px), i * px));
  const x = np.array(xs).reshape([10, 1, SIDE, SIDE]);
  const lap = np.array([[[[0, 1, 0], [1, -4, 1], [0, 1, 0]]]], { dtype: "float32" });
  const edges = np.abs(nn.convNd(x, lap, { padding: "same" })).dataSync();
  let peak = 0;
  for (const v of edges) peak = Math.max(peak, v);
  const S = 4, T = SIDE * S, gap = 8;
  const width = gap + 10 * (T + gap), height = gap + 2 * (T + gap);
  const data = new Uint8Array(width * height).fill(255);
  for (let i = 0; i < 10; i++) {
    // the edge map is |response|, brightened so that half the peak is full ink
    for (const [row, src, gain] of [[0, xs, 1], [1, edges, 2 / peak]] as const) {
      const ox = gap + i * (T + gap), oy = gap + row * (T + gap);
      for (let p = 0; p < T * T; p++) {
        const r = Math.floor(p / T), c = p % T;
        const v = Math.min(1, src[i * px + Math.floor(r / S) * SIDE + Math.floor(c / S)] * gain);
        data[(oy + r) * width + ox + c] = Math.round(255 * (1 - v)); // dark ink on white
      }
    }
  }
  return encodePng({ width, height, data, channels: 1, depth: 8 });
}
