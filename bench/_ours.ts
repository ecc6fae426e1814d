/**
 * The one place where the benchmarks touch tracegrad's API: backend selection and the
 * convolution / activation / pooling front-ends. Each front-end (`lax.convGeneralDilated`,
 * `nn.relu`, `nn.maxPool`, `nn.logSoftmax`) is used when present and when it agrees with a
 * plain fallback on a small case; otherwise the fallback (the `conv` primitive, np ops) is used.
 * @module
 */
import * as tg from "../mod.ts";
import type { Tensor } from "../mod.ts";

/** The np namespace and transforms used by the runners. */
export const np = tg.np;
export const jit = tg.jit;
export const valueAndGrad = tg.valueAndGrad;
/** Issue 14's workloads (W8, W9, FFT, SOLVE) use these namespaces too. */
export const grad = tg.grad, lax = tg.lax, signal = tg.signal;
export type { Tensor };

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => any;
type Dims = [string, string, string] | undefined;
type Pad = string | [number, number][];

/** The conv / activation / pooling entry points the runners call. */
export interface OursOps {
  /** Convolution (NC+spatial / OI+spatial unless `dims` names other layouts). */
  conv(x: Tensor, w: Tensor, strides: number[], padding: Pad, dims?: Dims): Tensor;
  /** max(x, 0). */
  relu(x: Tensor): Tensor;
  /** 2×2 max pooling, stride 2, of an NCHW array. */
  maxPool2(x: Tensor): Tensor;
  /** Log-softmax over the last axis. */
  logSoftmax(x: Tensor): Tensor;
}

/** What `setupOurs` found. */
export interface OursInfo {
  /** Backend in use. */
  backend: string;
  /** Registered backends, when the library says. */
  backends: string[];
  /** Which implementation each entry point uses. */
  paths: Record<keyof OursOps, string>;
  /** The package version from deno.json. */
  version: string;
}

// deno-lint-ignore no-explicit-any
const api = tg as unknown as Record<string, any>;

/** The active entry points (set by `setupOurs`). */
export const ours: OursOps = {
  conv: () => {
    throw new TypeError("bench: setupOurs() was not called");
  },
  relu: (x) => np.maximum(x, 0),
  maxPool2: fallbackMaxPool2,
  logSoftmax: (x) => np.subtract(x, np.logsumexp(x, { axis: -1, keepdims: true })),
};

function fallbackMaxPool2(x: Tensor): Tensor {
  const [n, c, h, w] = x.shape;
  return np.max(np.reshape(x, [n, c, h / 2, 2, w / 2, 2]), { axis: [3, 5] });
}

async function primitiveConv(): Promise<OursOps["conv"] | null> {
  try {
    const convMod = await import(["..", "lib", "ops", "conv.ts"].join("/"));
    const paramsMod = await import(["..", "lib", "ops", "conv_params.ts"].join("/"));
    return (x, w, strides, padding, dims) =>
      convMod.conv(
        x,
        w,
        paramsMod.resolveConvParams(
          x.shape,
          w.shape,
          strides,
          padding,
          dims ? { dimensionNumbers: dims } : {},
        ),
      );
  } catch {
    return null;
  }
}

function close(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= 1e-4 * (1 + Math.abs(b[i])))) return false;
  }
  return true;
}

function small(shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.9;
  return np.array(v, { dtype: "float32", shape });
}

/** Tries `front` on the small inputs; keeps it when it matches `fallback`. */
async function pick<F extends AnyFn>(
  label: string,
  front: F | undefined,
  fallback: F | null,
  fallbackLabel: string,
  probe: (f: F) => Tensor,
): Promise<[F | null, string]> {
  if (typeof front !== "function") return [fallback, `${fallbackLabel} (${label} absent)`];
  try {
    const got = await probe(front).data();
    if (!fallback) return [front, label];
    const want = await probe(fallback).data();
    if (close(got, want)) return [front, label];
    return [fallback, `${fallbackLabel} (${label} disagreed on a probe)`];
  } catch (e) {
    return [
      fallback,
      `${fallbackLabel} (${label} threw: ${(e as Error).message?.split("\n")[0].slice(0, 80)})`,
    ];
  }
}

/** The name of the backend in use. */
export function currentBackend(): string {
  try {
    const b = api.getBackend?.();
    if (typeof b === "string") return b;
    if (b && typeof b.name === "string") return b.name;
  } catch { /* fall through */ }
  return "default";
}

/**
 * Selects the backend (`name`, else `$TRACEGRAD_BACKEND`, else the library default) and picks
 * the entry points. Throws when the requested backend cannot be selected.
 */
export async function setupOurs(name?: string): Promise<OursInfo> {
  let backends: string[] = [];
  if (typeof api.init === "function") {
    const r = await api.init();
    if (Array.isArray(r)) backends = r.map(String);
  }
  if (name) {
    if (typeof api.setBackend === "function") await api.setBackend(name);
    else {
      const b = await import(["..", "lib", "backend", "backend.ts"].join("/"));
      if (!b.backendNames().includes(name)) {
        await import(["..", "lib", "backend", `${name}.ts`].join("/"));
      }
      b.setBackendImpl(name);
    }
  }

  const prim = await primitiveConv();
  const paths = {} as Record<keyof OursOps, string>;
  const lax = api.lax as Record<string, AnyFn> | undefined;
  const nn = api.nn as Record<string, AnyFn> | undefined;

  const laxConv: OursOps["conv"] | undefined = lax?.convGeneralDilated
    ? (x, w, s, p, dims) =>
      lax.convGeneralDilated(x, w, s, p, dims ? { dimensionNumbers: dims } : {})
    : undefined;
  const [conv, convPath] = await pick(
    "lax.convGeneralDilated",
    laxConv,
    prim,
    "conv primitive",
    (f) =>
      f(small([2, 7, 6, 3], 1), small([3, 2, 3, 4], 2), [1, 2], "SAME", ["NHWC", "HWIO", "NHWC"]),
  );
  if (!conv) {
    throw new TypeError(
      "bench: neither lax.convGeneralDilated nor the conv primitive is available",
    );
  }
  ours.conv = conv;
  paths.conv = convPath;

  const fbRelu: OursOps["relu"] = (x) => np.maximum(x, 0);
  const [relu, reluPath] = await pick(
    "nn.relu",
    nn?.relu as OursOps["relu"] | undefined,
    fbRelu,
    "np.maximum(x, 0)",
    (f) => f(small([3, 5], 3)),
  );
  ours.relu = relu!;
  paths.relu = reluPath;

  const nnPool: OursOps["maxPool2"] | undefined = nn?.maxPool
    ? (x) => nn.maxPool(x, { window: 2 })
    : undefined;
  const [pool, poolPath] = await pick(
    "nn.maxPool",
    nnPool,
    fallbackMaxPool2,
    "reshape + np.max",
    (f) => f(small([2, 3, 4, 6], 4)),
  );
  ours.maxPool2 = pool!;
  paths.maxPool2 = poolPath;

  const fbLsm: OursOps["logSoftmax"] = (x) =>
    np.subtract(x, np.logsumexp(x, { axis: -1, keepdims: true }));
  const nnLsm: OursOps["logSoftmax"] | undefined = nn?.logSoftmax
    ? (x) => nn.logSoftmax(x, { axis: -1 })
    : undefined;
  const [lsm, lsmPath] = await pick(
    "nn.logSoftmax",
    nnLsm,
    fbLsm,
    "x - logsumexp(x)",
    (f) => f(small([4, 10], 5)),
  );
  ours.logSoftmax = lsm!;
  paths.logSoftmax = lsmPath;

  let version = "?";
  try {
    const { readFileSync } = await import("node:fs");
    version = JSON.parse(readFileSync(new URL("../deno.json", import.meta.url), "utf8")).version ??
      "?";
  } catch { /* optional */ }
  return { backend: currentBackend(), backends, paths, version };
}

/** Makes a float32 Tensor from shared input data. */
export function tensor(a: { data: Float32Array; shape: number[] }): Tensor {
  return np.array(a.data, { dtype: "float32", shape: a.shape });
}

/** Reads every Tensor back (the timed readback) and returns the typed arrays. */
export async function readAll(ts: Tensor[]): Promise<ArrayLike<number>[]> {
  return await Promise.all(ts.map((t) => t.data()));
}

/** Count of equations, and of kernels when the compiler's listing says, for a jitted function. */
export function programSize(f: AnyFn, args: unknown[]): { eqns: number; kernels: number | null } {
  const j = jit(f);
  const low = j.lower(...args);
  const m = /program:\s*(\d+)\s*kernel/.exec(low.asText());
  return { eqns: low.jaxpr.eqns.length, kernels: m ? Number(m[1]) : null };
}
