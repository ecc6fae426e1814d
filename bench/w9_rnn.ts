// deno-lint-ignore-file no-explicit-any -- jax-js is loaded dynamically (optional peer)
/**
 * W9 (shared/WORKLOADS.md): a 1,000-step tanh RNN (hidden 128, batch 32, input 32) with
 * `lax.scan`, forward + gradient of mean(hidden states) w.r.t. W, U, b, under jit; against a
 * hand-written NumPy loop (forward + BPTT, python3) and jax-js (unrolled JS loop under its jit).
 * Also reports the loop's own cost per step: a scan over a trivial body. `deno task bench --only W9`
 * (bench/main.ts) runs the same case with its peers; inputs and functions are shared
 * (_workloads.ts, _impl_ours14.ts, _impl_jaxjs14.ts).
 * Usage: deno run -A bench/w9_rnn.ts [--steps N] [--runs N] [--unroll K] [--no-jaxjs] [--no-numpy]
 * (`--unroll K`: the scans run K steps per loop iteration; default 1, W9's definition).
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { grad, init, jit, lax, np, type Tensor, valueAndGrad } from "../mod.ts";
import { inputsOf, W9 } from "./_workloads.ts";
import { w9Loss, type W9Params, w9Step } from "./_impl_ours14.ts";
import { w9LossJaxjs } from "./_impl_jaxjs14.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const T = opt("--steps", W9.T), RUNS = opt("--runs", 5), UNROLL = opt("--unroll", 1);
const { B, H, I } = W9;

const w9 = inputsOf("W9");
const inputs = {
  W: w9.W.data,
  U: w9.U.data,
  b: w9.b.data,
  xs: w9.xs.data.subarray(0, T * B * I),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
async function timeIt(
  f: () => Promise<Float32Array[]>,
): Promise<{ ms: number; out: Float32Array[] }> {
  const out = await f();
  const ts: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), out };
}

type P = W9Params;
const step = w9Step;
const loss = (p: P, xs: Tensor) => w9Loss(p, xs, UNROLL);

async function ours() {
  const p = {
    W: np.array(inputs.W, { shape: [H, H] }),
    U: np.array(inputs.U, { shape: [I, H] }),
    b: np.array(inputs.b, { shape: [H] }),
  };
  const xs = np.array(inputs.xs, { shape: [T, B, I] });
  const vg = jit(valueAndGrad(loss));
  const full = await timeIt(async () => {
    const [v, g] = vg(p, xs);
    return [await v.data(), await g.W.data(), await g.U.data(), await g.b.data()] as Float32Array[];
  });
  // the same step, fwd + grad of its output, as one jitted call per step (arithmetic + one call)
  const h = np.zeros([B, H]), x = np.array(inputs.xs.subarray(0, B * I), { shape: [B, I] });
  const one = jit(
    grad((p: P, h: Tensor, x: Tensor) => np.mean(step(p)(h, x)[0]), { argnums: [0, 1] }),
  );
  const single = await timeIt(async () => {
    const [g] = one(p, h, x);
    return [await g.W.data()] as Float32Array[];
  });
  // the loop machinery alone: a scan over a trivial body
  const tiny = jit((z: Tensor) =>
    lax.scan((c: Tensor, zi: Tensor) => [c.add(zi), c], np.zeros([1]), z, { unroll: UNROLL })[0]
  );
  const zs = np.ones([T, 1]);
  const loop = await timeIt(async () => [await tiny(zs).data()] as Float32Array[]);
  return { full, single, loop };
}

async function jaxjs() {
  const jax: any = await import("npm:@jax-js/jax@0.1.25");
  await jax.init("wasm");
  const jnp = jax.numpy;
  const lossJ = w9LossJaxjs(jax);
  const g = jax.jit(jax.valueAndGrad(lossJ, { argnums: [0, 1, 2] }));
  const W = jnp.array(inputs.W, { shape: [H, H] }), U = jnp.array(inputs.U, { shape: [I, H] });
  const b = jnp.array(inputs.b, { shape: [H] });
  const xs = Array.from(
    { length: T },
    (_, t) => jnp.array(inputs.xs.subarray(t * B * I, (t + 1) * B * I), { shape: [B, I] }),
  );
  const t0 = performance.now();
  const run = async () => {
    const [v, [gW, gU, gb]] = g(W.ref, U.ref, b.ref, xs.map((x: any) => x.ref));
    return [await v.data(), await gW.data(), await gU.data(), await gb.data()] as Float32Array[];
  };
  await run();
  const first = performance.now() - t0;
  return { ...(await timeIt(run)), first };
}

function numpy() {
  const dir = mkdtempSync(join(tmpdir(), "w9-"));
  for (const [k, v] of Object.entries(inputs)) {
    writeFileSync(join(dir, k), new Uint8Array(v.buffer));
  }
  const py = `
import numpy as np, time, sys
d = sys.argv[1]; T, B, H, I, RUNS = ${T}, ${B}, ${H}, ${I}, ${RUNS}
ld = lambda k, s: np.fromfile(d + "/" + k, dtype=np.float32).reshape(s)
W, U, b, xs = ld("W", (H, H)), ld("U", (I, H)), ld("b", (H,)), ld("xs", (T, B, I))
def run():
    hs = np.empty((T + 1, B, H), np.float32)
    hs[0] = 0
    for t in range(T):
        hs[t + 1] = np.tanh(hs[t] @ W + xs[t] @ U + b)
    loss = hs[1:].mean()
    g = np.float32(1.0 / (T * B * H))
    dW, dU, db = np.zeros_like(W), np.zeros_like(U), np.zeros_like(b)
    dh = np.zeros((B, H), np.float32)
    for t in range(T - 1, -1, -1):
        da = (dh + g) * (1 - hs[t + 1] * hs[t + 1])
        dW += hs[t].T @ da
        dU += xs[t].T @ da
        db += da.sum(0)
        dh = da @ W.T
    return loss, dW, dU, db
out = run()
ts = []
for _ in range(RUNS):
    t0 = time.perf_counter(); run(); ts.append((time.perf_counter() - t0) * 1e3)
ts.sort()
print(ts[len(ts) // 2])
`;
  const r = spawnSync("python3", ["-c", py, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return { ms: Number(r.stdout.trim().split("\n")[0]), dir };
}

function maxRelErr(a: Float32Array[], b: Float32Array[]): number {
  let worst = 0;
  a.forEach((x, k) => {
    const scale = Math.max(...Array.from(b[k], Math.abs), 1e-12);
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i] - b[k][i]) / scale);
  });
  return worst;
}

await init(); // the worker pool starts now, not inside the timed runs
const o = await ours();
const perStep = (ms: number) => (ms / T) * 1000;
console.log(
  `W9: ${T}-step tanh RNN, hidden ${H}, batch ${B}, input ${I}; forward + grad, median of ${RUNS}` +
    (UNROLL > 1 ? `; scan unroll ${UNROLL}` : ""),
);
console.log(
  `tracegrad jit(valueAndGrad) with lax.scan: ${o.full.ms.toFixed(1)} ms (${
    perStep(o.full.ms).toFixed(1)
  } µs/step)`,
);
console.log(`  one step (fwd+grad) as its own jitted call: ${(o.single.ms * 1000).toFixed(1)} µs`);
console.log(`  scan machinery alone (trivial body): ${perStep(o.loop.ms).toFixed(2)} µs/step`);
console.log(
  `  per-step time beyond one jitted step call: ${
    (perStep(o.full.ms) - o.single.ms * 1000).toFixed(1)
  } µs`,
);
if (!args.includes("--no-numpy")) {
  const n = numpy();
  console.log(`NumPy hand-written loop + BPTT: ${n.ms.toFixed(1)} ms`);
}
if (!args.includes("--no-jaxjs")) {
  // a failing peer is a result: jax-js's unrolled 1,000-step trace overflows its call stack
  const j = await jaxjs().catch((e: Error) => ({ error: e }));
  if ("error" in j) {
    console.log(`jax-js wasm jit (unrolled): n/a (${String(j.error?.message ?? j.error)})`);
  } else {
    console.log(
      `jax-js wasm jit (unrolled): ${j.ms.toFixed(1)} ms (first call incl. trace ${
        j.first.toFixed(0)
      } ms); ` +
        `max rel. difference to tracegrad ${maxRelErr(o.full.out, j.out).toExponential(1)}`,
    );
  }
}
