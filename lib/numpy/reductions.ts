/**
 * Reductions with NumPy's `axis` / `keepdims`: sum, mean, max, min, prod, argmax, argmin, var,
 * std, logsumexp. `prod` is a tree of multiplications, so it differentiates at zeros too.
 * @module
 */
import { bind1 } from "../core.ts";
import { floatOf, isComplex } from "../dtype.ts";
import { imag, real } from "../ops/complex.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { normAxes, normAxis, sizeOf } from "../shape.ts";
import * as red from "../ops/reduce.ts";
import * as ew from "../ops/elementwise.ts";
import { broadcastInDim, concatenate, reshape, slice, transpose } from "../ops/movement.ts";
import { full } from "../ops/_util.ts";
import { asTensor } from "./_convert.ts";
import { checkOptions } from "../options.ts";

const AXIS = ["axis", "keepdims"];
const DDOF = ["axis", "keepdims", "ddof"];

/** `axis` (number, list, or all when omitted) and `keepdims`. */
export interface AxisOptions {
  /** Axes to reduce (all when omitted or null). */
  axis?: number | number[] | null;
  /** Keep reduced axes with size 1. */
  keepdims?: boolean;
}

function withKeepdims(out: Tensor, inShape: number[], axes: number[], keepdims?: boolean): Tensor {
  return keepdims ? reshape(out, inShape.map((d, i) => (axes.includes(i) ? 1 : d))) : out;
}

/** The dtype sums and products accumulate in: small ints widen (int8 and bool to int32, uint8 to uint32). */
function accumType(t: Tensor): Tensor {
  const d = t.aval.dtype;
  if (d === "bool" || d === "int8") return ew.convert(t, "int32");
  return d === "uint8" ? ew.convert(t, "uint32") : t;
}

/**
 * Sum over axes (bool and int8 sum to int32, uint8 to uint32).
 *
 * @example Column sums
 * ```ts
 * import { np } from "../../mod.ts";
 * const s = np.sum([[1, 2], [3, 4]], { axis: 0 });
 * if (s.dataSync().join() !== "4,6") throw new Error("sum");
 * ```
 */
export function sum(x: ArrayLike, opts: AxisOptions = {}): Tensor {
  opts = checkOptions("sum", opts, AXIS);
  const t = accumType(asTensor(x, "sum"));
  const axes = normAxes("sum", opts.axis, t.ndim);
  return withKeepdims(red.reduceSum(t, axes), t.shape, axes, opts.keepdims);
}

/** Arithmetic mean over axes (float result; NaN for empty). */
export function mean(x: ArrayLike, opts: AxisOptions = {}): Tensor {
  opts = checkOptions("mean", opts, AXIS);
  let t = asTensor(x, "mean");
  t = ew.convert(t, floatOf(t.aval.dtype));
  const axes = normAxes("mean", opts.axis, t.ndim);
  const n = sizeOf(axes.map((a) => t.shape[a]));
  const s = withKeepdims(red.reduceSum(t, axes), t.shape, axes, opts.keepdims);
  return ew.div(s, full(s.shape, n, s.dtype));
}

function extremum(name: string, fn: (t: Tensor, axes: number[]) => Tensor) {
  return (x: ArrayLike, opts: AxisOptions = {}): Tensor => {
    opts = checkOptions(name, opts, AXIS);
    const t = asTensor(x, name);
    const axes = normAxes(name, opts.axis, t.ndim);
    if (axes.some((a) => t.shape[a] === 0) || (t.size === 0 && axes.length === 0 && t.ndim === 0)) {
      throw new RangeError(
        `${name}: zero-size array to reduction operation ${name} which has no identity (shape [${
          t.shape.join(",")
        }])`,
      );
    }
    return withKeepdims(fn(t, axes), t.shape, axes, opts.keepdims);
  };
}
/** Maximum over axes (NaN propagates). */
export const max: (x: ArrayLike, opts?: AxisOptions) => Tensor = extremum("max", red.reduceMax);
/** Minimum over axes (NaN propagates). */
export const min: (x: ArrayLike, opts?: AxisOptions) => Tensor = extremum("min", red.reduceMin);

/** Product over axes (bool and int32 give int32). */
export function prod(x: ArrayLike, opts: AxisOptions = {}): Tensor {
  opts = checkOptions("prod", opts, AXIS);
  const t = accumType(asTensor(x, "prod"));
  const axes = normAxes("prod", opts.axis, t.ndim);
  const keep = t.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const rest = keep.map((i) => t.shape[i]);
  let n = sizeOf(axes.map((a) => t.shape[a]));
  let cur = reshape(transpose(t, [...axes, ...keep]), [n, ...rest]);
  if (n === 0) cur = full([1, ...rest], 1, t.dtype);
  while (n > 1) {
    if (n % 2) {
      cur = concatenate([cur, full([1, ...rest], 1, t.dtype)], 0);
      n++;
    }
    const h = n / 2;
    const lim = [n, ...rest];
    cur = ew.mul(
      slice(cur, [0, ...rest.map(() => 0)], [h, ...rest]),
      slice(cur, [h, ...rest.map(() => 0)], lim),
    );
    n = h;
  }
  return withKeepdims(reshape(cur, rest), t.shape, axes, opts.keepdims);
}

function argReduce(name: string, fn: (t: Tensor, axis: number) => Tensor) {
  return (x: ArrayLike, opts: { axis?: number | null; keepdims?: boolean } = {}): Tensor => {
    opts = checkOptions(name, opts, AXIS);
    let t = asTensor(x, name);
    let axis: number;
    if (opts.axis === undefined || opts.axis === null) {
      t = reshape(t, [t.size]);
      axis = 0;
    } else axis = normAxis(name, opts.axis, t.ndim);
    const out = fn(t, axis);
    return opts.keepdims && opts.axis !== undefined && opts.axis !== null
      ? reshape(out, t.shape.map((d, i) => (i === axis ? 1 : d)))
      : opts.keepdims
      ? reshape(out, asTensor(x).shape.map(() => 1))
      : out;
  };
}
/** Index of the first maximum (NaN counts as maximal); flattened when `axis` is omitted. */
export const argmax: (x: ArrayLike, opts?: { axis?: number | null; keepdims?: boolean }) => Tensor =
  argReduce("argmax", red.argMax);
/** Index of the first minimum. */
export const argmin: (x: ArrayLike, opts?: { axis?: number | null; keepdims?: boolean }) => Tensor =
  argReduce("argmin", red.argMin);

/** Variance with `ddof` (delta degrees of freedom). */
export function variance(x: ArrayLike, opts: AxisOptions & { ddof?: number } = {}): Tensor {
  opts = checkOptions("var", opts, DDOF);
  let t = asTensor(x, "var");
  t = ew.convert(t, floatOf(t.aval.dtype));
  const axes = normAxes("var", opts.axis, t.ndim);
  const n = sizeOf(axes.map((a) => t.shape[a]));
  const m = mean(t, { axis: axes, keepdims: true });
  const d = ew.sub(t, broadcastInDim(m, t.shape, t.shape.map((_, i) => i)));
  // complex: |d|² = re² + im², a real variance (as NumPy)
  const sq = isComplex(d.dtype)
    ? ew.add(ew.mul(real(d), real(d)), ew.mul(imag(d), imag(d)))
    : ew.mul(d, d);
  const ss = sum(sq, { axis: axes, keepdims: opts.keepdims });
  return ew.div(ss, full(ss.shape, n - (opts.ddof ?? 0), ss.dtype));
}
export { variance as var };

/** Standard deviation with `ddof`. */
export function std(x: ArrayLike, opts: AxisOptions & { ddof?: number } = {}): Tensor {
  opts = checkOptions("std", opts, DDOF);
  const v = variance(x, opts);
  return bind1(ew.sqrtOp, [v]);
}

/** log(sum(exp(x))) computed stably. */
export function logsumexp(x: ArrayLike, opts: AxisOptions = {}): Tensor {
  opts = checkOptions("logsumexp", opts, AXIS);
  let t = asTensor(x, "logsumexp");
  t = ew.convert(t, floatOf(t.aval.dtype));
  const axes = normAxes("logsumexp", opts.axis, t.ndim);
  const m0 = bind1(ew.stopGradientOp, [red.reduceMax(t, axes)]);
  const fin = bind1(ew.isfiniteOp, [m0]);
  const m = ew.select(fin, m0, full(m0.shape, 0, m0.dtype));
  const keep = t.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const shifted = ew.sub(t, broadcastInDim(m, t.shape, keep));
  const out = ew.add(bind1(ew.logOp, [red.reduceSum(ew.exp(shifted), axes)]), m);
  return withKeepdims(out, t.shape, axes, opts.keepdims);
}
