/**
 * Elementwise primitives. Operands have equal shapes and dtypes (the `np` layer broadcasts and
 * promotes). Each entry: dtype rule, scalar function (reference impl and compiler), jvp, and
 * transpose for the linear ones. Batching is shared: all operands get the batch dim at 0.
 * @module
 */
import { bind1 } from "../core.ts";
import { type DType, isInexact } from "../dtype.ts";
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
import {
  builtin,
  comparison,
  floatTest,
  helperCall,
  infix,
  intIdentity,
  intOwn,
  jsConvert,
  mathCall,
  scalarCall,
  type ScalarRender,
  wgslConvert,
  wgslFloat,
  wrapping,
} from "./_render.ts";

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
  /** Kernel templates (lib/ops/_render.ts). */
  render: ScalarRender;
}

/** Defines an elementwise primitive from its spec. */
export function elementwise(spec: EwSpec): OpDef<Record<string, never>> {
  const rule = spec.rule ?? "same";
  const op: OpDef<Record<string, never>> = defineOp({
    name: spec.name,
    kind: "elementwise",
    arity: spec.fn.length,
    scalar: spec.fn,
    render: spec.render,
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

/** WGSL cube root: exp2/log2 estimate and one Newton step (±0, ±Infinity and NaN pass through). */
const CBRT_WGSL = {
  deps: ["tg_nan"],
  src: "fn tg_cbrt(x: f32) -> f32 {\n" +
    "  let a = abs(x);\n" +
    "  if (a == 0.0 || !tg_isfinite(x)) { return x; }\n" +
    "  let y = exp2(log2(a) / 3.0);\n" +
    "  let r = (2.0 * y + a / (y * y)) / 3.0;\n" +
    "  return select(r, -r, x < 0.0);\n}\n",
};
/** WGSL atan2 with the JS values where the builtin is unspecified (NaN; both operands 0). */
const ATAN2_WGSL = {
  deps: ["tg_nan"],
  src: "fn tg_atan2(y: f32, x: f32) -> f32 {\n" +
    "  if (tg_isnan(x) || tg_isnan(y)) { return tg_nan(); }\n" +
    "  if (y != 0.0 || x != 0.0) { return atan2(y, x); }\n" +
    "  let pi = select(3.14159274, -3.14159274, (bitcast<u32>(y) & 0x80000000u) != 0u);\n" +
    "  return select(y, pi, (bitcast<u32>(x) & 0x80000000u) != 0u);\n}\n",
};

/** `neg` primitive: -x. */
export const negOp: OpDef = elementwise({
  name: "neg",
  fn: (x) => -x,
  jvp: (_, [dx]) => neg(dx),
  render: {
    js: ([a], t) => (t.arg === "int32" ? `((-${a}) | 0)` : `(-${a})`),
    wasm: { f64: "f64.neg", i32: "i32.sub", int: "result" },
    wgsl: wgslFloat(
      ([a]) => `(-${a})`,
      ([a], t) => (t.arg === "int32" ? `(-${a})` : `((0u - ${a}) & 255u)`),
    ),
  },
  transpose: (ct) => [neg(ct)],
});
/** `add` primitive. */
export const addOp: OpDef = elementwise({
  name: "add",
  fn: (x, y) => x + y,
  jvp: (_, [dx, dy]) => add(dx, dy),
  render: wrapping("+", { f64: "f64.add", i32: "i32.add", int: "result" }),
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
  render: wrapping("-", { f64: "f64.sub", i32: "i32.sub", int: "result" }),
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
  render: wrapping("*", { f64: "f64.mul", i32: "i32.mul", int: "args" }),
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
  render: {
    js: infix("/"),
    wasm: { f64: "f64.div" },
    wgsl: wgslFloat(
      infix("/"),
      (a, t) => (t.arg === "int32" ? `select(${a[0]} / ${a[1]}, 0, ${a[1]} == 0)` : undefined),
    ),
  },
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
  render: scalarCall(wgslFloat(helperCall("pow"))),
});
/** `max` primitive (NaN propagates; ties split the tangent evenly, as in JAX). */
export const maxOp: OpDef = elementwise({
  name: "max",
  fn: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)),
  jvp: ([x, y], [dx, dy]) => minMaxJvp(x, y, dx, dy, gt),
  render: scalarCall(wgslFloat(helperCall("max"), builtin("max"))),
});
/** `min` primitive. */
export const minOp: OpDef = elementwise({
  name: "min",
  fn: (x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)),
  jvp: ([x, y], [dx, dy]) => minMaxJvp(x, y, dx, dy, lt),
  render: scalarCall(wgslFloat(helperCall("min"), builtin("min"))),
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
  render: ScalarRender,
  rule: DTypeRule = "same",
): OpDef {
  return elementwise({ name, fn, jvp, rule, render });
}

/** `abs` primitive. */
export const absOp: OpDef = unaryF("abs", Math.abs, ([x], [dx]) => mul(sign(x), dx), {
  js: ([a]) => `Math.abs(${a})`,
  wasm: { f64: "f64.abs" },
  wgsl: intOwn(builtin("abs"), "abs"),
});
/** `sign` primitive (sign(0) = 0, NaN stays NaN). */
export const signOp: OpDef = unaryF(
  "sign",
  (x) => (x > 0 ? 1 : x < 0 ? -1 : x),
  "zero",
  scalarCall(intOwn(helperCall("sign"), "sign")),
);
/** `floor` primitive. */
export const floorOp: OpDef = unaryF("floor", Math.floor, "zero", intIdentity(builtin("floor")));
/** `ceil` primitive. */
export const ceilOp: OpDef = unaryF("ceil", Math.ceil, "zero", intIdentity(builtin("ceil")));
/** `round` primitive (half to even). */
export const roundOp: OpDef = unaryF("round", roundHalfEven, "zero", intIdentity(builtin("round")));
/** `exp` primitive. */
export const expOp: OpDef = unaryF(
  "exp",
  Math.exp,
  (_, [dx], y) => mul(y, dx), // d eˣ = eˣ dx
  mathCall("exp", wgslFloat(helperCall("exp"))),
);
/** `log` primitive. */
export const logOp: OpDef = unaryF(
  "log",
  Math.log,
  ([x], [dx]) => div(dx, x),
  mathCall("log", wgslFloat(helperCall("log"))),
);
/** `log1p` primitive. */
export const log1pOp: OpDef = unaryF(
  "log1p",
  Math.log1p,
  ([x], [dx]) => div(dx, add(x, fullLike(x, 1))),
  scalarCall(wgslFloat(helperCall("log1p"))),
);
/** `expm1` primitive. */
export const expm1Op: OpDef = unaryF(
  "expm1",
  Math.expm1,
  (_, [dx], y) => mul(add(y, fullLike(y, 1)), dx),
  scalarCall(wgslFloat(helperCall("expm1"))),
);
/** `sqrt` primitive. */
export const sqrtOp: OpDef = unaryF(
  "sqrt",
  Math.sqrt,
  (_, [dx], y) => div(dx, mul(y, fullLike(y, 2))),
  {
    js: ([a]) => `Math.sqrt(${a})`,
    wasm: { f64: "f64.sqrt" },
    wgsl: wgslFloat(helperCall("sqrt")),
  },
);
/** `rsqrt` primitive: 1/sqrt(x). */
export const rsqrtOp: OpDef = unaryF(
  "rsqrt",
  (x) => 1 / Math.sqrt(x),
  ([x], [dx], y) => mul(mul(div(y, x), fullLike(y, -0.5)), dx),
  scalarCall(wgslFloat(([a], use) => (use("tg_sqrt"), `(1.0 / tg_sqrt(${a}))`))),
);
/** `sin` primitive. */
export const sinOp: OpDef = unaryF(
  "sin",
  Math.sin,
  ([x], [dx]) => mul(cos(x), dx),
  mathCall("sin", wgslFloat(builtin("sin"))),
);
/** `cos` primitive. */
export const cosOp: OpDef = unaryF(
  "cos",
  Math.cos,
  ([x], [dx]) => neg(mul(sin(x), dx)),
  mathCall("cos", wgslFloat(builtin("cos"))),
);
/** `tan` primitive. */
export const tanOp: OpDef = unaryF(
  "tan",
  Math.tan,
  (_, [dx], y) => mul(add(fullLike(y, 1), mul(y, y)), dx),
  scalarCall(wgslFloat(builtin("tan"))),
);
/** `tanh` primitive. */
export const tanhOp: OpDef = unaryF(
  "tanh",
  Math.tanh,
  (_, [dx], y) => mul(sub(fullLike(y, 1), mul(y, y)), dx),
  mathCall("tanh", wgslFloat(helperCall("tanh"))),
);
/** `logistic` primitive: 1 / (1 + e^-x). */
export const logisticOp: OpDef = unaryF(
  "logistic",
  (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))),
  (_, [dx], y) => mul(mul(y, sub(fullLike(y, 1), y)), dx),
  scalarCall(wgslFloat(helperCall("logistic"))),
);
/** `cbrt` primitive: the real cube root (negative for negative x). */
export const cbrtOp: OpDef = unaryF(
  "cbrt",
  Math.cbrt,
  (_, [dx], y) => div(dx, mul(fullLike(y, 3), mul(y, y))), // d ∛x = dx / (3 ∛x²)
  mathCall("cbrt", wgslFloat(helperCall("cbrt", CBRT_WGSL))),
);
/** `atan2` primitive: atan2(y, x), the angle of the point (x, y) in [-π, π]. */
export const atan2Op: OpDef = elementwise({
  name: "atan2",
  fn: Math.atan2,
  // d atan2(y, x) = (x dy - y dx) / (x² + y²)
  jvp: ([y, x], [dy, dx]) => div(sub(mul(x, dy), mul(y, dx)), add(mul(x, x), mul(y, y))),
  render: mathCall("atan2", wgslFloat(helperCall("atan2", ATAN2_WGSL))),
});
/** `isnan` primitive. */
export const isnanOp: OpDef = unaryF(
  "isnan",
  (x) => b(Number.isNaN(x)),
  "zero",
  scalarCall(floatTest("isnan", "0u")),
  "bool",
);
/** `isfinite` primitive. */
export const isfiniteOp: OpDef = unaryF(
  "isfinite",
  (x) => b(Number.isFinite(x)),
  "zero",
  scalarCall(floatTest("isfinite", "1u")),
  "bool",
);

/** `not` primitive (bool: logical not, int32: bitwise not). */
export const notOp: OpDef = elementwise({
  name: "not",
  fn: (x) => ~x,
  boolFn: (x) => (x ? 0 : 1),
  jvp: "zero",
  render: {
    js: ([a], t) => (t.arg === "bool" ? `(${a} ? 0 : 1)` : `(~${a})`),
    wasm: "bitNot",
    wgsl: (x) => {
      const [a] = x.vals();
      return x.arg === "bool" ? `(1u - ${a})` : `(~${a})`;
    },
  },
});

function cmp(
  name: string,
  fn: (x: number, y: number) => boolean,
  render: ScalarRender,
): OpDef {
  return elementwise({ name, fn: (x, y) => b(fn(x, y)), jvp: "zero", rule: "bool", render });
}
/** Comparison primitives (bool results). */
export const eqOp: OpDef = cmp("eq", (x, y) => x === y, comparison("===", ["i32.eq", "f64.eq"]));
/** `ne` primitive. */
export const neOp: OpDef = cmp("ne", (x, y) => x !== y, comparison("!==", ["i32.ne", "f64.ne"]));
/** `lt` primitive. */
export const ltOp: OpDef = cmp("lt", (x, y) => x < y, comparison("<", ["i32.lt_s", "f64.lt"]));
/** `le` primitive. */
export const leOp: OpDef = cmp("le", (x, y) => x <= y, comparison("<=", ["i32.le_s", "f64.le"]));
/** `gt` primitive. */
export const gtOp: OpDef = cmp("gt", (x, y) => x > y, comparison(">", ["i32.gt_s", "f64.gt"]));
/** `ge` primitive. */
export const geOp: OpDef = cmp("ge", (x, y) => x >= y, comparison(">=", ["i32.ge_s", "f64.ge"]));

const bitwise = (name: string, fn: (x: number, y: number) => number, op: string): OpDef =>
  elementwise({ name, fn, jvp: "zero", render: scalarCall((x) => infix(op)(x.vals())) });
/** `and` primitive (bool: logical, int32: bitwise). */
export const andOp: OpDef = bitwise("and", (x, y) => x & y, "&");
/** `or` primitive. */
export const orOp: OpDef = bitwise("or", (x, y) => x | y, "|");
/** `xor` primitive. */
export const xorOp: OpDef = bitwise("xor", (x, y) => x ^ y, "^");

/** `stopGradient` primitive: identity whose tangent is zero. */
export const stopGradientOp: OpDef = unaryF("stopGradient", (x) => x, "zero", {
  js: ([a]) => a,
  wasm: "identity",
  wgsl: (x) => x.val(0),
});

/** `select` primitive: where(cond, x, y); cond is bool, x and y share shape and dtype. */
export const selectOp: OpDef = defineOp({
  name: "select",
  kind: "elementwise",
  arity: 3,
  scalar: (c, x, y) => (c ? x : y),
  render: {
    js: ([c, x, y]) => `(${c} ? ${x} : ${y})`,
    wasm: "choose",
    wgsl: (x) => `select(${x.val(2)}, ${x.val(1)}, ${x.cond(0)})`,
  },
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
  arity: 1,
  scalar: (x) => x,
  render: {
    js: ([a], t) => jsConvert(a, t.arg, t.out),
    wasm: "cast",
    wgsl: (x) => wgslConvert(x.val(0), x.arg, x.out, (h) => x.use(h)),
  },
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
    const diff = isInexact(dtype) && isInexact(x.aval.dtype);
    return [[out], [diff ? convert(dx, dtype) : zerosOf(out)]];
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

/** Every elementwise primitive by name (lib/ops/registry.ts spreads it into `OPS`). */
export const ELEMENTWISE_OPS = {
  neg: negOp,
  add: addOp,
  sub: subOp,
  mul: mulOp,
  div: divOp,
  pow: powOp,
  max: maxOp,
  min: minOp,
  abs: absOp,
  sign: signOp,
  floor: floorOp,
  ceil: ceilOp,
  round: roundOp,
  exp: expOp,
  log: logOp,
  log1p: log1pOp,
  expm1: expm1Op,
  sqrt: sqrtOp,
  rsqrt: rsqrtOp,
  sin: sinOp,
  cos: cosOp,
  tan: tanOp,
  tanh: tanhOp,
  logistic: logisticOp,
  cbrt: cbrtOp,
  atan2: atan2Op,
  isnan: isnanOp,
  isfinite: isfiniteOp,
  not: notOp,
  eq: eqOp,
  ne: neOp,
  lt: ltOp,
  le: leOp,
  gt: gtOp,
  ge: geOp,
  and: andOp,
  or: orOp,
  xor: xorOp,
  select: selectOp,
  convert: convertOp,
  stopGradient: stopGradientOp,
} as const;
