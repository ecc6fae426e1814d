/**
 * Elementwise `np` functions: NumPy broadcasting and promotion on top of the strict primitives.
 * @module
 */
import { bind1 } from "../core.ts";
import { checkDType, type DType, floatOf, isComplex, isFloat } from "../dtype.ts";
import * as cx from "./complex_math.ts";
import type { ArrayLike, Tensor } from "../tensor.ts";
import type { OpDef } from "../ops/_define.ts";
import * as ew from "../ops/elementwise.ts";
import { asTensor, broadcastTo, prepareOperands, scalar } from "./_convert.ts";
import { broadcastShapes } from "../shape.ts";
import { checkOptions } from "../options.ts";

function unaryFloat(op: OpDef, name: string) {
  return (x: ArrayLike): Tensor => {
    const t = asTensor(x, name);
    return bind1(op, [
      t.aval.dtype === floatOf(t.aval.dtype) ? t : ew.convert(t, floatOf(t.aval.dtype)),
    ]);
  };
}
function unarySame(op: OpDef, name: string) {
  return (x: ArrayLike): Tensor => bind1(op, [asTensor(x, name)]);
}
/** A unary op whose complex form is a composite (abs: real |z|; sign: z / |z|). */
function orComplex(name: string, op: OpDef, complexFn: (z: Tensor) => Tensor) {
  return (x: ArrayLike): Tensor => {
    const t = asTensor(x, name);
    return isComplex(t.dtype) ? complexFn(t) : bind1(op, [t]);
  };
}
function binary(op: OpDef, name: string, force?: (d: DType) => DType) {
  return (x: ArrayLike, y: ArrayLike): Tensor => {
    let [a, b] = prepareOperands(name, [x, y]);
    if (force) {
      const d = force(a.aval.dtype);
      a = ew.convert(a, d);
      b = ew.convert(b, d);
    }
    return bind1(op, [a, b]);
  };
}

/** Elementwise e^x. @example `np.exp([0, 1])` */
export const exp: (x: ArrayLike) => Tensor = unaryFloat(ew.expOp, "exp");
/** Natural logarithm. */
export const log: (x: ArrayLike) => Tensor = unaryFloat(ew.logOp, "log");
/**
 * log(1 + x), accurate near 0.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.log1p(1e-10).item(), Math.fround(Math.log1p(1e-10)));
 * ```
 */
export const log1p: (x: ArrayLike) => Tensor = unaryFloat(ew.log1pOp, "log1p");
/**
 * e^x - 1, accurate near 0.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(np.expm1(1e-10).item(), Math.fround(Math.expm1(1e-10)));
 * ```
 */
export const expm1: (x: ArrayLike) => Tensor = unaryFloat(ew.expm1Op, "expm1");
/** Square root. */
export const sqrt: (x: ArrayLike) => Tensor = unaryFloat(ew.sqrtOp, "sqrt");
/** 1 / sqrt(x). */
export const rsqrt: (x: ArrayLike) => Tensor = unaryFloat(ew.rsqrtOp, "rsqrt");
/** Sine. */
export const sin: (x: ArrayLike) => Tensor = unaryFloat(ew.sinOp, "sin");
/** Cosine. */
export const cos: (x: ArrayLike) => Tensor = unaryFloat(ew.cosOp, "cos");
/** Tangent. */
export const tan: (x: ArrayLike) => Tensor = unaryFloat(ew.tanOp, "tan");
/** Hyperbolic tangent. */
export const tanh: (x: ArrayLike) => Tensor = unaryFloat(ew.tanhOp, "tanh");
/** Logistic sigmoid 1 / (1 + e^-x). */
export const sigmoid: (x: ArrayLike) => Tensor = unaryFloat(ew.logisticOp, "sigmoid");
/**
 * Real cube root, negative for negative inputs (integers are cast to float).
 *
 * @example Cube roots of negative and positive values
 * ```ts
 * import { np } from "../../mod.ts";
 * const y = await np.cbrt([-8, 27]).data();
 * if (y[0] !== -2 || y[1] !== 3) throw new Error(`got ${y}`);
 * ```
 */
export const cbrt: (x: ArrayLike) => Tensor = unaryFloat(ew.cbrtOp, "cbrt");
/**
 * Angle of the point (x, y) in [-π, π] (NumPy's `arctan2(y, x)`), with broadcasting.
 *
 * @example The quadrant comes from both signs
 * ```ts
 * import { np } from "../../mod.ts";
 * const a = await np.arctan2([1, -1], [-1, -1]).data();
 * if (Math.abs(a[0] - 3 * Math.PI / 4) > 1e-6 || Math.abs(a[1] + 3 * Math.PI / 4) > 1e-6) {
 *   throw new Error(`got ${a}`);
 * }
 * ```
 */
export const arctan2: (y: ArrayLike, x: ArrayLike) => Tensor = binary(
  ew.atan2Op,
  "arctan2",
  floatOf,
);
/** Negation. */
export const negative: (x: ArrayLike) => Tensor = unarySame(ew.negOp, "negative");
/** Alias of `negative`. */
export const neg: (x: ArrayLike) => Tensor = negative;
/** Absolute value. */
export const abs: (x: ArrayLike) => Tensor = orComplex("abs", ew.absOp, cx.complexAbs);
/**
 * Sign: -1, 0 or 1 (NaN stays NaN).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.sign([-2, 0, 3, NaN]).dataSync()), [-1, 0, 1, NaN]);
 * ```
 */
export const sign: (x: ArrayLike) => Tensor = orComplex("sign", ew.signOp, cx.complexSign);

function intIdentity(op: OpDef, name: string) {
  return (x: ArrayLike): Tensor => {
    const t = asTensor(x, name);
    return isFloat(t.aval.dtype) || isComplex(t.aval.dtype) ? bind1(op, [t]) : t;
  };
}
/**
 * Floor (integers pass through).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.floor([-1.5, 1.5]).dataSync()), [-2, 1]);
 * ```
 */
export const floor: (x: ArrayLike) => Tensor = intIdentity(ew.floorOp, "floor");
/**
 * Ceiling (integers pass through).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.ceil([-1.5, 1.5]).dataSync()), [-1, 2]);
 * ```
 */
export const ceil: (x: ArrayLike) => Tensor = intIdentity(ew.ceilOp, "ceil");
const roundInt = intIdentity(ew.roundOp, "round");
/**
 * Rounds half to even, to `decimals` decimal places (default 0; negative rounds to tens, ...).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.round([0.5, 1.5, 2.5, -0.5]).dataSync()), [0, 2, 2, -0]);
 * assert.deepEqual(Array.from(np.round([1234.5678], { decimals: -2 }).dataSync()), [1200]);
 * ```
 */
export function round(x: ArrayLike, opts?: { decimals?: number }): Tensor {
  const d = checkOptions("round", opts, ["decimals"]).decimals ?? 0;
  if (!Number.isInteger(d)) throw new TypeError(`round: decimals must be an integer, got ${d}`);
  const t = asTensor(x, "round");
  if (d === 0 || (!isFloat(t.aval.dtype) && d > 0)) return roundInt(t);
  if (!isFloat(t.aval.dtype)) {
    // integers: round to a multiple of 10^-d in float, then back
    return ew.convert(round(ew.convert(t, "float32"), { decimals: d }), t.aval.dtype);
  }
  const f = 10 ** d;
  return divide(roundInt(multiply(t, f)), f);
}

/** Elementwise sum with broadcasting. */
export const add: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.addOp, "add");
/** Elementwise difference. */
export const subtract: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.subOp, "subtract");
/** Alias of `subtract`. */
export const sub: (x: ArrayLike, y: ArrayLike) => Tensor = subtract;
/** Elementwise product. */
export const multiply: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.mulOp, "multiply");
/** Alias of `multiply`. */
export const mul: (x: ArrayLike, y: ArrayLike) => Tensor = multiply;
/** True division (ints and bools divide as float32). */
export const divide: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.divOp, "divide", floatOf);
/** Alias of `divide`. */
export const div: (x: ArrayLike, y: ArrayLike) => Tensor = divide;
/** x ** y. */
export function power(x: ArrayLike, y: ArrayLike): Tensor {
  const [a, b] = prepareOperands("power", [x, y]);
  if (!isComplex(a.dtype)) return bind1(ew.powOp, [a, b]);
  return cx.complexPower(a, b, typeof y === "number" && Number.isInteger(y) ? y : null);
}
/** Alias of `power`. */
export const pow: (x: ArrayLike, y: ArrayLike) => Tensor = power;
/** Elementwise maximum (NaN propagates). */
export const maximum: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.maxOp, "maximum");
/** Elementwise minimum (NaN propagates). */
export const minimum: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.minOp, "minimum");
/** x == y. */
export const equal: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.eqOp, "equal");
/** x != y. */
export const notEqual: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.neOp, "notEqual");
/** x < y. */
export const less: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.ltOp, "less");
/** x <= y. */
export const lessEqual: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.leOp, "lessEqual");
/** x > y. */
export const greater: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.gtOp, "greater");
/** x >= y. */
export const greaterEqual: (x: ArrayLike, y: ArrayLike) => Tensor = binary(ew.geOp, "greaterEqual");
/** Logical and (operands are cast to bool). */
export const logicalAnd: (x: ArrayLike, y: ArrayLike) => Tensor = binary(
  ew.andOp,
  "logicalAnd",
  () => "bool",
);
/** Logical or. */
export const logicalOr: (x: ArrayLike, y: ArrayLike) => Tensor = binary(
  ew.orOp,
  "logicalOr",
  () => "bool",
);
/** Logical xor. */
export const logicalXor: (x: ArrayLike, y: ArrayLike) => Tensor = binary(
  ew.xorOp,
  "logicalXor",
  () => "bool",
);

/** Logical not (the operand is cast to bool). */
export function logicalNot(x: ArrayLike): Tensor {
  const b = ew.convert(asTensor(x, "logicalNot"), "bool");
  return ew.eq(b, broadcastTo(scalar(0, "bool"), b.aval.shape));
}
/** True where x is NaN. */
export function isnan(x: ArrayLike): Tensor {
  return bind1(ew.isnanOp, [asTensor(x, "isnan")]);
}
/** True where x is neither infinite nor NaN. */
export function isfinite(x: ArrayLike): Tensor {
  return bind1(ew.isfiniteOp, [asTensor(x, "isfinite")]);
}
/**
 * x * x.
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.square([-3, 0.5]).dataSync()), [9, 0.25]);
 * ```
 */
export function square(x: ArrayLike): Tensor {
  const t = asTensor(x, "square");
  return bind1(ew.mulOp, [t, t]);
}
/**
 * 1 / x (integers give float32).
 *
 * @example
 * ```ts
 * import { np } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(Array.from(np.reciprocal([2, -4]).dataSync()), [0.5, -0.25]);
 * ```
 */
export function reciprocal(x: ArrayLike): Tensor {
  return divide(1, x);
}
/** Casts to `dtype`. */
export function astype(x: ArrayLike, dtype: DType): Tensor {
  return ew.convert(asTensor(x, "astype"), checkDType(dtype, "astype"));
}

/**
 * Picks from `x` where `cond` is true and from `y` elsewhere, broadcasting all three.
 *
 * @example Choose elementwise
 * ```ts
 * import { np } from "../../mod.ts";
 * const r = np.where([true, false], [1, 2], [3, 4]);
 * if (r.dataSync().join() !== "1,4") throw new Error("where");
 * ```
 */
export function where(cond: ArrayLike, x: ArrayLike, y: ArrayLike): Tensor {
  const c = ew.convert(asTensor(cond, "where"), "bool");
  const [a, b] = prepareOperands("where", [x, y]);
  const shape = broadcastShapes("where", c.aval.shape, a.aval.shape);
  return ew.select(broadcastTo(c, shape), broadcastTo(a, shape), broadcastTo(b, shape));
}

/** Limits values to [min, max]; either bound may be null. */
export function clip(x: ArrayLike, min: ArrayLike | null, max: ArrayLike | null): Tensor {
  let t = asTensor(x, "clip");
  if (min !== null && min !== undefined) t = maximum(t, min);
  if (max !== null && max !== undefined) t = minimum(t, max);
  return t;
}
