/**
 * Array creation: `array`, `zeros`, `ones`, `full`, `*Like`, `arange`, `linspace`, `eye`.
 * Created arrays are concrete (under `jit` they become constants of the program).
 * @module
 */
import { fromHost } from "../core.ts";
import { allocTyped, castScalar, checkDType, type DType, isComplex } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { allocating, checkAllocation, checkShape, sizeOf } from "../shape.ts";
import { checkOptions } from "../options.ts";
import { arrayFrom, type ArrayOptions, asTensor } from "./_convert.ts";

/** Options naming a dtype. */
export interface DTypeOptions {
  /** Element type. */
  dtype?: DType;
}

/**
 * Creates a Tensor from a number, nested arrays or a TypedArray (copied).
 *
 * @example From nested arrays
 * ```ts
 * import { np } from "../../mod.ts";
 * const x = np.array([[1, 2, 3], [4, 5, 6]], { dtype: "float32" });
 * if (x.shape.join() !== "2,3") throw new Error("shape");
 * ```
 *
 * @example bfloat16 (rounded to nearest even; `data()` gives the raw bits, which `array` reads back)
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const b = np.array([1 / 3, 2], { dtype: "bfloat16" });
 * assert.deepEqual(b.toNestedSync(), [0.333984375, 2]);
 * const bits = b.dataSync(); // Uint16Array [0x3eab, 0x4000]
 * assert.deepEqual([...np.array(bits, { dtype: "bfloat16" }).astype("float32").dataSync()], [0.333984375, 2]);
 * ```
 */
export function array(values: ArrayLike | ArrayBufferView, opts?: ArrayOptions): Tensor {
  checkOptions("array", opts, ["dtype", "shape"]);
  return arrayFrom(values, opts);
}

/** A Tensor of `shape` filled with `value` (float32 unless `dtype` or a boolean value says otherwise). */
export function full(
  shape: number[] | number,
  value: number | boolean,
  opts: DTypeOptions = {},
): Tensor {
  return fullAs("full", shape, value, opts);
}

function fullAs(
  op: string,
  shape: number[] | number,
  value: number | boolean,
  opts: DTypeOptions,
): Tensor {
  opts = checkOptions(op, opts, ["dtype"]);
  const s = checkShape(op, shape);
  const d = opts.dtype
    ? checkDType(opts.dtype, op)
    : typeof value === "boolean"
    ? "bool"
    : "float32";
  checkAllocation(op, s, d);
  const data = allocating(op, [{ shape: s, dtype: d }], () => allocTyped(d, sizeOf(s)));
  if (isComplex(d)) { for (let i = 0; i < data.length; i += 2) data[i] = Number(value); }
  else data.fill(castScalar(Number(value), d));
  return fromHost(data, s, d);
}
/** Zeros. */
export function zeros(shape: number[] | number, opts: DTypeOptions = {}): Tensor {
  return fullAs("zeros", shape, 0, opts);
}
/** Ones. */
export function ones(shape: number[] | number, opts: DTypeOptions = {}): Tensor {
  return fullAs("ones", shape, 1, opts);
}
/** A Tensor shaped like `x` filled with `value` (x's dtype unless given). */
export function fullLike(x: ArrayLike, value: number | boolean, opts: DTypeOptions = {}): Tensor {
  const t = asTensor(x, "fullLike");
  opts = checkOptions("fullLike", opts, ["dtype"]);
  return fullAs("fullLike", t.shape, value, { dtype: opts.dtype ?? t.dtype });
}
/** Zeros shaped like `x`. */
export function zerosLike(x: ArrayLike, opts: DTypeOptions = {}): Tensor {
  return fullLike(x, 0, opts);
}
/** Ones shaped like `x`. */
export function onesLike(x: ArrayLike, opts: DTypeOptions = {}): Tensor {
  return fullLike(x, 1, opts);
}

/**
 * Evenly spaced values in [start, stop): `arange(stop)` or `arange(start, stop, step)`.
 * int32 when every argument is an integer, else float32.
 */
export function arange(
  start: number,
  stop?: number | DTypeOptions,
  step: number | DTypeOptions = 1,
  opts: DTypeOptions = {},
): Tensor {
  if (typeof stop === "object") [opts, stop] = [stop, undefined];
  if (typeof step === "object") [opts, step] = [step, 1];
  opts = checkOptions("arange", opts, ["dtype"]);
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0 || !Number.isFinite(step)) {
    throw new RangeError(`arange: step must be a finite non-zero number, got ${step}`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const d = opts.dtype ?? ([start, stop, step].every(Number.isInteger) ? "int32" : "float32");
  checkAllocation("arange", [n], d);
  const data = allocTyped(checkDType(d, "arange"), n);
  for (let i = 0; i < n; i++) data[i] = start + i * step;
  return fromHost(data, [n], d);
}

/** `num` evenly spaced values from start to stop (inclusive unless `endpoint` is false). */
export function linspace(
  start: number,
  stop: number,
  num: number | (DTypeOptions & { endpoint?: boolean }) = 50,
  opts: DTypeOptions & { endpoint?: boolean } = {},
): Tensor {
  if (typeof num === "object") [opts, num] = [num, 50];
  opts = checkOptions("linspace", opts, ["dtype", "endpoint"]);
  if (!Number.isInteger(num) || num < 0) {
    throw new RangeError(`linspace: num must be a non-negative integer, got ${num}`);
  }
  const endpoint = opts.endpoint ?? true;
  const d = opts.dtype ?? "float32";
  checkAllocation("linspace", [num], d);
  const data = allocTyped(checkDType(d, "linspace"), num);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) data[i] = start + i * step;
  if (endpoint && num > 1) data[num - 1] = stop;
  return fromHost(data, [num], d);
}

/** An n×m matrix with ones on diagonal k. */
export function eye(
  n: number,
  m?: number | (DTypeOptions & { k?: number }),
  opts: DTypeOptions & { k?: number } = {},
): Tensor {
  if (typeof m === "object") [opts, m] = [m, undefined];
  opts = checkOptions("eye", opts, ["dtype", "k"]);
  const cols = m ?? n;
  checkAllocation("eye", checkShape("eye", [n, cols]), opts.dtype ?? "float32");
  const k = opts.k ?? 0;
  const d = opts.dtype ?? "float32";
  const data = allocTyped(checkDType(d, "eye"), n * cols);
  for (let i = 0; i < n; i++) {
    const j = i + k;
    if (j >= 0 && j < cols) data[i * cols + j] = 1;
  }
  return fromHost(data, [n, cols], d);
}
