/**
 * Elementwise primitives. Operands have equal shapes and dtypes (the `np` layer broadcasts and
 * promotes). Each entry: dtype rule, scalar function (reference impl and compiler), jvp, and
 * transpose for the linear ones. Batching is shared: all operands get the batch dim at 0.
 * @module
 */
import { bind1 } from "../core.ts";
import { type DType, isFloat } from "../dtype.ts";
import type { Tensor } from "../tensor.ts";
import {
  type Aval,
  type BDim,
  defineOp,
  type DTypeRule,
  elementwiseAval,
  type LinearArg,
  mapImpl,
  type OpDef,
  UndefPrimal,
} from "./_define.ts";
import { batchAt0, fullLike, zerosOf } from "./_util.ts";

/** A jvp rule of an elementwise primitive. */
export type JvpFn = (xs: Tensor[], dxs: Tensor[], out: Tensor) => Tensor;

function vmapElementwise(op: OpDef) {
  return (args: Tensor[], bdims: BDim[], params: unknown, size: number): [Tensor[], BDim[]] => {
    const first = bdims.find((b) => b !== null) ?? 0;
    if (args.every((_, i) => bdims[i] === first)) return [[bind1(op, args, params)], [first]];
    const moved = args.map((a, i) => batchAt0(a, bdims[i], size));
    return [[bind1(op, moved, params)], [0]];
  };
}

/** What an elementwise primitive is made of. */
export interface EwSpec {
  name: string;
  rule?: DTypeRule;
  fn: (...xs: number[]) => number;
  /** The scalar function for bool operands, where it differs from `fn`. */
  boolFn?: (...xs: number[]) => number;
  jvp: JvpFn | "zero";
  transpose?: (ct: Tensor, args: LinearArg[]) => (Tensor | null)[];
}

/** Defines an elementwise primitive from its spec. */
export function elementwise(spec: EwSpec): OpDef<Record<string, never>> {
  const rule = spec.rule ?? "same";
  const op: OpDef<Record<string, never>> = defineOp({
    name: spec.name,
    kind: "elementwise",
    scalar: spec.fn,
    abstractEval: (avals: Aval[]) => elementwiseAval(spec.name, avals, rule),
    impl: (inputs, _p, outs) =>
      mapImpl(spec.boolFn && inputs[0].dtype === "bool" ? spec.boolFn : spec.fn, inputs, outs[0]),
    jvp: (xs, dxs) => {
      const out = bind1(op, xs);
      const jvp = spec.jvp;
      return [[out], [jvp === "zero" ? zerosOf(out) : jvp(xs, dxs, out)]];
    },
    vmap: (args, bdims, p, size) => vmapElementwise(op)(args, bdims, p, size),
    transpose: spec.transpose ? (cts, args) => spec.transpose!(cts[0], args) : undefined,
  });
  return op;
}

const b = (v: boolean): number => (v ? 1 : 0);
const roundHalfEven = (x: number): number => {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

/** `neg` primitive: -x. */
export const negOp: OpDef = elementwise({
  name: "neg",
  fn: (x) => -x,
  jvp: (_, [dx]) => neg(dx),
  transpose: (ct) => [neg(ct)],
});
/** `add` primitive. */
export const addOp: OpDef = elementwise({
  name: "add",
  fn: (x, y) => x + y,
  jvp: (_, [dx, dy]) => add(dx, dy),
  transpose: (
    ct,
    [x, y],
  ) => [x instanceof UndefPrimal ? ct : null, y instanceof UndefPrimal ? ct : null],
});
/** `sub` primitive. */
export const subOp: OpDef = elementwise({
  name: "sub",
  fn: (x, y) => x - y,
  jvp: (_, [dx, dy]) => sub(dx, dy),
  transpose: (
    ct,
    [x, y],
  ) => [x instanceof UndefPrimal ? ct : null, y instanceof UndefPrimal ? neg(ct) : null],
});
/** `mul` primitive (int32 multiplication wraps like C). */
export const mulOp: OpDef = elementwise({
  name: "mul",
  fn: (x, y) => x * y,
  jvp: ([x, y], [dx, dy]) => add(mul(dx, y), mul(x, dy)), // d(xy) = dx y + x dy
  transpose: (ct, [x, y]) => [
    x instanceof UndefPrimal ? mul(ct, y as Tensor) : null,
    y instanceof UndefPrimal ? mul(x as Tensor, ct) : null,
  ],
});
/** `div` primitive (float operands; the np layer casts ints). */
export const divOp: OpDef = elementwise({
  name: "div",
  fn: (x, y) => x / y,
  jvp: ([, y], [dx, dy], out) => div(sub(dx, mul(out, dy)), y), // d(x/y) = (dx - (x/y) dy) / y
  transpose: (ct, [x, y]) => {
    if (y instanceof UndefPrimal) {
      throw new TypeError("div: transpose is linear in the numerator only");
    }
    return [x instanceof UndefPrimal ? div(ct, y) : null, null];
  },
});
/** `pow` primitive: x ** y. */
export const powOp: OpDef = elementwise({
  name: "pow",
  fn: (x, y) => Math.pow(x, y),
  jvp: ([x, y], [dx, dy], out) => {
    // d x^y = y x^(y-1) dx + log(x) x^y dy, with the log term 0 where x == 0
    const one = fullLike(x, 1);
    const dxTerm = mul(mul(y, pow(x, sub(y, one))), dx);
    const safeX = select(eq(x, zerosOf(x)), one, x);
    return add(dxTerm, mul(mul(out, log(safeX)), dy));
  },
});
/** `max` primitive (NaN propagates; ties split the tangent evenly, as in JAX). */
export const maxOp: OpDef = elementwise({
  name: "max",
  fn: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  jvp: ([x, y], [dx, dy]) => minMaxJvp(x, y, dx, dy, gt),
});
/** `min` primitive. */
export const minOp: OpDef = elementwise({
  name: "min",
  fn: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  jvp: ([x, y], [dx, dy]) => minMaxJvp(x, y, dx, dy, lt),
});

function minMaxJvp(
  x: Tensor,
  y: Tensor,
  dx: Tensor,
  dy: Tensor,
  pick: (a: Tensor, b: Tensor) => Tensor,
): Tensor {
  const half = fullLike(dx, 0.5);
  const tie = mul(add(dx, dy), half);
  return select(pick(x, y), dx, select(pick(y, x), dy, tie));
}

/** Defines a unary elementwise primitive. */
export function unaryF(
  name: string,
  fn: (x: number) => number,
  jvp: JvpFn | "zero",
  rule: DTypeRule = "same",
): OpDef {
  return elementwise({ name, fn, jvp, rule });
}

/** `abs` primitive. */
export const absOp: OpDef = unaryF("abs", Math.abs, ([x], [dx]) => mul(sign(x), dx));
/** `sign` primitive (sign(0) = 0, NaN stays NaN). */
export const signOp: OpDef = unaryF("sign", (x) => (x > 0 ? 1 : x < 0 ? -1 : x), "zero");
/** `floor` primitive. */
export const floorOp: OpDef = unaryF("floor", Math.floor, "zero");
/** `ceil` primitive. */
export const ceilOp: OpDef = unaryF("ceil", Math.ceil, "zero");
/** `round` primitive (half to even). */
export const roundOp: OpDef = unaryF("round", roundHalfEven, "zero");
/** `exp` primitive. */
export const expOp: OpDef = unaryF("exp", Math.exp, (_, [dx], y) => mul(y, dx)); // d eˣ = eˣ dx
/** `log` primitive. */
export const logOp: OpDef = unaryF("log", Math.log, ([x], [dx]) => div(dx, x));
/** `log1p` primitive. */
export const log1pOp: OpDef = unaryF(
  "log1p",
  Math.log1p,
  ([x], [dx]) => div(dx, add(x, fullLike(x, 1))),
);
/** `expm1` primitive. */
export const expm1Op: OpDef = unaryF(
  "expm1",
  Math.expm1,
  (_, [dx], y) => mul(add(y, fullLike(y, 1)), dx),
);
/** `sqrt` primitive. */
export const sqrtOp: OpDef = unaryF(
  "sqrt",
  Math.sqrt,
  (_, [dx], y) => div(dx, mul(y, fullLike(y, 2))),
);
/** `rsqrt` primitive: 1/sqrt(x). */
export const rsqrtOp: OpDef = unaryF(
  "rsqrt",
  (x) => 1 / Math.sqrt(x),
  ([x], [dx], y) => mul(mul(div(y, x), fullLike(y, -0.5)), dx),
);
/** `sin` primitive. */
export const sinOp: OpDef = unaryF("sin", Math.sin, ([x], [dx]) => mul(cos(x), dx));
/** `cos` primitive. */
export const cosOp: OpDef = unaryF("cos", Math.cos, ([x], [dx]) => neg(mul(sin(x), dx)));
/** `tan` primitive. */
export const tanOp: OpDef = unaryF(
  "tan",
  Math.tan,
  (_, [dx], y) => mul(add(fullLike(y, 1), mul(y, y)), dx),
);
/** `tanh` primitive. */
export const tanhOp: OpDef = unaryF(
  "tanh",
  Math.tanh,
  (_, [dx], y) => mul(sub(fullLike(y, 1), mul(y, y)), dx),
);
/** `logistic` primitive: 1 / (1 + e^-x). */
export const logisticOp: OpDef = unaryF(
  "logistic",
  (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  (_, [dx], y) => mul(mul(y, sub(fullLike(y, 1), y)), dx),
);
/** `isnan` primitive. */
export const isnanOp: OpDef = unaryF("isnan", (x) => b(Number.isNaN(x)), "zero", "bool");
/** `isfinite` primitive. */
export const isfiniteOp: OpDef = unaryF("isfinite", (x) => b(Number.isFinite(x)), "zero", "bool");
/** `not` primitive (bool: logical not, int32: bitwise not). */
export const notOp: OpDef = elementwise({
  name: "not",
  fn: (x) => ~x,
  boolFn: (x) => (x ? 0 : 1),
  jvp: "zero",
});

function cmp(name: string, fn: (x: number, y: number) => boolean): OpDef {
  return elementwise({ name, fn: (x, y) => b(fn(x, y)), jvp: "zero", rule: "bool" });
}
/** Comparison primitives (bool results). */
export const eqOp: OpDef = cmp("eq", (x, y) => x === y);
/** `ne` primitive. */
export const neOp: OpDef = cmp("ne", (x, y) => x !== y);
/** `lt` primitive. */
export const ltOp: OpDef = cmp("lt", (x, y) => x < y);
/** `le` primitive. */
export const leOp: OpDef = cmp("le", (x, y) => x <= y);
/** `gt` primitive. */
export const gtOp: OpDef = cmp("gt", (x, y) => x > y);
/** `ge` primitive. */
export const geOp: OpDef = cmp("ge", (x, y) => x >= y);
/** `and` primitive (bool: logical, int32: bitwise). */
export const andOp: OpDef = elementwise({ name: "and", fn: (x, y) => x & y, jvp: "zero" });
/** `or` primitive. */
export const orOp: OpDef = elementwise({ name: "or", fn: (x, y) => x | y, jvp: "zero" });
/** `xor` primitive. */
export const xorOp: OpDef = elementwise({ name: "xor", fn: (x, y) => x ^ y, jvp: "zero" });

/** `stopGradient` primitive: identity whose tangent is zero. */
export const stopGradientOp: OpDef = unaryF("stopGradient", (x) => x, "zero");

/** `select` primitive: where(cond, x, y); cond is bool, x and y share shape and dtype. */
export const selectOp: OpDef = defineOp({
  name: "select",
  kind: "elementwise",
  scalar: (c, x, y) => (c ? x : y),
  abstractEval: (avals: Aval[]) => {
    if (avals[0].dtype !== "bool") {
      throw new TypeError(`select: condition must be bool, got ${avals[0].dtype}`);
    }
    if (avals[0].shape.join() !== avals[1].shape.join()) {
      throw new TypeError(
        `select: condition shape [${avals[0].shape}] must equal operand shape [${avals[1].shape}]`,
      );
    }
    return elementwiseAval("select", avals, "same", 1);
  },
  impl: (inputs, _p, outs) => mapImpl((c, x, y) => (c ? x : y), inputs, outs[0]),
  jvp: ([c, x, y], [, dx, dy]) => [[select(c, x, y)], [select(c, dx, dy)]],
  vmap: (args, bdims, p, size) => vmapElementwise(selectOp)(args, bdims, p, size),
  transpose: ([ct], [c, x, y]) => {
    const z = zerosOf(ct);
    return [
      null,
      x instanceof UndefPrimal ? select(c as Tensor, ct, z) : null,
      y instanceof UndefPrimal ? select(c as Tensor, z, ct) : null,
    ];
  },
});

/** `convert` primitive: casts to `params.dtype` (float→int truncates toward zero). */
export const convertOp: OpDef<{ dtype: DType }> = defineOp({
  name: "convert",
  kind: "elementwise",
  scalar: (x) => x,
  abstractEval: ([a], { dtype }) => [{ shape: [...a.shape], dtype, weak: false }],
  impl: ([x], { dtype }, outs) =>
    mapImpl(
      dtype === "bool"
        ? (v) => b(v !== 0)
        : dtype === "int32"
        ? (v) => (Number.isFinite(v) ? Math.trunc(v) : 0)
        : (v) => v,
      [x],
      outs[0],
    ),
  jvp: ([x], [dx], { dtype }) => {
    const out = convert(x, dtype);
    return [[out], [isFloat(dtype) && isFloat(x.aval.dtype) ? convert(dx, dtype) : zerosOf(out)]];
  },
  vmap: ([x], [bd], p) => [[convert(x, p.dtype)], [bd]],
  transpose: ([ct], [x]) => [convert(ct, (x as UndefPrimal).aval.dtype)],
});

/** Binds `neg`. */
export function neg(x: Tensor): Tensor {
  return bind1(negOp, [x]);
}
/** Binds `add`. */
export function add(x: Tensor, y: Tensor): Tensor {
  return bind1(addOp, [x, y]);
}
/** Binds `sub`. */
export function sub(x: Tensor, y: Tensor): Tensor {
  return bind1(subOp, [x, y]);
}
/** Binds `mul`. */
export function mul(x: Tensor, y: Tensor): Tensor {
  return bind1(mulOp, [x, y]);
}
/** Binds `div`. */
export function div(x: Tensor, y: Tensor): Tensor {
  return bind1(divOp, [x, y]);
}
/** Binds `pow`. */
export function pow(x: Tensor, y: Tensor): Tensor {
  return bind1(powOp, [x, y]);
}
/** Binds `sign`. */
export function sign(x: Tensor): Tensor {
  return bind1(signOp, [x]);
}
/** Binds `log`. */
export function log(x: Tensor): Tensor {
  return bind1(logOp, [x]);
}
/** Binds `exp`. */
export function exp(x: Tensor): Tensor {
  return bind1(expOp, [x]);
}
/** Binds `sin`. */
export function sin(x: Tensor): Tensor {
  return bind1(sinOp, [x]);
}
/** Binds `cos`. */
export function cos(x: Tensor): Tensor {
  return bind1(cosOp, [x]);
}
/** Binds `eq`. */
export function eq(x: Tensor, y: Tensor): Tensor {
  return bind1(eqOp, [x, y]);
}
/** Binds `gt`. */
export function gt(x: Tensor, y: Tensor): Tensor {
  return bind1(gtOp, [x, y]);
}
/** Binds `lt`. */
export function lt(x: Tensor, y: Tensor): Tensor {
  return bind1(ltOp, [x, y]);
}
/** Binds `select`. */
export function select(c: Tensor, x: Tensor, y: Tensor): Tensor {
  return bind1(selectOp, [c, x, y]);
}
/** Binds `convert` (no-op when the dtype already matches and the value is strong). */
export function convert(x: Tensor, dtype: DType): Tensor {
  if (x.aval.dtype === dtype && !x.aval.weak) return x;
  return bind1(convertOp, [x], { dtype });
}
