/**
 * Transcendental primitives JAX also has as primitives (asin, acos, atan, sinh, cosh, asinh,
 * acosh, atanh) and `rem` (C's fmod: the remainder of truncated division, sign of the dividend).
 * @module
 */
import { bind1 } from "../core.ts";
import type { Tensor } from "../tensor.ts";
import type { OpDef } from "./_define.ts";
import { fullLike } from "./_util.ts";
import { builtin, infix, scalarCall, wgslFloat } from "./_render.ts";
import {
  absOp,
  add,
  div,
  elementwise,
  floorOp,
  mul,
  neg,
  sign,
  sqrtOp,
  sub,
  unaryF,
} from "./elementwise.ts";

const sqrt = (x: Tensor): Tensor => bind1(sqrtOp, [x]);
const one = (x: Tensor): Tensor => fullLike(x, 1);
const sq = (x: Tensor): Tensor => mul(x, x);
/** A float function with a WGSL builtin of the same meaning (JS and Wasm call `Math.*`). */
const wgsl = (name: string) => scalarCall(wgslFloat(builtin(name)));
/** asin/acos through atan2 (llvmpipe's asin/acos are off by ~3e-4), NaN outside [-1, 1]. */
const viaAtan2 = (f: (a: string, root: string) => string) =>
  scalarCall(wgslFloat(([a], use) => {
    use("tg_nan");
    const v = f(a, `sqrt((1.0 - ${a}) * (1.0 + ${a}))`);
    return `select(${v}, tg_nan(), abs(${a}) > 1.0 || tg_isnan(${a}))`;
  }));

/** `asin` primitive: d asin x = dx / sqrt(1 - x²). */
export const asinOp: OpDef = unaryF(
  "asin",
  Math.asin,
  ([x], [dx]) => div(dx, sqrt(sub(one(x), sq(x)))),
  viaAtan2((a, r) => `atan2(${a}, ${r})`),
);
/** `acos` primitive: d acos x = -dx / sqrt(1 - x²). */
export const acosOp: OpDef = unaryF(
  "acos",
  Math.acos,
  ([x], [dx]) => neg(div(dx, sqrt(sub(one(x), sq(x))))),
  viaAtan2((a, r) => `atan2(${r}, ${a})`),
);
/** `atan` primitive: d atan x = dx / (1 + x²). */
export const atanOp: OpDef = unaryF(
  "atan",
  Math.atan,
  ([x], [dx]) => div(dx, add(one(x), sq(x))),
  wgsl("atan"),
);
/** `sinh` primitive: d sinh x = cosh x dx. */
export const sinhOp: OpDef = unaryF(
  "sinh",
  Math.sinh,
  ([x], [dx]) => mul(bind1(coshOp, [x]), dx),
  wgsl("sinh"),
);
/** `cosh` primitive: d cosh x = sinh x dx. */
export const coshOp: OpDef = unaryF(
  "cosh",
  Math.cosh,
  ([x], [dx]) => mul(bind1(sinhOp, [x]), dx),
  wgsl("cosh"),
);
/** `asinh` primitive: d asinh x = dx / sqrt(x² + 1). */
export const asinhOp: OpDef = unaryF(
  "asinh",
  Math.asinh,
  ([x], [dx]) => div(dx, sqrt(add(sq(x), one(x)))),
  wgsl("asinh"),
);
/** `acosh` primitive: d acosh x = dx / (sqrt(x - 1) sqrt(x + 1)). */
export const acoshOp: OpDef = unaryF(
  "acosh",
  Math.acosh,
  ([x], [dx]) => div(dx, mul(sqrt(sub(x, one(x))), sqrt(add(x, one(x))))),
  wgsl("acosh"),
);
/** `atanh` primitive: d atanh x = dx / (1 - x²). */
export const atanhOp: OpDef = unaryF(
  "atanh",
  Math.atanh,
  ([x], [dx]) => div(dx, sub(one(x), sq(x))),
  wgsl("atanh"),
);
/**
 * `rem` primitive: x - y·trunc(x / y) (JS `%`, C fmod), the sign of x; d rem = dx - trunc(x/y) dy.
 * Integer division by zero gives 0.
 */
export const remOp: OpDef = elementwise({
  name: "rem",
  fn: (x, y) => x % y,
  // WGSL: i32 as |a| % |b| in u32 with a's sign (an i32 `%` computed as unsigned on llvmpipe)
  render: scalarCall(wgslFloat(infix("%"), ([a, b], t) => {
    if (t.arg === "uint32") return `select(${a} % ${b}, 0u, ${b} == 0u)`;
    if (t.arg !== "int32") return undefined;
    const mag = `i32(u32(abs(${a})) % u32(abs(${b})))`;
    return `select(select(${mag}, -${mag}, ${a} < 0), 0, ${b} == 0)`;
  })),
  jvp: ([x, y], [dx, dy]) => {
    const q = div(x, y);
    return sub(dx, mul(dy, mul(sign(q), bind1(floorOp, [bind1(absOp, [q])]))));
  },
});

/** The primitives of this file by name (spread into OPS). */
export const ELEMENTWISE_MORE_OPS = {
  asin: asinOp,
  acos: acosOp,
  atan: atanOp,
  sinh: sinhOp,
  cosh: coshOp,
  asinh: asinhOp,
  acosh: acoshOp,
  atanh: atanhOp,
  rem: remOp,
} as const;
