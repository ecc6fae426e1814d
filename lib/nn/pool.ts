/**
 * N-d pooling over the trailing spatial axes (NC+spatial layout): `maxPool` and `avgPool` with
 * PyTorch semantics (floor for non-tiling strides, padding at most half the window), lowered onto
 * `lax.reduceWindow`, so they differentiate to any order, vmap and jit.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { asTensor } from "../numpy/_convert.ts";
import { divide } from "../numpy/math.ts";
import { ones } from "../numpy/creation.ts";
import { reduceWindow } from "../lax/reduce_window.ts";
import { fmt, nnPadding, perDim, toFloat } from "../lax/_args.ts";
import { checkOptions } from "../options.ts";

/** Options of {@linkcode maxPool}. */
export interface MaxPoolOptions {
  /** Window size: a number (every spatial dim of an (N, C, ...) input) or one per pooled trailing dim. */
  window: number | number[];
  /** Stride (default: the window). */
  stride?: number | number[];
  /** Padding: a number, one per dim, or `[lo, hi]` per dim; at most half the (dilated) window (default 0). */
  padding?: number | number[] | [number, number][];
  /** Window dilation (default 1). */
  dilation?: number | number[];
  /**
   * Round the output size up instead of down (PyTorch `ceil_mode`): a last, partial window is
   * kept when it starts inside the input or its left padding. Default false.
   */
  ceilMode?: boolean;
}

/** Options of {@linkcode avgPool}. */
export interface AvgPoolOptions {
  /** Window size: a number (every spatial dim of an (N, C, ...) input) or one per pooled trailing dim. */
  window: number | number[];
  /** Stride (default: the window). */
  stride?: number | number[];
  /** Padding: a number, one per dim, or `[lo, hi]` per dim; at most half the window (default 0). */
  padding?: number | number[] | [number, number][];
  /** Divide by the whole window including padding (default true) or by the real elements only. */
  countIncludePad?: boolean;
  /**
   * Round the output size up (PyTorch `ceil_mode`, default false); the part of a last window past
   * the padding is never counted in its divisor.
   */
  ceilMode?: boolean;
}

interface PoolGeometry {
  lead: number;
  window: number[];
  stride: number[];
  dilation: number[];
  pads: [number, number][];
  /** Extra high padding per pooled dim that ceilMode's last partial windows reach into. */
  extra: number[];
}

function geometry(
  op: string,
  x: Tensor,
  opts: {
    window: unknown;
    stride?: unknown;
    padding?: unknown;
    dilation?: unknown;
    ceilMode?: unknown;
  },
): PoolGeometry {
  if (opts === undefined || opts === null || opts.window === undefined) {
    throw new TypeError(
      `${op}: options must include window (a number or one size per pooled dimension)`,
    );
  }
  let n: number;
  if (Array.isArray(opts.window)) {
    n = opts.window.length;
    if (n === 0 || n > x.ndim) {
      throw new TypeError(
        `${op}: window ${
          fmt(opts.window)
        } must name between 1 and ${x.ndim} trailing dimensions of x shape ${fmt(x.shape)}`,
      );
    }
  } else {
    if (x.ndim < 3) {
      throw new TypeError(
        `${op}: x must have at least 3 dimensions (N, C, X0, ...), got shape ${fmt(x.shape)}`,
      );
    }
    n = x.ndim - 2;
  }
  const window = perDim(op, "window", opts.window, n, 1);
  const stride = perDim(op, "stride", opts.stride ?? window, n, 1);
  const dilation = perDim(op, "dilation", opts.dilation ?? 1, n, 1);
  const kd = window.map((k, i) => (k - 1) * dilation[i] + 1);
  const padding = opts.padding ?? 0;
  const pads = nnPadding(op, padding, n, "pooled dimension");
  const lead = x.ndim - n;
  for (let i = 0; i < n; i++) {
    const half = Math.floor(kd[i] / 2);
    if (pads[i][0] > half || pads[i][1] > half) {
      throw new RangeError(
        `${op}: padding ${
          fmt(pads[i])
        } of pooled dimension ${i} must be at most half the window size ${kd[i]} (${half})`,
      );
    }
    const P = x.shape[lead + i] + pads[i][0] + pads[i][1];
    if (kd[i] > P) {
      throw new RangeError(
        `${op}: the window fits nowhere along pooled dimension ${i}: window size ${
          kd[i]
        } exceeds the padded input size ${P} (x shape ${fmt(x.shape)})`,
      );
    }
  }
  const ceil = opts.ceilMode ?? false;
  if (typeof ceil !== "boolean") {
    throw new TypeError(`${op}: ceilMode ${fmt(ceil)} must be a boolean`);
  }
  const extra = window.map((_, i) => {
    if (!ceil) return 0;
    const L = x.shape[lead + i], P = L + pads[i][0] + pads[i][1], s = stride[i];
    let out = Math.floor((P - kd[i] + s - 1) / s) + 1;
    if ((out - 1) * s >= L + pads[i][0]) out--; // the last window must start before the end
    return Math.max(0, (out - 1) * s + kd[i] - P);
  });
  return { lead, window, stride, dilation, pads, extra };
}

/** Padding per pooled dim with ceilMode's extra high padding. */
function withExtra(g: PoolGeometry): [number, number][] {
  return g.pads.map((p, i) => [p[0], p[1] + g.extra[i]]);
}

function full<T>(lead: number, v: T, rest: T[]): T[] {
  return [...new Array<T>(lead).fill(v), ...rest];
}

/**
 * Max pooling over the trailing spatial axes, PyTorch `max_poolNd` / mygrad `max_pool` semantics:
 * padding holds -Infinity, non-tiling strides are floored, the gradient of each window goes to
 * its first maximum (overlapping windows accumulate), NaN propagates.
 *
 * @param x Input (N, C, X0, ...) (or any array when `window` is a list: its trailing axes are pooled).
 * @param opts `window`, `stride` (default window), `padding`, `dilation`, `ceilMode`.
 * @returns The pooled array (same dtype).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { maxPool } from "./pool.ts";
 * const x = np.arange(16, { dtype: "float32" }).reshape([1, 1, 4, 4]);
 * if (maxPool(x, { window: 2 }).dataSync().join() !== "5,7,13,15") throw new Error("maxPool");
 * ```
 */
export function maxPool(x: ArrayLike, opts: MaxPoolOptions): Tensor {
  const op = "maxPool";
  opts = checkOptions(op, opts, ["window", "stride", "padding", "dilation", "ceilMode"]);
  const t = asTensor(x, op);
  if (t.dtype === "bool") throw new TypeError(`${op}: x dtype bool is not supported`);
  const g = geometry(op, t, opts);
  return reduceWindow(
    t,
    -Infinity,
    "max",
    full(g.lead, 1, g.window),
    full(g.lead, 1, g.stride),
    full(g.lead, [0, 0] as [number, number], withExtra(g)),
    {
      windowDilation: full(g.lead, 1, g.dilation),
    },
  );
}

/**
 * Average pooling over the trailing spatial axes, PyTorch `avg_poolNd` semantics: zero padding,
 * divided by the window size (`countIncludePad`, default) or by the number of real elements.
 *
 * @param x Input (N, C, X0, ...) (or any array when `window` is a list).
 * @param opts `window`, `stride` (default window), `padding`, `countIncludePad`, `ceilMode`.
 * @returns The pooled array (float).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import { avgPool } from "./pool.ts";
 * const x = np.array([[[1, 2, 3, 4]]]);
 * if (avgPool(x, { window: 2 }).dataSync().join() !== "1.5,3.5") throw new Error("avgPool");
 * ```
 */
export function avgPool(x: ArrayLike, opts: AvgPoolOptions): Tensor {
  const op = "avgPool";
  opts = checkOptions(op, opts, ["window", "stride", "padding", "countIncludePad", "ceilMode"]);
  const t = toFloat(op, x);
  const g = geometry(op, t, { ...opts, dilation: undefined });
  const win = full(g.lead, 1, g.window), str = full(g.lead, 1, g.stride);
  const pads = full(g.lead, [0, 0] as [number, number], withExtra(g));
  const s = reduceWindow(t, 0, "sum", win, str, pads);
  const spatial = t.shape.slice(g.lead);
  if (opts.countIncludePad ?? true) {
    if (g.extra.every((e) => e === 0)) return divide(s, g.window.reduce((a, b) => a * b, 1));
    // the divisor counts the window's positions inside the padded input, not past it
    const padded = spatial.map((d, i) => d + g.pads[i][0] + g.pads[i][1]);
    const counts = reduceWindow(
      ones(padded, { dtype: t.dtype }),
      0,
      "sum",
      g.window,
      g.stride,
      g.extra.map((e) => [0, e] as [number, number]),
    );
    return divide(s, counts);
  }
  const counts = reduceWindow(
    ones(spatial, { dtype: t.dtype }),
    0,
    "sum",
    g.window,
    g.stride,
    withExtra(g),
  );
  return divide(s, counts);
}
