// Cache growth probe (not part of the unit suite): the V8 heap after a full GC while eager ops
// run over many distinct shapes (one exp per shape on the default backend) and a jitted function
// is called with many input shapes (and a conv with many shapes). Prints the heap growth per
// phase and, where the library has them, the cache counters.
//
//   DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A --v8-flags=--expose-gc bench/cache_growth.ts \
//     [--shapes 3000] [--limit-mb M: setCacheLimit(kind, M MiB) for every kind]
//   node --expose-gc (after an esbuild bundle) and bun work too (bun: heap numbers from bun:jsc).

import * as tg from "../mod.ts";
import { jit, lax, np, type Tensor } from "../mod.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : (g.process?.argv ?? []).slice(2);
const at = args.indexOf("--shapes");
const SHAPES = at >= 0 ? Number(args[at + 1]) : 3000;
const lim = args.indexOf("--limit-mb");
// deno-lint-ignore no-explicit-any
const setLimit = (tg as any).setCacheLimit;
if (lim >= 0 && typeof setLimit === "function") {
  for (const k of ["eager", "kernels", "jit"]) setLimit(k, Number(args[lim + 1]) * 2 ** 20);
}

async function heapMB(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    if (typeof g.gc === "function") g.gc();
    await new Promise((r) => setTimeout(r, 0));
  }
  const m = g.Deno ? g.Deno.memoryUsage() : g.process.memoryUsage();
  return m.heapUsed / 2 ** 20;
}

function stats(): string {
  // deno-lint-ignore no-explicit-any
  const cs = (tg as any).cacheStats;
  if (typeof cs !== "function") return "(no cacheStats in this version)";
  const s = cs();
  return Object.entries(s).map(([k, v]) => {
    const c = v as { entries: number; bytes: number };
    return `${k}: ${c.entries} entries ${(c.bytes / 2 ** 20).toFixed(1)} MB`;
  }).join(", ");
}

async function phase(name: string, run: (n: number) => Tensor): Promise<void> {
  const h0 = await heapMB();
  for (let n = 1; n <= SHAPES; n++) run(n).dispose();
  const h1 = await heapMB();
  console.log(
    `${name}: ${SHAPES} shapes, heap ${h0.toFixed(1)} -> ${h1.toFixed(1)} MB (+${
      (h1 - h0).toFixed(1)
    } MB, ${((h1 - h0) * 1024 / SHAPES).toFixed(2)} KB/shape); ${stats()}`,
  );
}

await phase("eager exp", (n) => np.exp(np.zeros([n], { dtype: "float32" })));
const f = jit((x: Tensor) => np.sum(np.tanh(x).mul(2)));
await phase("jit sum(tanh)", (n) => f(np.zeros([n], { dtype: "float32" })));
const c = jit((x: Tensor, w: Tensor) => lax.convGeneralDilated(x, w, [1, 1], "SAME"));
const w = np.ones([4, 3, 3, 3], { dtype: "float32" });
const conv = (n: number) => c(np.ones([1, 3, 4 + (n % 97), 4 + Math.floor(n / 97)]), w);
await phase("jit conv", conv);
