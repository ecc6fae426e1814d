/**
 * More shape functions: diff, roll, tile, repeat, h/v/d/columnStack, arraySplit, triu, tril, diag,
 * diagonal, trace, meshgrid, kron and cross. All are compositions of structural primitives (static
 * shapes), so they differentiate, batch and jit like the primitives they use.
 * @module
 */
import { fromHost } from "../core.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { fmtShape, normAxis } from "../shape.ts";
import * as mv from "../ops/movement.ts";
import { convert } from "../ops/elementwise.ts";
import { checkOptions } from "../options.ts";
import { asTensor, broadcastTo, resultType, scalar } from "./_convert.ts";
import * as m from "./math.ts";
import { sum } from "./reductions.ts";
import { concatenate, expandDims, moveaxis, reshape } from "./shape_ops.ts";

const sliceAxis = (t: Tensor, ax: number, lo: number, hi: number, step = 1): Tensor =>
  mv.slice(
    t,
    t.shape.map((_, j) => (j === ax ? lo : 0)),
    t.shape.map((d, j) => (j === ax ? hi : d)),
    t.shape.map((_, j) => (j === ax ? step : 1)),
  );

/** Options of `np.diff`. */
export interface DiffOptions {
  /** Number of times to difference (default 1). */
  n?: number;
  /** Axis (default -1). */
  axis?: number;
  /** Values put before `x` along the axis first. */
  prepend?: ArrayLike;
  /** Values put after `x` along the axis first. */
  append?: ArrayLike;
}

/**
 * n-th discrete difference along an axis (`x[1:] - x[:-1]`, bools by `!=`).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.diff([1, 4, 9, 16]).dataSync()), [3, 5, 7]);
 * assert.deepEqual(Array.from(np.diff([1, 4, 9, 16], { n: 2 }).dataSync()), [2, 2]);
 * ```
 */
export function diff(x: ArrayLike, opts?: DiffOptions): Tensor {
  const o = checkOptions("diff", opts, ["n", "axis", "prepend", "append"]);
  let t = asTensor(x, "diff");
  const n = o.n ?? 1;
  if (!Number.isInteger(n) || n < 0) {
    throw new RangeError(`diff: n must be a non-negative integer, got ${n}`);
  }
  if (t.ndim === 0) throw new TypeError("diff: requires an input of at least one dimension");
  const ax = normAxis("diff", o.axis ?? -1, t.ndim);
  const edge = (v: ArrayLike) => {
    const e = asTensor(v, "diff");
    return e.ndim === 0 ? broadcastTo(e, t.shape.map((d, j) => (j === ax ? 1 : d))) : e;
  };
  const parts = [o.prepend, t, o.append].filter((v) => v !== undefined).map((v) =>
    v === t ? t : edge(v as ArrayLike)
  );
  if (parts.length > 1) t = concatenate(parts, ax);
  for (let i = 0; i < n; i++) {
    const len = t.shape[ax];
    if (len === 0) break;
    const hi = sliceAxis(t, ax, 1, len), lo = sliceAxis(t, ax, 0, len - 1);
    t = t.dtype === "bool" ? m.notEqual(hi, lo) : m.subtract(hi, lo);
  }
  return t;
}

/** Options of `np.roll`. */
export interface AxisOption {
  /** The axis (or axes); flattened when omitted. */
  axis?: number | number[] | null;
}

/**
 * Rolls elements along axes; elements shifted past the end come back at the start.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.roll([1, 2, 3, 4], 1).dataSync()), [4, 1, 2, 3]);
 * assert.deepEqual(Array.from(np.roll([[1, 2], [3, 4]], -1, { axis: 1 }).dataSync()), [2, 1, 4, 3]);
 * ```
 */
export function roll(x: ArrayLike, shift: number | number[], opts?: AxisOption): Tensor {
  const o = checkOptions("roll", opts, ["axis"]);
  let t = asTensor(x, "roll");
  if (o.axis === undefined || o.axis === null) {
    const flat = roll(mv.reshape(t, [t.size]), typeof shift === "number" ? shift : sumOf(shift), {
      axis: 0,
    });
    return mv.reshape(flat, t.shape);
  }
  const axes = typeof o.axis === "number" ? [o.axis] : o.axis;
  const shifts = typeof shift === "number" ? axes.map(() => shift) : shift;
  if (shifts.length !== axes.length) {
    throw new TypeError(`roll: shift has ${shifts.length} entries but axis has ${axes.length}`);
  }
  axes.forEach((a, i) => {
    const ax = normAxis("roll", a, t.ndim);
    const n = t.shape[ax];
    if (!Number.isInteger(shifts[i])) {
      throw new TypeError(`roll: shift ${shifts[i]} is not an integer`);
    }
    const s = n ? ((shifts[i] % n) + n) % n : 0;
    if (s) t = mv.concatenate([sliceAxis(t, ax, n - s, n), sliceAxis(t, ax, 0, n - s)], ax);
  });
  return t;
}
const sumOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/**
 * Repeats the whole array `reps` times along each axis.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const t = np.tile([1, 2], [2, 2]);
 * assert.deepEqual(t.shape, [2, 4]);
 * assert.deepEqual(Array.from(t.dataSync()), [1, 2, 1, 2, 1, 2, 1, 2]);
 * ```
 */
export function tile(x: ArrayLike, reps: number | number[]): Tensor {
  let t = asTensor(x, "tile");
  const r = typeof reps === "number" ? [reps] : [...reps];
  if (r.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new RangeError(`tile: reps must be non-negative integers, got ${JSON.stringify(reps)}`);
  }
  const nd = Math.max(r.length, t.ndim);
  while (r.length < nd) r.unshift(1);
  t = mv.reshape(t, [...Array(nd - t.ndim).fill(1), ...t.shape]);
  const s = t.shape;
  const big = s.flatMap((d, i) => [r[i], d]);
  const b = mv.broadcastInDim(t, big, s.map((_, i) => 2 * i + 1));
  return mv.reshape(b, s.map((d, i) => d * r[i]));
}

/** Options of `np.repeat`. */
export interface RepeatOptions {
  /** The axis (flattened when omitted). */
  axis?: number | null;
  /** The known output length along the axis (JAX's `total_repeat_length`): pads or truncates. */
  totalRepeatLength?: number;
}

/**
 * Repeats each element `repeats` times (a number, or one count per element along the axis).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.repeat([1, 2], 2).dataSync()), [1, 1, 2, 2]);
 * assert.deepEqual(Array.from(np.repeat([1, 2], [1, 3]).dataSync()), [1, 2, 2, 2]);
 * ```
 */
export function repeat(
  x: ArrayLike,
  repeats: number | number[] | Tensor,
  opts?: RepeatOptions,
): Tensor {
  const o = checkOptions("repeat", opts, ["axis", "totalRepeatLength"]);
  let t = asTensor(x, "repeat");
  if (o.axis === undefined || o.axis === null) t = mv.reshape(t, [t.size]);
  const ax = o.axis === undefined || o.axis === null ? 0 : normAxis("repeat", o.axis, t.ndim);
  const n = t.shape[ax];
  const reps = typeof repeats === "number" ? Array(n).fill(repeats) : Array.from(
    repeats instanceof Object && "dataSync" in repeats ? repeats.dataSync() : repeats,
    Number,
  );
  if (reps.length === 1 && n !== 1) reps.length = 0, reps.push(...Array(n).fill(reps[0] ?? 0));
  if (reps.length !== n || reps.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new RangeError(
      `repeat: repeats ${
        JSON.stringify(repeats)
      } must be non-negative integers, one per element (${n}) or one`,
    );
  }
  let out: Tensor;
  if (typeof repeats === "number" || reps.every((v) => v === reps[0])) {
    const k = reps[0] ?? 0;
    const s = t.shape;
    const big = [...s.slice(0, ax + 1), k, ...s.slice(ax + 1)];
    const b = mv.broadcastInDim(t, big, s.map((_, i) => (i <= ax ? i : i + 1)));
    out = mv.reshape(b, s.map((d, i) => (i === ax ? d * k : d)));
  } else {
    const pieces = reps.flatMap((k, i) => Array(k).fill(i)).map((i) => sliceAxis(t, ax, i, i + 1));
    out = pieces.length ? mv.concatenate(pieces, ax) : sliceAxis(t, ax, 0, 0);
  }
  const total = o.totalRepeatLength;
  if (total === undefined) return out;
  const len = out.shape[ax];
  if (total <= len) return sliceAxis(out, ax, 0, total);
  // JAX pads with the last element
  const last = sliceAxis(out, ax, len - 1, len);
  return mv.concatenate([out, ...Array(total - len).fill(last)], ax);
}

function atLeast(t: Tensor, nd: 1 | 2 | 3): Tensor {
  if (t.ndim >= nd) return t;
  if (t.ndim === 0) return mv.reshape(t, Array(nd).fill(1));
  if (nd === 2) return mv.reshape(t, [1, ...t.shape]);
  return mv.reshape(t, t.ndim === 1 ? [1, t.shape[0], 1] : [...t.shape, 1]);
}
function stackOn(name: string, xs: ArrayLike[], nd: 1 | 2 | 3, axis: number): Tensor {
  if (!xs.length) throw new TypeError(`${name}: need at least one array`);
  const ts = xs.map((x) => atLeast(asTensor(x, name), nd));
  return concatenate(ts, axis);
}
/**
 * Stacks along the second axis (the first for 1-d arrays).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.hstack([[1, 2], [3]]).dataSync()), [1, 2, 3]);
 * ```
 */
export function hstack(xs: ArrayLike[]): Tensor {
  const ts = xs.map((x) => asTensor(x, "hstack"));
  return stackOn("hstack", ts, 1, ts[0]?.ndim === 1 || ts[0]?.ndim === 0 ? 0 : 1);
}
/**
 * Stacks along the first axis (1-d arrays become rows).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(np.vstack([[1, 2], [3, 4]]).shape, [2, 2]);
 * ```
 */
export function vstack(xs: ArrayLike[]): Tensor {
  return stackOn("vstack", xs, 2, 0);
}
/**
 * Stacks along the third axis.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(np.dstack([[1, 2], [3, 4]]).shape, [1, 2, 2]);
 * ```
 */
export function dstack(xs: ArrayLike[]): Tensor {
  return stackOn("dstack", xs, 3, 2);
}
/**
 * Stacks 1-d arrays as columns (2-d arrays as they are) along the second axis.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const c = np.columnStack([[1, 2], [3, 4]]);
 * assert.deepEqual(Array.from(c.dataSync()), [1, 3, 2, 4]);
 * ```
 */
export function columnStack(xs: ArrayLike[]): Tensor {
  if (!xs.length) throw new TypeError("columnStack: need at least one array");
  const ts = xs.map((x) => {
    const t = asTensor(x, "columnStack");
    return t.ndim < 2 ? mv.reshape(t, [t.size, 1]) : t;
  });
  return concatenate(ts, 1);
}

/**
 * Splits into `n` nearly equal parts (the first `len % n` one longer), or at the given indices.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const parts = np.arraySplit(np.arange(5), 3);
 * assert.deepEqual(parts.map((p) => Array.from(p.dataSync())), [[0, 1], [2, 3], [4]]);
 * ```
 */
export function arraySplit(
  x: ArrayLike,
  sections: number | number[],
  opts?: { axis?: number },
): Tensor[] {
  const o = checkOptions("arraySplit", opts, ["axis"]);
  const t = asTensor(x, "arraySplit");
  const ax = normAxis("arraySplit", o.axis ?? 0, t.ndim);
  const n = t.shape[ax];
  let bounds: number[];
  if (typeof sections === "number") {
    if (!Number.isInteger(sections) || sections <= 0) {
      throw new RangeError(
        `arraySplit: number of sections must be a positive integer, got ${sections}`,
      );
    }
    const each = Math.floor(n / sections), extra = n % sections;
    bounds = [0];
    for (let i = 0; i < sections; i++) bounds.push(bounds[i] + each + (i < extra ? 1 : 0));
  } else {
    bounds = [0, ...sections.map((i) => Math.min(Math.max(i < 0 ? i + n : i, 0), n)), n];
  }
  return bounds.slice(0, -1).map((s, i) => sliceAxis(t, ax, s, Math.max(s, bounds[i + 1])));
}

/** A concrete bool mask `[n, m]`: `keep(i, j)`. */
function mask2(n: number, m: number, keep: (i: number, j: number) => boolean): Tensor {
  const data = new Uint8Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) data[i * m + j] = keep(i, j) ? 1 : 0;
  return fromHost(data, [n, m], "bool");
}
function triangle(name: string, x: ArrayLike, k: number, upper: boolean): Tensor {
  const t = asTensor(x, name);
  if (t.ndim < 2) {
    throw new TypeError(`${name}: input must be at least 2-d, got shape ${fmtShape(t.shape)}`);
  }
  if (!Number.isInteger(k)) throw new TypeError(`${name}: k must be an integer, got ${k}`);
  const [n, mm] = t.shape.slice(-2);
  const mask = mask2(n, mm, (i, j) => (upper ? j - i >= k : j - i <= k));
  return m.where(broadcastTo(mask, t.shape), t, broadcastTo(scalar(0, t.dtype), t.shape));
}
/**
 * The upper triangle of the last two axes (elements below diagonal `k` zeroed).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.triu([[1, 2], [3, 4]]).dataSync()), [1, 2, 0, 4]);
 * ```
 */
export function triu(x: ArrayLike, opts?: { k?: number }): Tensor {
  return triangle("triu", x, checkOptions("triu", opts, ["k"]).k ?? 0, true);
}
/**
 * The lower triangle of the last two axes (elements above diagonal `k` zeroed).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.tril([[1, 2], [3, 4]], { k: -1 }).dataSync()), [0, 0, 3, 0]);
 * ```
 */
export function tril(x: ArrayLike, opts?: { k?: number }): Tensor {
  return triangle("tril", x, checkOptions("tril", opts, ["k"]).k ?? 0, false);
}

/** Options of `np.diagonal` and `np.trace`. */
export interface DiagonalOptions {
  /** Diagonal offset (positive: above the main diagonal). */
  offset?: number;
  /** First axis of the 2-d planes (default 0). */
  axis1?: number;
  /** Second axis (default 1). */
  axis2?: number;
}

/**
 * The diagonal of the planes given by `axis1`/`axis2`, as the last axis of the result.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const a = np.arange(9).reshape([3, 3]);
 * assert.deepEqual(Array.from(np.diagonal(a).dataSync()), [0, 4, 8]);
 * assert.deepEqual(Array.from(np.diagonal(a, { offset: 1 }).dataSync()), [1, 5]);
 * ```
 */
export function diagonal(x: ArrayLike, opts?: DiagonalOptions): Tensor {
  const o = checkOptions("diagonal", opts, ["offset", "axis1", "axis2"]);
  const t = asTensor(x, "diagonal");
  if (t.ndim < 2) {
    throw new TypeError(`diagonal: input must be at least 2-d, got shape ${fmtShape(t.shape)}`);
  }
  const a1 = normAxis("diagonal", o.axis1 ?? 0, t.ndim, "axis1");
  const a2 = normAxis("diagonal", o.axis2 ?? 1, t.ndim, "axis2");
  if (a1 === a2) throw new RangeError(`diagonal: axis1 and axis2 cannot be the same (${a1})`);
  const k = o.offset ?? 0;
  if (!Number.isInteger(k)) throw new TypeError(`diagonal: offset must be an integer, got ${k}`);
  const rest = t.shape.map((_, i) => i).filter((i) => i !== a1 && i !== a2);
  const p = mv.transpose(t, [...rest, a1, a2]);
  const [n, mm] = [t.shape[a1], t.shape[a2]];
  const r0 = Math.max(0, -k), c0 = Math.max(0, k);
  const len = Math.max(0, Math.min(n - r0, mm - c0));
  const b = rest.map((i) => t.shape[i]);
  const sq = mv.slice(p, [...b.map(() => 0), r0, c0], [...b, r0 + len, c0 + len]);
  const flat = mv.reshape(sq, [...b, len * len]);
  return mv.slice(flat, [...b.map(() => 0), 0], [...b, len * len], [...b.map(() => 1), len + 1]);
}

/**
 * Sum along a diagonal.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.trace([[1, 2], [3, 4]]).item(), 5);
 * ```
 */
export function trace(x: ArrayLike, opts?: DiagonalOptions): Tensor {
  checkOptions("trace", opts, ["offset", "axis1", "axis2"]);
  return sum(diagonal(x, opts), { axis: -1 });
}

/**
 * A 1-d array's values on diagonal `k` of a square matrix, or a 2-d array's diagonal `k`.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.diag([1, 2]).dataSync()), [1, 0, 0, 2]);
 * assert.deepEqual(Array.from(np.diag([[1, 2], [3, 4]], { k: 1 }).dataSync()), [2]);
 * ```
 */
export function diag(v: ArrayLike, opts?: { k?: number }): Tensor {
  const k = checkOptions("diag", opts, ["k"]).k ?? 0;
  const t = asTensor(v, "diag");
  if (t.ndim === 2) return diagonal(t, { offset: k });
  if (t.ndim !== 1) {
    throw new TypeError(`diag: input must be 1-d or 2-d, got shape ${fmtShape(t.shape)}`);
  }
  if (!Number.isInteger(k)) throw new TypeError(`diag: k must be an integer, got ${k}`);
  const n = t.shape[0] + Math.abs(k);
  const padded = mv.pad(t, scalar(0, t.dtype), [0], [Math.abs(k)]);
  // row i holds v[i] (k >= 0) / column j holds v[j] (k < 0)
  const b = mv.broadcastInDim(padded, [n, n], [k >= 0 ? 0 : 1]);
  const mask = mask2(n, n, (i, j) => j - i === k);
  return m.where(mask, b, broadcastTo(scalar(0, t.dtype), [n, n]));
}

/**
 * Coordinate arrays from 1-d coordinate vectors; `indexing` "xy" (default, Cartesian: the first
 * two axes swapped) or "ij" (matrix).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const [X, Y] = np.meshgrid([1, 2, 3], [4, 5]);
 * assert.deepEqual(X.shape, [2, 3]);
 * assert.deepEqual(Array.from(Y.dataSync()), [4, 4, 4, 5, 5, 5]);
 * ```
 */
export function meshgrid(...args: (ArrayLike | { indexing?: "xy" | "ij" })[]): Tensor[] {
  const last = args[args.length - 1];
  const isOpts = last !== null && typeof last === "object" && !Array.isArray(last) &&
    !("aval" in (last as object));
  const o = checkOptions("meshgrid", isOpts ? (last as { indexing?: "xy" | "ij" }) : undefined, [
    "indexing",
  ]);
  const xs = (isOpts ? args.slice(0, -1) : args).map((x) => asTensor(x as ArrayLike, "meshgrid"));
  const indexing = o.indexing ?? "xy";
  if (indexing !== "xy" && indexing !== "ij") {
    throw new RangeError(
      `meshgrid: indexing must be "xy" or "ij", got ${JSON.stringify(indexing)}`,
    );
  }
  xs.forEach((x) => {
    if (x.ndim !== 1) {
      throw new TypeError(`meshgrid: inputs must be 1-d, got shape ${fmtShape(x.shape)}`);
    }
  });
  const shape = xs.map((x) => x.shape[0]);
  const swap = indexing === "xy" && xs.length >= 2;
  if (swap) [shape[0], shape[1]] = [shape[1], shape[0]];
  return xs.map((x, i) => {
    const dim = swap && i < 2 ? 1 - i : i;
    return mv.broadcastInDim(x, shape, [dim]);
  });
}

/**
 * Kronecker product.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.kron([1, 10], [1, 2, 3]).dataSync()), [1, 2, 3, 10, 20, 30]);
 * ```
 */
export function kron(a: ArrayLike, b: ArrayLike): Tensor {
  let x = asTensor(a, "kron"), y = asTensor(b, "kron");
  const d = resultType([x, y]).dtype;
  x = convert(x, d);
  y = convert(y, d);
  const nd = Math.max(x.ndim, y.ndim);
  x = mv.reshape(x, [...Array(nd - x.ndim).fill(1), ...x.shape]);
  y = mv.reshape(y, [...Array(nd - y.ndim).fill(1), ...y.shape]);
  const big = x.shape.flatMap((s, i) => [s, y.shape[i]]);
  const xb = mv.broadcastInDim(x, big, x.shape.map((_, i) => 2 * i));
  const yb = mv.broadcastInDim(y, big, y.shape.map((_, i) => 2 * i + 1));
  return mv.reshape(m.multiply(xb, yb), x.shape.map((s, i) => s * y.shape[i]));
}

/** Options of `np.cross`. */
export interface CrossOptions {
  /** Axis of `a` holding the vectors (default -1). */
  axisa?: number;
  /** Axis of `b` holding the vectors (default -1). */
  axisb?: number;
  /** Axis of the result holding the vectors (default -1). */
  axisc?: number;
  /** Sets all three axes. */
  axis?: number;
}

/**
 * Cross product of 3-vectors (or the z component for 2-vectors), broadcasting the other axes.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.cross([1, 0, 0], [0, 1, 0]).dataSync()), [0, 0, 1]);
 * ```
 */
export function cross(a: ArrayLike, b: ArrayLike, opts?: CrossOptions): Tensor {
  const o = checkOptions("cross", opts, ["axisa", "axisb", "axisc", "axis"]);
  let x = asTensor(a, "cross"), y = asTensor(b, "cross");
  x = moveaxis(x, normAxis("cross", o.axis ?? o.axisa ?? -1, x.ndim, "axisa"), -1);
  y = moveaxis(y, normAxis("cross", o.axis ?? o.axisb ?? -1, y.ndim, "axisb"), -1);
  const n = x.shape[x.ndim - 1], k = y.shape[y.ndim - 1];
  if ((n !== 2 && n !== 3) || (k !== 2 && k !== 3)) {
    throw new TypeError(`cross: incompatible vector sizes ${n} and ${k} (must be 2 or 3)`);
  }
  const comp = (t: Tensor, i: number, len: number): Tensor | number =>
    i < len ? reshape(sliceAxis(t, t.ndim - 1, i, i + 1), t.shape.slice(0, -1)) : 0;
  const [a0, a1, a2] = [0, 1, 2].map((i) => comp(x, i, n));
  const [b0, b1, b2] = [0, 1, 2].map((i) => comp(y, i, k));
  const z = m.subtract(m.multiply(a0, b1), m.multiply(a1, b0));
  if (n === 2 && k === 2) return z;
  const c = [
    m.subtract(m.multiply(a1, b2), m.multiply(a2, b1)),
    m.subtract(m.multiply(a2, b0), m.multiply(a0, b2)),
    z,
  ];
  const shape = c.map((t) => t.shape).reduce((s, t) => (t.length > s.length ? t : s));
  const out = mv.concatenate(c.map((t) => expandDims(broadcastTo(t, shape), -1)), shape.length);
  const axc = normAxis("cross", o.axis ?? o.axisc ?? -1, out.ndim, "axisc");
  return moveaxis(out, -1, axc);
}
