/**
 * More elementwise `np` functions: the inverse and hyperbolic trig primitives, fmod/remainder/
 * floorDivide over the `rem` primitive, and composites as JAX composes them (isinf, isclose,
 * allclose, nanToNum, hypot, copysign, signbit, trunc, deg2rad, rad2deg, logaddexp, log2, log10,
 * exp2, and the truth reductions all/any).
 * @module
 */
import { floatOf, isFloat } from "../dtype.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import { normAxes } from "../shape.ts";
import { bind1 } from "../core.ts";
import type { OpDef } from "../ops/_define.ts";
import * as ew from "../ops/elementwise.ts";
import * as ewm from "../ops/elementwise_more.ts";
import * as red from "../ops/reduce.ts";
import { reshape } from "../ops/movement.ts";
import { checkOptions } from "../options.ts";
import { asTensor, broadcastTo, prepareOperands, scalar } from "./_convert.ts";
import * as m from "./math.ts";

/** Promotes two operands to a common float dtype and broadcasts them. */
function inexact2(op: string, x: ArrayLike, y: ArrayLike): [Tensor, Tensor] {
  const [a, b] = prepareOperands(op, [x, y]);
  const d = floatOf(a.dtype);
  return [ew.convert(a, d), ew.convert(b, d)];
}
function inexact1(op: string, x: ArrayLike): Tensor {
  const t = asTensor(x, op);
  return ew.convert(t, floatOf(t.dtype));
}
const like = (t: Tensor, v: number): Tensor => broadcastTo(scalar(v, t.dtype), t.shape);
const falseLike = (t: Tensor): Tensor => broadcastTo(scalar(0, "bool"), t.shape);

/**
 * True where x is +Infinity or -Infinity (always false for integers).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.isinf([1, Infinity, -Infinity, NaN]).dataSync()), [0, 1, 1, 0]);
 * ```
 */
export function isinf(x: ArrayLike): Tensor {
  const t = asTensor(x, "isinf");
  if (!isFloat(t.dtype)) return falseLike(t);
  return m.equal(m.abs(t), Infinity);
}

/** True where the sign bit of x is set (negative numbers and -0). */
export function signbit(x: ArrayLike): Tensor {
  const t = asTensor(x, "signbit");
  if (t.dtype === "bool" || t.dtype === "uint8" || t.dtype === "uint32") return falseLike(t);
  if (!isFloat(t.dtype)) return m.less(t, 0);
  const negZero = m.logicalAnd(m.equal(t, 0), m.less(m.divide(1, t), 0));
  return m.logicalOr(m.less(t, 0), negZero);
}

/** Options of `np.isclose` and `np.allclose`. */
export interface IsCloseOptions {
  /** Relative tolerance (default 1e-5). */
  rtol?: number;
  /** Absolute tolerance (default 1e-8). */
  atol?: number;
  /** Whether NaNs compare equal (default false). */
  equalNan?: boolean;
}
const CLOSE_KEYS = ["rtol", "atol", "equalNan"];

/**
 * Elementwise `|a - b| <= atol + rtol * |b|`; infinities are close only to themselves, NaN to
 * nothing unless `equalNan`.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const c = np.isclose([1, 1e10, NaN, Infinity], [1 + 1e-7, 1.0001e10, NaN, Infinity]);
 * assert.deepEqual(Array.from(c.dataSync()), [1, 0, 0, 1]);
 * ```
 */
export function isclose(a: ArrayLike, b: ArrayLike, opts?: IsCloseOptions): Tensor {
  const o = checkOptions("isclose", opts, CLOSE_KEYS);
  const [x, y] = prepareOperands("isclose", [a, b]);
  if (!isFloat(x.dtype)) return m.equal(x, y);
  const rtol = o.rtol ?? 1e-5, atol = o.atol ?? 1e-8;
  let out = m.lessEqual(m.abs(m.subtract(x, y)), m.add(atol, m.multiply(rtol, m.abs(y))));
  const xi = isinf(x), yi = isinf(y);
  out = m.logicalAnd(out, m.logicalNot(m.logicalOr(xi, yi)));
  out = m.logicalOr(out, m.logicalAnd(m.logicalAnd(xi, yi), m.equal(x, y)));
  const xn = m.isnan(x), yn = m.isnan(y);
  out = m.logicalAnd(out, m.logicalNot(m.logicalOr(xn, yn)));
  return o.equalNan ? m.logicalOr(out, m.logicalAnd(xn, yn)) : out;
}

/**
 * True (a 0-d bool Tensor) when every element pair is `isclose`.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.allclose([1, 2], [1, 2 + 1e-6]).item(), true);
 * assert.equal(np.allclose([1, 2], [1, 2.1]).item(), false);
 * ```
 */
export function allclose(a: ArrayLike, b: ArrayLike, opts?: IsCloseOptions): Tensor {
  checkOptions("allclose", opts, CLOSE_KEYS);
  return all(isclose(a, b, opts));
}

/** Options of `np.all` and `np.any`. */
export interface TruthOptions {
  /** Axes to reduce (all when omitted or null). */
  axis?: number | number[] | null;
  /** Keep reduced axes with size 1. */
  keepdims?: boolean;
}

function truth(name: string, wantAll: boolean) {
  return (x: ArrayLike, opts?: TruthOptions): Tensor => {
    const o = checkOptions(name, opts, ["axis", "keepdims"]);
    const t = asTensor(x, name);
    const axes = normAxes(name, o.axis, t.ndim);
    // all: no element is false; any: some element is true (NaN counts as true, as in NumPy)
    const hit = ew.convert(m.notEqual(t, 0), "int32");
    const r = wantAll ? red.reduceMin(hit, axes) : red.reduceMax(hit, axes);
    const empty = axes.some((a) => t.shape[a] === 0);
    let out = empty ? broadcastTo(scalar(wantAll ? 1 : 0, "bool"), r.shape) : ew.convert(r, "bool");
    if (o.keepdims) out = reshape(out, t.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
    return out;
  };
}
/**
 * True where every element along the axes is nonzero (NaN counts as true).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.all([[1, 0], [2, 3]], { axis: 1 }).dataSync()), [0, 1]);
 * ```
 */
export const all: (x: ArrayLike, opts?: TruthOptions) => Tensor = truth("all", true);
/**
 * True where some element along the axes is nonzero.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.any([0, 0, 3]).item(), true);
 * ```
 */
export const any: (x: ArrayLike, opts?: TruthOptions) => Tensor = truth("any", false);

/** Options of `np.nanToNum`. */
export interface NanToNumOptions {
  /** Replacement for NaN (default 0). */
  nan?: number;
  /** Replacement for +Infinity (default the dtype's largest finite value). */
  posinf?: number;
  /** Replacement for -Infinity (default the dtype's most negative finite value). */
  neginf?: number;
}
const FLOAT_MAX: Record<string, number> = {
  float16: 65504,
  bfloat16: 3.3895313892515355e38,
  float32: 3.4028234663852886e38,
  float64: Number.MAX_VALUE,
};

/**
 * Replaces NaN and infinities by finite numbers (integers pass through unchanged).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const y = np.nanToNum([NaN, Infinity, -Infinity, 2], { posinf: 9 });
 * assert.deepEqual(Array.from(y.dataSync()), [0, 9, -3.4028234663852886e38, 2]);
 * ```
 */
export function nanToNum(x: ArrayLike, opts?: NanToNumOptions): Tensor {
  const o = checkOptions("nanToNum", opts, ["nan", "posinf", "neginf"]);
  const t = asTensor(x, "nanToNum");
  if (!isFloat(t.dtype)) return t;
  const big = FLOAT_MAX[t.dtype];
  let out = m.where(m.isnan(t), like(t, o.nan ?? 0), t);
  out = m.where(m.equal(t, Infinity), like(t, o.posinf ?? big), out);
  return m.where(m.equal(t, -Infinity), like(t, o.neginf ?? -big), out);
}

/**
 * sqrt(x² + y²) without overflow or underflow in the squares (JAX's formulation).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.hypot([3, 1e30], [4, 1e30]).dataSync()), [5, Math.fround(Math.SQRT2 * 1e30)]);
 * ```
 */
export function hypot(x: ArrayLike, y: ArrayLike): Tensor {
  let [a, b] = inexact2("hypot", x, y);
  a = m.abs(a);
  b = m.abs(b);
  const inf = m.logicalOr(m.equal(a, Infinity), m.equal(b, Infinity));
  const hi = m.maximum(a, b), lo = m.minimum(a, b);
  const zero = m.equal(hi, 0);
  const r = m.divide(lo, m.where(zero, like(hi, 1), hi));
  const h = m.where(zero, hi, m.multiply(hi, m.sqrt(m.add(1, m.square(r)))));
  return m.where(inf, like(h, Infinity), h);
}

/**
 * The magnitude of x with the sign of y (float result).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.copysign([1, -2, 3], [-1, 1, -0]).dataSync()), [-1, 2, -3]);
 * ```
 */
export function copysign(x: ArrayLike, y: ArrayLike): Tensor {
  const [a, b] = inexact2("copysign", x, y);
  const mag = m.abs(a);
  return m.where(signbit(b), m.negative(mag), mag);
}

/**
 * Rounds toward zero (integers pass through).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.trunc([-1.7, 1.7, -0.2]).dataSync()), [-1, 1, -0]);
 * ```
 */
export function trunc(x: ArrayLike): Tensor {
  const t = asTensor(x, "trunc");
  if (!isFloat(t.dtype)) return t;
  return m.where(m.less(t, 0), m.ceil(t), m.floor(t));
}

/**
 * Degrees to radians.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.deg2rad(180).item(), Math.fround(Math.PI));
 * ```
 */
export function deg2rad(x: ArrayLike): Tensor {
  return m.multiply(inexact1("deg2rad", x), Math.PI / 180);
}
/**
 * Radians to degrees.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.rad2deg(Math.PI).item(), 180);
 * ```
 */
export function rad2deg(x: ArrayLike): Tensor {
  return m.multiply(inexact1("rad2deg", x), 180 / Math.PI);
}

/**
 * log(exp(x) + exp(y)) computed stably (NaN propagates; equal infinities give themselves).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs(np.logaddexp(1000, 1000).item() as number - (1000 + Math.LN2)) < 1e-3);
 * ```
 */
export function logaddexp(x: ArrayLike, y: ArrayLike): Tensor {
  const [a, b] = inexact2("logaddexp", x, y);
  const hi = m.maximum(a, b);
  const delta = m.subtract(a, b);
  const soft = m.add(hi, m.log1p(m.exp(m.negative(m.abs(delta)))));
  return m.where(m.isnan(delta), m.add(a, b), soft);
}

/**
 * Base-2 logarithm.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.log2([1, 8, 0.5]).dataSync()), [0, 3, -1]);
 * ```
 */
export function log2(x: ArrayLike): Tensor {
  return m.divide(m.log(inexact1("log2", x)), Math.LN2);
}
/**
 * Base-10 logarithm.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.ok(Math.abs((np.log10(1000).item() as number) - 3) < 1e-6);
 * ```
 */
export function log10(x: ArrayLike): Tensor {
  return m.divide(m.log(inexact1("log10", x)), Math.LN10);
}
/**
 * 2 ** x.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.exp2([0, 3, -1]).dataSync()), [1, 8, 0.5]);
 * ```
 */
export function exp2(x: ArrayLike): Tensor {
  return m.exp(m.multiply(inexact1("exp2", x), Math.LN2));
}

function unaryFloat(op: OpDef, name: string) {
  return (x: ArrayLike): Tensor => bind1(op, [inexact1(name, x)]);
}
/**
 * Inverse sine (NaN outside [-1, 1]).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.arcsin([0, 1]).dataSync()), [0, Math.fround(Math.PI / 2)]);
 * ```
 */
export const arcsin: (x: ArrayLike) => Tensor = unaryFloat(ewm.asinOp, "arcsin");
/**
 * Inverse cosine (NaN outside [-1, 1]).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.arccos([1, -1]).dataSync()), [0, Math.fround(Math.PI)]);
 * ```
 */
export const arccos: (x: ArrayLike) => Tensor = unaryFloat(ewm.acosOp, "arccos");
/**
 * Inverse tangent.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.arctan(1).item(), Math.fround(Math.PI / 4));
 * ```
 */
export const arctan: (x: ArrayLike) => Tensor = unaryFloat(ewm.atanOp, "arctan");
/**
 * Hyperbolic sine.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.sinh(1).item(), Math.fround(Math.sinh(1)));
 * ```
 */
export const sinh: (x: ArrayLike) => Tensor = unaryFloat(ewm.sinhOp, "sinh");
/**
 * Hyperbolic cosine.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.cosh(0).item(), 1);
 * ```
 */
export const cosh: (x: ArrayLike) => Tensor = unaryFloat(ewm.coshOp, "cosh");
/**
 * Inverse hyperbolic sine.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.arcsinh(1).item(), Math.fround(Math.asinh(1)));
 * ```
 */
export const arcsinh: (x: ArrayLike) => Tensor = unaryFloat(ewm.asinhOp, "arcsinh");
/**
 * Inverse hyperbolic cosine (NaN below 1).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.arccosh(1).item(), 0);
 * ```
 */
export const arccosh: (x: ArrayLike) => Tensor = unaryFloat(ewm.acoshOp, "arccosh");
/**
 * Inverse hyperbolic tangent (±Infinity at ±1).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.arctanh([0, 1]).dataSync()), [0, Infinity]);
 * ```
 */
export const arctanh: (x: ArrayLike) => Tensor = unaryFloat(ewm.atanhOp, "arctanh");

/** Promotes to a common numeric dtype (bools become int32) and broadcasts. */
function numeric2(op: string, x: ArrayLike, y: ArrayLike): [Tensor, Tensor] {
  let [a, b] = prepareOperands(op, [x, y]);
  if (a.dtype === "bool") [a, b] = [ew.convert(a, "int32"), ew.convert(b, "int32")];
  return [a, b];
}
const rem = (a: Tensor, b: Tensor): Tensor => bind1(ewm.remOp, [a, b]);
/** Integer divisors of 0 become 1 (JAX's guard: x % 0 is then 0 instead of undefined). */
const safeDivisor = (b: Tensor): Tensor =>
  isFloat(b.dtype) ? b : m.where(m.equal(b, 0), like(b, 1), b);

/**
 * C's fmod: the remainder of truncated division, with the sign of x.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.fmod([-7, 7], [2, -2]).dataSync()), [-1, 1]);
 * ```
 */
export function fmod(x: ArrayLike, y: ArrayLike): Tensor {
  const [a, b] = numeric2("fmod", x, y);
  return rem(a, safeDivisor(b));
}

/**
 * Python's modulo: the remainder of floor division, with the sign of y.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.remainder([-7, 7, 5.5], [2, -2, 2]).dataSync()), [1, -1, 1.5]);
 * ```
 */
export function remainder(x: ArrayLike, y: ArrayLike): Tensor {
  const [a, b0] = numeric2("remainder", x, y);
  const b = safeDivisor(b0);
  const r = rem(a, b);
  const plus = m.logicalAnd(m.notEqual(m.less(r, 0), m.less(b, 0)), m.notEqual(r, 0));
  return m.where(plus, m.add(r, b), r);
}
/** Alias of `remainder`. */
export const mod: (x: ArrayLike, y: ArrayLike) => Tensor = remainder;

/**
 * Floor division: the largest integer <= x / y (integer dtypes stay integer).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.floorDivide([-7, 7, 5.5], [2, 2, -2]).dataSync()), [-4, 3, -3]);
 * ```
 */
export function floorDivide(x: ArrayLike, y: ArrayLike): Tensor {
  const [a, b] = numeric2("floorDivide", x, y);
  const r = rem(a, b);
  let q = ew.div(m.subtract(a, r), b);
  const fix = m.logicalAnd(m.notEqual(r, 0), m.notEqual(m.sign(b), m.sign(r)));
  q = m.where(fix, m.subtract(q, 1), q);
  return isFloat(q.dtype) ? m.round(q) : q;
}
