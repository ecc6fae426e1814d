/**
 * W8 (shared/WORKLOADS.md): a 1-D float32 signal of 10^6 samples ⊛ a 10,001-tap filter, mode
 * "same", `signal.convolve(..., { method: "auto" })` under jit and eager, against SciPy
 * (`fftconvolve`, `convolve(method="auto")`, python3) and onnxruntime's Conv (direct, in a Node
 * subprocess); and the `fft` primitive on 2^20 complex64 values against `numpy.fft.fft`.
 * The same cases run in `deno task bench --only W8,FFT` (bench/main.ts, peers in one run); this
 * script is the quick stand-alone view (same inputs and functions: _workloads.ts, _impl_ours14.ts).
 * `--calibrate` instead measures the constants of `method: "auto"`'s cost model (lib/signal_fft.ts)
 * and checks its choices on a grid of sizes (bench/_conv_calibrate.ts).
 * `--webgpu` adds the same tracegrad rows on the WebGPU backend (where `init()` finds an adapter).
 * Usage: deno run -A bench/w8_fft.ts [--runs N] [--no-ort] [--no-scipy] [--webgpu] [--calibrate]
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { backendInfo, init, jit, np, setBackend, type Tensor } from "../mod.ts";
import { fft } from "../lib/ops/fft.ts";
import { median } from "./_harness.ts";
import { FFT_N, inputsOf } from "./_workloads.ts";
import { complex64, w8Conv } from "./_impl_ours14.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const RUNS = opt("--runs", 15);
const { x, w } = inputsOf("W8"), z = inputsOf("FFT").z.data;
const N = x.data.length, K = w.data.length;

/**
 * Times the functions run by run in alternation after one warm-up each (so load drift moves all
 * alike); median and min of `RUNS` runs, with the warm-up's output.
 */
async function timeAlternating(fs: (() => Promise<Float32Array>)[]) {
  const outs: Float32Array[] = [];
  for (const f of fs) outs.push(await f());
  const ts: number[][] = fs.map(() => []);
  for (let i = 0; i < RUNS; i++) {
    for (const [k, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      ts[k].push(performance.now() - t0);
    }
  }
  return ts.map((t, k) => ({ ms: median(t), min: Math.min(...t), out: outs[k] }));
}
const fmt = (t: { ms: number; min: number }) => `${t.ms.toFixed(1)} ms (min ${t.min.toFixed(1)})`;

async function ours() {
  const xa = np.array(x.data), wa = np.array(w.data);
  const jf = jit(w8Conv);
  const [jitted, eager] = await timeAlternating([
    async () => await jf(xa, wa).data() as Float32Array,
    async () => await w8Conv(xa, wa).data() as Float32Array,
  ]);
  const za = np.array(z, { shape: [FFT_N, 2] }), zc = complex64(z, FFT_N);
  const jprim = jit((v: Tensor) => fft(v, "FFT", [FFT_N])), jnp = jit((v: Tensor) => np.fft.fft(v));
  const [ffts, npfft] = await timeAlternating([
    async () => await jprim(za).data() as Float32Array,
    async () => await jnp(zc).data() as Float32Array,
  ]);
  return { jitted, eager, ffts, npfft };
}

function dump(dir: string, name: string, a: Float32Array) {
  writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

function scipy(dir: string) {
  const py = `
import numpy as np, scipy.signal as ss, time, sys
d = sys.argv[1]; RUNS = ${Math.min(RUNS, 7)}
x = np.fromfile(d + "/x", dtype=np.float32); w = np.fromfile(d + "/w", dtype=np.float32)
z = np.fromfile(d + "/z", dtype=np.float32).view(np.complex64)
def t(f):
    out = f(); ts = []
    for _ in range(RUNS):
        t0 = time.perf_counter(); f(); ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort(); return ts[len(ts) // 2], out
a, ref = t(lambda: ss.fftconvolve(x, w, mode="same"))
b, _ = t(lambda: ss.convolve(x, w, mode="same", method="auto"))
c, _ = t(lambda: np.fft.fft(z))
ref.astype(np.float32).tofile(d + "/ref")
np.fft.fft(z).astype(np.complex64).view(np.float32).tofile(d + "/zref")
print(a, b, c, ss.choose_conv_method(x, w, mode="same"))
`;
  const r = spawnSync("python3", ["-c", py, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  const [a, b, c, m] = r.stdout.trim().split("\n").pop()!.split(" ");
  return { fftconvolve: Number(a), auto: Number(b), npfft: Number(c), method: m };
}

function ort(dir: string) {
  const root = resolve(new URL("..", import.meta.url).pathname);
  const js = `
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(${JSON.stringify(root + "/package.json")});
const ort = require("onnxruntime-node");
const { convModel, sameConv1d } = await import(${JSON.stringify(root + "/bench/_onnx_model.mjs")});
const ld = (n) => { const b = readFileSync(${
    JSON.stringify(dir)
  } + "/" + n); return { data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4) }; };
const c = sameConv1d(ld("x"), ld("w"));
const model = convModel({ xShape: c.x.shape, wShape: c.w.shape, w: c.w.data, strides: c.strides, pads: c.pads });
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
const feeds = { x: new ort.Tensor("float32", c.x.data, c.x.shape) };
await s.run(feeds);
const t0 = performance.now(); await s.run(feeds); console.log(performance.now() - t0);
`;
  const file = join(dir, "ort.mjs");
  writeFileSync(file, js);
  const r = spawnSync("node", [file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(r.stdout.trim().split("\n").pop());
}

function maxRelErr(a: Float32Array, b: Float32Array): number {
  let m = 0, s = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i])), s = Math.max(s, Math.abs(b[i]));
  }
  return m / (s || 1);
}

await init(); // the worker pool starts now, not inside the first timed runs
if (args.includes("--calibrate")) {
  await (await import("./_conv_calibrate.ts")).calibrate(args);
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "w8-"));
dump(dir, "x", x.data), dump(dir, "w", w.data), dump(dir, "z", z);
const o = await ours();
console.log(
  `W8: ${N} float32 samples ⊛ ${K} taps, mode "same", method "auto"; median of ${RUNS}, jit and eager alternating`,
);
console.log(`tracegrad jit: ${fmt(o.jitted)}; eager: ${fmt(o.eager)}`);
console.log(
  `tracegrad ${FFT_N} complex64 (jit): fft primitive on (re, im) pairs ${fmt(o.ffts)}; np.fft.fft ${
    fmt(o.npfft)
  }`,
);
if (!args.includes("--no-scipy")) {
  const s = scipy(dir);
  const f32 = (name: string) => {
    const b = readFileSync(join(dir, name));
    return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
  };
  const ref = f32("ref"), zref = f32("zref");
  console.log(
    `scipy fftconvolve: ${
      s.fftconvolve.toFixed(1)
    } ms; convolve(method="auto", picks ${s.method}): ${
      s.auto.toFixed(1)
    } ms; max rel. difference from tracegrad ${maxRelErr(o.jitted.out, ref).toExponential(1)}`,
  );
  console.log(
    `numpy.fft.fft ${FFT_N} complex64: ${s.npfft.toFixed(1)} ms; max rel. difference ${
      maxRelErr(o.ffts.out, zref).toExponential(1)
    }`,
  );
}
if (args.includes("--webgpu")) {
  if ((await init()).includes("webgpu")) {
    setBackend("webgpu");
    const g = await ours();
    setBackend("cpu");
    console.log(
      `tracegrad webgpu (${backendInfo().webgpu?.adapter}): W8 jit ${
        g.jitted.ms.toFixed(1)
      } ms, eager ${g.eager.ms.toFixed(1)} ms; fft ${FFT_N} complex64 (jit) ${
        g.ffts.ms.toFixed(1)
      } ms; max rel. difference from the cpu backend ${
        maxRelErr(g.jitted.out, o.jitted.out).toExponential(1)
      } (W8), ${maxRelErr(g.ffts.out, o.ffts.out).toExponential(1)} (fft)`,
    );
  } else console.log("webgpu: no adapter here, no WebGPU rows");
}
if (!args.includes("--no-ort")) {
  console.log(`onnxruntime-node Conv (direct, 2 threads, one run): ${ort(dir).toFixed(1)} ms`);
}
