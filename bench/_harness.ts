/**
 * Benchmark plumbing shared by every runner: the time budget, the measuring loop, statistics,
 * the comparison of check values, and a seeded float32 generator for the shared inputs.
 * @module
 */
import process from "node:process";
import { measure as mitataMeasure } from "mitata";

/** How long one case may run. */
export interface Budget {
  /** Measured runs stop once this many seconds have been spent measuring (after `minRuns`). */
  seconds: number;
  /** At least this many measured runs (after the warm-up). */
  minRuns: number;
  /** At most this many measured runs. */
  maxRuns: number;
  /** A case whose warm-up alone takes longer than this many seconds is not measured further. */
  maxWarmupSeconds: number;
  /** Calls per timed batch for the latency workload (W3). */
  w3Calls: number;
}

/** The default budget: about 3 s per case; a case slower than 30 s per run is not measured. */
export const FULL_BUDGET: Budget = {
  seconds: 3,
  minRuns: 1,
  maxRuns: 50,
  maxWarmupSeconds: 30,
  w3Calls: 1000,
};
/** The `--quick` budget: a smoke test, not for quoting. */
export const QUICK_BUDGET: Budget = {
  seconds: 0.4,
  minRuns: 1,
  maxRuns: 5,
  maxWarmupSeconds: 10,
  w3Calls: 50,
};

/** One benchmark case as an implementation prepares it. */
export interface Case {
  /**
   * Runs the computation once (for W3: `calls` times) and reads every result back to JS.
   * With `wantCheck`, returns the check values (a float32 copy, for comparison with the peers).
   */
  run(wantCheck: boolean): Promise<Float32Array | undefined> | Float32Array | undefined;
  /** For W3: the number of calls one `run` makes (times are divided by it); `run` reads it each time. */
  calls?: number;
  /** A note for the table (layout conversions, thread count, ...). */
  note?: string;
  /** Frees what the case holds. */
  dispose?(): void;
}

/** Context given to case factories. */
export interface Ctx {
  /** Calls per timed batch for W3 (the harness may lower `Case.calls` to fit the budget). */
  w3Calls: number;
}

/** Builds a case from the shared inputs. */
export type Factory<I = Record<string, { data: Float32Array; shape: number[] }>> = (
  inp: I,
  ctx: Ctx,
) => Case | Promise<Case>;

/** One row of the tables: an implementation and the cases it runs. */
export interface Impl {
  /** Row label, e.g. "jax-js wasm jit". */
  name: string;
  /** Whether this is tracegrad (eager / jit) or a peer. */
  ours?: "eager" | "jit";
  /** Case factories by case key. */
  factories: Record<string, Factory | undefined>;
  /** Why a case has no factory (shown as n/a). */
  reasons?: Record<string, string>;
  /** Selects this row's device / backend before its cases run. */
  enter?(): Promise<void> | void;
}

/** Timings of one case (ms per run, or ms per call when the case makes several calls). */
export interface Timing {
  /** Per-run (per-call) times in ms, warm-up excluded. */
  times: number[];
  /** The warm-up time in ms (per call for W3). */
  warmup: number;
}

/** Milliseconds since an arbitrary origin. */
export function now(): number {
  return performance.now();
}

/** What the warm-up found. */
export interface WarmUp {
  /** Check values of the first run. */
  check?: Float32Array;
  /** Time of the first run (ms; for W3 one call). */
  warmup: number;
  /** Calls per timed batch (W3). */
  calls?: number;
  /** The case's note. */
  note?: string;
}

/**
 * Runs a case once with check values (the warm-up). For W3 (`c.calls` set) the first run is one
 * call, then a 10-call probe sizes the batches to about half the budget (10 to `b.w3Calls` calls).
 */
export async function warmUp(c: Case, b: Budget): Promise<WarmUp> {
  const batched = c.calls !== undefined;
  if (batched) c.calls = 1;
  const t0 = now();
  const check = (await c.run(true)) ?? undefined;
  const warmup = now() - t0;
  if (batched && warmup <= b.maxWarmupSeconds * 1000) {
    c.calls = 10;
    const t1 = now();
    await c.run(false);
    const per = (now() - t1) / 10;
    c.calls = Math.floor(
      Math.max(10, Math.min(b.w3Calls, (b.seconds * 1000) / (2 * Math.max(per, 1e-6)))),
    );
  }
  return { check, warmup, calls: c.calls, note: c.note };
}

/**
 * Times an already warmed-up case with mitata: measured runs until `seconds` of measured time
 * are spent (at least `minRuns`, at most `maxRuns`), one run per sample (no batching: a run is
 * a whole workload). Returns ms per run, divided by `c.calls` when given.
 */
export function measure(c: Case, b: Budget): Promise<number[]> {
  return timeRuns(() => c.run(false), b, c.calls ?? 1);
}

/**
 * The timing loop of every JS runner (ours and the peers', in their workers): mitata's `measure`
 * with the budget as its sample limits. mitata makes one untimed first call of its own; samples
 * are nanoseconds; returns ms per run divided by `per` (calls per run), in run order not kept.
 */
export async function timeRuns(run: () => unknown, b: Budget, per = 1): Promise<number[]> {
  const stats = await mitataMeasure(run, {
    min_samples: b.minRuns,
    max_samples: b.maxRuns,
    min_cpu_time: b.seconds * 1e9,
    warmup_samples: 0,
    samples_threshold: Number.MAX_SAFE_INTEGER, // keep every sample (no trimming of extremes)
  });
  return stats.samples.map((ns) => ns / 1e6 / per);
}

/**
 * Times two warmed-up cases in alternation (one run of each in turn, so both see the same machine
 * conditions: their ratio is not moved by drift) until twice the budget is spent, with the run
 * limits of {@link measure} applied to each. Returns ms per run of each. This loop stays ours:
 * mitata's `measure` times one function in its own loop, so it cannot interleave two cases run
 * by run (see bench/README.md).
 */
export async function measureAlternating(a: Case, b: Case, bud: Budget): Promise<number[][]> {
  const times: number[][] = [[], []];
  const start = now();
  while (
    times[0].length < bud.maxRuns &&
    (times[0].length < bud.minRuns || now() - start < 2 * bud.seconds * 1000)
  ) {
    for (const [i, c] of [a, b].entries()) {
      const t0 = now();
      await c.run(false);
      times[i].push((now() - t0) / (c.calls ?? 1));
    }
  }
  return times;
}

/**
 * Waits until this process is idle: less than `maxCores` of CPU over a 250 ms window (a peer
 * worker terminated for running over its time limit can keep its thread busy for a while, which
 * would slow the next measurement), for at most `maxMs`. Returns the ms waited.
 */
export async function quiesce(maxCores = 0.25, maxMs = 120_000): Promise<number> {
  const t0 = now();
  for (;;) {
    const c0 = process.cpuUsage(), w0 = now();
    await new Promise((resolve) => setTimeout(resolve, 250));
    const c = process.cpuUsage(c0), cores = (c.user + c.system) / 1000 / (now() - w0);
    if (cores < maxCores || now() - t0 > maxMs) return now() - t0;
  }
}

/** The median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Result of comparing check values with a reference. */
export interface Diff {
  /** Largest absolute difference. */
  maxAbs: number;
  /** Largest |reference| (scale of the values). */
  maxRef: number;
  /** Whether every element satisfies `|a - b| <= atol + rtol |b|` with `atol = 1e-5 max|b|`. */
  ok: boolean;
  /** Why the comparison failed outright (length mismatch, NaN). */
  reason?: string;
}

/** Compares `a` with the reference `b` elementwise (allclose with a scale-aware atol). */
export function compare(a: Float32Array, b: Float32Array, rtol: number): Diff {
  if (a.length !== b.length) {
    return { maxAbs: NaN, maxRef: NaN, ok: false, reason: `length ${a.length} vs ${b.length}` };
  }
  let maxRef = 0;
  for (let i = 0; i < b.length; i++) maxRef = Math.max(maxRef, Math.abs(b[i]));
  const atol = 1e-5 * Math.max(maxRef, 1e-30);
  let maxAbs = 0, ok = true;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= atol + rtol * Math.abs(b[i]))) ok = false;
    if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? NaN : d;
  }
  return { maxAbs, maxRef, ok };
}

/** A seeded generator of float32 values uniform in [lo, hi) (mulberry32). */
export function uniform(seed: number, n: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}

/** Permutes a row-major array: output axis i is input axis `perm[i]`. */
export function permute(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const n = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = new Array<number>(n);
  let acc = 1;
  for (let i = n - 1; i >= 0; i--) {
    inStrides[i] = acc;
    acc *= shape[i];
  }
  const strides = perm.map((p) => inStrides[p]);
  const out = new Float32Array(data.length);
  const idx = new Array<number>(n).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = data[src];
    for (let d = n - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < outShape[d]) break;
      src -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
  return out;
}

/** A short message for an error thrown by a runner (first line, at most 160 characters). */
export function errText(e: unknown): string {
  const s = e instanceof Error
    ? `${e.name === "Error" ? "" : e.name + ": "}${e.message}`
    : String(e);
  const line = s.split("\n")[0].trim();
  return line.length > 160 ? line.slice(0, 157) + "..." : line;
}

/** Formats a time given in ms with a sensible number of digits. */
export function fmtMs(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/** Formats a ratio (`12.3×`, `0.81×`). */
export function fmtRatio(r: number): string {
  if (!Number.isFinite(r)) return "—";
  if (r >= 10) return `${r.toFixed(0)}×`;
  return r >= 0.1 ? `${r.toFixed(2)}×` : `${r.toPrecision(2)}×`;
}
