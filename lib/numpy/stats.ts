/**
 * Statistics and 1-d signal helpers with NumPy/JAX semantics: nansum, nanmean, nanmax, nanmin,
 * average, cov, corrcoef, interp, polyval, convolve, correlate. Compositions of primitives, so
 * they are differentiable where JAX's are.
 * @module
 */
import { floatOf, isFloat } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { fmtShape, normAxes } from "../shape.ts";
import * as mv from "../ops/movement.ts";
import { convert } from "../ops/elementwise.ts";
import { checkOptions } from "../options.ts";
import { convGeneralDilated } from "../lax/conv.ts";
import { asTensor, broadcastTo, resultType, scalar } from "./_convert.ts";
import * as m from "./math.ts";
import { type AxisOptions, max, min, sum } from "./reductions.ts";
import { diagonal } from "./shape_more.ts";
import { matmul } from "./linalg.ts";
import { remainder } from "./math_more.ts";
import { concatenate } from "./shape_ops.ts";
import { sortN } from "../ops/sort.ts";

const AXIS_KEYS = ["axis", "keepdims"];
const fill = (t: Tensor, v: number) => broadcastTo(scalar(v, t.dtype), t.shape);

/**
 * Sum treating NaN as zero.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.nansum([1, NaN, 2]).item(), 3);
 * ```
 */
export function nansum(x: ArrayLike, opts?: AxisOptions): Tensor {
  const o = checkOptions("nansum", opts, AXIS_KEYS);
  const t = asTensor(x, "nansum");
  if (!isFloat(t.dtype)) return sum(t, o);
  return sum(m.where(m.isnan(t), fill(t, 0), t), o);
}

/**
 * Mean of the non-NaN elements (NaN where there are none).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.nanmean([[1, NaN], [NaN, NaN]], { axis: 1 }).dataSync()), [1, NaN]);
 * ```
 */
export function nanmean(x: ArrayLike, opts?: AxisOptions): Tensor {
  const o = checkOptions("nanmean", opts, AXIS_KEYS);
  let t = asTensor(x, "nanmean");
  t = convert(t, floatOf(t.dtype));
  const ok = m.logicalNot(m.isnan(t));
  const n = sum(convert(ok, t.dtype), o);
  return m.divide(sum(m.where(ok, t, fill(t, 0)), o), n);
}

function nanExtremum(name: string, pick: typeof max, ignore: number) {
  return (x: ArrayLike, opts?: AxisOptions): Tensor => {
    const o = checkOptions(name, opts, AXIS_KEYS);
    const t = asTensor(x, name);
    if (!isFloat(t.dtype)) return pick(t, o);
    const nan = m.isnan(t);
    const r = pick(m.where(nan, fill(t, ignore), t), o);
    const allNan = m.logicalNot(m.greater(sum(m.logicalNot(nan), o), 0));
    return m.where(allNan, fill(r, NaN), r);
  };
}
/**
 * Maximum ignoring NaN (NaN where every element is NaN).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.nanmax([1, NaN, 3]).item(), 3);
 * ```
 */
export const nanmax: (x: ArrayLike, opts?: AxisOptions) => Tensor = nanExtremum(
  "nanmax",
  max,
  -Infinity,
);
/**
 * Minimum ignoring NaN (NaN where every element is NaN).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.nanmin([NaN, 2, 3]).item(), 2);
 * ```
 */
export const nanmin: (x: ArrayLike, opts?: AxisOptions) => Tensor = nanExtremum(
  "nanmin",
  min,
  Infinity,
);

/** Options of `np.average`. */
export interface AverageOptions extends AxisOptions {
  /** Weights: the shape of `x`, or 1-d along a single `axis`. */
  weights?: ArrayLike;
  /** Also return the sum of the weights (`[average, sumOfWeights]`). */
  returned?: boolean;
}

/**
 * Weighted average along axes.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.average([1, 2, 3, 4], { weights: [4, 3, 2, 1] }).item(), 2);
 * ```
 */
export function average(x: ArrayLike, opts?: AverageOptions & { returned?: false }): Tensor;
/** With `returned: true`: `[average, sumOfWeights]`. */
export function average(x: ArrayLike, opts: AverageOptions & { returned: true }): [Tensor, Tensor];
export function average(x: ArrayLike, opts?: AverageOptions): Tensor | [Tensor, Tensor] {
  const o = checkOptions("average", opts, ["axis", "keepdims", "weights", "returned"]);
  let t = asTensor(x, "average");
  const ax = { axis: o.axis, keepdims: o.keepdims };
  let avg: Tensor, wsum: Tensor;
  if (o.weights === undefined) {
    t = convert(t, floatOf(t.dtype));
    avg = m.divide(sum(t, ax), sum(fill(t, 1), ax));
    wsum = broadcastTo(scalar(t.size / Math.max(1, avg.size), t.dtype), avg.shape);
  } else {
    let w = asTensor(o.weights, "average");
    const d = floatOf(resultType([t, w]).dtype);
    t = convert(t, d);
    w = convert(w, d);
    if (w.ndim !== t.ndim) {
      const axes = normAxes("average", o.axis, t.ndim);
      if (w.ndim !== 1 || axes.length !== 1 || w.shape[0] !== t.shape[axes[0]]) {
        throw new TypeError(
          `average: weights of shape ${fmtShape(w.shape)} must match x ${
            fmtShape(t.shape)
          } or be 1-d along a single axis`,
        );
      }
      w = mv.broadcastInDim(w, t.shape, [axes[0]]);
    } else w = broadcastTo(w, t.shape);
    wsum = sum(w, ax);
    avg = m.divide(sum(m.multiply(t, w), ax), wsum);
  }
  return o.returned ? [avg, broadcastTo(wsum, avg.shape)] : avg;
}

/** Options of `np.cov`. */
export interface CovOptions {
  /** A second set of variables, stacked under `m`'s. */
  y?: ArrayLike;
  /** Rows are variables (default true); false: columns are. */
  rowvar?: boolean;
  /** Normalize by N instead of N - 1. */
  bias?: boolean;
  /** Delta degrees of freedom (overrides `bias`). */
  ddof?: number;
  /** Integer frequency weights per observation. */
  fweights?: ArrayLike;
  /** Observation weights. */
  aweights?: ArrayLike;
}

/**
 * Covariance matrix of variables (rows of `m` by default), as `numpy.cov`.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const c = np.cov([[0, 1, 2], [2, 1, 0]]);
 * assert.deepEqual(Array.from(c.dataSync()), [1, -1, -1, 1]);
 * ```
 */
export function cov(x: ArrayLike, opts?: CovOptions): Tensor {
  const o = checkOptions("cov", opts, ["y", "rowvar", "bias", "ddof", "fweights", "aweights"]);
  let X = asTensor(x, "cov");
  if (X.ndim > 2) {
    throw new TypeError(`cov: m has more than 2 dimensions (shape ${fmtShape(X.shape)})`);
  }
  X = convert(X, floatOf(X.dtype));
  const as2 = (t: Tensor) => (t.ndim < 2 ? mv.reshape(t, [1, t.size]) : t);
  X = as2(X);
  if (o.rowvar === false && X.shape[0] !== 1) X = mv.transpose(X, [1, 0]);
  if (o.y !== undefined) {
    let Y = as2(convert(asTensor(o.y, "cov"), X.dtype));
    if (o.rowvar === false && Y.shape[0] !== 1) Y = mv.transpose(Y, [1, 0]);
    X = mv.concatenate([X, Y], 0);
  }
  const ddof = o.ddof ?? (o.bias ? 0 : 1);
  let w: Tensor | undefined;
  if (o.fweights !== undefined) w = convert(asTensor(o.fweights, "cov"), X.dtype);
  if (o.aweights !== undefined) {
    const a = convert(asTensor(o.aweights, "cov"), X.dtype);
    w = w ? m.multiply(w, a) : a;
  }
  const n = X.shape[1];
  let fact: Tensor, avg: Tensor;
  if (!w) {
    avg = m.divide(sum(X, { axis: 1 }), n);
    fact = scalar(n - ddof, X.dtype);
  } else {
    const wsum = sum(w);
    avg = m.divide(sum(m.multiply(X, w), { axis: 1 }), wsum);
    fact = o.aweights === undefined ? m.subtract(wsum, ddof) : m.subtract(
      wsum,
      m.divide(m.multiply(ddof, sum(m.multiply(w, asTensor(o.aweights)))), wsum),
    );
  }
  const Xc = m.subtract(X, mv.broadcastInDim(avg, X.shape, [0]));
  const XT = mv.transpose(w ? m.multiply(Xc, w) : Xc, [1, 0]);
  const c = m.divide(matmul(Xc, XT), fact);
  return c.shape[0] === 1 ? mv.reshape(c, []) : c;
}

/**
 * Pearson correlation coefficients (`cov` normalized by the standard deviations, clipped to
 * [-1, 1]).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const r = np.corrcoef([1, 2, 3], { y: [2, 4, 7] });
 * assert.ok(Math.abs((r.dataSync()[1] as number) - 0.9933992) < 1e-5);
 * ```
 */
export function corrcoef(x: ArrayLike, opts?: { y?: ArrayLike; rowvar?: boolean }): Tensor {
  const o = checkOptions("corrcoef", opts, ["y", "rowvar"]);
  const c = cov(x, o);
  if (c.ndim === 0) return m.divide(c, c);
  const sd = m.sqrt(diagonal(c));
  const n = c.shape[0];
  const r = m.divide(
    m.divide(c, mv.broadcastInDim(sd, [n, n], [0])),
    mv.broadcastInDim(sd, [n, n], [1]),
  );
  return m.clip(r, -1, 1);
}

/** Options of `np.interp`. */
export interface InterpOptions {
  /** Value for x < xp[0] (default fp[0]). */
  left?: number;
  /** Value for x > xp[-1] (default fp[-1]). */
  right?: number;
  /**
   * Period of a periodic x-coordinate (NumPy's `period`): x and xp are taken modulo it, xp
   * need not be sorted, and `left` / `right` are ignored. Must be non-zero.
   */
  period?: number;
}

/**
 * Piecewise-linear interpolation of (xp, fp) at x; xp must be increasing.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.interp([0, 1.5, 2.5, 9], [1, 2, 3], [10, 20, 40]);
 * assert.deepEqual(Array.from(y.dataSync()), [10, 15, 30, 40]);
 * // periodic: angles in degrees, xp unsorted and wrapping around
 * const a = np.interp([0, 265, -360], [350, 10, 180], [1, 3, 5], { period: 360 });
 * assert.deepEqual(Array.from(a.dataSync()), [2, 3, 2]);
 * ```
 */
export function interp(x: ArrayLike, xp: ArrayLike, fp: ArrayLike, opts?: InterpOptions): Tensor {
  const o = checkOptions("interp", opts, ["left", "right", "period"]);
  let t = asTensor(x, "interp"), xs = asTensor(xp, "interp"), fs = asTensor(fp, "interp");
  if (xs.ndim !== 1 || fs.ndim !== 1 || xs.shape[0] !== fs.shape[0] || xs.shape[0] === 0) {
    throw new TypeError(
      `interp: xp and fp must be 1-d of the same non-zero length, got ${fmtShape(xs.shape)} and ${
        fmtShape(fs.shape)
      }`,
    );
  }
  const d = floatOf(resultType([t, xs, fs]).dtype);
  [t, xs, fs] = [t, xs, fs].map((a) => convert(a, d));
  if (o.period !== undefined) [t, xs, fs] = periodic(t, xs, fs, o.period);
  const n = xs.shape[0];
  const shape = [...t.shape, n];
  const xb = mv.broadcastInDim(xs, shape, [t.ndim]);
  const fb = mv.broadcastInDim(fs, shape, [t.ndim]);
  // i = searchsorted(xp, x, "right") clipped to [1, n - 1], then one-hot picks of xp/fp at i, i-1
  const tb = mv.broadcastInDim(t, shape, t.shape.map((_, k) => k));
  const cnt = sum(m.lessEqual(xb, tb), { axis: -1 });
  const i = m.clip(cnt, Math.min(1, n - 1), n - 1);
  const iota = mv.broadcastInDim(
    asTensor(Int32Array.from({ length: n }, (_, k) => k)),
    shape,
    [t.ndim],
  );
  const at = (v: Tensor, j: Tensor) => {
    const hot = m.equal(iota, mv.broadcastInDim(j, shape, t.shape.map((_, k) => k)));
    return sum(m.where(hot, v, fill(v, 0)), { axis: -1 });
  };
  const im1 = m.maximum(m.subtract(i, 1), 0);
  const f0 = at(fb, im1), f1 = at(fb, i), x0 = at(xb, im1), x1 = at(xb, i);
  const dx = m.subtract(x1, x0);
  const dx0 = m.lessEqual(m.abs(dx), 0);
  const slope = m.divide(m.subtract(t, x0), m.where(dx0, fill(dx, 1), dx));
  let f = m.where(dx0, f0, m.add(f0, m.multiply(slope, m.subtract(f1, f0))));
  const first = mv.reshape(mv.slice(fs, [0], [1]), []),
    last = mv.reshape(mv.slice(fs, [n - 1], [n]), []);
  const lo = mv.reshape(mv.slice(xs, [0], [1]), []),
    hi = mv.reshape(mv.slice(xs, [n - 1], [n]), []);
  if (o.period !== undefined) return convert(f, d);
  f = m.where(m.less(t, lo), o.left ?? first, f);
  f = m.where(m.greater(t, hi), o.right ?? last, f);
  return convert(f, d);
}

/** interp's periodic case: x, xp mod |period|, xp sorted (fp along), one wrapped point each side. */
function periodic(t: Tensor, xs: Tensor, fs: Tensor, period: number): Tensor[] {
  if (typeof period !== "number" || period === 0 || !Number.isFinite(period)) {
    throw new RangeError(`interp: period must be a finite non-zero number, got ${period}`);
  }
  const p = Math.abs(period), n = xs.shape[0];
  [xs, fs] = sortN([remainder(xs, p), fs], { dimension: 0, numKeys: 1 });
  const end = (a: Tensor, i: number) => mv.slice(a, [i], [i + 1]);
  return [
    remainder(t, p),
    concatenate([m.subtract(end(xs, n - 1), p), xs, m.add(end(xs, 0), p)]),
    concatenate([end(fs, n - 1), fs, end(fs, 0)]),
  ];
}

/**
 * Evaluates the polynomial with coefficients `p` (highest power first) at x, by Horner's rule.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.polyval([1, 0, -1], [0, 2, 3]).dataSync()), [-1, 3, 8]);
 * ```
 */
export function polyval(p: ArrayLike, x: ArrayLike): Tensor {
  const c = asTensor(p, "polyval");
  const t = asTensor(x, "polyval");
  if (c.ndim !== 1) throw new TypeError(`polyval: p must be 1-d, got shape ${fmtShape(c.shape)}`);
  const d = resultType([c, t]).dtype;
  let y = m.multiply(convert(t, d), 0);
  for (let i = 0; i < c.shape[0]; i++) {
    y = m.add(m.multiply(y, t), mv.reshape(mv.slice(convert(c, d), [i], [i + 1]), []));
  }
  return y;
}

type ConvMode = "full" | "same" | "valid";
function conv1d(name: string, a: ArrayLike, v: ArrayLike, mode: ConvMode, flip: boolean): Tensor {
  let x = asTensor(a, name), y = asTensor(v, name);
  if (x.ndim !== 1 || y.ndim !== 1) {
    throw new TypeError(
      `${name}: a and v must be 1-d, got shapes ${fmtShape(x.shape)} and ${fmtShape(y.shape)}`,
    );
  }
  if (!x.shape[0] || !y.shape[0]) throw new TypeError(`${name}: a and v cannot be empty`);
  if (!["full", "same", "valid"].includes(mode)) {
    throw new RangeError(
      `${name}: mode must be "full", "same" or "valid", got ${JSON.stringify(mode)}`,
    );
  }
  const d = floatOf(resultType([x, y]).dtype);
  x = convert(x, d);
  y = convert(y, d);
  let reverse = false;
  if (x.shape[0] < y.shape[0]) {
    [x, y] = [y, x];
    reverse = !flip;
  }
  if (flip) y = mv.rev(y, [0]);
  const k = y.shape[0];
  const pad: [number, number] = mode === "valid"
    ? [0, 0]
    : mode === "same"
    ? [Math.floor(k / 2), k - Math.floor(k / 2) - 1]
    : [k - 1, k - 1];
  const out = convGeneralDilated(mv.reshape(x, [1, 1, x.shape[0]]), mv.reshape(y, [1, 1, k]), [1], [
    pad,
  ]);
  const r = mv.reshape(out, [out.shape[2]]);
  return reverse ? mv.rev(r, [0]) : r;
}

/**
 * Discrete linear convolution of two 1-d arrays (`mode` "full" (default), "same" or "valid").
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.convolve([1, 2, 3], [0, 1, 0.5]).dataSync()), [0, 1, 2.5, 4, 1.5]);
 * ```
 */
export function convolve(a: ArrayLike, v: ArrayLike, opts?: { mode?: ConvMode }): Tensor {
  return conv1d("convolve", a, v, checkOptions("convolve", opts, ["mode"]).mode ?? "full", true);
}
/**
 * Cross-correlation of two 1-d arrays (`mode` "valid" (default), "same" or "full").
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.correlate([1, 2, 3], [0, 1, 0.5], { mode: "full" }).dataSync()), [0.5, 2, 3.5, 3, 0]);
 * ```
 */
export function correlate(a: ArrayLike, v: ArrayLike, opts?: { mode?: ConvMode }): Tensor {
  return conv1d(
    "correlate",
    a,
    v,
    checkOptions("correlate", opts, ["mode"]).mode ?? "valid",
    false,
  );
}
