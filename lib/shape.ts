/**
 * Shape arithmetic: sizes, strides, broadcasting and axis normalisation.
 * Pure functions over `number[]`; every error names the calling op.
 * @module
 */

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides (in elements) of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/**
 * Formats any argument value for an error message (JSON, non-finite numbers spelled out).
 *
 * @example
 * ```ts
 * import { fmtArg } from "./shape.ts";
 * if (fmtArg([1, [2, 3]]) !== "[1,[2,3]]") throw new Error("fmtArg");
 * ```
 */
export function fmtArg(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return String(v);
  try {
    const s = JSON.stringify(
      v,
      (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x),
    );
    return s === undefined ? String(v) : s;
  } catch {
    return String(v);
  }
}

/** Formats a shape as `[2,3]` for messages. */
export function fmtShape(shape: readonly number[]): string {
  return `[${shape.join(",")}]`;
}

/** True when two shapes are identical. */
export function shapeEqual(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting of any number of shapes; TypeError naming `op` when impossible. */
export function broadcastShapes(op: string, ...shapes: (readonly number[])[]): number[] {
  const nd = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(nd).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = nd - s.length + i;
      const d = s[i];
      if (d === out[j] || d === 1) continue;
      if (out[j] === 1) out[j] = d;
      else {
        throw new TypeError(`${op}: cannot broadcast shapes ${shapes.map(fmtShape).join(" and ")}`);
      }
    }
  }
  return out;
}

/** Normalises a possibly negative axis for rank `ndim`; RangeError naming `op` otherwise. */
export function normAxis(op: string, axis: number, ndim: number, argName = "axis"): number {
  if (!Number.isInteger(axis)) {
    throw new TypeError(`${op}: ${argName} must be an integer, got ${axis}`);
  }
  if (axis < -ndim || axis >= ndim) {
    throw new RangeError(
      `${op}: ${argName} ${axis} is out of bounds for array of dimension ${ndim}`,
    );
  }
  return axis < 0 ? axis + ndim : axis;
}

/** Normalises an axis list (or all axes when undefined/null); rejects repeats. */
export function normAxes(
  op: string,
  axis: number | readonly number[] | null | undefined,
  ndim: number,
): number[] {
  if (axis === undefined || axis === null) return [...Array(ndim).keys()];
  if (typeof axis !== "number" && !Array.isArray(axis)) {
    throw new TypeError(
      `${op}: axis must be a number, a list of numbers or null, got ${fmtArg(axis)}`,
    );
  }
  const list = typeof axis === "number" ? [axis] : [...axis];
  const out = list.map((a) => normAxis(op, a, ndim));
  if (new Set(out).size !== out.length) {
    throw new RangeError(`${op}: repeated axis in ${JSON.stringify(list)}`);
  }
  return out;
}

/** Checks a shape is a list of non-negative integers. */
export function checkShape(op: string, shape: unknown, argName = "shape"): number[] {
  if (typeof shape === "number") shape = [shape];
  if (!Array.isArray(shape) || !Array.from(shape).every((d) => Number.isInteger(d) && d >= 0)) {
    throw new TypeError(
      `${op}: ${argName} must be a list of non-negative integers, got ${JSON.stringify(shape)}`,
    );
  }
  return [...shape];
}

/** The most elements one array may hold (the typed-array length limit of V8 and JavaScriptCore). */
export const MAX_ELEMENTS = 2 ** 32 - 1;
const ITEM_BYTES: Record<string, number> = { bool: 1, int32: 4, float32: 4, float64: 8 };

/** Bytes an array of `shape` and `dtype` occupies on the host. */
export function arrayBytes(shape: readonly number[], dtype: string): number {
  return sizeOf(shape) * (ITEM_BYTES[dtype] ?? 4);
}

/**
 * Checks, before allocating, that an array of `shape` and `dtype` can exist: a RangeError naming
 * `op`, the shape and the bytes instead of the runtime's allocation failure.
 *
 * @example
 * ```ts
 * import { checkAllocation } from "./shape.ts";
 * import assert from "node:assert/strict";
 * checkAllocation("zeros", [1024, 1024], "float32");
 * assert.throws(() => checkAllocation("zeros", [2 ** 20, 2 ** 20], "float32"), /4398046511104 bytes/);
 * ```
 */
export function checkAllocation(op: string, shape: readonly number[], dtype: string): void {
  if (sizeOf(shape) > MAX_ELEMENTS) {
    throw new RangeError(
      `${op}: an array of shape ${fmtShape(shape)} (${dtype}) needs ${
        arrayBytes(shape, dtype)
      } bytes; one array holds at most ${MAX_ELEMENTS} elements`,
    );
  }
}

/**
 * Runs `alloc`, turning the runtime's allocation failure (V8's "Array buffer allocation failed",
 * "Invalid typed array length", JavaScriptCore's "Out of memory") into a RangeError naming `op`,
 * the shapes and their bytes.
 */
export function allocating<T>(
  op: string,
  avals: readonly { shape: readonly number[]; dtype: string }[],
  alloc: () => T,
): T {
  try {
    return alloc();
  } catch (e) {
    if (
      !(e instanceof RangeError) ||
      !/allocation failed|typed array length|out of memory/i.test(e.message)
    ) throw e;
    const what = avals.map((a) =>
      `${fmtShape(a.shape)} ${a.dtype} (${arrayBytes(a.shape, a.dtype)} bytes)`
    );
    throw new RangeError(`${op}: cannot allocate ${what.join(", ")}: ${e.message}`);
  }
}

/** The inverse of a permutation. */
export function invertPerm(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}
