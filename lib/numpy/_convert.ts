/**
 * Converting JS values to Tensors (`np.array` rules) and preparing operands for elementwise ops:
 * dtype promotion with weak JS numbers, then NumPy broadcasting.
 * @module
 */
import { unpackBf16 } from "../bfloat16.ts";
import { type ArrayValue, fromHost, stagingConstants } from "../core.ts";
import { getBackend } from "../backend/backend.ts";
import {
  allocTyped,
  castScalar,
  checkDType,
  checkRange,
  type DType,
  dtypeOfTyped,
  isComplex,
  promoteTypes,
  type TypeInfo,
} from "../dtype.ts";
import { Tensor } from "../tensor.ts";
import { broadcastShapes, checkShape, shapeEqual, sizeOf } from "../shape.ts";
import { broadcastInDim } from "../ops/movement.ts";
import { convert } from "../ops/elementwise.ts";

/** Options of `np.array`. */
export interface ArrayOptions {
  dtype?: DType;
  shape?: number[];
}

function flattenNested(
  op: string,
  v: unknown,
  shape: number[],
  out: Scalar[],
  depth: number,
): void {
  if (Array.isArray(v)) {
    if (shape.length <= depth) shape.push(v.length);
    else if (shape[depth] !== v.length) {
      throw new TypeError(
        `${op}: nested arrays are ragged (length ${v.length} where ${
          shape[depth]
        } was expected at depth ${depth})`,
      );
    }
    for (const e of v) flattenNested(op, e, shape, out, depth + 1);
    return;
  }
  if (typeof v !== "number" && typeof v !== "boolean" && !isComplexValue(v)) {
    throw new TypeError(
      `${op}: values must be numbers, booleans, { re, im } objects, nested arrays or a ` +
        `TypedArray, got ${v === null ? "null" : typeof v}`,
    );
  }
  if (shape.length > depth) {
    throw new TypeError(`${op}: nested arrays are ragged (scalar at depth ${depth})`);
  }
  out.push(v);
}

/** A complex value as `toNested` returns it and `np.array` accepts it. */
export interface ComplexValue {
  re: number;
  im: number;
}
type Scalar = number | boolean | ComplexValue;

function isComplexValue(v: unknown): v is ComplexValue {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    typeof (v as ComplexValue).re === "number" && typeof (v as ComplexValue).im === "number";
}

/** Stores values as complex `d` (`{ re, im }` objects, or reals with a zero imaginary part). */
function storeComplex(src: ArrayLike<Scalar>, d: DType) {
  const data = allocTyped(d, src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    const [re, im] = isComplexValue(v) ? [v.re, v.im] : [Number(v), 0];
    data[2 * i] = castScalar(re, d);
    data[2 * i + 1] = castScalar(im, d);
  }
  return data;
}

/** Stores JS values into a new array of `d`: range-checked for ints, rounded for floats. */
function storeValues(op: string, src: ArrayLike<Scalar>, d: DType) {
  if (isComplex(d)) return storeComplex(src, d);
  const data = allocTyped(d, src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (isComplexValue(v)) {
      throw new TypeError(`${op}: a complex value { re, im } needs a complex dtype, not ${d}`);
    }
    const x = Number(v);
    checkRange(op, x, d);
    data[i] = castScalar(x, d);
  }
  return data;
}

/**
 * `np.array` on any ArrayLike (or TypedArray). JS numbers default to float32 (booleans to bool);
 * a TypedArray keeps its dtype (Uint8Array is uint8; a Uint16Array with dtype bfloat16 holds raw
 * bfloat16 bits, as `data()` returns them). Integer values out of the dtype's range are
 * a RangeError.
 */
export function arrayFrom(values: unknown, opts: ArrayOptions = {}, op = "array"): Tensor {
  const dtype = opts.dtype === undefined ? undefined : checkDType(opts.dtype, op);
  if (values instanceof Tensor) return dtype ? convert(values, dtype) : values;
  if (ArrayBuffer.isView(values)) {
    const src = values as unknown as globalThis.ArrayLike<number>;
    const own = dtypeOfTyped(values);
    const d = dtype ?? own;
    if (!d) {
      throw new TypeError(
        `${op}: unsupported TypedArray ${values.constructor.name}; pass { dtype }`,
      );
    }
    if (isComplex(d)) return complexFromTyped(op, src, d, opts.shape);
    // raw bfloat16 bits, the layout `data()` returns
    if (d === "bfloat16" && values instanceof Uint16Array) {
      return arrayFrom(unpackBf16(values), opts, op);
    }
    const shape = opts.shape ? checkShape(op, opts.shape) : [src.length];
    if (sizeOf(shape) !== src.length) {
      throw new TypeError(`${op}: ${src.length} values cannot take shape [${shape.join(",")}]`);
    }
    return fromHost(storeValues(op, src, d), shape, d);
  }
  const shape: number[] = [];
  const flat: Scalar[] = [];
  flattenNested(op, values, shape, flat, 0);
  const d = dtype ??
    (flat.length && flat.every((x) => typeof x === "boolean")
      ? "bool"
      : flat.some(isComplexValue)
      ? "complex64"
      : "float32");
  const outShape = opts.shape ? checkShape(op, opts.shape) : shape;
  if (sizeOf(outShape) !== flat.length) {
    throw new TypeError(`${op}: ${flat.length} values cannot take shape [${outShape.join(",")}]`);
  }
  return fromHost(storeValues(op, flat, d), outShape, d);
}

/** A complex array from interleaved (re, im) pairs in a TypedArray (the layout `data()` returns). */
function complexFromTyped(
  op: string,
  src: globalThis.ArrayLike<number>,
  d: DType,
  shapeOpt?: number[],
): Tensor {
  if (src.length % 2 !== 0) {
    throw new TypeError(
      `${op}: a TypedArray of ${d} values holds interleaved (re, im) pairs; its length ${src.length} is odd`,
    );
  }
  const n = src.length / 2;
  const shape = shapeOpt ? checkShape(op, shapeOpt) : [n];
  if (sizeOf(shape) !== n) {
    throw new TypeError(`${op}: ${n} complex values cannot take shape [${shape.join(",")}]`);
  }
  const data = allocTyped(d, n);
  for (let i = 0; i < src.length; i++) data[i] = castScalar(Number(src[i]), d);
  return fromHost(data, shape, d);
}

/** The weak type of a JS scalar: bool, int32 for integers that fit, else float32. */
function jsNumberType(x: number | boolean): DType {
  if (typeof x === "boolean") return "bool";
  return Number.isInteger(x) && x >= -2147483648 && x <= 2147483647 ? "int32" : "float32";
}

/** Converts an ArrayLike to a Tensor (JS numbers become weakly typed scalars). */
export function asTensor(x: unknown, op = "array"): Tensor {
  if (x instanceof Tensor) return x;
  if (typeof x === "number" || typeof x === "boolean") {
    const d: DType = jsNumberType(x);
    const data = allocTyped(d, 1);
    data[0] = Number(x);
    return fromHost(data, [], d, true);
  }
  return arrayFrom(x, {}, op);
}

/** The promoted type of several operands. */
export function resultType(xs: Tensor[]): TypeInfo {
  return xs.map((x) => ({ dtype: x.aval.dtype, weak: x.aval.weak })).reduce(promoteTypes);
}

/** Promotes to a common dtype (or `force`), then broadcasts to a common shape. */
export function prepareOperands(op: string, xs: unknown[], force?: DType): Tensor[] {
  const isScalar = (x: unknown) => typeof x === "number" || typeof x === "boolean";
  const pre = xs.map((x) => (isScalar(x) ? null : asTensor(x, op)));
  const infos: TypeInfo[] = xs.map((x, i) => {
    const t = pre[i];
    if (t) return { dtype: t.aval.dtype, weak: t.aval.weak };
    return { dtype: jsNumberType(x as number | boolean), weak: true };
  });
  const t = infos.reduce(promoteTypes);
  const dtype = force ?? t.dtype;
  const shape = broadcastShapes(op, ...pre.map((x) => x?.aval.shape ?? []));
  const ts = xs.map((x, i) => {
    if (pre[i]) return pre[i];
    if (typeof x === "number") checkRange(op, x, dtype);
    const v = Number(x), weak = t.weak && !force;
    return cachedFull(v, dtype, weak, shape) ?? scalar(v, dtype, weak);
  });
  return ts.map((x) => broadcastTo(x.aval.dtype === dtype ? x : convert(x, dtype), shape));
}

/** Small constant arrays of JS scalar operands, shared by eager calls (most recent last). */
const fullCache = new Map<string, ArrayValue>();
const FULL_CACHE_ENTRIES = 64, FULL_CACHE_ELEMENTS = 4096;
/** The most recently used entries of `fullCache`, most recent first, matched without a key. */
const recentFull: { v: number; dtype: DType; weak: boolean; shape: number[]; c: ArrayValue }[] = [];

/**
 * `v` broadcast to `shape` as a cached concrete array, when evaluating eagerly on a host-memory
 * backend (under jit the scalar stays a constant broadcast in the program); else undefined.
 */
function cachedFull(v: number, dtype: DType, weak: boolean, shape: number[]): Tensor | undefined {
  const n = sizeOf(shape);
  // complex storage interleaves (re, im): those keep the 0-d scalar path
  if (n > FULL_CACHE_ELEMENTS || isComplex(dtype) || stagingConstants()) return undefined;
  const backend = getBackend();
  if (!backend.gcManaged) return undefined;
  for (const e of recentFull) {
    if (
      Object.is(e.v, v) && e.dtype === dtype && e.weak === weak && e.c.backend === backend &&
      shapeEqual(e.shape, shape)
    ) return e.c;
  }
  const key = `${backend.name}|${dtype}|${weak}|${Object.is(v, -0) ? "-0" : v}|${shape}`;
  let c = fullCache.get(key);
  if (c) {
    fullCache.delete(key);
  } else {
    const data = allocTyped(dtype, n).fill(castScalar(v, dtype));
    c = fromHost(data, shape, dtype, weak)._pin();
    if (fullCache.size >= FULL_CACHE_ENTRIES) fullCache.delete(fullCache.keys().next().value!);
  }
  fullCache.set(key, c);
  recentFull.unshift({ v, dtype, weak, shape, c });
  if (recentFull.length > 8) recentFull.pop();
  return c;
}

/** A 0-d array holding `v` in `dtype` (wrapped/rounded as the dtype stores it). */
export function scalar(v: number, dtype: DType, weak = false): Tensor {
  const data = allocTyped(dtype, 1);
  data[0] = castScalar(v, dtype);
  return fromHost(data, [], dtype, weak);
}

/** Broadcasts to `shape` by NumPy rules (leading axes added). */
export function broadcastTo(x: Tensor, shape: number[]): Tensor {
  const s = x.aval.shape;
  const off = shape.length - s.length;
  return broadcastInDim(x, shape, s.map((_, i) => i + off));
}
