/**
 * Order statistics and counting: `quantile`, `percentile`, `median` (sort + interpolation, so
 * differentiable), `bincount` (a scatter-add; `length` makes it jittable) and `histogram`
 * (eager).
 * @module
 */
import { bind1, fromHost } from "../core.ts";
import { floatOf } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { arrayFrom, asTensor, scalar } from "./_convert.ts";
import * as ew from "../ops/elementwise.ts";
import * as mv from "../ops/movement.ts";
import { reduceMax } from "../ops/reduce.ts";
import { sortN } from "../ops/sort.ts";
import { scatterAdd } from "../ops/gather.ts";
import { moveAxis } from "../ops/_util.ts";
import { normAxis } from "../shape.ts";
import { checkOptions } from "../options.ts";

/** Interpolation of {@link quantile} between the two neighbouring order statistics. */
export type QuantileMethod = "linear" | "lower" | "higher" | "nearest" | "midpoint";
/** Options of {@link quantile}, {@link percentile} and {@link median}. */
export interface QuantileOptions {
  /** Axis (default: the flattened array). */
  axis?: number | null;
  /** Keep the reduced axis with size 1. */
  keepdims?: boolean;
  /** NumPy's interpolation methods (default "linear"). */
  method?: QuantileMethod;
}
const Q_KEYS = ["axis", "keepdims", "method"];
const METHODS = ["linear", "lower", "higher", "nearest", "midpoint"];

/** The q values as JS numbers (a traced q is not supported: its values pick the order statistics). */
function qValues(op: string, q: ArrayLike, scale = 1): { vals: number[]; shape: number[] } {
  // JS numbers are read as given (a float32 array would move 0.1 off the midpoint rules)
  let d: globalThis.ArrayLike<number>, shape: number[];
  if (typeof q === "number" || Array.isArray(q)) {
    const flat = [q].flat(Infinity as 1) as number[];
    shape = typeof q === "number" ? [] : [q.length];
    if (flat.length !== (typeof q === "number" ? 1 : q.length)) {
      throw new TypeError(`${op}: q must be a number or a 1-d list of numbers`);
    }
    d = flat;
  } else {
    const t = asTensor(q, op);
    shape = t.shape;
    try {
      d = t._concrete()._valuesSync();
    } catch (e) {
      throw new TypeError(
        `${op}: q must be concrete (numbers or a concrete array): ${(e as Error).message}`,
      );
    }
  }
  const vals = Array.from(d, (v) => Number(v) / scale);
  if (vals.some((v) => !(v >= 0 && v <= 1))) {
    throw new RangeError(`${op}: q must be in [0, ${scale}], got ${Array.from(d).join(", ")}`);
  }
  return { vals, shape };
}

function quantileImpl(
  op: string,
  x: ArrayLike,
  q: ArrayLike,
  opts?: QuantileOptions,
  scale = 1,
): Tensor {
  const o = checkOptions(op, opts, Q_KEYS);
  const method = o.method ?? "linear";
  if (!METHODS.includes(method)) {
    throw new RangeError(`${op}: method must be one of ${METHODS.join(", ")}, got ${method}`);
  }
  const { vals, shape: qShape } = qValues(op, q, scale);
  let t = asTensor(x, op);
  if (t.dtype !== "float32" && t.dtype !== "float64") t = ew.convert(t, floatOf(t.dtype));
  const flat = o.axis === undefined || o.axis === null;
  const ax = flat ? 0 : normAxis(op, o.axis!, t.ndim);
  const xt = flat ? mv.reshape(t, [t.size]) : moveAxis(t, ax, t.ndim - 1);
  const last = xt.ndim - 1, n = xt.shape[last];
  if (n === 0) throw new RangeError(`${op}: cannot take a quantile of an empty axis`);
  const [sorted] = sortN([xt], { dimension: last, numKeys: 1 });
  const rest = xt.shape.slice(0, last);
  const at = (i: number) =>
    mv.reshape(
      mv.slice(sorted, [...rest.map(() => 0), i], [...rest, i + 1]),
      rest,
    );
  const c = (v: number) => mv.broadcastInDim(scalar(v, t.dtype), rest, []);
  const top = at(n - 1); // NaN anywhere in a row sorts last and makes its quantiles NaN
  const one = (qv: number): Tensor => {
    const pos = qv * (n - 1), lo = Math.floor(pos), hi = Math.min(lo + 1, n - 1);
    const frac = pos - lo;
    const a = at(lo), b = at(hi);
    let r: Tensor;
    if (method === "lower") r = a;
    else if (method === "higher") r = frac > 0 ? b : a;
    else if (method === "midpoint") r = frac > 0 ? ew.mul(ew.add(a, b), c(0.5)) : a;
    else if (method === "nearest") r = frac > 0.5 || (frac === 0.5 && lo % 2 === 1) ? b : a;
    else r = frac === 0 ? a : ew.add(a, ew.mul(c(frac), ew.sub(b, a)));
    return ew.select(bind1(ew.isnanOp, [top]), top, r);
  };
  let r = vals.length === 1 && qShape.length === 0
    ? one(vals[0])
    : mv.reshape(mv.concatenate(vals.map((v) => mv.reshape(one(v), [1, ...rest])), 0), [
      ...qShape,
      ...rest,
    ]);
  if (o.keepdims) {
    const kd = flat ? t.shape.map(() => 1) : t.shape.map((d, i) => (i === ax ? 1 : d));
    r = mv.reshape(r, [...qShape, ...kd]);
  }
  return r;
}

/**
 * The `q`-th quantiles (q in [0, 1]; a number or an array of them) along `axis` (flattened by
 * default), interpolated by `method` as in NumPy; q's axes come first. Differentiable in `x`.
 *
 * @param x The data.
 * @param q Quantile(s) in [0, 1] (concrete values).
 * @param opts `axis`, `keepdims`, `method`.
 * @returns The quantiles.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.quantile(np.array([1, 2, 3, 4, 5]), [0.25, 0.5]);
 * assert.deepEqual(Array.from(y.dataSync()), [2, 3]);
 * ```
 */
export function quantile(x: ArrayLike, q: ArrayLike, opts?: QuantileOptions): Tensor {
  return quantileImpl("quantile", x, q, opts);
}

/**
 * The `q`-th percentiles (q in [0, 100]); see {@link quantile}.
 *
 * @param x The data.
 * @param q Percentile(s) in [0, 100].
 * @param opts `axis`, `keepdims`, `method`.
 * @returns The percentiles.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.percentile(np.array([0, 10, 20, 30]), 50).item(), 15);
 * ```
 */
export function percentile(x: ArrayLike, q: ArrayLike, opts?: QuantileOptions): Tensor {
  return quantileImpl("percentile", x, q, opts, 100);
}

/**
 * The median along `axis` (flattened by default; NaN if the slice holds a NaN).
 *
 * @param x The data.
 * @param opts `axis`, `keepdims`.
 * @returns The medians.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.median(np.array([[3, 1, 2], [4, 6, 5]]), { axis: 1 }).dataSync()), [2, 5]);
 * ```
 */
export function median(x: ArrayLike, opts?: { axis?: number | null; keepdims?: boolean }): Tensor {
  const o = checkOptions("median", opts, ["axis", "keepdims"]);
  return quantileImpl("median", x, 0.5, o);
}

/**
 * Counts of each non-negative integer (or sums of `weights`), JAX style: negative values count
 * as 0; with `length` the result has exactly that size (values past it are dropped) and the
 * function is jittable; without it the size is `max(x) + 1` (eager).
 *
 * @param x 1-d int32 values.
 * @param opts `weights`, `minlength`, `length`.
 * @returns int32 counts, or weight sums in the weights' dtype.
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const x = np.array([1, 1, 3], { dtype: "int32" });
 * assert.deepEqual(Array.from(np.bincount(x).dataSync()), [0, 2, 0, 1]);
 * assert.deepEqual(Array.from(np.bincount(x, { length: 2 }).dataSync()), [0, 2]);
 * ```
 */
export function bincount(
  x: ArrayLike,
  opts?: { weights?: ArrayLike; minlength?: number; length?: number },
): Tensor {
  const o = checkOptions("bincount", opts, ["weights", "minlength", "length"]);
  let t = asTensor(x, "bincount");
  if (t.dtype === "bool" || (t.aval.weak && t.dtype !== "int32")) t = ew.convert(t, "int32");
  if (t.dtype !== "int32") throw new TypeError(`bincount: x must be int32, got ${t.dtype}`);
  if (t.ndim !== 1) throw new TypeError(`bincount: x must be 1-d, got shape [${t.shape}]`);
  const zero = mv.broadcastInDim(scalar(0, "int32"), t.shape, []);
  t = ew.select(ew.lt(t, zero), zero, t);
  let length = o.length;
  if (length === undefined) {
    let m;
    try {
      m = t.size ? Number(reduceMax(t, [0])._concrete()._valuesSync()[0]) : -1;
    } catch {
      throw new TypeError(
        "bincount: pass { length } to use it inside jit or vmap (the size depends on the values)",
      );
    }
    length = Math.max(m + 1, o.minlength ?? 0);
  }
  if (!Number.isInteger(length) || length < 0) {
    throw new RangeError(`bincount: length must be a non-negative integer, got ${length}`);
  }
  const w = o.weights === undefined ? null : asTensor(o.weights, "bincount");
  const dtype = w ? (w.dtype === "bool" ? "int32" : w.dtype) : "int32";
  const upd = w ? ew.convert(w, dtype) : mv.broadcastInDim(scalar(1, "int32"), t.shape, []);
  return scatterAdd(
    mv.broadcastInDim(scalar(0, dtype), [length], []),
    mv.reshape(t, [t.size, 1]),
    upd,
    {
      dimensionNumbers: {
        updateWindowDims: [],
        insertedWindowDims: [0],
        scatterDimsToOperandDims: [0],
        operandBatchingDims: [],
        scatterIndicesBatchingDims: [],
      },
      mode: "fill",
    },
  );
}

/**
 * NumPy's `histogram` (eager): counts in `bins` equal bins over `range` (default: the data's
 * min and max), or over the given bin edges; the last bin includes its right edge.
 *
 * @param a The data (flattened).
 * @param opts `bins` (count or edges), `range`, `weights`, `density`.
 * @returns `[hist, binEdges]` (int32 counts; float with weights or density).
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [h, e] = np.histogram(np.array([1, 2, 2, 3, 4]), { bins: 3 });
 * assert.deepEqual(Array.from(h.dataSync()), [1, 2, 2]);
 * assert.equal(e.size, 4);
 * ```
 */
export function histogram(
  a: ArrayLike,
  opts?: {
    bins?: number | ArrayLike;
    range?: [number, number];
    weights?: ArrayLike;
    density?: boolean;
  },
): [Tensor, Tensor] {
  const o = checkOptions("histogram", opts, ["bins", "range", "weights", "density"]);
  const read = (v: ArrayLike, what: string) => {
    try {
      return Array.from(asTensor(v, "histogram")._concrete()._valuesSync(), Number);
    } catch (e) {
      throw new TypeError(
        `histogram: ${what} must be concrete (eager only): ${(e as Error).message}`,
      );
    }
  };
  const data = read(a, "a");
  const t = asTensor(a, "histogram");
  const fd = t.dtype === "float64" ? "float64" : "float32";
  let edges: number[];
  const bins = o.bins ?? 10;
  if (typeof bins === "number") {
    if (!Number.isInteger(bins) || bins < 1) {
      throw new RangeError(`histogram: bins must be a positive integer, got ${bins}`);
    }
    const fin = data.filter(Number.isFinite);
    let [lo, hi] = o.range ??
      [fin.length ? Math.min(...fin) : 0, fin.length ? Math.max(...fin) : 1];
    if (!(lo <= hi)) throw new RangeError(`histogram: range [${lo}, ${hi}] must have min <= max`);
    if (lo === hi) [lo, hi] = [lo - 0.5, hi + 0.5];
    edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  } else {
    edges = read(bins, "bins");
    if (edges.some((e, i) => i > 0 && e < edges[i - 1])) {
      throw new RangeError("histogram: bin edges must increase monotonically");
    }
  }
  const w = o.weights === undefined ? null : read(o.weights, "weights");
  const nb = edges.length - 1;
  const hist = new Float64Array(nb);
  data.forEach((v, i) => {
    if (!(v >= edges[0] && v <= edges[nb])) return;
    let lo = 0, hi = nb; // last edge <= v
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (edges[mid] <= v) lo = mid;
      else hi = mid;
    }
    hist[lo] += w ? w[i] : 1;
  });
  const edgesT = fromHost(fd === "float64" ? Float64Array.from(edges) : Float32Array.from(edges), [
    nb + 1,
  ], fd);
  if (o.density) {
    const total = hist.reduce((s, v) => s + v, 0);
    const dens = Array.from(hist, (h, i) => h / total / (edges[i + 1] - edges[i]));
    return [arrayFrom(dens, { dtype: fd }, "histogram"), edgesT];
  }
  return [arrayFrom(Array.from(hist), { dtype: w ? fd : "int32" }, "histogram"), edgesT];
}
