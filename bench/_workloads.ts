/**
 * The workloads of shared/WORKLOADS.md as bench cases (W3 split into its forward and
 * forward+grad halves; W7 and the 10^6-element sort from issue 13; W8, W9, FFT and SOLVE from
 * issue 14), their shared seeded inputs and what each case returns as check values.
 * @module
 */
import { uniform } from "./_harness.ts";

/** One bench case. */
export type CaseKey =
  | "W1"
  | "W2"
  | "W3f"
  | "W3g"
  | "W4"
  | "W5"
  | "W6"
  | "W7"
  | "SORT"
  | "W8"
  | "W9"
  | "FFT"
  | "SOLVE";

/** All cases in run order. */
export const CASE_KEYS: CaseKey[] = [
  "W1",
  "W2",
  "W3f",
  "W3g",
  "W4",
  "W5",
  "W6",
  "W7",
  "SORT",
  "W8",
  "W9",
  "FFT",
  "SOLVE",
];

/** W8's sizes: signal length and taps. */
export const W8_N = 1_000_000, W8_K = 10_001;
/** W9's sizes: steps, batch, hidden, input. */
export const W9 = { T: 1000, B: 32, H: 128, I: 32 } as const;
/** The FFT case's length (complex64 values) and the SOLVE case's order. */
export const FFT_N = 1 << 20, SOLVE_N = 512;

/** A float32 array with its shape (row-major). */
export interface Array32 {
  data: Float32Array;
  shape: number[];
}

/** Named inputs of a case. */
export type Inputs = Record<string, Array32>;

/** What a case is and how it is reported. */
export interface CaseDef {
  key: CaseKey;
  /** Workload id as in WORKLOADS.md (`--only` selects by it). */
  id: string;
  title: string;
  shapes: string;
  /** Work in GFLOP (from WORKLOADS.md), or null for latency workloads. */
  gflop: number | null;
  /** Times are reported in ms per run, or µs per call (W3). */
  unit: "ms" | "µs";
  /** Relative tolerance of the check. */
  rtol: number;
  /** What the check values are. */
  check: string;
  /** The target for this workload, printed beside its table. */
  target?: string;
  /** A lower first-run limit (s) for in-process peers (slow peers would take minutes). */
  peerSeconds?: number;
}

/** The case definitions. */
export const CASES: Record<CaseKey, CaseDef> = {
  W1: {
    key: "W1",
    id: "W1",
    title: "conv2d forward",
    shapes: "x[8,32,64,64] w[64,32,3,3] stride 1 SAME",
    gflop: 1.21,
    unit: "ms",
    rtol: 1e-4,
    check: "output y[8,64,64,64]",
  },
  W2: {
    key: "W2",
    id: "W2",
    title: "training step sum(relu(conv2d(x,w)+b)), grads x,w,b",
    shapes: "W1 shapes, b[64]",
    gflop: 3.6,
    unit: "ms",
    rtol: 1e-3,
    check: "[db (64), dw (18432)]",
  },
  W3f: {
    key: "W3f",
    id: "W3",
    title: "tiny NHWC/HWIO VALID conv, forward",
    shapes: "x[2,10,11,5] w[2,3,5,4] -> [2,9,9,4]",
    gflop: null,
    unit: "µs",
    rtol: 1e-4,
    check: "output y[2,9,9,4]",
  },
  W3g: {
    key: "W3g",
    id: "W3",
    title: "tiny NHWC/HWIO VALID conv, forward+grad of sum(y) w.r.t. x, w",
    shapes: "x[2,10,11,5] w[2,3,5,4] -> [2,9,9,4]",
    gflop: null,
    unit: "µs",
    rtol: 1e-4,
    check: "[dx (1100), dw (120)]",
  },
  W4: {
    key: "W4",
    id: "W4",
    title: "1-D long signal, VALID correlation",
    shapes: "x[1,1,1000000] w[1,1,101]",
    gflop: 0.2,
    unit: "ms",
    rtol: 1e-4,
    check: "output y[1,1,999900]",
  },
  W5: {
    key: "W5",
    id: "W5",
    title: "conv3d forward",
    shapes: "x[2,8,32,32,32] w[16,8,3,3,3] VALID",
    gflop: 0.37,
    unit: "ms",
    rtol: 1e-4,
    check: "output y[2,16,30,30,30]",
  },
  W6: {
    key: "W6",
    id: "W6",
    title: "small CNN training step (batch 64, 28×28×1), forward+backward",
    shapes: "conv 1→8 5×5, relu, maxpool2, conv 8→16 5×5, relu, maxpool2, dense 256→10, softmax CE",
    gflop: null,
    unit: "ms",
    rtol: 1e-3,
    check: "[loss, dbd (10), dwd (2560)]",
  },
  W7: {
    key: "W7",
    id: "W7",
    title:
      "embedding lookup y = E[i], loss sum(y * c), value and gradient w.r.t. E (a scatter-add)",
    shapes: "E[50000,64] f32, i[32768] int32, c[32768,64]",
    gflop: null,
    unit: "ms",
    rtol: 1e-3,
    check: "[loss, dE (3200000)]",
  },
  SORT: {
    key: "SORT",
    id: "SORT",
    title: "np.sort of 10^6 float32",
    shapes: "x[1000000] uniform [-1, 1)",
    gflop: null,
    unit: "ms",
    rtol: 0,
    check: "sorted x",
  },
  W8: {
    key: "W8",
    id: "W8",
    title: 'long 1-D convolution, `signal.convolve(x, w, { mode: "same", method: "auto" })`',
    shapes: "x[1000000] ⊛ w[10001] float32, mode same",
    gflop: null,
    unit: "ms",
    rtol: 1e-3,
    check: "output y[1000000]",
    target: "issue 14: within 1.5× SciPy's fftconvolve, faster than every JS peer",
    peerSeconds: 10,
  },
  W9: {
    key: "W9",
    id: "W9",
    title: "1,000-step tanh RNN with `lax.scan`, forward + grad of mean(h) w.r.t. W, U, b",
    shapes: "h[32,128], W[128,128], U[32,128], b[128], xs[1000,32,32]",
    gflop: null,
    unit: "ms",
    rtol: 1e-3,
    check: "[loss, dW (16384), dU (4096), db (128)]",
    target:
      "issue 14: faster than jax-js; per-step overhead under jit ≤ 20 µs beyond the step's arithmetic (bench/w9_rnn.ts)",
    peerSeconds: 10,
  },
  FFT: {
    key: "FFT",
    id: "FFT",
    title: "`np.fft.fft` of 2^20 complex64 values",
    shapes: "z[1048576] complex64 (re, im uniform [-1, 1))",
    gflop: null,
    unit: "ms",
    rtol: 1e-3,
    check: "output (re, im) pairs (2097152)",
    target: "issue 14: within 2× NumPy (pocketfft)",
    peerSeconds: 10,
  },
  SOLVE: {
    key: "SOLVE",
    id: "SOLVE",
    title: "`np.linalg.solve` of a 512×512 float32 system, one right-hand side",
    shapes: "a[512,512] (diagonally dominant), b[512,1]",
    gflop: null,
    unit: "ms",
    rtol: 1e-3,
    check: "x[512,1]",
    target: "issue 14: within 3× NumPy (LAPACK)",
  },
};

function arr(seed: number, shape: number[], scale = 1, lo = -1, hi = 1): Array32 {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = uniform(seed, n, lo, hi);
  if (scale !== 1) { for (let i = 0; i < n; i++) data[i] = Math.fround(data[i] * scale); }
  return { data, shape };
}

function oneHot(seed: number, n: number, k: number): Array32 {
  const r = uniform(seed, n, 0, 1);
  const data = new Float32Array(n * k);
  for (let i = 0; i < n; i++) data[i * k + Math.min(k - 1, Math.floor(r[i] * k))] = 1;
  return { data, shape: [n, k] };
}

/** SOLVE's a [n, n] (diagonally dominant, random signs on the diagonal) and b [n, 1]. */
export function solveInputs(n: number): Inputs {
  const a = arr(141, [n, n]);
  for (let i = 0; i < n; i++) a.data[i * n + i] += (i % 2 ? -1 : 1) * n / 4;
  return { a, b: arr(142, [n, 1]) };
}

const cache = new Map<CaseKey, Inputs>();

/**
 * The inputs of a case, the same for every implementation. Kernels are scaled by
 * 1/sqrt(fan-in) so outputs stay O(1). NCHW / OIHW, except W3 (NHWC / HWIO).
 */
export function inputsOf(key: CaseKey): Inputs {
  let r = cache.get(key);
  if (r) return r;
  switch (key) {
    case "W1":
      r = { x: arr(1, [8, 32, 64, 64]), w: arr(2, [64, 32, 3, 3], 1 / Math.sqrt(288)) };
      break;
    case "W2":
      r = { ...inputsOf("W1"), b: arr(3, [64], 0.1) };
      break;
    case "W3f":
    case "W3g":
      r = { x: arr(4, [2, 10, 11, 5]), w: arr(5, [2, 3, 5, 4], 1 / Math.sqrt(30)) };
      break;
    case "W4":
      r = { x: arr(6, [1, 1, 1_000_000]), w: arr(7, [1, 1, 101], 0.1) };
      break;
    case "W5":
      r = { x: arr(8, [2, 8, 32, 32, 32]), w: arr(9, [16, 8, 3, 3, 3], 1 / Math.sqrt(216)) };
      break;
    case "W6":
      r = {
        x: arr(10, [64, 1, 28, 28], 1, 0, 1),
        labels: oneHot(11, 64, 10),
        w1: arr(12, [8, 1, 5, 5], 1 / 5),
        b1: arr(13, [8], 0.1),
        w2: arr(14, [16, 8, 5, 5], 1 / Math.sqrt(200)),
        b2: arr(15, [16], 0.1),
        wd: arr(16, [256, 10], 1 / 16),
        bd: arr(17, [10], 0.1),
      };
      break;
    case "W7": {
      // indices are carried as float32 (exact below 2^24); implementations cast them to int32
      const i = uniform(19, 32768, 0, 50000).map((v) => Math.min(49999, Math.floor(v)));
      r = { E: arr(18, [50000, 64]), i: { data: i, shape: [32768] }, c: arr(20, [32768, 64]) };
      break;
    }
    case "SORT":
      r = { x: arr(21, [1_000_000]) };
      break;
    case "W8":
      r = { x: arr(81, [W8_N]), w: arr(82, [W8_K], 1 / Math.sqrt(W8_K)) };
      break;
    case "W9": {
      const { T, B, H, I } = W9, sh = 1 / Math.sqrt(H), si = 1 / Math.sqrt(I);
      r = {
        W: arr(91, [H, H], 1, -sh, sh),
        U: arr(92, [I, H], 1, -si, si),
        b: arr(93, [H], 1, -0.1, 0.1),
        xs: arr(94, [T, B, I]),
      };
      break;
    }
    case "FFT":
      r = { z: arr(83, [FFT_N, 2]) };
      break;
    case "SOLVE":
      r = solveInputs(SOLVE_N);
      break;
  }
  cache.set(key, r);
  return r;
}

/** W6 parameter names in pytree order. */
export const W6_PARAMS = ["w1", "b1", "w2", "b2", "wd", "bd"] as const;

/** Concatenates float arrays into one Float32Array. */
export function concat32(parts: ArrayLike<number>[]): Float32Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Float32Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
