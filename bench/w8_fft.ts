/**
 * W8 (shared/WORKLOADS.md): a 1-D float32 signal of 10^6 samples ⊛ a 10,001-tap filter, mode
 * "same", `signal.convolve(..., { method: "auto" })` under jit and eager, against SciPy
 * (`fftconvolve`, `convolve(method="auto")`, python3) and onnxruntime's Conv (direct, in a Node
 * subprocess); and the `fft` primitive on 2^20 complex64 values against `numpy.fft.fft`.
 * `--calibrate` instead measures the constants of `method: "auto"`'s cost model (lib/signal_fft.ts):
 * jitted direct and FFT convolutions over a grid of sizes, in ns per multiply-add and per n·log2 n.
 * `--webgpu` adds the same tracegrad rows on the WebGPU backend (where `init()` finds an adapter).
 * Usage: deno run -A bench/w8_fft.ts [--n N] [--taps K] [--runs N] [--no-ort] [--no-scipy]
 *   [--webgpu] [--calibrate]
 * @module
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { backendInfo, init, jit, np, setBackend, signal, type Tensor } from "../mod.ts";
import { fft } from "../lib/ops/fft.ts";
import { uniform } from "./_harness.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const N = opt("--n", 1_000_000), K = opt("--taps", 10_001), RUNS = opt("--runs", 5);
const FFT_N = opt("--fft-n", 1 << 20);
const x = uniform(81, N), w = uniform(82, K), z = uniform(83, 2 * FFT_N);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
async function timeIt(f: () => Promise<Float32Array>, runs = RUNS) {
  const out = await f();
  const ts: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await f();
    ts.push(performance.now() - t0);
  }
  return { ms: median(ts), out };
}

async function ours() {
  const xa = np.array(x), wa = np.array(w);
  const f = (a: Tensor, b: Tensor) => signal.convolve(a, b, { mode: "same", method: "auto" });
  const jf = jit(f);
  const jitted = await timeIt(async () => await jf(xa, wa).data() as Float32Array);
  const eager = await timeIt(async () => await f(xa, wa).data() as Float32Array);
  const za = np.array(z, { shape: [FFT_N, 2] });
  const jfft = jit((v: Tensor) => fft(v, "FFT", [FFT_N]));
  const ffts = await timeIt(async () => await jfft(za).data() as Float32Array);
  return { jitted, eager, ffts };
}

function dump(dir: string, name: string, a: Float32Array) {
  writeFileSync(join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
}

function scipy(dir: string) {
  const py = `
import numpy as np, scipy.signal as ss, time, sys
d = sys.argv[1]; RUNS = ${RUNS}
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
const { convModel } = await import(${JSON.stringify(root + "/bench/_onnx_model.mjs")});
const ld = (n) => { const b = readFileSync(${
    JSON.stringify(dir)
  } + "/" + n); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
const x = ld("x"), w = ld("w").slice().reverse(); // Conv correlates: flip for a convolution
const K = w.length, lo = K - 1 - Math.floor((K - 1) / 2), hi = Math.floor((K - 1) / 2);
const model = convModel({ xShape: [1, 1, x.length], wShape: [1, 1, K], w, strides: [1], pads: [[lo, hi]] });
const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 2, interOpNumThreads: 1 });
const feeds = { x: new ort.Tensor("float32", x, [1, 1, x.length]) };
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

/** Best-of-runs ns per MAC (direct) and per 1.5·n·log2 n (FFT) over a grid of sizes. */
async function calibrate() {
  const jd = jit((a: Tensor, b: Tensor) =>
    signal.convolve(a, b, { mode: "same", method: "direct" })
  );
  const jf = jit((a: Tensor, b: Tensor) => signal.convolve(a, b, { mode: "same", method: "fft" }));
  const best = async (f: () => Tensor) => {
    await f().data();
    let m = Infinity;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      await f().data();
      m = Math.min(m, performance.now() - t0);
    }
    return m;
  };
  for (const [na, nb] of [[4096, 64], [65536, 128], [65536, 512], [262144, 256], [262144, 1024]]) {
    const a = np.array(uniform(1, na)), b = np.array(uniform(2, nb)), n = na + nb - 1;
    const td = await best(() => jd(a, b)), tf = await best(() => jf(a, b));
    console.log(
      `${na} ⊛ ${nb}: direct ${td.toFixed(2)} ms = ${
        (td * 1e6 / (na * nb)).toFixed(3)
      } ns/MAC; fft ${tf.toFixed(2)} ms = ${
        (tf * 1e6 / (1.5 * n * Math.log2(n))).toFixed(2)
      } ns per 1.5·n·log2 n`,
    );
  }
}
if (args.includes("--calibrate")) {
  await calibrate();
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), "w8-"));
dump(dir, "x", x), dump(dir, "w", w), dump(dir, "z", z);
const o = await ours();
console.log(`W8: ${N} float32 samples ⊛ ${K} taps, mode "same", method "auto"; median of ${RUNS}`);
console.log(`tracegrad jit: ${o.jitted.ms.toFixed(1)} ms; eager: ${o.eager.ms.toFixed(1)} ms`);
console.log(`tracegrad fft primitive, ${FFT_N} complex64 (jit): ${o.ffts.ms.toFixed(1)} ms`);
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
