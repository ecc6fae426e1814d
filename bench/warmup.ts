/**
 * Where the first calls of a fresh jitted function go (issue #18, warm-up): per case, the trace
 * and compile (`jit(f).lower(...).asText()`), the first run, the mean of calls 2–10 and the
 * steady median, with the minor page faults per call (fresh memory is expensive on some VMs).
 * Round 0 is the process's first use of each kernel kind ("cold process"); rounds 1.. use new
 * shapes, so only the kernels are fresh ("fresh kernel", medians over rounds). `--ab` alternates
 * rounds with the warm-up measures on and off: generic small JS kernels (`jsKernelTuning`,
 * kernels/render_js.ts) and the first-call Wasm reruns (`wasmWarmup`, kernels/render_wasm.ts).
 * Runs under Deno, Bun and Node (after an esbuild bundle, as scripts/test.sh does for tests).
 * Usage: deno run -A bench/warmup.ts [--rounds N] [--init] [--ab] [--only <case regex>]
 * @module
 */
import process from "node:process";
import { init } from "../mod.ts";
import { warmupTable } from "./_warmup.ts";

const args = process.argv.slice(2);
const opt = (name: string) => args.includes(name) ? args[args.indexOf(name) + 1] : undefined;
const g = globalThis as { Deno?: { version: { deno: string } }; Bun?: { version: string } };
const runtime = g.Deno
  ? `Deno ${g.Deno.version.deno}`
  : g.Bun
  ? `Bun ${g.Bun.version}`
  : `Node ${process.version}`;
const t0 = performance.now();
if (args.includes("--init")) await init();
const initMs = args.includes("--init")
  ? `, after \`await init()\` (${(performance.now() - t0).toFixed(0)} ms)`
  : "";
console.log(warmupTable({
  rounds: Number(opt("--rounds") ?? 5),
  ab: args.includes("--ab"),
  only: new RegExp(opt("--only") ?? ".", "i"),
  title: `warm-up, ${runtime}${initMs}`,
}));
