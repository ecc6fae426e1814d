// Cost of the scopes of eager transform calls (not part of the unit suite): one eager step of
// bench/webgpu_rss.ts's gradient (grad of a conv loss, then one read back) with scopes on (the
// default: grad frees its intermediates when it returns) and off (they wait for the garbage
// collector), interleaved in one process; prints min and median µs per step of each and the ratio.
//
//   DENO_NO_PACKAGE_JSON=1 node_modules/.bin/deno run -A bench/eager_scope.ts [--backend webgpu|cpu]
//   options: --rounds N (20: alternations)  --steps N (50: steps per round)  --size S (1)

import { grad, init, lax, np, setBackend, type Tensor } from "../mod.ts";
import { setEagerScopes } from "../lib/core.ts";

// deno-lint-ignore no-explicit-any
const g = globalThis as any;
const args: string[] = g.Deno ? g.Deno.args : (g.process?.argv ?? []).slice(2);
const opt = (name: string, d: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : d;
};
const backend = opt("backend", "webgpu");
const ROUNDS = Number(opt("rounds", "20")), STEPS = Number(opt("steps", "50"));
const S = Number(opt("size", "1"));

if (!(await init()).includes(backend)) {
  console.log(`no ${backend} backend in this runtime`);
  g.Deno ? g.Deno.exit(0) : g.process.exit(0);
}
setBackend(backend);
const x = np.ones([4, 3, 16 * S, 16 * S]).mul(0.1), w = np.ones([8, 3, 3, 3]).mul(0.05);
const loss = (w: Tensor) => np.sum(np.tanh(lax.convGeneralDilated(x, w, [1, 1], "SAME")));

async function round(scoped: boolean): Promise<number> {
  setEagerScopes(scoped);
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) await grad(loss)(w).data();
  return (performance.now() - t0) * 1000 / STEPS;
}

await round(true); // warm-up: compiles every kernel
await round(false);
const times: Record<"on" | "off", number[]> = { on: [], off: [] };
for (let r = 0; r < ROUNDS; r++) {
  // alternate which goes first, so drifts of the machine hit both alike
  for (const on of r % 2 ? [true, false] : [false, true]) {
    times[on ? "on" : "off"].push(await round(on));
  }
}
setEagerScopes(true);
const med = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const line = (k: "on" | "off") =>
  `scopes ${k.padEnd(3)}: median ${med(times[k]).toFixed(1)} µs/step, min ${
    Math.min(...times[k]).toFixed(1)
  }`;
console.log(`${backend}, ${ROUNDS} rounds of ${STEPS} eager grad steps`);
console.log(line("on"));
console.log(line("off"));
console.log(
  `on / off: median ${(med(times.on) / med(times.off)).toFixed(3)}, min ${
    (Math.min(...times.on) / Math.min(...times.off)).toFixed(3)
  }`,
);
