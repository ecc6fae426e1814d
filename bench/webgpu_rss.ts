// WebGPU memory under eager loops (not part of the unit suite): N iterations of an eager matmul,
// the gradient of a small conv loss and a conv on the webgpu backend, reading one result back
// every iteration, while printing process RSS, the V8 heap and the runtime's live/pooled
// buffers. Verdict: exit 1 when RSS after the last iteration exceeds its post-warm-up level by
// more than --tolerance (default 10%).
//
//   DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A --v8-flags=--expose-gc bench/webgpu_rss.ts
//   options: --iters N (5000)  --warmup N (500)  --every N (500)  --tolerance F (0.1)  --size S (1: scales the shapes)
//            --pool-mb M (idle buffer pool limit)  --pool-floor-mb M (idle pool memory never trimmed)
//            --no-scope (eager grad leaves its intermediates to the GC, as before the fix)
//            --dispose (dispose every array explicitly)  --no-gc (no forced GC at readings)
//            --no-read (read results back only at readings: nothing waits for the GPU in between)
//            --parts matmul,grad,conv (which parts of the workload run; default all)  --jit (the step jitted)
//            --gc-every N (full GC every N iterations)  --idle-submits N  --no-uniform  --shared
//            --backend cpu (the same loop on the cpu backend: host memory; also under
//            `bun bench/webgpu_rss.ts --backend cpu` and, bundled by esbuild, `node --expose-gc`)

import { grad, init, jit, lax, np, setBackend, type Tensor } from "../mod.ts";
import { setConvVariant, webgpuRuntime } from "../lib/backend/webgpu/backend.ts";
import { setEagerScopes } from "../lib/core.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : (g.process?.argv ?? []).slice(2);
const opt = (name: string, d: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const ITERS = opt("iters", 5000), WARMUP = opt("warmup", 500), EVERY = opt("every", 500);
const TOL = opt("tolerance", 0.1);
const DISPOSE = args.includes("--dispose");
const NO_GC = args.includes("--no-gc");
const NO_READ = args.includes("--no-read");

// --backend cpu: the same loop on the cpu backend (host memory; readings show RSS and heap only)
const BACKEND = args.includes("--backend") ? args[args.indexOf("--backend") + 1] : "webgpu";
if (!(await init()).includes(BACKEND)) {
  console.log(`no ${BACKEND} backend in this runtime`);
  g.Deno ? g.Deno.exit(0) : g.process.exit(0);
}
setBackend(BACKEND);
// deno-lint-ignore no-explicit-any
const rt: any = BACKEND === "webgpu" ? webgpuRuntime()! : {
  pool: {},
  stats: {},
  simulateLimits() {},
  sync: async () => {},
  liveBuffers: () => "-",
  pooledBuffers: () => "-",
  device: { createBuffer: () => {} },
};
if (args.includes("--idle-submits")) rt.pool.idleSubmits = opt("idle-submits", 64);
if (args.includes("--pool-mb")) rt.pool.limitBytes = opt("pool-mb", 64) * 2 ** 20;
if (args.includes("--pool-floor-mb")) rt.pool.floorBytes = opt("pool-floor-mb", 16) * 2 ** 20;
// --no-scope: eager grad leaves its intermediates to the garbage collector (the old behaviour)
if (args.includes("--no-scope")) setEagerScopes(false);
// --no-uniform: convolutions bind no uniform ranges (weights stay in storage buffers)
if (args.includes("--no-uniform")) rt.simulateLimits({ maxUniformBufferBindingSize: 0 });
if (args.includes("--shared")) setConvVariant("shared");

const MB = 2 ** 20;
// GPU buffer bytes allocated and not destroyed (on a software adapter, host memory), and their peak
let gpuBytes = 0, gpuPeak = 0, gpuCreated = 0;
const dev = rt.device as unknown as Record<string, (d: { size: number }) => { destroy(): void }>;
const create = dev.createBuffer.bind(dev);
dev.createBuffer = (d) => {
  const b = create(d);
  let alive = true;
  gpuBytes += d.size;
  gpuCreated++;
  gpuPeak = Math.max(gpuPeak, gpuBytes);
  const destroy = b.destroy.bind(b);
  b.destroy = () => {
    if (alive) gpuBytes -= d.size;
    alive = false;
    destroy();
  };
  return b;
};
// --gc-every N: a full GC every N iterations (how much of the growth is arrays waiting for the GC)
const GC_EVERY = opt("gc-every", 0);
async function reading(i: number): Promise<number> {
  if (!NO_GC) typeof g.gc === "function" ? g.gc() : g.Bun?.gc(true);
  await new Promise((r) => setTimeout(r, 0));
  await rt.sync();
  const m = g.Deno ? g.Deno.memoryUsage() : g.process.memoryUsage();
  console.log(
    `iter ${String(i).padStart(5)}: rss ${(m.rss / MB).toFixed(0)} MB, heap ${
      (m.heapUsed / MB).toFixed(1)
    } MB (total ${(m.heapTotal / MB).toFixed(1)}, external ${
      (m.external / MB).toFixed(1)
    }), live buffers ${rt.liveBuffers()}, pooled ${rt.pooledBuffers()}, pipelines compiled ${rt.stats.compiles}, submits ${rt.stats.submits}, GPU buffers ${
      (gpuBytes / MB).toFixed(1)
    } MB (peak ${(gpuPeak / MB).toFixed(1)} MB), created ${gpuCreated}`,
  );
  return m.rss;
}

const S = opt("size", 1); // scales the matmul and conv sizes
const a = np.ones([64 * S, 64 * S]).mul(0.01), b = np.ones([64 * S, 64 * S]).mul(0.02);
const x = np.ones([4, 3, 16 * S, 16 * S]).mul(0.1), w = np.ones([8, 3, 3, 3]).mul(0.05);
const loss = (w: Tensor) => np.sum(np.tanh(lax.convGeneralDilated(x, w, [1, 1], "SAME")));
// --parts matmul,grad,conv (default all three): bisects the workload
const pi = args.indexOf("--parts");
const PARTS = new Set(pi >= 0 ? args[pi + 1].split(",") : ["matmul", "grad", "conv"]);
const body = (a: Tensor, w: Tensor, x: Tensor): Tensor[] => {
  const m = PARTS.has("matmul") ? np.matmul(a, b) : a;
  const dw = PARTS.has("grad") ? grad(loss)(w) : w;
  const c = PARTS.has("conv") ? lax.convGeneralDilated(x, dw, [1, 1], "SAME") : x;
  return [m, dw, c, np.sum(c).add(np.sum(m))];
};
// --jit: the step as one jitted program (its intermediates never become arrays)
const step = args.includes("--jit") ? jit(body) : body;
let base = 0;
for (let i = 1; i <= ITERS; i++) {
  const [m, dw, c, s] = step(a, w, x);
  if (!NO_READ) await s.data();
  if (GC_EVERY && i % GC_EVERY === 0) g.gc();
  if (DISPOSE) { for (const t of new Set([m, dw, c, s])) if (![a, w, x].includes(t)) t.dispose(); }
  if (i === WARMUP) base = await reading(i);
  else if (i % EVERY === 0 || i === ITERS) {
    const rss = await reading(i);
    if (i === ITERS && base) {
      const growth = (rss - base) / base;
      console.log(`RSS growth after warm-up: ${(growth * 100).toFixed(1)}%`);
      if (growth > TOL) g.Deno ? g.Deno.exit(1) : g.process.exit(1);
    }
  }
}
