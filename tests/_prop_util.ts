/**
 * Helpers for the property tests (property_test.ts, determinism_test.ts): a tiny seeded PRNG,
 * host data and Tensors built from a seed, running a function on a named backend, and a
 * tolerance comparison that returns a readable report instead of throwing.
 * @module
 */
import { getBackend, np, setBackend, type Tensor } from "../mod.ts";

/** Float dtypes the property tests draw from. */
export type FloatDType = "float32" | "float64";

/**
 * A small seeded PRNG (mulberry32): returns a function giving floats in [0, 1).
 * @example
 * ```ts
 * const r = prng(1);
 * const a = r(), b = r();
 * ```
 */
export function prng(seed: number): () => number {
  let s = (seed | 0) ^ 0x9e3779b9;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random integer in [lo, hi] from `r`. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Host data of `shape` with values uniform in [-scale, scale) drawn from `seed` (a Float64Array
 * whose values are exactly representable in `dtype`).
 */
export function hostData(
  shape: readonly number[],
  seed: number,
  dtype: FloatDType,
  scale = 1,
): Float64Array {
  const r = prng(seed);
  const out = new Float64Array(sizeOf(shape));
  for (let i = 0; i < out.length; i++) {
    const v = (2 * r() - 1) * scale;
    out[i] = dtype === "float32" ? Math.fround(v) : v;
  }
  return out;
}

/** A Tensor on the current backend from host data. */
export function tensorOf(data: Float64Array, shape: readonly number[], dtype: FloatDType): Tensor {
  return np.array(dtype === "float32" ? Float32Array.from(data) : Float64Array.from(data), {
    dtype,
    shape: [...shape],
  });
}

/** Runs `f` with backend `name` selected, restoring the previous backend afterwards. */
export function onBackend<T>(name: string, f: () => T): T {
  const prev = getBackend();
  setBackend(name);
  try {
    return f();
  } finally {
    setBackend(prev);
  }
}

/** Host copy of a result: shape, dtype and values. */
export interface HostResult {
  shape: number[];
  dtype: string;
  data: Float64Array;
}

/** Reads a Tensor (synchronously) into a {@linkcode HostResult}. */
export function toHost(t: Tensor): HostResult {
  return {
    shape: [...t.shape],
    dtype: t.dtype,
    data: Float64Array.from(t.dataSync() as ArrayLike<number>),
  };
}

/**
 * Compares `got` with `want` (shape, dtype, values with |g - w| <= atol + rtol |w|, NaN where NaN,
 * equal infinities). Returns null when they agree, else a description of the first differences.
 */
export function compareHost(
  label: string,
  got: HostResult,
  want: HostResult,
  rtol: number,
  atol: number,
): string | null {
  if (got.shape.join() !== want.shape.join()) {
    return `${label}: shape [${got.shape}] but the reference has [${want.shape}]`;
  }
  if (got.dtype !== want.dtype) {
    return `${label}: dtype ${got.dtype} but the reference has ${want.dtype}`;
  }
  const bad: string[] = [];
  let count = 0, maxErr = 0;
  for (let i = 0; i < want.data.length; i++) {
    const g = got.data[i], w = want.data[i];
    let ok: boolean;
    if (Number.isNaN(g) || Number.isNaN(w)) ok = Number.isNaN(g) && Number.isNaN(w);
    else if (!Number.isFinite(g) || !Number.isFinite(w)) ok = g === w;
    else {
      const e = Math.abs(g - w);
      maxErr = Math.max(maxErr, e);
      ok = e <= atol + rtol * Math.abs(w);
    }
    if (!ok) {
      count++;
      if (bad.length < 5) bad.push(`[${i}] got ${g} want ${w}`);
    }
  }
  if (count === 0) return null;
  return `${label}: ${count}/${want.data.length} values differ (shape [${want.shape}], rtol ${rtol}, ` +
    `atol ${atol}, max abs err ${maxErr}): ${bad.join("; ")}`;
}

/** The raw bytes of a Tensor's data, for bit-exact comparisons. */
export function rawBytes(t: Tensor): Uint8Array {
  const d = t.dataSync() as unknown as ArrayBufferView;
  return new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength));
}

/** True when two byte arrays are identical. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** JSON for messages (non-finite numbers spelled out, undefined kept visible). */
export function show(v: unknown): string {
  if (v === undefined) return "undefined";
  return JSON.stringify(
    v,
    (_k, x) =>
      typeof x === "number" && !Number.isFinite(x) ? String(x) : x === undefined ? "undefined" : x,
  );
}

/** An environment variable under Deno, Bun or Node (undefined when absent or not permitted). */
export function envVar(name: string): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(k: string): string | undefined } };
    process?: { env: Record<string, string | undefined> };
  };
  try {
    return g.Deno ? g.Deno.env.get(name) : g.process?.env[name];
  } catch {
    return undefined;
  }
}
