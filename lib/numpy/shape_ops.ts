/**
 * Shape manipulation: reshape, transpose, expandDims, squeeze, concatenate, stack, split, pad,
 * flip, broadcastTo, ravel, moveaxis, swapaxes and NumPy-style slicing.
 * @module
 */
import type { ArrayLike, Tensor } from "../tensor.ts";
import { broadcastShapes, fmtShape, normAxes, normAxis, shapeEqual, sizeOf } from "../shape.ts";
import * as mv from "../ops/movement.ts";
import { convert } from "../ops/elementwise.ts";
import { asTensor, broadcastTo as bcast, resultType, scalar } from "./_convert.ts";
import { type IndexSpec, indexWith } from "./_indexing.ts";
import { checkOptions } from "../options.ts";

/** Reshapes (row-major); one entry may be -1. */
export function reshape(x: ArrayLike, shape: number[] | number): Tensor {
  const t = asTensor(x, "reshape");
  if (typeof shape !== "number" && !Array.isArray(shape)) {
    throw new TypeError(
      `reshape: shape must be a number or a list of integers, got ${
        shape === null ? "null" : typeof shape
      } (array of shape ${fmtShape(t.shape)})`,
    );
  }
  const s = typeof shape === "number" ? [shape] : [...shape];
  const neg = s.filter((d) => d === -1).length;
  if (neg > 1 || s.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new TypeError(`reshape: invalid shape ${fmtShape(s)}`);
  }
  if (neg === 1) {
    const known = sizeOf(s.filter((d) => d !== -1));
    const i = s.indexOf(-1);
    if (known === 0 || t.size % known !== 0) {
      throw new TypeError(
        `reshape: cannot reshape array of shape ${fmtShape(t.shape)} (size ${t.size}) into shape ${
          fmtShape(s)
        }`,
      );
    }
    s[i] = t.size / known;
  }
  return mv.reshape(t, s);
}

/** Permutes axes (reverses them when `axes` is omitted). */
export function transpose(x: ArrayLike, axes?: number[]): Tensor {
  const t = asTensor(x, "transpose");
  const perm = axes
    ? axes.map((a) => normAxis("transpose", a, t.ndim, "axes"))
    : [...Array(t.ndim).keys()].reverse();
  return mv.transpose(t, perm);
}

/** Inserts size-1 axes at the given positions of the result. */
export function expandDims(x: ArrayLike, axis: number | number[]): Tensor {
  const t = asTensor(x, "expandDims");
  const n = t.ndim + (typeof axis === "number" ? 1 : axis.length);
  const axes = normAxes("expandDims", axis, n);
  const shape: number[] = [];
  let k = 0;
  for (let i = 0; i < n; i++) shape.push(axes.includes(i) ? 1 : t.shape[k++]);
  return mv.reshape(t, shape);
}

/** Removes size-1 axes (all of them, or the given ones, which must have size 1). */
export function squeeze(x: ArrayLike, axis?: number | number[] | null): Tensor {
  const t = asTensor(x, "squeeze");
  const axes = axis === undefined || axis === null
    ? t.shape.map((d, i) => (d === 1 ? i : -1)).filter((i) => i >= 0)
    : normAxes("squeeze", axis, t.ndim);
  for (const a of axes) {
    if (t.shape[a] !== 1) {
      throw new RangeError(
        `squeeze: cannot squeeze axis ${a} of size ${t.shape[a]} (shape ${fmtShape(t.shape)})`,
      );
    }
  }
  return mv.reshape(t, t.shape.filter((_, i) => !axes.includes(i)));
}

/** Joins arrays along an existing axis. */
export function concatenate(xs: ArrayLike[], axis = 0): Tensor {
  if (!xs.length) throw new TypeError("concatenate: need at least one array");
  const ts = xs.map((x) => asTensor(x, "concatenate"));
  if (ts.some((t) => t.ndim === 0)) {
    throw new TypeError("concatenate: zero-dimensional arrays cannot be concatenated");
  }
  if (ts.some((t) => t.ndim !== ts[0].ndim)) {
    throw new TypeError(
      `concatenate: all inputs must have the same number of dimensions, got shapes ${
        ts.map((t) => fmtShape(t.shape)).join(", ")
      }`,
    );
  }
  const ax = normAxis("concatenate", axis, ts[0].ndim);
  const d = resultType(ts).dtype;
  return mv.concatenate(ts.map((t) => convert(t, d)), ax);
}

/** Joins equal-shaped arrays along a new axis. */
export function stack(xs: ArrayLike[], axis = 0): Tensor {
  if (!xs.length) throw new TypeError("stack: need at least one array");
  const ts = xs.map((x) => asTensor(x, "stack"));
  if (ts.some((t) => !shapeEqual(t.shape, ts[0].shape))) {
    throw new TypeError(
      `stack: all input arrays must have the same shape, got ${
        ts.map((t) => fmtShape(t.shape)).join(", ")
      }`,
    );
  }
  const ax = normAxis("stack", axis, ts[0].ndim + 1);
  return concatenate(ts.map((t) => expandDims(t, ax)), ax);
}

/** Splits into equal sections (a number) or at the given indices. */
export function split(x: ArrayLike, sectionsOrIndices: number | number[], axis = 0): Tensor[] {
  const t = asTensor(x, "split");
  const ax = normAxis("split", axis, t.ndim);
  const n = t.shape[ax];
  let cuts: number[];
  if (typeof sectionsOrIndices === "number") {
    const k = sectionsOrIndices;
    if (!Number.isInteger(k) || k <= 0 || n % k !== 0) {
      throw new RangeError(
        `split: array split does not result in an equal division (axis ${ax} of size ${n} into ${k} sections)`,
      );
    }
    cuts = [...Array(k - 1).keys()].map((i) => ((i + 1) * n) / k);
  } else cuts = sectionsOrIndices.map((i) => Math.min(Math.max(i < 0 ? i + n : i, 0), n));
  const bounds = [0, ...cuts, n];
  return bounds.slice(0, -1).map((s, i) => {
    const e = Math.max(s, bounds[i + 1]);
    return mv.slice(
      t,
      t.shape.map((_, j) => (j === ax ? s : 0)),
      t.shape.map((d, j) => (j === ax ? e : d)),
    );
  });
}

/** Options of `np.pad`. */
export interface PadOptions {
  /**
   * How to fill: a constant, the edge values, a reflection about the edge ("reflect"), a
   * reflection that repeats the edge ("symmetric"), or the values from the other end ("wrap").
   */
  mode?: "constant" | "edge" | "reflect" | "symmetric" | "wrap";
  /** The fill value of constant mode (default 0). */
  constantValues?: number;
}

const PAD_MODES = ["constant", "edge", "reflect", "symmetric", "wrap"];

/** Source index along an axis of size `n` for padded position `i` (`i < 0` or `i >= n`). */
function padSource(mode: string, i: number, n: number): number {
  if (mode === "edge") return Math.min(Math.max(i, 0), n - 1);
  if (mode === "wrap") return ((i % n) + n) % n;
  if (mode === "symmetric") {
    const j = ((i % (2 * n)) + 2 * n) % (2 * n);
    return j >= n ? 2 * n - 1 - j : j;
  }
  const period = 2 * (n - 1);
  const j = ((i % period) + period) % period;
  return j >= n ? period - j : j;
}

/**
 * Pads with a constant, the edge values, a reflection, or by wrapping (NumPy `pad`).
 *
 * @example Symmetric and wrap modes
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.pad([1, 2, 3], 2, { mode: "symmetric" }).dataSync()), [2, 1, 1, 2, 3, 3, 2]);
 * assert.deepEqual(Array.from(np.pad([1, 2, 3], [1, 2], { mode: "wrap" }).dataSync()), [3, 1, 2, 3, 1, 2]);
 * ```
 */
export function pad(
  x: ArrayLike,
  padWidth: number | [number, number] | [number, number][],
  opts: PadOptions = {},
): Tensor {
  checkOptions("pad", opts, ["mode", "constantValues"]);
  let t = asTensor(x, "pad");
  opts = checkOptions("pad", opts, ["mode", "constantValues"]);
  const widths: [number, number][] = typeof padWidth === "number"
    ? t.shape.map(() => [padWidth, padWidth])
    : typeof padWidth[0] === "number"
    ? t.shape.map(() => padWidth as [number, number])
    : (padWidth as [number, number][]);
  if (
    widths.length !== t.ndim ||
    Array.from(widths).some((w) =>
      !Array.isArray(w) || w.length !== 2 ||
      Array.from(w).some((v) => !Number.isInteger(v) || v < 0)
    )
  ) {
    throw new RangeError(
      `pad: padWidth ${
        JSON.stringify(padWidth)
      } must give non-negative integer [before, after] pairs for ${t.ndim} axes`,
    );
  }
  const mode = opts.mode ?? "constant";
  if (mode === "constant") {
    return mv.pad(
      t,
      scalar(opts.constantValues ?? 0, t.dtype),
      widths.map((w) => w[0]),
      widths.map((w) => w[1]),
    );
  }
  if (!PAD_MODES.includes(mode)) {
    throw new RangeError(
      `pad: unknown mode ${JSON.stringify(mode)}; expected one of ${PAD_MODES.join(", ")}`,
    );
  }
  widths.forEach(([lo, hi], ax) => {
    if (!lo && !hi) return;
    const n = t.shape[ax];
    if (n === 0 || (mode === "reflect" && n === 1 && (lo || hi))) {
      if (mode === "reflect" && n === 1) {
        t = mv.concatenate([...Array(lo + hi + 1)].map(() => t), ax);
        return;
      }
      throw new RangeError(`pad: cannot ${mode}-pad an empty axis ${ax}`);
    }
    const idx = (i: number): number => padSource(mode, i, n);
    const take = (i: number) =>
      mv.slice(
        t,
        t.shape.map((_, j) => (j === ax ? idx(i) : 0)),
        t.shape.map((d, j) => (j === ax ? idx(i) + 1 : d)),
      );
    const before = [...Array(lo).keys()].map((k) => take(k - lo));
    const after = [...Array(hi).keys()].map((k) => take(n + k));
    t = mv.concatenate([...before, t, ...after], ax);
  });
  return t;
}

/** Reverses the given axes (all when omitted). */
export function flip(x: ArrayLike, axis?: number | number[] | null): Tensor {
  const t = asTensor(x, "flip");
  return mv.rev(t, normAxes("flip", axis, t.ndim));
}

/** Broadcasts to `shape` by NumPy rules. */
export function broadcastTo(x: ArrayLike, shape: number[]): Tensor {
  const t = asTensor(x, "broadcastTo");
  const out = broadcastShapes("broadcastTo", t.shape, shape);
  if (!shapeEqual(out, shape)) {
    throw new TypeError(
      `broadcastTo: cannot broadcast shape ${fmtShape(t.shape)} to ${fmtShape(shape)}`,
    );
  }
  return bcast(t, shape);
}

/** Flattens to 1-d. */
export function ravel(x: ArrayLike): Tensor {
  const t = asTensor(x, "ravel");
  return mv.reshape(t, [t.size]);
}

/** Moves axis `source` to position `destination`. */
export function moveaxis(x: ArrayLike, source: number, destination: number): Tensor {
  const t = asTensor(x, "moveaxis");
  const s = normAxis("moveaxis", source, t.ndim, "source");
  const d = normAxis("moveaxis", destination, t.ndim, "destination");
  const perm = [...Array(t.ndim).keys()].filter((i) => i !== s);
  perm.splice(d, 0, s);
  return mv.transpose(t, perm);
}

/** Swaps two axes. */
export function swapaxes(x: ArrayLike, a: number, b: number): Tensor {
  const t = asTensor(x, "swapaxes");
  const perm = [...Array(t.ndim).keys()];
  const i = normAxis("swapaxes", a, t.ndim), j = normAxis("swapaxes", b, t.ndim);
  [perm[i], perm[j]] = [perm[j], perm[i]];
  return mv.transpose(t, perm);
}

/** One slicing spec: an index, a Python slice string ("1:5:2", "::-1"), null (new axis) or "...". */
export type SliceSpec = number | string | null;

/**
 * NumPy indexing, as `np.index` and `x.slice(...)`: numbers, slice strings, `null` (new axis),
 * `"..."`, integer arrays (advanced indexing) and bool masks (eager).
 *
 * @example Every other element, reversed
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = np.arange(6).slice("::-2");
 * if (y.dataSync().join() !== "5,3,1") throw new Error("slice");
 * ```
 */
export function slice(x: ArrayLike, ...specs: IndexSpec[]): Tensor {
  return indexWith("slice", asTensor(x, "slice"), specs, "clip", null);
}
