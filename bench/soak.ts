// Memory soak test (not part of the unit suite): N training steps of a small CNN on the cpu backend
// (conv 3x3 -> +bias -> relu -> maxPool 2 -> dense, batch 32, fresh random data every step,
// jit(valueAndGrad) + a hand-written SGD update) while watching process RSS, the V8 heap and the
// live backend arrays (Tensors neither disposed nor collected, counted by lib/core.ts).
// Each reading first runs a full GC (when exposed) and yields one macrotask, so finalizers of
// collected arrays have run. Verdict: exit 1 when the RSS at the end (the median of the last
// --window readings) exceeds the RSS after warm-up (the median of the first --window readings
// from the warm-up step on) by more than --tolerance (default 5%), or when the final live-array
// count or bytes exceed their post-warm-up level by more than that. Medians of windows: one RSS
// reading swings by several percent on Bun (JSC's heap and allocator return pages to the OS on
// their own schedule) while heap and live arrays stay flat; a leak moves every later reading.
//
//   DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno task soak [--steps 10000]
//   (= deno run -A --v8-flags=--expose-gc,--min-semi-space-size=16 bench/soak.ts)
//   Bun and Node: npm run soak:bun / soak:node [-- --steps N] (scripts/soak.sh; Node runs a bundle)
//   options: --steps N (10000)  --warmup N (1000)  --every N (500)  --batch N (32)
//            --tolerance F (0.05)  --lr F (0.05)  --window K (3: readings per median)
//            --yield N (0: never; else await a macrotask every N steps besides the readings)
// --min-semi-space-size=16 gives V8's young generation its full size from the start: left to
// itself V8 grows it once, some thousand steps in, which moves RSS by ~17 MB in one step (measured
// here: RSS flat before and after, heap and live arrays flat throughout) and would read as growth.

import { init, jit, nn, np, setBackend, type Tensor, valueAndGrad } from "../mod.ts";
import { trackLiveArrays } from "../lib/core.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;

function cliArgs(): string[] {
  if (g.Deno) return g.Deno.args as string[];
  return (g.process?.argv ?? []).slice(2) as string[];
}

function option(name: string, dflt: number): number {
  const args = cliArgs();
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}` && i + 1 < args.length) return Number(args[i + 1]);
    if (args[i].startsWith(`--${name}=`)) return Number(args[i].slice(name.length + 3));
  }
  return dflt;
}

function exit(code: number): never {
  if (g.Deno) g.Deno.exit(code);
  g.process.exit(code);
  throw new Error("unreachable");
}

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrays: number;
  arrayBytes: number;
}

const liveArrays = trackLiveArrays();

async function memory(): Promise<Mem> {
  if (typeof g.gc === "function") g.gc();
  else g.Bun?.gc(true); // Bun: a synchronous full collection
  // finalizers of collected arrays run in a later task
  await new Promise((resolve) => setTimeout(resolve, 0));
  const m = g.Deno ? g.Deno.memoryUsage() : g.process.memoryUsage();
  const a = liveArrays();
  return {
    rss: m.rss,
    heapUsed: m.heapUsed,
    external: m.external ?? 0,
    arrays: a.count,
    arrayBytes: a.bytes,
  };
}

const MB = (b: number) => (b / 2 ** 20).toFixed(1);
const KB = (b: number) => (b / 1024).toFixed(1);

/** mulberry32: a small seeded PRNG for the random batches. */
function prng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STEPS = option("steps", 10000);
const WARMUP = Math.min(option("warmup", 1000), STEPS);
const EVERY = option("every", 500);
const WINDOW = Math.max(1, option("window", 3));
const BATCH = option("batch", 32);
const TOL = option("tolerance", 0.05);
const LR = option("lr", 0.05);
const YIELD = option("yield", 0);

const H = 16, C = 1, F = 8, CLASSES = 10, POOLED = (H / 2) * (H / 2) * F;

await init(); // starts the worker pool
setBackend("cpu");
const rand = prng(1234);
const normal = (n: number, scale: number) => {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rand() + rand() + rand() - 1.5) * scale;
  return a;
};

let params: Tensor[] = [
  np.array(normal(F * C * 9, 0.5), { dtype: "float32", shape: [F, C, 3, 3] }),
  np.zeros([F], { dtype: "float32" }),
  np.array(normal(POOLED * CLASSES, 0.05), { dtype: "float32", shape: [POOLED, CLASSES] }),
  np.zeros([CLASSES], { dtype: "float32" }),
];

function loss(p: Tensor[], x: Tensor, onehot: Tensor): Tensor {
  const [w1, b1, w2, b2] = p;
  let h = nn.convNd(x, w1, { padding: "same" });
  h = nn.relu(np.add(h, np.reshape(b1, [1, F, 1, 1])));
  h = nn.maxPool(h, { window: 2 });
  const logits = np.add(np.matmul(np.reshape(h, [x.shape[0], POOLED]), w2), b2);
  const nll = np.subtract(
    np.logsumexp(logits, { axis: 1 }),
    np.sum(np.multiply(logits, onehot), { axis: 1 }),
  );
  return np.mean(nll);
}

const step = jit(valueAndGrad(loss, { argnums: 0 }));

// labels from a fixed random linear "teacher" on the pixels, so the loss can actually go down
const TEACHER = normal(C * H * H * CLASSES, 1);

function batch(): [Tensor, Tensor] {
  const xs = normal(BATCH * C * H * H, 1), px = C * H * H;
  const y = new Float32Array(BATCH * CLASSES);
  for (let i = 0; i < BATCH; i++) {
    let best = 0, bestScore = -Infinity;
    for (let k = 0; k < CLASSES; k++) {
      let score = 0;
      for (let j = 0; j < px; j++) score += xs[i * px + j] * TEACHER[j * CLASSES + k];
      if (score > bestScore) [best, bestScore] = [k, score];
    }
    y[i * CLASSES + best] = 1;
  }
  return [
    np.array(xs, { dtype: "float32", shape: [BATCH, C, H, H] }),
    np.array(y, { dtype: "float32", shape: [BATCH, CLASSES] }),
  ];
}

function trainStep(): number {
  const [x, onehot] = batch();
  const [value, grads] = step(params, x, onehot) as [Tensor, Tensor[]];
  params = params.map((p, i) => np.subtract(p, np.multiply(grads[i], LR)));
  return Number(value.item());
}

const runtime = g.Deno
  ? `Deno ${g.Deno.version.deno}`
  : g.Bun
  ? `Bun ${g.Bun.version}`
  : `Node ${g.process.version}`;
console.log(
  `soak: ${STEPS} steps, batch ${BATCH}, conv ${F}x${C}x3x3 -> relu -> maxPool 2 -> dense ${POOLED}x${CLASSES}, ` +
    `${runtime}, gc before readings: ${typeof g.gc === "function" || Boolean(g.Bun)}, ` +
    `yield to the event loop: ${YIELD > 0 ? `every ${YIELD} steps` : "never"}`,
);
const t0 = performance.now();
let base: Mem | undefined, tBase = t0, lastLoss = NaN, tLast = t0;
const readings: { step: number; rss: number }[] = [];
for (let s = 1; s <= STEPS; s++) {
  lastLoss = trainStep();
  if (YIELD > 0 && s % YIELD === 0) await new Promise((resolve) => setTimeout(resolve, 0));
  if (!Number.isFinite(lastLoss)) {
    console.log(`step ${s}: loss ${lastLoss} is not finite`);
    exit(2);
  }
  if (s === WARMUP || (s > WARMUP && s % EVERY === 0) || s === STEPS) {
    const now = performance.now();
    const m = await memory();
    if (s === WARMUP) {
      base = m;
      tBase = now;
    }
    const since = s === WARMUP ? WARMUP : EVERY;
    const per = ((now - tLast) / since).toFixed(2);
    const growth = base ? ((m.rss / base.rss - 1) * 100).toFixed(1) : "0.0";
    const row =
      `step ${String(s).padStart(6)}  rss ${MB(m.rss).padStart(7)} MB (${growth.padStart(5)}%)  ` +
      `heap ${MB(m.heapUsed).padStart(6)} MB  external ${MB(m.external).padStart(6)} MB  ` +
      `arrays ${String(m.arrays).padStart(4)} (${KB(m.arrayBytes)} KB)  loss ${
        lastLoss.toFixed(4)
      }  ${per} ms/step`;
    readings.push({ step: s, rss: m.rss });
    console.log(row);
    tLast = performance.now();
  }
}
const end = await memory();
const total = performance.now() - t0;
const after = STEPS > WARMUP ? (performance.now() - tBase) / (STEPS - WARMUP) : NaN;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const k = Math.min(WINDOW, Math.floor(readings.length / 2)) || 1;
const rssStart = median(readings.slice(0, k).map((r) => r.rss));
const rssEnd = median(readings.slice(-k).map((r) => r.rss));
const growth = rssEnd / rssStart - 1;
console.log(
  `after warm-up (step ${WARMUP}): rss ${MB(base!.rss)} MB, heap ${MB(base!.heapUsed)} MB, ` +
    `external ${MB(base!.external)} MB; final (step ${STEPS}): rss ${MB(end.rss)} MB, ` +
    `heap ${MB(end.heapUsed)} MB, external ${MB(end.external)} MB`,
);
console.log(
  `rss median of the first ${k} readings ${MB(rssStart)} MB, of the last ${k} ${MB(rssEnd)} MB; ` +
    `single readings: ${((end.rss / base!.rss - 1) * 100).toFixed(2)}% (step ${WARMUP} to the end)`,
);
console.log(
  `rss growth ${(growth * 100).toFixed(2)}% (limit ${(TOL * 100).toFixed(1)}%), heap growth ` +
    `${((end.heapUsed / base!.heapUsed - 1) * 100).toFixed(2)}%; ${
      after.toFixed(2)
    } ms/step after warm-up, ` +
    `${(total / 1000).toFixed(1)} s total`,
);
// least-squares RSS slope over the second half of the readings (a plateau reads ~0)
const half = readings.slice(Math.floor(readings.length / 2));
if (half.length >= 2) {
  const ms = half.reduce((a, r) => a + r.step, 0) / half.length;
  const mr = half.reduce((a, r) => a + r.rss, 0) / half.length;
  const num = half.reduce((a, r) => a + (r.step - ms) * (r.rss - mr), 0);
  const den = half.reduce((a, r) => a + (r.step - ms) ** 2, 0);
  console.log(
    `rss slope over steps ${half[0].step}-${half[half.length - 1].step}: ` +
      `${MB((num / den) * 1000)} MB per 1000 steps`,
  );
}
const arrayGrowth = end.arrays / Math.max(1, base!.arrays) - 1;
const arrayByteGrowth = end.arrayBytes / Math.max(1, base!.arrayBytes) - 1;
console.log(
  `live arrays: ${base!.arrays} (${KB(base!.arrayBytes)} KB) after warm-up, ${end.arrays} ` +
    `(${KB(end.arrayBytes)} KB) at the end: count ${(arrayGrowth * 100).toFixed(2)}%, bytes ` +
    `${(arrayByteGrowth * 100).toFixed(2)}%`,
);
const failed = [
  growth > TOL ? "RSS" : "",
  arrayGrowth > TOL ? "live-array count" : "",
  arrayByteGrowth > TOL ? "live-array bytes" : "",
].filter(Boolean);
if (failed.length) {
  console.log(`verdict: FAIL (${failed.join(", ")} grew beyond the limit)`);
  exit(1);
}
console.log("verdict: PASS");
