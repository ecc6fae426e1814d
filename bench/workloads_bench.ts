// `deno bench`: the user-facing operations of the benchmark workloads (WORKLOADS.md W1-W6: conv
// forward, training steps, small convolutions, the 1-D and 3-D convolutions; W7 embedding
// gather and its gradient; a 10^6-element sort) plus pooling and
// matmul, on tracegrad alone, jit (the baseline of each group) next to eager. The cases are those
// of the side-by-side runs (bench/_impl_ours.ts); every run reads its results back.
import { CASE_KEYS, type CaseKey, CASES, inputsOf } from "./_workloads.ts";
import { oursFactories } from "./_impl_ours.ts";
import type { Case } from "./_harness.ts";
import { jit, nn, np, random, type Tensor } from "../mod.ts";
import { setupOurs } from "./_ours.ts";

await setupOurs("cpu"); // picks the front-ends the side-by-side runs use

/** Calls per W3 run (its times are per run of that many calls). */
const W3_CALLS = 100;
/** Runs per case after the warm-up: the large workloads take tens to hundreds of ms per run. */
const RUNS: Record<CaseKey, number> = {
  W1: 10,
  W2: 5,
  W3f: 10,
  W3g: 10,
  W4: 10,
  W5: 10,
  W6: 10,
  W7: 10,
  SORT: 10,
  W8: 5,
  W9: 3,
  FFT: 10,
  SOLVE: 10,
};

for (const key of CASE_KEYS) {
  const def = CASES[key];
  const inp = inputsOf(key);
  for (const mode of ["jit", "eager"] as const) {
    const c: Case = await oursFactories(mode)[key](inp, { w3Calls: W3_CALLS });
    if (c.calls !== undefined) c.calls = W3_CALLS;
    const per = c.calls ? ` (${c.calls} calls per run)` : "";
    Deno.bench({
      name: `${def.id} ${def.title}, ${mode}${per}`,
      group: key,
      baseline: mode === "jit",
      n: RUNS[key],
      warmup: 1,
      async fn() {
        await c.run(false);
      },
    });
  }
}

// pooling and matmul, the other user-facing operations of the W6 network, at sizes of their own
const x = random.normal(random.key(0), [64, 16, 24, 24]);
const a = random.normal(random.key(1), [512, 512]), b = random.normal(random.key(2), [512, 512]);
const pool = (t: Tensor) => nn.maxPool(t, { window: 2 });
const matmul = (p: Tensor, q: Tensor) => np.matmul(p, q);
const [poolJit, matmulJit] = [jit(pool), jit(matmul)];
const cases: [string, string, () => Tensor][] = [
  ["pool", "maxPool 2x2 of x[64,16,24,24], jit", () => poolJit(x)],
  ["pool", "maxPool 2x2 of x[64,16,24,24], eager", () => pool(x)],
  ["matmul", "matmul [512,512] x [512,512], jit", () => matmulJit(a, b)],
  ["matmul", "matmul [512,512] x [512,512], eager", () => matmul(a, b)],
];
for (const [group, name, f] of cases) {
  Deno.bench({
    name,
    group,
    baseline: name.endsWith("jit"),
    n: 20,
    warmup: 2,
    async fn() {
      await f().data();
    },
  });
}
